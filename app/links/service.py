"""Making, finding and answering survey links."""

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import String, cast, func, select, update
from sqlalchemy.orm import joinedload

from app.campaigns.models import Campaign
from app.core.contact_crypto import ContactCipher
from app.core.questionnaire import AnswersInvalid
from app.extensions import db
from app.links.models import Link
from app.models_base import utcnow
from app.responses.models import Answer, Response
from app.responses.service import Recorded, by_key, idempotency_hash, record_response
from app.targets.models import Unit

# No 0/O, 1/I/l: codes are read off paper and typed by hand.
_SLIP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_OPEN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class LinkGone(Exception):
    """The link cannot take an answer: .reason is used, expired, not_open or closed."""

    def __init__(self, reason: str, campaign: Campaign | None = None):
        self.reason = reason
        self.campaign = campaign
        super().__init__(reason)


class QuotaFull(Exception):
    """The quota cell this answer falls in is full; nothing was stored."""


def code_hash(code: str) -> str:
    """SHA-256 of a link code (codes are random, so no key or slow hash is needed)."""
    return hashlib.sha256(code.encode()).hexdigest()


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _cipher() -> ContactCipher:
    return ContactCipher(current_app.config["CONTACT_ENCRYPTION_KEYS"])


def public_url(code: str) -> str:
    """The absolute /s/<code> address that links and QR codes carry."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/s/{code}"


def add_distribution_point(
    campaign: Campaign, name: str, unit: Unit | None = None, code: str | None = None
) -> Link:
    """An open link for one place or medium; the caller commits."""
    code = code or _random(_OPEN_ALPHABET, 6)
    link = Link(
        campaign=campaign,
        kind="open",
        code=code,
        code_hash=code_hash(code),
        name=name.strip(),
        unit=unit,
    )
    db.session.add(link)
    return link


def create_invitation(
    campaign: Campaign, expires_at: datetime | None, unit: Unit | None = None
) -> tuple[Link, str]:
    """A single-use invitation, optionally about one unit; the token is returned once, stored hashed."""
    token = secrets.token_urlsafe(12)
    link = Link(
        campaign=campaign,
        kind="invitation",
        code_hash=code_hash(token),
        expires_at=expires_at,
        unit=unit,
    )
    db.session.add(link)
    return link, token


def create_invitation_link(
    campaign: Campaign, expires_at: datetime | None, unit: Unit | None = None
) -> str:
    """A single-use invitation's absolute URL (for an SMS or a letter); the caller commits."""
    _, token = create_invitation(campaign, expires_at, unit)
    return public_url(token)


def create_rater_codes(campaign: Campaign, unit: Unit | None, group: str, count: int) -> list[Link]:
    """count single-use rater codes for one rater group (of one team); the caller commits."""
    groups = [
        g["key"]
        for g in (campaign.version.definition.get("scoring") or {}).get("rater_groups") or []
    ]
    if group not in groups:
        raise ValueError(f"rater group must be one of {', '.join(groups) or '(none)'}")
    if not 1 <= count <= 1000:
        raise ValueError("make between 1 and 1000 codes at a time")
    cipher = _cipher()
    links = []
    for _ in range(count):
        code = _random(_SLIP_ALPHABET, 10)
        link = Link(
            campaign=campaign,
            kind="rater",
            code_hash=code_hash(code),
            code_encrypted=cipher.encrypt(code),
            unit=unit,
            rater_group=group,
        )
        db.session.add(link)
        links.append(link)
    return links


def slip_code(link: Link) -> str:
    """A rater code, decrypted for printing its slip."""
    return _cipher().decrypt(link.code_encrypted)


def find_link(code: str) -> Link | None:
    """The link with this code, or None."""
    if not code or len(code) > 64:
        return None
    # One round trip for the link, its campaign and questionnaire version: every request needs them.
    return db.session.scalar(
        select(Link)
        .where(Link.code_hash == code_hash(code))
        .options(joinedload(Link.campaign).joinedload(Campaign.version))
    )


def check_link(link: Link, now: datetime | None = None) -> None:
    """Raise LinkGone unless the link can take an answer now."""
    now = now or utcnow()
    campaign = link.campaign
    if link.single_use and link.used_at is not None:
        raise LinkGone("used", campaign)
    if link.expires_at is not None and now >= _aware(link.expires_at):
        raise LinkGone("expired", campaign)
    if campaign.status == "draft" or (campaign.opens_at and now < _aware(campaign.opens_at)):
        raise LinkGone("not_open", campaign)
    if campaign.status == "closed" or (campaign.closes_at and now >= _aware(campaign.closes_at)):
        raise LinkGone("closed", campaign)


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def quota_cell(campaign: Campaign, link: Link, answers: dict) -> tuple[str, str] | None:
    """(by, value) of the quota cell an answer falls in, or None when no quota applies."""
    quotas = campaign.settings.get("quotas") or {}
    by, cells = quotas.get("by"), quotas.get("cells") or {}
    if not by or not cells:
        return None
    value = link.unit.code if by == "unit" and link.unit is not None else answers.get(by)
    if not isinstance(value, str) or value not in cells:
        return None
    return by, value


def quota_full(campaign: Campaign, cell: tuple[str, str] | None) -> bool:
    """Whether the cell already holds its quota of complete, real responses."""
    if cell is None:
        return False
    by, value = cell
    limit = int(campaign.settings["quotas"]["cells"][value])
    counted = (
        select(func.count())
        .select_from(Response)
        .where(
            Response.campaign_id == campaign.id,
            Response.status == "complete",
            Response.is_test.is_(False),
        )
    )
    if by == "unit":
        counted = counted.join(Unit, Unit.id == Response.unit_id).where(Unit.code == value)
    else:
        # JSON answers compare as their JSON text on both SQLite and PostgreSQL.
        counted = counted.join(Answer).where(
            Answer.question_key == by, cast(Answer.value, String) == json.dumps(value)
        )
    return db.session.scalar(counted) >= limit


def submit(
    link: Link,
    answers: dict,
    *,
    idempotency_key: str,
    channel: str = "web",
    duration_seconds: int | None = None,
    now: datetime | None = None,
    is_test: bool = False,
) -> Recorded:
    """Record a response through a link: single use, quotas and idempotency; the caller commits.

    A staff test submission (is_test) skips the link's state, quotas and single use, and is
    stored marked as a test, which every figure leaves out.
    """
    campaign = link.campaign
    answers = storable(answers)
    # What the response may carry of the link: the unit, the rater group, an open link's place.
    carried = {
        "channel": channel,
        "idempotency_key": idempotency_key,
        "unit": link.unit,
        "rater_group": link.rater_group,
        "now": now,
    }
    if is_test:
        return record_response(campaign, answers, is_test=True, **carried)
    try:
        check_link(link, now)
    except LinkGone:
        # A retry of a stored submission gets its response, even once the link is used or closed.
        repeat = _repeat(campaign, idempotency_key)
        if repeat is not None:
            return repeat
        raise
    cell = quota_cell(campaign, link, answers)
    if cell is not None:
        # Serialize submissions into one campaign's quota cells (a no-op lock on SQLite).
        db.session.execute(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
        if quota_full(campaign, cell):
            raise QuotaFull(cell[1])
    if link.single_use:
        claimed = db.session.execute(
            update(Link)
            .where(Link.id == link.id, Link.used_at.is_(None))
            .values(used_at=now or utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            # Another submission used the link first; a retry of that same submission is fine.
            repeat = _repeat(campaign, idempotency_key)
            if repeat is not None:
                return repeat
            raise LinkGone("used", campaign)
    try:
        return record_response(
            campaign,
            answers,
            distribution_point=link if link.kind == "open" else None,
            duration_seconds=duration_seconds,
            **carried,
        )
    except AnswersInvalid:
        db.session.rollback()
        raise


def storable(value):
    """Answers with NUL characters and lone surrogates removed from every string.

    PostgreSQL cannot store either in text or JSONB (a 500 instead of a stored answer); neither
    carries meaning in an answer, and no option value or question key contains them.
    """
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def _repeat(campaign: Campaign, key: str) -> Recorded | None:
    if not key:
        return None
    existing = by_key(campaign.id, idempotency_hash(campaign.id, key))
    return Recorded(existing, False) if existing is not None else None


def receipt_code(response: Response) -> str:
    """A short code the respondent can keep: a keyed digest of the response id."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"receipt:{response.id}".encode(), hashlib.sha256).hexdigest()
    return digest[:10].upper()
