"""Properties of the scoring rules on generated data: bounds, order invariance, weights, the design SE."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.scoring import (
    Scheme,
    group_plan,
    score_democratic,
    score_positive_negative,
    score_satisfaction,
)
from app.core.weighting import Design

GROUPS = {"superior": 0.4, "peer": 0.35, "public": 0.25}
EVALUATION = Scheme(name="positive_negative", group_weights=GROUPS, min_group_size=2)
MERGING = Scheme(
    name="positive_negative", group_weights=GROUPS, min_group_size=2, small_group="merge:peer"
)
item_scores = st.one_of(st.sampled_from([0.0, 50.0, 100.0, math.nan]), st.floats(0, 100))


@st.composite
def evaluation_answers(draw) -> pd.DataFrame:
    """Ballots of 1–4 targets, each a rater of some group answering 1–3 items of 1–2 indicators."""
    rows = []
    for response_id in range(draw(st.integers(1, 25))):
        target = draw(st.sampled_from(["A", "B", "C", "D"]))
        group = draw(st.sampled_from(list(GROUPS)))
        for indicator in draw(st.sampled_from([["stance"], ["stance", "conduct"]])):
            for item in range(draw(st.integers(1, 3))):
                rows.append(
                    (response_id, target, group, indicator, f"{indicator}{item}", draw(item_scores))
                )
    return pd.DataFrame(
        rows, columns=["response_id", "target_id", "rater_group", "indicator", "item_key", "score"]
    )


def _evaluate(answers, scheme=EVALUATION):
    return score_positive_negative(answers, scheme, questionnaire_version="q").scores


def _numbers(evaluations):
    return [
        (
            e.target_id,
            e.score.value,
            e.score.se,
            e.score.n,
            e.grade,
            [(g.group, g.status, g.n) for g in e.groups],
        )
        for e in evaluations
    ]


def _same(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        assert a[0] == b[0] and a[3:] == b[3:]
        assert a[1] == pytest.approx(b[1], nan_ok=True)
        assert a[2] == pytest.approx(b[2], nan_ok=True)


@settings(max_examples=40, deadline=None)
@given(evaluation_answers(), st.sampled_from([EVALUATION, MERGING]))
def test_evaluation_scores_and_intervals_lie_in_0_to_100(answers, scheme):
    for evaluation in _evaluate(answers, scheme):
        score = evaluation.score
        if not math.isnan(score.value):
            assert -1e-9 <= score.value <= 100 + 1e-9
            assert score.ci_low >= 0 and score.ci_high <= 100


@settings(max_examples=40, deadline=None)
@given(evaluation_answers(), st.randoms(use_true_random=False))
def test_permuting_respondents_changes_nothing(answers, random):
    order = list(range(len(answers)))
    random.shuffle(order)
    # renumbering the respondents too: a response id carries no meaning
    renumbered = {r: 1000 - r for r in answers["response_id"].unique()}
    shuffled = answers.iloc[order].assign(response_id=lambda f: f["response_id"].map(renumbered))
    _same(_numbers(_evaluate(shuffled)), _numbers(_evaluate(answers)))


@settings(max_examples=40, deadline=None)
@given(evaluation_answers(), st.sampled_from([EVALUATION, MERGING]))
def test_used_group_weights_renormalise_to_one(answers, scheme):
    for evaluation in _evaluate(answers, scheme):
        used = [g.weight for g in evaluation.groups if g.status == "used"]
        if used:
            assert sum(used) == pytest.approx(1)
            assert all(g.weight == 0 for g in evaluation.groups if g.status != "used")
        else:
            assert math.isnan(evaluation.score.value)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(1, 6), min_size=1),
    st.lists(st.floats(0.01, 1), min_size=5, max_size=5),
    st.integers(1, 4),
    st.sampled_from(["drop", "merge:a", "merge:c"]),
)
def test_group_plan_weights_sum_to_one_over_used_groups(counts, raw, k, small_group):
    weights = dict(zip("abcde", (w / sum(raw) for w in raw), strict=True))
    scheme = Scheme(
        name="positive_negative", group_weights=weights, min_group_size=k, small_group=small_group
    )
    cells = pd.DataFrame(
        {"target_id": "T", "rater_group": list(counts), "n": list(counts.values())}
    )
    plan = group_plan(cells, scheme)
    # each row carries the weight of the group its raters count in (its own, or the merge target)
    counted_in = plan.drop_duplicates(["target_id", "into"])
    if counted_in["used"].any():
        assert counted_in["weight"].sum() == pytest.approx(1)
    assert (counted_in.loc[~counted_in["used"], "weight"] == 0).all()
    assert set(plan["status"]) <= {"used", "merged", "suppressed", "absent"}


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(list(GROUPS)), st.floats(0, 100)), min_size=6, max_size=30),
    st.integers(0, 5),
)
def test_group_se_equals_the_stratified_design_with_fpc(ballots, extra):
    frame = pd.DataFrame(ballots, columns=["rater_group", "score"]).assign(target_id="T")
    counts = frame["rater_group"].value_counts()
    frame = frame[frame["rater_group"].map(counts) >= 2]  # k = 2: every group is used
    if frame.empty:
        return
    counts = frame["rater_group"].value_counts()
    sizes = pd.DataFrame(
        {"target_id": "T", "rater_group": counts.index, "group_size": counts.to_numpy() + extra}
    )
    answers = frame.assign(response_id=range(len(frame)), indicator="i", item_key="i1")
    (evaluation,) = score_positive_negative(
        answers, EVALUATION, questionnaire_version="q", group_sizes=sizes
    ).scores
    used = {g.group: g.weight for g in evaluation.groups if g.status == "used"}
    design_frame = frame.assign(
        weight=frame["rater_group"].map(used) / frame["rater_group"].map(counts),
        size=frame["rater_group"].map(counts) + extra,
    )
    expected = Design(design_frame, weights="weight", strata="rater_group", fpc="size").mean(
        "score"
    )
    assert evaluation.score.value == pytest.approx(expected.value)
    assert evaluation.score.se == pytest.approx(expected.se, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["O1", "O2"]),
            st.sampled_from(list(GROUPS)),
            st.sampled_from(["excellent", "competent", "basically_competent", "incompetent"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_democratic_shares_sum_to_one_and_score_lies_in_0_to_100(ballots):
    frame = pd.DataFrame(ballots, columns=["target_id", "rater_group", "grade"])
    frame = frame.assign(response_id=range(len(frame)))
    scheme = Scheme(name="democratic", group_weights=GROUPS, min_group_size=2)
    for official in score_democratic(frame, scheme, questionnaire_version="q").scores:
        if not math.isnan(official.score.value):
            assert sum(official.grade_shares.values()) == pytest.approx(1)
            assert 0 <= official.score.value <= 100 + 1e-9


@st.composite
def satisfaction_answers(draw) -> pd.DataFrame:
    rows = []
    for response_id in range(draw(st.integers(2, 20))):
        unit = draw(st.sampled_from(["U1", "U2"]))
        weight = draw(st.floats(0.2, 5))
        for indicator in ["employment", "medical", "schooling"]:
            score = draw(st.sampled_from([0.0, 20.0, 60.0, 80.0, 100.0, math.nan]))
            rows.append((response_id, unit, weight, indicator, score, score >= 80))
    return pd.DataFrame(
        rows, columns=["response_id", "target_id", "weight", "indicator", "score", "satisfied"]
    )


def _satisfaction(answers):
    scheme = Scheme(
        name="satisfaction", indicator_weights={"employment": 2, "medical": 1, "schooling": 1}
    )
    return score_satisfaction(answers, scheme, questionnaire_version="q").scores


def _unit_numbers(units):
    return [
        (u.target_id, u.overall.value, u.overall.se, u.overall.n, sorted(u.indicators))
        for u in units
    ]


@settings(max_examples=50, deadline=None)
@given(satisfaction_answers(), st.randoms(use_true_random=False))
def test_satisfaction_is_bounded_and_ignores_respondent_order(answers, random):
    units = _satisfaction(answers)
    for unit in units:
        for estimate in [unit.overall, unit.satisfaction_rate]:
            if not math.isnan(estimate.value):
                assert -1e-9 <= estimate.value <= 100 + 1e-9
    order = list(range(len(answers)))
    random.shuffle(order)
    _same(_unit_numbers(_satisfaction(answers.iloc[order])), _unit_numbers(units))
