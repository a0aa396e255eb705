"""Runtime inputs: the pupils file (`upn,date_of_birth,admission_date[,…][,fact…]`)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cme_policy.runtime.inputs.common import (
    DATE_HINT,
    PUPIL_REQUIRED,
    ErrorList,
    FactSpec,
    FileRead,
    InputSchema,
    PathLike,
    ReadCounts,
    check_upn,
    parse_date,
    suggest,
)
from cme_policy.runtime.inputs.csvfile import CsvFile, check_bytes, width_error
from cme_policy.runtime.pupil import FactValue, Pupil

__all__ = ["PupilsRead", "read_pupils"]

_URN = re.compile(r"[0-9]{6}\Z")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


@dataclass(kw_only=True)
class PupilsRead(FileRead):
    """The pupils file: valid pupils by UPN, every error, and the counts."""

    pupils: dict[str, Pupil]


def _fact(spec: FactSpec, raw: str) -> tuple[FactValue, str, str]:
    """A pupils-file value as the fact's type: (value, error message, hint)."""
    s = raw.strip()
    t = spec.type_name
    try:
        if spec.members:
            if s in spec.members:
                return s, "", ""
            return None, f"{spec.name} {s!r} is not one of the policy's values", \
                suggest(s, spec.members, "use one of")
        if t == "date":
            return parse_date(s), "", ""
        if t == "bool":
            if s.lower() in _TRUE or s.lower() in _FALSE:
                return s.lower() in _TRUE, "", ""
            return None, f"{spec.name} {s!r} is not true or false", "write true or false"
        if t == "int":
            return int(s), "", ""
        if t == "percent":
            return Decimal(s.rstrip("%").strip()), "", ""
    except (ValueError, InvalidOperation) as exc:
        hint = DATE_HINT if t == "date" else f"write a value of type {t}"
        return None, f"{spec.name}: {exc}" if t == "date" else \
            f"{spec.name} {s!r} is not a valid {t}", hint
    return s, "", ""


def _standard_specs(schema: InputSchema) -> dict[str, FactSpec]:
    """The standard columns, typed by the policy's fact when it declares one of that name."""
    specs = {
        "date_of_birth": FactSpec("date_of_birth", "date"),
        "admission_date": FactSpec("admission_date", "date"),
        "leaving_date": FactSpec("leaving_date", "date"),
        "destination": FactSpec("destination", "destination", schema.destinations),
        "receiving_school_urn": FactSpec("receiving_school_urn", "urn"),
    }
    specs.update(schema.facts)
    return specs


def read_pupils(path: PathLike, schema: InputSchema, *, error_limit: int | None = 10_000,
                columns: Mapping[str, str] | None = None) -> PupilsRead:
    """Read the pupils file. Facts: every non-empty standard column and declared pupil fact.

    `columns` maps a standard column (or fact) to the heading the file uses for it; other
    columns are ignored, and listed in a note. A file with no pupil at all is an error.
    """
    errors = ErrorList(os.fspath(path), error_limit)
    counts = ReadCounts()
    pupils: dict[str, Pupil] = {}
    first_line: dict[str, int] = {}
    specs = _standard_specs(schema)
    src = CsvFile(path, errors)
    try:
        header = src.header("pupils", schema.columns("pupils"), PUPIL_REQUIRED, columns or {})
        if header is None:
            return PupilsRead(pupils=pupils, counts=counts, **errors.outcome())
        cols, width = header.cols, header.width
        used = list(cols.values())
        upn_at = cols["upn"]
        fact_cols = [(specs[n], i) for n, i in cols.items() if n != "upn"]
        seen: dict[tuple[str, str], tuple[FactValue, str, str]] = {}
        """(fact, text) -> what `_fact` made of it: dates and flags repeat down a file."""
        for row in src.rows():
            counts.rows_read += 1
            line = src.line
            if row is None or len(row) != width:
                if row is not None:
                    width_error(errors, line, row, width)
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            before = errors.count
            if not check_bytes(errors, line, row, used):
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            raw_upn = row[upn_at]
            upn, message, hint = check_upn(raw_upn)
            if upn is None:
                errors.add(line, upn_at + 1, message, hint)
            elif upn in first_line:
                errors.add(line, upn_at + 1,
                           f"the same UPN is on line {first_line[upn]} as well",
                           "a pupil must have one row; remove or merge the duplicate")
            facts: dict[str, FactValue] = {}
            for spec, i in fact_cols:
                raw = row[i]
                if not raw.strip():
                    if spec.name in PUPIL_REQUIRED:
                        errors.add(line, i + 1, f"{spec.name} is empty", DATE_HINT)
                    continue
                if spec.type_name == "urn":
                    if _URN.match(raw.strip()):
                        facts[spec.name] = raw.strip()
                    else:
                        errors.add(line, i + 1, f"receiving_school_urn {raw!r} is not a URN",
                                   "a URN is the school's 6-digit unique reference number")
                    continue
                parsed = seen.get((spec.name, raw))
                if parsed is None:
                    parsed = seen[spec.name, raw] = _fact(spec, raw)
                value, message, hint = parsed
                if message:
                    errors.add(line, i + 1, message, hint)
                else:
                    facts[spec.name] = value
            _cross_checks(errors, line, facts, cols)
            if errors.count > before or upn is None:
                counts.rows_invalid += 1
                counts.pupils_skipped += 1
                continue
            first_line[upn] = line
            pupils[upn] = Pupil(upn, facts)
        counts.pupils_read = len(pupils)
        if not pupils:
            what = ("has a header but no pupils" if not counts.rows_read
                    else f"has no valid pupil (all {counts.rows_read} rows have errors)")
            errors.add(1, None, f"the pupils file {what}",
                       "export every pupil on roll (one row each): nothing can be screened"
                       " without them", whole_file=True)
    finally:
        src.close()
    return PupilsRead(pupils=pupils, counts=counts, **errors.outcome())


def _cross_checks(errors: ErrorList, line: int, facts: Mapping[str, FactValue],
                  cols: Mapping[str, int]) -> None:
    """Dates in order; a destination only for a pupil who left."""
    admitted, left = facts.get("admission_date"), facts.get("leaving_date")
    born = facts.get("date_of_birth")
    if isinstance(admitted, dt.date) and isinstance(left, dt.date) and left < admitted:
        errors.add(line, cols["leaving_date"] + 1,
                   f"leaving_date {left} is before admission_date {admitted}",
                   "check both dates in the MIS")
    if isinstance(born, dt.date) and isinstance(admitted, dt.date) and admitted <= born:
        errors.add(line, cols["admission_date"] + 1,
                   f"admission_date {admitted} is not after date_of_birth {born}",
                   "check both dates in the MIS")
    if facts.get("destination") is not None and left is None and "destination" in cols:
        errors.add(line, cols["destination"] + 1,
                   "a destination is given but no leaving_date",
                   "a destination belongs to a pupil who left: give the leaving date too")
