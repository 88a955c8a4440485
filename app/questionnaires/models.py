"""Questionnaires, their immutable published versions, and the indicator keys they score."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import JsonType, UtcDateTime, utcnow


class Questionnaire(db.Model):
    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[dict] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    versions: Mapped[list["QuestionnaireVersion"]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )


class QuestionnaireVersion(db.Model):
    __tablename__ = "questionnaire_versions"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "number"),
        CheckConstraint("status IN ('draft','published')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    definition: Mapped[dict] = mapped_column(JsonType)
    # SHA-256 of the canonical JSON, so a score can name exactly what it was computed from.
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")

    @property
    def label(self) -> str:
        return f"{self.questionnaire.key}@{self.number}"


class PublishedVersionIsReadOnly(RuntimeError):
    """A published questionnaire version cannot change; make a new draft instead."""


@event.listens_for(QuestionnaireVersion, "before_update")
def _refuse_changes_to_published(mapper, connection, target):
    # Guard in the model, not only the service: scores name a version and must stay reproducible.
    state = db.inspect(target)
    was = state.attrs.status.history.deleted
    if (was and was[0] == "published") or (
        target.status == "published" and not state.attrs.status.history.has_changes()
    ):
        raise PublishedVersionIsReadOnly(f"questionnaire version {target.id} is published")


@event.listens_for(QuestionnaireVersion, "before_delete")
def _refuse_deleting_published(mapper, connection, target):
    if target.status == "published":
        raise PublishedVersionIsReadOnly(f"questionnaire version {target.id} is published")


class Indicator(db.Model):
    """A stable indicator key of an organization, so trends compare across versions."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[dict] = mapped_column(JsonType)
