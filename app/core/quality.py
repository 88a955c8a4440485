"""Data quality: speeders, straight-liners, raters and rater groups that do not discriminate, spread.

Flags come back as a DataFrame with FLAG_COLUMNS (response_id, flag, reason). They are always
reported; scoring leaves a flag's responses out only when the scheme lists the flag
(Scheme.exclude_flags), and then lists every exclusion in its result — never silently.

Spread, for the 30% rule (Gansu: scores within an indicator must spread by at least 30%; an
evaluator that gave all 13 cities full marks was sanctioned): over the targets' scores,
spread = (max − min) / max, and 0 when max is 0 (nothing was told apart). With full marks at
the top it is the gap in points per 100. Scheme.spread_threshold carries a scheme's threshold.
"""

import numpy as np
import pandas as pd

FLAG_COLUMNS = ["response_id", "flag", "reason"]
SPEEDER = "speeder"
STRAIGHT_LINER = "straight_liner"
NON_DISCRIMINATING = "non_discriminating"


def _flags(response_ids, flag: str, reasons) -> pd.DataFrame:
    return pd.DataFrame({"response_id": list(response_ids), "flag": flag, "reason": list(reasons)})


def flag_speeders(durations: pd.DataFrame, fraction: float = 1 / 3) -> pd.DataFrame:
    """Responses with duration_seconds < fraction × the median duration (default 1/3); NaN durations are neither flagged nor counted in the median."""
    seconds = durations["duration_seconds"].astype(float)
    median = seconds.median()
    fast = durations[seconds < fraction * median]
    reasons = [
        f"took {s:g} s, under {fraction:.2g} of the median {median:g} s"
        for s in fast["duration_seconds"]
    ]
    return _flags(fast["response_id"], SPEEDER, reasons)


def flag_straight_liners(
    answers: pd.DataFrame, min_items: int = 5, matrix: str = "indicator"
) -> pd.DataFrame:
    """Responses that gave one same answer (`value`, else `score`) to all items of a matrix with at least min_items answers, one flag per response naming the matrices."""
    # "don't know" to every item counts too, so the option value is compared when there is one;
    # a matrix spans all the targets it asks about (rows sharing the `matrix` column, by
    # default the indicator, as the generator asks one matrix per indicator): a rater who
    # gives one official all yes and another all no has told them apart
    answer = "value" if "value" in answers.columns else "score"
    grouped = answers.groupby(["response_id", matrix], sort=True, observed=True)[answer]
    table = pd.DataFrame({"n": grouped.count(), "distinct": grouped.nunique()}).reset_index()
    lined = table[(table["n"] >= min_items) & (table["distinct"] == 1)]
    per_response = lined.groupby("response_id", sort=True)[matrix].agg(
        lambda m: ", ".join(map(str, m))
    )
    reasons = [f"one answer to every item of {m}" for m in per_response]
    return _flags(per_response.index, STRAIGHT_LINER, reasons)


def spread(frame: pd.DataFrame, keys: list[str], value: str = "score") -> pd.DataFrame:
    """Per keys: n, min, max of value and spread = (max − min) / max (0 when max is 0)."""
    grouped = frame.groupby(keys, sort=True, observed=True)[value]
    table = grouped.agg(["count", "min", "max"]).rename(columns={"count": "n"})
    gap = table["max"] - table["min"]
    table["spread"] = np.where(table["max"] > 0, gap / table["max"].where(table["max"] > 0), 0.0)
    return table.reset_index()


def rater_spread(
    answers: pd.DataFrame, rater: str = "response_id", threshold: float = 0.3, min_targets: int = 3
) -> pd.DataFrame:
    """Per rater (a response, or rater_group for a whole group): the spread of their mean item score per target over the targets they scored; `flagged` when spread < threshold over at least min_targets targets."""
    per_target = answers.groupby([rater, "target_id"], sort=False, observed=True)["score"].mean()
    table = spread(per_target.dropna().reset_index(), [rater])
    table = table.rename(columns={"n": "n_targets"})
    table["flagged"] = (table["n_targets"] >= min_targets) & (table["spread"] < threshold)
    return table


def flag_non_discriminating(
    answers: pd.DataFrame, threshold: float = 0.3, min_targets: int = 3
) -> pd.DataFrame:
    """Responses whose per-target scores spread by less than threshold (rater_spread over response_id)."""
    table = rater_spread(answers, "response_id", threshold, min_targets)
    low = table[table["flagged"]]
    reasons = [
        f"scored {r.n_targets} targets between {r.min:g} and {r.max:g}: "
        f"spread {r.spread:.0%} < {threshold:.0%}"
        for r in low.itertuples(index=False)
    ]
    return _flags(low["response_id"], NON_DISCRIMINATING, reasons)


def indicator_spread(
    unit_scores: pd.DataFrame,
    threshold: float = 0.3,
    min_units: int = 2,
    by: tuple[str, ...] = ("unit_type", "indicator"),
) -> pd.DataFrame:
    """Per unit type and indicator (`by`): the spread of the units' scores, `flagged` when below threshold over at least min_units units; input has one row per unit with `score`."""
    table = spread(unit_scores.dropna(subset=["score"]), list(by))
    table = table.rename(columns={"n": "n_units"})
    table["flagged"] = (table["n_units"] >= min_units) & (table["spread"] < threshold)
    return table
