"""Docs backend: the handbook is valid HTML with every link resolving and every clause shown
with what implements it; policy text stays text; Markdown matches its golden file."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import html5lib
import pytest

from cme_policy.backends import docs
from cme_policy.backends.docs.render import md_escape
from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURE = HERE / "docs_fixture"
GOLDEN = HERE / "golden"
XHTML = "{http://www.w3.org/1999/xhtml}"
XSS = "</script><img src=x onerror=alert(1)>"


def load(path: Path) -> Policy:
    result = check_policy(path)
    assert result.ok and result.policy is not None, [str(d) for d in result.errors]
    return result.policy


def parse(html: str) -> Any:
    """Parse as a browser would, failing on any parse error (html5lib's strict mode)."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    document = parser.parse(html)
    assert not parser.errors
    return document


@pytest.fixture(scope="module")
def fixture_policy() -> Policy:
    return load(FIXTURE)


@pytest.fixture(scope="module")
def fixture_files(fixture_policy: Policy) -> dict[str, str]:
    return docs.generate(fixture_policy, "tests/backends/docs_fixture")


@pytest.fixture(scope="module")
def bundled() -> Policy:
    return load(ROOT / "policy")


@pytest.fixture(scope="module")
def bundled_html(bundled: Policy) -> str:
    return docs.generate(bundled, "policy")["docs/handbook.html"]


def test_markdown_matches_golden_file(fixture_files: dict[str, str]) -> None:
    """`CME_UPDATE_GOLDEN=1 pytest …` rewrites the expectation after a deliberate change."""
    golden = GOLDEN / "docs" / "handbook.md"
    if os.environ.get("CME_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN / "docs", ignore_errors=True)
        golden.parent.mkdir(parents=True)
        golden.write_text(fixture_files["docs/handbook.md"], encoding="utf-8")
    assert fixture_files["docs/handbook.md"] == golden.read_text(encoding="utf-8"), \
        "run with CME_UPDATE_GOLDEN=1 to refresh"


def test_output_paths_and_determinism(fixture_policy: Policy,
                                      fixture_files: dict[str, str]) -> None:
    assert sorted(fixture_files) == ["docs/handbook.html", "docs/handbook.md"]
    assert docs.generate(fixture_policy, "tests/backends/docs_fixture") == fixture_files


@pytest.mark.parametrize("which", ["fixture", "bundled"])
def test_handbook_is_valid_html_and_self_contained(which: str, fixture_files: dict[str, str],
                                                   bundled_html: str) -> None:
    html = fixture_files["docs/handbook.html"] if which == "fixture" else bundled_html
    document = parse(html)
    assert "<script" not in html.lower()
    for el in document.iter():
        assert el.get("src") is None, "nothing is loaded from elsewhere"
        href = el.get("href")
        assert href is None or href.startswith("#"), href
    assert "@page { size: A4;" in html and "break-before: page" in html


@pytest.mark.parametrize("which", ["fixture", "bundled"])
def test_every_internal_link_resolves(which: str, fixture_files: dict[str, str],
                                      bundled_html: str) -> None:
    document = parse(fixture_files["docs/handbook.html"] if which == "fixture" else bundled_html)
    ids = [el.get("id") for el in document.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "ids are unique, inline SVGs included"
    hrefs = {el.get("href")[1:] for el in document.iter() if (el.get("href") or "").startswith("#")}
    assert hrefs and hrefs <= set(ids), sorted(hrefs - set(ids))


def clause_blocks(html: str) -> dict[str, Any]:
    document = parse(html)
    return {el.get("id"): el for el in document.iter(f"{XHTML}div")
            if (el.get("id") or "").startswith("clause-")}


def text_of(el: Any) -> str:
    return " ".join(" ".join(el.itertext()).split())


def test_every_clause_shows_its_implementation_or_informative_mark(
        bundled: Policy, bundled_html: str) -> None:
    blocks = clause_blocks(bundled_html)
    for clause in bundled.clauses:
        block = blocks[f"clause-{clause.id}"]
        text = text_of(block)
        links = [a.get("href") for a in block.iter(f"{XHTML}a")]
        implemented = any(h.startswith(("#rule-", "#proc-", "#state-")) for h in links if h)
        assert implemented or "informative" in text or "not implemented" in text, clause.id
        assert " ".join(clause.text.split()[:6]) in text, "the clause's own words are quoted"


def test_fixture_clauses_in_detail(fixture_files: dict[str, str]) -> None:
    blocks = clause_blocks(fixture_files["docs/handbook.html"])
    assert "informative" in text_of(blocks["clause-aim"])
    absence = text_of(blocks["clause-absence"])
    assert "Long unauthorised run" in absence
    assert "When the unauthorised run is at least 20 school days" in absence
    assert "the attendance officer: start enquiries — within 2 school days" in absence
    assert "SI 2024/208 reg 9(1)(i)" in absence and "statutory" in absence
    assert "differs from current law" in absence
    leaving = text_of(blocks["clause-leaving"])
    assert "step: Tell the LA & wait for a reply" in leaving


def test_procedures_tables_and_sign_off(fixture_files: dict[str, str]) -> None:
    document = parse(fixture_files["docs/handbook.html"])
    section = next(el for el in document.iter(f"{XHTML}section")
                   if el.get("id") == "proc-enquiries")
    svg = section.find(".//{http://www.w3.org/2000/svg}svg")
    assert svg is not None, "the flowchart is inline SVG"
    row = text_of(next(el for el in section.iter(f"{XHTML}tr") if el.get("id") ==
                       "state-enquiries-due"))
    assert "the attendance officer" in row and "within 5 school days" in row
    assert "after 5 school days (deadline passed)" in row and "Enquiries late" in row
    full = text_of(document)
    assert "time to start enquiries" in full and "unverified" in full
    assert "Every way to “Removed from roll” passes “LA told” (SI 2024/208 reg 13)" in full
    sign_off = text_of(next(el for el in document.iter(f"{XHTML}section")
                            if el.get("id") == "sign-off"))
    assert "Reviewed 27 August 2025" in sign_off
    assert "Next review due 27 August 2026" in sign_off
    assert "The Governors of Example School" in sign_off
    review = text_of(next(el for el in document.iter(f"{XHTML}section")
                          if el.get("id") == "review-items"))
    assert "twenty days of unauthorised absence" in review  # what the text says
    assert "enquiries jointly with the LA failed" in review  # what the law says
    trace = text_of(next(el for el in document.iter(f"{XHTML}section")
                         if el.get("id") == "traceability"))
    assert "absence implemented" in trace and "S1" in trace
    assert "Twenty days of N open the enquiries" in trace  # the scenario index


def test_responsibilities_matrix(fixture_files: dict[str, str]) -> None:
    document = parse(fixture_files["docs/handbook.html"])
    matrix = text_of(next(el for el in document.iter(f"{XHTML}section")
                          if el.get("id") == "responsibilities"))
    assert "the attendance officer" in matrix and "tell the DSL" in matrix
    assert "the governing body" in matrix and "no duties assigned" in matrix


# -- escaping ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The fixture with markup and template syntax in its title, a state, an event and a
    clause."""
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(FIXTURE, root / "policy")
    nasty = f"{XSS} {{{{ 7*7 }}}} {{% if %}} [x](javascript:alert(1)) *em* `code`"
    swaps = {"policy.yaml": [("title: Handbook test policy", f"title: '{nasty}'")],
             "main.yaml": [("title: Enquiries due", f"title: '{nasty}'"),
                           ("label: the LA was told", f"label: '{nasty}'")],
             "policy.md": [("Pupils who leave are tracked | checked.", nasty)]}
    for name, pairs in swaps.items():
        path = root / "policy" / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert old in text
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    return docs.generate(load(root / "policy"), f"{XSS} --> source")


def test_html_escapes_policy_text(hostile: dict[str, str]) -> None:
    html = hostile["docs/handbook.html"]
    document = parse(html)
    tags = {el.tag.split("}")[-1] for el in document.iter() if isinstance(el.tag, str)}
    assert "img" not in tags and "script" not in tags
    title = document.find(f".//{XHTML}title")
    assert title is not None and XSS in (title.text or "")
    assert "{{ 7*7 }}" in text_of(document) and "49" not in text_of(
        document.find(f".//{XHTML}h1"))
    assert all(not (el.get("href") or "#").startswith("javascript") for el in document.iter())


def test_markdown_escapes_policy_text(hostile: dict[str, str]) -> None:
    md = hostile["docs/handbook.md"]
    assert not re.search(r"(?<!\\)<(img|/script)", md), "markup characters are escaped"
    assert not re.search(r"(?<!\\)\]\(javascript", md) and "`code`" not in md
    assert md.splitlines()[0].endswith("source. DO NOT EDIT. -->")
    assert md.splitlines()[0].count("-->") == 1, "the header comment is not ended early"
    assert md_escape("<b>*x*</b> & [a](b) | `c`") == \
        "\\<b\\>\\*x\\*\\</b\\> &amp; \\[a\\](b) \\| \\`c\\`"
    assert md_escape("- item") == "\\- item" and md_escape("1. item") == "1\\. item"


def test_markdown_has_mermaid_flowcharts(fixture_files: dict[str, str]) -> None:
    md = fixture_files["docs/handbook.md"]
    assert md.count("```mermaid\nflowchart TD\n") == 1
    fence = md.split("```mermaid\n")[1].split("```")[0]
    assert '#quot;none#quot;' in fence and "<img" not in fence


def test_an_empty_policy_still_makes_a_valid_handbook(bundled: Policy) -> None:
    files = docs.generate(Policy(bundled.manifest), "empty")
    document = parse(files["docs/handbook.html"])
    ids = {el.get("id") for el in document.iter() if el.get("id")}
    hrefs = {el.get("href")[1:] for el in document.iter() if (el.get("href") or "").startswith("#")}
    assert hrefs <= ids
    assert "No review items" in files["docs/handbook.md"]
