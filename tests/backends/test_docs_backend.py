"""Docs backend: the governors' pack and the technical reference are valid HTML with every
link resolving; the pack puts every decision first, names no internal identifier and explains
every abbreviation it uses; every clause is shown with what implements it in the reference;
policy text stays text; Markdown matches its golden files."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import html5lib
import pytest
from pack_rules import internal_names

from cme_policy.backends import docs
from cme_policy.backends.docs.render import (
    PACK_HTML,
    PACK_MD,
    REFERENCE_HTML,
    REFERENCE_MD,
    md_escape,
)
from cme_policy.backends.docs.words import clause_name
from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURE = HERE / "docs_fixture"
GOLDEN = HERE / "golden"
XHTML = "{http://www.w3.org/1999/xhtml}"
XSS = "</script><img src=x onerror=alert(1)>"
SIBLINGS = {"governors-pack.html", "reference.html"}  # the two documents link to each other



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
def bundled_files(bundled: Policy) -> dict[str, str]:
    return docs.generate(bundled, "policy")


@pytest.fixture(scope="module")
def bundled_html(bundled_files: dict[str, str]) -> str:
    return bundled_files[REFERENCE_HTML]


@pytest.fixture(scope="module")
def bundled_pack(bundled_files: dict[str, str]) -> str:
    return bundled_files[PACK_HTML]


def test_markdown_matches_golden_files(fixture_files: dict[str, str]) -> None:
    """`CME_UPDATE_GOLDEN=1 pytest …` rewrites the expectations after a deliberate change."""
    wanted = {PACK_MD: "governors-pack.md", REFERENCE_MD: "reference.md"}
    if os.environ.get("CME_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN / "docs", ignore_errors=True)
        (GOLDEN / "docs").mkdir(parents=True)
        for path, name in wanted.items():
            (GOLDEN / "docs" / name).write_text(fixture_files[path], encoding="utf-8")
    assert sorted(p.name for p in (GOLDEN / "docs").iterdir()) == sorted(wanted.values())
    for path, name in wanted.items():
        assert fixture_files[path] == (GOLDEN / "docs" / name).read_text(encoding="utf-8"), \
            f"{name}: run with CME_UPDATE_GOLDEN=1 to refresh"


def test_output_paths_and_determinism(fixture_policy: Policy,
                                      fixture_files: dict[str, str]) -> None:
    assert sorted(fixture_files) == sorted([PACK_HTML, PACK_MD, REFERENCE_HTML, REFERENCE_MD])
    assert docs.generate(fixture_policy, "tests/backends/docs_fixture") == fixture_files


def documents(fixture_files: dict[str, str], bundled_files: dict[str, str]) -> list[str]:
    return [fixture_files[PACK_HTML], fixture_files[REFERENCE_HTML],
            bundled_files[PACK_HTML], bundled_files[REFERENCE_HTML]]


@pytest.mark.parametrize("which", range(4))
def test_documents_are_valid_html_and_self_contained(which: int, fixture_files: dict[str, str],
                                                     bundled_files: dict[str, str]) -> None:
    html = documents(fixture_files, bundled_files)[which]
    document = parse(html)
    assert "<script" not in html.lower()
    for el in document.iter():
        assert el.get("src") is None, "nothing is loaded from elsewhere"
        href = el.get("href")
        assert href is None or href.startswith("#") or href in SIBLINGS, href
    assert "@page {" in html and "size: A4;" in html and "break-before: page" in html


@pytest.mark.parametrize("which", range(4))
def test_every_internal_link_resolves(which: int, fixture_files: dict[str, str],
                                      bundled_files: dict[str, str]) -> None:
    document = parse(documents(fixture_files, bundled_files)[which])
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
    blocks = clause_blocks(fixture_files[REFERENCE_HTML])
    assert "informative" in text_of(blocks["clause-aim"])
    absence = text_of(blocks["clause-absence"])
    assert "Long unauthorised run" in absence
    assert "When the unauthorised run is at least 20 school days" in absence
    assert "the attendance officer: start enquiries — within 2 school days" in absence
    assert "SI 2024/208 reg 9(1)(i)" in absence and "statutory" in absence
    assert "differs from current law" in absence
    leaving = text_of(blocks["clause-leaving"])
    assert "step: Tell the LA & wait for a reply" in leaving


def test_procedures_tables(fixture_files: dict[str, str]) -> None:
    document = parse(fixture_files[REFERENCE_HTML])
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
    review = text_of(next(el for el in document.iter(f"{XHTML}section")
                          if el.get("id") == "review-items"))
    assert "twenty days of unauthorised absence" in review  # what the text says
    assert "enquiries jointly with the LA failed" in review  # what the law says
    trace = text_of(next(el for el in document.iter(f"{XHTML}section")
                         if el.get("id") == "traceability"))
    assert "absence implemented" in trace and "S1" in trace
    assert "Twenty days of N open the enquiries" in trace  # the scenario index


def test_responsibilities_matrix(fixture_files: dict[str, str]) -> None:
    document = parse(fixture_files[REFERENCE_HTML])
    matrix = text_of(next(el for el in document.iter(f"{XHTML}section")
                          if el.get("id") == "responsibilities"))
    assert "the attendance officer" in matrix and "tell the DSL" in matrix
    assert "the governing body" in matrix and "no duties assigned" in matrix


# -- the governors' pack ------------------------------------------------------------------------

def section(document: Any, name: str) -> Any:
    return next(el for el in document.iter(f"{XHTML}section") if el.get("id") == name)


def visible_text(html: str) -> str:
    """What a reader sees: the body's text, the flowcharts' words included."""
    body = parse(html).find(f"{XHTML}body")
    return " ".join(" ".join(body.itertext()).split())


def test_pack_puts_decisions_first_and_signs_off_last(fixture_files: dict[str, str]) -> None:
    document = parse(fixture_files[PACK_HTML])
    order = [el.get("id") for el in document.iter(f"{XHTML}section") if el.get("id")]
    assert order[:5] == ["cover", "decisions", "changes", "roles", "procedures"]
    assert order[-2:] == ["glossary", "sign-off"]
    cover = text_of(section(document, "cover"))
    assert "Example \"Primary\" School & Nursery" in cover and "Version" in cover
    assert "This review is due 27 August 2026" in cover and "Date generated" in cover
    sign_off = text_of(section(document, "sign-off"))
    for role in ("Designated safeguarding lead", "Attendance lead", "Link governor",
                 "Chair of governors"):
        assert role in sign_off
    assert "by 27 August 2027" in sign_off and "The Governors of Example School" in sign_off


def test_pack_decisions_carry_both_texts_a_proposal_and_a_choice(
        fixture_files: dict[str, str]) -> None:
    decisions = section(parse(fixture_files[PACK_HTML]), "decisions")
    text = text_of(decisions)
    assert "Decision 1: The law also needs every session coded G, N or O" in text
    assert "twenty days of unauthorised absence" in text  # what the policy says
    assert "enquiries jointly with the LA failed" in text  # what the law says
    assert "Source: SI 2024/208 reg 9(1)(i)" in text and "Absence" in text
    assert "Reword the clause to say what current law says" in text
    assert "Time to start enquiries: 5 school days" in text  # the unverified figure
    items = [el for el in decisions.iter() if (el.get("id") or "").startswith("decision-")]
    assert len(items) >= 2 and text.count("Accept") == text.count("Decline") == len(items)


def test_pack_duties_without_a_deadline_ask_for_one(fixture_files: dict[str, str]) -> None:
    roles = text_of(section(parse(fixture_files[PACK_HTML]), "roles"))
    assert "The attendance officer" in roles and "tell the DSL" in roles
    assert "No deadline — decide one?" in roles
    assert "No duties are given to: the governing body" in roles


def test_pack_procedures_quote_their_clauses_beside_the_flowchart(
        fixture_files: dict[str, str]) -> None:
    proc = section(parse(fixture_files[PACK_HTML]), "procedure-enquiries")
    assert proc.find(".//{http://www.w3.org/2000/svg}svg") is not None
    text = text_of(proc)
    assert "Procedure 1: Enquiries <and> \"removal\"" in text
    assert "Absence" in text and "Leaving" in text  # the clauses by name, with their words
    assert "moves to “Enquiries late — the headteacher acts” (the headteacher)" in text
    assert "Every way to “Removed from roll” passes “LA told”" in text


@pytest.mark.parametrize("which", ["fixture", "bundled"])
def test_pack_shows_no_internal_identifier(which: str, fixture_files: dict[str, str],
                                           bundled_files: dict[str, str], bundled: Policy,
                                           fixture_policy: Policy) -> None:
    files, policy = (fixture_files, fixture_policy) if which == "fixture" else \
        (bundled_files, bundled)
    clause_ids = [c.id for c in policy.clauses]
    for text in (visible_text(files[PACK_HTML]), files[PACK_MD].split("\n", 1)[1]):
        text = re.sub(r"```mermaid.*?```", "", text, flags=re.DOTALL)  # forge-rendered code
        text = re.sub(r'<a id="[^"]*"></a>|\]\(#[^)]*\)|\(reference\.md\)', "", text)
        assert internal_names(text, clause_ids) == []


def test_every_review_item_and_unverified_figure_is_a_decision(
        bundled: Policy, bundled_pack: str) -> None:
    decisions = text_of(section(parse(bundled_pack), "decisions"))
    for clause in bundled.clauses:
        for item in clause.review:
            assert " ".join(item.summary.split())[:60] in decisions, item.summary
    for x in bundled.parameters:
        if not x.verified:
            assert x.label[1:40] in decisions, x.label


@pytest.mark.parametrize("which", ["fixture", "bundled"])
def test_pack_glossary_explains_every_abbreviation_it_uses(
        which: str, fixture_files: dict[str, str], bundled_files: dict[str, str]) -> None:
    document = parse((fixture_files if which == "fixture" else bundled_files)[PACK_HTML])
    glossary = section(document, "glossary")
    terms = {text_of(row.find(f"{XHTML}td")) for row in glossary.iter(f"{XHTML}tr")}
    body = document.find(f"{XHTML}body")
    shown = " ".join(" ".join(el.itertext()) for el in body if el is not glossary)
    used = set(re.findall(r"\b[A-Z][A-Za-z]*[A-Z][A-Za-z]*\b", shown)) - {"PDF"}
    assert used <= terms, sorted(used - terms)
    for code in re.findall(r"\bcoded ([A-Z])(?:, ([A-Z]))?(?: or ([A-Z]))?", shown):
        for letter in filter(None, code):
            assert f"code {letter}" in terms, letter


def test_pack_without_an_earlier_version_says_so(fixture_files: dict[str, str]) -> None:
    changes = text_of(section(parse(fixture_files[PACK_HTML]), "changes"))
    assert "without the previous version" in changes


def test_pack_lists_changes_and_what_they_do_to_pupils(fixture_policy: Policy) -> None:
    from cme_policy.backends.docs.pack import PupilChange
    since = docs.ChangesSince("old/", (docs.ChangeView(
        "PARAM_VALUE_CHANGED", "params.limits.run", "run limit: 15 school days → 20 school days "
        "(params.limits.run)", (), True),), (PupilChange(
            "Twenty days of N", ("start enquiries — the attendance officer",), ()),))
    files = docs.generate(fixture_policy, "f", since=since)
    changes = text_of(section(parse(files[PACK_HTML]), "changes"))
    assert "run limit: 15 school days → 20 school days (the figure for run limit)" in changes
    assert "Yes — check it is intended" in changes and "Twenty days of N" in changes
    assert "params." not in changes and "PARAM_VALUE_CHANGED" not in changes
    assert "PARAM_VALUE_CHANGED" in files[REFERENCE_MD]  # the reference keeps the codes


def test_clause_names_read_like_the_policy() -> None:
    assert clause_name("strategy-9-ii") == "Strategy 9(ii)"
    assert clause_name("strategy-7-home-education") == "Strategy 7 (home education)"
    assert clause_name("overview-1") == "Overview 1" and clause_name("definition") == "Definition"


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


@pytest.mark.parametrize("which", [REFERENCE_HTML, PACK_HTML])
def test_html_escapes_policy_text(which: str, hostile: dict[str, str]) -> None:
    html = hostile[which]
    document = parse(html)
    tags = {el.tag.split("}")[-1] for el in document.iter() if isinstance(el.tag, str)}
    assert "img" not in tags and "script" not in tags
    title = document.find(f".//{XHTML}title")
    assert title is not None and XSS in (title.text or "")
    assert "{{ 7*7 }}" in text_of(document) and "49" not in text_of(
        document.find(f".//{XHTML}h1"))
    assert all(not (el.get("href") or "#").startswith("javascript") for el in document.iter())


@pytest.mark.parametrize("which", [REFERENCE_MD, PACK_MD])
def test_markdown_escapes_policy_text(which: str, hostile: dict[str, str]) -> None:
    md = hostile[which]
    assert not re.search(r"(?<!\\)<(img|/script)", md), "markup characters are escaped"
    assert not re.search(r"(?<!\\)\]\(javascript", md) and "`code`" not in md
    assert md.splitlines()[0].endswith("source. DO NOT EDIT. -->")
    assert md.splitlines()[0].count("-->") == 1, "the header comment is not ended early"
    assert md_escape("<b>*x*</b> & [a](b) | `c`") == \
        "\\<b\\>\\*x\\*\\</b\\> &amp; \\[a\\](b) \\| \\`c\\`"
    assert md_escape("- item") == "\\- item" and md_escape("1. item") == "1\\. item"


def test_markdown_has_mermaid_flowcharts(fixture_files: dict[str, str]) -> None:
    md = fixture_files[REFERENCE_MD]
    assert md.count("```mermaid\nflowchart TD\n") == 1
    fence = md.split("```mermaid\n")[1].split("```")[0]
    assert '#quot;none#quot;' in fence and "<img" not in fence


def test_an_empty_policy_still_makes_valid_documents(bundled: Policy) -> None:
    files = docs.generate(Policy(bundled.manifest), "empty")
    for name in (REFERENCE_HTML, PACK_HTML):
        document = parse(files[name])
        ids = {el.get("id") for el in document.iter() if el.get("id")}
        hrefs = {el.get("href")[1:] for el in document.iter()
                 if (el.get("href") or "").startswith("#")}
        assert hrefs <= ids
    assert "No review items" in files[REFERENCE_MD]
    assert "Nothing to decide" in files[PACK_MD]
