"""Diagrams backend: a chart as Mermaid flowchart text (forges render it natively)."""

from __future__ import annotations

import re

from cme_policy.backends.diagrams.chart import Chart

# Mermaid reads `#name;` and `#123;` as entity codes inside quoted labels; every character
# that could end the label, start markup or an entity is written as one.
_ENTITIES = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;",
             "`": "#96;", "|": "#124;", "\\": "#92;", "[": "#91;", "]": "#93;",
             "{": "#123;", "}": "#125;"}
_UNSAFE = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")


def mermaid_text(text: str) -> str:
    """Plain text as the inside of a quoted Mermaid label; line breaks become `<br/>`."""
    lines = [_UNSAFE.sub(lambda m: _ENTITIES[m.group(0)], " ".join(line.split()))
             for line in text.splitlines() or [""]]
    return "<br/>".join(lines)


def node_ids(chart: Chart) -> dict[str, str]:
    """State ids as Mermaid/DOT-safe names; `s_` keeps words like `end` from being keywords."""
    out: dict[str, str] = {}
    for i, node in enumerate(chart.nodes):
        name = "s_" + re.sub(r"[^A-Za-z0-9_]", "_", node.id)
        out[node.id] = name if name not in out.values() else f"{name}_{i}"
    return out


def render_mermaid(chart: Chart) -> str:
    ids = node_ids(chart)
    out = ["flowchart TD", f"  %% {mermaid_text(chart.title)}"]
    classes: dict[str, str] = {}
    for i, role in enumerate(chart.roles):
        classes[role.id] = f"role{i}"
        out.append(f"  classDef role{i} fill:{role.fill},stroke:{role.stroke},color:#1f2937")
    out.append("  classDef final stroke-width:4px")
    out.append("  classDef start fill:#1f2937,stroke:#1f2937,color:#ffffff")
    out.append('  start(["Start"]):::start')
    for node in chart.nodes:
        label = f"<b>{mermaid_text(node.title)}</b>"
        if node.role is not None:
            label += f"<br/><i>{mermaid_text(node.role.label)}</i>"
        opening, closing = ("[[", "]]") if node.final else ("[", "]")
        out.append(f'  {ids[node.id]}{opening}"{label}"{closing}')
    initial = next((n for n in chart.nodes if n.initial), None)
    if initial is not None:
        out.append(f"  start --> {ids[initial.id]}")
    for arrow in chart.arrows:
        line = "-.->" if arrow.deadline else "-->"
        out.append(f'  {ids[arrow.source]} {line}|"{mermaid_text(arrow.label)}"| '
                   f"{ids[arrow.target]}")
    for node in chart.nodes:
        names = ([classes[node.role.id]] if node.role is not None else []) + \
            (["final"] if node.final else [])
        if names:
            out.append(f"  class {ids[node.id]} {','.join(names)}")
    return "\n".join(out) + "\n"
