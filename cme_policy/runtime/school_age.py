"""Runtime: compulsory school age in England, the runtime's statement of Education Act 1996 s.8.

Generated checkers import this module to decide whether a pupil is of compulsory school age
on a date (deletion ground L, CME referrals), so it imports only the standard library.

The law, as encoded here:

* s.8(2): a child begins to be of compulsory school age on the fifth birthday if that is a
  prescribed day, otherwise at the beginning of the next prescribed day after it. The
  prescribed days, set by order under s.8(4)(a), are 31 March, 31 August and 31 December
  (secondary sources: IPSEA, Newham; the order itself not checked here).
* s.8(3): a child ceases to be of compulsory school age at the end of the school leaving
  date for a calendar year, the last Friday in June (set by order under s.8(4)(b); secondary
  sources, the order itself not checked here), if (a) the child turns 16 after that day
  but before the beginning of the school year next following, (b) turns 16 on that day,
  or (c), unless (a) applies, that day is the first school leaving date after the 16th
  birthday.

Assumption: s.579 defines the school year as beginning with the first term to begin after
July; this module takes it to begin on **1 September** for every child, as DfE and LA
guidance do ("16 by the end of the summer holidays"). A school whose autumn term starts
later would, read literally, also let a child who turns 16 between 1 September and the
first day of term leave on the preceding school leaving date; that case is not modelled.

Ages: a person attains an age at the start of the anniversary of birth (Family Law Reform
Act 1969 s.9). For a 29 February birth in a common year the anniversary is taken as
1 March. s.9 does not itself address 29 February; 1 March is the convention used here.
It never changes a result: a fifth birthday on 28 February or 1 March both lead to
31 March, and a 16th birthday in a common year (a birth on 29 February 2084 turns 16 in
2100) is before that year's school leaving date either way.

Every answer is two or three `date` constructions, cached per date of birth, so a whole
LA's pupils (~100,000) cost well under a second.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

__all__ = [
    "compulsory_school_age_end",
    "compulsory_school_age_start",
    "is_compulsory_school_age",
]

_FRIDAY = 4  # date.weekday(): Monday is 0


def _anniversary(date_of_birth: date, years: int) -> date:
    """The day a person attains `years` years of age (29 February -> 1 March in a common year)."""
    year = date_of_birth.year + years
    try:
        return date_of_birth.replace(year=year)
    except ValueError:
        if (date_of_birth.month, date_of_birth.day) != (2, 29):
            raise  # the year is out of `date`'s range, not a leap-day birthday
        return date(year, 3, 1)


def _school_leaving_date(year: int) -> date:
    """The last Friday in June of `year`: count back from 30 June, no loop over days."""
    june_30 = date(year, 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - _FRIDAY) % 7)


@lru_cache(maxsize=1 << 16)
def _bounds(date_of_birth: date) -> tuple[date, date]:
    """First and last day of compulsory school age, cached because pupils share birthdays."""
    fifth = _anniversary(date_of_birth, 5)
    year = fifth.year
    # s.8(2): the fifth birthday itself if prescribed, else the next prescribed day.
    if fifth <= date(year, 3, 31):
        start = date(year, 3, 31)
    elif fifth <= date(year, 8, 31):
        start = date(year, 8, 31)
    else:
        start = date(year, 12, 31)

    sixteenth = _anniversary(date_of_birth, 16)
    year = sixteenth.year
    # s.8(3): 16 on or before the leaving date ((b), (c)) or after it but before the school
    # year begins on 1 September ((a)) -> this year's leaving date; from 1 September the
    # next leaving date after the birthday is next year's ((c)).
    end = _school_leaving_date(year if sixteenth < date(year, 9, 1) else year + 1)
    return start, end


def compulsory_school_age_start(date_of_birth: date) -> date:
    """The first day of compulsory school age (s.8(2)), so a checker knows when duties begin.

    Raises ValueError when the answer is outside `date`'s range.
    """
    return _bounds(date_of_birth)[0]


def compulsory_school_age_end(date_of_birth: date) -> date:
    """The last day (inclusive) of compulsory school age (s.8(3)): a last Friday in June.

    The child is of compulsory school age until the end of this day. Raises ValueError when
    the answer is outside `date`'s range.
    """
    return _bounds(date_of_birth)[1]


def is_compulsory_school_age(date_of_birth: date, on: date) -> bool:
    """Whether the child is of compulsory school age on `on`: start <= on <= end, both inclusive.

    Both ends are whole days because s.8 starts at the beginning of a day and ends at the end
    of one.
    """
    start, end = _bounds(date_of_birth)
    return start <= on <= end
