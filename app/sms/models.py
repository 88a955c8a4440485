"""SMS tables: contacts, uploads, outbox, conversations, inbound receipts, opt-outs, hotline cases.

Privacy by construction: a raw phone number is stored only Fernet-encrypted (contacts and the
outbox's address, both purged after the campaign); everything else carries keyed pseudonyms
(HMAC) only. The campaign-scoped respondent key cannot be linked across campaigns; the opt-out
key (the same in every campaign) is stored only in the opt-out list.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.campaigns.models import Campaign
from app.extensions import db
from app.models_base import JsonType, UtcDateTime, utcnow

OUTBOX_STATUSES = (
    "pending",  # waiting for a worker (maybe after a transient error, see next_attempt_at)
    "unknown",  # claimed: the provider may or may not have it; only a status callback says
    "queued",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "skipped",  # never handed over: opted out, campaign closed, or purged before sending
)
CONVERSATION_STATUSES = ("active", "completed", "expired", "abandoned", "opted_out", "failed")
CASE_STATUSES = ("scheduled", "started", "completed", "expired", "opted_out", "skipped")


def _in(name: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"status IN ({', '.join(repr(v) for v in values)})", name=name)


class SmsContact(db.Model):
    """One phone number of a campaign: encrypted, with its campaign-scoped pseudonym for dedupe."""

    __tablename__ = "sms_contacts"
    __table_args__ = (UniqueConstraint("campaign_id", "respondent_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    respondent_key: Mapped[str] = mapped_column(String(64))
    phone_encrypted: Mapped[str] = mapped_column(Text)
    # Optional stratum columns of the upload (district, age band, sex) for weighting.
    strata: Mapped[dict] = mapped_column(JsonType, default=dict)
    source: Mapped[str] = mapped_column(String(20), default="upload")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SmsUpload(db.Model):
    """A contacts CSV being processed in the background, with its progress and line errors."""

    __tablename__ = "sms_uploads"
    __table_args__ = (
        CheckConstraint("status IN ('pending','processing','done','failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # The uploaded file, encrypted, until it has been processed (then NULL).
    payload_encrypted: Mapped[str | None] = mapped_column(Text)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    invalid: Mapped[int] = mapped_column(default=0)
    # [{"line": 12, "message": "not a valid phone number"}, …], capped; never the input itself.
    errors: Mapped[list] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SmsOutbox(db.Model):
    """One text to one person for one step; claimed in the database before the provider call."""

    __tablename__ = "sms_outbox"
    __table_args__ = (
        # At most one text per person and step: "invite", "reminder:1", "dialogue", "case:<id>".
        UniqueConstraint("campaign_id", "respondent_key", "step"),
        Index("ix_sms_outbox_due", "status", "next_attempt_at"),
        _in("status", OUTBOX_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    respondent_key: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_conversations.id"), index=True
    )
    # Encrypted address and body (a body may hold an invitation link); NULL after the purge.
    to_encrypted: Mapped[str | None] = mapped_column(Text)
    body_encrypted: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(8), default="UCS-2")
    segments: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()


class SmsConversation(db.Model):
    """A two-way dialogue of one pseudonymous phone in one campaign; partial answers until done."""

    __tablename__ = "sms_conversations"
    __table_args__ = (
        Index("ix_sms_conversations_lookup", "campaign_id", "respondent_key", "status"),
        _in("status", CONVERSATION_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    respondent_key: Mapped[str] = mapped_column(String(64))
    # Random per conversation: the idempotency key of record_response, never derived from a phone.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Answers so far; emptied when the response is recorded, so nothing links it to the pseudonym.
    answers: Mapped[dict] = mapped_column(JsonType, default=dict)
    retries: Mapped[int] = mapped_column(default=0)
    lang: Mapped[str] = mapped_column(String(5), default="zh")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("hotline_cases.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="sms")
    is_test: Mapped[bool] = mapped_column(default=False)
    started: Mapped[bool] = mapped_column(default=False)  # the person has replied at least once
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()


class SmsInbound(db.Model):
    """One received MessageSid and the reply it got, so a provider's retry is answered the same."""

    __tablename__ = "sms_inbound"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    reply_segments: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class SmsOptOut(db.Model):
    """An unsubscribed number, only as its campaign-independent keyed pseudonym."""

    __tablename__ = "sms_optouts"

    optout_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HotlineCase(db.Model):
    """A handled 12345 case awaiting (or past) its follow-up dialogue."""

    __tablename__ = "hotline_cases"
    __table_args__ = (UniqueConstraint("org_id", "case_ref"), _in("status", CASE_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("sms_contacts.id", ondelete="SET NULL")
    )
    case_ref: Mapped[str] = mapped_column(String(100))
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    followup_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
