"""The governors' pack as PDF: `build` prints it with Chromium beside generated/ (never into
what `--check` compares), says how to get it without Chromium, and numbers the contents from
the named destinations of a first print."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from pybackend_support import ROOT

from cme_policy.backends.docs.pdf import HOW_TO_GET, find_engine, stamp
from cme_policy.backends.docs.pdfdests import destinations, page_count
from cme_policy.cli import cli

POLICY = ROOT / "tests" / "interpret" / "policy"

# A PDF as Chromium writes one (uncompressed objects, a two-level page tree, named dests).
TINY = b"""%PDF-1.4
1 0 obj
<</Type /Catalog
/Pages 2 0 R
/Dests 9 0 R>>
endobj
2 0 obj
<</Type /Pages
/Count 3
/Kids [3 0 R 6 0 R]>>
endobj
3 0 obj
<</Type /Pages
/Count 2
/Kids [4 0 R 5 0 R]>>
endobj
4 0 obj
<</Type /Page
/Parent 3 0 R>>
endobj
5 0 obj
<</Type /Page
/Parent 3 0 R>>
endobj
6 0 obj
<</Type /Page
/Parent 2 0 R>>
endobj
9 0 obj
<</decisions [5 0 R /XYZ 0 815.7 0]
/procedure-x#2Dy [6 0 R /XYZ 0 700 0]
/cover [4 0 R /XYZ 0 841 0]>>
endobj
%%EOF
"""


def test_named_destinations_give_each_target_its_page() -> None:
    assert page_count(TINY) == 3
    assert destinations(TINY) == {"cover": 1, "decisions": 2, "procedure-x-y": 3}
    assert destinations(b"%PDF-1.7 nothing readable") == {}


def test_stamp_fills_the_contents_and_the_print_date() -> None:
    html = ('<span class="print-date">on screen</span><span class="toc-page" '
            'data-target="decisions"></span><span class="toc-page" data-target="x"></span>')
    out = stamp(html, dt.date(2026, 9, 1), {"decisions": 2})
    assert '<span class="print-date">1 September 2026</span>' in out
    assert 'data-target="decisions">2</span>' in out and 'data-target="x"></span>' in out


def _build(out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", str(POLICY), "--out", str(out), *extra])
    return result.exit_code, result.output


def test_without_chromium_build_says_how_to_get_the_pdf(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_POLICY_CHROMIUM", str(tmp_path / "no-such-browser"))
    code, output = _build(tmp_path / "out")
    assert code == 0, output
    assert "no PDF of the governors' pack" in output and HOW_TO_GET in output
    assert not (tmp_path / "out" / "pdf").exists()
    assert (tmp_path / "out" / "docs" / "governors-pack.html").is_file()


def test_build_prints_the_pack_beside_the_checked_output(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CME_POLICY_PDF", raising=False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1788220800")  # 1 September 2026
    if find_engine() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed, and CI=true")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    out = tmp_path / "generated"
    code, output = _build(out)
    assert code == 0, output
    pdf = out / "pdf" / "governors-pack.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and "A4 pages" in output
    assert "pdf/" not in (out / "MANIFEST.json").read_text()
    code, output = _build(out, "--check")
    assert code == 0 and "up to date" in output, output  # --check never reads the PDF
