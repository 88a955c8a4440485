"""An unfinished web response lives in a signed cookie on the respondent's own device."""

import hashlib
import secrets
import time

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

DRAFT_DAYS = 14


def _serializer() -> URLSafeSerializer:
    # URLSafeSerializer compresses with zlib, so a long matrix still fits in one cookie.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="minyi-draft")


def cookie_name(code: str) -> str:
    """Per-link cookie name; a digest, so the name never shows the code."""
    return "d" + hashlib.sha256(code.encode()).hexdigest()[:12]


def new_draft() -> dict:
    """A fresh draft: no answers, a random submission key, the start time for speeder checks."""
    return {"key": secrets.token_urlsafe(16), "started": int(time.time()), "answers": {}}


def read_draft(request, code: str) -> dict | None:
    """The draft for this link from the request's cookie, or None."""
    raw = request.cookies.get(cookie_name(code))
    if not raw:
        return None
    try:
        draft = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(draft, dict) or not isinstance(draft.get("answers"), dict):
        return None
    return draft


def write_draft(response, code: str, draft: dict) -> None:
    """Store the draft in its cookie (HTTP only, same site, limited to /s/)."""
    response.set_cookie(
        cookie_name(code),
        _serializer().dumps(draft),
        max_age=DRAFT_DAYS * 86400,
        path="/s/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )


def clear_draft(response, code: str) -> None:
    """Forget the draft once the response is stored."""
    response.delete_cookie(cookie_name(code), path="/s/")


def done_cookie(campaign_id: int) -> str:
    """Cookie name marking that this device answered a campaign (duplicate control 'device')."""
    return f"done{campaign_id}"


def mark_done(response, campaign_id: int) -> None:
    """Remember on this device that the campaign was answered."""
    response.set_cookie(
        done_cookie(campaign_id),
        _serializer().dumps({"c": campaign_id}),
        max_age=400 * 86400,
        path="/s/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )


def answered_here(request, campaign_id: int) -> bool:
    """Whether this device carries a valid 'answered' mark for the campaign."""
    raw = request.cookies.get(done_cookie(campaign_id))
    if not raw:
        return False
    try:
        return _serializer().loads(raw).get("c") == campaign_id
    except (BadSignature, AttributeError):
        return False
