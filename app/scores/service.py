"""From stored responses to a published score snapshot: frames -> core -> suppression -> snapshot.

Voided and test responses never reach a figure. Groups under the campaign's anonymity threshold
k are published as suppressed rows with the reason and no score; evaluation rater groups under
rater_k follow the core's rule (anonymize.rater_group_weights). A snapshot is written in one
transaction that the caller commits; sequence numbers come from a locked counter row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update

from app.campaigns.models import Campaign
from app.core import quality, ranking
from app.core.questionnaire import Question, grade_for, parse_questions
from app.core.scoring import (
    Scheme,
    evaluate_groups,
    scheme_from_definition,
    score_democratic,
    score_hotline,
    score_positive_negative,
    score_satisfaction,
)
from app.core.weighting import Design, WeightingError, poststratify, rake
from app.extensions import db
from app.models_base import utcnow
from app.responses.models import Answer, Response
from app.scores.models import ScoreRow, ScoreSequence, ScoreSnapshot
from app.scores.webhooks import queue_deliveries
from app.targets.models import Official, Unit

UNIT_VARIABLE = "unit"  # a weighting variable that is the response's unit code, not a question
MARGIN_TOLERANCE = 1e-6  # relative: totals of every variable must describe the same population


class ScoresError(ValueError):
    """Scores cannot be computed or published as asked; the message says why."""


class MarginsInvalid(ValueError):
    """A margins CSV does not fit the campaign; .problems lists 'line N: ...' texts."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# --- population margins ------------------------------------------------------------------


def _weighting_settings(campaign: Campaign) -> dict:
    return dict((campaign.settings or {}).get("weighting") or {})


def variable_levels(campaign: Campaign) -> dict[str, list[str] | None]:
    """Each weighting variable of the campaign and its valid levels (None: any level)."""
    questions = {q.key: q for q in parse_questions(campaign.version.definition)}
    levels: dict[str, list[str] | None] = {}
    for variable in _weighting_settings(campaign).get("variables") or []:
        if variable == UNIT_VARIABLE:
            levels[variable] = sorted(t.unit.code for t in campaign.targets if t.unit is not None)
        elif variable in questions and questions[variable].options:
            levels[variable] = [o.value for o in questions[variable].options]
        else:
            levels[variable] = None
    return levels


def parse_margins(campaign: Campaign, csv_text: str) -> dict[str, dict[str, float]]:
    """Margins {variable: {level: total}} from CSV 'variable,level,total'; MarginsInvalid lists every problem by line."""
    levels = variable_levels(campaign)
    if not levels:
        raise MarginsInvalid(
            ["the campaign has no weighting variables (settings.weighting.variables)"]
        )
    text = csv_text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    problems: list[str] = []
    margins: dict[str, dict[str, float]] = {}
    try:
        rows = list(reader)
    except csv.Error:
        # e.g. a field over the csv module's 128 KiB limit: refused whole, with its line.
        raise MarginsInvalid([f"line {reader.line_num}: not valid CSV"]) from None
    header = rows[0] if rows else None
    if [h.strip().lower() for h in header or []] != ["variable", "level", "total"]:
        raise MarginsInvalid(["line 1: the header must be 'variable,level,total'"])
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 3:
            problems.append(f"line {line}: expected 3 fields, found {len(row)}")
            continue
        variable, level, total_text = (cell.strip() for cell in row)
        if variable not in levels:
            problems.append(
                f"line {line}: unknown variable '{variable}'; the campaign weights by "
                f"{', '.join(levels)}"
            )
            continue
        valid = levels[variable]
        if valid is not None and level not in valid:
            problems.append(
                f"line {line}: '{level}' is not a level of {variable}; use one of "
                f"{', '.join(valid)}"
            )
            continue
        try:
            total = float(total_text)
        except ValueError:
            problems.append(f"line {line}: total '{total_text}' is not a number")
            continue
        if not math.isfinite(total) or total < 0:
            problems.append(f"line {line}: total must be a number of at least 0")
            continue
        if level in margins.get(variable, {}):
            problems.append(f"line {line}: {variable}={level} is given twice")
            continue
        margins.setdefault(variable, {})[level] = total
    for variable in levels:
        if variable not in margins:
            problems.append(f"no totals for the variable '{variable}'")
    sums = {v: sum(t.values()) for v, t in margins.items()}
    if sums and not problems:
        first, expected = next(iter(sums.items()))
        for variable, total in sums.items():
            if abs(total - expected) > MARGIN_TOLERANCE * max(expected, 1):
                problems.append(
                    f"the totals of '{variable}' add up to {total:g}, those of '{first}' to "
                    f"{expected:g}: every variable must describe the same population"
                )
        if expected <= 0:
            problems.append("the population total must be above 0")
    if problems:
        raise MarginsInvalid(problems)
    return margins


def set_margins(campaign: Campaign, csv_text: str) -> dict[str, dict[str, float]]:
    """Check a margins CSV against the campaign's variables and store it in its settings; the caller commits."""
    margins = parse_margins(campaign, csv_text)
    settings = json.loads(json.dumps(campaign.settings or {}))  # a new object: JSON change tracking
    weighting = settings.setdefault("weighting", {})
    weighting["margins"] = margins
    if weighting.get("method", "none") == "none":
        weighting["method"] = "rake" if len(margins) > 1 else "poststratify"
    campaign.settings = settings
    return margins


# --- reading responses ---------------------------------------------------------------------


def load_answers(campaign_id: int) -> pd.DataFrame:
    """Every answer of the campaign's complete, non-test responses, grouped by response."""
    query = (
        select(
            Response.id.label("response_id"),
            Response.unit_id,
            Response.rater_group,
            Response.duration_seconds,
            Answer.question_key,
            Answer.target_key,
            Answer.item_key,
            Answer.value,
            Answer.score,
            Answer.indicator,
        )
        .join(Answer, Answer.response_id == Response.id)
        .where(
            Response.campaign_id == campaign_id,
            Response.status == "complete",
            Response.is_test.is_(False),
        )
        .order_by(Response.id, Answer.question_key, Answer.target_key, Answer.item_key)
    )
    rows = db.session.execute(query).all()
    columns = [
        "response_id",
        "unit_id",
        "rater_group",
        "duration_seconds",
        "question_key",
        "target_key",
        "item_key",
        "value",
        "score",
        "indicator",
    ]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype(float)
    return frame


# --- the computation -------------------------------------------------------------------------


@dataclass
class RowData:
    """One score row before it is stored."""

    target_type: str
    target_id: int
    kind: str
    period: str
    score: float | None = None
    grade: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    n_effective: float | None = None
    indicators: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    quality_flags: list = field(default_factory=list)
    suppressed: bool = False
    suppression_reason: str | None = None
    rank: int | None = None
    n_peers: int | None = None
    percentile: float | None = None
    peer_group: str | None = None

    def suppress(self, reason: str) -> None:
        """Keep the identity, drop every figure (n included: a count under k says too much)."""
        self.suppressed, self.suppression_reason = True, reason
        self.score = self.grade = self.ci_low = self.ci_high = None
        self.n = self.n_effective = None
        self.indicators, self.extra = {}, {}
        self.rank = self.n_peers = self.percentile = self.peer_group = None


@dataclass
class Computed:
    rows: list[RowData]
    method: dict
    summary: dict


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def _int(value) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return int(value)


def _anonymity(campaign: Campaign) -> tuple[int, int]:
    anonymity = (campaign.settings or {}).get("anonymity") or {}
    return int(anonymity.get("k", 5)), int(anonymity.get("rater_k", 3))


def _questions(campaign: Campaign) -> dict[str, Question]:
    return {q.key: q for q in parse_questions(campaign.version.definition)}


def _flags(answers: pd.DataFrame) -> pd.DataFrame:
    durations = answers.drop_duplicates("response_id")[["response_id", "duration_seconds"]]
    durations = durations[durations["duration_seconds"].notna()]
    parts = []
    if len(durations) >= 3:
        parts.append(quality.flag_speeders(durations))
    scored = answers[answers["indicator"].notna()]
    if len(scored):
        parts.append(quality.flag_straight_liners(scored, matrix="question_key"))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=quality.FLAG_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _flag_summary(flags: pd.DataFrame, exclusions) -> dict:
    return {
        "flagged_responses": dict(Counter(flags["flag"])) if len(flags) else {},
        "excluded_responses": dict(Counter(e.flag for e in exclusions)),
    }


def _weights(campaign: Campaign, answers: pd.DataFrame, units: dict[int, Unit]) -> tuple:
    """Per response weight (Series by response_id) and the weighting record for the method."""
    weighting = _weighting_settings(campaign)
    margins = weighting.get("margins") or {}
    method = weighting.get("method", "none")
    if method == "none" and margins:
        method = "rake"
    if method == "none" or not margins:
        return None, {"method": "unweighted"}
    variables = list(margins)
    frame = pd.DataFrame({"response_id": answers["response_id"].unique()})
    per_response = answers.drop_duplicates("response_id").set_index("response_id")
    for variable in variables:
        if variable == UNIT_VARIABLE:
            codes = per_response["unit_id"].map(lambda u: units[u].code if u in units else None)
            frame[variable] = frame["response_id"].map(codes)
        else:
            chosen = answers[answers["question_key"] == variable].drop_duplicates("response_id")
            values = chosen.set_index("response_id")["value"]
            frame[variable] = frame["response_id"].map(values)
    complete = frame[variables].notna().all(axis=1)
    # Respondents who skipped an (optional) weighting question cannot be placed in a cell:
    # they are left out of the weighted estimates, and the number is reported.
    missing = int((~complete).sum())
    frame = frame[complete].reset_index(drop=True)
    if frame.empty:
        raise ScoresError("no response answers every weighting variable")
    for variable in variables:
        frame[variable] = frame[variable].astype(str)
    design = Design(frame)
    try:
        if method == "poststratify":
            if len(variables) != 1:
                raise ScoresError("post-stratification takes one variable; use rake for several")
            result = poststratify(design, variables[0], margins[variables[0]])
        else:
            result = rake(design, margins)
    except WeightingError as exc:
        raise ScoresError(f"weighting failed: {exc}") from None
    checksum = hashlib.sha256(json.dumps(margins, sort_keys=True).encode()).hexdigest()
    record = {
        "method": method,
        "variables": variables,
        "margins_sha256": checksum,
        "iterations": int(result.iterations),
        "max_margin_error": _num(result.max_margin_error),
        "n_effective": _num(result.n_effective),
        "design_effect": _num(result.design_effect),
        "responses_without_weighting_variables": missing,
    }
    return pd.Series(result.weights, index=frame["response_id"]), record


def response_weights(campaign: Campaign) -> tuple[dict[str, float] | None, dict]:
    """Each current response's weight exactly as compute_scores uses it ({response id: weight}, or None when scores are unweighted) and the weighting record; ScoresError as compute_scores."""
    scheme = scheme_from_definition(campaign.version.definition).name
    if scheme != "satisfaction":
        # Only the satisfaction scheme weights responses; evaluation schemes weight rater groups.
        method = "rater_group_weights" if scheme in ("positive_negative", "democratic") else None
        return None, {"method": method or "unweighted"}
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.org_id == campaign.org_id))
    }
    weights, record = _weights(campaign, load_answers(campaign.id), units)
    if weights is None:
        return None, record
    return {str(rid): float(w) for rid, w in weights.items()}, record


def _satisfied_column(answers: pd.DataFrame, questions: dict[str, Question]) -> pd.Series:
    satisfied = {
        (q.key, o.value): o.satisfied for q in questions.values() for o in q.options if o.scored
    }
    return pd.Series(
        [
            satisfied.get((k, v if isinstance(v, str) else None), False)
            for k, v in zip(answers["question_key"], answers["value"], strict=True)
        ],
        index=answers.index,
        dtype=float,
    )


def _estimate_fields(row: RowData, estimate) -> None:
    row.score = _num(estimate.value)
    row.ci_low, row.ci_high = _num(estimate.ci_low), _num(estimate.ci_high)
    row.n, row.n_effective = _int(estimate.n), _num(estimate.n_effective)


def _satisfaction(campaign, scheme, answers, questions, units, k) -> tuple[list[RowData], dict]:
    code_to_unit = {u.code: u.id for u in units.values()}
    scored = answers[answers["indicator"].notna()].copy()
    scored["target_id"] = [
        code_to_unit.get(t) if t else u
        for t, u in zip(scored["target_key"], scored["unit_id"], strict=True)
    ]
    no_unit = int(scored.loc[scored["target_id"].isna(), "response_id"].nunique())
    scored = scored[scored["target_id"].notna()]
    scored["target_id"] = scored["target_id"].astype(int)
    scored["satisfied"] = _satisfied_column(scored, questions)
    weights, weighting = _weights(campaign, answers, units)
    if weights is not None:
        scored["weight"] = scored["response_id"].map(weights)
        scored = scored[scored["weight"].notna()]
    several = (
        scored.groupby("response_id")["target_id"].nunique().max() > 1 if len(scored) else False
    )
    flags = _flags(answers)
    extra = {"summary": {"responses_without_unit": no_unit}, "weighting": weighting}
    if scored.empty:
        return [], extra | {"flags": _flag_summary(flags, [])}
    result = score_satisfaction(
        scored,
        scheme,
        questionnaire_version=campaign.version.label,
        weighting_method=weighting["method"],
        flags=flags,
        clusters="response_id" if several else None,
    )
    extra["provenance"] = result.provenance
    extra["flags"] = _flag_summary(flags, result.exclusions)
    rows = []
    for unit_score in result.scores:
        row = RowData("unit", int(unit_score.target_id), campaign.kind, campaign.period)
        _estimate_fields(row, unit_score.overall)
        row.grade = grade_for(row.score, list(scheme.bands)) if row.score is not None else None
        rate = unit_score.satisfaction_rate
        row.extra = {
            "satisfaction_rate": {
                "value": _num(rate.value),
                "ci_low": _num(rate.ci_low),
                "ci_high": _num(rate.ci_high),
            }
        }
        for key, indicator in unit_score.indicators.items():
            if indicator.score.n < k:
                row.indicators[key] = {
                    "suppressed": True,
                    "reason": f"fewer than {k} respondents answered this indicator",
                }
            else:
                row.indicators[key] = {
                    "score": _num(indicator.score.value),
                    "ci_low": _num(indicator.score.ci_low),
                    "ci_high": _num(indicator.score.ci_high),
                    "n": _int(indicator.score.n),
                    "satisfaction_rate": _num(indicator.satisfaction_rate.value),
                }
        if (row.n or 0) < k:
            row.suppress(f"fewer than {k} respondents (anonymity threshold)")
        rows.append(row)
    _rank_units(rows, units)
    _indicator_spread_flags(rows, units, scheme)
    return rows, extra


def _rank_units(rows: list[RowData], units: dict[int, Unit]) -> None:
    shown = [r for r in rows if not r.suppressed and r.score is not None]
    if not shown:
        return
    frame = pd.DataFrame(
        {
            "i": range(len(shown)),
            "score": [r.score for r in shown],
            "unit_type": [units[r.target_id].type for r in shown],
            "period": [r.period for r in shown],
        }
    )
    ranked = ranking.rank_units(frame, by=("unit_type", "period"))
    for item in ranked.itertuples(index=False):
        row = shown[item.i]
        row.rank, row.n_peers = _int(item.rank), _int(item.n_peers)
        row.percentile = _num(item.percentile)
        row.peer_group = f"unit_type:{item.unit_type}"


def _indicator_spread_flags(rows: list[RowData], units: dict[int, Unit], scheme: Scheme) -> None:
    records = [
        {"unit_type": units[r.target_id].type, "indicator": key, "score": value["score"]}
        for r in rows
        if not r.suppressed
        for key, value in r.indicators.items()
        if value.get("score") is not None
    ]
    if not records:
        return
    table = quality.indicator_spread(pd.DataFrame(records), threshold=scheme.spread_threshold)
    low = table[table["flagged"]]
    for item in low.itertuples(index=False):
        for row in rows:
            if not row.suppressed and units[row.target_id].type == item.unit_type:
                row.quality_flags.append(
                    {
                        "flag": "low_indicator_spread",
                        "indicator": item.indicator,
                        "detail": f"units of this type spread by {item.spread:.0%} on "
                        f"{item.indicator}, under {scheme.spread_threshold:.0%}",
                    }
                )


def _matrix_ballots(answers: pd.DataFrame, officials: dict[str, Official]) -> pd.DataFrame:
    rows = answers[(answers["target_key"] != "") & answers["rater_group"].notna()].copy()
    rows = rows[rows["target_key"].isin(officials)]
    rows["target_id"] = rows["target_key"].map(lambda c: officials[c].id).astype(int)
    return rows


def _group_extra(groups) -> list[dict]:
    # Only groups that were used carry n and a mean; a group under rater_k is named, never counted.
    return [
        {
            "group": g.group,
            "status": g.status,
            "weight": _num(g.weight),
            "n": g.n,
            "score": _num(g.score),
            "note": g.note,
        }
        for g in groups
    ]


def _indicator_evaluations(ballot_rows: pd.DataFrame, scheme: Scheme) -> dict:
    """{target_id: {indicator: group-weighted score}} by evaluate_groups, indicator by indicator."""
    found: dict = {}
    scored = ballot_rows[ballot_rows["indicator"].notna() & ballot_rows["score"].notna()]
    for indicator, part in scored.groupby("indicator", sort=True):
        ballots = (
            part.groupby(["response_id", "target_id", "rater_group"], sort=False)["score"]
            .mean()
            .reset_index()
        )
        for evaluation in evaluate_groups(
            ballots[["target_id", "rater_group", "score"]], ["score"], scheme
        ):
            value = _num(evaluation.score.value)
            found.setdefault(evaluation.target_id, {})[indicator] = (
                {"score": value, "n": _int(evaluation.score.n)}
                if value is not None
                else {"suppressed": True, "reason": "every rater group is under the threshold"}
            )
    return found


def _evaluation_rows(campaign, scheme, evaluations, per_indicator, officials_by_id, rater_k):
    rows = []
    for evaluation in evaluations:
        official = officials_by_id[int(evaluation.target_id)]
        row = RowData("official", official.id, campaign.kind, campaign.period)
        _estimate_fields(row, evaluation.score)
        row.grade = evaluation.grade
        row.indicators = per_indicator.get(evaluation.target_id, {})
        row.extra = {"rater_groups": _group_extra(evaluation.groups)}
        if evaluation.grade_shares:
            row.extra["grade_shares"] = {g: _num(s) for g, s in evaluation.grade_shares.items()}
        if row.score is None:
            row.suppress(f"every rater group has fewer than {rater_k} raters (anonymity threshold)")
        rows.append(row)
    _rank_officials(rows, officials_by_id)
    return rows


def _rank_officials(rows: list[RowData], officials_by_id: dict[int, Official]) -> None:
    shown = [r for r in rows if not r.suppressed and r.score is not None]
    if not shown:
        return
    people = [officials_by_id[r.target_id] for r in shown]
    frame = pd.DataFrame(
        {
            "i": range(len(shown)),
            "score": [r.score for r in shown],
            # members of a team (neither principal nor deputy) are compared like deputies:
            # only within their own team
            "role": ["principal" if o.position == "principal" else "deputy" for o in people],
            "unit_type": [o.unit.type for o in people],
            "team_id": [o.unit_id for o in people],
        }
    )
    ranked = ranking.rank_officials(frame)
    for item in ranked.itertuples(index=False):
        row = shown[item.i]
        row.rank, row.n_peers = _int(item.rank), _int(item.n_peers)
        row.percentile = _num(item.percentile)
        row.peer_group = item.peer_group


def _rater_group_flags(ballot_rows: pd.DataFrame, scheme: Scheme) -> list[dict]:
    per_target = ballot_rows[ballot_rows["score"].notna()]
    if per_target.empty:
        return []
    table = quality.rater_spread(per_target, "rater_group", threshold=scheme.spread_threshold)
    return [
        {"rater_group": r.rater_group, "spread": _num(r.spread), "targets": int(r.n_targets)}
        for r in table[table["flagged"]].itertuples(index=False)
    ]


def _positive_negative(campaign, scheme, answers, officials, rater_k):
    ballot_rows = _matrix_ballots(answers, officials)
    flags = _flags(answers)
    extra = {"weighting": {"method": "rater_group_weights"}}
    if ballot_rows.empty:
        return [], extra | {"flags": _flag_summary(flags, [])}
    result = score_positive_negative(
        ballot_rows, scheme, questionnaire_version=campaign.version.label, flags=flags
    )
    kept = ballot_rows[~ballot_rows["response_id"].isin([e.response_id for e in result.exclusions])]
    extra["provenance"] = result.provenance
    extra["flags"] = _flag_summary(flags, result.exclusions)
    extra["flags"]["non_discriminating_rater_groups"] = _rater_group_flags(kept, scheme)
    by_id = {o.id: o for o in officials.values()}
    rows = _evaluation_rows(
        campaign, scheme, result.scores, _indicator_evaluations(kept, scheme), by_id, rater_k
    )
    return rows, extra


def _grade_question(questions: dict[str, Question], scheme: Scheme) -> Question | None:
    """The matrix question whose answer is an official's overall grade: its options are the scheme's grades; a one-item matrix wins, the last one if several."""
    candidates = [
        q
        for q in questions.values()
        if q.kind == "matrix"
        and q.options
        and {o.value for o in q.options} <= set(scheme.grade_points)
    ]
    single = [q for q in candidates if len(q.items) == 1]
    chosen = single or candidates
    return chosen[-1] if chosen else None


def _democratic(campaign, scheme, answers, questions, officials, units, rater_k):
    ballot_rows = _matrix_ballots(answers, officials)
    flags = _flags(answers)
    extra = {"weighting": {"method": "rater_group_weights"}}
    grade_question = _grade_question(questions, scheme)
    if ballot_rows.empty or grade_question is None:
        return [], extra | {"flags": _flag_summary(flags, [])}
    graded = ballot_rows[ballot_rows["question_key"] == grade_question.key]
    graded = graded.drop_duplicates(["response_id", "target_id"])
    ballots = graded.assign(grade=graded["value"])[
        ["response_id", "target_id", "rater_group", "grade"]
    ]
    ballots["team_id"] = ballots["target_id"].map({o.id: o.unit_id for o in officials.values()})
    result = score_democratic(
        ballots, scheme, questionnaire_version=campaign.version.label, flags=flags
    )
    excluded = {e.response_id for e in result.exclusions}
    kept = ballot_rows[~ballot_rows["response_id"].isin(excluded)]
    extra["provenance"] = result.provenance
    extra["flags"] = _flag_summary(flags, result.exclusions)
    by_id = {o.id: o for o in officials.values()}
    rows = _evaluation_rows(
        campaign, scheme, result.scores, _indicator_evaluations(kept, scheme), by_id, rater_k
    )
    rows += _team_rows(campaign, scheme, answers, excluded, result.teams, units, rater_k)
    return rows, extra


def _team_rows(campaign, scheme, answers, excluded, teams, units, rater_k) -> list[RowData]:
    """The leadership team as a whole: its own single-choice grade question, group-weighted."""
    team = answers[
        (answers["target_key"] == "")
        & answers["indicator"].notna()
        & answers["score"].notna()
        & answers["rater_group"].notna()
        & answers["unit_id"].notna()
        & ~answers["response_id"].isin(excluded)
    ]
    rows = []
    if team.empty:
        return rows
    ballots = team.groupby(["response_id", "unit_id", "rater_group"], sort=False)["score"].mean()
    ballots = ballots.reset_index().rename(columns={"unit_id": "target_id"})
    ballots["target_id"] = ballots["target_id"].astype(int)
    for evaluation in evaluate_groups(
        ballots[["target_id", "rater_group", "score"]], ["score"], scheme
    ):
        row = RowData("unit", int(evaluation.target_id), campaign.kind, campaign.period)
        _estimate_fields(row, evaluation.score)
        row.grade = evaluation.grade
        row.extra = {"rater_groups": _group_extra(evaluation.groups)}
        shares = teams.get(evaluation.target_id)
        if shares:
            row.extra["members_grade_shares"] = {
                g: _num(s) for g, s in shares.items() if g != "score"
            }
        if row.score is None:
            row.suppress(f"every rater group has fewer than {rater_k} raters (anonymity threshold)")
        rows.append(row)
    return rows


def _hotline(campaign, scheme, answers, questions, units, k):
    cases = answers[answers["unit_id"].notna()].drop_duplicates("response_id")[
        ["response_id", "unit_id"]
    ]
    cases = cases.rename(columns={"unit_id": "target_id"}).set_index("response_id")
    cases["target_id"] = cases["target_id"].astype(int)
    cases["period"] = campaign.period
    for component in scheme.components:
        question = next((q for q in questions.values() if q.indicator == component), None)
        if question is None:
            cases[component] = np.nan
            continue
        top = max((o.score for o in question.options if o.score is not None), default=None)
        good = {
            o.value
            for o in question.options
            if o.satisfied or (o.score is not None and o.score == top)
        }
        chosen = answers[answers["question_key"] == question.key].drop_duplicates("response_id")
        values = chosen.set_index("response_id")["value"]
        cases[component] = [
            (
                float(isinstance(values[r], str) and values[r] in good)
                if r in values.index
                else np.nan
            )
            for r in cases.index
        ]
    cases = cases.reset_index()
    flags = _flags(answers)
    extra = {"weighting": {"method": "unweighted"}}
    if cases.empty:
        return [], extra | {"flags": _flag_summary(flags, [])}
    result = score_hotline(cases, scheme, questionnaire_version=campaign.version.label, flags=flags)
    extra["provenance"] = result.provenance
    extra["flags"] = _flag_summary(flags, result.exclusions)
    rows = []
    for hotline in result.scores:
        row = RowData("unit", int(hotline.target_id), campaign.kind, str(hotline.period))
        row.score = _num(hotline.composite)
        row.grade = grade_for(row.score, list(scheme.bands)) if row.score is not None else None
        row.n, row.n_effective = int(hotline.n), float(hotline.n)
        row.indicators = {c: {"rate": _num(v)} for c, v in hotline.rates.items()}
        if hotline.n < k:
            row.suppress(f"fewer than {k} cases (anonymity threshold)")
        rows.append(row)
    _rank_units(rows, units)
    return rows, extra


def compute_scores(campaign: Campaign) -> Computed:
    """Scores of a campaign's current responses by its questionnaire's scheme, suppressed and ranked, not stored."""
    definition = campaign.version.definition
    scheme = scheme_from_definition(definition)
    if scheme.name not in ("satisfaction", "positive_negative", "democratic", "hotline"):
        raise ScoresError(f"the questionnaire '{campaign.version.label}' has no scoring scheme")
    k, rater_k = _anonymity(campaign)
    if scheme.group_weights:
        scheme = replace(scheme, min_group_size=rater_k)
    questions = _questions(campaign)
    answers = load_answers(campaign.id)
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.org_id == campaign.org_id))
    }
    officials = {
        o.code: o
        for o in db.session.scalars(select(Official).where(Official.org_id == campaign.org_id))
    }
    if scheme.name == "satisfaction":
        rows, extra = _satisfaction(campaign, scheme, answers, questions, units, k)
    elif scheme.name == "positive_negative":
        rows, extra = _positive_negative(campaign, scheme, answers, officials, rater_k)
    elif scheme.name == "democratic":
        rows, extra = _democratic(campaign, scheme, answers, questions, officials, units, rater_k)
    else:
        rows, extra = _hotline(campaign, scheme, answers, questions, units, k)
    from app.core.scoring import SCHEMES

    method = {
        "questionnaire": {
            "version": campaign.version.label,
            "checksum": campaign.version.checksum,
        },
        "scheme": {
            "name": scheme.name,
            "rule": SCHEMES[scheme.name].version,
            "definition_version": scheme.version,
            "parameters": json.loads(json.dumps(_scheme_parameters(scheme))),
        },
        "weighting": extra.get("weighting", {"method": "unweighted"}),
        "anonymity": {"k": k, "rater_k": rater_k},
    }
    summary = {
        "responses": int(answers["response_id"].nunique()) if len(answers) else 0,
        "rows": len(rows),
        "suppressed_rows": sum(r.suppressed for r in rows),
        "quality": extra.get("flags", {}),
        **extra.get("summary", {}),
    }
    rows.sort(key=lambda r: (r.target_type, r.target_id, r.kind, r.period))
    return Computed(rows, method, summary)


def _scheme_parameters(scheme: Scheme) -> dict:
    from dataclasses import asdict

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(scheme).items()}


# --- publishing -------------------------------------------------------------------------------


def current_snapshot(campaign_id: int) -> ScoreSnapshot | None:
    """The campaign's published (not superseded) snapshot, or None."""
    return db.session.scalar(
        select(ScoreSnapshot).where(
            ScoreSnapshot.campaign_id == campaign_id, ScoreSnapshot.status == "published"
        )
    )


def _next_seq() -> int:
    # UPDATE … RETURNING takes the counter row's lock until commit: publications serialize, so
    # sequence order is commit order and a cursor never skips a snapshot committed late.
    value = db.session.scalar(
        update(ScoreSequence)
        .where(ScoreSequence.id == 1)
        .values(value=ScoreSequence.value + 1)
        .returning(ScoreSequence.value)
    )
    if value is None:
        db.session.add(ScoreSequence(id=1, value=1))
        db.session.flush()
        value = 1
    return int(value)


def _key(target_type: str, target_id: int, kind: str, period: str) -> tuple:
    return (target_type, target_id, kind, period)


def publish_snapshot(campaign: Campaign, reason: str, request_key: str) -> ScoreSnapshot:
    """Compute and publish the campaign's scores as version N+1 (superseding N); a repeated request_key returns the snapshot it made. The caller commits."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ScoresError("a reason of 1 to 500 characters is required")
    if not request_key or len(request_key) > 100:
        raise ScoresError("a request key of 1 to 100 characters is required")
    done = _by_request(campaign.id, request_key)
    if done is not None:
        return done
    computed = compute_scores(campaign)
    seq = _next_seq()
    done = _by_request(campaign.id, request_key)  # another worker may have won while we computed
    if done is not None:
        return done
    previous = current_snapshot(campaign.id)
    version = (
        db.session.scalar(
            select(func.max(ScoreSnapshot.version)).where(ScoreSnapshot.campaign_id == campaign.id)
        )
        or 0
    ) + 1
    now = utcnow()
    snapshot = ScoreSnapshot(
        org_id=campaign.org_id,
        campaign_id=campaign.id,
        version=version,
        seq=seq,
        status="published",
        reason=reason,
        request_key=request_key,
        published_at=now,
        method=computed.method,
        summary=computed.summary,
    )
    if previous is not None:
        previous.status = "superseded"
        previous.superseded_at = now
        previous.superseded_by_version = version
        db.session.flush()
    db.session.add(snapshot)
    db.session.flush()
    new_keys = set()
    for data in computed.rows:
        new_keys.add(_key(data.target_type, data.target_id, data.kind, data.period))
        db.session.add(_row(snapshot, data))
    if previous is not None:
        # Every key ever published for the campaign and not scored now is withdrawn again, so a
        # client that skipped a version still learns that the score went away.
        for old in previous.rows:
            target_id = old.unit_id if old.target_type == "unit" else old.official_id
            key = _key(old.target_type, target_id, old.kind, old.period)
            if key in new_keys:
                continue
            new_keys.add(key)
            db.session.add(
                _row(
                    snapshot, RowData(old.target_type, target_id, old.kind, old.period), "withdrawn"
                )
            )
    db.session.flush()
    # Push: one delivery per endpoint, sent once this unit of work commits (rule 5).
    queue_deliveries(snapshot)
    return snapshot


def _by_request(campaign_id: int, request_key: str) -> ScoreSnapshot | None:
    return db.session.scalar(
        select(ScoreSnapshot).where(
            ScoreSnapshot.campaign_id == campaign_id, ScoreSnapshot.request_key == request_key
        )
    )


def _row(snapshot: ScoreSnapshot, data: RowData, status: str = "current") -> ScoreRow:
    return ScoreRow(
        snapshot=snapshot,
        org_id=snapshot.org_id,
        seq=snapshot.seq,
        campaign_id=snapshot.campaign_id,
        target_type=data.target_type,
        unit_id=data.target_id if data.target_type == "unit" else None,
        official_id=data.target_id if data.target_type == "official" else None,
        kind=data.kind,
        period=data.period,
        status=status,
        score=data.score,
        grade=data.grade,
        ci_low=data.ci_low,
        ci_high=data.ci_high,
        n=data.n,
        n_effective=data.n_effective,
        indicators=data.indicators,
        extra=data.extra,
        rank=data.rank,
        n_peers=data.n_peers,
        percentile=data.percentile,
        peer_group=data.peer_group,
        quality_flags=data.quality_flags,
        suppressed=data.suppressed,
        suppression_reason=data.suppression_reason,
    )


def campaign_snapshots(campaign_id: int) -> list[ScoreSnapshot]:
    """Every snapshot of a campaign, newest first."""
    return list(
        db.session.scalars(
            select(ScoreSnapshot)
            .where(ScoreSnapshot.campaign_id == campaign_id)
            .order_by(ScoreSnapshot.version.desc())
        )
    )
