"""Runtime: reading a school's exports (pupils, attendance marks, case log) into runtime values.

The readers live in `cme_policy.runtime.inputs`, one module per file kind, none importing
another's reader (no import cycle):

- `inputs.common`: what every reader shares: `DataError`, `ReadCounts`, `FileRead`,
  `InputSchema`, dates, UPNs
- `inputs.csvfile`: CSV plumbing: the header (case-, space- and `_`-insensitive, extra columns
  ignored), rows, bytes
- `inputs.columns`: a school's own headings (`cme-policy run --columns`)
- `inputs.pupils`: the pupils file
- `inputs.marks`: the marks file, by `inputs.marks_columnar` (fast path) or
  `inputs.marks_rows` (explains every bad row)
- `inputs.events`: the case log
- `inputs.ctf`: session marks from a Common Transfer File

This module keeps the names other code has imported from it. The formats and every error
they can give are in docs/data-formats.md.
"""

from __future__ import annotations

from cme_policy.runtime.inputs.common import (
    DATE_FORMATS,
    EVENT_COLUMNS,
    EVENT_REQUIRED,
    MARK_COLUMNS,
    PUPIL_COLUMNS,
    PUPIL_REQUIRED,
    DataError,
    FactSpec,
    FileRead,
    InputSchema,
    ReadCounts,
    check_upn,
    parse_date,
)
from cme_policy.runtime.inputs.events import EventsRead, read_events
from cme_policy.runtime.inputs.marks import read_marks
from cme_policy.runtime.inputs.marks_base import MarksRead, code_bytes, session_offset
from cme_policy.runtime.inputs.pupils import PupilsRead, read_pupils

__all__ = [
    "DATE_FORMATS",
    "EVENT_COLUMNS",
    "EVENT_REQUIRED",
    "MARK_COLUMNS",
    "PUPIL_COLUMNS",
    "PUPIL_REQUIRED",
    "DataError",
    "EventsRead",
    "FactSpec",
    "FileRead",
    "InputSchema",
    "MarksRead",
    "PupilsRead",
    "ReadCounts",
    "check_upn",
    "code_bytes",
    "parse_date",
    "read_events",
    "read_marks",
    "read_pupils",
    "session_offset",
]
