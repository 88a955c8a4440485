"""Score snapshots: published, immutable, versioned aggregates of a campaign (never a response).

A snapshot is one publication of a campaign's scores. Publishing again makes version N+1 and
marks version N superseded, with the reason. Every snapshot takes the next value of one global
sequence when it is published (under the sequence row's lock, so sequence order is commit
order); its rows carry that number, and (seq, row id) orders an append-only change log that the
API's cursors walk: new snapshots, and in them "withdrawn" rows for scores that went away.
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models_base import JsonType, UtcDateTime, utcnow

SNAPSHOT_STATUSES = ("published", "superseded")
KINDS = ("social_satisfaction", "political_quality", "democratic_evaluation", "hotline")
TARGET_TYPES = ("unit", "official")
ROW_STATUSES = ("current", "withdrawn")


class ScoreSequence(db.Model):
    """One row: the last sequence number handed to a published snapshot."""

    __tablename__ = "score_sequence"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ScoreSnapshot(db.Model):
    __tablename__ = "score_snapshots"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version"),
        UniqueConstraint("campaign_id", "request_key"),
        UniqueConstraint("seq"),
        CheckConstraint("status IN ('published','superseded')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[int]
    seq: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="published")
    reason: Mapped[str] = mapped_column(String(500))
    # The publish request's id: a job run twice for one request publishes once.
    request_key: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    superseded_by_version: Mapped[int | None]
    # Questionnaire version and checksum, scheme and rule version, weighting and its diagnostics.
    method: Mapped[dict] = mapped_column(JsonType)
    # Snapshot-wide figures: responses used, exclusions by flag, quality notes.
    summary: Mapped[dict] = mapped_column(JsonType, default=dict)

    rows: Mapped[list["ScoreRow"]] = relationship(
        back_populates="snapshot", order_by="ScoreRow.id", cascade="save-update, merge"
    )


class ScoreRow(db.Model):
    """One target × kind × period of a snapshot: aggregates only, or suppressed with no score."""

    __tablename__ = "score_rows"
    __table_args__ = (
        CheckConstraint("target_type IN ('unit','official')", name="target_type"),
        CheckConstraint("status IN ('current','withdrawn')", name="status"),
        CheckConstraint("NOT suppressed OR score IS NULL", name="suppressed_has_no_score"),
        CheckConstraint("(unit_id IS NULL) <> (official_id IS NULL)", name="exactly_one_target"),
        Index("ix_score_rows_org_seq", "org_id", "seq", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("score_snapshots.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    seq: Mapped[int]  # the snapshot's, so the log orders by (seq, id) without a join
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    target_type: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    kind: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    # current: a score (or a suppressed one) of this version; withdrawn: an earlier version
    # had this target × kind × period and this one has not, so clients delete it.
    status: Mapped[str] = mapped_column(String(10), default="current")
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(40))
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int | None]
    n_effective: Mapped[float | None] = mapped_column(Float)
    indicators: Mapped[dict] = mapped_column(JsonType, default=dict)
    extra: Mapped[dict] = mapped_column(JsonType, default=dict)  # rates, grade shares, groups
    rank: Mapped[int | None]
    n_peers: Mapped[int | None]
    percentile: Mapped[float | None] = mapped_column(Float)
    peer_group: Mapped[str | None] = mapped_column(String(100))
    quality_flags: Mapped[list] = mapped_column(JsonType, default=list)
    suppressed: Mapped[bool] = mapped_column(default=False)
    suppression_reason: Mapped[str | None] = mapped_column(String(300))

    snapshot: Mapped[ScoreSnapshot] = relationship(back_populates="rows")

    @property
    def key(self) -> str:
        """The stable identity a client keeps the newest version of."""
        target = self.unit_id if self.target_type == "unit" else self.official_id
        return f"{self.campaign_id}:{self.target_type}:{target}:{self.kind}:{self.period}"


class PublishedSnapshotIsReadOnly(RuntimeError):
    """A published score snapshot and its rows never change; publish a new version instead."""


# Superseding is the one change allowed to a snapshot; scores themselves never change.
_SUPERSEDE_FIELDS = {"status", "superseded_at", "superseded_by_version"}


@event.listens_for(ScoreSnapshot, "before_update")
def _refuse_changes_to_snapshots(mapper, connection, target):
    state = db.inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()} - {"rows"}
    status = state.attrs.status.history
    superseding = (
        changed <= _SUPERSEDE_FIELDS
        and (not status.has_changes() or (status.deleted == ["published"]))
        and target.status == "superseded"
    )
    if changed and not superseding:
        raise PublishedSnapshotIsReadOnly(f"score snapshot {target.id} is published")


@event.listens_for(ScoreSnapshot, "before_delete")
def _refuse_deleting_snapshots(mapper, connection, target):
    raise PublishedSnapshotIsReadOnly(f"score snapshot {target.id} is published")


@event.listens_for(ScoreRow, "before_update")
def _refuse_changes_to_rows(mapper, connection, target):
    raise PublishedSnapshotIsReadOnly(f"score row {target.id} belongs to a published snapshot")


@event.listens_for(ScoreRow, "before_delete")
def _refuse_deleting_rows(mapper, connection, target):
    raise PublishedSnapshotIsReadOnly(f"score row {target.id} belongs to a published snapshot")
