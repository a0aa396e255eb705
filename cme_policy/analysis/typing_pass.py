"""Analyse stage: check the type and unit of every expression in the policy."""

from __future__ import annotations

from cme_policy.analysis.strictness import parameter_uses
from cme_policy.diagnostics import DiagnosticSink
from cme_policy.expr import ast
from cme_policy.expr.typecheck import Env, TypeChecker
from cme_policy.expr.types import BOOL, DurationT, Type, type_from_name
from cme_policy.ir import model as m


def _is_bool(t: Type) -> bool:
    return t == BOOL


def _is_deadline(t: Type) -> bool:
    return isinstance(t, DurationT) and t.unit not in (ast.Unit.SESSIONS,)


def check_types(policy: m.Policy, env: Env, sink: DiagnosticSink) -> None:
    checker = TypeChecker(env, sink)
    for rule in policy.rules:
        checker.expect(rule.when, _is_bool, "a condition (true/false)")
        for obligation in rule.then:
            if obligation.within is not None:
                checker.expect(obligation.within, _is_deadline, "a duration (deadline)")
    for procedure in policy.procedures:
        for state in procedure.states:
            if state.deadline is not None:
                checker.expect(state.deadline.within, _is_deadline, "a duration (deadline)")
            for transition in state.transitions:
                if transition.guard is not None:
                    checker.expect(transition.guard, _is_bool, "a condition (true/false)")
    for safeguard in policy.safeguards:
        _check_safeguard(policy, safeguard, checker, sink)
    _check_parameters(policy, sink)
    _check_scenario_values(policy, env, checker, sink)


def _check_safeguard(policy: m.Policy, safeguard: m.Safeguard, checker: TypeChecker,
                     sink: DiagnosticSink) -> None:
    for requirement in safeguard.requirements:
        checker.expect(requirement.when, _is_bool, "a condition (true/false)")
    fact = next((f for f in policy.facts if f.id == safeguard.fact), None)
    if fact is None:
        sink.error("N001", f"safeguard '{safeguard.id}' guards unknown fact '{safeguard.fact}'",
                   safeguard.at("fact"), "facts are declared under `facts:`")
    elif fact.type_name != "bool":
        sink.error("T001", f"safeguard '{safeguard.id}' guards fact '{fact.id}', which is "
                   f"{fact.type_name}, not true/false", safeguard.at("fact"),
                   "a safeguard guards the step that makes a true/false fact true")


def _check_parameters(policy: m.Policy, sink: DiagnosticSink) -> None:
    used = parameter_uses(policy)  # a use that says which way is stricter needs no label
    for param in policy.parameters:
        if param.stricter is not None and not param.statutory:
            sink.error("P001", f"parameter '{param.qualified}' says which way is stricter but is "
                       "not statutory", param.span, "add `statutory: true`, or remove `stricter:`")
        if param.statutory and param.stricter is None and not used.get(param.qualified):
            sink.error("P002", f"statutory parameter '{param.qualified}' does not say which way is "
                       "stricter, and no use of it does", param.span,
                       "add `stricter: lower` or `stricter: higher`")
        if (param.effective_from and param.effective_to
                and param.effective_to < param.effective_from):
            sink.error("P003", f"parameter '{param.qualified}' stops being effective before it "
                       "starts", param.span, "effective_to must be on or after effective_from")


def _check_scenario_values(policy: m.Policy, env: Env, checker: TypeChecker,
                           sink: DiagnosticSink) -> None:
    for scenario in policy.scenarios:
        _check_assignments(policy, env, checker, sink, scenario.pupil, f"scenario '{scenario.id}'")
    for event in policy.events:
        _check_assignments(policy, env, checker, sink, event.sets, f"event '{event.id}'")


def _check_assignments(policy: m.Policy, env: Env, checker: TypeChecker, sink: DiagnosticSink,
                       pairs: tuple[tuple[str, ast.Expr], ...], where: str) -> None:
    facts = {f.id: f for f in policy.facts}
    for name, value in pairs:
        fact = facts.get(name)
        if fact is None:
            sink.error("N001", f"{where} sets unknown fact '{name}'", value.span,
                       "facts are declared under `facts:`")
            continue
        wanted = type_from_name(fact.type_name, set(env.enums))
        found = checker.check(value, wanted)
        if wanted is not None and found is not None and found != wanted:
            sink.error("T001", f"fact '{name}' is {wanted}, but {where} gives {found}",
                       value.span, f"give {wanted}")
