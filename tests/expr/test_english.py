"""Golden and property tests for the English renderer of expressions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cme_policy.expr import ast
from cme_policy.expr.parser import parse_expr
from cme_policy.ir import model as m
from cme_policy.ir.english import Vocabulary, render

MANIFEST = m.Manifest("Children Missing Education", "Example School", "Example LA", "policy.md",
                      dt.date(2024, 7, 1), ast.DurationLit(12, ast.Unit.MONTHS))

POLICY = m.Policy(
    MANIFEST,
    enums=(
        m.EnumDef("leaving_reason", "reason for leaving", (
            m.EnumMember("moved_abroad", "moved abroad"),
            m.EnumMember("elective_home_education", "electively home educated"),
            m.EnumMember("other_school", "joined another school"))),
        m.EnumDef("visit_outcome", "outcome of a home visit", (
            m.EnumMember("no_answer", "no answer"),
            m.EnumMember("moved_abroad", "a move abroad"))),
    ),
    facts=(
        m.Fact("sickness_suspected", "bool", "the school suspects the absence is due to illness",
               negated="the school does not suspect illness"),
        m.Fact("whereabouts_known", "bool", "the pupil's whereabouts are known"),
        m.Fact("last_seen", "date", "the date the pupil was last seen"),
        m.Fact("year_group", "int", "the pupil's year group"),
        m.Fact("reason", "leaving_reason", "the reason the pupil left"),
        m.Fact("visit", "visit_outcome", "the outcome of the home visit"),
    ),
    measures=(
        m.Measure("unauthorised_run", "consecutive_school_days",
                  "the current run of unauthorised absence", codes=("O",),
                  phrases=((">=", "the pupil has been absent without authorisation for at least "
                                  "{value} consecutive school days"),)),
        m.Measure("absence_share", "share_of_possible_sessions",
                  "the share of sessions missed since {since}", codes=("O",),
                  args=(m.MeasureArg("since", "date", "the start date"),),
                  phrases=((">=", "the pupil has missed at least {value} of possible sessions "
                                  "since {since}"),)),
        m.Measure("sessions_missed", "count_sessions", "unauthorised sessions missed",
                  codes=("O",), args=(m.MeasureArg("window", "school days"),)),
        m.Measure("days_absent", "days_since_last_present",
                  "calendar days since the pupil was last present", codes=("/", "\\"),
                  phrases=(("<", "the pupil was present within the last {value}"),
                           (">", "the pupil has not been seen for more than {amount} days"))),
    ),
    parameters=(
        m.Parameter("deletion", "continuous_absence", ast.DurationLit(20, ast.Unit.SCHOOL_DAYS),
                    "continuous absence before deletion"),
        m.Parameter("referral", "share", ast.PercentLit(Decimal("10")), "absence share"),
        m.Parameter("referral", "window", ast.DurationLit(4, ast.Unit.WEEKS), "referral window"),
        m.Parameter("term", "start", ast.DateLit(dt.date(2024, 8, 19)), "start of term"),
    ),
)
VOCAB = Vocabulary.from_policy(POLICY)

SICK = "the school suspects the absence is due to illness"
KNOWN = "the pupil's whereabouts are known"

GOLDEN = [
    # Literals
    ("true", "true"),
    ("false", "false"),
    ("42", "42"),
    ("9.90%", "9.9%"),
    ("10%", "10%"),
    ("2024-08-09", "9 August 2024"),
    ("1 school day", "1 school day"),
    ("20 school days", "20 school days"),
    ("4 weeks", "4 weeks"),
    ("10 sessions", "10 sessions"),
    # Names
    ("sickness_suspected", SICK),
    ("last_seen", "the date the pupil was last seen"),
    ("unauthorised_run", "the current run of unauthorised absence"),
    ("params.deletion.continuous_absence", "20 school days"),
    ("today", "the date of the check"),
    ("moved_abroad", "moved abroad"),
    ("no_such_thing", "no such thing"),
    # Calls and sets
    ("absence_share(2024-09-02)", "the share of sessions missed since 2 September 2024"),
    ("sessions_missed(10 school days)", "unauthorised sessions missed (10 school days)"),
    ("{moved_abroad, other_school}", "moved abroad and joined another school"),
    # Logic
    ("not sickness_suspected", "the school does not suspect illness"),
    ("not whereabouts_known", f"it is not the case that {KNOWN}"),
    ("not (sickness_suspected or whereabouts_known)",
     f"it is not the case that either {SICK} or {KNOWN}"),
    ("sickness_suspected and whereabouts_known", f"{SICK} and {KNOWN}"),
    ("sickness_suspected or whereabouts_known or year_group > 6",
     f"{SICK}, {KNOWN} or the pupil's year group is more than 6"),
    ("sickness_suspected and (whereabouts_known or year_group >= 7)",
     f"{SICK}, and either {KNOWN} or the pupil's year group is at least 7"),
    ("(sickness_suspected and whereabouts_known) or (year_group < 7 and year_group != 3)",
     f"both {SICK} and {KNOWN}, or both the pupil's year group is less than 7 and "
     "the pupil's year group is not 3"),
    # Comparisons
    ("unauthorised_run >= params.deletion.continuous_absence",
     "the pupil has been absent without authorisation for at least 20 consecutive school days"),
    ("20 school days <= unauthorised_run",
     "the pupil has been absent without authorisation for at least 20 consecutive school days"),
    ("absence_share(params.term.start) >= params.referral.share",
     "the pupil has missed at least 10% of possible sessions since 19 August 2024"),
    ("days_absent < 28 days", "the pupil was present within the last 28 days"),
    ("days_absent > 4 weeks as days", "the pupil has not been seen for more than 28 days"),
    ("unauthorised_run > 5 school days",
     "the current run of unauthorised absence is more than 5 school days"),
    ("year_group <= 11", "the pupil's year group is at most 11"),
    ("last_seen > 2024-08-19", "the date the pupil was last seen is after 19 August 2024"),
    ("last_seen <= today - params.referral.window",
     "the date the pupil was last seen is on or before 4 weeks before the date of the check"),
    ("today >= params.term.start", "the date of the check is on or after 19 August 2024"),
    ("2024-08-19 < today", "19 August 2024 is before the date of the check"),
    ("reason == moved_abroad", "the reason the pupil left is moved abroad"),
    ("visit == moved_abroad", "the outcome of the home visit is a move abroad"),
    # In
    ("reason in {moved_abroad, elective_home_education}",
     "the reason the pupil left is one of moved abroad or electively home educated"),
    ("reason not in {moved_abroad, other_school, elective_home_education}",
     "the reason the pupil left is not one of moved abroad, joined another school or "
     "electively home educated"),
    ("visit in {no_answer}", "the outcome of the home visit is no answer"),
    # Arithmetic and conversion
    ("last_seen + 10 school days", "10 school days after the date the pupil was last seen"),
    ("2024-08-19 - 1 week", "1 week before 19 August 2024"),
    ("year_group - 1", "the pupil's year group minus 1"),
    ("3 school days + 2 school days", "3 school days plus 2 school days"),
    ("4 weeks as days", "4 weeks (28 days)"),
    ("params.referral.window as days", "4 weeks (28 days)"),
    ("10 school days as sessions", "10 school days (20 sessions)"),
    ("unauthorised_run as sessions", "the current run of unauthorised absence in sessions"),
]


@pytest.mark.parametrize(("source", "expected"), GOLDEN, ids=[s for s, _ in GOLDEN])
def test_golden(source: str, expected: str) -> None:
    assert render(parse_expr(source), VOCAB) == expected


def test_golden_covers_every_node_kind() -> None:
    seen = {type(node) for source, _ in GOLDEN for node in ast.walk(parse_expr(source))}
    assert seen == set(ast.NODE_KINDS)


N = ast.Name(("year_group",))
SAMPLES: dict[type, ast.Expr] = {
    ast.BoolLit: ast.BoolLit(True),
    ast.IntLit: ast.IntLit(3),
    ast.PercentLit: ast.PercentLit(Decimal("12.50")),
    ast.DateLit: ast.DateLit(dt.date(2025, 1, 6)),
    ast.DurationLit: ast.DurationLit(2, ast.Unit.DAYS),
    ast.Name: ast.Name(("sickness_suspected",)),
    ast.Call: ast.Call(ast.Name(("absence_share",)), (ast.DateLit(dt.date(2025, 1, 6)),)),
    ast.SetLit: ast.SetLit((ast.Name(("moved_abroad",)), ast.Name(("other_school",)))),
    ast.Not: ast.Not(ast.Name(("whereabouts_known",))),
    ast.BoolOp: ast.BoolOp("or", (ast.BoolLit(True), ast.BoolLit(False))),
    ast.Compare: ast.Compare(">=", N, ast.IntLit(7)),
    ast.In: ast.In(ast.Name(("reason",)), ast.SetLit((ast.Name(("moved_abroad",)),)), True),
    ast.Arith: ast.Arith("+", N, ast.IntLit(1)),
    ast.Convert: ast.Convert(ast.DurationLit(2, ast.Unit.YEARS), ast.Unit.MONTHS),
}


@pytest.mark.parametrize("kind", ast.NODE_KINDS, ids=lambda k: k.__name__)
def test_every_node_kind_renders(kind: type) -> None:
    assert kind in SAMPLES, f"add a sample {kind.__name__} (and a renderer) to english.py"
    text = render(SAMPLES[kind], VOCAB)
    assert text.strip() and "{" not in text


def test_empty_vocabulary_falls_back_to_words() -> None:
    expr = parse_expr("unauthorised_run >= params.deletion.continuous_absence and today > x")
    assert render(expr, Vocabulary()) == ("unauthorised run is at least deletion continuous "
                                          "absence and the date of the check is after x")


def test_cyclic_parameter_does_not_recurse() -> None:
    loop = m.Parameter("a", "b", ast.Name(("params", "a", "b")), "the looping parameter")
    vocab = Vocabulary(params={loop.qualified: loop})
    expr = parse_expr("params.a.b as days")
    assert render(expr, vocab) == "the looping parameter in days"


def test_template_is_substituted_not_formatted() -> None:
    measure = m.Measure("run", "consecutive_school_days", "run", phrases=(
        (">=", "{value.__class__} {0} {} {value} {typo}"),))
    vocab = Vocabulary(measures={"run": measure})
    assert render(parse_expr("run >= 3"), vocab) == "{value.__class__} {0} {} 3 {typo}"


def test_hand_built_odd_nodes_do_not_raise() -> None:
    odd: list[ast.Expr] = [
        ast.Name(()), ast.BoolOp("and", ()), ast.BoolOp("or", (N,)), ast.SetLit(()),
        ast.Compare("~", N, N), ast.Arith("*", N, N), ast.In(N, ast.SetLit(())),
        ast.PercentLit(Decimal("NaN")), ast.Call(ast.Name(("unknown",)), ()),
        ast.Call(ast.Name(("absence_share",)), ()), ast.Name(("absence_share",)),
    ]
    for expr in odd:
        assert render(expr, VOCAB).strip()


# Random ASTs: names from the vocabulary plus a few unknown ones.

NAMES = sorted([*VOCAB.facts, *VOCAB.measures, *VOCAB.params, *VOCAB.members, "today",
                "unknown_thing", "params.missing.value"])
names = st.sampled_from(NAMES).map(lambda n: ast.Name(tuple(n.split("."))))
leaves: st.SearchStrategy[ast.Expr] = st.one_of(
    st.builds(ast.BoolLit, st.booleans()),
    st.builds(ast.IntLit, st.integers(-10**6, 10**6)),
    st.builds(ast.PercentLit, st.decimals(allow_nan=True, allow_infinity=True)),
    st.builds(ast.DateLit, st.dates()),
    st.builds(ast.DurationLit, st.integers(0, 1000), st.sampled_from(ast.Unit)),
    names,
)


def _extend(inner: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    several = st.lists(inner, max_size=4).map(tuple)
    return st.one_of(
        st.builds(ast.Call, names, several),
        st.builds(ast.SetLit, several),
        st.builds(ast.Not, inner),
        st.builds(ast.BoolOp, st.sampled_from(["and", "or"]), several),
        st.builds(ast.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), inner, inner),
        st.builds(ast.In, inner, inner, st.booleans()),
        st.builds(ast.Arith, st.sampled_from(["+", "-"]), inner, inner),
        st.builds(ast.Convert, inner, st.sampled_from(ast.Unit)),
    )


exprs = st.recursive(leaves, _extend, max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_random_asts_render(expr: ast.Expr) -> None:
    text = render(expr, VOCAB)
    assert isinstance(text, str) and text.strip()
    assert "{" not in text
