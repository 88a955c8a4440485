"""Scoring rules: social satisfaction, positive/negative evaluation, democratic evaluation, hotline.

Inputs are long-format pandas DataFrames of answers already mapped to 0–100 by the questionnaire
(`questionnaire.directed` has already turned negative-list items round, so a negative item
answered "yes" arrives here as 0: scoring never flips a score). "Don't know" is NaN. Every result
is plain data (`ScoreResult.as_dict()` is JSON-ready) and records the rule, its version, the
scheme's parameters, the questionnaire version and the weighting method, so a score can be
recomputed exactly. Results are keyed by indicator keys, never by question positions.

Columns (one row per answered item unless said otherwise):
  response_id   one respondent's or rater's submission (it may cover several targets)
  target_id     the unit or official the answer is about
  indicator     indicator key;  item_key: item or question key (not used for scoring)
  score         0–100, NaN for "don't know" / not applicable
  period        optional (satisfaction, hotline): assessment period, e.g. "2026-Q3"
  weight        optional (satisfaction): the campaign's weight of the response, default 1
  satisfied     optional (satisfaction): bool, or else `value` (the option) is checked
                against `Scheme.satisfied_options`
  rater_group   evaluations: superior | peer | subordinate | service_recipient | public | …
  grade         democratic (one row per ballot): excellent | competent | basically_competent | incompetent
  satisfied / solved / timely   hotline (one row per case): bool, NaN when not asked
Categorical or integer keys, and rows grouped by response (the database order), are fastest:
see bench/bench_scoring.py.

The choices, in one place:
- A respondent's (or rater's) indicator score is the mean of the items they answered in it;
  "don't know" leaves the respondent out of that indicator's domain, it is not a zero.
- Their overall score is Σ w_i·s_i / Σ w_i over the indicators they answered: scheme weights
  re-normalised per respondent, so a skipped indicator neither counts as zero nor hands its
  weight to other respondents' answers. A unit's score is the weighted mean of these.
- Satisfaction rates are the same means taken of 100 (satisfied) and 0; all rates are in %.
- Satisfaction estimates are domain means (unit × period) of one weighting.Design over all
  respondents, with the weights as given: a raking's own variance correction is not redone.
- Evaluations: each rater group's raters share its fixed weight equally, so the score is
  Σ_g W_g·mean_g; groups below k are dropped or merged by anonymize.rater_group_weights and
  the rest re-normalised. The SE is the stratified design's (strata = groups, fpc = known
  group size): Var = Σ_g W_g² (1 − n_g/N_g) s_g²/n_g, equal to weighting.Design's (a test
  checks it) but computed per target on the group table, not per rater.
- Intervals are value ± 1.96·SE clipped to 0..100.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass

import numpy as np
import pandas as pd

from app.core.anonymize import rater_group_weights
from app.core.estimates import Z95, Estimate
from app.core.questionnaire import check_bands, grade_for
from app.core.weighting import Design

DEFAULT_BANDS = (
    {"grade": "excellent", "min": 90, "max": 100, "label": {"zh": "优秀", "en": "Excellent"}},
    {"grade": "qualified", "min": 80, "max": 90, "label": {"zh": "合格", "en": "Qualified"}},
    {"grade": "needs_review", "min": 0, "max": 80, "label": {"zh": "需研判", "en": "Needs review"}},
)
# 优秀 / 称职 / 基本称职 / 不称职
DEFAULT_GRADE_POINTS = {
    "excellent": 100.0,
    "competent": 80.0,
    "basically_competent": 60.0,
    "incompetent": 0.0,
}
DEFAULT_COMPONENTS = {"satisfied": 0.5, "solved": 0.3, "timely": 0.2}


class SchemeError(ValueError):
    """A scheme or the data given to it breaks a rule; the message says which."""


# --- the scheme ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheme:
    """The rules of one scoring scheme; `name` is a key of SCHEMES, `version` the definition's."""

    name: str
    version: int = 1
    indicator_weights: Mapping[str, float] = field(default_factory=dict)  # empty: all equal
    bands: tuple[Mapping, ...] = DEFAULT_BANDS
    group_weights: Mapping[str, float] = field(default_factory=dict)
    min_group_size: int = 3  # k: rater groups with fewer raters are never shown alone
    small_group: str = "drop"  # "drop" | "merge:<group>"
    exclude_flags: tuple[str, ...] = ()  # quality flags whose responses are left out
    spread_threshold: float = 0.3
    satisfied_options: tuple[str, ...] = ("very_satisfied", "satisfied")
    grade_points: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_GRADE_POINTS))
    components: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_COMPONENTS))

    def __post_init__(self):
        problems = scheme_problems(self)
        if problems:
            raise SchemeError(f"scheme '{self.name}': " + "; ".join(problems))

    @property
    def merge_into(self) -> str | None:
        """The group small groups merge into, or None when they are dropped."""
        return self.small_group.split(":", 1)[1] if self.small_group.startswith("merge:") else None


def scheme_problems(scheme: Scheme) -> list[str]:
    """Every rule the scheme breaks: unknown name, bad bands, group weights not summing to 1, …"""
    problems = []
    if scheme.name not in SCHEMES:
        problems.append(f"unknown scheme; use one of {sorted(SCHEMES)}")
    problems += [p.message for p in check_bands(list(scheme.bands))]
    if not scheme.bands:
        problems.append("needs at least one band")
    for what, weights in (
        ("indicator", scheme.indicator_weights),
        ("group", scheme.group_weights),
        ("component", scheme.components),
    ):
        problems += [
            f"{what} weight '{k}' must be > 0, not {w}" for k, w in weights.items() if w <= 0
        ]
    total = sum(scheme.group_weights.values())
    if scheme.group_weights and not math.isclose(total, 1.0, abs_tol=1e-9):
        problems.append(f"group weights must sum to 1, not {total:g}")
    if scheme.small_group != "drop" and scheme.merge_into not in scheme.group_weights:
        problems.append(
            f"small_group must be 'drop' or 'merge:<rater group>', not '{scheme.small_group}'"
        )
    if scheme.min_group_size < 1:
        problems.append("min_group_size must be at least 1")
    return problems


def scheme_from_definition(definition: Mapping) -> Scheme:
    """A Scheme from a questionnaire definition's `scoring` block and its indicator weights."""
    scoring = definition.get("scoring") or {}
    options = {}
    if scoring.get("bands"):
        options["bands"] = tuple(scoring["bands"])
    if scoring.get("grade_points"):
        options["grade_points"] = dict(scoring["grade_points"])
    if scoring.get("components"):
        options["components"] = dict(scoring["components"])
    if scoring.get("exclude_flagged"):
        # the format's flag excludes speeders and straight-liners; spread flags are only reported
        options["exclude_flags"] = ("speeder", "straight_liner")
    return Scheme(
        name=scoring.get("scheme", "none"),
        version=int(scoring.get("version", 1)),
        indicator_weights={
            i["key"]: float(i.get("weight", 1)) for i in definition.get("indicators") or []
        },
        group_weights={g["key"]: float(g["weight"]) for g in scoring.get("rater_groups") or []},
        min_group_size=int(scoring.get("min_group_size", 3)),
        small_group=scoring.get("small_group", "drop"),
        spread_threshold=float(scoring.get("spread_threshold", 0.3)),
        **options,
    )


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreEstimate:
    """A score or rate with its SE, 95% interval (clipped to 0..100), n and Kish's effective n."""

    value: float
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    n_effective: float = math.nan


@dataclass
class IndicatorScore:
    score: ScoreEstimate
    satisfaction_rate: ScoreEstimate


@dataclass
class UnitSatisfaction:
    target_id: object
    period: object
    overall: ScoreEstimate
    satisfaction_rate: ScoreEstimate
    indicators: dict[str, IndicatorScore]


@dataclass
class GroupNote:
    """What happened to one rater group of one target: used, merged, suppressed or absent."""

    group: str
    scheme_weight: float
    weight: float  # applied weight after merging and re-normalising (0 unless used)
    status: str  # used | merged | suppressed (below k) | absent (no raters)
    note: str  # anonymize.rater_group_weights' note, e.g. "merged into peer"
    merged_into: str | None = None
    n: int | None = None  # raters counted in the group (merged ones included); only when used
    score: float | None = None  # the group's mean; only when used


@dataclass
class TargetEvaluation:
    target_id: object
    score: ScoreEstimate
    grade: str | None
    groups: list[GroupNote]
    grade_shares: dict[str, float] = field(default_factory=dict)  # democratic only


@dataclass
class HotlineScore:
    target_id: object
    period: object
    n: int  # cases
    rates: dict[str, float]  # % per component, e.g. satisfied, solved, timely
    composite: float


@dataclass
class Exclusion:
    response_id: object
    flag: str
    reason: str


@dataclass
class Provenance:
    """Everything needed to recompute a result exactly."""

    scheme: str
    version: str  # the rule's code version, e.g. "positive_negative@1"
    parameters: dict  # the Scheme, including the definition's own version
    questionnaire_version: str
    weighting_method: str


@dataclass
class ScoreResult:
    provenance: Provenance
    scores: list
    exclusions: list[Exclusion]
    teams: dict = field(default_factory=dict)  # democratic: team_id -> grade shares

    def as_dict(self) -> dict:
        """The result as JSON-ready dicts and lists (NaN becomes None, numpy scalars Python)."""
        return _plain(asdict(self))


def _plain(value):
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value):
        return _plain(asdict(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _provenance(scheme: Scheme, questionnaire_version: str, weighting_method: str) -> Provenance:
    return Provenance(
        scheme=scheme.name,
        version=SCHEMES[scheme.name].version,
        parameters=_plain(asdict(scheme)),
        questionnaire_version=questionnaire_version,
        weighting_method=weighting_method,
    )


def _check(scheme: Scheme, name: str, frame: pd.DataFrame, columns: list[str]) -> None:
    if scheme.name != name:
        raise SchemeError(f"scheme '{scheme.name}' given to the {name} rule")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemeError(f"the {name} rule needs the columns {missing}")


# --- shared steps -------------------------------------------------------------------------


def drop_flagged(
    rows: pd.DataFrame, flags: pd.DataFrame | None, scheme: Scheme
) -> tuple[pd.DataFrame, list[Exclusion]]:
    """Rows without the responses whose quality flag is in scheme.exclude_flags, and the list."""
    if flags is None or flags.empty or not scheme.exclude_flags:
        return rows, []
    chosen = flags[flags["flag"].isin(scheme.exclude_flags)]
    chosen = chosen.sort_values(["flag", "response_id"], kind="stable")
    exclusions = [
        Exclusion(r.response_id, r.flag, r.reason) for r in chosen.itertuples(index=False)
    ]
    kept = rows[~rows["response_id"].isin(chosen["response_id"])]
    return kept, exclusions


def _scores(rows: pd.DataFrame, column: str = "score") -> np.ndarray:
    values = rows[column].to_numpy(dtype=float, na_value=np.nan)
    if values.size and (np.nanmin(values, initial=0) < 0 or np.nanmax(values, initial=0) > 100):
        raise SchemeError(f"'{column}' must lie in 0..100 (NaN for don't know)")
    return values


def _codes(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes for a key column (possibly a view of it, any integer dtype) and the keys they stand for; categorical and dense non-negative integer keys skip hashing."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    elif column.dtype.kind in "iu" and len(column) and column.min() >= 0:
        high = int(column.max())
        if high < 4 * len(column) + 1024:  # dense enough to serve as codes as they are
            return column.to_numpy(), pd.RangeIndex(high + 1)
        codes, uniques = pd.factorize(column.to_numpy())
    else:
        codes, uniques = pd.factorize(column.to_numpy())
    if (codes < 0).any():
        raise SchemeError(f"key column '{column.name}' has missing values")
    return codes, pd.Index(uniques)


def _group_codes(columns: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    """Codes for the distinct combinations of key columns, numbered in order of first appearance, and the row where each first appears."""
    # one int64 buffer serves as mixed-radix key, then as the codes: big temporaries cost more
    # in page faults than in arithmetic at 25M rows
    key, size = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        codes, uniques = _codes(column)
        if size * len(uniques) >= 2**62:  # compress before the mixed-radix key could overflow
            key, found = pd.factorize(key)
            size = len(found)
        key *= len(uniques)
        key += codes
        size *= len(uniques)
    if len(key) and np.all(key[1:] >= key[:-1]):
        # rows already grouped by the key (the usual database order): no hashing needed
        starts = np.concatenate(([True], key[1:] != key[:-1]))
        np.cumsum(starts, dtype=np.int64, out=key)
        key -= 1
        return key, np.flatnonzero(starts)
    codes = pd.factorize(key)[0].astype(np.int64, copy=False)
    # codes are numbered by first appearance, so a first row is where the running max grows
    running_max = np.maximum.accumulate(codes)
    return codes, np.flatnonzero(np.concatenate(([True], running_max[1:] > running_max[:-1])))


def _indicator_weights(keys: pd.Index, scheme: Scheme) -> np.ndarray:
    if not scheme.indicator_weights:
        return np.ones(len(keys))
    missing = [k for k in keys if k not in scheme.indicator_weights]
    if missing:
        raise SchemeError(f"indicators without a weight in scheme '{scheme.name}': {missing}")
    return np.array([scheme.indicator_weights[k] for k in keys], dtype=float)


def ballot_means(
    rows: pd.DataFrame, keys: list[str], values: Mapping[str, np.ndarray], carry: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.Index, dict[str, np.ndarray]]:
    """One row per distinct `keys` (a ballot: keys and carry columns from its first row) and, per value, a ballots × indicators matrix of item means; NaN items are skipped, an indicator a ballot did not answer is NaN, one nobody answered is left out."""
    ballot, first = _group_codes([rows[k] for k in keys])
    indicator_codes, indicators = _codes(rows["indicator"])
    shape = (len(first), len(indicators))
    cell = ballot  # reused in place: the ballot codes are not needed again
    cell *= len(indicators)
    cell += indicator_codes
    rows_per_cell = np.bincount(cell, minlength=shape[0] * shape[1])
    means, answered_anywhere = {}, np.zeros(len(indicators), dtype=bool)
    for name, value in values.items():
        missing = np.isnan(value)
        sums = np.bincount(
            cell, weights=np.where(missing, 0.0, value), minlength=len(rows_per_cell)
        )
        counts = rows_per_cell - np.bincount(cell[missing], minlength=len(rows_per_cell))
        means[name] = np.divide(sums, counts, out=np.full(len(sums), np.nan), where=counts > 0)
        means[name] = means[name].reshape(shape)
        answered_anywhere |= counts.reshape(shape).any(axis=0)
    means = {name: m[:, answered_anywhere] for name, m in means.items()}
    ballots = rows[list(keys) + list(carry)].iloc[first].reset_index(drop=True)
    return ballots, indicators[answered_anywhere], means


def over_indicators(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ w_i·m_i / Σ w_i over the indicators a ballot answered (weights re-normalised); NaN if none."""
    answered = ~np.isnan(means)
    numerator = np.where(answered, means, 0.0) @ weights
    denominator = answered @ weights
    return np.divide(numerator, denominator, out=np.full(len(means), np.nan), where=denominator > 0)


# --- 3. social satisfaction ----------------------------------------------------------------


def _satisfied(rows: pd.DataFrame, scheme: Scheme, scores: np.ndarray) -> np.ndarray:
    """1.0 satisfied, 0.0 not, NaN where the answer was not scored (don't know)."""
    if "satisfied" in rows.columns:
        flag = rows["satisfied"].to_numpy(dtype=float, na_value=np.nan)
    elif "value" in rows.columns:
        flag = rows["value"].isin(scheme.satisfied_options).to_numpy(dtype=float)
    else:
        raise SchemeError("the satisfaction rule needs a 'satisfied' or a 'value' column")
    return np.where(np.isnan(scores), np.nan, flag)


def score_satisfaction(
    answers: pd.DataFrame,
    scheme: Scheme,
    *,
    questionnaire_version: str,
    weighting_method: str = "unweighted",
    flags: pd.DataFrame | None = None,
    strata: str | None = None,
    clusters: str | None = None,
    fpc: str | None = None,
) -> ScoreResult:
    """Per (target_id, period): overall score Σ_r w_r·o_r / Σ_r w_r (o_r: respondent r's re-normalised indicator mean), satisfaction rate (%) and each indicator's, with SE, 95% CI, n and Kish n; weight, strata, clusters and fpc are per response (pass clusters="response_id" when respondents rate several units)."""
    _check(scheme, "satisfaction", answers, ["response_id", "target_id", "indicator", "score"])
    answers, exclusions = drop_flagged(answers, flags, scheme)
    scores = _scores(answers)
    keys = ["response_id", "target_id"] + (["period"] if "period" in answers.columns else [])
    carry = [c for c in dict.fromkeys(("weight", strata, clusters, fpc)) if c in answers.columns]
    ballots, indicators, means = ballot_means(
        answers, keys, {"score": scores, "rate": _satisfied(answers, scheme, scores) * 100}, carry
    )
    weights = _indicator_weights(indicators, scheme)
    measures = {
        "overall": over_indicators(means["score"], weights),
        "rate": over_indicators(means["rate"], weights),
    }
    for i, key in enumerate(indicators):
        measures[f"score:{key}"] = means["score"][:, i]
        measures[f"rate:{key}"] = means["rate"][:, i]
    if "period" not in ballots.columns:
        ballots["period"] = None
    cell = ballots.groupby(["target_id", "period"], sort=False, dropna=False).ngroup().to_numpy()
    found = _domain_means(ballots, cell, measures, strata, clusters, fpc)
    units = []
    first_of_cell = ballots.drop_duplicates(["target_id", "period"])
    for code, (target_id, period) in enumerate(
        first_of_cell[["target_id", "period"]].itertuples(index=False)
    ):
        estimate = {name: per_cell.get(code, _EMPTY) for name, per_cell in found.items()}
        units.append(
            UnitSatisfaction(
                target_id=target_id,
                period=period,
                overall=estimate["overall"],
                satisfaction_rate=estimate["rate"],
                indicators={
                    key: IndicatorScore(estimate[f"score:{key}"], estimate[f"rate:{key}"])
                    for key in indicators
                    if estimate[f"score:{key}"].n > 0
                },
            )
        )
    units = _sorted(units, key=lambda u: (u.target_id, u.period))
    return ScoreResult(
        _provenance(scheme, questionnaire_version, weighting_method), units, exclusions
    )


def _domain_means(
    ballots: pd.DataFrame,
    cell: np.ndarray,
    measures: Mapping[str, np.ndarray],
    strata: str | None,
    clusters: str | None,
    fpc: str | None,
) -> dict[str, dict[int, ScoreEstimate]]:
    """Per measure, {cell: estimate}: Design.mean by cell over all respondents (NaN: outside the domain) and Kish's n per cell."""
    if len(cell) == 1:  # one respondent: a value but no variance (Design would refuse)
        return {
            name: {0: ScoreEstimate(float(values[0]), n=1, n_effective=1.0)}
            for name, values in measures.items()
            if not np.isnan(values[0])
        }
    frame = ballots[[c for c in dict.fromkeys((strata, clusters, fpc)) if c]].copy()
    weight = ballots["weight"].to_numpy(dtype=float) if "weight" in ballots else np.ones(len(cell))
    frame["__weight"], frame["__cell"] = weight, cell
    for i, values in enumerate(measures.values()):
        frame[f"__m{i}"] = values
    design = Design(frame, weights="__weight", strata=strata, clusters=clusters, fpc=fpc)
    found = {}
    for i, (name, values) in enumerate(measures.items()):
        answered = ~np.isnan(values)
        sums = np.bincount(cell[answered], weight[answered])
        squares = np.bincount(cell[answered], weight[answered] ** 2)
        found[name] = {
            code: _score_estimate(e, sums[code] ** 2 / squares[code])
            for code, e in design.mean(f"__m{i}", by="__cell").items()
            if e.n > 0
        }
    return found


_EMPTY = ScoreEstimate(math.nan)


def _score_estimate(e: Estimate, n_effective: float) -> ScoreEstimate:
    low, high = e.ci95
    return ScoreEstimate(e.value, e.se, max(low, 0.0), min(high, 100.0), e.n, n_effective)


# --- 4. evaluations: rater groups ---------------------------------------------------------


def group_plan(cells: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """One row per target and scheme group (n = 0 without raters): `into` (the group its raters count in), applied `weight` (Σ = 1 over the used groups), `used`, `status` (used | merged | suppressed | absent) and `note`, by anonymize.rater_group_weights."""
    unknown = sorted(set(cells["rater_group"]) - set(scheme.group_weights), key=str)
    if unknown:
        raise SchemeError(f"rater groups without a weight in scheme '{scheme.name}': {unknown}")
    policy = ("merge", scheme.merge_into) if scheme.merge_into else "drop"
    counts: dict = {}
    for target_id, group, n in cells[["target_id", "rater_group", "n"]].itertuples(index=False):
        counts.setdefault(target_id, {})[group] = int(n)
    rows = []
    for target_id, present in counts.items():
        groups = {g: {"n": present.get(g, 0), "weight": w} for g, w in scheme.group_weights.items()}
        decided = rater_group_weights(groups, scheme.min_group_size, policy)
        into = {m: pool for pool, members in decided.members.items() for m in members}
        for group in groups:
            pool = into.get(group, group)
            used = pool in decided.weights
            if pool != group:
                status = "merged"
            elif used:
                status = "used"
            else:
                status = "absent" if present.get(group, 0) == 0 else "suppressed"
            weight = decided.weights.get(pool, 0.0)
            rows.append((target_id, group, pool, weight, used, status, decided.notes[group]))
    columns = ["target_id", "rater_group", "into", "weight", "used", "status", "note"]
    plan = pd.DataFrame(rows, columns=columns).merge(cells, how="left", on=columns[:2])
    plan["scheme_weight"] = plan["rater_group"].map(scheme.group_weights).astype(float)
    plan["n"] = plan["n"].fillna(0).astype(int)
    return plan


def _pooled(plan: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per (target_id, into) of the used groups: n, known size, means of the columns and M2 = Σ(x − mean)² of the first, merging groups by the parallel formula M2 = Σ M2_g + Σ n_g (mean_g − mean)²."""
    plan = plan[plan["used"] & (plan["n"] > 0)]
    keys = [plan["target_id"], plan["into"]]
    sums = plan[columns].mul(plan["n"], axis=0)
    n = plan["n"].groupby(keys, sort=False).transform("sum")
    mean = sums[columns[0]].groupby(keys, sort=False).transform("sum") / n
    frame = sums.assign(n=plan["n"], m2=plan["m2"] + plan["n"] * (plan[columns[0]] - mean) ** 2)
    pooled = frame.groupby(keys, sort=False).sum()
    pooled[columns] = pooled[columns].div(pooled["n"], axis=0)
    pooled["size"] = plan["size"].groupby(keys, sort=False).sum(skipna=False)
    pooled["weight"] = plan["weight"].groupby(keys, sort=False).first()
    return pooled


def _per_target(used: pd.DataFrame, columns: list[str]) -> dict:
    """{target_id: {n, var, inverse_kish, column sums Σ W_g·mean_g}} over the used groups."""
    fraction = (used["n"] / used["size"]).fillna(0.0)
    variance = used["m2"] / (used["n"] - 1)  # NaN for a single rater
    # a census of the group (n = N) has no sampling error, even with one rater
    var = (used["weight"] ** 2 * (1 - fraction) * variance / used["n"]).where(fraction < 1, 0.0)
    parts = pd.DataFrame(
        {"n": used["n"], "var": var, "inverse_kish": used["weight"] ** 2 / used["n"]}
        | {c: used["weight"] * used[c] for c in columns}
    )
    return parts.groupby(level=0, sort=False).sum(skipna=False).to_dict("index")


def evaluate_groups(
    ballots: pd.DataFrame,
    columns: list[str],
    scheme: Scheme,
    group_sizes: pd.DataFrame | None = None,
) -> list[TargetEvaluation]:
    """Per target: Σ_g W_g·mean_g of each column over the used groups, Var = Σ_g W_g² (1 − n_g/N_g) s_g²/n_g for the first (no fpc without a known size; SE NaN for a one-rater group unless n_g = N_g), Kish n = 1/Σ_g W_g²/n_g; NaN when no group is used."""
    keys = ["target_id", "rater_group"]
    grouped = ballots.groupby(keys, sort=False, observed=True)
    cells = grouped[columns].mean()
    cells["n"] = grouped.size()
    cells["m2"] = (grouped[columns[0]].var(ddof=1) * (cells["n"] - 1)).fillna(0.0)
    cells = cells.reset_index()
    cells[keys] = cells[keys].astype(object)
    cells["size"] = _known_sizes(cells, group_sizes)
    plan = group_plan(cells, scheme)
    pooled = _pooled(plan, columns)
    per_target = _per_target(pooled, columns)
    notes = _group_notes(plan, pooled, columns[0])
    results = []
    for target_id in _sorted(notes):
        totals = per_target.get(target_id)
        if totals is None:  # every group below k: no score rather than one that could unmask
            estimate, shares = ScoreEstimate(math.nan), dict.fromkeys(columns[1:], math.nan)
        else:
            value, se = totals[columns[0]], math.sqrt(totals["var"])
            estimate = ScoreEstimate(
                value,
                se,
                max(value - Z95 * se, 0.0),
                min(value + Z95 * se, 100.0),
                int(totals["n"]),
                1 / totals["inverse_kish"],
            )
            shares = {c: totals[c] for c in columns[1:]}
        grade = (
            None if math.isnan(estimate.value) else grade_for(estimate.value, list(scheme.bands))
        )
        results.append(TargetEvaluation(target_id, estimate, grade, notes[target_id], shares))
    return results


def _sorted(values, key=lambda v: v) -> list:
    try:
        return sorted(values, key=key)
    except TypeError:  # keys of mixed types (or None periods): still deterministic
        return sorted(values, key=lambda v: str(key(v)))


def _known_sizes(cells: pd.DataFrame, group_sizes: pd.DataFrame | None) -> pd.Series:
    if group_sizes is None:
        return pd.Series(np.nan, index=cells.index)
    sizes = group_sizes.set_index(["target_id", "rater_group"])["group_size"].astype(float)
    found = cells[["target_id", "rater_group"]].join(sizes, on=["target_id", "rater_group"])
    too_many = found["group_size"] < cells["n"]
    if too_many.any():
        row = cells[too_many].iloc[0]
        raise SchemeError(
            f"target {row.target_id}: {row.n} raters in group '{row.rater_group}', "
            "more than its known size"
        )
    return found["group_size"]


def _group_notes(plan: pd.DataFrame, pooled: pd.DataFrame, column: str) -> dict:
    """{target_id: [GroupNote]} for every scheme group, in scheme order; n and score only for the groups used (never the count of a group below k)."""
    counted = pooled[["n", column]].set_axis(["pooled_n", "pooled_score"], axis=1)
    rows = plan.join(counted, on=["target_id", "into"])
    fields = ["target_id", "rater_group", "scheme_weight", "weight", "status", "note", "into"]
    notes: dict = {}
    for row in rows[[*fields, "pooled_n", "pooled_score"]].astype(object).itertuples(index=False):
        target_id, group, scheme_weight, weight, status, note, into, n, score = row
        used = status == "used"
        notes.setdefault(target_id, []).append(
            GroupNote(
                group=group,
                scheme_weight=float(scheme_weight),
                weight=float(weight) if used else 0.0,
                status=status,
                note=note,
                merged_into=into if status == "merged" else None,
                n=int(n) if used else None,
                score=float(score) if used else None,
            )
        )
    return notes


def score_positive_negative(
    answers: pd.DataFrame,
    scheme: Scheme,
    *,
    questionnaire_version: str,
    weighting_method: str = "rater_group_weights",
    flags: pd.DataFrame | None = None,
    group_sizes: pd.DataFrame | None = None,
) -> ScoreResult:
    """Political quality on 100 points per target: ballot (response × target) = Σ w_i·s_i / Σ w_i over its answered indicators, combined over rater groups by evaluate_groups, graded by scheme.bands; scores are never flipped (a `direction` column is ignored); group_sizes has target_id, rater_group, group_size."""
    needed = ["response_id", "target_id", "rater_group", "indicator", "score"]
    _check(scheme, "positive_negative", answers, needed)
    answers, exclusions = drop_flagged(answers, flags, scheme)
    ballots, indicators, means = ballot_means(
        answers, ["response_id", "target_id", "rater_group"], {"score": _scores(answers)}
    )
    ballots = ballots[["target_id", "rater_group"]]
    ballots["score"] = over_indicators(means["score"], _indicator_weights(indicators, scheme))
    ballots = ballots[ballots["score"].notna()]  # every item "don't know": no ballot
    return ScoreResult(
        _provenance(scheme, questionnaire_version, weighting_method),
        evaluate_groups(ballots, ["score"], scheme, group_sizes),
        exclusions,
    )


def score_democratic(
    ballots: pd.DataFrame,
    scheme: Scheme,
    *,
    questionnaire_version: str,
    weighting_method: str = "rater_group_weights",
    flags: pd.DataFrame | None = None,
    group_sizes: pd.DataFrame | None = None,
) -> ScoreResult:
    """Democratic evaluation (民主测评), one row per ballot with grade and optional team_id: per official the group-weighted share of each grade and the score Σ share·points; a team's shares are the plain mean of its officials' (each counts once); a missing grade is an abstention."""
    _check(scheme, "democratic", ballots, ["response_id", "target_id", "rater_group", "grade"])
    ballots, exclusions = drop_flagged(ballots, flags, scheme)
    ballots = ballots[ballots["grade"].notna()]
    unknown = sorted(set(ballots["grade"]) - set(scheme.grade_points))
    if unknown:
        raise SchemeError(f"grades without points in scheme '{scheme.name}': {unknown}")
    twice = ballots.duplicated(["response_id", "target_id"])
    if twice.any():
        raise SchemeError(f"{int(twice.sum())} ballots grade the same official twice")
    grades = list(scheme.grade_points)
    frame = ballots[["target_id", "rater_group"]].copy()
    frame["score"] = ballots["grade"].map(scheme.grade_points).astype(float)
    for grade in grades:
        frame[grade] = (ballots["grade"] == grade).astype(float)
    officials = evaluate_groups(frame, ["score", *grades], scheme, group_sizes)
    teams = {}
    if "team_id" in ballots.columns:
        team_of = ballots.drop_duplicates("target_id").set_index("target_id")["team_id"]
        shares = pd.DataFrame(
            [o.grade_shares for o in officials], index=[o.target_id for o in officials]
        )
        means = shares.groupby(team_of.reindex(shares.index).to_numpy()).mean()
        teams = {team: means.loc[team].to_dict() for team in _sorted(means.index)}
    return ScoreResult(
        _provenance(scheme, questionnaire_version, weighting_method), officials, exclusions, teams
    )


# --- hotline ---------------------------------------------------------------------------------


def score_hotline(
    cases: pd.DataFrame,
    scheme: Scheme,
    *,
    questionnaire_version: str,
    weighting_method: str = "unweighted",
    flags: pd.DataFrame | None = None,
) -> ScoreResult:
    """Hotline follow-up (接诉即办) per (target_id, period), one row per case with a bool column per scheme component (NaN: not answered): each rate in % over the cases that answered it, composite = Σ w_c·rate_c / Σ w_c over the components with data."""
    _check(scheme, "hotline", cases, ["response_id", "target_id", "period", *scheme.components])
    cases, exclusions = drop_flagged(cases, flags, scheme)
    weights = pd.Series(scheme.components, dtype=float)
    values = cases[list(weights.index)].astype(float) * 100
    grouped = values.groupby([cases["target_id"], cases["period"]], sort=True)
    rates, counts = grouped.mean(), grouped.size()
    composite = (rates.fillna(0) @ weights) / (rates.notna() @ weights)
    scores = [
        HotlineScore(target_id, period, int(n), rate, float(total))
        for (target_id, period), n, rate, total in zip(
            rates.index, counts, rates.to_dict("records"), composite, strict=True
        )
    ]
    return ScoreResult(
        _provenance(scheme, questionnaire_version, weighting_method), scores, exclusions
    )


# --- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A scoring function and its code version; bump the version whenever a number could change."""

    function: Callable[..., ScoreResult]
    version: str


SCHEMES: dict[str, Rule] = {
    "satisfaction": Rule(score_satisfaction, "satisfaction@1"),
    "positive_negative": Rule(score_positive_negative, "positive_negative@1"),
    "democratic": Rule(score_democratic, "democratic@1"),
    "hotline": Rule(score_hotline, "hotline@1"),
}


def score(answers: pd.DataFrame, scheme: Scheme, **options) -> ScoreResult:
    """Run the scheme's rule: SCHEMES[scheme.name].function(answers, scheme, **options)."""
    return SCHEMES[scheme.name].function(answers, scheme, **options)
