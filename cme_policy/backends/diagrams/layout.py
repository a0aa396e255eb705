"""Diagrams backend: a layered (Sugiyama) layout of a chart, computed by grandalf.

Every arrow is split at a label vertex, so its words take part in the layout like a box and
never sit on one. Arrows are routed from the layout's own points: inside a layer's band a
line runs vertically at its vertex (a box, a label or a dummy vertex, which grandalf keeps
apart in the layer); between bands it runs diagonally through the empty gap. So no line
crosses a box other than its own ends, and no two boxes overlap.
"""

from __future__ import annotations

import functools
import itertools
import textwrap
from dataclasses import dataclass, field
from typing import Any

from grandalf.graphs import Edge, Graph, Vertex  # type: ignore[import-untyped]
from grandalf.layouts import SugiyamaLayout  # type: ignore[import-untyped]

from cme_policy.backends.diagrams.chart import START, Arrow, Chart, Node
from cme_policy.backends.diagrams.ordering import reduce_crossings

# Sizes in CSS px: a chart no wider than PAGE_WIDTH is printed at full size, where 12 px is
# 9 pt, the smallest text a governor should have to read on paper.
TITLE_SIZE, ROLE_SIZE, LABEL_SIZE = 12.0, 12.0, 12.0
TITLE_LEAD, ROLE_LEAD, LABEL_LEAD = 14.5, 14.5, 14.0
CHAR = 0.6  # average glyph width in ems, generous for common sans-serif fonts
PAD = 8.0
MARGIN = 16.0
LOOP = 18.0  # how far a self-loop reaches out of its box
BADGE = 20.0  # the numbered role badge before a box's role line, with its gap
PAGE_WIDTH = 680.0  # A4's text width at 15 mm margins, in CSS px
# Wrapping widths (title, label) to try: wide words make short boxes but wide layers.
WRAPS = tuple((t, lw) for t in (28, 26, 24, 22, 20, 18) for lw in (30, 24, 20, 16))

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Box:
    x: float  # centre
    y: float
    w: float
    h: float

    @property
    def left(self) -> float:
        return self.x - self.w / 2

    @property
    def top(self) -> float:
        return self.y - self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h / 2

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)


@dataclass(frozen=True, slots=True)
class PlacedNode:
    node: Node
    box: Box
    title: tuple[str, ...]
    role: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlacedArrow:
    arrows: tuple[Arrow, ...]  # the arrows of one kind between two states, drawn as one line
    points: tuple[Point, ...]
    label: Box | None
    lines: tuple[tuple[str, bool], ...]  # (text, is part of a deadline label)

    @property
    def dashed(self) -> bool:
        return bool(self.arrows) and all(a.deadline for a in self.arrows)


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    nodes: tuple[PlacedNode, ...]
    arrows: tuple[PlacedArrow, ...]
    start: Box | None


def wrap(text: str, width: int) -> tuple[str, ...]:
    return tuple(textwrap.wrap(" ".join(text.split()), width, break_long_words=True,
                               break_on_hyphens=False)) or ("",)


def text_width(lines: tuple[str, ...], size: float) -> float:
    return max((len(line) for line in lines), default=0) * size * CHAR


class _View:
    """grandalf reads `w`, `h` and writes `xy`."""

    def __init__(self, w: float, h: float) -> None:
        self.w, self.h, self.xy = w, h, (0.0, 0.0)


@dataclass
class _Item:
    """A vertex of the layout graph: a state, the start marker or an arrow's label."""

    key: str
    box_w: float
    box_h: float
    vertex: Any = None
    node: Node | None = None
    title: tuple[str, ...] = ()
    role: tuple[str, ...] = ()
    lines: tuple[tuple[str, bool], ...] = ()
    loop: PlacedArrow | None = None  # a self-loop's label lines, placed later
    loop_w: float = 0.0


@dataclass
class _Pair:
    source: str
    target: str
    deadline: bool  # events and escalations between two states are drawn as separate arrows
    arrows: list[Arrow] = field(default_factory=list)
    label: _Item | None = None
    back: bool = False


@functools.lru_cache(maxsize=64)
def layout_chart(chart: Chart, max_width: float = PAGE_WIDTH) -> Layout:
    """The chart laid out with the word wrapping that gives the shortest drawing no wider
    than `max_width` (so it prints at full size on one page); the narrowest when none fits.
    Cached: a chart is a frozen value, drawn for diagrams/, the pack and the reference, with
    and without the line key; the layout is the same each time."""
    best: tuple[float, Layout] | None = None
    for title_wrap, label_wrap in WRAPS:
        placed = _layout(chart, title_wrap, label_wrap)
        if placed.width <= max_width and (best is None or placed.height < best[0]):
            best = (placed.height, placed)
    return best[1] if best is not None else _layout(chart, *WRAPS[-1])


def _layout(chart: Chart, title_wrap: int, label_wrap: int) -> Layout:
    items, pairs, loops = _items(chart, title_wrap, label_wrap)
    order = list(items)
    vertices = [items[k].vertex for k in order]
    edges, inverted = _edges(chart, items, pairs)
    graph = Graph(vertices, [e for e, _ in edges])
    routes: dict[int, list[Point]] = {}
    offset = 0.0
    for comp in graph.C:
        offset = _place_component(comp, edges, inverted, routes, offset)
    return _finish(chart, items, pairs, loops, edges, routes)


def _items(chart: Chart, title_wrap: int,
           label_wrap: int) -> tuple[dict[str, _Item], list[_Pair], dict[str, list[Arrow]]]:
    items: dict[str, _Item] = {START: _Item(START, 64.0, 26.0)}
    loops: dict[str, list[Arrow]] = {}
    for arrow in chart.arrows:
        if arrow.source == arrow.target:
            loops.setdefault(arrow.source, []).append(arrow)
    for node in chart.nodes:
        title = wrap(node.title, title_wrap)
        role = wrap(node.role.label, title_wrap + 4) if node.role is not None else ()
        w = max(130.0, text_width(title, TITLE_SIZE), text_width(role, ROLE_SIZE) + BADGE) \
            + 2 * PAD
        h = 2 * PAD + len(title) * TITLE_LEAD + len(role) * ROLE_LEAD + (6 if node.final else 0)
        item = _Item(node.id, w, h, node=node, title=title, role=role)
        if node.id in loops:
            item.lines = _label_lines(loops[node.id], label_wrap)
            item.loop_w = LOOP + 6 + text_width(tuple(t for t, _ in item.lines), LABEL_SIZE)
            h = max(h, len(item.lines) * LABEL_LEAD + 8)
        item.vertex = Vertex(node.id)
        item.vertex.view = _View(w + 2 * item.loop_w, h)
        items[node.id] = item
    items[START].vertex = Vertex(START)
    items[START].vertex.view = _View(64.0, 26.0)
    pairs: dict[tuple[str, str, bool], _Pair] = {}
    for arrow in chart.arrows:
        if arrow.source != arrow.target:
            key = (arrow.source, arrow.target, arrow.deadline)
            pairs.setdefault(key, _Pair(*key)).arrows.append(arrow)
    for i, pair in enumerate(pairs.values()):
        lines = _label_lines(pair.arrows, label_wrap)
        w = text_width(tuple(t for t, _ in lines), LABEL_SIZE) + 10
        label = _Item(f"label{i}", w, len(lines) * LABEL_LEAD + 6, lines=lines)
        label.vertex = Vertex(label.key)
        label.vertex.view = _View(label.box_w, label.box_h)
        pair.label = label
        items[label.key] = label
    return items, list(pairs.values()), loops


def _label_lines(arrows: list[Arrow], width: int) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for i, arrow in enumerate(arrows):
        text = arrow.label if i == 0 else f"or {arrow.label}"
        out += [(line, arrow.deadline) for line in wrap(text, width)]
    return tuple(out)


def _edges(chart: Chart, items: dict[str, _Item],
           pairs: list[_Pair]) -> tuple[list[tuple[Any, _Pair | None]], set[int]]:
    """Layout edges (each arrow as source → label → target) and those turned round to make the
    graph acyclic: the back edges of a depth-first walk in declared order."""
    back = _back_pairs(chart, pairs)
    edges: list[tuple[Any, _Pair | None]] = []
    inverted: set[int] = set()
    initial = next((n.id for n in chart.nodes if n.initial), None)
    if initial is not None:
        edges.append((Edge(items[START].vertex, items[initial].vertex), None))
    for pair in pairs:
        assert pair.label is not None
        pair.back = (pair.source, pair.target) in back
        for a, b in ((pair.source, pair.label.key), (pair.label.key, pair.target)):
            edge = Edge(items[a].vertex, items[b].vertex)
            edges.append((edge, pair))
            if pair.back:
                inverted.add(id(edge))
    return edges, inverted


def _back_pairs(chart: Chart, pairs: list[_Pair]) -> set[tuple[str, str]]:
    succ: dict[str, list[str]] = {n.id: [] for n in chart.nodes}
    for pair in pairs:
        succ[pair.source].append(pair.target)
    initial = [n.id for n in chart.nodes if n.initial]
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in initial + [n.id for n in chart.nodes]:
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            here, i = stack[-1]
            if i < len(succ[here]):
                stack[-1] = (here, i + 1)
                there = succ[here][i]
                if state.get(there) == 1:
                    back.add((here, there))
                elif there not in state:
                    state[there] = 1
                    stack.append((there, 0))
            else:
                state[here] = 2
                stack.pop()
    return back


def _place_component(comp: Any, edges: list[tuple[Any, _Pair | None]], inverted: set[int],
                     routes: dict[int, list[Point]], offset: float) -> float:
    """Lay out one connected part; returns the x where the next part may start."""
    mine = [e for e, _ in edges if e.v[0] in comp.sV]
    flipped = [e for e in mine if id(e) in inverted]
    has_in = {id(e.v[0] if id(e) in inverted else e.v[1]) for e in mine}
    roots = [v for v in comp.sV if id(v) not in has_in] or [next(iter(comp.sV))]
    sug = SugiyamaLayout(comp)
    sug.xspace, sug.yspace = 18, 10
    sug.dw, sug.dh = 4.0, 4.0  # a long arrow's bend points, not (grandalf's default) box-wide
    sug.init_all(roots=roots, inverted_edges=flipped)
    sug.draw(3)
    reduce_crossings(sug)
    sug.setxy()
    _separate(sug)
    left = min(v.view.xy[0] - v.view.w / 2 for layer in sug.layers for v in layer)
    dx = offset - left
    for layer in sug.layers:
        for v in layer:
            v.view.xy = (v.view.xy[0] + dx, v.view.xy[1])
    bands = [(min(v.view.xy[1] - v.view.h / 2 for v in layer),
              max(v.view.xy[1] + v.view.h / 2 for v in layer)) for layer in sug.layers]
    for e in mine:
        routes[id(e)] = _route(sug, e, bands)
    right: float = max(v.view.xy[0] + v.view.w / 2 for layer in sug.layers for v in layer)
    return right + 40.0


def _separate(sug: Any) -> None:
    """Brandes–Köpf balancing can bring neighbours closer than allowed; push them apart."""
    for layer in sug.layers:
        ordered = sorted(layer, key=lambda v: sug.grx[v].pos)
        for left, right in itertools.pairwise(ordered):
            least = left.view.xy[0] + (left.view.w + right.view.w) / 2 + 16.0
            if right.view.xy[0] < least:
                right.view.xy = (least, right.view.xy[1])


def _route(sug: Any, e: Any, bands: list[tuple[float, float]]) -> list[Point]:
    """Centre-line points of one layout edge: vertical inside bands, diagonal between them."""
    a, b = e.v
    ra, rb = sug.grx[a].rank, sug.grx[b].rank
    step = 1 if rb > ra else -1
    chain = [a] + [sug.ctrls[e][r] for r in range(ra + step, rb, step)] + [b] \
        if e in sug.ctrls else [a, b]
    points: list[Point] = []
    for i, v in enumerate(chain):
        x = v.view.xy[0]
        top, bottom = bands[sug.grx[v].rank]
        enter, leave = (top, bottom) if step > 0 else (bottom, top)
        if i > 0:
            points.append((x, enter))
        if i < len(chain) - 1:
            points.append((x, leave))
    return points


def _finish(chart: Chart, items: dict[str, _Item], pairs: list[_Pair],
            loops: dict[str, list[Arrow]], edges: list[tuple[Any, _Pair | None]],
            routes: dict[int, list[Point]]) -> Layout:
    boxes = {k: Box(it.vertex.view.xy[0], it.vertex.view.xy[1], it.box_w, it.box_h)
             for k, it in items.items()}
    ports = _ports(items, pairs, edges, routes, boxes)
    arrows: list[PlacedArrow] = []
    for pair in pairs:
        assert pair.label is not None
        halves = [routes[id(e)] for e, p in edges if p is pair]
        points = _through(boxes[pair.source], ports[(pair.source, id(pair), "out")], halves[0],
                          boxes[pair.label.key], halves[1], boxes[pair.target],
                          ports[(pair.target, id(pair), "in")])
        arrows.append(PlacedArrow(tuple(pair.arrows), points, boxes[pair.label.key],
                                  pair.label.lines))
    for node_id, looped in loops.items():
        box = boxes[node_id]
        y0, y1 = box.y - 8, box.y + 8
        pts = ((box.right, y0), (box.right + LOOP, y0), (box.right + LOOP, y1), (box.right, y1))
        lines = items[node_id].lines
        lw = text_width(tuple(t for t, _ in lines), LABEL_SIZE) + 6
        label = Box(box.right + LOOP + 4 + lw / 2, box.y, lw, len(lines) * LABEL_LEAD + 6)
        arrows.append(PlacedArrow(tuple(looped), pts, label, lines))
    start = boxes[START] if any(p is None for _, p in edges) else None
    if start is not None:
        first = next(e for e, p in edges if p is None)
        target, route = boxes[first.v[1].data], routes[id(first)]
        x = ports[(first.v[1].data, 0, "start")]
        arrows.insert(0, PlacedArrow((), ((start.x, start.bottom), *route[:-1],
                                          (x, route[-1][1]), (x, target.top)), None, ()))
    placed = tuple(PlacedNode(n, boxes[n.id], items[n.id].title, items[n.id].role)
                   for n in chart.nodes)
    return _normalised(placed, tuple(arrows), start)


def _ports(items: dict[str, _Item], pairs: list[_Pair], edges: list[tuple[Any, _Pair | None]],
           routes: dict[int, list[Point]], boxes: dict[str, Box]) -> dict[tuple[str, int, str],
                                                                        float]:
    """Spread the arrows meeting one side of a box along it, ordered by where they go."""
    sides: dict[tuple[str, bool], list[tuple[float, int, str]]] = {}
    for pair in pairs:
        first, second = [routes[id(e)] for e, p in edges if p is pair]
        src, tgt = boxes[pair.source], boxes[pair.target]
        sides.setdefault((pair.source, first[0][1] > src.y), []).append(
            (first[1][0], id(pair), "out"))
        sides.setdefault((pair.target, second[-1][1] > tgt.y), []).append(
            (second[-2][0], id(pair), "in"))
    for e, p in edges:
        if p is None:
            route = routes[id(e)]
            sides.setdefault((e.v[1].data, False), []).append((route[-2][0], 0, "start"))
    out: dict[tuple[str, int, str], float] = {}
    for (key, _), attached in sides.items():
        box = boxes[key]
        attached.sort()
        usable = box.w * 0.7
        for i, (_, pid, kind) in enumerate(attached):
            x = box.x - usable / 2 + usable * (i + 1) / (len(attached) + 1)
            out[(key, pid, kind)] = x if len(attached) > 1 else box.x
    return out


def _through(src: Box, src_x: float, first: list[Point], label: Box, second: list[Point],
             tgt: Box, tgt_x: float) -> tuple[Point, ...]:
    """source → label → target as one polyline, vertical through the label; it leaves and
    enters the state boxes at their ports."""
    del label  # the line runs straight through it; the label is drawn over the line
    out_edge = src.bottom if first[0][1] > src.y else src.top
    in_edge = tgt.bottom if second[-1][1] > tgt.y else tgt.top
    pts = [(src_x, out_edge), (src_x, first[0][1]), *first[1:], *second[:-1],
           (tgt_x, second[-1][1]), (tgt_x, in_edge)]
    out: list[Point] = []
    for p in pts:
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)


def _normalised(nodes: tuple[PlacedNode, ...], arrows: tuple[PlacedArrow, ...],
                start: Box | None) -> Layout:
    boxes = [n.box for n in nodes] + [a.label for a in arrows if a.label is not None]
    boxes += [start] if start is not None else []
    xs = [b.left for b in boxes] + [p[0] for a in arrows for p in a.points]
    ys = [b.top for b in boxes] + [p[1] for a in arrows for p in a.points]
    xe = [b.right for b in boxes] + [p[0] for a in arrows for p in a.points]
    ye = [b.bottom for b in boxes] + [p[1] for a in arrows for p in a.points]
    dx, dy = MARGIN - min(xs, default=0.0), MARGIN - min(ys, default=0.0)

    def pt(p: Point) -> Point:
        return (round(p[0] + dx, 1), round(p[1] + dy, 1))

    def bx(b: Box) -> Box:
        return Box(round(b.x + dx, 1), round(b.y + dy, 1), round(b.w, 1), round(b.h, 1))

    return Layout(
        round(max(xe, default=0.0) + dx + MARGIN, 1), round(max(ye, default=0.0) + dy + MARGIN, 1),
        tuple(PlacedNode(n.node, bx(n.box), n.title, n.role) for n in nodes),
        tuple(PlacedArrow(a.arrows, _dedupe(tuple(pt(p) for p in a.points)),
                          bx(a.label) if a.label is not None else None, a.lines) for a in arrows),
        bx(start) if start is not None else None)


def _dedupe(points: tuple[Point, ...]) -> tuple[Point, ...]:
    """Drop repeated points: a zero-length last segment would turn the arrowhead sideways."""
    out: list[Point] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)

