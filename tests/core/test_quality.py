"""Quality flags on crafted data: speeders, straight-liners, non-discriminating raters, spread."""

import pandas as pd
import pytest

from app.core.quality import (
    FLAG_COLUMNS,
    flag_non_discriminating,
    flag_speeders,
    flag_straight_liners,
    indicator_spread,
    rater_spread,
    spread,
)


def test_speeders_are_below_a_third_of_the_median_duration():
    durations = pd.DataFrame(
        {"response_id": [1, 2, 3, 4, 5, 6], "duration_seconds": [300, 310, 290, 90, 100, None]}
    )
    flags = flag_speeders(durations)
    # median of the 5 known durations is 290; a third is 96.7: 90 s is flagged, 100 s is not
    assert list(flags.columns) == FLAG_COLUMNS
    assert flags["response_id"].tolist() == [4]
    assert flags["reason"].iloc[0] == "took 90 s, under 0.33 of the median 290 s"


def test_speeder_fraction_is_configurable():
    durations = pd.DataFrame(
        {"response_id": [1, 2, 3, 4], "duration_seconds": [300, 300, 200, 100]}
    )
    # median 250; half of it is 125
    assert flag_speeders(durations, fraction=0.5)["response_id"].tolist() == [4]


def _matrix(response_id, indicator, values, target="A"):
    return [
        {
            "response_id": response_id,
            "target_id": target,
            "indicator": indicator,
            "item_key": f"i{i}",
            "value": value,
            "score": {"yes": 100.0, "no": 0.0}.get(value),
        }
        for i, value in enumerate(values)
    ]


def test_straight_liners_give_one_answer_to_every_item_of_a_matrix():
    answers = pd.DataFrame(
        _matrix(1, "stance", ["yes"] * 5)  # flagged
        + _matrix(1, "conduct", ["yes"] * 5)  # flagged too: one flag naming both
        + _matrix(2, "stance", ["yes"] * 4 + ["no"])  # varied
        + _matrix(3, "stance", ["yes"] * 4)  # only 4 items < min_items 5
        + _matrix(4, "stance", ["dont_know"] * 5)  # don't know throughout counts
    )
    flags = flag_straight_liners(answers)
    assert flags["response_id"].tolist() == [1, 4]
    assert flags["reason"].iloc[0] == "one answer to every item of conduct, stance"
    assert flag_straight_liners(answers, min_items=4)["response_id"].tolist() == [1, 3, 4]


def test_a_matrix_spans_its_targets():
    # all yes for official A but no for B: the rater told them apart
    answers = pd.DataFrame(
        _matrix(1, "stance", ["yes"] * 5) + _matrix(1, "stance", ["no"] * 5, "B")
    )
    assert flag_straight_liners(answers).empty


def test_spread_is_range_over_max():
    frame = pd.DataFrame({"k": ["a", "a", "b", "b", "c"], "score": [100, 70, 0, 0, 50]})
    table = spread(frame, ["k"]).set_index("k")
    # a: (100 − 70)/100 = 0.3; b: max 0, nothing told apart: 0; c: one value: 0
    assert table["spread"].to_dict() == {"a": pytest.approx(0.3), "b": 0.0, "c": 0.0}


def _ratings(rater_scores: dict) -> pd.DataFrame:
    """{(response_id, group): {target: [item scores]}} -> long answers."""
    return pd.DataFrame(
        [
            {"response_id": r, "rater_group": g, "target_id": t, "indicator": "work", "score": s}
            for (r, g), targets in rater_scores.items()
            for t, scores in targets.items()
            for s in scores
        ]
    )


CITIES = [f"city{i:02d}" for i in range(13)]


def test_the_evaluator_that_gave_all_13_cities_full_marks_is_flagged():
    answers = _ratings(
        {
            (1, "department"): {c: [100, 100] for c in CITIES},  # spread 0
            (2, "department"): {"A": [100, 100], "B": [80, 70], "C": [90, 100]},  # 25%: flagged
            (3, "department"): {"A": [100], "B": [60], "C": [80]},  # 40%: fine
            (4, "department"): {"A": [100], "B": [100]},  # 2 targets < min_targets 3
        }
    )
    flags = flag_non_discriminating(answers)
    assert flags["response_id"].tolist() == [1, 2]
    assert flags["flag"].unique().tolist() == ["non_discriminating"]
    # rater 2: target means 100, 75, 95: (100 − 75)/100 = 25%
    assert flags["reason"].tolist() == [
        "scored 13 targets between 100 and 100: spread 0% < 30%",
        "scored 3 targets between 75 and 100: spread 25% < 30%",
    ]


def test_rater_group_spread_reports_groups_that_do_not_discriminate():
    answers = _ratings(
        {
            (1, "superior"): {"A": [100], "B": [100], "C": [95]},
            (2, "superior"): {"A": [90], "B": [100], "C": [100]},
            (3, "peer"): {"A": [100], "B": [50], "C": [80]},
        }
    )
    table = rater_spread(answers, rater="rater_group").set_index("rater_group")
    # superior target means: A 95, B 100, C 97.5 -> (100 − 95)/100 = 5%; peer (100 − 50)/100
    assert table.loc["superior", "spread"] == pytest.approx(0.05)
    assert table.loc["peer", "spread"] == pytest.approx(0.5)
    assert table["flagged"].to_dict() == {"peer": False, "superior": True}


def test_indicator_spread_across_units_of_the_same_type():
    units = pd.DataFrame(
        {
            "target_id": ["c1", "c2", "c3", "c1", "c2", "c3", "x1"],
            "unit_type": ["city"] * 6 + ["county"],
            "indicator": ["jobs"] * 3 + ["schools"] * 3 + ["jobs"],
            "score": [90, 80, 85, 95, 50, None, 70],
        }
    )
    table = indicator_spread(units).set_index(["unit_type", "indicator"])
    # city jobs: (90 − 80)/90 = 11% flagged; city schools: (95 − 50)/95 = 47%; county: 1 unit
    assert table.loc[("city", "jobs"), "spread"] == pytest.approx(10 / 90)
    assert table["flagged"].to_dict() == {
        ("city", "jobs"): True,
        ("city", "schools"): False,
        ("county", "jobs"): False,
    }
    assert table.loc[("city", "schools"), "n_units"] == 2
