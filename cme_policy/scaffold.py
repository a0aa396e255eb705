"""`cme-policy init`: scaffold a school's overlay that `extends:` a base policy.

Every file it writes is valid as written: `cme-policy check` passes (with an O009 warning for
each `TO BE COMPLETED` value) and `cme-policy build` works. See docs/overlays.md.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Callable

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
        "local-rules.yaml": LOCAL_RULES,
        "scenarios/local.yaml": SCENARIOS,
    }
    for name, text in files.items():
        path = out / name
        path.write_text(modeline(path.parent) + text, "utf-8")
    (out / "policy.md").write_text(POLICY_TEXT.format(la=la), "utf-8")
    (out / "README.md").write_text(README.format(la=la, base=_rel(base_dir, out),
                                                  out=out.as_posix()), "utf-8")
    echo(f"{out.as_posix()}: wrote {len(files) + 2} files; fill in every `{TODO}` "
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


LOCAL_RULES = """# The school's own rules, and its changes to the base policy. Each rule cites a clause
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

README = """# This school's Children Missing Education policy

This directory adapts the base policy in `{base}` for {la}. It holds only what differs:

| file | holds |
|---|---|
| `policy.yaml` | the school, the local authority, the review dates; `extends:` the base |
| `local-authority.yaml` | the local authority's teams and contacts — fill in every `TO BE COMPLETED` |
| `local-rules.yaml` | the school's own rules, and changes to the base under `override:` |
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
