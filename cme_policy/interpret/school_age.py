"""Reference semantics, part 0b: compulsory school age (Education Act 1996 s.8), the slow way.

Written from docs/semantics.md, apart from the runtime's `school_age` module:

* it begins on the fifth birthday if that is a prescribed day — 31 December, 31 March or
  31 August — and otherwise on the next prescribed day after it (walk the days forward);
* it ends at the end of the school leaving date, the last Friday in June (walk back from
  30 June), of the school year in which the pupil turns 16: a 16th birthday before
  1 September ends it that June, one on or after 1 September the next June.

A birthday on 29 February falls on 1 March in a common year (it never changes the answer:
28 February and 1 March both lead to 31 March, and a 16th birthday in February is before
June either way).
"""

from __future__ import annotations

import datetime as dt

PRESCRIBED_DAYS = ((3, 31), (8, 31), (12, 31))
"""(month, day) of the days on which compulsory school age may begin."""
FRIDAY = 4
ONE_DAY = dt.timedelta(days=1)


def birthday(born: dt.date, years: int) -> dt.date:
    """The day a person born on `born` turns `years` years old."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        return dt.date(born.year + years, 3, 1)


def first_day(born: dt.date) -> dt.date:
    """The first day of compulsory school age."""
    day = birthday(born, 5)
    while (day.month, day.day) not in PRESCRIBED_DAYS:
        day += ONE_DAY
    return day


def last_day(born: dt.date) -> dt.date:
    """The last day of compulsory school age: a school leaving date."""
    sixteenth = birthday(born, 16)
    year = sixteenth.year if sixteenth < dt.date(sixteenth.year, 9, 1) else sixteenth.year + 1
    day = dt.date(year, 6, 30)
    while day.weekday() != FRIDAY:
        day -= ONE_DAY
    return day
