"""Diagrams backend: a laid-out chart drawn as SVG through an autoescaped Jinja template."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jinja2

from cme_policy.backends.diagrams.chart import Chart, slug
from cme_policy.backends.diagrams.layout import (
    BADGE,
    LABEL_LEAD,
    LABEL_SIZE,
    MARGIN,
    PAD,
    ROLE_LEAD,
    ROLE_SIZE,
    TITLE_LEAD,
    TITLE_SIZE,
    Box,
    PlacedNode,
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
class Badge:
    """The role's number in a circle before a box's role line (colour is never the only cue)."""

    x: float
    y: float
    number: int
    stroke: str


@dataclass(frozen=True, slots=True)
class LegendItem:
    kind: str  # role | final | event | deadline
    x: float
    y: float
    text: str
    fill: str = "#ffffff"
    stroke: str = INK
    number: int = 0


@functools.lru_cache(maxsize=64)
def render_svg(chart: Chart, line_key: bool = True) -> str:
    """The chart as a standalone SVG document (also inlined, as is, in the handbook).
    Without `line_key` the legend names only the roles: a document that explains the kinds of
    line once need not repeat it under every chart.

    Cached: a build draws each chart for diagrams/ and again for the handbook; a chart is a
    frozen value, so equal charts give equal drawings."""
    layout = layout_chart(chart)
    width = max(layout.width, 480.0 if line_key else 0.0)
    legend, legend_h = _legend(chart, width, layout.height, line_key)
    return _ENV.get_template("flowchart.svg.j2").render(
        chart=chart, layout=layout, key=slug(chart.id), width=width,
        height=round(layout.height + legend_h, 1), font=FONT, ink=INK,
        node_texts=[_node_texts(n) for n in layout.nodes],
        badges=[_badge(n) for n in layout.nodes],
        label_texts=[_label_texts(a.label, a.lines) if a.label is not None else []
                     for a in layout.arrows],
        legend=legend, label_size=LABEL_SIZE,
        initial=next((n.id for n in chart.nodes if n.initial), ""))


def _first_role_line(n: PlacedNode) -> tuple[float, float]:
    """Where the first role line starts (left, baseline): after the badge, centred together."""
    box = n.box
    height = len(n.title) * TITLE_LEAD + len(n.role) * ROLE_LEAD
    y = box.y - height / 2 + TITLE_SIZE + len(n.title) * TITLE_LEAD - 1
    left = box.x - (BADGE + text_width(n.role[:1], ROLE_SIZE)) / 2
    return left, y


def _node_texts(n: PlacedNode) -> list[Text]:
    box = n.box
    height = len(n.title) * TITLE_LEAD + len(n.role) * ROLE_LEAD
    y = box.y - height / 2 + TITLE_SIZE
    out: list[Text] = []
    for line in n.title:
        out.append(Text(box.x, round(y, 1), line, TITLE_SIZE, weight="bold"))
        y += TITLE_LEAD
    for i, line in enumerate(n.role):
        if i == 0 and n.node.role is not None and n.node.role.number:
            left, base = _first_role_line(n)
            out.append(Text(round(left + BADGE, 1), round(base, 1), line, ROLE_SIZE,
                            style="italic", anchor="start"))
        else:
            out.append(Text(box.x, round(y - 1, 1), line, ROLE_SIZE, style="italic"))
        y += ROLE_LEAD
    return out


def _badge(n: PlacedNode) -> Badge | None:
    role = n.node.role
    if role is None or not role.number or not n.role:
        return None
    left, base = _first_role_line(n)
    return Badge(round(left + 8, 1), round(base - 4, 1), role.number, role.stroke)


def _label_texts(box: Box, lines: tuple[tuple[str, bool], ...]) -> list[Text]:
    y = box.top + 3 + LABEL_SIZE
    out: list[Text] = []
    for line, deadline in lines:
        out.append(Text(box.x, round(y, 1), line, LABEL_SIZE,
                        style="italic" if deadline else "normal"))
        y += LABEL_LEAD
    return out


def _legend(chart: Chart, width: float, top: float,
            line_key: bool) -> tuple[list[LegendItem], float]:
    """Swatches flowed into rows under the chart: each role, then what the lines mean."""
    entries = [("role", r.label, r.fill, r.stroke, r.number) for r in chart.roles]
    if line_key:
        entries += [("final", "final step (case ends)", "#ffffff", INK, 0),
                    ("event", "what happens next", "#ffffff", INK, 0),
                    ("deadline", "escalation when a deadline passes", "#ffffff", INK, 0)]
    if not entries:
        return [], 0.0
    x, y = MARGIN, top + 4
    out: list[LegendItem] = []
    for kind, text, fill, stroke, number in entries:
        w = 34 + text_width((text,), LABEL_SIZE) + 18
        if x + w > width - MARGIN and x > MARGIN:
            x, y = MARGIN, y + LEGEND_ROW
        out.append(LegendItem(kind, round(x, 1), round(y, 1), text, fill, stroke, number))
        x += w
    return out, y + LEGEND_ROW + MARGIN - top


__all__ = ["PAD", "render_svg"]
