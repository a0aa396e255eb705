"""Diagrams backend: the order of boxes within each layer, chosen for the fewest crossings.

grandalf orders each layer by its neighbours' mean position and swaps neighbours; on our small
charts that can leave a crossing a different order would avoid. Here each layer (boxes,
labels and the dummy points of long arrows) is tried in every order while it is small, keeping
its neighbours fixed, sweeping down and up until no layer improves. A layer keeps its order
unless another is strictly better, so the result is as deterministic as grandalf's.

Sweeps can stall where only changing several layers at once removes a crossing, so a bounded
depth-first search then tries, layer by layer from the top, the orders that add the fewest
crossings, cutting any branch that cannot beat the best found.
"""

from __future__ import annotations

import itertools
from typing import Any

EXHAUSTIVE = 6  # 6! = 720 orders of a layer is still quick; beyond that, adjacent swaps
SWEEPS = 8
SEARCH_LIMIT = 4000  # layer orders the exact search may try before keeping the best so far

Link = tuple[Any, Any]  # (vertex in layer r, vertex in layer r + 1)


def links_between_layers(sug: Any) -> list[list[Link]]:
    """For each pair of adjacent layers, the segments of layout edges that join them (a long
    edge passes through one dummy vertex per layer)."""
    out: list[list[Link]] = [[] for _ in range(max(len(sug.layers) - 1, 0))]
    for e in sug.g.sE:
        a, b = e.v
        ra, rb = sug.grx[a].rank, sug.grx[b].rank
        if ra == rb:
            continue
        if ra > rb:
            a, b, ra, rb = b, a, rb, ra
        chain = [a] + [sug.ctrls[e][r] for r in range(ra + 1, rb)] + [b] if e in sug.ctrls \
            else [a, b]
        for rank, (u, v) in enumerate(itertools.pairwise(chain), start=ra):
            out[rank].append((u, v))
    return out


def crossings(links: list[Link], pos: dict[Any, int]) -> int:
    """Pairs of segments between two layers whose ends are in opposite orders."""
    ends = [(pos[u], pos[v]) for u, v in links]
    return sum(1 for (a, b), (c, d) in itertools.combinations(ends, 2) if (a - c) * (b - d) < 0)


def total_crossings(sug: Any) -> int:
    pos = {v: i for layer in sug.layers for i, v in enumerate(layer)}
    return sum(crossings(links, pos) for links in links_between_layers(sug))


def reduce_crossings(sug: Any) -> None:
    """Reorder `sug.layers` in place (and grandalf's positions) for fewer crossings."""
    between = links_between_layers(sug)
    layers = [list(layer) for layer in sug.layers]
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    for _ in range(SWEEPS):
        ranks = list(range(len(layers))) + list(range(len(layers) - 2, 0, -1))
        changed = False
        for r in ranks:  # every layer, even after one has changed
            changed |= _improve(r, layers, between, pos)
        if not changed:
            break
    found = _search(layers, between)
    if found is not None:
        layers = found
    for rank, order in enumerate(layers):
        layer = sug.layers[rank]
        layer[:] = order
        step = 1.0 / (len(order) - 1) if len(order) > 1 else 1.0
        for i, v in enumerate(order):
            sug.grx[v].pos = i
            sug.grx[v].bar = i * step


def _improve(rank: int, layers: list[list[Any]], between: list[list[Link]],
             pos: dict[Any, int]) -> bool:
    """Give layer `rank` its best order against fixed neighbours; True if it changed."""
    layer = layers[rank]
    near = (between[rank - 1] if rank > 0 else []) + \
        (between[rank] if rank < len(between) else [])
    if len(layer) < 2 or not near:
        return False

    def cost(order: tuple[Any, ...] | list[Any]) -> int:
        for i, v in enumerate(order):
            pos[v] = i
        return crossings(near, pos)

    best, best_cost = list(layer), cost(layer)
    if best_cost == 0:
        return False
    candidates = itertools.permutations(layer) if len(layer) <= EXHAUSTIVE else \
        _adjacent_swaps(layer)
    for order in candidates:
        c = cost(order)
        if c < best_cost:
            best, best_cost = list(order), c
    cost(best)
    changed = best != layer
    layers[rank] = best
    return changed


def _adjacent_swaps(layer: list[Any]) -> list[tuple[Any, ...]]:
    out = []
    for i in range(len(layer) - 1):
        swapped = list(layer)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        out.append(tuple(swapped))
    return out


def _search(layers: list[list[Any]], between: list[list[Link]]) -> list[list[Any]] | None:
    """Fewer crossings than `layers` have, by bounded depth-first search; None if not found."""
    pos = {v: i for layer in layers for i, v in enumerate(layer)}
    best_cost = sum(crossings(links, pos) for links in between)
    if best_cost == 0:
        return None
    best: list[list[Any]] | None = None
    tried = 0
    chosen: list[list[Any]] = []

    def visit(rank: int, cost: int) -> None:
        nonlocal best, best_cost, tried
        if rank == len(layers):
            best, best_cost = [list(o) for o in chosen], cost
            return
        layer = layers[rank]
        orders = list(itertools.permutations(layer)) if len(layer) <= EXHAUSTIVE else \
            [tuple(layer)]
        scored = []
        for order in orders:
            tried += 1
            for i, v in enumerate(order):
                pos[v] = i
            added = crossings(between[rank - 1], pos) if rank > 0 else 0
            moved = sum(abs(i - layer.index(v)) for i, v in enumerate(order))
            scored.append((added, moved, order))
        scored.sort(key=lambda t: (t[0], t[1]))
        for added, _, order in scored:
            if cost + added >= best_cost or tried > SEARCH_LIMIT:
                break
            for i, v in enumerate(order):
                pos[v] = i
            chosen.append(list(order))
            visit(rank + 1, cost + added)
            chosen.pop()

    visit(0, 0)
    return best
