"""Screening every pupil, on every core: the pupils are cut into chunks and evaluated in
worker processes forked after the inputs are read, so each worker shares the marks already
in memory instead of receiving a copy.

One pupil's result depends on that pupil's data alone, and the rows are sorted afterwards, so
the output is the same byte for byte whatever the number of workers (tests hold it to that).
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from types import ModuleType

from cme_policy.runtime.calendar import SchoolCalendar
from cme_policy.runtime.engine import evaluate, facts_at, sorted_log
from cme_policy.runtime.facts import builtin_facts
from cme_policy.runtime.pupil import CaseEvent, Pupil
from cme_policy.runtime.readers import MarksRead
from cme_policy.screening.lifetime import kill_all, terminating, worker_started
from cme_policy.screening.prescreen import Prescreen, Prescreened, marks_grid
from cme_policy.screening.rows import Row, rows_for

PARALLEL_FROM = 2_000
"""Fewer pupils than this are screened in this process: starting workers would cost more."""
CHUNKS_PER_WORKER = 32
"""Chunks per worker: enough that a worker with easy pupils takes on more chunks."""
SERIAL_CHUNK = 1_000
"""Pupils between progress updates when screening in this process."""


@dataclass(frozen=True)
class ScreenWork:
    """Everything a worker needs, set before the fork and inherited, never pickled."""

    checkers: ModuleType
    pupils: Sequence[tuple[str, Pupil]]
    marks: MarksRead
    events: Mapping[str, list[CaseEvent]]
    calendar: SchoolCalendar
    as_of: dt.date
    statutes: dict[str, str]
    line: Callable[[Row], str] | None = None
    """Renders a row's output line in the worker (see `output.line_renderer`), or None."""
    prescreen: Prescreen | None = None
    """Which rules may fire, for a chunk of pupils at once; None: every rule of every pupil."""


_WORK: ScreenWork | None = None


def default_jobs(pupils: int) -> int:
    """One worker per core for a large run; none (this process) for a small one."""
    if pupils < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 8))


Screened = list[tuple[str, str, Row | None, str]]
"""Each row as (`Row.order()`, its status, the row, "") or, where `ScreenWork.line` renders
it, (order, status, None, its line): a Row with its dates costs ten times more to ship
from a worker than its line does."""


def screen(work: ScreenWork, jobs: int, done: Callable[[int], None]) -> tuple[Screened, int]:
    """(the rows of every pupil in pupil order, pupils screened); `done(n)` after each n pupils.

    The count is of pupils actually evaluated, so that the run's report can reconcile it with
    the pupils read.
    """
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        rows: Screened = []  # one process (also where workers cannot be forked: Windows)
        screened = 0
        for start, stop in _chunks(len(work.pupils), len(work.pupils) // SERIAL_CHUNK):
            chunk, count = _screen_range(work, start, stop)
            rows += chunk
            screened += count
            done(count)
        return rows, screened
    return _screen_in_workers(work, jobs, done)


def _screen_in_workers(work: ScreenWork, jobs: int,
                       done: Callable[[int], None]) -> tuple[Screened, int]:
    global _WORK
    _WORK = work
    gc.freeze()  # what the workers inherit is never scanned by their collector, nor copied
    try:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=worker_started,
                                   initargs=(os.getpid(),))

        def kill() -> None:  # SIGTERM: no worker outlives the run (and no lock is taken)
            kill_all(list(getattr(pool, "_processes", None) or {}))

        def stop() -> None:  # Ctrl-C or an error
            kill()
            pool.shutdown(wait=False, cancel_futures=True)

        with terminating(kill, stop):
            ranges = list(_chunks(len(work.pupils), jobs * CHUNKS_PER_WORKER))
            rows: Screened = []
            screened = 0
            for chunk, count in pool.map(_worker, ranges):
                rows += chunk
                screened += count
                done(count)
        pool.shutdown(wait=True)
        return rows, screened
    finally:
        _WORK = None
        gc.unfreeze()


def _worker(bounds: tuple[int, int]) -> tuple[Screened, int]:
    assert _WORK is not None, "workers are forked from screen(), which sets the work"
    return _screen_range(_WORK, *bounds)


def _screen_range(work: ScreenWork, start: int, stop: int) -> tuple[Screened, int]:
    """The rows of pupils [start, stop). A pupil with no case log goes no further than the
    prescreen when no rule may fire for it and no earlier day needs looking at."""
    spec, calendar, as_of, line = work.checkers.POLICY, work.calendar, work.as_of, work.line
    table = work.checkers.CODE_TABLE
    pupils = work.pupils[start:stop]
    block = _prescreened(work, pupils)
    rows: Screened = []
    for k, (upn, pupil) in enumerate(pupils):
        log = work.events.get(upn)
        hits, known = None, None
        if block is not None:
            if not log and block.settled[k] and not block.may_fire[k].any():
                continue  # nothing fires, nothing to replay: no rows
            hits, known = block.may_fire[k].tolist(), block.known(k)
        marks = work.marks.for_pupil(upn, calendar, table)
        result = evaluate(spec, pupil, marks, log or (), calendar, as_of, hits, known)
        rows += [(row.order(), row.status, None, line(row)) if line else
                 (row.order(), row.status, row, "") for row in rows_for(result, work.statutes)]
    return rows, len(pupils)


def _prescreened(work: ScreenWork,
                 pupils: Sequence[tuple[str, Pupil]]) -> Prescreened | None:
    if work.prescreen is None or not pupils:
        return None
    grid = marks_grid(work.marks.marks, [upn for upn, _ in pupils], work.calendar,
                      work.checkers.CODE_TABLE)
    spec, as_of, events, calendar = work.checkers.POLICY, work.as_of, work.events, work.calendar
    table = work.checkers.CODE_TABLE
    facts = [facts_at(spec, pupil, sorted_log(events[upn]), as_of,
                      work.marks.for_pupil(upn, calendar, table), calendar)[0] if upn in events
             else {**pupil.facts, **builtin_facts(pupil.facts, as_of)[0]}
             for upn, pupil in pupils]  # as the engine sees them on the day
    return work.prescreen.block(facts, grid)


def _chunks(total: int, count: int) -> Iterator[tuple[int, int]]:
    """`count` contiguous (start, stop) ranges covering range(total), sizes within one."""
    count = max(1, min(count, total))
    size, extra = divmod(total, count)
    start = 0
    for i in range(count):
        stop = start + size + (1 if i < extra else 0)
        if stop > start:
            yield start, stop
        start = stop
