"""Runtime: the keys the generated measure functions memoise their values and onsets under.

The prescreen works measure values and onsets out for many pupils at once and hands each
pupil's to the generated code (`engine.evaluate(known=…)`), which finds them in its memo only
if both built the keys alike. So both build them here: the code generator writes the key
expressions from `value_key_source`/`onset_key_source` (no call at run time: a key is a
plain tuple literal), the prescreen calls `value_key`/`onset_key`, and a test holds the two
forms equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

MemoKey = str | tuple[object, ...]
"""A measure's id (a measure with no arguments), or (id, *arguments[, op, threshold])."""

Known = Mapping[MemoKey, object]
"""Measure values and onsets worked out beforehand, under their memo keys."""


def value_key(measure: str, *args: object) -> MemoKey:
    """The key of a measure's value as of the date, for these arguments."""
    return (measure, *args) if args else measure


def onset_key(measure: str, args: Sequence[object], op: str, threshold: object) -> MemoKey:
    """The key of the onset of `measure(args) op threshold`."""
    return (measure, *args, op, threshold)


def value_key_source(measure: str, arg_names: Sequence[str]) -> str:
    """`value_key` as a Python expression over the generated function's argument names."""
    return f"({measure!r}, {', '.join(arg_names)})" if arg_names else repr(measure)


def onset_key_source(measure: str, arg_names: Sequence[str]) -> str:
    """`onset_key` as a Python expression (the function's `op` and `threshold` included)."""
    return f"({measure!r}, {''.join(a + ', ' for a in arg_names)}op, threshold)"
