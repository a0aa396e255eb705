"""Screening in worker processes gives, byte for byte, what screening in one process gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cme_policy.cli import cli
from cme_policy.screening import workers

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("school")
    result = CliRunner().invoke(cli, ["sample", "--pupils", "400", "--out", str(out),
                                      "--seed", "5", "--policy", str(REPO / "policy")])
    assert result.exit_code == 0, result.output
    return out


def _run(school: Path, fmt: str, jobs: int) -> tuple[int, str, str]:
    args = ["run", str(REPO / "policy"), "--pupils", str(school / "pupils.csv"),
            "--marks", str(school / "marks.csv"), "--events", str(school / "events.csv"),
            "--calendar", str(school / "calendar.yaml"), "--as-of", "2026-03-20",
            "--format", fmt, "--jobs", str(jobs)]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_workers_change_nothing_in_the_output(school: Path, fmt: str) -> None:
    code, alone, summary = _run(school, fmt, 1)
    assert code == 0 and alone.count("\n") > 50, summary  # a real action list, not an empty one
    for jobs in (2, 3):
        assert _run(school, fmt, jobs) == (code, alone, summary)


def test_small_runs_stay_in_one_process() -> None:
    assert workers.default_jobs(workers.PARALLEL_FROM - 1) == 1
    assert workers.default_jobs(10 * workers.PARALLEL_FROM) >= 1


@given(total=st.integers(0, 5_000), count=st.integers(1, 64))
def test_chunks_cover_every_pupil_once(total: int, count: int) -> None:
    ranges = list(workers._chunks(total, count))
    assert [i for start, stop in ranges for i in range(start, stop)] == list(range(total))
    sizes = [stop - start for start, stop in ranges]
    assert not sizes or max(sizes) - min(sizes) <= 1
    assert len(ranges) == min(count, total)


def test_without_fork_the_run_stays_in_one_process(school: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Where processes cannot be forked (Windows), --jobs asks for workers in vain: the run
    is still made, in one process, with the same output."""
    expected = _run(school, "csv", 1)
    monkeypatch.setattr(workers.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert _run(school, "csv", 2) == expected
    assert workers.default_jobs(10 * workers.PARALLEL_FROM) == 1
