"""Responses and answers, shaped by the privacy rules: nothing here can be joined to a person."""

import secrets
from datetime import date

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import JsonType


def random_response_id() -> str:
    """A random id: unlike a sequence, its order says nothing about who answered when."""
    return secrets.token_hex(16)


class Response(db.Model):
    # No invitation id, token, phone, pseudonym, IP, user agent or exact time: by construction.
    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("campaign_id", "idempotency_hash"),
        CheckConstraint("status IN ('complete','void')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_response_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # The unit a response is about (e.g. the team whose officials a matrix rates).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    rater_group: Mapped[str | None] = mapped_column(String(40))
    # Only an open link (a poster or a letter drop) is recorded: a place, never a person.
    distribution_point_id: Mapped[int | None] = mapped_column(ForeignKey("links.id"), index=True)
    # Coarsened to the campaign's granularity (default: the day).
    submitted_on: Mapped[date] = mapped_column(Date)
    duration_seconds: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(10), default="complete")
    void_reason: Mapped[str | None] = mapped_column(String(500))
    is_test: Mapped[bool] = mapped_column(default=False)
    # SHA-256 of the client's random idempotency key: repeats of one submission store once.
    idempotency_hash: Mapped[str] = mapped_column(String(64))

    campaign: Mapped["Campaign"] = relationship()  # noqa: F821 - resolved by the registry
    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(db.Model):
    # A natural composite key: an autoincrement id would reveal insertion order.
    __tablename__ = "answers"

    response_id: Mapped[str] = mapped_column(ForeignKey("responses.id"), primary_key=True)
    question_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    target_key: Mapped[str] = mapped_column(String(80), primary_key=True, default="")
    item_key: Mapped[str] = mapped_column(String(80), primary_key=True, default="")
    value: Mapped[object] = mapped_column(JsonType)
    score: Mapped[float | None] = mapped_column(Float)
    indicator: Mapped[str | None] = mapped_column(String(80), index=True)

    response: Mapped[Response] = relationship(back_populates="answers")
