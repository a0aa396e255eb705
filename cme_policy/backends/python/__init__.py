"""Backend stage: the policy IR → an importable, typed Python package of checkers.

`generate(policy, source)` returns {path relative to the output root: text} for
`python/policy_checks/`: `inputs.py`, `measures.py`, `rules.py`, one `procedure_<id>.py` per
procedure and `__init__.py` exposing `evaluate`, `screen` and `audit`. Modules are rendered
from Jinja templates; every policy string reaches them through `repr()` (the `py` filter),
identifiers are sanitised with a collision check, and each module is compiled before it is
returned. Generated code imports only the standard library and `cme_policy.runtime`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import jinja2

from cme_policy.backends.python.expressions import (
    NULLABLE_KINDS,
    Code,
    ExprCompiler,
    Symbols,
    date_code,
    fraction_code,
    py_type,
)
from cme_policy.expr import ast
from cme_policy.expr.types import type_from_name
from cme_policy.ir import model as m
from cme_policy.ir.derived import early_window, rule_in_force, statutory_deadline
from cme_policy.ir.measures import KINDS
from cme_policy.ir.values import Dur, fact_value, literal_value
from cme_policy.runtime.facts import ATTENDING_CATEGORIES
from cme_policy.runtime.memo import onset_key_source, value_key_source

PACKAGE = "policy_checks"
ROOT = f"python/{PACKAGE}"


class CodegenError(Exception):
    """The policy cannot be turned into Python (e.g. two ids sanitise to one name)."""


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("cme_policy.backends.python", "templates"),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, autoescape=False, keep_trailing_newline=True)
    env.filters["py"] = repr
    return env


def header_text(source: str) -> str:
    """The source label as header text: printable and on one line, whatever was given."""
    return "".join(c if c.isprintable() else "?" for c in source)


@dataclass
class Namer:
    """Sanitised identifiers (`[a-z0-9_]`, prefixed), refusing two ids that meet in one name."""

    prefix: str
    what: str
    taken: dict[str, str] = field(default_factory=dict)

    def __call__(self, raw: str) -> str:
        return self.reserve(self.prefix + re.sub(r"[^a-z0-9_]", "_", raw.lower()), raw)

    def reserve(self, name: str, raw: str) -> str:
        other = self.taken.setdefault(name, raw)
        if other != raw:
            raise CodegenError(f"{self.what} ids {other!r} and {raw!r} both become the Python "
                               f"name {name!r}; rename one of them")
        return name


def generate(policy: m.Policy, source: str) -> dict[str, str]:
    """Every file of the package, keyed by its path under the output root."""
    return _Generator(policy, header_text(source)).files()


class _Generator:
    def __init__(self, policy: m.Policy, source: str) -> None:
        self.policy, self.source = policy, source
        self.env = _environment()
        measure_name = Namer("m_", "measure")
        self.measure_funcs = {x.id: measure_name(x.id) for x in policy.measures}
        for measure_id, func in self.measure_funcs.items():  # each has a `<func>_onset` too
            measure_name.reserve(f"{func}_onset", f"{measure_id} (its onset function)")
        self.sym = Symbols.of(policy, self.measure_funcs)
        rule_name = Namer("rule_", "rule")
        self.rule_funcs = {r.id: rule_name(r.id) for r in policy.rules}
        proc_name = Namer("procedure_", "procedure")
        self.proc_modules = {p.id: proc_name(p.id) for p in policy.procedures}

    def files(self) -> dict[str, str]:
        out = {"inputs.py": self.inputs(), "measures.py": self.measures(),
               "rules.py": self.rules(), "safeguards.py": self.safeguards(),
               "__init__.py": self.package()}
        for proc in self.policy.procedures:
            out[f"{self.proc_modules[proc.id]}.py"] = self.procedure(proc)
        for name, text in out.items():
            try:
                compile(text, f"{ROOT}/{name}", "exec")
            except SyntaxError as exc:  # a bug in a template, never the policy's fault
                raise CodegenError(f"generated {ROOT}/{name} does not compile: {exc}") from exc
        return {f"{ROOT}/{name}": text for name, text in sorted(out.items())}

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(source=self.source, **context)

    # -- inputs ---------------------------------------------------------------------------------
    def inputs(self) -> str:
        uses: set[str] = set()
        params = sorted((p.qualified, _constant(literal_value(p.value), uses))
                        for p in self.policy.parameters)
        units = sorted((p.qualified, p.value.unit.value) for p in self.policy.parameters
                       if isinstance(p.value, ast.DurationLit))
        sets = sorted((e.id, tuple((f, _constant(fact_value(v), uses)) for f, v in e.sets))
                      for e in self.policy.events if e.sets)
        early = early_window(self.policy)
        return self.render(
            "inputs.py.j2", codes=[(c.code, c.category, c.possible)
                                   for c in self.policy.attendance_codes],
            params=params, param_units=units,
            facts=sorted((f.id, f.type_name) for f in self.policy.facts), event_sets=sets,
            fact_scopes=sorted((f.id, _scope(f.lasts)) for f in self.policy.facts
                               if f.lasts is not None),
            attending=tuple(c.code for c in self.policy.attendance_codes
                            if c.category in ATTENDING_CATEGORIES),
            early=(early[0], early[1].value) if early else None,
            uses_dt="dt" in uses, uses_fraction="Fraction" in uses)

    # -- measures -------------------------------------------------------------------------------
    def measures(self) -> str:
        entries = [self._measure(x) for x in self.policy.measures]
        result_types = " ".join(e["result"] for e in entries) + " ".join(
            t for e in entries for _, t in e["args"])
        return self.render("measures.py.j2", measures=entries,
                           uses_fraction="Fraction" in result_types)

    def _measure(self, x: m.Measure) -> dict[str, Any]:
        func = self.measure_funcs[x.id]
        codes_name = "CODES_" + func[2:].upper()
        arg_name = Namer("a_", f"argument of measure {x.id!r}")
        args = [(arg_name(a.name), py_type(type_from_name(a.type_name, self.sym.enums))[0])
                for a in x.args]
        ty, _ = py_type(KINDS[x.kind].result)
        result = f"{ty} | None" if x.kind in NULLABLE_KINDS else ty
        body = _measure_body(x.kind, codes_name, args)
        doc = f"Measure {x.id}: {x.label}."
        return {"func": func, "id": x.id, "codes_name": codes_name, "codes": x.codes, "args": args,
                "result": result, "body": body, "kind": x.kind, "doc": doc,
                "key": value_key_source(x.id, [a for a, _ in args]),
                "onset_key": onset_key_source(x.id, [a for a, _ in args])}

    # -- rules ----------------------------------------------------------------------------------
    def rules(self) -> str:
        comp = ExprCompiler(self.sym)
        entries = [self._rule(r, comp) for r in self.policy.rules]
        engine = {"Ctx"} | {n for n in ("bool_op", "later", "latest", "today_compare",
                                        "not_today_compare", "shift", "shift_opt", "status",
                                        "completed", "late", "in_force", "academic_year_start",
                                        "term_start") if n in comp.uses}
        imports = ["import datetime as dt"] if entries else []
        if "Fraction" in comp.uses:
            imports.append("from fractions import Fraction")
        typing_names = (["Final"] if entries else []) + (["cast"] if "cast" in comp.uses else [])
        if typing_names:
            imports.append(import_line("typing", typing_names))
        imports.append("")
        imports.append(import_line("cme_policy.runtime.engine", engine))
        results = ["RuleOutcome"] + (["Action"] if any(r.then for r in self.policy.rules) else [])
        imports.append(import_line("cme_policy.runtime.results", results))
        if "_m" in comp.uses:
            imports += ["", "from . import measures as _m"]
        return self.render("rules.py.j2", rules=entries, imports=imports)

    def _rule(self, rule: m.Rule, comp: ExprCompiler) -> dict[str, Any]:
        func = self.rule_funcs[rule.id]
        held: list[str] = []
        _, since = comp.held(rule.when, held)
        body, actions, late = [], [], []
        early = early_window(self.policy)
        early_arg = repr((early[0], early[1].value)) if early else "None"
        for i, o in enumerate(rule.then):
            due, unit = "None", "school days"
            if o.within is not None:
                within = comp.value(o.within)
                due, unit = f"due_{i}", _unit(within)
                body.append(f"{due} = {_shift(comp, 'onset', within)}")
            comp.uses.add("status")
            done = "None"
            if o.done_by is not None:
                comp.uses.add("completed")
                done = f"done_{i}"
                advance = early_arg if o.in_advance else "None"
                body.append(f"{done} = completed(ctx, {o.done_by!r}, onset, {advance})")
            clauses = o.clauses or rule.clauses
            is_done = "False" if done == "None" else f"{done} is not None"
            actions.append(
                f"Action('rule', {rule.id!r}, {o.action!r}, {o.role!r}, {due}, "
                f"status({due}, ctx.as_of, {is_done}), "
                f"{clauses!r}, "
                f"{o.source or rule.source!r})")
            if statutory_deadline(self.policy, o.within) and done != "None":
                comp.uses.add("late")
                late.append(f"late(ctx.calendar, {rule.id!r}, {o.action!r}, {due}, {done}, "
                            f"{unit!r}, {clauses!r})")
        start, end = rule_in_force(self.policy, rule)
        in_force = None
        if start or end:
            comp.uses.update(("in_force", "dt"))
            in_force = (f"in_force(ctx.as_of, {date_code(start) if start else 'None'}, "
                        f"{date_code(end) if end else 'None'})")
        doc = f"Rule {rule.id}: {rule.title} (clauses: {', '.join(rule.clauses)})."
        return {"id": rule.id, "func": func, "not_fired": "NOT_FIRED_" + func[5:].upper(),
                "in_force": in_force, "late": late,
                "onset_func": f"_onset_{func[5:]}", "doc": doc, "cond": comp.cond(rule.when),
                "body": body, "actions": actions, "held": held,
                "since": ("ctx.calendar.first_school_day" if since == "None"
                          else f"{since} or ctx.calendar.first_school_day")}

    # -- procedures -----------------------------------------------------------------------------
    def procedure(self, proc: m.Procedure) -> str:
        comp = ExprCompiler(self.sym)
        functions: list[dict[str, str]] = []
        guard_name = Namer("guard_", f"guard of procedure {proc.id!r}")
        within_name = Namer("within_", f"deadline of procedure {proc.id!r}")
        states = []
        for state in sorted(proc.states, key=lambda s: s.id):
            transitions: dict[str, list[tuple[str, str]]] = {}
            for i, t in enumerate(state.transitions):
                guard = "None"
                if t.guard is not None:
                    guard = guard_name(f"{state.id}_{i}")
                    functions.append({"name": guard, "result": "bool", "code": comp.cond(t.guard),
                                      "doc": f"Guard of {state.id} --{t.event}--> {t.target}."})
                transitions.setdefault(t.event, []).append((guard, t.target))
            entry: dict[str, Any] = {"id": state.id, "title": state.title, "role": state.role,
                                     "final": state.final, "clauses": state.clauses,
                                     "transitions": sorted(transitions.items()), "within": None}
            if state.deadline is not None:
                within = comp.value(state.deadline.within)
                name = within_name(state.id)
                functions.append({"name": name, "result": "int | None", "code": within.text,
                                  "doc": f"Deadline of state {state.id}, in {_unit(within)}."})
                entry.update(within=name, unit=_unit(within),
                             escalate_to=state.deadline.escalate_to, action=state.deadline.action,
                             statutory=statutory_deadline(self.policy, state.deadline.within))
            states.append(entry)
        imports = ["import datetime as dt"] if "dt" in comp.uses else []
        if "Fraction" in comp.uses:
            imports.append("from fractions import Fraction")
        typing_names = ["Final"] + (["cast"] if "cast" in comp.uses else [])
        imports += [import_line("typing", typing_names), ""]
        engine = {"ProcedureSpec", "StateSpec"} | ({"Ctx"} if functions else set())
        engine |= {"InvariantSpec"} if proc.invariants else set()
        engine |= {n for n in ("later", "latest", "shift", "shift_opt") if n in comp.uses}
        imports.append(import_line("cme_policy.runtime.engine", engine))
        if "_m" in comp.uses:
            imports += ["", "from . import measures as _m"]
        doc = f"Procedure {proc.id}: {proc.title} (clauses: {', '.join(proc.clauses)})."
        return self.render(
            "procedure.py.j2", doc=doc, imports=imports, functions=functions, proc=proc,
            states=states, opened_by=tuple(sorted(proc.opened_by)),
            invariants=[inv for inv in proc.invariants])

    # -- safeguards -----------------------------------------------------------------------------
    def safeguards(self) -> str:
        comp = ExprCompiler(self.sym)
        functions: list[dict[str, str]] = []
        name = Namer("requires_", "safeguard requirement")
        safeguards = []
        for guard in sorted(self.policy.safeguards, key=lambda g: g.id):
            requires = []
            for req in guard.requirements:
                func = name(f"{guard.id}_{req.id}")
                functions.append({"name": func, "code": comp.cond(req.when),
                                  "doc": f"Safeguard {guard.id}: {req.title}."})
                requires.append((req.id, req.title, req.source or "", func))
            safeguards.append({"id": guard.id, "fact": guard.fact, "clauses": guard.clauses,
                               "requires": requires})
        imports = ["import datetime as dt"] if "dt" in comp.uses else []
        if "Fraction" in comp.uses:
            imports.append("from fractions import Fraction")
        imports += [import_line("typing", ["Final"] + (["cast"] if "cast" in comp.uses else [])),
                    ""]
        engine = {"SafeguardSpec"} | ({"Ctx"} if functions else set())
        engine |= {n for n in ("later", "latest", "shift", "shift_opt") if n in comp.uses}
        imports.append(import_line("cme_policy.runtime.engine", engine))
        if "_m" in comp.uses:
            imports += ["", "from . import measures as _m"]
        return self.render("safeguards.py.j2", doc="What the law requires of a step, whichever "
                           "event records it (the law layer's safeguards).", imports=imports,
                           functions=functions, safeguards=safeguards)

    # -- the package ----------------------------------------------------------------------------
    def package(self) -> str:
        rules = [(r.id, self.rule_funcs[r.id], r.opens) for r in self.policy.rules]
        doc = (f"Checkers for {self.policy.manifest.title}: evaluate, screen and audit "
               f"a pupil as of a date.")
        local = import_line(".", ["inputs", "rules", "safeguards"] + [self.proc_modules[p.id]
                                                        for p in self.policy.procedures])
        return self.render("__init__.py.j2", doc=doc, rules=rules, local_import=local,
                           procedure_modules=[self.proc_modules[p.id]
                                              for p in self.policy.procedures])


def import_line(module: str, names: set[str] | list[str]) -> str:
    """`from module import names` as ruff's isort writes it: constants, classes, then the
    rest, and one name per line when the line would pass 88 characters."""
    ordered = sorted(set(names), key=lambda n: (0 if n.isupper() else 1 if n[:1].isupper() else 2,
                                                n.lower(), n))
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= 88:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in ordered) + ")"


_FAST_BODIES = {
    # Each computes `value` exactly as cme_policy.runtime.measures does, on the pupil's mark
    # bytes made once per context (ctx.raw()) and the school-day count made once (ctx.days()).
    "consecutive_school_days": [
        "end = 2 * ctx.days()",
        "value = (end - len(ctx.marks.text[:end].rstrip({codes}.chars))) // 2"],
    "count_sessions": [
        "{window_check}",
        "n = ctx.days()",
        "value = ctx.raw()[2 * max(0, n - {a0}):2 * n].translate({codes}.flags).count(b'\\x01')"],
    "count_school_days": [
        "{window_check}",
        "n = ctx.days()",
        "flags = ctx.raw()[2 * max(0, n - {a0}):2 * n].translate({codes}.flags)",
        "value = (int.from_bytes(flags[::2], 'big') | int.from_bytes(flags[1::2], 'big'))"
        ".bit_count()"],
    "share_of_possible_sessions": [
        "lo, hi = 2 * rt.since_day(ctx.calendar, {a0}), 2 * ctx.days()",
        "num = den = 0",
        "if lo < hi:",
        "    part = ctx.raw()[lo:hi]",
        "    num = part.translate({codes}.possible_flags).count(b'\\x01')",
        "    den = part.translate(ctx.marks.table.possible_flags).count(b'\\x01')",
        "value = Fraction(100 * num, den) if den else Fraction(0)"],
    "days_since_last_present": [
        "n = ctx.days()",
        "pos = ctx.raw().translate({codes}.flags).rfind(b'\\x01', 0, 2 * n)",
        "day = pos // 2 if pos >= 0 else rt.first_marked_day(ctx.marks.text, n)",
        "value = None if day < 0 else (ctx.as_of - ctx.calendar.school_day_at(day)).days"],
    "school_days_since_last_present": [
        # school days in (day, as_of]: those on or before as_of after the day counted from
        "n = ctx.days()",
        "pos = ctx.raw().translate({codes}.flags).rfind(b'\\x01', 0, 2 * n)",
        "day = pos // 2 if pos >= 0 else rt.first_marked_day(ctx.marks.text, n)",
        "value = None if day < 0 else n - 1 - day"],
    "oldest_unresolved": [
        "n = ctx.days()",
        "pos = ctx.raw().translate({codes}.flags).find(b'\\x01', 0, 2 * n)",
        "value = 0 if pos < 0 else n - 1 - pos // 2"],
}


_SINCE_BODIES = {
    # The counts given a date (`rt.since_day` clips it to the calendar; a since date after
    # the as-of date slices out nothing, so counts 0).
    "count_sessions": [
        "lo, hi = 2 * rt.since_day(ctx.calendar, {a0}), 2 * ctx.days()",
        "value = ctx.raw()[lo:hi].translate({codes}.flags).count(b'\\x01')"],
    "count_school_days": [
        "lo, hi = 2 * rt.since_day(ctx.calendar, {a0}), 2 * ctx.days()",
        "flags = ctx.raw()[lo:hi].translate({codes}.flags)",
        ("value = (int.from_bytes(flags[::2], 'big') | int.from_bytes(flags[1::2], 'big'))"
         ".bit_count()")],
}


def _measure_body(kind: str, codes: str, args: list[tuple[str, str]]) -> list[str]:
    """The lines computing `value`; the argument's Python type chooses between a count's
    window (int) and since-date (dt.date) forms."""
    a0 = args[0][0] if args else ""
    dated = bool(args) and args[0][1] == "dt.date"
    lines = (_SINCE_BODIES if dated else {}).get(kind, _FAST_BODIES[kind])
    check = (f"if {a0} < 0:\n        raise ValueError(f'a window of {{{a0}}} school days is "
             f"negative')")
    return [line.format(codes=codes, a0=a0, window_check=check) for line in lines]


def _scope(lasts: str | ast.Expr | None) -> str:
    """A fact's `lasts:` as the FactScope the runtime reads."""
    if lasts == "until_present":
        return "FactScope(until_present=True)"
    assert isinstance(lasts, ast.DurationLit)
    return f"FactScope(amount={lasts.amount!r}, unit={lasts.unit.value!r})"


def _unit(code: Code) -> str:
    return (code.unit or ast.Unit.SCHOOL_DAYS).value


def _shift(comp: ExprCompiler, start: str, within: Code) -> str:
    fn = "shift_opt" if within.nullable else "shift"
    comp.uses.add(fn)
    return f"{fn}(ctx.calendar, {start}, {within.text}, {_unit(within)!r})"


def _constant(value: object, uses: set[str]) -> str:
    """A policy value as Python source: literals by repr, dates and percentages built."""
    if isinstance(value, Dur):
        return repr(value.amount)
    if isinstance(value, Fraction):
        uses.add("Fraction")
        return fraction_code(value)
    if isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, dt.date):
        uses.add("dt")
        return date_code(value)
    raise CodegenError(f"cannot write {value!r} as a Python constant")
