"""Peer comparison: competition ranks with ties, percentiles, principals and deputies."""

import math

import pandas as pd
import pytest

from app.core.ranking import rank_officials, rank_units


def test_ties_share_the_best_place_and_the_next_is_skipped():
    units = pd.DataFrame(
        {
            "target_id": ["a", "b", "c", "d", "e"],
            "unit_type": "county",
            "score": [90, 85, 85, 80, None],
        }
    )
    ranked = rank_units(units).set_index("target_id")
    assert ranked["rank"].tolist()[:4] == [1, 2, 2, 4]
    assert ranked.loc["e", "rank"] is pd.NA  # no score: not ranked
    # percentile = share of the other 3 peers strictly below: a 3/3, b and c 1/3, d 0/3
    assert ranked["percentile"].tolist()[:4] == pytest.approx([100, 100 / 3, 100 / 3, 0])
    assert ranked.loc["a", "n_peers"] == 4


def test_units_are_compared_only_with_units_of_the_same_type():
    units = pd.DataFrame(
        {
            "target_id": ["c1", "c2", "s1"],
            "unit_type": ["county", "county", "street"],
            "score": [70, 80, 60],
        }
    )
    ranked = rank_units(units).set_index("target_id")
    assert ranked["rank"].to_dict() == {"c1": 2, "c2": 1, "s1": 1}
    assert math.isnan(ranked.loc["s1", "percentile"])  # no peer to compare with


def test_monthly_rankings_group_by_period_too():
    streets = pd.DataFrame(
        {
            "target_id": ["s1", "s2", "s1", "s2"],
            "unit_type": "street",
            "period": ["2026-01", "2026-01", "2026-02", "2026-02"],
            "score": [80, 90, 95, 85],
        }
    )
    ranked = rank_units(streets, by=("unit_type", "period"))
    assert ranked["rank"].tolist() == [2, 1, 1, 2]


OFFICIALS = pd.DataFrame(
    {
        "target_id": ["p1", "d1a", "d1b", "p2", "d2a", "p3"],
        "role": ["principal", "deputy", "deputy", "principal", "deputy", "principal"],
        "team_id": ["t1", "t1", "t1", "t2", "t2", "t3"],
        "unit_type": ["county", "county", "county", "county", "county", "city"],
        "score": [88, 95, 70, 92, 99, 80],
    }
)


def test_principals_rank_across_same_type_units_and_deputies_within_their_team():
    ranked = rank_officials(OFFICIALS).set_index("target_id")
    # county principals p2 (92) and p1 (88); p3 is the only city principal
    assert ranked.loc[["p1", "p2", "p3"], "rank"].tolist() == [2, 1, 1]
    # t1's deputies d1a (95) and d1b (70); d2a alone in t2 — never against d1a or p1
    assert ranked.loc[["d1a", "d1b", "d2a"], "rank"].tolist() == [1, 2, 1]
    assert ranked.loc["d2a", "n_peers"] == 1
    assert ranked.loc["d1a", "peer_group"] == "deputy:t1"
    assert ranked.loc["p1", "peer_group"] == "principal:county"


def test_unknown_roles_are_refused():
    with pytest.raises(ValueError, match="'mayor'"):
        rank_officials(OFFICIALS.assign(role=["mayor"] + list(OFFICIALS["role"][1:])))
