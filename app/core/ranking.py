"""Peer comparison: rank and percentile among like units; principals across units, deputies within their team.

Rank is the competition ("min") rank of the score, highest first: tied scores share the best
place and the next place is skipped (90, 85, 85, 80 → 1, 2, 2, 4). Percentile is the share of
the other peers with a strictly lower score, in % (100: above every peer; 0: none below), NaN
for a unit with no peer. Rows without a score get neither and do not count as peers.
"""

import pandas as pd

ROLES = ("principal", "deputy")  # 正职 / 副职


def rank_within(scores: pd.DataFrame, by: list[str], value: str = "score") -> pd.DataFrame:
    """A copy of scores with rank, percentile and n_peers within each `by` group (see module doc)."""
    ranked = scores.copy()
    peers = ranked.groupby(by, sort=False, dropna=False)[value]
    n_peers = peers.transform("count")
    at_or_above = peers.rank(method="max", ascending=False)
    ranked["rank"] = peers.rank(method="min", ascending=False).astype("Int64")
    ranked["n_peers"] = n_peers.where(ranked[value].notna()).astype("Int64")
    ranked["percentile"] = 100 * (n_peers - at_or_above) / (n_peers - 1).where(n_peers > 1)
    return ranked


def rank_units(
    scores: pd.DataFrame, value: str = "score", by: tuple[str, ...] = ("unit_type",)
) -> pd.DataFrame:
    """Rank units among units of the same type (add "period" to `by` for monthly rankings)."""
    return rank_within(scores, list(by), value)


def rank_officials(
    scores: pd.DataFrame, value: str = "score", by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Rank principals (正职) among principals of same-type units, deputies (副职) only within their own team; needs role, unit_type and team_id; adds peer_group."""
    unknown = scores.loc[~scores["role"].isin(ROLES), "role"]
    if len(unknown):
        raise ValueError(f"role must be one of {ROLES}, found {sorted(map(str, unknown.unique()))}")
    principal = scores["role"] == "principal"
    peer_group = ("principal:" + scores["unit_type"].astype(str)).where(
        principal, "deputy:" + scores["team_id"].astype(str)
    )
    return rank_within(scores.assign(peer_group=peer_group), ["peer_group", *by], value)
