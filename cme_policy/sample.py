"""A synthetic school (or local authority) to try `cme-policy run` on: `cme-policy sample`.

`generate_sample(policy, out_dir, pupils=N, seed=S)` writes four files that the readers in
`cme_policy.runtime.readers` accept with no errors:

- `pupils.csv` — synthetic pupils only (UPNs with correct check letters, real LA numbers);
- `calendar.yaml` — a copy of the policy's calendar file;
- `marks.csv` — one academic year of AM/PM marks with realistic patterns: mostly good
  attenders, persistent (10-50%) and severe (50%+) absence, illness runs, unauthorised
  holidays, N marks never replaced, pupils continuously absent (G/N/O) for 20+ school days,
  and leavers to another school, to home education and to an unknown destination;
- `events.csv` — a case log for those pupils, including missed steps (a pupil removed from
  roll before the LA was notified), using only events the policy declares: a pattern whose
  events the policy lacks is skipped.

The same policy, size and seed always give byte-identical files. Rows are written as they
are made, so 100,000 pupils take memory for one pupil at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from stdnum.gb import upn as stdnum_upn

from cme_policy.ir.model import Policy
from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.calendar_file import load_calendar

__all__ = ["SampleSummary", "generate_sample", "make_upn", "sample_main"]

BUNDLED_POLICY = Path(__file__).resolve().parents[1] / "policy"

LA_NUMBERS = (856, 856, 856, 856, 855, 857)
"""Leicester City (856) mostly, some Leicestershire (855) and Rutland (857) UPNs."""

_BUFFER = 1 << 20


def make_upn(la: int, estab: int, year: int, serial: int) -> str:
    """A permanent UPN: check letter (computed by stdnum) + LA + school + year + serial."""
    body = f"{la:03d}{estab:04d}{year:02d}{serial:03d}"
    return stdnum_upn.calc_check_digit(body) + body


def _upn(i: int, rng: random.Random) -> str:
    """Pupil i's UPN: unique for i < 10**8 whatever LA number the generator picks."""
    return make_upn(rng.choice(LA_NUMBERS), 2000 + i // 100_000, (i // 1000) % 100, i % 1000)


@dataclass
class SampleSummary:
    """What was written, so the caller can print it and tests can check it."""

    out_dir: Path
    pupils: int
    school_days: int
    mark_rows: int = 0
    event_rows: int = 0
    patterns: Counter[str] = field(default_factory=Counter)
    skipped_patterns: tuple[str, ...] = ()

    def describe(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.patterns.items()))
        text = (f"wrote {self.out_dir}: {self.pupils} pupils, {self.school_days} school days, "
                f"{self.mark_rows} marks, {self.event_rows} events ({kinds})")
        if self.skipped_patterns:
            text += "; skipped (events missing from the policy): " + \
                ", ".join(self.skipped_patterns)
        return text


# Case-log patterns: (name, events in order, optional events). A pattern is used only when
# the policy declares every required event; optional ones are logged when declared.
_PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cme_removed_properly": (("joint_enquiries_started", "enquiries_failed", "la_notified",
                              "removed_from_roll"), ("parents_contacted", "home_visit_no_contact")),
    "cme_removed_before_la_notified": (("joint_enquiries_started", "enquiries_failed",
                                        "removed_from_roll"), ("parents_contacted",)),
    "cme_located": (("joint_enquiries_started", "pupil_located"), ("parents_contacted",)),
    "leaver_home_education": (("written_home_education_notice",
                               "home_education_service_notified", "removed_from_roll"), ()),
    "leaver_another_school": (("registration_confirmed", "ctf_sent", "removed_from_roll"), ()),
    "leaver_unknown": (("la_informed_of_missing_destination", "removed_from_roll"), ()),
    "leaver_unknown_removed_only": (("removed_from_roll",), ()),
}


class _Writer:
    """Marks rows for one pupil, built by joining precomputed `,date,session,code` pieces."""

    def __init__(self, days: Sequence[dt.date]) -> None:
        self.days = days
        self.keys = [f",{d.isoformat()},{s}," for d in days for s in ("AM", "PM")]
        self._by_code: dict[str, list[str]] = {}
        present = [k + ("/" if i % 2 == 0 else "\\") for i, k in enumerate(self.keys)]
        self.present = present

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


@dataclass
class _Pupil:
    upn: str
    born: dt.date
    admitted: dt.date
    left: dt.date | None = None
    destination: str | None = None
    urn: str | None = None
    pattern: str = "good"
    events: list[tuple[dt.date, str]] = field(default_factory=list)


def _set(parts: list[str], writer: _Writer, lo: int, hi: int, code: str | Callable[[], str],
         start: int = 0, end: int | None = None) -> None:
    """Give sessions [lo, hi) (clipped to [start, end)) a code, or a code per session."""
    end = len(parts) if end is None else end
    for s in range(max(lo, start), min(hi, end)):
        c = code if isinstance(code, str) else code()
        parts[s] = writer.pieces(c)[s]


def _scatter(rng: random.Random, parts: list[str], writer: _Writer, share: float,
             codes: Sequence[str], weights: Sequence[float], start: int, end: int) -> None:
    """Absent on about `share` of days in [start, end): whole days, codes by weight."""
    for day in range(start // 2, (end + 1) // 2):
        if rng.random() < share:
            c = rng.choices(codes, weights)[0]
            _set(parts, writer, 2 * day, 2 * day + 2, c, start, end)


def generate_sample(policy: Policy, out_dir: str | os.PathLike[str], *, pupils: int = 1000,
                    seed: int = 1, policy_dir: str | os.PathLike[str] = BUNDLED_POLICY,
                    progress: Callable[[int], None] | None = None) -> SampleSummary:
    """Write pupils.csv, calendar.yaml, marks.csv and events.csv for a synthetic school."""
    if pupils < 1:
        raise ValueError("a sample needs at least one pupil")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calendar_name = policy.manifest.calendar or "calendar.yaml"
    calendar_src = Path(policy_dir) / calendar_name
    calendar = load_calendar(calendar_src)
    shutil.copyfile(calendar_src, out / "calendar.yaml")
    year = calendar.years[0]
    days = list(calendar.school_days(year.start, year.end))
    known_events = {e.id: e.role for e in policy.events}
    usable = {name: spec for name, spec in _PATTERNS.items()
              if all(e in known_events for e in spec[0])}
    summary = SampleSummary(out, pupils, len(days),
                            skipped_patterns=tuple(n for n in _PATTERNS if n not in usable))
    rng = random.Random(seed)
    writer = _Writer(days)
    destinations = _destinations(policy)
    with open(out / "pupils.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as pf, \
            open(out / "marks.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as mf, \
            open(out / "events.csv", "w", encoding="utf-8", newline="", buffering=_BUFFER) as ef:
        pw = csv.writer(pf, lineterminator="\n")
        ew = csv.writer(ef, lineterminator="\n")
        pw.writerow(["upn", "date_of_birth", "admission_date", "leaving_date", "destination",
                     "receiving_school_urn"])
        mf.write("upn,date,session,code\n")
        ew.writerow(["upn", "date", "event", "role"])
        for i in range(pupils):
            pupil = _one_pupil(i, rng, calendar, days, writer, usable, destinations,
                               known_events, mf, summary)
            summary.patterns[pupil.pattern] += 1
            pw.writerow([pupil.upn, pupil.born.isoformat(), pupil.admitted.isoformat(),
                         pupil.left.isoformat() if pupil.left else "", pupil.destination or "",
                         pupil.urn or ""])
            for when, event in pupil.events:
                ew.writerow([pupil.upn, when.isoformat(), event, known_events[event] or ""])
                summary.event_rows += 1
            if progress is not None and (i + 1) % 10_000 == 0:
                progress(i + 1)
    return summary


def _destinations(policy: Policy) -> dict[str, str]:
    """Our three kinds of leaver -> the policy's destination member (missing ones left out)."""
    fact = next((f for f in policy.facts if f.id == "destination"), None)
    enum = next((e for e in policy.enums if fact is not None and e.id == fact.type_name), None)
    members = {m.id for m in enum.members} if enum is not None else set()
    return {k: k for k in ("another_school", "home_education", "unknown") if k in members}


def _one_pupil(i: int, rng: random.Random, calendar: SchoolCalendar, days: Sequence[dt.date],
               writer: _Writer, usable: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
               destinations: dict[str, str], known: Collection[str], mf: TextIO,
               summary: SampleSummary) -> _Pupil:
    """Draw one pupil, write their marks, and return their row and case log."""
    n = len(days)
    first = days[0]
    age = rng.randint(5, 15)
    born = dt.date(first.year - age - 1, rng.randint(9, 12), rng.randint(1, 28)) \
        if rng.random() < 0.33 else dt.date(first.year - age, rng.randint(1, 8), rng.randint(1, 28))
    pupil = _Pupil(_upn(i, rng), born, dt.date(first.year - rng.randint(0, age - 4), 9, 1))
    parts = list(writer.present)
    start, end = 0, 2 * n
    r = rng.random()
    if r < 0.05:  # joined during the year
        day = rng.randrange(10, n - 10)
        pupil.admitted, start = days[day], 2 * day
        pupil.pattern = "joined_mid_year"
    # absence profile
    r = rng.random()
    if r < 0.70:
        _scatter(rng, parts, writer, 0.03, ("I", "M", "L", "O", "R"), (6, 2, 3, 1, 0.5), start, end)
    elif r < 0.85:
        pupil.pattern = "persistent_absence"
        _scatter(rng, parts, writer, rng.uniform(0.10, 0.35), ("I", "O", "N", "G", "M", "U"),
                 (4, 3, 1, 1, 1, 1), start, end)
        if rng.random() < 0.3:  # an unauthorised week's holiday
            d = rng.randrange(start // 2, max(start // 2 + 1, n - 5))
            _set(parts, writer, 2 * d, 2 * d + 10, "G", start, end)
    elif r < 0.90:
        pupil.pattern = "severe_absence"
        _scatter(rng, parts, writer, rng.uniform(0.5, 0.8), ("O", "N", "I", "G"), (4, 2, 2, 1),
                 start, end)
    elif r < 0.93:
        pupil.pattern = "illness_runs"
        for _ in range(rng.randint(1, 3)):
            d = rng.randrange(start // 2, n)
            _set(parts, writer, 2 * d, 2 * d + 2 * rng.randint(3, 10), "I", start, end)
    elif r < 0.95:
        pupil.pattern = "n_not_replaced"
        for _ in range(rng.randint(2, 5)):
            d = rng.randrange(start // 2, n)
            _set(parts, writer, 2 * d, 2 * d + 2 * rng.randint(1, 3), "N", start, end)
    elif r < 0.97:
        end = _cme(rng, pupil, days, parts, writer, usable, known, destinations, start, end)
    elif r < 0.995 and destinations:
        end = _leaver(rng, pupil, days, usable, destinations, known, start)
    else:
        _scatter(rng, parts, writer, 0.05, ("I", "M"), (3, 1), start, end)
    _new_pupil_return(rng, pupil, first, known)
    text = writer.block(pupil.upn, parts, start, end)
    mf.write(text)
    summary.mark_rows += max(0, end - start)
    pupil.events.sort(key=lambda e: e[0])
    return pupil


def _new_pupil_return(rng: random.Random, pupil: _Pupil, first: dt.date,
                      known: Collection[str]) -> None:
    """Schools make the new-pupil return for most pupils admitted this year; some miss it."""
    if "new_pupil_return_made" in known and pupil.admitted >= dt.date(first.year, 8, 1) \
            and rng.random() < 0.9:
        pupil.events.append((pupil.admitted + dt.timedelta(days=rng.randint(1, 4)),
                             "new_pupil_return_made"))


def _log(pupil: _Pupil, usable: dict[str, tuple[tuple[str, ...], tuple[str, ...]]], name: str,
         dates: Sequence[dt.date], known: Collection[str]) -> None:
    """Log pattern `name`'s events on `dates` (declared optional events first, on the first date)."""
    required, optional = usable[name]
    for event in optional:
        if event in known:
            pupil.events.append((dates[0], event))
    for event, when in zip(required, dates):
        pupil.events.append((when, event))


def _cme(rng: random.Random, pupil: _Pupil, days: Sequence[dt.date], parts: list[str],
         writer: _Writer, usable: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
         known: Collection[str], destinations: dict[str, str], start: int, end: int) -> int:
    """Continuously absent (G/N/O) for 20+ school days, then (maybe) a case log."""
    n = len(days)
    length = rng.randint(22, 45)
    d0 = rng.randrange(max(start // 2, 5), max(start // 2 + 6, n - length))
    d1 = min(n, d0 + length)
    _set(parts, writer, 2 * d0, 2 * d1, lambda: rng.choice("GNOOO"), start, end)
    choices = [p for p in ("cme_removed_properly", "cme_removed_before_la_notified",
                           "cme_located", "none") if p in usable or p == "none"]
    pattern = rng.choice(choices)
    pupil.pattern = "cme_no_case_log" if pattern == "none" else pattern
    if pattern == "none":
        return end
    steps = len(usable[pattern][0])
    base = min(d0 + 20, n - 1)
    dates = [days[min(n - 1, base + 3 * k)] for k in range(steps)]
    _log(pupil, usable, pattern, dates, known)
    if "removed_from_roll" in usable[pattern][0]:
        pupil.left = dates[-1]
        pupil.destination = destinations.get("unknown")
        return min(end, 2 * days.index(dates[-1]) + 2)
    return end


def _leaver(rng: random.Random, pupil: _Pupil, days: Sequence[dt.date],
            usable: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
            destinations: dict[str, str], known: Collection[str], start: int) -> int:
    """A pupil who left during the year: marks stop at the leaving date. Returns the end."""
    n = len(days)
    day = rng.randrange(max(start // 2 + 1, 5), n - 1)
    kind = rng.choice(sorted(destinations))
    pupil.left, pupil.destination = days[day], destinations[kind]
    pupil.pattern = f"leaver_{kind}"
    if kind == "another_school":
        pupil.urn = f"{rng.randint(100000, 149999)}"
    pattern = {"another_school": "leaver_another_school",
               "home_education": "leaver_home_education",
               "unknown": rng.choice(["leaver_unknown", "leaver_unknown_removed_only"])}[kind]
    if pattern in usable:
        steps = len(usable[pattern][0])
        dates = [days[max(0, day - steps + 1 + k)] for k in range(steps)]
        _log(pupil, usable, pattern, dates, known)
        if pattern == "leaver_unknown_removed_only":
            pupil.pattern = "leaver_unknown_removed_without_la"
    return 2 * day + 2


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
