"""The one JSON error shape of the API: {"error": {status, code, message, details}}."""

import json
import time

from flask import jsonify
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import limiter

# Messages for statuses whose Werkzeug description talks about browsers or servers.
_MESSAGES = {
    401: "Authentication is required: send 'Authorization: Bearer <token>'.",
    404: "There is no API resource at this address.",
    405: "This method is not allowed on this resource.",
    422: "The request did not validate.",
    500: "Internal server error.",
    503: "The service is briefly unavailable; nothing was stored. Retry with the same Idempotency-Key.",
}
# Headers worth keeping from the exception (Werkzeug adds Allow to 405s, WWW-Authenticate to 401s).
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def api_abort(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: dict | None = None,
    headers: dict | None = None,
):
    """Raise an HTTP error that the API answers in its JSON shape."""
    from flask_smorest import abort

    data = {"message": message}
    if code:
        data["code"] = code
    if details:
        data["errors"] = details
    if headers:
        data["headers"] = headers
    abort(status, **data)


def _code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _invalid_json_message(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        # Position only: the message must not echo what the client sent.
        return f"Malformed JSON body: {error.msg} (line {error.lineno}, column {error.colno})."
    if isinstance(error, UnicodeDecodeError):
        return "Malformed JSON body: it is not valid UTF-8."
    return "Malformed JSON body."


def _retry_after() -> int:
    limit = limiter.current_limit
    if limit is not None:
        return max(1, int(limit.reset_at - time.time()))
    return 60


def api_error_response(exc: HTTPException):
    """Render any HTTP error (4xx/5xx) raised under /api/ as the JSON error shape."""
    if not isinstance(exc, HTTPException):
        exc = InternalServerError()
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    original = getattr(exc, "exc", None)
    details = data.get("errors") or data.get("messages") or {}
    message = data.get("message")
    if message is None:
        if status == 400 and isinstance(original, json.JSONDecodeError | UnicodeDecodeError):
            message = _invalid_json_message(original)
        elif isinstance(exc, RateLimitExceeded):
            message = f"Rate limit exceeded ({exc.description}); retry after Retry-After seconds."
        elif status >= 500 or exc.description == type(exc).description:
            # Server errors never describe their cause. Client errors keep a specific
            # description (e.g. Werkzeug's "Failed to decode JSON object: ...") when given one.
            message = _MESSAGES.get(status) or exc.name
        else:
            message = exc.description
    body = {
        "error": {
            "status": status,
            "code": data.get("code") or _code(exc),
            "message": message,
            "details": details if isinstance(details, dict) else {"errors": details},
        }
    }
    response = jsonify(body)
    response.status_code = status
    headers = dict(exc.get_headers())
    headers.update(data.get("headers") or {})
    for name in _KEPT_HEADERS:
        if name in headers:
            response.headers[name] = headers[name]
    if isinstance(exc, RateLimitExceeded) or status == 429:
        response.headers.setdefault("Retry-After", str(_retry_after()))
    response.headers["Cache-Control"] = "no-store"
    return response
