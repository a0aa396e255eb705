"""The registry of diagnostic codes agrees with the compiler, the corpus and the docs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from corpus_support import case_dirs, expected_lines, render_markdown

import cme_policy
from cme_policy.diagnostic_codes import CODES, FAMILIES

PACKAGE = Path(cme_policy.__file__).parent
DOCS = PACKAGE.parent / "docs" / "diagnostics.md"
CODE_LITERAL = re.compile(r"""["']([LSXTNCPVGOR]\d{3})["']""")
GOLDEN_CODE = re.compile(r"\b(error|warning)\[([A-Z]\d{3})\]$")


@pytest.fixture(autouse=True)
def _review_not_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CME_POLICY_TODAY", "2026-01-15")  # the corpus base is not yet due


def _emitted() -> set[str]:
    registry = PACKAGE / "diagnostic_codes.py"
    return {code for path in PACKAGE.rglob("*.py") if path != registry
            for code in CODE_LITERAL.findall(path.read_text("utf-8"))}


def _golden() -> list[tuple[str, str, str]]:
    """(case, severity, code) for every expected diagnostic in the corpus."""
    return [(case.name, m.group(1), m.group(2)) for case in case_dirs()
            for line in expected_lines(case) if (m := GOLDEN_CODE.search(line))]


def test_every_emitted_code_is_registered() -> None:
    assert sorted(_emitted() - set(CODES)) == []


def test_every_registered_code_is_emitted() -> None:
    assert sorted(set(CODES) - _emitted()) == []


def test_registry_entries_are_well_formed() -> None:
    for code, entry in CODES.items():
        assert entry.code == code and code[0] in FAMILIES
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", entry.name), code
        assert entry.purpose.endswith(".") and "\n" not in entry.purpose, code
    names = [entry.name for entry in CODES.values()]
    assert len(names) == len(set(names))


def test_every_registered_code_has_a_corpus_case() -> None:
    covered = {code for _, _, code in _golden()}
    assert sorted(set(CODES) - covered) == []


def test_corpus_severities_match_the_registry() -> None:
    wrong = [(case, severity, code) for case, severity, code in _golden()
             if CODES[code].severity.value != severity]
    assert wrong == []


def test_docs_are_generated_from_the_registry_and_corpus() -> None:
    markdown = render_markdown()
    if os.environ.get("CME_UPDATE_GOLDEN") == "1":
        DOCS.parent.mkdir(exist_ok=True)
        DOCS.write_text(markdown, "utf-8")
    if not DOCS.is_file():
        pytest.fail("docs/diagnostics.md is missing; run with CME_UPDATE_GOLDEN=1")
    assert DOCS.read_text("utf-8") == markdown, \
        "docs/diagnostics.md is stale; refresh with CME_UPDATE_GOLDEN=1"
    for code in CODES:
        assert f"### {code} " in markdown
    assert "No example case yet" not in markdown
