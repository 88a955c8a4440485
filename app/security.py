"""Response headers every page carries."""

from flask import Flask, abort, request
from flask_babel import refresh

# No third-party assets, no inline script: the pages must work on a government intranet,
# and a strict policy keeps injected markup inert.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def register_security(app: Flask) -> None:
    """Add security headers, pick the locale per request and remember an explicit choice."""

    @app.before_request
    def _refuse_oversized_bodies():
        # Werkzeug refuses a large body only when a view reads it; refuse it before any view runs.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            abort(413)

    @app.before_request
    def _fresh_locale():
        # The locale is cached on the app context, which tests (and CLI) may share across requests.
        refresh()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Invitation links carry a token in the path: never send it on as a Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            # Behind TLS (ProxyFix passes the scheme on): browsers must never fall back to HTTP.
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        lang = request.args.get("lang")
        if lang in ("zh", "en"):
            response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response
