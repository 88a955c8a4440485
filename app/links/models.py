"""Survey links at /s/<code>: open distribution points, single-use invitations and rater codes."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.campaigns.models import Campaign
from app.extensions import db
from app.models_base import UtcDateTime, utcnow
from app.targets.models import Unit

KINDS = ("open", "invitation", "rater")


class Link(db.Model):
    __tablename__ = "links"
    __table_args__ = (CheckConstraint("kind IN ('open','invitation','rater')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    # Lookup is by SHA-256 of the code; an invitation token is never stored in the clear.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Open links are printed on public posters, so their code is kept to print again.
    code: Mapped[str | None] = mapped_column(String(40))
    # Rater codes are kept encrypted (contact cipher) only so slips can be printed again.
    code_encrypted: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    rater_group: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The single-use "completed" state, kept here and never on the response.
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()
    unit: Mapped[Unit | None] = relationship()

    @property
    def single_use(self) -> bool:
        return self.kind in ("invitation", "rater")


class PhoneClaim(db.Model):
    """One phone's right to answer a campaign once (duplicate control 'sms_otp').

    Only the campaign-scoped keyed pseudonym of the phone is kept, and whether it was used —
    no time of use — so a claim cannot be matched to a response.
    """

    __tablename__ = "phone_claims"
    __table_args__ = (UniqueConstraint("campaign_id", "pseudonym"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    codes_sent: Mapped[int] = mapped_column(default=0)
    used: Mapped[bool] = mapped_column(default=False)
