"""Docs backend: the pack's glossary — every abbreviation, attendance code, ground for deletion
and term of art that its own text uses, found by reading that text (so nothing is listed that
the reader will not meet, and nothing met is missing)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from cme_policy.ir import model as m


@dataclass(frozen=True, slots=True)
class GlossaryEntry:
    term: str
    meaning: str


ABBREVIATIONS = {
    "CME": "children missing education: children of compulsory school age who are not on a "
           "school roll and not receiving a suitable education otherwise",
    "CTF": "common transfer file: the pupil's record sent to the next school",
    "DfE": "Department for Education",
    "DSL": "designated safeguarding lead",
    "EWO": "education welfare officer",
    "INSET": "a staff training day on which pupils do not attend",
    "IPSEA": "Independent Provider of Special Education Advice, a charity whose worked "
             "examples of compulsory school age the policy uses",
    "KCSIE": "Keeping children safe in education, the statutory safeguarding guidance",
    "LA": "local authority (here, the council responsible for the school's area)",
    "SAO": "school attendance order",
    "SI": "statutory instrument: a set of regulations, numbered by year (SI 2024/208 is the "
          "School Attendance (Pupil Registration) (England) Regulations 2024)",
    "UPN": "unique pupil number",
    "WTISA": "Working together to improve school attendance, the statutory attendance "
             "guidance",
    "reg": "regulation: a numbered part of a statutory instrument, e.g. reg 9(1)(i)",
    "s.": "section of an Act of Parliament, e.g. Education Act 1996 s.8",
}

TERMS = {
    "admission register": "the school's register of its pupils (its roll)",
    "compulsory school age": "from the prescribed day on or after a child's fifth birthday "
                             "(31 December, 31 March or 31 August) to the last Friday in "
                             "June of the school year in which the child turns 16",
    "deletion return": "the notice to the local authority that a pupil's name is being "
                       "deleted from the admission register, and on which ground",
    "escalation": "what happens when a step's deadline passes: the case moves to someone "
                  "more senior (a dashed arrow in the flowcharts)",
    "reasonable enquiries": "the checks made, jointly with the local authority, to find a "
                            "pupil (calls, home visit, siblings' schools, other agencies); "
                            "not defined in law",
    "school day": "a day the school is open to pupils; weekends, holidays, training days and "
                  "closures do not count",
    "session": "a morning or an afternoon register; a school day has two",
}

_CODE_LIST = r"([A-Z][0-9]?|[/\\#])((?:\s*(?:,|or|and)\s*(?:[A-Z][0-9]?|[/\\#]))*)"
_CODES = re.compile(r"\bcod(?:e|es|ed)\s+" + _CODE_LIST)
_GROUNDS = re.compile(r"\bgrounds?\s+([A-O])((?:\s*(?:,|or|and)\s*[A-O])*)\b")


def texts(value: Any) -> list[str]:
    """Every string held in a (nested) dataclass value."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in texts(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in texts(item)]
    return []


def _listed(found: re.Match[str]) -> list[str]:
    rest = re.findall(r"[A-Z][0-9]?|[/\\#]", found.group(2))
    return [found.group(1), *rest]


def build_glossary(policy: m.Policy, content: Any, extra: str = "") -> tuple[GlossaryEntry, ...]:
    text = " ".join(texts(content)) + " " + extra
    out: list[GlossaryEntry] = []
    for term, meaning in sorted(ABBREVIATIONS.items(), key=lambda kv: kv[0].lower()):
        pattern = r"(?<![\w.])s\.\s?\d" if term == "s." else rf"\b{re.escape(term)}\b"
        if re.search(pattern, text):
            out.append(GlossaryEntry(term, meaning))
    for term, meaning in sorted(TERMS.items()):
        if re.search(rf"\b{re.escape(term)}s?\b", text, re.IGNORECASE):
            out.append(GlossaryEntry(term, meaning))
    out += _codes(policy, text) + _grounds(policy, text)
    return tuple(out)


def _codes(policy: m.Policy, text: str) -> list[GlossaryEntry]:
    known = {c.code: c for c in policy.attendance_codes}
    categories = {mem.id: mem.label for e in policy.enums if e.id == "attendance_category"
                  for mem in e.members}
    used = {code for found in _CODES.finditer(text) for code in _listed(found) if code in known}
    return [GlossaryEntry(f"code {c.code}", f"{c.meaning} ({categories.get(c.category, '')})"
                          .replace(" ()", ""))
            for c in policy.attendance_codes if c.code in used]


def _grounds(policy: m.Policy, text: str) -> list[GlossaryEntry]:
    labels = {mem.id[-1].upper(): mem.label for e in policy.enums for mem in e.members
              if re.fullmatch(r"ground_[a-o]", mem.id)}
    used = {g for found in _GROUNDS.finditer(text) for g in _listed(found)}
    return [GlossaryEntry(f"ground {g}", f"{labels[g]} (SI 2024/208 reg 9(1)({g.lower()}))")
            for g in sorted(used) if g in labels]
