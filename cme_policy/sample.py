"""A synthetic school (or local authority) to try `cme-policy run` on: `cme-policy sample`.

`generate_sample(policy, out_dir, pupils=N, seed=S)` writes four files that the readers in
`cme_policy.runtime.readers` accept with no errors:

- `pupils.csv` — synthetic pupils only (UPNs with correct check letters, real LA numbers) of
  an all-through school, Reception (aged 4 on 1 September) to Year 11; pupils on roll before
  this year were admitted in an earlier year, Reception starters on the first day of this
  one; the pupil facts the policy declares and the stories need (`has_cp_file`, ...);
- `calendar.yaml` — a copy of the policy's calendar file;
- `marks.csv` — one academic year of AM/PM marks;
- `events.csv` — each pupil's case log, using only events the policy declares.

The sample is shaped for one screening date, its *reference date* (`reference_date`: the end
of the term holding the year's middle school day, 13 February 2026 for the bundled
calendar, the date `make build` screens on). Every story below happens by then; N codes are
replaced within days as in a real register, so only the last few school days before the
reference date still hold N (apart from the labelled `n_not_replaced` pupils). After the
reference date the marks of pupils still on roll run on, as plain attendance, to the end of
the year (a benchmark can screen a whole year), except that pupils absent and being
looked for on the reference date have no marks after it.

Pupils come in classes, named in `SampleSummary.patterns`. They are dealt from a shuffled
deck of `DECK_SIZE` cards (`PATTERNS` gives each class's cards), so every class appears in
any sample of at least `DECK_SIZE` pupils and the shares hold for large ones:

- background: `good` attenders, `persistent_absence` (10-30% missed, some of it
  unauthorised), `severe_absence` (50%+), `illness_runs`, `n_recent` (an N in the last days,
  parents called);
- stories handled by the book: Reception pupils not of compulsory school age, one turning 5
  during the year, a sickness episode followed weeks later by continuous absence, leave of
  absence with a return on time and one not returned within 10 school days (ground H),
  continuous absence with joint enquiries begun early and a lawful removal (ground I), a
  pupil located, a pupil admitted and never present, leavers to another school (with and
  without a child protection file, in year and at a new term), to home education and to an
  unknown destination (the LA told, the pupil kept on roll), new pupils with the new-pupil
  return made;
- deliberate missed steps, few and each its own class (`MISSED_STEPS`), so that a run shows
  the tool finding them.

Besides each story's own events, the school follows up everyone's attendance as the policy
asks: parents called on a day coded N, the headteacher considering the pattern whenever the
penalty-notice threshold is crossed, support agreed for persistent and a plan for severe
absence (usually), and pupils put on the autumn absence and sickness returns.

The same policy, size, seed and reference date always give byte-identical files. Rows are
written as they are made, so 100,000 pupils take memory for one pupil at a time.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from stdnum.gb import upn as stdnum_upn

from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar
from cme_policy.runtime.school_age import (
    compulsory_school_age_end,
    compulsory_school_age_start,
)

__all__ = ["DECK_SIZE", "MISSED_STEPS", "PATTERNS", "SampleSummary", "generate_sample",
           "make_upn", "reference_date", "sample_main"]

BUNDLED_POLICY = Path(__file__).resolve().parents[1] / "policy"

LA_NUMBERS = (856, 856, 856, 856, 855, 857)
"""Leicester City (856) mostly, some Leicestershire (855) and Rutland (857) UPNs."""

_BUFFER = 1 << 20

# The bundled policy's figures (policy/parameters.yaml) that the school's follow-up of
# attendance keys on: the penalty-notice threshold (10 unauthorised sessions in a rolling
# 50 school days), persistent and severe absence (10%, 50%), the absence and sickness
# returns (10 and 15 school days), the four-week missing-education check.
_PENALTY_SESSIONS, _PENALTY_WINDOW = 10, 50
_PERSISTENT, _SEVERE = 10, 50  # percent
_ABSENCE_RETURN_DAYS, _SICKNESS_RETURN_DAYS = 10, 15
_SUBSTANTIAL_DAYS = 28

_PRESENT = frozenset({"/", "\\", "L", "K", "V", "P", "W", "B"})
_UNAUTHORISED = frozenset({"G", "N", "O", "U"})
_ABSENT = frozenset({"C1", "M", "J1", "S", "C2", "C", "T", "R", "I", "E", "G", "N", "O", "U"})


def make_upn(la: int, estab: int, year: int, serial: int) -> str:
    """A permanent UPN: check letter (computed by stdnum) + LA + school + year + serial."""
    body = f"{la:03d}{estab:04d}{year:02d}{serial:03d}"
    return stdnum_upn.calc_check_digit(body) + body


def _upn(i: int, rng: random.Random) -> str:
    """Pupil i's UPN: unique for i < 10**8 whatever LA number the generator picks."""
    return make_upn(rng.choice(LA_NUMBERS), 2000 + i // 100_000, (i // 1000) % 100, i % 1000)


def reference_date(calendar: SchoolCalendar) -> dt.date:
    """The date a sample is shaped for: the last school day of the term that holds the middle
    school day of the calendar's first academic year (13 February 2026 for the bundled one)."""
    year = calendar.years[0]
    days = list(calendar.school_days(year.start, year.end))
    middle = days[len(days) // 2]
    term = next((t for t in year.terms if t.contains(middle)), None)
    end = term.end if term is not None else middle
    return days[bisect.bisect_right(days, end) - 1]


@dataclass(frozen=True)
class _Kind:
    """A class of pupil: cards per deck, the events, destination and pupil facts it needs."""

    cards: int
    events: tuple[str, ...] = ()
    destination: str | None = None
    facts: tuple[str, ...] = ()
    missed: bool = False


_CME_EVENTS = ("joint_enquiries_started", "enquiries_failed", "la_notified", "removed_from_roll",
               "la_informed_of_missing_destination", "ctf_sent")
_TO_SCHOOL = ("registration_confirmed", "ctf_sent", "leaving_case_closed")
_CP = ("cp_file_sent", "cp_file_receipt_confirmed")

PATTERNS: dict[str, _Kind] = {
    # background
    "good": _Kind(51),
    "persistent_absence": _Kind(13),
    "severe_absence": _Kind(3),
    "illness_runs": _Kind(5),
    "n_recent": _Kind(3, ("parents_contacted",)),
    # stories handled by the book
    "reception_not_compulsory_age": _Kind(2),
    "reception_turning_five": _Kind(1, ("penalty_notice_considered",)),
    "sickness_then_unexplained_absence": _Kind(
        1, ("sickness_reported", "joint_enquiries_started", "cme_officer_contacted")),
    "leave_returned_on_time": _Kind(1, ("leave_of_absence_ended",)),
    "leave_not_returned_ground_h": _Kind(1, ("leave_of_absence_ended",) + _CME_EVENTS, "unknown"),
    "cme_removed_properly": _Kind(1, _CME_EVENTS, "unknown"),
    "cme_located": _Kind(1, ("joint_enquiries_started", "pupil_located")),
    "admitted_never_present": _Kind(
        1, ("new_pupil_return_made", "joint_enquiries_started", "cme_officer_contacted")),
    "leaver_another_school": _Kind(2, _TO_SCHOOL, "another_school"),
    "leaver_another_school_cp_file": _Kind(1, _TO_SCHOOL + _CP, "another_school",
                                           ("has_cp_file",)),
    "leaver_cp_file_new_term": _Kind(1, _TO_SCHOOL + _CP, "another_school",
                                     ("has_cp_file", "joins_at_new_term", "new_term_start")),
    "leaver_home_education": _Kind(2, ("written_home_education_notice",
                                       "home_education_service_notified", "removed_from_roll"),
                                   "home_education"),
    "leaver_unknown_la_informed": _Kind(1, ("la_informed_of_missing_destination",), "unknown"),
    "new_pupil": _Kind(3, ("new_pupil_return_made",)),
    # deliberate missed steps
    "n_not_replaced": _Kind(1, missed=True),
    "cme_removed_before_la_notified": _Kind(1, _CME_EVENTS[:2] + _CME_EVENTS[3:], "unknown",
                                            missed=True),
    "cme_enquiries_not_begun": _Kind(1, missed=True),
    "leaver_unknown_removed_unlawfully": _Kind(1, ("removed_from_roll",
                                                   "la_informed_of_missing_destination",
                                                   "ctf_sent"), "unknown", missed=True),
    "ctf_late": _Kind(1, _TO_SCHOOL, "another_school", missed=True),
    "new_pupil_return_missed": _Kind(1, missed=True),
}
"""Every class of pupil, with its cards in a deck of `DECK_SIZE`."""

MISSED_STEPS = frozenset(name for name, kind in PATTERNS.items() if kind.missed)
"""The classes that are deliberate missed steps, each documented in the bundled README:
`n_not_replaced` (an N months old, never replaced), `cme_removed_before_la_notified`
(removed under ground I with no deletion return), `cme_enquiries_not_begun` (22-23 school
days absent, parents called, nothing else), `leaver_unknown_removed_unlawfully` (removed on the
day the family left, with no ground), `ctf_late` (the common transfer file sent after 15
school days), `new_pupil_return_missed`."""

DECK_SIZE = sum(kind.cards for kind in PATTERNS.values())

_FACT_COLUMNS = ("joined_junior_class_at_year_start", "has_cp_file", "joins_at_new_term",
                 "new_term_start")
"""Pupil facts the stories fill in, written as columns when the policy declares them."""


@dataclass
class SampleSummary:
    """What was written, so the caller can print it and tests can check it."""

    out_dir: Path
    pupils: int
    school_days: int
    as_of: dt.date | None = None
    mark_rows: int = 0
    event_rows: int = 0
    patterns: Counter[str] = field(default_factory=Counter)
    skipped_patterns: tuple[str, ...] = ()

    def describe(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.patterns.items()))
        missed = ", ".join(sorted(k for k in self.patterns if k in MISSED_STEPS))
        text = (f"wrote {self.out_dir}: {self.pupils} pupils, {self.school_days} school days, "
                f"{self.mark_rows} marks, {self.event_rows} events ({kinds})")
        if self.as_of is not None:
            text += f"; shaped for screening as of {self.as_of.isoformat()}"
        if missed:
            text += f"; deliberate missed steps: {missed}"
        if self.skipped_patterns:
            text += "; skipped (events or facts missing from the policy): " + \
                ", ".join(self.skipped_patterns)
        return text


class _Writer:
    """Marks rows for one pupil, built by joining precomputed `,date,session,code` pieces."""

    def __init__(self, days: Sequence[dt.date]) -> None:
        self.days = days
        self.keys = [f",{d.isoformat()},{s}," for d in days for s in ("AM", "PM")]
        self._by_code: dict[str, list[str]] = {}
        self.present_codes = ["/" if i % 2 == 0 else "\\" for i in range(len(self.keys))]
        self.present = [k + c for k, c in zip(self.keys, self.present_codes)]

    def pieces(self, code: str) -> list[str]:
        found = self._by_code.get(code)
        if found is None:
            found = self._by_code[code] = [k + code for k in self.keys]
        return found

    def block(self, upn: str, parts: list[str], lo: int, hi: int) -> str:
        """Rows for sessions [lo, hi) as one string (empty when there are none)."""
        if lo >= hi:
            return ""
        sep = "\n" + upn
        return upn + sep.join(parts[lo:hi]) + "\n"


class _NoRoom(Exception):
    """The calendar (or the reference date) leaves no room for a story: draw a good attender."""


class _School:
    """The year, the reference date and what the policy declares, shared by every pupil."""

    def __init__(self, policy: Policy, calendar: SchoolCalendar, as_of: dt.date | None) -> None:
        self.calendar = calendar
        year = calendar.years[0]
        self.year = year
        self.days = list(calendar.school_days(year.start, year.end))
        self.n = len(self.days)
        self.ref = as_of if as_of is not None else reference_date(calendar)
        self.r = bisect.bisect_right(self.days, self.ref) - 1
        if self.r < 0:
            raise ValueError(f"the reference date {self.ref} is before the first school day")
        self.y0 = year.start.year
        december = [i for i, d in enumerate(self.days[:self.r + 1]) if d.month == 12]
        self.autumn_return = december[-1] if december else None
        """The autumn absence and sickness returns: the last school day in December."""
        self.known = {e.id: e.role for e in policy.events}
        self.writer = _Writer(self.days)
        fact = next((f for f in policy.facts if f.id == "destination"), None)
        enum = next((e for e in policy.enums if fact is not None and e.id == fact.type_name),
                    None)
        self.destinations = {m.id for m in enum.members} if enum is not None else set()
        declared = {f.id for f in policy.facts if f.origin == "pupils"}
        self.columns = tuple(c for c in _FACT_COLUMNS if c in declared)

    def usable(self, kind: _Kind) -> bool:
        return all(e in self.known for e in kind.events) \
            and (kind.destination is None or kind.destination in self.destinations) \
            and all(f in self.columns for f in kind.facts)

    def day(self, i: int) -> dt.date:
        return self.days[max(0, min(i, self.n - 1))]

    def index(self, d: dt.date) -> int:
        """The school day on or after d (as an index, possibly n)."""
        return bisect.bisect_left(self.days, d)


def _randint(rng: random.Random, lo: int, hi: int) -> int:
    if hi < lo:
        raise _NoRoom
    return rng.randint(lo, hi)


class _Pupil:
    """One pupil being drawn: register facts, marks (codes and CSV pieces), case log."""

    def __init__(self, school: _School, upn: str, born: dt.date, admitted: dt.date) -> None:
        self.school = school
        self.upn = upn
        self.born = born
        self.admitted = admitted
        self.left: dt.date | None = None
        self.destination: str | None = None
        self.urn: str | None = None
        self.pattern = "good"
        self.facts: dict[str, str] = {}
        self.events: list[tuple[dt.date, str]] = []
        self.first = 0
        self.last = school.n - 1
        self.off_roll_at_ref = False
        self.missing = False
        """Absent and being looked for on the reference date."""
        self.codes = list(school.writer.present_codes)
        self.parts = list(school.writer.present)

    # marks ----------------------------------------------------------------------------------
    def mark(self, lo: int, hi: int, code: str | Callable[[], str]) -> None:
        """Give whole school days [lo, hi) a code (or a code per session)."""
        pieces = self.school.writer.pieces
        for s in range(max(2 * lo, 0), min(2 * hi, 2 * self.school.n)):
            c = code if isinstance(code, str) else code()
            self.codes[s] = c
            self.parts[s] = pieces(c)[s]

    def present(self, d: int) -> None:
        """School day d back to plain attendance."""
        if 0 <= d < self.school.n:
            w = self.school.writer
            self.codes[2 * d:2 * d + 2] = w.present_codes[2 * d:2 * d + 2]
            self.parts[2 * d:2 * d + 2] = w.present[2 * d:2 * d + 2]

    def day_codes(self, d: int) -> tuple[str, str]:
        return self.codes[2 * d], self.codes[2 * d + 1]

    def last_present(self, before: int) -> int:
        """The last school day before `before` with a session present, else the first marked."""
        for d in range(before - 1, self.first - 1, -1):
            am, pm = self.day_codes(d)
            if am in _PRESENT or pm in _PRESENT:
                return d
        return self.first

    # case log -------------------------------------------------------------------------------
    def log(self, d: int | dt.date, event: str) -> None:
        """Log an event (on school day d, or a date) if the policy declares it."""
        if event in self.school.known:
            when = self.school.day(d) if isinstance(d, int) else d
            self.events.append((when, event))

    def sorted_events(self) -> list[tuple[dt.date, str]]:
        """By date, same-day events in log order, each (date, event) once."""
        seen: set[tuple[dt.date, str]] = set()
        out = []
        for item in sorted(self.events, key=lambda e: e[0]):
            if item not in seen:
                seen.add(item)
                out.append(item)
        return out


# -- drawing pupils ------------------------------------------------------------------------------


def _born(school: _School, rng: random.Random, group: int) -> dt.date:
    """A date of birth in year group `group` (0 = Reception: 4 on 1 September)."""
    lo = dt.date(school.y0 - 5 - group, 9, 1)
    hi = dt.date(school.y0 - 4 - group, 8, 31)
    return lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


def _weekday_on_or_after(d: dt.date) -> dt.date:
    return d + dt.timedelta(days=max(0, 7 - d.weekday()) if d.weekday() >= 5 else 0)


def _weekday_within(rng: random.Random, d: dt.date, lo: int, hi: int) -> dt.date:
    """A weekday from d + lo to d + hi days (d + lo if none is): an office day, in or out
    of term."""
    days = [d + dt.timedelta(days=k) for k in range(lo, hi + 1)]
    return rng.choice([x for x in days if x.weekday() < 5] or days[:1])


def _on_roll_before(school: _School, rng: random.Random, p: _Pupil, group: int) -> None:
    """Admitted in an earlier year: to Reception in September, or later in an earlier year."""
    if group == 0:
        p.admitted = school.days[0]
        p.facts["joined_junior_class_at_year_start"] = "yes"
        return
    start = _weekday_on_or_after(dt.date(school.y0 - group, 9, 3))
    p.admitted = start
    if rng.random() < 0.25:
        end = dt.date(school.y0 - 1, 12, 31)
        p.admitted = _weekday_on_or_after(start + dt.timedelta(
            days=rng.randrange(max(1, (end - start).days - 3))))


def _scatter(rng: random.Random, p: _Pupil, share: float, codes: Sequence[str],
             weights: Sequence[float]) -> None:
    """Absent on about `share` of the pupil's school days: whole days, codes by weight."""
    for day in range(p.first, p.last + 1):
        if rng.random() < share:
            p.mark(day, day + 1, rng.choices(codes, weights)[0])


def _break_long_absences(p: _Pupil, longest: int = 8) -> None:
    """Background pupils come in at least every `longest` school days: no long runs."""
    run = 0
    codes = p.codes
    for d in range(p.first, p.last + 1):
        run = 0 if codes[2 * d] in _PRESENT or codes[2 * d + 1] in _PRESENT else run + 1
        if run > longest:
            p.present(d)
            run = 0


_GOOD = (("I", "M", "L", "R", "O"), (6, 2, 3, 0.5, 0.3))
_AUTHORISED_ONLY = (("I", "M", "L"), (6, 2, 3))


def _background(school: _School, rng: random.Random, p: _Pupil, kind: str) -> None:
    """The everyday attendance of a background pupil (and the base of every story)."""
    if kind == "persistent_absence":
        _scatter(rng, p, rng.uniform(0.10, 0.30), ("I", "O", "G", "M", "U", "C"),
                 (5, 3, 1, 1, 1, 0.5))
        if rng.random() < 0.3:  # an unauthorised week's holiday in term time
            d = _randint(rng, p.first, max(p.first, school.r - 5))
            p.mark(d, d + 5, "G")
    elif kind == "severe_absence":
        _scatter(rng, p, rng.uniform(0.5, 0.75), ("O", "I", "G"), (5, 2, 1))
    elif kind == "illness_runs":
        _scatter(rng, p, 0.02, *_GOOD)
        for _ in range(rng.randint(1, 3)):
            d = _randint(rng, p.first, p.last)
            length = rng.randint(3, 8)
            if length >= 5 and d <= school.r and "I" not in p.day_codes(d):
                p.log(d, "sickness_reported")  # a parent's report of a longer illness
            p.mark(d, d + length, "I")
    else:
        _scatter(rng, p, 0.03, *_GOOD)
    _break_long_absences(p)


def _draw(school: _School, rng: random.Random, upn: str, kind: str) -> _Pupil:
    """One pupil of class `kind` (story or background), marks and case log."""
    group = rng.randint(1, 11)
    p = _Pupil(school, upn, _born(school, rng, group), school.days[0])
    p.pattern = kind
    story = _STORIES.get(kind)
    if story is None:
        if rng.random() < 1 / 12:  # Reception pupils among the background
            group = 0
            p.born = _born(school, rng, 0)
        _on_roll_before(school, rng, p, group)
        _background(school, rng, p, kind)
        if kind == "n_recent":
            _n_recent(school, rng, p)
    else:
        _on_roll_before(school, rng, p, group)
        story(school, rng, p)
    _follow_up(school, rng, p)
    return p


# -- the school's routine follow-up of attendance ----------------------------------------------


def _follow_up(school: _School, rng: random.Random, p: _Pupil) -> None:
    """What a school does with everyone's attendance, up to the reference date: parents
    called on a day coded N; the headteacher considers the pattern (and a penalty notice)
    on the day the threshold is crossed (10 unauthorised sessions in 50 school days, only
    those since the pupil reached compulsory school age counting); support and a
    severe-absence plan agreed a few days after the share passes 10% / 50% (usually, and
    not for a pupil being looked for); the autumn absence and sickness returns for pupils of
    compulsory school age over the thresholds by then."""
    last = min(school.r, p.last)
    if last < p.first:
        return
    csa = (compulsory_school_age_start(p.born), compulsory_school_age_end(p.born))
    unauthorised = [0] * school.n
    absent = possible = ill_days = unauth_days = 0
    crossed = False
    below = {_PERSISTENT: p.first - 1, _SEVERE: p.first - 1}
    window = 0
    codes = p.codes
    for d in range(p.first, last + 1):
        am, pm = codes[2 * d], codes[2 * d + 1]
        if "N" in (am, pm):
            p.log(d, "parents_contacted")
        u = (am in _UNAUTHORISED) + (pm in _UNAUTHORISED)
        of_age = csa[0] <= school.days[d] <= csa[1]
        unauthorised[d] = u if of_age else 0  # sessions before compulsory school age: no
        window += unauthorised[d] - (unauthorised[d - _PENALTY_WINDOW]
                                     if d >= _PENALTY_WINDOW else 0)
        now = window >= _PENALTY_SESSIONS and of_age
        if now and not crossed:
            p.log(d, "penalty_notice_considered")
        crossed = now
        absent += (am in _ABSENT) + (pm in _ABSENT)
        possible += 2
        for share in below:
            if 100 * absent < share * possible:
                below[share] = d
        ill_days += "I" in (am, pm)
        unauth_days += u > 0
        if d == school.autumn_return and of_age:
            if unauth_days >= _ABSENCE_RETURN_DAYS:
                p.log(d, "absence_return_made")
            if ill_days >= _SICKNESS_RETURN_DAYS:
                p.log(d, "sickness_return_made")
    if p.last < school.r or p.off_roll_at_ref or p.missing:
        return  # no support to agree with a family the school cannot find
    diligence = rng.random()  # a plan for severe absence comes with support agreed
    for share, event, chance in ((_PERSISTENT, "attendance_support_agreed", 0.8),
                                 (_SEVERE, "severe_absence_plan_agreed", 0.7)):
        onset = below[share] + 1
        if onset <= school.r - 5 and 100 * absent >= share * possible and diligence < chance:
            p.log(min(school.r, max(onset, 10) + rng.randint(2, 5)), event)


# -- background extras ---------------------------------------------------------------------------


def _n_recent(school: _School, rng: random.Random, p: _Pupil) -> None:
    """An N (reason not yet established) in the last days before the reference date."""
    r = school.r
    for d in range(max(p.first, r - 5), r + 1):
        p.present(d)
    days = rng.choice([(r,), (r - 1, r), (r - 2,), (r - 3,), (r - 3, r - 2)])
    for d in days:
        p.mark(d, d + 1, "N")


# -- stories -----------------------------------------------------------------------------------


def _reception(school: _School, rng: random.Random, p: _Pupil, lo: dt.date,
               hi: dt.date) -> None:
    p.born = lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))
    _on_roll_before(school, rng, p, 0)


def _reception_not_compulsory_age(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Aged 4 all year (fifth birthday April-August): absence, even unauthorised, is not a
    matter for penalty notices or the LA's absence return."""
    _reception(school, rng, p, dt.date(school.y0 - 4, 4, 1), dt.date(school.y0 - 4, 8, 31))
    if compulsory_school_age_start(p.born) <= school.ref:
        raise _NoRoom
    _scatter(rng, p, rng.uniform(0.05, 0.1), ("I", "O", "M"), (4, 2, 1))
    d = _randint(rng, max(1, school.r - 40), school.r - 6)  # a week's holiday, 10 sessions G
    p.mark(d, d + 5, "G")
    _break_long_absences(p)


def _reception_turning_five(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Fifth birthday in the autumn: of compulsory school age from 31 December. Two days
    unauthorised early in the autumn term (not yet of compulsory school age, and long before
    the 50-day penalty window), a week's unauthorised holiday in the spring term (the
    headteacher considers a penalty notice)."""
    _reception(school, rng, p, dt.date(school.y0 - 5, 9, 1), dt.date(school.y0 - 5, 12, 20))
    start = compulsory_school_age_start(p.born)
    if not school.days[0] < start < school.ref:
        raise _NoRoom
    _scatter(rng, p, 0.03, *_AUTHORISED_ONLY)
    d = _randint(rng, 3, min(school.index(start), school.r - _PENALTY_WINDOW) - 3)
    p.mark(d, d + 2, "O")
    h = _randint(rng, max(school.index(start), school.r - 30), school.r - 6)
    p.mark(h, h + 5, "G")
    _break_long_absences(p)


def _run_of_absence(school: _School, p: _Pupil, d0: int, end: int,
                    code: str | Callable[[], str] = "O") -> None:
    """Absent every session from d0 to end (inclusive), having attended the day before; an N
    on the reference date itself if the run reaches it (not yet replaced)."""
    p.present(d0 - 1)
    p.mark(d0, end + 1, code)
    if end == school.r:
        p.mark(end, end + 1, "N")
    p.log(d0, "parents_contacted")


def _cme_officer(school: _School, p: _Pupil, end: int) -> None:
    """Four weeks out of school by `end`: the headteacher contacts the LA's CME officer."""
    anchor = school.days[p.last_present(end + 1)]
    onset = school.index(anchor + dt.timedelta(days=_SUBSTANTIAL_DAYS))
    if onset <= end:
        p.log(onset, "cme_officer_contacted")


def _sickness_then_unexplained_absence(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Off sick for a week in the autumn (reported: grounds to believe sickness), back at
    school, then weeks later continuously absent with no reason: the sickness report does not
    cover this absence, so ground I and the four-week check apply. Joint enquiries from day
    14; still under way on the reference date."""
    _background(school, rng, p, "good")
    ill = _randint(rng, 10, 50)
    p.mark(ill, ill + rng.randint(4, 6), "I")
    p.log(ill, "sickness_reported")
    length = rng.randint(24, 27)
    d0 = school.r - length + 1
    if d0 < ill + 20:
        raise _NoRoom
    _run_of_absence(school, p, d0, school.r)
    p.missing = True
    p.last = school.r
    p.log(d0 + 13, "joint_enquiries_started")
    _cme_officer(school, p, school.r)


def _admitted_never_present(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Admitted this year (new-pupil return made) and never present: caught by the four-week
    check from the first session on the register, and by ground I; enquiries under way."""
    a = school.r - rng.randint(23, 26)
    if a < 1:
        raise _NoRoom
    p.admitted, p.first, p.last = school.days[a], a, school.r
    p.missing = True
    p.facts.pop("joined_junior_class_at_year_start", None)
    p.mark(a, school.r, "O")
    p.mark(school.r, school.r + 1, "N")
    p.log(a, "parents_contacted")
    p.log(_weekday_within(rng, p.admitted, 1, 3), "new_pupil_return_made")
    p.log(a + 13, "joint_enquiries_started")
    _cme_officer(school, p, school.r)


def _leave(school: _School, p: _Pupil, s: int, k: int) -> int:
    """A leave of absence (code C) of k school days from s; ends on day s + k - 1."""
    p.present(s - 1)
    p.mark(s, s + k, "C")
    p.log(s + k - 1, "leave_of_absence_ended")
    return s + k - 1


def _leave_returned_on_time(school: _School, rng: random.Random, p: _Pupil) -> None:
    """A leave of absence of 3-5 school days; back the next school day."""
    _background(school, rng, p, "good")
    end = _leave(school, p, _randint(rng, 5, school.r - 15), rng.randint(3, 5))
    p.present(end + 1)
    p.log(end + 1, "returned_from_leave")


def _leave_to_removal(school: _School, rng: random.Random, p: _Pupil, removal: int) -> None:
    """Marks stop at the removal; the LA's CME team told; the CTF to the lost pupil database."""
    p.last = removal
    p.left, p.destination = school.days[removal], "unknown"
    p.off_roll_at_ref = True
    p.log(removal, "la_informed_of_missing_destination")
    p.log(removal + rng.randint(1, 5), "ctf_sent")


def _leave_not_returned_ground_h(school: _School, rng: random.Random, p: _Pupil) -> None:
    """A leave of absence of 5-8 school days; the pupil does not come back. Joint enquiries
    from the 8th school day, failed on the 11th (the deletion return the same day), removed
    under ground H on the 12th or 13th."""
    _background(school, rng, p, "good")
    end = _leave(school, p, _randint(rng, 10, school.r - 30), rng.randint(5, 8))
    removal = end + rng.randint(12, 13)
    p.mark(end + 1, removal + 1, "O")
    p.log(end + 1, "parents_contacted")
    p.log(end + 8, "joint_enquiries_started")
    p.log(end + 11, "enquiries_failed")
    p.log(end + 11, "la_notified")
    p.log(removal, "removed_from_roll")
    _leave_to_removal(school, rng, p, removal)


def _cme_removed(school: _School, rng: random.Random, p: _Pupil, *, properly: bool) -> None:
    """Continuously absent (O); joint enquiries with the LA from day 14 (before ground I
    arises on day 20); enquiries fail on day 21; removed under ground I on day 22-24, the run
    unbroken. Properly: the deletion return (la_notified) the day enquiries fail."""
    _background(school, rng, p, "good")
    length = rng.randint(22, 24)
    d0 = _randint(rng, 15, school.r - length - 6)
    removal = d0 + length - 1
    _run_of_absence(school, p, d0, removal)
    p.log(d0 + 13, "joint_enquiries_started")
    _cme_officer(school, p, removal)
    p.log(d0 + 20, "enquiries_failed")
    if properly:
        p.log(d0 + 20, "la_notified")
    p.log(removal, "removed_from_roll")
    _leave_to_removal(school, rng, p, removal)


def _cme_located(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Continuously absent 20-24 school days; joint enquiries from day 10-14; the LA finds
    the pupil on the last day of absence and the pupil comes back."""
    _background(school, rng, p, "good")
    length = rng.randint(20, 24)
    d0 = _randint(rng, 10, school.r - length - 25)
    end = d0 + length - 1
    _run_of_absence(school, p, d0, end)
    p.present(end + 1)
    p.log(d0 + rng.randint(9, 13), "joint_enquiries_started")
    _cme_officer(school, p, end)
    p.log(end, "pupil_located")


def _cme_enquiries_not_begun(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Missed step: absent 22-23 school days up to the reference date, parents called on the
    first day, and nothing else: joint enquiries (ground I) and the four-week contact with
    the CME officer are overdue."""
    _background(school, rng, p, "good")
    d0 = school.r - rng.randint(22, 23) + 1
    if d0 < 1:
        raise _NoRoom
    _run_of_absence(school, p, d0, school.r)
    p.missing = True
    p.last = school.r


def _term_ends(school: _School) -> set[int]:
    """School days after which the next school day is more than 3 calendar days on."""
    return {i for i in range(school.n - 1)
            if (school.days[i + 1] - school.days[i]).days > 3}


def _leaving_day(school: _School, rng: random.Random, lo: int, hi: int) -> int:
    """A leaving day in [lo, hi] that is not the last day before a holiday."""
    ends = _term_ends(school)
    for _ in range(20):
        d = _randint(rng, lo, hi)
        if d not in ends:
            return d
    raise _NoRoom


def _to_school(school: _School, rng: random.Random, p: _Pupil, leave: int) -> None:
    p.last = leave
    p.left, p.destination = school.days[leave], "another_school"
    p.urn = f"{rng.randint(100000, 149999)}"
    p.off_roll_at_ref = True


def _leaver_another_school(school: _School, rng: random.Random, p: _Pupil,
                           cp_file: bool = False, late_ctf: bool = False) -> None:
    """Leaves during a term: the receiving school confirms registration in 1-2 school days;
    the CTF goes within 6 school days of that (late: 16-19 school days after leaving, past
    the 15); a child protection file the day registration is confirmed (within 5 days), its
    receipt confirmed; then the case is closed."""
    _background(school, rng, p, "persistent_absence" if rng.random() < 0.2 else "good")
    hi = school.r - (20 if late_ctf else 8)
    leave = _leaving_day(school, rng, 10, hi)
    _to_school(school, rng, p, leave)
    confirmed = leave + (1 if cp_file else rng.randint(1, 2))
    p.log(confirmed, "registration_confirmed")
    closed = confirmed
    if cp_file:
        p.facts["has_cp_file"] = "yes"
        p.log(confirmed, "cp_file_sent")
        closed = confirmed + rng.randint(1, 2)
        p.log(closed, "cp_file_receipt_confirmed")
    ctf = leave + rng.randint(16, 19) if late_ctf else confirmed + rng.randint(0, 6)
    p.log(ctf, "ctf_sent")
    p.log(min(school.r, max(closed, ctf)), "leaving_case_closed")


def _leaver_cp_file_new_term(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Leaves on the last day of a term, joins the new school on the first day of the next,
    with a child protection file: the file within the first 5 days of the new term."""
    _background(school, rng, p, "good")
    ends = [i for i in sorted(_term_ends(school), key=int)
            if 10 <= i <= school.r - 8 and (school.days[i + 1] - school.days[i]).days > 5]
    if not ends:
        raise _NoRoom
    leave = rng.choice(ends)
    _to_school(school, rng, p, leave)
    start = leave + 1
    p.facts.update(has_cp_file="yes", joins_at_new_term="yes",
                   new_term_start=school.days[start].isoformat())
    confirmed = start + rng.randint(0, 1)
    p.log(confirmed, "registration_confirmed")
    p.log(confirmed, "cp_file_sent")
    p.log(confirmed + 1, "cp_file_receipt_confirmed")
    ctf = start + rng.randint(1, 5)
    p.log(ctf, "ctf_sent")
    p.log(max(confirmed + 1, ctf), "leaving_case_closed")


def _leaver_home_education(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Written notice of home education from a date 5-10 school days on; the LA's home
    education service told 1-3 school days after the notice; the name deleted on the date
    in the notice or the next school day (ground F)."""
    _background(school, rng, p, "good")
    leave = _randint(rng, 12, school.r - 3)
    notice = leave - rng.randint(5, 10)
    p.last = leave
    p.left, p.destination = school.days[leave], "home_education"
    p.off_roll_at_ref = True
    p.log(notice, "written_home_education_notice")
    p.log(min(leave, notice + rng.randint(1, 3)), "home_education_service_notified")
    p.log(min(school.r, leave + rng.randint(0, 1)), "removed_from_roll")


def _leaver_unknown_la_informed(school: _School, rng: random.Random, p: _Pupil) -> None:
    """The family moves away in the last week, destination unknown: the LA told the next
    school day; the pupil stays on roll (no ground for deletion yet), absent (O)."""
    _background(school, rng, p, "good")
    leave = school.r - rng.randint(3, 4)
    for d in range(leave - 5, leave + 1):
        p.present(d)
    p.mark(leave + 1, school.r + 1, "O")
    p.left, p.destination = school.days[leave], "unknown"
    p.last = school.r
    p.missing = True
    p.log(leave + 1, "parents_contacted")
    p.log(leave + 1, "la_informed_of_missing_destination")


def _leaver_unknown_removed_unlawfully(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Missed step: the family leaves with no known destination and the name is deleted that
    day, with no ground for deletion. The LA is told and the CTF sent."""
    _background(school, rng, p, "good")
    leave = _randint(rng, 10, school.r - 8)
    p.last = leave
    p.left, p.destination = school.days[leave], "unknown"
    p.off_roll_at_ref = True
    p.log(leave, "la_informed_of_missing_destination")
    p.log(leave, "removed_from_roll")
    p.log(leave + rng.randint(1, 5), "ctf_sent")


def _new_pupil(school: _School, rng: random.Random, p: _Pupil, *, return_made: bool) -> None:
    """Joins this year, in September (not the most junior class) or in term; the new-pupil
    return within 5 days of entry in the register (missed: not made)."""
    a = 0 if return_made and rng.random() < 0.3 else _randint(rng, 5, school.r - 10)
    p.admitted, p.first = school.days[a], a
    p.facts.pop("joined_junior_class_at_year_start", None)
    _background(school, rng, p, "persistent_absence" if rng.random() < 0.2 else "good")
    if return_made:
        p.log(_weekday_within(rng, p.admitted, 0, 4), "new_pupil_return_made")


def _n_not_replaced(school: _School, rng: random.Random, p: _Pupil) -> None:
    """Missed step: an N (1-2 days) months before the reference date, never replaced."""
    _background(school, rng, p, "good")
    d = _randint(rng, 10, school.r - 30)
    p.present(d - 1)
    p.mark(d, d + rng.randint(1, 2), "N")


_STORIES: dict[str, Callable[[_School, random.Random, _Pupil], None]] = {
    "reception_not_compulsory_age": _reception_not_compulsory_age,
    "reception_turning_five": _reception_turning_five,
    "sickness_then_unexplained_absence": _sickness_then_unexplained_absence,
    "leave_returned_on_time": _leave_returned_on_time,
    "leave_not_returned_ground_h": _leave_not_returned_ground_h,
    "cme_removed_properly": lambda s, r, p: _cme_removed(s, r, p, properly=True),
    "cme_located": _cme_located,
    "admitted_never_present": _admitted_never_present,
    "leaver_another_school": _leaver_another_school,
    "leaver_another_school_cp_file": lambda s, r, p: _leaver_another_school(s, r, p, True),
    "leaver_cp_file_new_term": _leaver_cp_file_new_term,
    "leaver_home_education": _leaver_home_education,
    "leaver_unknown_la_informed": _leaver_unknown_la_informed,
    "new_pupil": lambda s, r, p: _new_pupil(s, r, p, return_made=True),
    "n_not_replaced": _n_not_replaced,
    "cme_removed_before_la_notified": lambda s, r, p: _cme_removed(s, r, p, properly=False),
    "cme_enquiries_not_begun": _cme_enquiries_not_begun,
    "leaver_unknown_removed_unlawfully": _leaver_unknown_removed_unlawfully,
    "ctf_late": lambda s, r, p: _leaver_another_school(s, r, p, late_ctf=True),
    "new_pupil_return_missed": lambda s, r, p: _new_pupil(s, r, p, return_made=False),
}


# -- writing -----------------------------------------------------------------------------------


def generate_sample(policy: Policy, out_dir: str | os.PathLike[str], *, pupils: int = 1000,
                    seed: int = 1, policy_dir: str | os.PathLike[str] = BUNDLED_POLICY,
                    as_of: dt.date | None = None,
                    progress: Callable[[int], None] | None = None,
                    on_pupil: Callable[[str, str], None] | None = None) -> SampleSummary:
    """Write pupils.csv, calendar.yaml, marks.csv and events.csv for a synthetic school.

    `as_of` is the reference date the stories are placed before (default `reference_date`);
    `on_pupil(upn, pattern)` is told each pupil's class as it is written."""
    if pupils < 1:
        raise ValueError("a sample needs at least one pupil")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calendar_name = policy.manifest.calendar or "calendar.yaml"
    calendar_src = Path(policy_dir) / calendar_name
    calendar = load_calendar(calendar_src)
    shutil.copyfile(calendar_src, out / "calendar.yaml")
    school = _School(policy, calendar, as_of)
    deck = [name for name, kind in PATTERNS.items() for _ in range(kind.cards)]
    usable = {name for name, kind in PATTERNS.items() if school.usable(kind)}
    summary = SampleSummary(out, pupils, school.n, school.ref,
                            skipped_patterns=tuple(n for n in PATTERNS if n not in usable))
    rng = random.Random(seed)
    with open(out / "pupils.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as pf, \
            open(out / "marks.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as mf, \
            open(out / "events.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as ef:
        pw = csv.writer(pf, lineterminator="\n")
        ew = csv.writer(ef, lineterminator="\n")
        pw.writerow(["upn", "date_of_birth", "admission_date", "leaving_date", "destination",
                     "receiving_school_urn", *school.columns])
        mf.write("upn,date,session,code\n")
        ew.writerow(["upn", "date", "event", "role"])
        hand: list[str] = []
        for i in range(pupils):
            if not hand:
                hand = list(deck)
                rng.shuffle(hand)
            kind = hand.pop()
            pupil = _pupil(school, rng, _upn(i, rng), kind if kind in usable else "good")
            summary.patterns[pupil.pattern] += 1
            _write(school, pupil, pw, mf, ew, summary)
            if on_pupil is not None:
                on_pupil(pupil.upn, pupil.pattern)
            if progress is not None and (i + 1) % 10_000 == 0:
                progress(i + 1)
    return summary


def _pupil(school: _School, rng: random.Random, upn: str, kind: str) -> _Pupil:
    """Draw a pupil of class `kind`; a good attender if the calendar has no room for it."""
    try:
        return _draw(school, rng, upn, kind)
    except _NoRoom:
        return _draw(school, rng, upn, "good")


class _Rows(Protocol):
    def writerow(self, row: Iterable[str], /) -> object: ...


def _write(school: _School, p: _Pupil, pw: _Rows, mf: TextIO, ew: _Rows,
           summary: SampleSummary) -> None:
    pw.writerow([p.upn, p.born.isoformat(), p.admitted.isoformat(),
                 p.left.isoformat() if p.left else "", p.destination or "", p.urn or "",
                 *(p.facts.get(c, "") for c in school.columns)])
    lo, hi = 2 * p.first, 2 * p.last + 2
    mf.write(school.writer.block(p.upn, p.parts, lo, hi))
    summary.mark_rows += max(0, hi - lo)
    for when, event in p.sorted_events():
        ew.writerow([p.upn, when.isoformat(), event, school.known[event] or ""])
        summary.event_rows += 1


def sample_main(pupils: int, out: str | os.PathLike[str], seed: int = 1,
                policy_dir: str | os.PathLike[str] | None = None,
                echo: Callable[[str], None] = print) -> int:
    """`cme-policy sample`: check the policy, write the sample, print a summary; exit code."""
    from cme_policy.driver import check_policy

    if pupils < 1:
        echo("error: --pupils must be at least 1")
        return 2
    directory = Path(policy_dir) if policy_dir is not None else BUNDLED_POLICY
    result = check_policy(directory)
    if result.policy is None or result.errors:
        echo(f"error: the policy in {directory} has errors; run `cme-policy check {directory}`")
        return 1
    summary = generate_sample(result.policy, out, pupils=pupils, seed=seed, policy_dir=directory)
    echo(summary.describe())
    return 0
