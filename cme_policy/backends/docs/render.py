"""Docs backend: the handbook's content through Jinja templates — HTML autoescaped, Markdown
escaped by `finalize`, so no policy text can become markup in either."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from cme_policy.backends.diagrams.chart import build_chart
from cme_policy.backends.diagrams.mermaid import render_mermaid
from cme_policy.backends.diagrams.svg import render_svg
from cme_policy.backends.docs.content import Handbook, build_handbook
from cme_policy.ir.model import Policy

_LOADER = jinja2.PackageLoader("cme_policy.backends.docs", "templates")
_HTML = jinja2.Environment(loader=_LOADER, autoescape=True, undefined=jinja2.StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that
# could start emphasis, links, code, tables, headings or raw HTML in running text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_MD_LIST_MARK = re.compile(r"^([-+=])")
_MD_ORDERED = re.compile(r"^(\d+)([.)])")


def md_escape(value: object) -> str:
    """Text as one line of literal Markdown: markup characters escaped, `&` as an entity."""
    if isinstance(value, Markup):
        return str(value)
    text = " ".join(str(value).split()).replace("&", "&amp;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_ORDERED.sub(r"\1\\\2", _MD_LIST_MARK.sub(r"\\\1", text))


def _raw(value: object) -> Markup:
    """Template-authored Markdown and ids already made safe (anchors are slugs)."""
    return Markup(str(value))


def _comment(value: object) -> Markup:
    """Text inside an HTML comment on one line: `--` and `>` would end it early."""
    text = " ".join(str(value).split()).replace("--", "- -")
    return Markup(text.replace("<", "&lt;").replace(">", "&gt;"))


_MD = jinja2.Environment(loader=_LOADER, autoescape=False, undefined=jinja2.StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                         finalize=md_escape)
_MD.filters["raw"] = _raw
_MD.filters["comment"] = _comment


@dataclass(frozen=True)
class ChangeView:
    kind: str
    subject: str
    message: str
    details: tuple[str, ...]
    weakens: bool


@dataclass(frozen=True)
class ChangesSince:
    """The section "Changes since the last review", as plain text (the templates escape it)."""

    old: str
    items: tuple[ChangeView, ...]

    @property
    def weakening(self) -> int:
        return sum(1 for c in self.items if c.weakens)


def generate(policy: Policy, source_label: str, *,
             since: ChangesSince | None = None) -> dict[str, str]:
    """Relative output paths → text; the same policy always gives the same bytes. With
    `since` (from `cme-policy build --since OLD`) the handbook lists the changes."""
    handbook = build_handbook(policy, source_label)
    return {"docs/handbook.html": render_html(policy, handbook, since),
            "docs/handbook.md": render_markdown(policy, handbook, since)}


def render_html(policy: Policy, handbook: Handbook, since: ChangesSince | None = None) -> str:
    # The SVG comes from the diagrams backend's own autoescaped template.
    svgs = {p.id: Markup(render_svg(build_chart(policy, p)).strip()) for p in policy.procedures}
    return _HTML.get_template("handbook.html.j2").render(h=handbook, svgs=svgs, changes=since)


def render_markdown(policy: Policy, handbook: Handbook,
                    since: ChangesSince | None = None) -> str:
    mermaid = {p.id: Markup(render_mermaid(build_chart(policy, p)))
               for p in policy.procedures}
    text = _MD.get_template("handbook.md.j2").render(h=handbook, mermaid=mermaid,
                                                     changes=since)
    return re.sub(r"\n{3,}", "\n\n", text)
