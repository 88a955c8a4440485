"""The one ingest path: every channel records a complete set of answers through record_response."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.campaigns.models import Campaign
from app.core.anonymize import scrub
from app.core.periods import coarsen_date
from app.core.questionnaire import AnswersInvalid, Problem, validate_answers
from app.extensions import db
from app.models_base import utcnow
from app.questionnaires.service import team_targets
from app.responses.models import Answer, Response
from app.targets.models import Unit

CHANNELS = ("web", "qr", "sms", "hotline", "interviewer", "api", "rater_slip")


@dataclass(frozen=True)
class Recorded:
    """The stored response and whether this call created it (False: an idempotent repeat)."""

    response: Response
    created: bool


def idempotency_hash(campaign_id: int, key: str) -> str:
    """SHA-256 of the campaign id and the client's key."""
    return hashlib.sha256(f"{campaign_id}\x1f{key}".encode()).hexdigest()


def resolve_definition(campaign: Campaign, unit: Unit | None) -> dict:
    """The campaign's definition with symbolic matrix targets ('team', 'units') made concrete."""
    definition = campaign.version.definition
    questions = []
    for question in definition["questions"]:
        targets = question.get("targets")
        if targets == "team":
            question = {**question, "targets": team_targets(unit) if unit is not None else []}
        elif targets == "units":
            units = [t.unit for t in campaign.targets if t.unit is not None]
            question = {
                **question,
                "targets": [{"key": u.code, "label": {"zh": u.name}} for u in units],
            }
        questions.append(question)
    return {**definition, "questions": questions}


def _context_problems(campaign, channel, unit, rater_group, is_test, now) -> list[Problem]:
    problems = []
    if channel not in CHANNELS:
        problems.append(Problem("channel", f"must be one of {', '.join(CHANNELS)}"))
    if not is_test:
        if campaign.status != "open":
            problems.append(Problem("campaign", "the campaign is not open for answers"))
        elif (campaign.opens_at and now < campaign.opens_at) or (
            campaign.closes_at and now >= campaign.closes_at
        ):
            problems.append(Problem("campaign", "the campaign is outside its answering time"))
    unit_ids = {t.unit_id for t in campaign.targets if t.unit_id is not None}
    if unit is not None and unit.id not in unit_ids:
        problems.append(Problem("unit", "not a target of this campaign"))
    uses_team = any(q.get("targets") == "team" for q in campaign.version.definition["questions"])
    if uses_team and unit is None:
        problems.append(Problem("unit", "this questionnaire rates a team: the unit is required"))
    groups = [
        g["key"]
        for g in (campaign.version.definition.get("scoring") or {}).get("rater_groups") or []
    ]
    if rater_group is not None and rater_group not in groups:
        problems.append(Problem("rater_group", f"must be one of {', '.join(groups) or '(none)'}"))
    return problems


def record_response(
    campaign: Campaign,
    answers: dict,
    *,
    channel: str,
    idempotency_key: str,
    unit: Unit | None = None,
    rater_group: str | None = None,
    distribution_point=None,
    duration_seconds: int | None = None,
    is_test: bool = False,
    now: datetime | None = None,
) -> Recorded:
    """Validate a complete set of answers and add them in one savepoint; the caller commits.

    The idempotency key must be random per submission (never derived from a phone or token):
    a repeat with the same key returns the stored response and stores nothing.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise AnswersInvalid(
            [Problem("idempotency_key", "a key of 1 to 200 characters is required")]
        )
    key_hash = idempotency_hash(campaign.id, idempotency_key)
    existing = by_key(campaign.id, key_hash)
    if existing is not None:
        return Recorded(existing, False)
    now = now or utcnow()
    problems = _context_problems(campaign, channel, unit, rater_group, is_test, now)
    if not isinstance(answers, dict):
        raise AnswersInvalid([*problems, Problem("answers", "must map question keys to answers")])
    extra = (campaign.settings.get("anonymity") or {}).get("extra_patterns") or ()
    try:
        rows = validate_answers(
            resolve_definition(campaign, unit), answers, text_cleaner=lambda t: scrub(t, extra)
        )
    except AnswersInvalid as exc:
        problems += exc.problems
    if problems:
        raise AnswersInvalid(problems)
    granularity = campaign.settings.get("anonymity", {}).get("timestamp_granularity", "day")
    local_day = now.astimezone(ZoneInfo(_timezone())).date()
    response = Response(
        campaign_id=campaign.id,
        channel=channel,
        unit_id=unit.id if unit is not None else None,
        rater_group=rater_group,
        distribution_point_id=distribution_point.id if distribution_point is not None else None,
        submitted_on=coarsen_date(local_day, granularity),
        duration_seconds=_coarse_duration(duration_seconds),
        is_test=is_test,
        idempotency_hash=key_hash,
        answers=[
            Answer(
                question_key=row.question_key,
                target_key=row.target_key or "",
                item_key=row.item_key or "",
                value=row.value,
                score=row.score,
                indicator=row.indicator,
            )
            for row in rows
        ],
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        # A concurrent repeat of the same submission won the race: return its response.
        existing = by_key(campaign.id, key_hash)
        if existing is None:
            raise
        return Recorded(existing, False)
    return Recorded(response, True)


def by_key(campaign_id: int, key_hash: str) -> Response | None:
    return db.session.scalar(
        select(Response).where(
            Response.campaign_id == campaign_id, Response.idempotency_hash == key_hash
        )
    )


def _coarse_duration(seconds: int | None) -> int | None:
    # Whole seconds, capped at a day: enough for speeder checks, no finer fingerprint.
    if seconds is None or seconds < 0:
        return None
    return min(int(seconds), 86400)


def _timezone() -> str:
    from flask import current_app

    return current_app.config.get("TIMEZONE", "Asia/Shanghai")


class VoidRefused(ValueError):
    """A response cannot be voided as asked; the message says why."""


def void_response(response: Response | None, reason: str, user) -> Response:
    """Exclude a response from every figure, with the reason in the audit log; the caller commits."""
    from app.audit.service import record

    if response is None or response.campaign is None or response.campaign.org_id != user.org_id:
        raise VoidRefused("no such response in this organization")
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= 500:
        raise VoidRefused("give a reason of 3 to 500 characters")
    if response.status == "void":
        raise VoidRefused("the response is already void")
    response.status = "void"
    response.void_reason = reason
    record(
        "response.void",
        "response",
        response.id,
        user=user,
        campaign_id=response.campaign_id,
        reason=reason,
    )
    return response
