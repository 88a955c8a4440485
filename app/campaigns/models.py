"""Campaigns: one wave of a questionnaire version over targets, a period and channels."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import JsonType, UtcDateTime, utcnow
from app.questionnaires.models import QuestionnaireVersion
from app.targets.models import Official, Unit

CHANNELS = ("web", "qr", "sms_invite", "sms_dialogue", "hotline", "interviewer")
STATUSES = ("draft", "open", "closed")


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("status IN ('draft','open','closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10), index=True)
    channels: Mapped[list] = mapped_column(JsonType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # {"anonymity": {...}, "weighting": {...}}: see campaigns.service.DEFAULT_SETTINGS.
    settings: Mapped[dict] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    version: Mapped[QuestionnaireVersion] = relationship()
    targets: Mapped[list["CampaignTarget"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan"
    )


class CampaignTarget(db.Model):
    __tablename__ = "campaign_targets"
    __table_args__ = (
        CheckConstraint("(unit_id IS NULL) <> (official_id IS NULL)", name="exactly_one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))

    campaign: Mapped[Campaign] = relationship(back_populates="targets")
    unit: Mapped[Unit | None] = relationship()
    official: Mapped[Official | None] = relationship()
