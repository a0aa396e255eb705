"""The driver owns the order of the pipeline: load → parse → analyse (→ backends, later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cme_policy.analysis.environment import build_env
from cme_policy.analysis.overlay import check_floors, check_inherited_la, check_unfilled
from cme_policy.analysis.procedures import check_procedures
from cme_policy.analysis.references import check_references, check_unused
from cme_policy.analysis.review_due import check_review_due
from cme_policy.analysis.strictness import check_directions
from cme_policy.analysis.traceability import Coverage, check_traceability
from cme_policy.analysis.typing_pass import check_types
from cme_policy.diagnostics import Diagnostic, DiagnosticSink, SourceCache
from cme_policy.expr.typecheck import Env
from cme_policy.gc_pause import gc_paused
from cme_policy.ir.build import build_policy
from cme_policy.ir.model import Policy
from cme_policy.runtime.marks import CodeTable, CodeTableError
from cme_policy.scenarios.safety import check_safety
from cme_policy.source.calendar_source import check_calendars
from cme_policy.source.overlay import load_sources


@dataclass
class CheckResult:
    policy: Policy | None
    diagnostics: list[Diagnostic]
    sources: SourceCache
    coverage: Coverage | None = None
    env: Env | None = field(default=None, repr=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def ok(self) -> bool:
        return self.policy is not None and not self.errors


def check_policy(root: Path) -> CheckResult:
    """Load and analyse a policy directory; each stage runs only if the previous one was clean."""
    with gc_paused():
        return _check(root)


def _check(root: Path) -> CheckResult:
    sink, cache = DiagnosticSink(), SourceCache()
    loaded = load_sources(root, sink, cache)  # an overlay comes back merged with its base
    if loaded is not None:
        check_calendars(loaded.sources, sink, cache)
    if loaded is None or sink.has_errors:
        return CheckResult(None, sink.sorted(), cache)
    policy = build_policy(loaded.sources, sink)
    if policy is None or sink.has_errors:
        return CheckResult(None, sink.sorted(), cache)
    if loaded.base is not None:
        base = build_policy(loaded.base, DiagnosticSink())
        if base is not None:
            check_floors(base, policy, loaded.removals, sink, loaded.overrides)
            check_inherited_la(base, policy, sink, loaded.calendar_inherited)
    check_unfilled(loaded.sources, sink, cache)
    check_code_table(policy, sink)
    env = build_env(policy, sink)
    check_references(policy, sink)
    check_types(policy, env, sink)
    coverage = check_traceability(policy, sink)
    check_review_due(policy, sink)
    if not sink.has_errors:
        check_procedures(policy, env, sink)
        check_unused(policy, env, sink)
        check_directions(policy, sink)
    if all(d.code.startswith("O") for d in sink.sorted() if d.is_error):
        # runs the interpreter: only on a sound policy (an overlay's floors aside, so that
        # an unlawful overlay is shown the pupil it fails)
        check_safety(policy, root, sink)
    return CheckResult(policy, sink.sorted(), cache, coverage, env)


def check_code_table(policy: Policy, sink: DiagnosticSink) -> None:
    """V002: the attendance codes must fit the mark strings `run` and `test` build from them
    (one or two characters, none the notation reserves; no more than a table holds)."""
    entries = [(c.code, c.category, c.possible) for c in policy.attendance_codes]
    hint = ("attendance codes are the national codes: one or two characters, without spaces, "
            "'[', ']', '-' or '.'")
    bad = False
    for code, entry in zip(policy.attendance_codes, entries):
        try:
            CodeTable.from_entries([entry])
        except CodeTableError as exc:
            sink.error("V002", str(exc), code.span, hint)
            bad = True
    if not bad and entries:
        try:
            CodeTable.from_entries(entries)
        except CodeTableError as exc:
            sink.error("V002", str(exc), policy.attendance_codes[-1].span, hint)
