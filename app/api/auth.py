"""Bearer-token authentication for the API: require_scope() and the rate-limit key."""

from copy import deepcopy
from functools import wraps

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from app.accounts.models import ApiToken
from app.accounts.tokens import SCOPES, authenticate
from app.api.errors import api_abort
from app.extensions import db

SECURITY_SCHEME = "bearerAuth"
REALM = "Minyi API"
_UNSET = object()
_CACHE_KEY = "minyi.api_token"


def bearer_token() -> str | None:
    """The token from 'Authorization: Bearer <token>', or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def current_token() -> ApiToken | None:
    """The request's valid token (looked up once per request), or None."""
    # Cached on the request, not on g: an app context (and its g) can outlive one request.
    cached = request.environ.get(_CACHE_KEY, _UNSET)
    if cached is not _UNSET:
        return cached
    token = authenticate(bearer_token())
    if token is not None and token in db.session.dirty:
        # The last-used touch is bookkeeping, committed on its own at the start of the
        # request so read-only requests record it and the view's own unit of work stays whole.
        db.session.commit()
    request.environ[_CACHE_KEY] = token
    return token


def rate_limit_key() -> str:
    """Per token for valid tokens; per client address otherwise (so junk tokens share a bucket)."""
    token = current_token()
    if token is not None:
        return f"token:{token.id}"
    return f"ip:{get_remote_address()}"


def _unauthorized(error: str | None, message: str):
    # RFC 6750: no error code when no credentials were sent at all.
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    api_abort(
        401,
        message,
        code=error or "missing_token",
        headers={"WWW-Authenticate": challenge},
    )


def check_scopes(*scopes: str) -> ApiToken:
    """Authenticate the request and check the scopes; 401/403 in the API's JSON shape."""
    presented = bearer_token()
    token = current_token()
    if token is None:
        if presented is None:
            _unauthorized(None, "Authentication is required: send 'Authorization: Bearer <token>'.")
        # One message for unknown, malformed and revoked tokens, and never the token itself.
        _unauthorized("invalid_token", "The token is not valid or has been revoked.")
    missing = [scope for scope in scopes if scope not in (token.scopes or [])]
    if missing:
        api_abort(
            403,
            f"The token lacks the scope(s): {', '.join(missing)}.",
            code="insufficient_scope",
            details={"required_scopes": list(scopes), "missing_scopes": missing},
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="{REALM}", error="insufficient_scope", scope="{" ".join(scopes)}"'
                )
            },
        )
    g.api_token = token
    g.org_id = token.org_id
    return token


def require_scope(*scopes: str):
    """Decorate a view: a valid token with every scope given (none: any valid token).

    Put it right under @bp.route (above @bp.arguments) so that authentication comes before
    body validation. Sets g.api_token and g.org_id, and documents the bearer requirement.
    """
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; add them to app.accounts.tokens.SCOPES")

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            check_scopes(*scopes)
            return current_app.ensure_sync(func)(*args, **kwargs)

        doc = deepcopy(getattr(func, "_apidoc", {}))
        # OpenAPI 3.0 allows only an empty list for http schemes; the scopes go in an extension.
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{SECURITY_SCHEME: []}]
        manual["x-required-scopes"] = list(scopes)
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, []).append("UNAUTHORIZED")
        if scopes:
            responses.setdefault(403, []).append("FORBIDDEN")
        responses.setdefault(429, []).append("TOO_MANY_REQUESTS")
        wrapper._apidoc = doc
        return wrapper

    return decorator
