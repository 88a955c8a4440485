"""Recording staff actions in the audit log."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db

# Keys that must never reach the audit log (it is read by many staff).
_FORBIDDEN = ("phone", "token", "password", "answer")


def record(
    action: str, object_type: str, object_id="", *, org_id=None, user=None, actor=None, **details
) -> AuditEvent:
    """Add an audit event in the current unit of work; the caller commits."""
    leaked = [key for key in details if any(word in key for word in _FORBIDDEN)]
    if leaked:
        raise ValueError(f"audit details may not carry {leaked}")
    event = AuditEvent(
        org_id=org_id if org_id is not None else getattr(user, "org_id", None),
        user_id=getattr(user, "id", None),
        actor=actor or getattr(user, "email", None) or "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
    )
    db.session.add(event)
    return event


def org_events(org_id: int, limit: int = 200) -> list[AuditEvent]:
    """The organization's latest events, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.org_id == org_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
