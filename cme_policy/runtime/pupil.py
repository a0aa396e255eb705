"""Runtime inputs: a pupil's facts and the case log of what staff did."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

FactValue = bool | int | Decimal | dt.date | str | None


@dataclass(frozen=True, slots=True)
class Pupil:
    """One pupil: a UPN (never printed to logs) and the facts the pupils file gives."""

    upn: str
    facts: Mapping[str, FactValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, order=True)
class CaseEvent:
    """One row of the case log: on `date`, `role` recorded `event` for the pupil."""

    date: dt.date
    event: str
    role: str | None = None
