"""Diagrams backend: a laid-out chart drawn as SVG through an autoescaped Jinja template."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jinja2

from cme_policy.backends.diagrams.chart import Chart, slug
from cme_policy.backends.diagrams.layout import (
    LABEL_LEAD,
    LABEL_SIZE,
    MARGIN,
    PAD,
    ROLE_LEAD,
    ROLE_SIZE,
    TITLE_LEAD,
    TITLE_SIZE,
    Box,
    layout_chart,
    text_width,
)

FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
INK = "#1f2937"
LEGEND_ROW = 22.0

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cme_policy.backends.diagrams", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True)


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    text: str
    size: float
    weight: str = "normal"
    style: str = "normal"
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class LegendItem:
    kind: str  # role | final | event | deadline
    x: float
    y: float
    text: str
    fill: str = "#ffffff"
    stroke: str = INK


@functools.lru_cache(maxsize=64)
def render_svg(chart: Chart) -> str:
    """The chart as a standalone SVG document (also inlined, as is, in the handbook).

    Cached: a build draws each chart for diagrams/ and again for the handbook; a chart is a
    frozen value, so equal charts give equal drawings."""
    layout = layout_chart(chart)
    legend, legend_h = _legend(chart, max(layout.width, 480.0), layout.height)
    width = max(layout.width, 480.0)
    return _ENV.get_template("flowchart.svg.j2").render(
        chart=chart, layout=layout, key=slug(chart.id), width=width,
        height=round(layout.height + legend_h, 1), font=FONT, ink=INK,
        node_texts=[_node_texts(n.box, n.title, n.role) for n in layout.nodes],
        label_texts=[_label_texts(a.label, a.lines) if a.label is not None else []
                     for a in layout.arrows],
        legend=legend, label_size=LABEL_SIZE,
        initial=next((n.id for n in chart.nodes if n.initial), ""))


def _node_texts(box: Box, title: tuple[str, ...], role: tuple[str, ...]) -> list[Text]:
    height = len(title) * TITLE_LEAD + len(role) * ROLE_LEAD
    y = box.y - height / 2 + TITLE_SIZE
    out: list[Text] = []
    for line in title:
        out.append(Text(box.x, round(y, 1), line, TITLE_SIZE, weight="bold"))
        y += TITLE_LEAD
    for line in role:
        out.append(Text(box.x, round(y - 1, 1), line, ROLE_SIZE, style="italic"))
        y += ROLE_LEAD
    return out


def _label_texts(box: Box, lines: tuple[tuple[str, bool], ...]) -> list[Text]:
    y = box.top + 3 + LABEL_SIZE
    out: list[Text] = []
    for line, deadline in lines:
        out.append(Text(box.x, round(y, 1), line, LABEL_SIZE,
                        style="italic" if deadline else "normal"))
        y += LABEL_LEAD
    return out


def _legend(chart: Chart, width: float, top: float) -> tuple[list[LegendItem], float]:
    """Swatches flowed into rows under the chart: each role, then what the lines mean."""
    entries = [("role", r.label, r.fill, r.stroke) for r in chart.roles]
    entries += [("final", "final step (case ends)", "#ffffff", INK),
                ("event", "what happens next", "#ffffff", INK),
                ("deadline", "escalation when a deadline passes", "#ffffff", INK)]
    x, y = MARGIN, top + 4
    out: list[LegendItem] = []
    for kind, text, fill, stroke in entries:
        w = 34 + text_width((text,), LABEL_SIZE) + 18
        if x + w > width - MARGIN and x > MARGIN:
            x, y = MARGIN, y + LEGEND_ROW
        out.append(LegendItem(kind, round(x, 1), round(y, 1), text, fill, stroke))
        x += w
    return out, y + LEGEND_ROW + MARGIN - top


__all__ = ["PAD", "render_svg"]
