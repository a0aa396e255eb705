"""The handbook in a real browser: headless Chromium loads it from disk and measures it over
the DevTools protocol (a pipe, no network, no scripts in the handbook itself).

Artefacts for a human look go to test-artifacts/ (git-ignored): a screenshot of the first
A4 page, one of the first flowchart, and the handbook printed to PDF.
Needs the Debian `chromium` package; without it the test skips, or fails when CI=true.
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

from cme_policy.backends import docs
from cme_policy.driver import check_policy

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
A4 = (794, 1123)  # CSS pixels at 96 dpi
SCALE = 1240 / 794  # screenshots at 150 dpi

MEASURE = """JSON.stringify((() => {
  const box = r => ({x: r.x, y: r.y, w: r.width, h: r.height});
  const inside = (a, b) => a.x >= b.x - 1 && a.y >= b.y - 1 &&
      a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1;
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    svgs: [...document.querySelectorAll('svg.flowchart')].map(svg => ({
      title: svg.querySelector('title').textContent,
      box: box(svg.getBoundingClientRect()),
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


@pytest.fixture(scope="module")
def page(browser: DevTools, tmp_path_factory: pytest.TempPathFactory) -> DevTools:
    result = check_policy(ROOT / "policy")
    assert result.ok and result.policy is not None
    path = tmp_path_factory.mktemp("handbook") / "handbook.html"
    path.write_text(docs.generate(result.policy, "policy")["docs/handbook.html"],
                    encoding="utf-8")
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    browser.session = browser.send("Target.attachToTarget", targetId=target,
                                   flatten=True)["sessionId"]
    browser.send("Page.enable")
    browser.send("Emulation.setDeviceMetricsOverride", width=A4[0], height=A4[1],
                 deviceScaleFactor=SCALE, mobile=False)
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


def test_every_flowchart_is_drawn(measured: dict[str, Any]) -> None:
    result = check_policy(ROOT / "policy")
    assert result.policy is not None
    assert len(measured["svgs"]) == len(result.policy.procedures) > 0
    for svg in measured["svgs"]:
        assert svg["box"]["w"] > 100 and svg["box"]["h"] > 100, svg["title"]
        assert svg["box"]["x"] >= 0 and svg["box"]["x"] + svg["box"]["w"] <= A4[0] + 0.5, \
            f"{svg['title']} is wider than an A4 page"


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


def test_artefacts_for_a_human_look(page: DevTools, measured: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.send("Page.captureScreenshot", format="png")
    (ARTIFACTS / "handbook-page1.png").write_bytes(base64.b64decode(shot["data"]))
    first = measured["svgs"][0]["box"]
    clip = {"x": first["x"], "y": first["y"], "width": first["w"], "height": first["h"],
            "scale": 1}
    shot = page.send("Page.captureScreenshot", format="png", clip=clip,
                     captureBeyondViewport=True)
    (ARTIFACTS / "handbook-flowchart.png").write_bytes(base64.b64decode(shot["data"]))
    pdf = page.send("Page.printToPDF", preferCSSPageSize=True, printBackground=True,
                    timeout=60)
    data = base64.b64decode(pdf["data"])
    assert data.startswith(b"%PDF")
    (ARTIFACTS / "handbook.pdf").write_bytes(data)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert pages > len(measured["svgs"]), "each procedure starts on a new A4 page"
