"""Analyse stage: the types of the expression language, with units as part of the type."""

from __future__ import annotations

from dataclasses import dataclass

from cme_policy.expr.ast import Unit


@dataclass(frozen=True, slots=True)
class Prim:
    name: str  # bool | int | percent | date

    def __str__(self) -> str:
        return {"bool": "true/false", "int": "a whole number", "percent": "a percentage",
                "date": "a date"}[self.name]


@dataclass(frozen=True, slots=True)
class DurationT:
    unit: Unit

    def __str__(self) -> str:
        return f"a duration in {self.unit.value}"


@dataclass(frozen=True, slots=True)
class EnumT:
    name: str

    def __str__(self) -> str:
        return f"a {self.name}"


@dataclass(frozen=True, slots=True)
class SetT:
    elem: Type

    def __str__(self) -> str:
        return f"a set of {str(self.elem).removeprefix('a ')}"


Type = Prim | DurationT | EnumT | SetT
BOOL = Prim("bool")
INT = Prim("int")
PERCENT = Prim("percent")
DATE = Prim("date")
PRIMITIVES = {"bool": BOOL, "int": INT, "percent": PERCENT, "date": DATE}
ORDERED = (INT, PERCENT, DATE)

# Conversions with a fixed factor; school days ↔ days depends on the calendar, so none exists.
CONVERSIONS: dict[tuple[Unit, Unit], int] = {
    (Unit.WEEKS, Unit.DAYS): 7,
    (Unit.YEARS, Unit.MONTHS): 12,
    (Unit.SCHOOL_DAYS, Unit.SESSIONS): 2,
}


def type_from_name(name: str, enums: set[str]) -> Type | None:
    """A declared type name (`bool`, `date`, `school days`, an enum id) → its type."""
    if name in PRIMITIVES:
        return PRIMITIVES[name]
    if name in enums:
        return EnumT(name)
    try:
        return DurationT(Unit.parse(name.replace("_", " ")))
    except ValueError:
        return None
