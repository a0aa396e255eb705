"""The governors' pack in a real browser: headless Chromium loads it from disk and measures it
over the DevTools protocol (a pipe, no network, no scripts in the pack itself), and prints it
to PDF the way `cme-policy build` does, which is then read back with pypdf: the page budget,
page numbers, a numbered contents page, no flowchart split across pages, no heading left at
the foot of a page, no internal identifier, and every decision before the first procedure.

Artefacts for a human look go to test-artifacts/ (git-ignored): screenshots of the pack's
first pages and of each flowchart, and the printed PDF.
Needs the Debian `chromium` package; without it the tests skip, or fail when CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pack_rules import internal_names

from cme_policy.backends import docs
from cme_policy.backends.docs.pdf import print_date, print_pack, stamp
from cme_policy.backends.docs.pdfdests import destinations
from cme_policy.backends.docs.render import PACK_HTML, REFERENCE_HTML
from cme_policy.driver import check_policy
from cme_policy.ir.model import Policy

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
A4 = (794, 1123)  # CSS pixels at 96 dpi
SCALE = 1240 / 794  # screenshots at 150 dpi
PAGE_BUDGET = 22  # "at most about 20 A4 pages" for the bundled policy (20 when written)

MEASURE = """JSON.stringify((() => {
  const box = r => ({x: r.x, y: r.y, w: r.width, h: r.height});
  const inside = (a, b) => a.x >= b.x - 1 && a.y >= b.y - 1 &&
      a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1;
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    svgs: [...document.querySelectorAll('svg.flowchart')].map(svg => ({
      title: svg.querySelector('title').textContent,
      box: box(svg.getBoundingClientRect()),
      natural: svg.viewBox.baseVal.width,
      states: [...svg.querySelectorAll('rect.state')].map(r => box(r.getBoundingClientRect())),
      labels: [...svg.querySelectorAll('rect.label')].map(r => box(r.getBoundingClientRect())),
      spills: [...svg.querySelectorAll('g.node, g.edge-label')].flatMap(g => {
        const frame = g.querySelector('rect').getBBox();
        return [...g.querySelectorAll('text')].filter(t => !inside(t.getBBox(), frame))
          .map(t => t.textContent);
      }),
    })),
  };
})())"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class DevTools:
    """Chrome DevTools Protocol over --remote-debugging-pipe: NUL-terminated JSON on fds 3/4."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def wire() -> None:  # in the child: its fd 3 reads our commands, fd 4 writes replies
            high_r, high_w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-sync", "--disable-extensions", "--hide-scrollbars",
             f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire,  # noqa: PLW1509 - only dup2 between fork and exec, no locks
            pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer, self._next, self.events = b"", 0, []  # type: ignore[var-annotated]
        self.session: str | None = None

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        os.write(self._w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._next:
                assert "error" not in reply, reply
                return reply.get("result", {})  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)  # type: ignore[no-any-return]
        while True:
            event = self._read(timeout)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._r], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            self.session = None
            self.send("Browser.close", timeout=5)
        except (OSError, TimeoutError, ConnectionError, AssertionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = chromium()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed, and CI=true: install the Debian package "
                        "`chromium` (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); skipping the "
                    "browser checks of the handbook")
    tools = DevTools(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield tools
    tools.close()


def fail_or_skip(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}, and CI=true")
    pytest.skip(why)


@pytest.fixture(scope="module")
def bundled() -> Policy:
    result = check_policy(ROOT / "policy")
    assert result.ok and result.policy is not None
    return result.policy


@pytest.fixture(scope="module")
def pack_dir(bundled: Policy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack")
    files = docs.generate(bundled, "policy")
    for rel in (PACK_HTML, REFERENCE_HTML):
        (out / Path(rel).name).write_text(files[rel], encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def pdf(browser: DevTools, pack_dir: Path) -> Path:
    """The pack printed to PDF as `build` prints it (needs the browser, hence the fixture)."""
    result = print_pack(pack_dir / Path(PACK_HTML).name, pack_dir / "governors-pack.pdf")
    if result.path is None:
        fail_or_skip(result.message)
    assert result.path is not None
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(result.path, ARTIFACTS / "governors-pack.pdf")
    return result.path


@pytest.fixture(scope="module")
def page(browser: DevTools, pack_dir: Path, pdf: Path) -> DevTools:
    """The pack as printed (print date, numbered contents), under print media at A4 width."""
    html = (pack_dir / Path(PACK_HTML).name).read_text(encoding="utf-8")
    path = pack_dir / "printed.html"
    path.write_text(stamp(html, print_date(), destinations(pdf.read_bytes())), encoding="utf-8")
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    browser.session = browser.send("Target.attachToTarget", targetId=target,
                                   flatten=True)["sessionId"]
    browser.send("Page.enable")
    browser.send("Emulation.setDeviceMetricsOverride", width=A4[0], height=A4[1],
                 deviceScaleFactor=SCALE, mobile=False)
    browser.send("Emulation.setEmulatedMedia", media="print")
    browser.send("Page.navigate", url=path.as_uri())
    browser.wait_for("Page.loadEventFired")
    return browser


@pytest.fixture(scope="module")
def measured(page: DevTools) -> dict[str, Any]:
    value = page.send("Runtime.evaluate", expression=MEASURE, returnByValue=True)
    return json.loads(value["result"]["value"])  # type: ignore[no-any-return]


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["w"] - 0.5 and b["x"] < a["x"] + a["w"] - 0.5
            and a["y"] < b["y"] + b["h"] - 0.5 and b["y"] < a["y"] + a["h"] - 0.5)


def test_every_flowchart_is_drawn_at_full_size(measured: dict[str, Any], bundled: Policy) -> None:
    assert len(measured["svgs"]) == len(bundled.procedures) > 0
    for svg in measured["svgs"]:
        assert svg["box"]["w"] > 100 and svg["box"]["h"] > 100, svg["title"]
        assert svg["box"]["x"] >= 0 and svg["box"]["x"] + svg["box"]["w"] <= A4[0] + 0.5, \
            f"{svg['title']} is wider than an A4 page"
        assert abs(svg["box"]["w"] - svg["natural"]) < 1, f"{svg['title']} is scaled down"


def test_no_overlapping_boxes_as_rendered(measured: dict[str, Any]) -> None:
    for svg in measured["svgs"]:
        boxes = svg["states"] + svg["labels"]
        assert svg["states"], svg["title"]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not overlap(a, b), f"{svg['title']}: {a} overlaps {b}"


def test_text_stays_inside_its_box(measured: dict[str, Any]) -> None:
    """The layout estimates text widths; the browser's real fonts must fit inside them."""
    for svg in measured["svgs"]:
        assert not svg["spills"], f"{svg['title']}: text runs out of its box: {svg['spills']}"


def test_page_fits_a4_width(measured: dict[str, Any]) -> None:
    assert measured["scrollWidth"] <= measured["innerWidth"]


def screenshot(page: DevTools, path: Path, box: dict[str, float]) -> None:
    clip = {"x": box["x"], "y": box["y"], "width": box["w"], "height": box["h"], "scale": 1}
    shot = page.send("Page.captureScreenshot", format="png", clip=clip,
                     captureBeyondViewport=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def test_screenshots_for_a_human_look(page: DevTools, measured: dict[str, Any]) -> None:
    """The first A4 page or so of the cover and of the decisions, and every flowchart."""
    ARTIFACTS.mkdir(exist_ok=True)
    for svg in measured["svgs"]:
        stem = re.sub(r"[^a-z0-9]+", "-", svg["title"].lower()).strip("-")
        screenshot(page, ARTIFACTS / f"{stem}.png", svg["box"])
    page.send("Runtime.evaluate", expression="document.body.style.padding = '10mm 14mm'")
    for name in ("cover", "decisions"):
        value = page.send("Runtime.evaluate", returnByValue=True, expression=(
            f"JSON.stringify(document.getElementById('{name}').getBoundingClientRect())"))
        rect = json.loads(value["result"]["value"])
        top = rect["y"] + page_scroll(page) - (38 if name == "cover" else 0)
        height = min(rect["height"] + 76, A4[1]) if name == "cover" else A4[1] - 60
        screenshot(page, ARTIFACTS / f"pack-{name}.png", {"x": 0, "y": top, "w": A4[0],
                                                          "h": height})
    page.send("Runtime.evaluate", expression="document.body.style.padding = ''")
    assert (ARTIFACTS / "pack-cover.png").stat().st_size > 10_000


def page_scroll(page: DevTools) -> float:
    value = page.send("Runtime.evaluate", expression="window.scrollY", returnByValue=True)
    return float(value["result"]["value"])


# -- the printed pack ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def printed(pdf: Path) -> list[str]:
    """Each printed page's text, whitespace squeezed."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(pdf))
    return [" ".join(p.extract_text().split()) for p in reader.pages]


def body_of(text: str) -> str:
    """A page's text without its running header and page number."""
    text = re.sub(r"Governors' review pack · version [0-9a-f]+", "", text)
    return re.sub(r"Page \d+ of \d+", "", text).strip()


def first_page(pages: list[str], words: str, after: int = 1) -> int:
    """The number (from 1) of the first page from `after` on that holds `words`."""
    return next(i for i, t in enumerate(pages, start=1) if i >= after and words in t)


def test_page_count_within_budget(printed: list[str]) -> None:
    assert len(printed) <= PAGE_BUDGET, f"{len(printed)} pages, budget {PAGE_BUDGET}"


def test_every_page_is_numbered_and_the_contents_too(printed: list[str]) -> None:
    total = len(printed)
    for number, text in enumerate(printed, start=1):
        assert f"Page {number} of {total}" in text, f"page {number} has no page number"
    contents = printed[0]
    for title, target in (("1. Decisions for this review", "Decision 1:"),
                          ("3. Who does what", "3. Who does what"),
                          ("5. Glossary", "5. Glossary"), ("6. Sign-off", "6. Sign-off")):
        found = re.search(re.escape(title) + r" (\d+)", contents)
        assert found, f"the contents give no page for {title!r}"
        assert int(found.group(1)) == first_page(printed, target, after=2), title


def test_no_flowchart_is_split_across_pages(printed: list[str], bundled: Policy) -> None:
    """Each flowchart sits between its procedure's heading and its caption; both on one page
    means the drawing between them is whole."""
    for number, proc in enumerate(bundled.procedures, start=1):
        heading = first_page(printed, f"Procedure {number}: ", after=2)
        caption = first_page(printed, f"Flowchart {number}: ", after=2)
        assert heading == caption, f"flowchart {number} ({proc.title}) runs from page " \
            f"{heading} to page {caption}"


def test_no_heading_is_left_at_the_foot_of_a_page(printed: list[str], pack_dir: Path) -> None:
    html = (pack_dir / Path(PACK_HTML).name).read_text(encoding="utf-8")
    headings = {" ".join(re.sub(r"<[^>]+>", "", h).split()).replace("&#39;", "'")
                .replace("&amp;", "&")
                for h in re.findall(r"<h[2-4][^>]*>(.*?)</h[2-4]>", html, re.DOTALL)}
    headings |= {"The policy's words it carries out:", "Checked on every possible path:"}
    for number, text in enumerate(printed[:-1], start=1):
        body = body_of(text)
        for heading in headings:
            assert not body.endswith(heading), f"page {number} ends with the heading {heading!r}"


def test_no_internal_identifier_in_the_printed_text(printed: list[str], bundled: Policy) -> None:
    assert internal_names(" ".join(printed), [c.id for c in bundled.clauses]) == []


def test_every_decision_comes_before_the_first_procedure(printed: list[str],
                                                         bundled: Policy) -> None:
    first_procedure = first_page(printed, "Procedure 1: ", after=2)
    items = [item.summary for c in bundled.clauses for item in c.review]
    items += [x.label for x in bundled.parameters if not x.verified]
    text_before = " ".join(printed[:first_procedure - 1])
    for words in items:
        start = " ".join(words.split())[1:50]
        assert start in text_before, f"{words!r} is not among the decisions before the " \
            "first procedure"
