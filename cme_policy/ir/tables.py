"""The policy's attendance codes and measure code sets as the runtime's tables: what a
school's marks are laid on (`PupilMarks`) and what the runtime's measures look for.

Glue between the IR and `cme_policy.runtime` for the programs that hand marks to the
checkers (`run`'s prescreen, scenarios, tests); the interpreter does not use it.
"""

from __future__ import annotations

from cme_policy.ir import model as m
from cme_policy.runtime.marks import CodeSet, CodeTable

__all__ = ["code_table", "measure_code_sets"]


def code_table(policy: m.Policy) -> CodeTable:
    """The attendance codes come from the policy's vocabulary, never from Python."""
    return CodeTable.from_entries((c.code, c.category, c.possible) for c in policy.attendance_codes)


def measure_code_sets(policy: m.Policy, table: CodeTable) -> dict[str, tuple[m.Measure, CodeSet]]:
    """Each declared measure with the compiled set of codes it looks for."""
    return {x.id: (x, table.select(x.codes)) for x in policy.measures}
