"""Service endpoints of /api/v1: a public ping and the calling token's identity."""

from datetime import UTC

from flask import g
from flask_smorest import Blueprint

from app.accounts.models import Organization
from app.api.auth import require_scope
from app.api.schemas import MeSchema, PingSchema
from app.extensions import db

bp = Blueprint(
    "api_meta",
    __name__,
    url_prefix="/api/v1",
    description="Service status and the calling token.",
)


@bp.route("/ping")
@bp.response(200, PingSchema)
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def ping():
    """Health check; needs no token."""
    return {"status": "ok", "api_version": "v1"}


@bp.route("/me")
@require_scope()
@bp.response(200, MeSchema)
def me():
    """The calling token: its organization, name and scopes (any valid token)."""
    token = g.api_token
    org = db.session.get(Organization, g.org_id)
    return {
        "organization": {"code": org.code, "name": org.name},
        "token": {
            "name": token.name,
            "prefix": token.prefix,
            "scopes": list(token.scopes or []),
            # SQLite returns naive datetimes; every stored time is UTC.
            "created_at": token.created_at.replace(tzinfo=token.created_at.tzinfo or UTC),
        },
    }
