"""Assessed targets: units in a hierarchy and the officials of their leadership teams."""

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

LEVELS = ("province", "city", "county", "township", "department", "other")
POSITIONS = ("principal", "deputy", "member")


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        CheckConstraint(
            "level IN ('province','city','county','township','department','other')", name="level"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    # Units of the same type are compared with each other (like with like).
    type: Mapped[str] = mapped_column(String(60))

    parent: Mapped["Unit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent")
    officials: Mapped[list["Official"]] = relationship(back_populates="unit")


class Official(db.Model):
    __tablename__ = "officials"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        CheckConstraint("position IN ('principal','deputy','member')", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)

    unit: Mapped[Unit] = relationship(back_populates="officials")
