"""One answer per phone: a one-time code by SMS before an open link can be answered."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.campaigns.models import Campaign
from app.core.anonymize import respondent_key
from app.core.phones import normalize_phone
from app.extensions import db
from app.links.models import PhoneClaim
from app.models_base import utcnow

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
MAX_CODES = 3


class ClaimRefused(Exception):
    """The phone cannot answer (already answered, too many tries); .reason says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _code_hash(claim_id: int, code: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"otp:{claim_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _aware(moment):
    from datetime import UTC

    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def request_code(campaign: Campaign, raw_phone: str) -> tuple[PhoneClaim, str, str]:
    """(claim, code, e164) for the phone; raises InvalidPhone or ClaimRefused. The caller commits
    and then texts the code — the number itself is never stored."""
    e164 = normalize_phone(raw_phone, current_app.config.get("DEFAULT_PHONE_REGION", "CN"))
    key = respondent_key(current_app.config["RESPONDENT_KEY_SECRET"].encode(), campaign.id, e164)
    claim = db.session.scalar(
        select(PhoneClaim)
        .where(PhoneClaim.campaign_id == campaign.id, PhoneClaim.pseudonym == key)
        .with_for_update()
    )
    if claim is None:
        claim = PhoneClaim(campaign_id=campaign.id, pseudonym=key)
        db.session.add(claim)
        db.session.flush()
    if claim.used:
        raise ClaimRefused("used")
    if claim.codes_sent >= MAX_CODES:
        raise ClaimRefused("too_many")
    code = f"{secrets.randbelow(10**6):06d}"
    claim.code_hash = _code_hash(claim.id, code)
    claim.code_expires_at = utcnow() + timedelta(minutes=CODE_MINUTES)
    claim.codes_sent += 1
    claim.attempts = 0
    return claim, code, e164


def verify_code(claim_id: int, code: str) -> bool:
    """Whether the code is right and fresh; wrong tries are counted and capped. The caller commits."""
    claim = db.session.get(PhoneClaim, claim_id)
    if claim is None or claim.used or claim.code_hash is None:
        return False
    if claim.attempts >= MAX_ATTEMPTS or utcnow() >= _aware(claim.code_expires_at):
        return False
    if hmac.compare_digest(claim.code_hash, _code_hash(claim.id, (code or "").strip())):
        claim.code_hash = None  # one use of the code
        return True
    claim.attempts += 1
    return False


def use_claim(claim_id: int) -> bool:
    """Mark the claim used, once, under concurrency; False when it was already used."""
    return bool(
        db.session.execute(
            update(PhoneClaim)
            .where(PhoneClaim.id == claim_id, PhoneClaim.used.is_(False))
            .values(used=True)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
