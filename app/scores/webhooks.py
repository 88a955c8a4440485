"""Push: signed webhooks to the assessment core when a score snapshot is published.

An organization registers endpoint URLs (https; plain http to the loopback address only in
development). Publishing a snapshot adds one delivery row per active endpoint in the same unit
of work and enqueues ``deliver_score_webhook`` for it, so it is sent after the commit. A delivery
POSTs the snapshot's full state (every row, current, suppressed or withdrawn, serialized exactly
as GET /api/v1/scores serializes it) signed with HMAC-SHA256 under the endpoint's secret.

A 2xx answer delivers it; anything else (another status, a redirect, a timeout, a refused
connection) is logged as an attempt and retried with exponential backoff — 1, 2, 4 … minutes —
by ``flask scores deliver`` (run it from cron every minute), until MAX_ATTEMPTS.

Secrets are kept encrypted under CONTACT_ENCRYPTION_KEYS (Fernet, rotatable with the other
encrypted columns), not hashed: the receiver verifies with the very secret it was shown, so we
must be able to sign with it again. A key derived from SECRET_KEY would need no storage, but
rotating SECRET_KEY would then silently break every receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from app.api.schemas_scores import ScoreItemSchema
from app.campaigns.models import Campaign
from app.core.contact_crypto import ContactCipher, ContactDecryptError
from app.extensions import db
from app.jobs import job
from app.models_base import UtcDateTime, utcnow
from app.scores import feed
from app.scores.models import ScoreSnapshot

log = logging.getLogger(__name__)

EVENT = "snapshot.published"
MAX_ATTEMPTS = 8  # 1 + 2 + 4 + … + 64 minutes: about two hours of retries
MAX_BACKOFF = timedelta(hours=1)
# A claimed delivery is not due again until this has passed, so a second runner does not send it
# meanwhile; if the sender dies mid-request it is retried once the lease runs out.
LEASE = timedelta(minutes=5)
TIMEOUT = (3.05, 10)  # connect, read (seconds); well inside the lease
MAX_URL = 500
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "skipped")


class WebhookError(ValueError):
    """An endpoint cannot be registered as asked; the message says why."""


class ScoreWebhook(db.Model):
    """An organization's endpoint that receives published snapshots."""

    __tablename__ = "score_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    # Fernet token under CONTACT_ENCRYPTION_KEYS; the plain secret is shown once, at creation.
    secret_encrypted: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Removed endpoints are kept (not deleted) so the delivery log still names them.
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ScoreWebhookDelivery(db.Model):
    """One snapshot for one endpoint: sent once, retried until delivered or given up."""

    __tablename__ = "score_webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "snapshot_id"),
        CheckConstraint(
            "status IN ('pending','delivered','failed','skipped')", name="delivery_status"
        ),
        Index("ix_score_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("score_webhooks.id"), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("score_snapshots.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None]
    # An exception class or "HTTP 503": never a message, a header or the secret.
    last_error: Mapped[str | None] = mapped_column(String(100))

    webhook: Mapped[ScoreWebhook] = relationship()
    snapshot: Mapped[ScoreSnapshot] = relationship()
    attempt_log: Mapped[list[ScoreWebhookAttempt]] = relationship(
        order_by="ScoreWebhookAttempt.number", back_populates="delivery"
    )


class ScoreWebhookAttempt(db.Model):
    """One POST of a delivery: when, how long, and what came back."""

    __tablename__ = "score_webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("score_webhook_deliveries.id"), index=True)
    number: Mapped[int]
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_ms: Mapped[int]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(100))

    delivery: Mapped[ScoreWebhookDelivery] = relationship(back_populates="attempt_log")


# --- endpoints -------------------------------------------------------------------------------


def _cipher() -> ContactCipher:
    return ContactCipher(current_app.config["CONTACT_ENCRYPTION_KEYS"])


def validate_url(url: str, *, allow_loopback_http: bool = False) -> str:
    """The URL if it may receive scores: https with a host, no credentials or fragment."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise WebhookError(_l("give a URL of at most %(n)d characters", n=MAX_URL))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise WebhookError(_l("the URL is malformed")) from None
    if not parts.hostname:
        raise WebhookError(_l("the URL has no host"))
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and on screens; the signature authenticates us.
        raise WebhookError(_l("the URL must not contain a user name or password"))
    if parts.fragment:
        raise WebhookError(_l("the URL must not contain a fragment (#…)"))
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_loopback_http and parts.hostname in LOOPBACK_HOSTS:
        return url
    if allow_loopback_http:
        raise WebhookError(
            _l("the URL must start with https:// (or http://127.0.0.1 in development)")
        )
    raise WebhookError(_l("the URL must start with https://"))


def create_webhook(org_id: int, url: str, *, user=None) -> tuple[ScoreWebhook, str]:
    """Register an endpoint; returns it and its plain secret, which is never shown again. The caller commits."""
    allow = current_app.config.get("MINYI_ENV") == "development"
    url = validate_url(url, allow_loopback_http=allow)
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = ScoreWebhook(
        org_id=org_id,
        url=url,
        secret_encrypted=_cipher().encrypt(secret),
        created_by_id=getattr(user, "id", None),
    )
    db.session.add(webhook)
    db.session.flush()
    return webhook, secret


def remove_webhook(webhook: ScoreWebhook) -> int:
    """Stop sending to an endpoint; its pending deliveries are skipped. The caller commits."""
    now = utcnow()
    webhook.removed_at = webhook.removed_at or now
    return db.session.execute(
        update(ScoreWebhookDelivery)
        .where(
            ScoreWebhookDelivery.webhook_id == webhook.id,
            ScoreWebhookDelivery.status == "pending",
        )
        .values(status="skipped", last_error="endpoint removed", next_attempt_at=None)
    ).rowcount


def org_webhooks(org_id: int) -> list[ScoreWebhook]:
    """The organization's active endpoints, oldest first."""
    return list(
        db.session.scalars(
            select(ScoreWebhook)
            .where(ScoreWebhook.org_id == org_id, ScoreWebhook.removed_at.is_(None))
            .order_by(ScoreWebhook.id)
        )
    )


def org_deliveries(org_id: int, limit: int = 100) -> list[ScoreWebhookDelivery]:
    """The organization's latest deliveries, newest first (the delivery log)."""
    return list(
        db.session.scalars(
            select(ScoreWebhookDelivery)
            .where(ScoreWebhookDelivery.org_id == org_id)
            .options(
                selectinload(ScoreWebhookDelivery.webhook),
                selectinload(ScoreWebhookDelivery.snapshot),
                selectinload(ScoreWebhookDelivery.attempt_log),
            )
            .order_by(ScoreWebhookDelivery.id.desc())
            .limit(limit)
        )
    )


# --- publishing -> deliveries ------------------------------------------------------------------


def queue_deliveries(snapshot: ScoreSnapshot) -> list[ScoreWebhookDelivery]:
    """One delivery per active endpoint of the snapshot's organization, sent after the commit."""
    deliveries = [
        ScoreWebhookDelivery(
            org_id=snapshot.org_id,
            webhook_id=webhook.id,
            snapshot_id=snapshot.id,
            status="pending",
            next_attempt_at=utcnow(),
        )
        for webhook in org_webhooks(snapshot.org_id)
    ]
    if deliveries:
        db.session.add_all(deliveries)
        db.session.flush()
        for delivery in deliveries:
            deliver_score_webhook.enqueue(delivery.id)
    return deliveries


def payload(snapshot: ScoreSnapshot) -> dict:
    """The body: the snapshot's every row as the pull API's items (suppressed ones carry no figure)."""
    campaign = db.session.get(Campaign, snapshot.campaign_id)
    rows = [(row, snapshot) for row in snapshot.rows]
    ref = feed.snapshot_ref(snapshot)
    return {
        "event": EVENT,
        "campaign": {
            "id": campaign.id,
            "name": campaign.name,
            "kind": campaign.kind,
            "period": campaign.period,
        },
        "snapshot": {
            "version": snapshot.version,
            "published_at": ref["published_at"].isoformat(),
            "reason": snapshot.reason,
        },
        # The API's own schema: push and pull cannot drift apart.
        "items": ScoreItemSchema(many=True).dump(feed.items_for(rows)),
    }


def sign(secret: str, body: bytes) -> str:
    """The X-Minyi-Signature value: sha256=<hex HMAC-SHA256 of the raw body under the secret>."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4 … minutes, at most MAX_BACKOFF."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str | None]:
    with requests.Session() as session:
        # No proxies or .netrc credentials from the environment: they could add headers meant
        # for another host, or route scores through an unexpected machine.
        session.trust_env = False
        try:
            response = session.post(
                url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
            )
        except requests.RequestException as exc:
            # The class only: a message can quote the URL, headers or a proxy's answer.
            return None, type(exc).__name__
        response.close()  # the answer's body is not read
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


@job
def deliver_score_webhook(delivery_id: int) -> None:
    """Send one due delivery once (safe to run twice, or concurrently: only the claimer sends)."""
    now = utcnow()
    # Claim first, in its own short transaction, so no database transaction stays open during
    # the network call and a second runner finds the row not due (the lease) and leaves it.
    claimed = db.session.execute(
        update(ScoreWebhookDelivery)
        .where(
            ScoreWebhookDelivery.id == delivery_id,
            ScoreWebhookDelivery.status == "pending",
            ScoreWebhookDelivery.next_attempt_at <= now,
        )
        .values(attempts=ScoreWebhookDelivery.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if not claimed:
        return
    delivery = db.session.get(ScoreWebhookDelivery, delivery_id)
    webhook, snapshot = delivery.webhook, delivery.snapshot
    if webhook.removed_at is not None or snapshot.status != "published":
        # A newer version carries the campaign's full state (its withdrawn rows included), so an
        # older one is never sent after it: the core would move backwards.
        delivery.status, delivery.next_attempt_at = "skipped", None
        delivery.last_error = "endpoint removed" if webhook.removed_at else "superseded"
        db.session.commit()
        return
    started = time.monotonic()
    try:
        secret = _cipher().decrypt(webhook.secret_encrypted)
    except ContactDecryptError:
        # Its key was retired without rotating: a failed attempt (and in the end a failed
        # delivery), not a job that crashes and retries forever; the admin adds a new endpoint.
        status_code, error = None, "ContactDecryptError"
    else:
        body = json.dumps(payload(snapshot), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Minyi-Webhooks/1",
            "X-Minyi-Event": EVENT,
            "X-Minyi-Delivery": str(delivery.id),
            "X-Minyi-Timestamp": str(int(time.time())),
            "X-Minyi-Signature": sign(secret, body),
        }
        status_code, error = _post(webhook.url, body, headers)
    finished = utcnow()
    db.session.add(
        ScoreWebhookAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            attempted_at=finished,
            duration_ms=int((time.monotonic() - started) * 1000),
            status_code=status_code,
            error=error,
        )
    )
    delivery.last_status_code, delivery.last_error = status_code, error
    if error is None:
        delivery.status, delivery.delivered_at = "delivered", finished
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = finished + backoff(delivery.attempts)
    facts = (delivery.id, webhook.id, snapshot.id, delivery.attempts, error or status_code)
    db.session.commit()
    log.info("Score webhook delivery %s (endpoint %s, snapshot %s) attempt %s: %s", *facts)


def due_deliveries(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of pending deliveries whose next attempt is due, oldest first."""
    return list(
        db.session.scalars(
            select(ScoreWebhookDelivery.id)
            .where(
                ScoreWebhookDelivery.status == "pending",
                ScoreWebhookDelivery.next_attempt_at <= (now or utcnow()),
            )
            .order_by(ScoreWebhookDelivery.next_attempt_at, ScoreWebhookDelivery.id)
            .limit(limit)
        )
    )


def deliver_due(limit: int = 500) -> dict[str, int]:
    """Send every due delivery now (the cron runner); returns counts by resulting status."""
    counts: dict[str, int] = {}
    for delivery_id in due_deliveries(limit=limit):
        deliver_score_webhook(delivery_id)
        status = db.session.scalar(
            select(ScoreWebhookDelivery.status).where(ScoreWebhookDelivery.id == delivery_id)
        )
        counts[status] = counts.get(status, 0) + 1
    return counts
