"""An anonymized response-level export for analysts: coded answers, coarse strata, weights, codebook.

Privacy rules (DESIGN.md, issue 8):
- Only complete, non-test responses. No stored response id, date, distribution point, rater
  group or duration leaves: a row is identified by a per-export number, and rows are sorted by
  stratum, then at random, so their order says nothing about who answered when.
- Each row's strata cell is (district, age band, sex, channel). A cell with fewer than k rows
  is coarsened: sex is dropped ("*"), then age band too; rows still in a cell under k are
  withheld. Only counts of coarsened and withheld rows are reported, never their cells.
- A coarsened row gets the mean weight of its coarsened cell: raking weights are a function of
  the weighting cell, so an exact weight could reveal the sex or age band that was dropped.
  Weights of other rows are exactly the ones the scores use (service.response_weights).
- The questions that feed the strata are not repeated among the answers (that would undo the
  coarsening). Free text is left out unless asked for; then it is scrubbed again and given
  only for rows whose exact cell has at least k rows (never from a coarsened, small cell).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from app.campaigns.models import Campaign
from app.core.anonymize import scrub
from app.core.questionnaire import Question, parse_questions
from app.extensions import db
from app.responses.models import Answer, Response
from app.scores.service import ScoresError, response_weights
from app.targets.models import Unit

STRATA = ("district", "age_band", "sex", "channel")
# Dropped in this order, cumulatively, while a row's cell has fewer than k rows.
COARSENING = ("sex", "age_band")
COARSENED = "*"
# Question keys that supply a stratum, unless settings["export"]["strata"] names others.
DEFAULT_STRATA_QUESTIONS = {
    "district": ("district",),
    "age_band": ("age_band", "age_group"),
    "sex": ("sex", "gender"),
}
DEFAULT_K = 5


@dataclass
class _Row:
    strata: dict
    weight: float | None
    answers: dict
    texts: dict
    level: int = 0  # how many COARSENING variables were dropped


@dataclass(frozen=True)
class ResponseExport:
    """The rows as they may leave, their codebook, and what coarsening and withholding did."""

    codebook: dict
    columns: list[str]
    rows: list[dict]
    withheld: int
    coarsened: list[dict] = field(default_factory=list)


def anonymity_k(campaign: Campaign) -> int:
    """The campaign's anonymity threshold k (settings.anonymity.k, default 5)."""
    return int(((campaign.settings or {}).get("anonymity") or {}).get("k", DEFAULT_K))


def _label(text) -> str | None:
    if isinstance(text, dict):
        return text.get("zh") or text.get("en") or next(iter(text.values()), None)
    return text


def _strata_questions(campaign: Campaign, questions: dict[str, Question]) -> dict[str, str]:
    """Stratum -> the question key that supplies it, for the strata the questionnaire has."""
    configured = ((campaign.settings or {}).get("export") or {}).get("strata") or {}
    found = {}
    for stratum, candidates in DEFAULT_STRATA_QUESTIONS.items():
        keys = [configured[stratum]] if configured.get(stratum) else candidates
        key = next((k for k in keys if k in questions), None)
        if key is not None:
            found[stratum] = key
    return found


def _load(campaign_id: int):
    current = (
        Response.campaign_id == campaign_id,
        Response.status == "complete",
        Response.is_test.is_(False),
    )
    responses = db.session.execute(
        select(Response.id, Response.channel, Response.unit_id).where(*current)
    ).all()
    answers = db.session.execute(
        select(
            Answer.response_id,
            Answer.question_key,
            Answer.target_key,
            Answer.item_key,
            Answer.value,
        )
        .join(Response, Response.id == Answer.response_id)
        .where(*current)
    ).all()
    by_response = defaultdict(list)
    for a in answers:
        by_response[a.response_id].append(a)
    return responses, by_response


def _code_of(question: Question, value):
    """1-based position of a chosen option; numbers as they are; None for anything else."""
    if question.kind in ("single_choice", "yes_no", "matrix"):
        values = [o.value for o in question.options]
        return values.index(value) + 1 if isinstance(value, str) and value in values else None
    if question.kind in ("rating", "number"):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    return None


def _option_codes(question: Question) -> list[dict]:
    return [
        {"code": i + 1, "value": o.value, "label": _label(o.label)}
        for i, o in enumerate(question.options)
    ]


def _variable(name, kind, role, label=None, question=None, codes=None, **extra) -> dict:
    entry = {
        "name": name,
        "kind": kind,
        "role": role,
        "label": label,
        "question": question,
        "codes": codes,
    }
    entry.update({key: value for key, value in extra.items() if value is not None})
    return entry


def _answer_columns(questions, skip, include_text, by_response) -> tuple[list[dict], dict]:
    """Codebook entries of the answer columns, in questionnaire order, and matrix cells seen."""
    cells = defaultdict(set)
    for answers in by_response.values():
        for a in answers:
            if a.target_key or a.item_key:
                cells[a.question_key].add((a.target_key, a.item_key))
    variables = []
    for q in questions.values():
        if q.key in skip or (q.kind == "text" and not include_text):
            continue
        label = _label(q.text)
        if q.kind == "multiple_choice":
            for o in q.options:
                variables.append(
                    _variable(
                        f"{q.key}.{o.value}",
                        "multiple_choice_option",
                        "answer",
                        f"{label}: {_label(o.label)}",
                        q.key,
                        [
                            {"code": 1, "value": "chosen", "label": None},
                            {"code": 0, "value": "not chosen", "label": None},
                        ],
                        option=o.value,
                    )
                )
        elif q.kind == "matrix":
            items = {item.key: item for item in q.items}
            order = list(items)
            seen = sorted(
                cells.get(q.key, ()),
                key=lambda c: (c[0], order.index(c[1]) if c[1] in order else len(order), c[1]),
            )
            for target, item in seen:
                item_label = _label(items[item].text) if item in items else item
                variables.append(
                    _variable(
                        f"{q.key}.{target}.{item}",
                        "matrix",
                        "answer",
                        f"{label} [{target}] {item_label}",
                        q.key,
                        _option_codes(q),
                        target=target,
                        item=item,
                    )
                )
        elif q.kind in ("single_choice", "yes_no"):
            variables.append(_variable(q.key, q.kind, "answer", label, q.key, _option_codes(q)))
        elif q.kind in ("rating", "number"):
            variables.append(
                _variable(
                    q.key, q.kind, "answer", label, q.key, minimum=q.minimum, maximum=q.maximum
                )
            )
        elif q.kind == "text":
            variables.append(_variable(q.key, "text", "free_text", label, q.key))
    return variables, cells


def _row_answers(questions, answer_vars, answers) -> tuple[dict, dict]:
    values = {}
    texts = {}
    by_key = {(a.question_key, a.target_key, a.item_key): a.value for a in answers}
    for var in answer_vars:
        q = questions[var["question"]]
        if var["kind"] == "multiple_choice_option":
            chosen = by_key.get((q.key, "", ""))
            values[var["name"]] = (
                None if not isinstance(chosen, list) else int(var["option"] in chosen)
            )
        elif var["kind"] == "matrix":
            values[var["name"]] = _code_of(q, by_key.get((q.key, var["target"], var["item"])))
        elif var["kind"] == "text":
            text = by_key.get((q.key, "", ""))
            texts[var["name"]] = text if isinstance(text, str) and text else None
        else:
            values[var["name"]] = _code_of(q, by_key.get((q.key, "", "")))
    return values, texts


def _protect(rows: list[_Row], k: int) -> tuple[list[_Row], int]:
    """Coarsen rows in cells under k (sex, then age band), withhold those still under k."""
    kept: list[_Row] = []
    pending = rows
    for level in range(len(COARSENING) + 1):
        for row in pending:
            row.level = level
            for variable in COARSENING[:level]:
                row.strata[variable] = COARSENED
        cells = defaultdict(list)
        for row in pending:
            cells[tuple(row.strata[s] for s in STRATA)].append(row)
        pending = []
        for members in cells.values():
            if len(members) >= k:
                kept += members
                if level:
                    _pool_weights(members)
            else:
                pending += members
    return kept, len(pending)


def _pool_weights(members: list[_Row]) -> None:
    weights = [r.weight for r in members if r.weight is not None]
    if weights:
        mean = sum(weights) / len(weights)
        for row in members:
            if row.weight is not None:
                row.weight = mean


def _sort_key(row: _Row) -> tuple:
    return tuple((row.strata[s] is None, str(row.strata[s] or "")) for s in STRATA)


def build_response_export(campaign: Campaign, *, include_text: bool = False) -> ResponseExport:
    """The campaign's anonymized rows and codebook (see the module docstring for the rules)."""
    k = anonymity_k(campaign)
    questions = {q.key: q for q in parse_questions(campaign.version.definition)}
    strata_questions = _strata_questions(campaign, questions)
    responses, by_response = _load(campaign.id)
    try:
        weights, weighting = response_weights(campaign)
    except ScoresError as exc:
        weights, weighting = {}, {"method": "unavailable", "reason": str(exc)}
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.org_id == campaign.org_id))
    }
    answer_vars, _ = _answer_columns(
        questions, set(strata_questions.values()), include_text, by_response
    )
    extra_patterns = ((campaign.settings or {}).get("anonymity") or {}).get("extra_patterns") or ()

    rows = []
    for response in responses:
        answers = by_response.get(response.id, [])
        single = {a.question_key: a.value for a in answers if not a.target_key and not a.item_key}
        unit = units.get(response.unit_id)
        strata = {
            "district": unit.code
            if unit is not None
            else _text_or_none(single.get(strata_questions.get("district"))),
            "age_band": _text_or_none(single.get(strata_questions.get("age_band"))),
            "sex": _text_or_none(single.get(strata_questions.get("sex"))),
            "channel": response.channel,
        }
        values, texts = _row_answers(questions, answer_vars, answers)
        weight = 1.0 if weights is None else weights.get(str(response.id))
        rows.append(_Row(strata, weight, values, texts))

    kept, withheld = _protect(rows, k)
    # Shuffle with a CSPRNG, then a stable sort by stratum: order within a cell is random.
    secrets.SystemRandom().shuffle(kept)
    kept.sort(key=_sort_key)

    text_names = [v["name"] for v in answer_vars if v["kind"] == "text"]
    out = []
    for number, row in enumerate(kept, start=1):
        record = {"row": number, **row.strata, "weight": row.weight, **row.answers}
        for name in text_names:
            text = row.texts.get(name)
            # Free text only from rows whose exact cell has k or more rows.
            record[name] = scrub(text, extra_patterns) if text and row.level == 0 else None
        out.append(record)

    codebook = _codebook(campaign, k, weighting, strata_questions, questions, units, answer_vars)
    columns = [v["name"] for v in codebook["variables"]]
    out = [{name: record.get(name) for name in columns} for record in out]
    coarsened = [
        {"dropped": list(COARSENING[:level]), "rows": sum(r.level == level for r in kept)}
        for level in range(1, len(COARSENING) + 1)
    ]
    return ResponseExport(codebook, columns, out, withheld, coarsened)


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _codebook(campaign, k, weighting, strata_questions, questions, units, answer_vars) -> dict:
    coarse = {"code": COARSENED, "value": COARSENED, "label": "coarsened (cell under k)"}
    district_codes = [
        {"code": t.unit.code, "value": t.unit.code, "label": t.unit.name}
        for t in campaign.targets
        if t.unit is not None
    ]
    if not district_codes and "district" in strata_questions:
        district_codes = _strata_codes(questions[strata_questions["district"]])
    variables = [
        _variable("row", "integer", "row", "row number of this export (not a stored id)"),
        _variable(
            "district",
            "stratum",
            "stratum",
            "district (the response's unit)",
            strata_questions.get("district"),
            district_codes,
        ),
        _variable(
            "age_band",
            "stratum",
            "stratum",
            "age band",
            strata_questions.get("age_band"),
            _strata_codes(questions.get(strata_questions.get("age_band"))) + [coarse],
        ),
        _variable(
            "sex",
            "stratum",
            "stratum",
            "sex",
            strata_questions.get("sex"),
            _strata_codes(questions.get(strata_questions.get("sex"))) + [coarse],
        ),
        _variable("channel", "stratum", "stratum", "channel the response came by"),
        _variable("weight", "number", "weight", f"survey weight ({weighting.get('method')})"),
        *answer_vars,
    ]
    return {
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "period": campaign.period,
            "questionnaire_version": campaign.version.label,
        },
        "anonymity_k": k,
        "strata": list(STRATA),
        "coarsening": list(COARSENING),
        "weighting": weighting,
        "variables": variables,
        "notes": [
            "null means not asked, not answered, or (free text) withheld.",
            f"A strata cell with fewer than {k} rows is coarsened: sex, then age band become "
            f"'{COARSENED}'; rows still in a cell under {k} are withheld.",
            "A coarsened row's weight is the mean weight of its coarsened cell.",
            "Free text, when asked for, is scrubbed and given only for rows whose exact cell "
            f"has at least {k} rows.",
        ],
    }


def _strata_codes(question: Question | None) -> list[dict]:
    if question is None:
        return []
    return [{"code": o.value, "value": o.value, "label": _label(o.label)} for o in question.options]


def export_csv(export: ResponseExport) -> bytes:
    """The rows as CSV (UTF-8 with BOM), formula-like text neutralised; header = variable names."""
    import csv
    import io

    from app.scores.export import neutralise

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.columns)
    for row in export.rows:
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in export.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
