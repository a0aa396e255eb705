"""One output row per (pupil, required action or violation), ordered by urgency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from cme_policy.ir import model as m
from cme_policy.runtime.results import DONE, DUE, OVERDUE, VIOLATED, PupilResult

URGENCY = {OVERDUE: 0, VIOLATED: 1, DUE: 2, DONE: 3}
FIELDS = ("upn", "source", "id", "state", "action", "role", "due", "status", "clauses",
          "statute")


class Row(NamedTuple):
    """Immutable, and a named tuple rather than a dataclass because a large run ships every
    row from its screening workers: a tuple pickles in a third of the time."""

    upn: str
    source: str  # rule | procedure
    id: str
    state: str
    action: str
    role: str
    due: dt.date | None
    status: str
    clauses: str
    statute: str

    def cells(self) -> tuple[str, ...]:
        """The row as text, in FIELDS order (what CSV writes)."""
        return (self.upn, self.source, self.id, self.state, self.action, self.role,
                self.due.isoformat() if self.due else "", self.status, self.clauses,
                self.statute)

    def values(self) -> dict[str, str]:
        return dict(zip(FIELDS, self.cells()))

    def sort_key(self) -> tuple[int, dt.date, str, str, str]:
        """Where the row goes in the action list: most urgent first, then earliest due."""
        return (URGENCY.get(self.status, 9), self.due or dt.date.max, self.upn, self.id,
                self.action)

    def order(self) -> str:
        """`sort_key` as one string that sorts the same way (made by the screening workers,
        so the run only compares strings): the UPN and the id hold no NUL, and the action,
        which may hold anything, comes last."""
        return (f"{URGENCY.get(self.status, 9)}{(self.due or dt.date.max).toordinal():07d}"
                f"{self.upn}\x00{self.id}\x00{self.action}")


def rows_for(result: PupilResult, statutes: dict[str, str]) -> list[Row]:
    """Actions from rules and cases, then every violation as a row of status `violated`.

    `statutes` is `statutes_of(policy)`, worked out once per run, not once per pupil.
    """
    out = [Row(result.upn, a.source, a.source_id, a.state or "", a.action, a.role or "", a.due,
               a.status, " ".join(a.clauses), a.statute or statutes.get(a.source_id, ""))
           for a in result.actions]
    out += [Row(result.upn, v.source, v.procedure, v.state or "", v.message, "", v.date,
                VIOLATED, " ".join(v.clauses), statutes.get(v.procedure, ""))
            for v in result.all_violations]
    return out


def statutes_of(policy: m.Policy) -> dict[str, str]:
    """Rule or procedure id -> the statutory source its rows cite."""
    found = {r.id: r.source for r in policy.rules if r.source}
    for p in policy.procedures:
        sources = sorted({i.source for i in p.invariants if i.source})
        if sources:
            found[p.id] = "; ".join(sources)
    return found


@dataclass
class Summary:
    pupils_in: int = 0
    pupils_screened: int = 0
    pupils_skipped: int = 0
    actions_due: int = 0
    actions_overdue: int = 0
    actions_done: int = 0
    violations: int = 0

    def add(self, statuses: Iterable[str]) -> None:
        """Count rows by their status."""
        for status in statuses:
            if status == DUE:
                self.actions_due += 1
            elif status == OVERDUE:
                self.actions_overdue += 1
            elif status == DONE:
                self.actions_done += 1
            else:
                self.violations += 1

    def lines(self) -> list[str]:
        return [
            f"pupils: {self.pupils_in} in the pupils file, {self.pupils_screened} screened, "
            f"{self.pupils_skipped} skipped (invalid rows)"
            + ("" if self.reconciles else "  ← DOES NOT RECONCILE"),
            f"actions: {self.actions_overdue} overdue, {self.actions_due} due, "
            f"{self.actions_done} done; violations: {self.violations}",
        ]

    @property
    def reconciles(self) -> bool:
        return self.pupils_in == self.pupils_screened + self.pupils_skipped
