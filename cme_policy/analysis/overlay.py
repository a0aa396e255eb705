"""Overlay checks: statutory floors (an overlay may make the law stricter, never weaker) and
fields a scaffolded overlay still has to fill in.

`check_floors` compares the base policy's IR with the merged policy's IR. Every message cites
the statute (the `source:` of the parameter, rule or invariant) the overlay would break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cme_policy.analysis.entailment import entails
from cme_policy.analysis.entailment import number as _number
from cme_policy.analysis.entailment import resolve as _resolve
from cme_policy.analysis.strictness import Use, directions, parameter_uses
from cme_policy.diagnostics import DiagnosticSink, SourceCache
from cme_policy.expr import ast
from cme_policy.expr.printer import to_source
from cme_policy.ir import model as m
from cme_policy.ir.derived import law_terms, statutory_deadline
from cme_policy.source.loader import SourceSet
from cme_policy.source.overlay import Removal
from cme_policy.source.span import Span
from cme_policy.source.yaml_nodes import YMap, YNode, YScalar

UNFILLED = "TO BE COMPLETED"
Overrides = dict[tuple[str, str], YMap]


def _cite(source: str | None) -> str:
    return f" ({source})" if source else ""


def _at(overrides: Overrides, kind: str, key: str, field: str, fallback: Span) -> Span:
    node = overrides.get((kind, key))
    entry = node.entry(field) if node is not None else None
    return entry.value.span if entry is not None else fallback


def check_floors(base: m.Policy, merged: m.Policy, removals: list[Removal],
                 sink: DiagnosticSink, overrides: Overrides | None = None) -> None:
    _Floors(base, merged, removals, sink, overrides or {}).run()


class _Floors:
    def __init__(self, base: m.Policy, merged: m.Policy, removals: list[Removal],
                 sink: DiagnosticSink, overrides: Overrides) -> None:
        self.base, self.merged, self.sink, self.overrides = base, merged, sink, overrides
        self.removed = {(r.kind, r.owner, r.id): r for r in removals}
        self.base_params = {p.qualified: p for p in base.parameters}
        self.params = {p.qualified: p for p in merged.parameters}
        self.uses = parameter_uses(base)

    def run(self) -> None:
        self._sealed()
        self._parameters()
        self._rules()
        self._procedures()
        self._deadlines()
        self._measures()
        self._guards()

    # -- the law layer -------------------------------------------------------------------
    def _sealed(self) -> None:
        """O015: a law-layer parameter that permits a step (a deletion) never changes; one that
        only sets a duty (a trigger, a deadline) may, and O001 judges the value; O016: no event
        of the overlay's establishes a fact the law defines."""
        law = set(self.base.law_files)
        self.sealed: set[str] = set()
        for old in self.base.parameters:
            new = self.params.get(old.qualified)
            if old.span.path not in law or new is None or new.value == old.value:
                continue
            uses = self.uses.get(old.qualified, [])
            permits = [u for u in uses if u.phrase.startswith("permits")]
            if uses and not permits:
                continue  # a duty the law sets (a trigger, a deadline): O001 judges the value
            uses = permits or uses
            why = f" (it {uses[0].phrase})" if uses else ""
            self.sealed.add(old.qualified)
            self.sink.error("O015", f"{old.qualified} is the law's{_cite(old.source)}{why}: "
                            "a name must be deleted when a ground holds and not before, so no "
                            "other value is lawful and an overlay may not change it",
                            _at(self.overrides, "parameter", f"{old.group}.{old.name}", "value",
                                new.value.span),
                            "keep the law's value; to act earlier, add a parameter of the "
                            "school's own for when it acts")
        law_facts = {f.id for f in self.base.facts if f.span.path in law}
        base_events = {e.id: e for e in self.base.events}
        for event in self.merged.events:
            before = base_events.get(event.id)
            for fact, value in event.sets:
                if fact in law_facts and (before is None or (fact, value) not in before.sets):
                    self.sink.error("O016", f"event '{event.id}' is made to set '{fact}', a "
                                    "fact the law layer defines: only the law's own events "
                                    "establish it", value.span,
                                    "record the law's event (e.g. la_notified for the deletion "
                                    "return) instead of giving another event its meaning")

    # -- parameters ----------------------------------------------------------------------
    def _parameters(self) -> None:
        for old in self.base.parameters:
            new = self.params.get(old.qualified)
            if not old.statutory or new is None or old.qualified in self.sealed:
                continue
            key = f"{old.group}.{old.name}"
            if (new.statutory, new.stricter) != (old.statutory, old.stricter):
                field = "statutory" if new.statutory != old.statutory else "stricter"
                self.sink.error("O008", f"{old.qualified} is statutory{_cite(old.source)}: an "
                                f"overlay may not change its `{field}:`",
                                _at(self.overrides, "parameter", key, field, new.span),
                                "remove the key from the override; the base says which way "
                                "the law may be made stricter")
            uses = self.uses.get(old.qualified, [])
            ways = directions(uses)
            if len(ways) > 1:
                if old.value != new.value:
                    self._both_ways(old, new, key, uses)
                continue
            stricter = next(iter(ways)) if ways else old.stricter or "lower"
            problem = self._weaker(old.value, new.value, stricter)
            if problem is not None:
                why = f" (it {uses[0].phrase})" if uses else ""
                self.sink.error("O001", f"{old.qualified} is statutory{_cite(old.source)}: "
                                f"{problem}{why}", _at(self.overrides, "parameter", key, "value",
                                                       new.value.span),
                                f"a local value may only be stricter ({stricter} than or equal "
                                f"to {_show(old.value)})")

    def _both_ways(self, old: m.Parameter, new: m.Parameter, key: str,
                   uses: list[Use]) -> None:
        lower = next(u for u in uses if u.stricter == "lower")
        higher = next(u for u in uses if u.stricter == "higher")
        self.sink.error("O001", f"{old.qualified} is statutory{_cite(old.source)} and pulls "
                        f"both ways: it {lower.phrase} and {higher.phrase}, so "
                        f"{_show(new.value)} is weaker than "
                        f"{_show(old.value)} in one of them",
                        _at(self.overrides, "parameter", key, "value", new.value.span),
                        "keep the law's value; to act earlier, change the school's own "
                        "trigger parameter instead")

    @staticmethod
    def _weaker(old: ast.Expr, new: ast.Expr, stricter: str) -> str | None:
        if old == new:
            return None
        a, b = _number(old), _number(new)
        if a is None or b is None:
            return f"the value {_show(new)} cannot be compared with the base's {_show(old)}"
        if a[1] != b[1]:
            return (f"the value {_show(new)} is in {b[1] or 'whole numbers'}, the base's "
                    f"{_show(old)} in {a[1] or 'whole numbers'}")
        if (stricter == "lower" and b[0] > a[0]) or (stricter == "higher" and b[0] < a[0]):
            return f"{_show(new)} is weaker than the base's {_show(old)}"
        return None

    # -- rules ---------------------------------------------------------------------------
    def _rules(self) -> None:
        rules = {r.id: r for r in self.merged.rules}
        for old in self.base.rules:
            if not old.statutory:
                continue
            removal = self.removed.get(("rule", None, old.id))
            new = rules.get(old.id)
            if removal is not None or new is None:
                self.sink.error("O002", f"rule '{old.id}' is statutory{_cite(old.source)} and "
                                "cannot be removed", removal.span if removal else None,
                                "leave the rule in place; add a stricter local rule beside it")
                continue
            for problem, field in self._rule_problems(old, new):
                self.sink.error("O002", f"rule '{old.id}' is statutory{_cite(old.source)}: "
                                f"{problem}", _at(self.overrides, "rule", old.id, field,
                                                  new.span),
                                "an overlay may make a statutory rule stricter (an earlier "
                                "threshold, a shorter deadline, `or` another condition), never "
                                "weaker; add a local rule for anything else")

    def _rule_problems(self, old: m.Rule, new: m.Rule) -> Iterable[tuple[str, str]]:
        if not new.statutory:
            yield "it cannot stop being statutory", "statutory"
        if not self._implies(old.when, new.when):
            yield ("the new `when:` may not hold every time the base's does "
                   f"({_show(old.when)})"), "when"
        if old.opens is not None and new.opens != old.opens:
            yield f"it must still open '{old.opens}'", "opens"
        for obligation in old.then:
            match = next((o for o in new.then if o.action == obligation.action
                          or (o.done_by is not None and o.done_by == obligation.done_by)), None)
            if match is None:
                yield f"the obligation '{obligation.action}' was removed", "then"
            elif obligation.within is not None:
                if match.within is None:
                    yield f"the obligation '{obligation.action}' lost its deadline", "then"
                    continue
                problem = self._weaker(_resolve(obligation.within, self.base_params),
                                       _resolve(match.within, self.params), "lower")
                if problem is not None:
                    yield f"the deadline of '{obligation.action}': {problem}", "then"

    def _implies(self, old: ast.Expr, new: ast.Expr) -> bool:
        """True when `new` holds whenever `old` does, shown structurally. Thresholds are
        compared by value (parameters resolved in each policy), so raising a parameter that a
        statutory rule compares with is caught even when the rule itself is not overridden."""
        if isinstance(old, ast.Compare) and isinstance(new, ast.Compare) and old.op == new.op \
                and old.left == new.left and old.op in (">=", ">", "<=", "<"):
            if old.right == new.right and isinstance(old.right, ast.Name) and \
                    self._statutory_param(old.right):
                return True  # the parameter itself is checked (O001)
            direction = "lower" if old.op in (">=", ">") else "higher"
            return self._weaker(_resolve(old.right, self.base_params),
                                _resolve(new.right, self.params), direction) is None
        if isinstance(old, ast.BoolOp) and isinstance(new, ast.BoolOp) and old.op == new.op \
                and len(old.operands) == len(new.operands) and all(
                    self._implies(a, b) for a, b in zip(old.operands, new.operands)):
            return True
        if isinstance(old, ast.Not) and isinstance(new, ast.Not):
            return self._implies(new.operand, old.operand)
        if isinstance(new, ast.BoolOp) and new.op == "or" and any(
                self._implies(old, operand) for operand in new.operands):
            return True
        return old == new and not _compares(old)

    def _statutory_param(self, name: ast.Name) -> bool:
        param = self.base_params.get(".".join(name.parts))
        return param is not None and param.statutory

    # -- statutory deadlines and the measures the law is stated in -----------------------------
    def _deadlines(self) -> None:
        """O011: a state whose deadline is statutory keeps one, no longer than the base's."""
        procedures = {p.id: p for p in self.merged.procedures}
        for old in self.base.procedures:
            new = procedures.get(old.id)
            for state in old.states:
                if state.deadline is None or new is None or \
                        not statutory_deadline(self.base, state.deadline.within):
                    continue
                now = new.state(state.id)
                if now is None:
                    continue  # a removed state: O004 or the graph checks say so
                at = _at(self.overrides, "state", f"{old.id}.{state.id}", "deadline", now.span)
                source = self._deadline_source(state.deadline.within)
                if now.deadline is None:
                    self.sink.error("O011", f"state '{old.id}.{state.id}' has a statutory "
                                    f"deadline{_cite(source)} and cannot lose it", at,
                                    "keep the deadline; a shorter one is allowed")
                    continue
                problem = self._weaker(_resolve(state.deadline.within, self.base_params),
                                       _resolve(now.deadline.within, self.params), "lower")
                if problem is not None:
                    self.sink.error("O011", f"state '{old.id}.{state.id}' has a statutory "
                                    f"deadline{_cite(source)}: {problem}", at,
                                    f"a local deadline may only be shorter (at most "
                                    f"{_show(_resolve(state.deadline.within, self.base_params))})")

    def _deadline_source(self, within: ast.Expr) -> str | None:
        names = [n for n in ast.referenced_names(within) if n in self.base_params]
        return self.base_params[names[0]].source if names else None

    def _measures(self) -> None:
        """O012: a measure a statutory rule, a guard or a safeguard is stated in is part of the
        law's meaning (the run of G, N or O sessions of ground I): an overlay may not redefine
        it."""
        used = law_terms(self.base)
        measures = {x.id: x for x in self.merged.measures}
        for old in self.base.measures:
            new = measures.get(old.id)
            if old.id not in used or new is None:
                continue
            if (new.kind, new.codes, [(a.name, a.type_name) for a in new.args]) != (
                    old.kind, old.codes, [(a.name, a.type_name) for a in old.args]):
                self.sink.error("O012", f"measure '{old.id}' states the law in {used[old.id]}: "
                                f"an overlay may not change its kind, codes or arguments",
                                _at(self.overrides, "measure", old.id, "codes", new.span),
                                "declare a new measure for local practice and use it in a "
                                "local rule")

    def _guards(self) -> None:
        """O014: a step the base takes only under a guard - a removal from roll only while a
        ground holds - may not be taken more easily: every transition on that event (in the
        same procedure, or in a procedure the overlay adds) needs a guard that implies one of
        the base's."""
        base_procs = {p.id: p for p in self.base.procedures}
        anywhere: dict[str, list[ast.Expr]] = {}
        for proc in self.base.procedures:
            for _, t in _edges(proc):
                if t.guard is not None:
                    anywhere.setdefault(t.event, []).append(t.guard)
        for proc in self.merged.procedures:
            old = base_procs.get(proc.id)
            for state, t in _edges(proc):
                required = self._required_guards(old, t.event, anywhere)
                if not required:
                    continue
                if t.guard is not None and any(self._entails(t.guard, g) for g in required):
                    continue
                source = "; ".join(sorted({i.source for i in (old or proc).invariants
                                           if i.statutory and i.source})) or None
                self.sink.error("O014", f"the base takes '{t.event}' only when "
                                f"{_show(required[0])}{_cite(source)}: the transition "
                                f"{proc.id}.{state} --{t.event}--> {t.target} takes it "
                                f"{'with no guard' if t.guard is None else 'more easily'}",
                                t.span, "keep the base's guard; an overlay may only add "
                                "conditions to it (`… and your condition`)")

    @staticmethod
    def _required_guards(old: m.Procedure | None, event: str,
                         anywhere: dict[str, list[ast.Expr]]) -> list[ast.Expr]:
        """The base's guards on `event` that a transition must imply: its procedure's, when
        that procedure never takes the event unguarded; for a new procedure, any of them."""
        if old is None:
            return anywhere.get(event, [])
        edges = [t for _, t in _edges(old) if t.event == event]
        if not edges or any(t.guard is None for t in edges):
            return []
        return [t.guard for t in edges if t.guard is not None]

    def _entails(self, a: ast.Expr, b: ast.Expr) -> bool:
        """Whether the overlay's `a` can only hold where the base's `b` does (a threshold
        moved the harder way counts)."""
        return entails(a, b, lambda x, y, harder: self._weaker(
            _resolve(y, self.base_params), _resolve(x, self.params), harder) is None)

    # -- procedures ----------------------------------------------------------------------
    def _procedures(self) -> None:
        procedures = {p.id: p for p in self.merged.procedures}
        for old in self.base.procedures:
            new = procedures.get(old.id)
            removal = self.removed.get(("procedure", None, old.id))
            for invariant in old.invariants:
                if not invariant.statutory:
                    continue
                kept = new.invariants if new is not None else ()
                now = next((i for i in kept if i.id == invariant.id), None)
                gone = removal or self.removed.get(("invariant", old.id, invariant.id))
                key = f"{old.id}.{invariant.id}"
                if now is None:
                    self.sink.error("O003", f"invariant '{invariant.id}' of procedure '{old.id}' "
                                    f"is statutory{_cite(invariant.source)} and cannot be "
                                    "removed", gone.span if gone else None,
                                    "keep the invariant; a stricter local one may be added")
                elif (now.kind, now.state, now.through, now.statutory) != (
                        invariant.kind, invariant.state, invariant.through, True):
                    self.sink.error("O003", f"invariant '{invariant.id}' of procedure '{old.id}' "
                                    f"is statutory{_cite(invariant.source)} and cannot be "
                                    "changed", _at(self.overrides, "invariant", key,
                                                   _changed(invariant, now), now.span),
                                    "keep the invariant as it is; add a new one for local "
                                    "practice")
            for state in old.states:
                removal_state = self.removed.get(("state", old.id, state.id))
                if removal_state is None:
                    continue
                for invariant in old.invariants:
                    if state.id in (invariant.state, invariant.through):
                        self.sink.error("O004", f"state '{state.id}' of procedure '{old.id}' is "
                                        f"protected by invariant '{invariant.id}'"
                                        f"{_cite(invariant.source)} and cannot be removed",
                                        removal_state.span,
                                        "keep the state; add states or transitions around it")


def _edges(proc: m.Procedure) -> list[tuple[str, m.Transition]]:
    return [(s.id, t) for s in proc.states for t in s.transitions]


def _compares(expr: ast.Expr) -> bool:
    """Whether an expression holds an ordering comparison (whose threshold may have moved)."""
    if isinstance(expr, ast.Compare):
        return expr.op in (">=", ">", "<=", "<") or _compares(expr.left) or _compares(expr.right)
    if isinstance(expr, ast.BoolOp):
        return any(_compares(o) for o in expr.operands)
    if isinstance(expr, ast.Not):
        return _compares(expr.operand)
    return False


def _changed(old: m.Invariant, new: m.Invariant) -> str:
    for field, a, b in (("every_path_to", old.state, new.state), ("passes", old.through,
                                                                  new.through),
                        ("statutory", old.statutory, new.statutory)):
        if a != b:
            return field if old.kind == "passes" or field == "statutory" else {
                "every_path_to": "before_leaving", "passes": "requires"}[field]
    return "before_leaving" if old.kind == "passes" else "every_path_to"


def _show(value: ast.Expr) -> str:
    return to_source(value)


# -- another LA's words, inherited ---------------------------------------------------------------
GENERIC_WORDS = frozenset({"city", "county", "council", "borough", "metropolitan", "district",
                           "of", "the", "and", "royal", "london"})


def la_words(name: str) -> list[str]:
    """The distinctive words of a local authority's name ("Leicester City Council" →
    Leicester): what marks a text as that LA's."""
    return [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", name) if w.lower() not in GENERIC_WORDS]


def _texts(policy: m.Policy) -> dict[tuple[str, str], tuple[tuple[str, ...], Span]]:
    """(kind, id) → (every piece of text a governor reads for it, where it is)."""
    out: dict[tuple[str, str], tuple[tuple[str, ...], Span]] = {}

    def put(kind: str, key: str, span: Span, *texts: str | None) -> None:
        out[(kind, key)] = (tuple(t for t in texts if t), span)

    for p in policy.parameters:
        put("parameter", p.qualified, p.span, p.label, p.source, p.description)
    for r in policy.rules:
        put("rule", r.id, r.span, r.title, r.source, r.description,
            *(o.action for o in r.then), *(o.source for o in r.then))
    for role in policy.roles:
        put("role", role.id, role.span, role.label, role.holder, role.description)
    for proc in policy.procedures:
        put("procedure", proc.id, proc.span, proc.title, proc.description,
            *(s.title for s in proc.states),
            *(s.deadline.action for s in proc.states if s.deadline))
    for e in policy.events:
        put("event", e.id, e.span, e.label, e.description)
    for f in policy.facts:
        put("fact", f.id, f.span, f.label, f.negated, f.description)
    for c in policy.clauses:
        put("clause", c.id, c.span, c.text)
    if policy.la_profile is not None:
        put("local authority profile", "name", policy.la_profile.span, policy.la_profile.name)
        for entry in policy.la_profile.entries:
            put("local authority entry", entry.id, entry.span, entry.value, entry.label,
                entry.source)
    return out


def check_inherited_la(base: m.Policy, merged: m.Policy, sink: DiagnosticSink,
                       calendar_inherited: bool = False) -> None:
    """O013: an overlay for another local authority still reads, unchanged from the base,
    text that names the base's authority (its contacts, services, local practice, term
    dates). Governors of the overlay's school would be told to call another council."""
    words = la_words(base.manifest.local_authority)
    if not words or set(la_words(merged.manifest.local_authority)) & {w for w in words}:
        return
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    before = _texts(base)
    for (kind, key), (texts, span) in sorted(_texts(merged).items()):
        if before.get((kind, key), ((), span))[0] != texts:
            continue  # new, or the overlay changed it
        hit = next((t for t in texts if pattern.search(t)), None)
        if hit is not None:
            sink.warning("O013", f"{kind} '{key}' is the base's and names "
                         f"{base.manifest.local_authority}: \"{_excerpt(hit, pattern)}\"", span,
                         f"override it with {merged.manifest.local_authority}'s own words, or "
                         f"`{UNFILLED}` until they are known")
    if calendar_inherited:
        sink.warning("O013", f"the calendar is the base's ({base.manifest.calendar}): "
                     f"{base.manifest.local_authority}'s term dates", merged.manifest.span,
                     "give the school's own calendar with `calendar:` in policy.yaml")


def _excerpt(text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(text)
    assert found is not None
    start = max(0, found.start() - 40)
    words = " ".join(text[start:found.end() + 40].split())
    return ("…" if start else "") + words + ("…" if found.end() + 40 < len(text) else "")


# -- unfilled fields -------------------------------------------------------------------------
def check_unfilled(sources: SourceSet, sink: DiagnosticSink, cache: SourceCache) -> None:
    """A warning for every value still reading `TO BE COMPLETED` (as `cme-policy init` left it).

    Only files whose text holds the words are walked, so a complete policy costs one scan of
    its lines.
    """
    stack: list[YNode] = [node for path, node in sources.files
                          if cache.contains(path, UNFILLED)]
    while stack:
        node = stack.pop()
        if isinstance(node, YScalar):
            if UNFILLED in node.value:
                sink.warning("O009", "this value is still to be completed", node.span,
                             "replace `TO BE COMPLETED` with the real value and, where the entry "
                             "has `verified:`, set it to true once confirmed")
        elif isinstance(node, YMap):
            stack.extend(entry.value for entry in node.entries)
        else:
            stack.extend(node.items)
