"""Docs backend: the governors' pack and the technical reference through Jinja templates —
HTML autoescaped, Markdown escaped by `finalize`, so no policy text can become markup."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from cme_policy.backends.diagrams.chart import build_chart
from cme_policy.backends.diagrams.mermaid import render_mermaid
from cme_policy.backends.diagrams.svg import render_svg
from cme_policy.backends.docs.content import Handbook, build_handbook
from cme_policy.backends.docs.pack import (
    Pack,
    PackChange,
    PackChanges,
    PupilChange,
    build_pack,
)
from cme_policy.backends.docs.words import Plain
from cme_policy.ir.model import Policy

PACK_HTML, PACK_MD = "docs/governors-pack.html", "docs/governors-pack.md"
REFERENCE_HTML, REFERENCE_MD = "docs/reference.html", "docs/reference.md"

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
    """The section "Changes since the last review", as plain text (the templates escape it);
    `pupils`: the worked examples whose outcome changes, in words."""

    old: str
    items: tuple[ChangeView, ...]
    pupils: tuple[PupilChange, ...] = ()

    @property
    def weakening(self) -> int:
        return sum(1 for c in self.items if c.weakens)


def generate(policy: Policy, source_label: str, *,
             since: ChangesSince | None = None) -> dict[str, str]:
    """Relative output paths → text; the same policy always gives the same bytes. With
    `since` (from `cme-policy build --since OLD`) both documents list the changes."""
    handbook = build_handbook(policy, source_label)
    pack = build_pack(policy, handbook, pack_changes(policy, since))
    return {PACK_HTML: render_pack_html(policy, pack, handbook.source_label),
            PACK_MD: render_pack_markdown(policy, pack, handbook.source_label),
            REFERENCE_HTML: render_html(policy, handbook, since),
            REFERENCE_MD: render_markdown(policy, handbook, since)}


def pack_changes(policy: Policy, since: ChangesSince | None) -> PackChanges | None:
    if since is None:
        return None
    plain = Plain(policy)
    return PackChanges(since.old, tuple(
        PackChange(plain(c.message), tuple(plain(d) for d in c.details), c.weakens)
        for c in since.items), since.pupils)


def _svgs(policy: Policy, line_key: bool = True) -> dict[str, Markup]:
    # The SVG comes from the diagrams backend's own autoescaped template.
    return {p.id: Markup(render_svg(build_chart(policy, p), line_key).strip())
            for p in policy.procedures}


def _mermaid(policy: Policy) -> dict[str, Markup]:
    return {p.id: Markup(render_mermaid(build_chart(policy, p))) for p in policy.procedures}


def render_pack_html(policy: Policy, pack: Pack, source_label: str) -> str:
    return _HTML.get_template("governors-pack.html.j2").render(
        pack=pack, svgs=_svgs(policy, line_key=False), source=source_label)


def render_pack_markdown(policy: Policy, pack: Pack, source_label: str) -> str:
    text = _MD.get_template("governors-pack.md.j2").render(
        pack=pack, mermaid=_mermaid(policy), source=source_label)
    return re.sub(r"\n{3,}", "\n\n", text)


def render_html(policy: Policy, handbook: Handbook, since: ChangesSince | None = None) -> str:
    return _HTML.get_template("reference.html.j2").render(h=handbook, svgs=_svgs(policy),
                                                          changes=since)


def render_markdown(policy: Policy, handbook: Handbook,
                    since: ChangesSince | None = None) -> str:
    text = _MD.get_template("reference.md.j2").render(h=handbook, mermaid=_mermaid(policy),
                                                      changes=since)
    return re.sub(r"\n{3,}", "\n\n", text)
