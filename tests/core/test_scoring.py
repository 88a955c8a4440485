"""Scoring rules on small hand-computed examples: every expected number is worked out in a comment."""

import json
import math

import pandas as pd
import pytest

from app.core.anonymize import NOTE_BELOW_K, NOTE_MERGED, NOTE_NO_RESPONDENTS
from app.core.estimates import Z95
from app.core.questionnaire import directed
from app.core.scoring import (
    SCHEMES,
    Scheme,
    SchemeError,
    scheme_from_definition,
    score,
    score_democratic,
    score_hotline,
    score_positive_negative,
    score_satisfaction,
)
from app.core.weighting import Design

NAN = float("nan")
GROUPS = {"superior": 0.4, "peer": 0.3, "subordinate": 0.3}


def _answers(ballots: dict) -> pd.DataFrame:
    """{(response_id, target, group): {indicator: [item scores]}} -> the long answer frame."""
    rows = [
        {
            "response_id": response_id,
            "target_id": target,
            "rater_group": group,
            "indicator": indicator,
            "item_key": f"{indicator}_{i}",
            "score": value,
        }
        for (response_id, target, group), indicators in ballots.items()
        for indicator, values in indicators.items()
        for i, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


# One official "T1"; indicators stance (weight 2) and conduct (weight 1); k = 2.
#   r1 superior:    stance 100,100 -> 100; conduct 70 -> (2·100 + 70)/3 = 90
#   r2 superior:    stance 80, don't know -> 80; conduct don't know -> 80 (stance only)
#   r3 peer:        stance 60,60 -> 60; conduct 90 -> (120 + 90)/3 = 70
#   r4 peer:        stance 90,90 -> 90; conduct 60 -> (180 + 60)/3 = 80
#   r5 subordinate: all 100 -> 100, but 1 rater < k
BALLOTS = {
    (1, "T1", "superior"): {"stance": [100, 100], "conduct": [70]},
    (2, "T1", "superior"): {"stance": [80, NAN], "conduct": [NAN]},
    (3, "T1", "peer"): {"stance": [60, 60], "conduct": [90]},
    (4, "T1", "peer"): {"stance": [90, 90], "conduct": [60]},
    (5, "T1", "subordinate"): {"stance": [100, 100], "conduct": [100]},
}


def _scheme(**changes) -> Scheme:
    options = {
        "name": "positive_negative",
        "indicator_weights": {"stance": 2, "conduct": 1},
        "group_weights": GROUPS,
        "min_group_size": 2,
    } | changes
    return Scheme(**options)


def _score_pn(answers, scheme=None, **options):
    return score_positive_negative(
        answers, scheme or _scheme(), questionnaire_version="political@3", **options
    )


def _note(evaluation, group):
    return next(n for n in evaluation.groups if n.group == group)


def test_small_group_is_dropped_and_the_others_renormalised():
    (official,) = _score_pn(_answers(BALLOTS)).scores
    # superior mean (90 + 80)/2 = 85, peer (70 + 80)/2 = 75; subordinate dropped (1 < k = 2),
    # weights 0.4 and 0.3 re-normalised to 4/7 and 3/7: 85·4/7 + 75·3/7 = 565/7 = 80.714…
    assert official.score.value == pytest.approx(565 / 7)
    assert official.grade == "qualified"
    # s² = ((90−85)² + (80−85)²)/1 = 50 in both groups: Var = (4/7)²·50/2 + (3/7)²·50/2 = 625/49
    assert official.score.se == pytest.approx(25 / 7)
    assert official.score.ci_low == pytest.approx(565 / 7 - Z95 * 25 / 7)
    # n = 4 used raters; Kish 1 / Σ W²/n = 1 / ((16/49)/2 + (9/49)/2) = 98/25
    assert official.score.n == 4
    assert official.score.n_effective == pytest.approx(98 / 25)
    subordinate = _note(official, "subordinate")
    # never the count of a group below k, only what happened to it
    assert (subordinate.status, subordinate.n, subordinate.weight, subordinate.score) == (
        "suppressed",
        None,
        0.0,
        None,
    )
    assert subordinate.note == NOTE_BELOW_K.format(k=2)
    superior = _note(official, "superior")
    assert (superior.status, superior.weight, superior.score) == ("used", pytest.approx(4 / 7), 85)


def test_group_se_is_the_stratified_design_with_fpc():
    # the closed form must equal weighting.Design with strata = group, fpc = known size and
    # each rater weighted W_g / n_g: superior 2 raters of 4, peer 2 of 2
    ballots = pd.DataFrame(
        {
            "score": [90.0, 80.0, 70.0, 80.0],
            "group": ["superior", "superior", "peer", "peer"],
            "weight": [2 / 7, 2 / 7, 1.5 / 7, 1.5 / 7],
            "size": [4, 4, 2, 2],
        }
    )
    design = Design(ballots, weights="weight", strata="group", fpc="size").mean("score")
    sizes = pd.DataFrame(
        {"target_id": "T1", "rater_group": ["superior", "peer"], "group_size": [4, 2]}
    )
    (official,) = _score_pn(_answers(BALLOTS), group_sizes=sizes).scores
    assert official.score.value == pytest.approx(design.value)
    assert official.score.se == pytest.approx(design.se)


def test_known_group_sizes_apply_the_finite_population_correction():
    sizes = pd.DataFrame(
        {"target_id": "T1", "rater_group": ["superior", "peer"], "group_size": [4, 2]}
    )
    (official,) = _score_pn(_answers(BALLOTS), group_sizes=sizes).scores
    # superior: 2 of 4 raters, (1 − 1/2)·(16/49)·25 = 200/49; peer: 2 of 2, a census: 0
    assert official.score.se == pytest.approx(math.sqrt(200) / 7)
    assert official.score.value == pytest.approx(565 / 7)


def test_group_size_below_the_raters_counted_is_an_error():
    sizes = pd.DataFrame({"target_id": ["T1"], "rater_group": ["peer"], "group_size": [1]})
    with pytest.raises(SchemeError, match="more than its known size"):
        _score_pn(_answers(BALLOTS), group_sizes=sizes)


def test_small_group_merges_into_the_named_group_with_its_weight():
    (official,) = _score_pn(_answers(BALLOTS), _scheme(small_group="merge:peer")).scores
    # subordinate (1 rater) joins peer: peer = (70 + 80 + 100)/3 = 250/3 with weight 0.3 + 0.3;
    # 0.4·85 + 0.6·250/3 = 34 + 50 = 84
    assert official.score.value == pytest.approx(84)
    subordinate, peer = _note(official, "subordinate"), _note(official, "peer")
    assert (subordinate.status, subordinate.merged_into, subordinate.weight) == (
        "merged",
        "peer",
        0.0,
    )
    assert subordinate.note == NOTE_MERGED.format(group="peer")
    assert (peer.status, peer.n, peer.weight) == ("used", 3, pytest.approx(0.6))
    assert peer.score == pytest.approx(250 / 3)


def test_every_group_below_k_gives_no_score_and_says_why():
    (official,) = _score_pn(_answers(BALLOTS), _scheme(min_group_size=3)).scores
    assert math.isnan(official.score.value) and official.grade is None
    assert {n.status for n in official.groups} == {"suppressed"}


def test_groups_without_raters_are_noted_absent():
    scheme = _scheme(
        group_weights={"superior": 0.4, "peer": 0.3, "subordinate": 0.2, "public": 0.1}
    )
    (official,) = _score_pn(_answers(BALLOTS), scheme).scores
    public = _note(official, "public")
    assert (public.status, public.n, public.weight) == ("absent", None, 0.0)
    assert public.note == NOTE_NO_RESPONDENTS
    # superior 0.4 and peer 0.3 re-normalised as before: 565/7
    assert official.score.value == pytest.approx(565 / 7)


def test_negative_items_arrive_turned_round_and_are_not_flipped_again():
    # a negative-list item ("acts in form only?") answered yes scores 100 in the positive
    # sense; the questionnaire turns it round to 0 before scoring sees it
    yes_to_negative = directed(100, "negative", 100)
    assert yes_to_negative == 0
    ballots = {(i, "T1", "superior"): {"stance": [100, yes_to_negative]} for i in range(1, 4)}
    answers = _answers(ballots).assign(direction=["positive", "negative"] * 3)
    (official,) = _score_pn(answers, _scheme(indicator_weights={})).scores
    # each ballot (100 + 0)/2 = 50; a second flip would have given 100
    assert official.score.value == pytest.approx(50)
    assert official.grade == "needs_review"


def test_indicator_without_a_weight_is_an_error():
    with pytest.raises(SchemeError, match="without a weight.*conduct"):
        _score_pn(_answers(BALLOTS), _scheme(indicator_weights={"stance": 1}))


def test_unknown_rater_group_is_an_error():
    answers = _answers({(1, "T1", "neighbour"): {"stance": [100]}})
    with pytest.raises(SchemeError, match="neighbour"):
        _score_pn(answers)


def test_scores_outside_0_to_100_are_rejected():
    with pytest.raises(SchemeError, match="0..100"):
        _score_pn(_answers({(1, "T1", "superior"): {"stance": [120]}}))


def test_missing_columns_are_named():
    with pytest.raises(SchemeError, match="rater_group"):
        _score_pn(_answers(BALLOTS).drop(columns="rater_group"))


def test_flagged_responses_are_excluded_only_when_the_scheme_says_and_listed():
    flags = pd.DataFrame(
        {"response_id": [4], "flag": ["speeder"], "reason": ["took 20 s, under 1/3 of 120 s"]}
    )
    kept = _score_pn(_answers(BALLOTS), flags=flags)
    assert kept.exclusions == [] and kept.scores[0].score.n == 4
    result = _score_pn(_answers(BALLOTS), _scheme(exclude_flags=("speeder",)), flags=flags)
    # without r4, peer has 1 rater < k: superior alone, 85
    assert result.scores[0].score.value == pytest.approx(85)
    assert [(e.response_id, e.flag) for e in result.exclusions] == [(4, "speeder")]


def test_result_records_how_to_recompute_it_and_serialises_to_json():
    result = _score_pn(_answers(BALLOTS), weighting_method="rater_group_weights")
    data = result.as_dict()
    assert data["provenance"]["scheme"] == "positive_negative"
    assert data["provenance"]["version"] == "positive_negative@1"
    assert data["provenance"]["questionnaire_version"] == "political@3"
    assert data["provenance"]["weighting_method"] == "rater_group_weights"
    assert data["provenance"]["parameters"]["group_weights"] == GROUPS
    json.dumps(data, allow_nan=False)  # no NaN or numpy scalar left
    assert json.loads(json.dumps(data))["scores"][0]["score"]["value"] == pytest.approx(565 / 7)


def test_registry_dispatches_by_scheme_name():
    assert SCHEMES["positive_negative"].function is score_positive_negative
    assert {r.version for r in SCHEMES.values()} == {
        "satisfaction@1",
        "positive_negative@1",
        "democratic@1",
        "hotline@1",
    }
    result = score(_answers(BALLOTS), _scheme(), questionnaire_version="political@3")
    assert result.scores[0].score.value == pytest.approx(565 / 7)


def test_scheme_given_to_another_rule_is_refused():
    with pytest.raises(SchemeError, match="given to the hotline rule"):
        score_hotline(pd.DataFrame(), _scheme(), questionnaire_version="q")


# --- scheme validation ----------------------------------------------------------------------


def _band(grade, low, high):
    return {"grade": grade, "min": low, "max": high}


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ((_band("a", 80, 100), _band("b", 0, 85)), "overlap"),
        ((_band("a", 90, 100), _band("b", 0, 80)), "gap between bands"),
        ((_band("a", 50, 100), _band("b", 10, 50)), "must start at 0"),
        ((_band("a", 50, 90), _band("b", 0, 50)), "must end at 100"),
        ((_band("a", 0, 100), _band("a", 100, 100)), "duplicate grade"),
        ((), "at least one band"),
    ],
)
def test_bad_bands_are_refused_with_a_clear_message(bands, message):
    with pytest.raises(SchemeError, match=message):
        _scheme(bands=bands)


def test_custom_bands_grade_the_score():
    bands = (_band("a", 85, 100), _band("b", 60, 85), _band("c", 0, 60))
    (official,) = _score_pn(_answers(BALLOTS), _scheme(bands=bands)).scores
    assert official.grade == "b"  # 80.71 is in [60, 85)


def test_group_weights_must_sum_to_one():
    with pytest.raises(SchemeError, match="group weights must sum to 1, not 0.9"):
        _scheme(group_weights={"superior": 0.5, "peer": 0.4})


def test_nonpositive_weights_and_bad_small_group_rules_are_refused():
    with pytest.raises(SchemeError, match="'peer' must be > 0"):
        _scheme(group_weights={"superior": 1.0, "peer": 0.0})
    with pytest.raises(SchemeError, match="merge:<rater group>"):
        _scheme(small_group="merge:nobody")
    with pytest.raises(SchemeError, match="unknown scheme"):
        Scheme(name="lottery")


def test_scheme_from_a_questionnaire_definition():
    definition = {
        "indicators": [{"key": "stance", "weight": 2}, {"key": "conduct"}],
        "scoring": {
            "scheme": "positive_negative",
            "version": 4,
            "rater_groups": [{"key": "superior", "weight": 0.6}, {"key": "peer", "weight": 0.4}],
            "small_group": "merge:peer",
            "min_group_size": 5,
            "exclude_flagged": True,
        },
    }
    scheme = scheme_from_definition(definition)
    assert scheme.version == 4 and scheme.merge_into == "peer" and scheme.min_group_size == 5
    assert scheme.indicator_weights == {"stance": 2.0, "conduct": 1.0}
    assert scheme.exclude_flags == ("speeder", "straight_liner")


# --- democratic evaluation ------------------------------------------------------------------

DEMOCRATIC = Scheme(
    name="democratic", group_weights={"superior": 0.5, "peer": 0.5}, min_group_size=2
)


def _ballots(rows):
    return pd.DataFrame(
        rows, columns=["response_id", "target_id", "rater_group", "grade", "team_id"]
    )


def test_democratic_shares_score_and_team_shares():
    ballots = _ballots(
        [
            (1, "O1", "superior", "excellent", "T"),
            (2, "O1", "superior", "competent", "T"),
            (3, "O1", "peer", "competent", "T"),
            (4, "O1", "peer", "competent", "T"),
            (5, "O1", "peer", "incompetent", "T"),
            (6, "O1", "peer", None, "T"),  # abstention: left out
        ]
        + [
            (10 + i, "O2", g, "excellent", "T")
            for i, g in enumerate(["superior"] * 2 + ["peer"] * 3)
        ]
    )
    result = score_democratic(ballots, DEMOCRATIC, questionnaire_version="annual@1")
    o1, o2 = result.scores
    # O1 superior: points (100 + 80)/2 = 90; peer (80 + 80 + 0)/3 = 160/3; 0.5·90 + 0.5·160/3 = 71.67
    assert o1.score.value == pytest.approx(45 + 80 / 3)
    # shares: excellent 0.5·1/2 = 0.25; competent 0.5·1/2 + 0.5·2/3 = 7/12; incompetent 0.5·1/3
    assert o1.grade_shares == pytest.approx(
        {"excellent": 0.25, "competent": 7 / 12, "basically_competent": 0, "incompetent": 1 / 6}
    )
    assert o1.score.n == 5
    assert o2.score.value == pytest.approx(100) and o2.grade_shares["excellent"] == 1
    # team: each official counts once: excellent (0.25 + 1)/2, competent (7/12 + 0)/2, …
    assert result.teams["T"] == pytest.approx(
        {"excellent": 0.625, "competent": 7 / 24, "basically_competent": 0, "incompetent": 1 / 12}
    )


def test_democratic_points_come_from_the_scheme():
    scheme = Scheme(
        name="democratic",
        group_weights={"peer": 1.0},
        min_group_size=1,
        grade_points={
            "excellent": 95,
            "competent": 85,
            "basically_competent": 70,
            "incompetent": 50,
        },
    )
    ballots = _ballots([(1, "O1", "peer", "excellent", "T"), (2, "O1", "peer", "incompetent", "T")])
    (official,) = score_democratic(ballots, scheme, questionnaire_version="q").scores
    assert official.score.value == pytest.approx(72.5)  # (95 + 50)/2


def test_democratic_refuses_unknown_grades_and_double_ballots():
    with pytest.raises(SchemeError, match="'superb'"):
        score_democratic(
            _ballots([(1, "O1", "peer", "superb", "T")]), DEMOCRATIC, questionnaire_version="q"
        )
    twice = _ballots([(1, "O1", "peer", "excellent", "T"), (1, "O1", "peer", "competent", "T")])
    with pytest.raises(SchemeError, match="same official twice"):
        score_democratic(twice, DEMOCRATIC, questionnaire_version="q")


# --- hotline --------------------------------------------------------------------------------

HOTLINE = Scheme(name="hotline")  # components satisfied 0.5, solved 0.3, timely 0.2


def test_hotline_rates_and_composite_per_street_and_month():
    cases = pd.DataFrame(
        [
            (1, "S1", "2026-01", True, True, True),
            (2, "S1", "2026-01", False, True, False),
            (3, "S1", "2026-01", None, False, True),
            (4, "S1", "2026-01", True, None, True),
            (5, "S2", "2026-01", True, None, None),
            (6, "S2", "2026-01", False, None, None),
        ],
        columns=["response_id", "target_id", "period", "satisfied", "solved", "timely"],
    )
    s1, s2 = score_hotline(cases, HOTLINE, questionnaire_version="hotline@2").scores
    # S1: satisfied 2/3, solved 2/3, timely 3/4 -> 0.5·66.67 + 0.3·66.67 + 0.2·75 = 68.33
    assert (s1.target_id, s1.period, s1.n) == ("S1", "2026-01", 4)
    assert s1.rates == pytest.approx({"satisfied": 200 / 3, "solved": 200 / 3, "timely": 75})
    assert s1.composite == pytest.approx(0.8 * 200 / 3 + 15)
    # S2 answered only "satisfied" (1 of 2): the composite is that rate alone, 50
    assert s2.composite == pytest.approx(50) and math.isnan(s2.rates["solved"])


def test_hotline_components_are_the_schemes_questions():
    scheme = Scheme(name="hotline", components={"solved": 3, "called_back": 1})
    cases = pd.DataFrame(
        {
            "response_id": [1, 2],
            "target_id": "S1",
            "period": "2026-02",
            "solved": [True, True],
            "called_back": [False, True],
        }
    )
    (street,) = score_hotline(cases, scheme, questionnaire_version="q").scores
    # (3·100 + 1·50)/4 = 87.5
    assert street.rates == {"solved": 100, "called_back": 50}
    assert street.composite == pytest.approx(87.5)


def test_hotline_needs_the_components_its_scheme_weighs():
    cases = pd.DataFrame({"response_id": [1], "target_id": ["S1"], "period": ["2026-01"]})
    with pytest.raises(SchemeError, match="satisfied"):
        score_hotline(cases, HOTLINE, questionnaire_version="q")


def test_categorical_keys_and_shuffled_rows_give_the_same_result():
    answers = _answers(BALLOTS)
    categorical = answers.astype(
        {"target_id": "category", "rater_group": "category", "indicator": "category"}
    ).sample(frac=1, random_state=1)
    (plain,), (other,) = _score_pn(answers).scores, _score_pn(categorical).scores
    assert other.score.value == pytest.approx(plain.score.value)
    assert other.score.se == pytest.approx(plain.score.se)
    assert [(n.group, n.status, n.n) for n in other.groups] == [
        (n.group, n.status, n.n) for n in plain.groups
    ]


# --- social satisfaction --------------------------------------------------------------------

SATISFACTION = Scheme(name="satisfaction", indicator_weights={"employment": 1, "medical": 1})


def _satisfaction_answers(rows):
    """rows of (response_id, target, weight, indicator, value, score, satisfied)."""
    return pd.DataFrame(
        rows,
        columns=["response_id", "target_id", "weight", "indicator", "value", "score", "satisfied"],
    ).assign(period="2026-Q1")


# U1: respondent a (weight 1): employment satisfied 80, medical don't know;
#     respondent b (weight 3): employment very satisfied 100, medical dissatisfied 20
U1 = [
    (1, "U1", 1.0, "employment", "satisfied", 80, True),
    (1, "U1", 1.0, "medical", "dont_know", NAN, None),
    (2, "U1", 3.0, "employment", "very_satisfied", 100, True),
    (2, "U1", 3.0, "medical", "dissatisfied", 20, False),
]


def _score_satisfaction(answers, scheme=SATISFACTION, **options):
    return score_satisfaction(
        answers, scheme, questionnaire_version="social@2", weighting_method="raking", **options
    )


def test_satisfaction_scores_rates_and_dont_know_as_a_domain():
    (unit,) = _score_satisfaction(_satisfaction_answers(U1)).scores
    assert (unit.target_id, unit.period) == ("U1", "2026-Q1")
    # overall per respondent: a = 80 (employment only: medical is don't know, not a zero),
    # b = (100 + 20)/2 = 60; unit = (1·80 + 3·60)/4 = 65
    assert unit.overall.value == pytest.approx(65)
    # linearized SE with 2 respondents: z = w(y − 65)/4 = ±3.75; 2/1 · 2 · 3.75² = 56.25
    assert unit.overall.se == pytest.approx(7.5)
    assert unit.overall.ci_high == pytest.approx(65 + Z95 * 7.5)
    # Kish: (1 + 3)² / (1² + 3²) = 1.6
    assert (unit.overall.n, unit.overall.n_effective) == (2, pytest.approx(1.6))
    # employment (1·80 + 3·100)/4 = 95; medical: b alone, 20, n = 1
    assert unit.indicators["employment"].score.value == pytest.approx(95)
    assert unit.indicators["medical"].score.value == pytest.approx(20)
    assert unit.indicators["medical"].score.n == 1
    # rate: a 100 (employment satisfied), b (100 + 0)/2 = 50 -> (100 + 150)/4 = 62.5
    assert unit.satisfaction_rate.value == pytest.approx(62.5)
    assert unit.indicators["employment"].satisfaction_rate.value == pytest.approx(100)
    assert unit.indicators["medical"].satisfaction_rate.value == pytest.approx(0)


def test_satisfied_options_from_the_scheme_when_there_is_no_flag_column():
    answers = _satisfaction_answers(U1).drop(columns="satisfied")
    (unit,) = _score_satisfaction(answers).scores
    assert unit.satisfaction_rate.value == pytest.approx(62.5)
    strict = Scheme(
        name="satisfaction",
        indicator_weights={"employment": 1, "medical": 1},
        satisfied_options=("very_satisfied",),
    )
    (unit,) = _score_satisfaction(answers, strict).scores
    # a: 0 (only satisfied), b: (100 + 0)/2 = 50 -> 3·50/4 = 37.5
    assert unit.satisfaction_rate.value == pytest.approx(37.5)


def test_indicator_weights_are_renormalised_over_the_indicators_answered():
    scheme = Scheme(name="satisfaction", indicator_weights={"employment": 3, "medical": 1})
    (unit,) = _score_satisfaction(_satisfaction_answers(U1), scheme).scores
    # a: employment alone = 80 (weight 3/3); b: (3·100 + 1·20)/4 = 80 -> unit 80
    assert unit.overall.value == pytest.approx(80)


def test_each_unit_is_a_domain_of_the_whole_design():
    # U2: c (weight 2) employment 40, medical 60 -> 50; d (weight 2) 60 and 100 -> 80
    answers = _satisfaction_answers(
        U1
        + [
            (3, "U2", 2.0, "employment", "dissatisfied", 40, False),
            (3, "U2", 2.0, "medical", "basically_satisfied", 60, False),
            (4, "U2", 2.0, "employment", "basically_satisfied", 60, False),
            (4, "U2", 2.0, "medical", "very_satisfied", 100, True),
        ]
    )
    u1, u2 = _score_satisfaction(answers).scores
    assert u2.overall.value == pytest.approx(65)  # (2·50 + 2·80)/4
    # as R's svyby: 4 respondents (PSUs), U1's z = ±3.75 and 0 for U2's rows: 4/3 · 28.125
    assert u1.overall.se == pytest.approx(math.sqrt(37.5))
    assert u1.overall.n == 2


def test_periods_are_scored_separately():
    answers = pd.concat(
        [
            _satisfaction_answers(U1),
            _satisfaction_answers(U1[2:]).assign(period="2026-Q2"),
        ]
    )
    q1, q2 = _score_satisfaction(answers).scores
    assert (q1.period, q2.period) == ("2026-Q1", "2026-Q2")
    assert q2.overall.value == pytest.approx(60) and q2.overall.n == 1


def test_satisfaction_result_lists_exclusions_and_provenance():
    flags = pd.DataFrame({"response_id": [2], "flag": ["speeder"], "reason": ["took 9 s"]})
    scheme = Scheme(
        name="satisfaction",
        indicator_weights={"employment": 1, "medical": 1},
        exclude_flags=("speeder",),
    )
    result = _score_satisfaction(_satisfaction_answers(U1), scheme, flags=flags)
    assert result.scores[0].overall.value == pytest.approx(80)  # a alone
    assert "medical" not in result.scores[0].indicators  # nobody left who answered it
    assert result.as_dict()["exclusions"] == [
        {"response_id": 2, "flag": "speeder", "reason": "took 9 s"}
    ]
    json.dumps(result.as_dict(), allow_nan=False)
    assert result.provenance.version == "satisfaction@1"
    assert result.provenance.weighting_method == "raking"


def test_satisfaction_needs_a_way_to_tell_satisfied_answers():
    answers = _satisfaction_answers(U1).drop(columns=["satisfied", "value"])
    with pytest.raises(SchemeError, match="'satisfied' or a 'value' column"):
        _score_satisfaction(answers)


def test_small_groups_merge_into_a_group_that_had_no_raters_of_its_own():
    ballots = {key: BALLOTS[key] for key in [(1, "T1", "superior"), (5, "T1", "subordinate")]}
    (official,) = _score_pn(_answers(ballots), _scheme(small_group="merge:peer")).scores
    # superior (90) and subordinate (100) each have 1 rater < k = 2: both join peer,
    # which now has 2 raters and weight 0.4 + 0.3, re-normalised to 1: (90 + 100)/2 = 95
    assert official.score.value == pytest.approx(95)
    peer = _note(official, "peer")
    assert (peer.status, peer.n, peer.weight) == ("used", 2, pytest.approx(1))
    assert {n.group: n.status for n in official.groups} == {
        "peer": "used",
        "subordinate": "merged",
        "superior": "merged",
    }
