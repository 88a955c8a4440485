"""API tokens: random, shown once, stored only as SHA-256, scoped, one organization each."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.accounts.models import ApiToken
from app.extensions import db
from app.models_base import utcnow

# Every scope a token may carry. Endpoints ask for one of these with require_scope(); a new
# scope is added here first, so a typo in a view or on the command line fails loudly.
SCOPES: dict[str, str] = {
    "scores:read": "Read published score snapshots (aggregates only).",
    "cases:write": "Submit 12345-hotline cases for follow-up surveys.",
    "responses:write": "Record survey responses collected by another system.",
    "responses:read": "Read anonymized response-level exports (coded answers, coarse strata).",
}

# A recognizable prefix lets secret scanners and people spot a leaked Minyi token.
TOKEN_PREFIX = "my_"  # noqa: S105 - a public marker, not a secret
# Stored and listed to tell tokens apart: the marker plus 8 random characters (of 43).
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
MAX_NAME_LENGTH = 100
MAX_TOKEN_LENGTH = 200
# last_used_at is a hint for people, not an audit log: one write a minute per token is enough.
TOUCH_INTERVAL = timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be created or found as asked; the message says why (never the token)."""


def hash_token(plain: str) -> str:
    """SHA-256 hex of a plain token: the only form that is stored."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def validate_scopes(scopes) -> list[str]:
    """The scopes sorted and de-duplicated; TokenError names any unknown one."""
    wanted = sorted({str(scope).strip() for scope in scopes or ()})
    if not wanted:
        raise TokenError("a token needs at least one scope")
    unknown = [scope for scope in wanted if scope not in SCOPES]
    if unknown:
        raise TokenError(
            f"unknown scope(s): {', '.join(unknown)}; known scopes: {', '.join(sorted(SCOPES))}"
        )
    return wanted


def create_token(org_id: int, name: str, scopes) -> tuple[ApiToken, str]:
    """Add a token and return it with its plain value, which is never stored; the caller commits."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"a token name of 1 to {MAX_NAME_LENGTH} characters is required")
    scopes = validate_scopes(scopes)
    clash = db.session.scalar(
        select(ApiToken.id).where(
            ApiToken.org_id == org_id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
        )
    )
    if clash is not None:
        raise TokenError(f"the organization already has an active token named '{name}'")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        org_id=org_id,
        name=name,
        token_hash=hash_token(plain),
        prefix=plain[:DISPLAY_PREFIX_LENGTH],
        scopes=scopes,
    )
    db.session.add(token)
    db.session.flush()
    return token, plain


def list_tokens(org_id: int, *, include_revoked: bool = True) -> list[ApiToken]:
    """The organization's tokens, oldest first."""
    query = select(ApiToken).where(ApiToken.org_id == org_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiToken.created_at, ApiToken.id)))


def find_active_token(
    org_id: int, *, name: str | None = None, prefix: str | None = None, token_id: int | None = None
) -> ApiToken:
    """The one active token of the organization matching name, prefix or id; else TokenError."""
    query = select(ApiToken).where(ApiToken.org_id == org_id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    if name is not None:
        query = query.where(ApiToken.name == name.strip())
    if prefix is not None:
        query = query.where(ApiToken.prefix.startswith(prefix.strip(), autoescape=True))
    if token_id is None and name is None and not prefix:
        raise TokenError("say which token: a name, a prefix or an id")
    found = list(db.session.scalars(query.limit(2)))
    if not found:
        raise TokenError("no active token matches")
    if len(found) > 1:
        raise TokenError("more than one active token matches; give the name or the id")
    return found[0]


def revoke_token(token: ApiToken) -> ApiToken:
    """Mark the token revoked from now on (idempotent); the caller commits."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def authenticate(plain: str | None) -> ApiToken | None:
    """The active token whose hash matches plain, else None; refreshes last_used_at once a minute.

    The lookup is by SHA-256 of the presented value, so response time does not depend on how
    much of a real token was guessed. The caller commits the last_used_at change.
    """
    if not plain or len(plain) > MAX_TOKEN_LENGTH or not plain.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(plain)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - _aware(token.last_used_at) >= TOUCH_INTERVAL:
        token.last_used_at = now
    return token
