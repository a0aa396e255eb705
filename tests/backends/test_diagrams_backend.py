"""Diagrams backend: golden Mermaid and DOT for a small policy, escaping in every format, and
the SVG layout's geometry for every procedure: no overlapping boxes, no line through a box, no
two arrows drawn under one label, text legible at 9 pt on A4, and edge crossings counted from
the drawn segments — none where a layout without them exists, and never more than recorded."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cme_policy.backends import diagrams
from cme_policy.backends.diagrams.chart import Arrow, Chart, Node, RoleStyle
from cme_policy.backends.diagrams.dot import dot_string, render_dot
from cme_policy.backends.diagrams.mermaid import mermaid_text, render_mermaid
from cme_policy.backends.diagrams.svg import render_svg
from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURE = HERE / "docs_fixture"
GOLDEN = HERE / "golden"  # one folder per output directory: golden/diagrams/…
SVG = "{http://www.w3.org/2000/svg}"
NASTY = '</script><img src=x onerror=alert(1)> {{ 7*7 }} "quoted" #1 | a\\b & [x]'


def load(path: Path) -> Policy:
    result = check_policy(path)
    assert result.ok and result.policy is not None, [str(d) for d in result.errors]
    return result.policy


@pytest.fixture(scope="module")
def fixture_files() -> dict[str, str]:
    return diagrams.generate(load(FIXTURE), "tests/backends/docs_fixture")


@pytest.fixture(scope="module")
def bundled() -> Policy:
    return load(ROOT / "policy")


# -- golden files ----------------------------------------------------------------------------

def test_mermaid_and_dot_match_golden_files(fixture_files: dict[str, str]) -> None:
    """`CME_UPDATE_GOLDEN=1 pytest …` rewrites the expectations after a deliberate change."""
    wanted = {k: v for k, v in fixture_files.items() if k.endswith((".mmd", ".dot"))}
    assert wanted
    if os.environ.get("CME_UPDATE_GOLDEN") == "1":
        shutil.rmtree(GOLDEN / "diagrams", ignore_errors=True)
        for name, text in wanted.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_text(text, encoding="utf-8")
    on_disk = {str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8")
               for p in sorted((GOLDEN / "diagrams").rglob("*")) if p.is_file()}
    assert sorted(on_disk) == sorted(wanted), "run with CME_UPDATE_GOLDEN=1 to refresh"
    for name, text in wanted.items():
        assert text == on_disk[name], f"{name} differs from its golden file"


def test_one_file_of_each_kind_per_procedure(bundled: Policy) -> None:
    files = diagrams.generate(bundled, "policy")
    for p in bundled.procedures:
        for ext in ("mmd", "dot", "svg"):
            assert f"diagrams/{p.id}.{ext}" in files
    assert list(files) == sorted(files)


def test_output_is_deterministic_across_processes(bundled: Policy) -> None:
    """grandalf must not depend on hash order: two interpreters with other seeds agree."""
    code = ("import hashlib, pathlib; from cme_policy.driver import check_policy; "
            "from cme_policy.backends.diagrams import generate; "
            "files = generate(check_policy(pathlib.Path('policy')).policy, 'policy'); "
            "print(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())")
    digests = set()
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed})
        digests.add(out.stdout.strip())
    here = diagrams.generate(bundled, "policy")
    digests.add(hashlib.sha256(repr(sorted(here.items())).encode()).hexdigest())
    assert len(digests) == 1


def test_flowchart_words(fixture_files: dict[str, str]) -> None:
    mmd = fixture_files["diagrams/enquiries.mmd"]
    assert '-.->|"after 5 school days"| s_late' in mmd
    assert "s_removed[[" in mmd and "final" in mmd
    dot = fixture_files["diagrams/enquiries.dot"]
    assert '"due" -> "late" [label="after 5 school days", style=dashed];' in dot
    assert '"removed" [label="Removed from roll", peripheries=2];' in dot
    svg = fixture_files["diagrams/enquiries.svg"]
    assert "after 5 school" in svg and 'stroke-dasharray="6 4"' in svg
    assert "the attendance officer" in svg  # role label in the box and in the legend


# -- escaping ---------------------------------------------------------------------------------

def nasty_chart() -> Chart:
    role = RoleStyle("r", NASTY, "#ffffff", "#000000")
    nodes = (Node("a", NASTY, role, False, True), Node("end", "plain", None, True, False))
    return Chart("p", NASTY, nodes, (Arrow("a", "end", NASTY, False), Arrow("a", "a", NASTY, True)),
                 (role,))


def test_svg_text_is_escaped() -> None:
    svg = render_svg(nasty_chart())
    tree = ET.fromstring(svg)  # well-formed XML, whatever the text
    assert tree.find(f".//{SVG}img") is None and "<img" not in svg
    texts = "".join(t.text or "" for t in tree.iter(f"{SVG}text"))
    assert "</script><img" in texts  # as words, wrapped over several lines
    assert "{{ 7*7 }}" in texts


def test_dot_strings_are_quoted_and_escaped() -> None:
    assert dot_string('say "hi"\\N') == '"say \\"hi\\"\\\\N"'
    dot = render_dot(nasty_chart(), "label\nwith a newline")
    assert dot.splitlines()[0].startswith("// Code generated by cme-policy from label with a")
    for line in dot.splitlines()[2:-1]:
        # Outside the quoted strings only DOT syntax remains.
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)
        assert "<" not in bare and "{{" not in bare and "|" not in bare, line


def test_svg_file_header_names_the_source_safely(bundled: Policy) -> None:
    files = diagrams.generate(bundled, "policy -->\n<script>x</script> ---")
    for name, text in files.items():
        if name.endswith(".svg"):
            assert text.startswith("<!-- Code generated by cme-policy from policy - -&gt; "
                                   "&lt;script&gt;x&lt;/script&gt; - - -. DO NOT EDIT. -->\n")
            ET.fromstring(text)  # still one well-formed XML document


def test_mermaid_labels_are_escaped() -> None:
    assert mermaid_text('a "b" #c <d> | `e`') == "a #quot;b#quot; #35;c #lt;d#gt; #124; #96;e#96;"
    mmd = render_mermaid(nasty_chart())
    for line in mmd.splitlines():
        assert "<img" not in line and "</script" not in line
        # Every quoted label closes on its own line: no stray quote inside one.
        assert line.count('"') % 2 == 0, line


# -- SVG geometry -----------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # left, top, right, bottom


def rect_box(el: ET.Element) -> Box:
    x, y = float(el.get("x", 0)), float(el.get("y", 0))
    return (x, y, x + float(el.get("width", 0)), y + float(el.get("height", 0)))


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def crosses(p: tuple[float, float], q: tuple[float, float], box: Box, inset: float = 1.0) -> bool:
    """Does segment p–q pass through the inside of box (shrunk by `inset`)? Liang–Barsky."""
    left, top, right, bottom = box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset
    dx, dy = q[0] - p[0], q[1] - p[1]
    t0, t1 = 0.0, 1.0
    for edge_p, edge_q in ((-dx, p[0] - left), (dx, right - p[0]), (-dy, p[1] - top),
                           (dy, bottom - p[1])):
        if edge_p == 0:
            if edge_q < 0:
                return False
            continue
        t = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


def test_segment_check_itself() -> None:
    box = (10.0, 10.0, 20.0, 20.0)
    assert crosses((0, 15), (30, 15), box)
    assert not crosses((0, 0), (30, 0), box)
    assert not crosses((15, 0), (15, 10), box)  # touching the border is allowed
    assert crosses((0, 0), (30, 30), box)


Edge = tuple[str, str, list[tuple[float, float]]]  # from state, to state, polyline points


def geometry(svg: str) -> tuple[dict[str, Box], list[Box], list[Edge]]:
    tree = ET.fromstring(svg)
    states = {el.get("data-state", ""): rect_box(el) for el in tree.iter(f"{SVG}rect")
              if el.get("class") == "state"}
    labels = [rect_box(el) for el in tree.iter(f"{SVG}rect") if el.get("class") == "label"]
    lines = []
    for el in tree.iter(f"{SVG}polyline"):
        pts = [tuple(float(v) for v in pair.split(",")) for pair in el.get("points", "").split()]
        lines.append((el.get("data-from", ""), el.get("data-to", ""), pts))
    return states, labels, lines  # type: ignore[return-value]


def all_svgs(bundled: Policy) -> list[tuple[str, str]]:
    svgs = [(k, v) for k, v in diagrams.generate(bundled, "policy").items() if k.endswith(".svg")]
    svgs += [(k, v) for k, v in diagrams.generate(load(FIXTURE), "f").items() if k.endswith(".svg")]
    return svgs


def test_no_two_boxes_overlap(bundled: Policy) -> None:
    assert bundled.procedures, "the bundled policy has procedures to draw"
    for name, svg in all_svgs(bundled):
        states, labels, _ = geometry(svg)
        boxes = list(states.values()) + labels
        assert len(states) == len(next(p for p in bundled.procedures + load(FIXTURE).procedures
                                       if name.endswith(f"/{p.id}.svg")).states)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not overlap(a, b), f"{name}: boxes {a} and {b} overlap"


def test_no_line_passes_through_a_box(bundled: Policy) -> None:
    for name, svg in all_svgs(bundled):
        states, _, lines = geometry(svg)
        for source, target, pts in lines:
            assert len(pts) >= 2
            for state, box in states.items():
                if state in (source, target):
                    continue
                for p, q in itertools.pairwise(pts):
                    assert not crosses(p, q, box), \
                        f"{name}: the line {source} → {target} crosses the box of {state}"


A4_TEXT = (680.0, 990.0)  # CSS px of an A4 page's text area in the pack (14 mm sides)


def test_svg_fits_a4_legibly(bundled: Policy) -> None:
    """Printed on A4 at the width of the text, every word of a chart is at least 9 pt (12 CSS
    px at 0.75 pt each) and the whole chart fits one page's height."""
    for name, svg in all_svgs(bundled):
        tree = ET.fromstring(svg)
        width, height = (float(v) for v in tree.get("viewBox", "0 0 0 0").split()[2:])
        scale = min(1.0, A4_TEXT[0] / width)
        assert height * scale <= A4_TEXT[1], f"{name} is {height} px tall"
        for text in tree.iter(f"{SVG}text"):
            if text.get("class") == "badge":
                continue  # the role's number, repeated in words in the same box
            size = float(text.get("font-size") or tree.find(f".//{SVG}g[@font-size]").get(
                "font-size"))  # type: ignore[union-attr]
            assert size * scale * 0.75 >= 9, f"{name}: {text.text!r} prints at " \
                f"{size * scale * 0.75:.1f} pt"


# -- crossings, doubled arrows, roles ---------------------------------------------------------

def orientation(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> int:
    v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return 0 if abs(v) < 1e-9 else (1 if v > 0 else -1)


def segments_cross(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float],
                   s: tuple[float, float]) -> bool:
    """A proper crossing: each segment has the other's ends strictly on opposite sides (lines
    meeting at a shared port or touching end to end do not count)."""
    return (orientation(p, q, r) * orientation(p, q, s) < 0
            and orientation(r, s, p) * orientation(r, s, q) < 0)


def crossings(svg: str) -> int:
    """Pairs of drawn segments, from different arrows, that cross."""
    _, _, lines = geometry(svg)
    count = 0
    for (_, _, a), (_, _, b) in itertools.combinations(lines, 2):
        for p, q in itertools.pairwise(a):
            for r, s in itertools.pairwise(b):
                count += segments_cross(p, q, r, s)
    return count


def test_crossing_count_itself() -> None:
    assert segments_cross((0, 0), (10, 10), (0, 10), (10, 0))
    assert not segments_cross((0, 0), (10, 0), (10, 0), (20, 5))  # end to end
    assert not segments_cross((0, 0), (10, 0), (0, 5), (10, 5))  # parallel


# Edge crossings per flowchart, measured from the SVG: a layout without crossings exists for
# every chart of the bundled policy, so each must stay at 0. Before the crossing-minimising
# ordering (ordering.py) reasonable_enquiries and safeguarding had 1 each. A new procedure
# gets an entry when it is added; a number here may only go down.
CROSSINGS = {"deletion_from_roll": 0, "home_education": 0, "la_tracking": 0,
             "leaving_to_school": 0, "reasonable_enquiries": 0, "safeguarding": 0,
             "unexplained_absence": 0, "enquiries": 0}


def test_edge_crossings_do_not_grow(bundled: Policy) -> None:
    measured = {Path(name).stem: crossings(svg) for name, svg in all_svgs(bundled)}
    for stem, count in measured.items():
        allowed = CROSSINGS.get(stem, 0)
        assert count <= allowed, f"{stem}: {count} edge crossing(s), at most {allowed} allowed"


def test_layout_finds_the_crossing_free_order_a_sweep_misses() -> None:
    """Two branches out of one box whose natural order crosses a long arrow: the search over
    several layers at once (not one layer at a time) untangles it."""
    role = RoleStyle("r", "role", "#ffffff", "#000000", 1)
    names = ["a", "b", "c", "d", "e"]
    nodes = tuple(Node(n, f"step {n}", role, n == "e", n == "a") for n in names)
    arrows = (Arrow("a", "b", "b starts", False), Arrow("a", "e", "found", False),
              Arrow("a", "c", "after 10 days", True), Arrow("c", "b", "b starts", False),
              Arrow("c", "e", "found", False), Arrow("b", "d", "next", False),
              Arrow("b", "e", "found", False), Arrow("d", "e", "done", False))
    assert crossings(render_svg(Chart("x", "x", nodes, arrows, (role,)))) == 0


def test_no_two_arrows_are_drawn_under_one_label(bundled: Policy) -> None:
    """An event and a deadline between the same two boxes are two arrows, each with its own
    words: no solid and dashed line run side by side under one label."""
    for name, svg in all_svgs(bundled):
        tree = ET.fromstring(svg)
        labelled = [el for el in tree.iter(f"{SVG}polyline")]
        labels = [el for el in tree.iter(f"{SVG}rect") if el.get("class") == "label"]
        starts = sum(1 for el in labelled if el.get("data-from") == "start")
        assert len(labelled) == len(labels) + starts, f"{name}: an arrow without its own words"


def test_roles_are_told_apart_by_number_as_well_as_colour(bundled: Policy) -> None:
    for name, svg in all_svgs(bundled):
        tree = ET.fromstring(svg)
        legend = tree.find(f".//{SVG}g[@class='legend']")
        assert legend is not None
        states = tree.find(f".//{SVG}g[@class='states']")
        assert states is not None
        numbers = {t.text for t in legend.iter(f"{SVG}text") if t.get("class") == "badge"}
        badges = {t.text for t in states.iter(f"{SVG}text") if t.get("class") == "badge"}
        assert badges and badges == numbers, f"{name}: each role's number in boxes and key"
    fills = [fill for fill, _ in diagrams.chart.PALETTE]
    assert len(set(fills)) == len(fills)


# -- layouts of awkward shapes ------------------------------------------------------------------

def random_chart(seed: int) -> Chart:
    """A random procedure: cycles, parallel arrows, self-loops, unreachable parts, long words."""
    import random
    rng = random.Random(seed)
    roles = tuple(RoleStyle(f"r{i}", f"role number {i}", "#ffffff", "#000000") for i in range(3))
    n = rng.randint(1, 11)
    words = ["check", "the", "pupil", "local authority", "notified", "referral", "overdue"]
    nodes = tuple(Node(f"s{i}", " ".join(rng.choices(words, k=rng.randint(1, 9))),
                       rng.choice((None, *roles)), rng.random() < 0.2, i == 0)
                  for i in range(n))
    arrows = tuple(Arrow(f"s{rng.randrange(n)}", f"s{rng.randrange(n)}",
                         " ".join(rng.choices(words, k=rng.randint(1, 8))), rng.random() < 0.3)
                   for _ in range(rng.randint(0, 2 * n)))
    return Chart(f"random{seed}", "random", nodes, arrows, roles)


@pytest.mark.parametrize("seed", range(40))
def test_random_layouts_keep_boxes_and_lines_apart(seed: int) -> None:
    chart = random_chart(seed)
    states, labels, lines = geometry(render_svg(chart))
    assert len(states) == len(chart.nodes)
    boxes = list(states.values()) + labels
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not overlap(a, b), f"boxes {a} and {b} overlap"
    for source, target, pts in lines:
        for state, box in states.items():
            if state not in (source, target):
                assert not any(crosses(p, q, box) for p, q in itertools.pairwise(pts)), \
                    f"{source} → {target} crosses {state}"


def test_an_empty_policy_draws_nothing(bundled: Policy) -> None:
    empty = Policy(bundled.manifest)
    assert diagrams.generate(empty, "empty") == {}
