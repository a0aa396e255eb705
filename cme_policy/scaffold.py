"""`cme-policy init`: scaffold a school's overlay that `extends:` a base policy.

Every file it writes is valid as written: `cme-policy check` passes (with an O009 warning for
each `TO BE COMPLETED` value) and `cme-policy build` works. See docs/overlays.md.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

from cme_policy.analysis.overlay import la_words
from cme_policy.ir import model as m

SCHEMA = Path("generated") / "schema" / "policy.schema.json"
TODO = "TO BE COMPLETED"


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    import json
    return json.dumps(text, ensure_ascii=False)


def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def scaffold(base_dir: Path, base: m.Policy, la: str, out: Path, school: str,
             echo: Callable[[str], None]) -> int:
    if out.exists() and any(out.iterdir()):
        echo(f"{out}: error: the directory is not empty; `init` writes into a new directory")
        return 1
    (out / "scenarios").mkdir(parents=True, exist_ok=True)
    schema = base_dir.resolve().parent / SCHEMA

    def modeline(where: Path) -> str:
        return f"# yaml-language-server: $schema={_rel(schema, where)}\n"

    files = {
        "policy.yaml": _manifest(base_dir, base, la, out, school),
        "local-authority.yaml": _la_profile(base, la),
        "local-rules.yaml": LOCAL_RULES.replace("{}\n", _local_words(base)),
        "scenarios/local.yaml": SCENARIOS,
    }
    for name, text in files.items():
        path = out / name
        path.write_text(modeline(path.parent) + text, "utf-8")
    (out / "policy.md").write_text(POLICY_TEXT.format(la=la) + _clause_texts(base), "utf-8")
    calendar = base_dir / (base.manifest.calendar or "calendar.yaml")
    if calendar.is_file():
        text = re.sub(r"(?m)^(\s*school:).*$", lambda m: f"{m.group(1)} {_q(school)}",
                      calendar.read_text("utf-8"), count=1)
        (out / "calendar.yaml").write_text(CALENDAR_NOTE + text, "utf-8")
    (out / "README.md").write_text(README.format(la=la, base=_rel(base_dir, out),
                                                  out=out.as_posix()), "utf-8")
    written = sum(1 for p in out.rglob("*") if p.is_file())
    echo(f"{out.as_posix()}: wrote {written} files; fill in every `{TODO}` "
         f"(`cme-policy check {out.as_posix()}` lists them)")
    return 0


def _manifest(base_dir: Path, base: m.Policy, la: str, out: Path, school: str) -> str:
    today = dt.date.today().isoformat()
    return f"""# The school's overlay of the base policy: what it changes, and nothing else.
title: {_q(base.manifest.title)}
school: {_q(school)}
local_authority: {_q(la)}
governing_body: {_q(base.manifest.governing_body or "The Governing Body")}
text: policy.md
calendar: calendar.yaml
reviewed: {today}
review_cycle: {base.manifest.review_cycle.amount} {base.manifest.review_cycle.unit.value}
extends: {_rel(base_dir, out)}
include:
  - local-authority.yaml
  - local-rules.yaml
  - scenarios/*.yaml
"""


def _la_profile(base: m.Policy, la: str) -> str:
    lines = ["# The local authority's teams, contacts and local thresholds. Replace every",
             f"# `{TODO}` with the real value and its source, then set `verified: true`."]
    if base.la_profile is None:
        return "\n".join(lines + ["la_profile:", f"  name: {_q(la)}", "  entries: {}", ""])
    lines += ["override:", "  la_profile:", f"    name: {_q(la)}", "    entries:"]
    for entry in base.la_profile.entries:
        lines += [f"      {entry.id}:  # {entry.label}",
                  f"        value: {TODO}",
                  f"        source: {TODO}",
                  "        verified: false"]
    if not base.la_profile.entries:
        lines[-1] = "    entries: {}"
    return "\n".join(lines) + "\n"


def _names_base_la(base: m.Policy) -> Callable[[str | None], bool]:
    words = la_words(base.manifest.local_authority)
    if not words:
        return lambda text: False
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    return lambda text: bool(text and pattern.search(text))


def _local_words(base: m.Policy) -> str:
    """Overrides setting to TO BE COMPLETED every base text that names the base's local
    authority (a role holder, a parameter's source…), so the school's handbook never tells
    its governors to call another council (O009 lists each until it is filled in)."""
    names = _names_base_la(base)
    sections: list[str] = []
    roles = [(r.id, [f for f in ("label", "holder", "description") if names(getattr(r, f))])
             for r in base.roles]
    params = [(p, [f for f in ("label", "source", "description") if names(getattr(p, f))])
              for p in base.parameters]
    rules = [(r.id, [f for f in ("source", "description") if names(getattr(r, f))])
             for r in base.rules]
    procs = [(p.id, [f for f in ("description",) if names(getattr(p, f))])
             for p in base.procedures]
    for title, items in (("roles", roles), ("rules", rules), ("procedures", procs)):
        found = [(key, fields) for key, fields in items if fields]
        if found:
            sections.append(f"  {title}:")
            sections += [f"    {key}: {{{', '.join(f'{f}: {TODO}' for f in fields)}}}"
                         for key, fields in found]
    groups: dict[str, list[str]] = {}
    for p, fields in params:
        if fields:
            groups.setdefault(p.group, []).append(
                f"      {p.name}: {{{', '.join(f'{f}: {TODO}' for f in fields)}}}")
    if groups:
        sections.append("  parameters:")
        for group, lines in sorted(groups.items()):
            sections += [f"    {group}:", *lines]
    clauses = [c.id for c in base.clauses if names(c.text)]
    head = ["clauses:", *(f"  {c}: {{replaces_base: true}}" for c in clauses), ""] if clauses \
        else []
    if not sections:
        return "\n".join(head) + ("\n" if head else "{}\n")
    return "\n".join(head + ["# The base's words that name its own local authority: yours here.",
                             "override:", *sections]) + "\n"


def _clause_texts(base: m.Policy) -> str:
    """The base's clauses that name its local authority, to be reworded for this one."""
    names = _names_base_la(base)
    found = [c for c in base.clauses if names(c.text)]
    return "".join(f"\n{{#{c.id}}} {TODO}: this clause names the base's local authority; "
                   f"write the school's own words.\n" for c in found)


CALENDAR_NOTE = f"""# {TODO}: the school's own term dates, INSET days and closures. These are the
# base policy's dates, copied so that the scenarios run until the school's are entered.
"""

LOCAL_RULES = """\
# The school's own rules, and its changes to the base policy. Each rule cites a clause
# of policy.md (or of the base's text). Examples (docs/overlays.md):
#
# rules:                         # new rules
#   home_visit_day_3:
#     title: Absence unexplained on day 3 — visit the home
#     clause: local-home-visit
#     when: unexplained_run >= 3 school days
#     then:
#       - {action: Visit the home, role: attendance_officer, within: 1 school day}
#
# override:                      # changes to base items, by id
#   parameters:
#     attendance:
#       home_visit_after: {value: 2 school days}
#   roles:
#     attendance_officer: {holder: Mrs A. Example}
#   rules:
#     some_local_rule: {remove: true}
{}
"""

SCENARIOS = """# The school's own scenarios: tests a governor can read, run by `cme-policy test`.
# The base policy's scenarios are not inherited; add one for every local rule.
scenarios:
  present_every_day:
    title: A pupil present every day needs no action
    given:
      marks:
        - from: 2025-09-03
          sessions: |
            /\\ /\\ /\\
            /\\ /\\ /\\ /\\ /\\
    as_of: 2025-09-12
    expect:
      nothing: true
"""

POLICY_TEXT = """# Children Missing Education Policy — local text ({la})

The school adopts the base policy's text. To replace a clause's words, copy the clause here
with the same marker (e.g. `{{#strategy-3}} …`) and say `replaces_base: true` for it under
`clauses:` in local-rules.yaml. A new clause gets a new marker.
"""

# A trailing backslash continues a table row on the next source line (one line in the file).
README = """# This school's Children Missing Education policy

This directory adapts the base policy in `{base}` for {la}. It holds only what differs:

| file | holds |
|---|---|
| `policy.yaml` | the school, the local authority, the review dates; `extends:` the base |
| `local-authority.yaml` | the local authority's teams and contacts — \
fill in every `TO BE COMPLETED` |
| `local-rules.yaml` | the school's own rules, and changes to the base under `override:` \
(the base's words naming its own council are set to `TO BE COMPLETED`) |
| `calendar.yaml` | the school's term dates: a copy of the base's until the school's are entered |
| `policy.md` | clauses whose words the school replaces or adds |
| `scenarios/` | the school's own tests |

```sh
cme-policy check {out}     # warns about every value still TO BE COMPLETED
cme-policy test {out}      # runs the school's scenarios
cme-policy build {out} --out {out}/generated
```

Statutory values can only be made stricter: a local deadline may be shorter, a threshold
earlier, never the other way (docs/overlays.md in the cme-policy repository).
"""
