"""HTML error pages for people; the API answers its own paths in JSON."""

from contextlib import suppress

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.extensions import db
from app.logs import exception_summary


def _messages(code: int) -> tuple[str, str]:
    return {
        400: (
            _("Bad request"),
            _("The request could not be understood. Please go back and try again."),
        ),
        403: (_("Not allowed"), _("You do not have permission to see this page.")),
        404: (_("Page not found"), _("There is no page at this address.")),
        405: (_("Not allowed"), _("This page cannot be used this way.")),
        413: (_("Too large"), _("The file you sent is too large.")),
        429: (_("Too many requests"), _("Please wait a moment and try again.")),
    }.get(code, (_("Something went wrong"), _("Please try again later.")))


def register_error_pages(app: Flask, api_handler=None) -> None:
    """Install the HTML handler; api_handler(exc) answers errors under /api/."""

    def handle(exc):
        if isinstance(exc, (OperationalError, InterfaceError)):
            # The database is unreachable (restarting, failing over): nothing was stored, and the
            # client may retry (with the same idempotency key) — a 503, not a 500.
            with suppress(DBAPIError):
                db.session.rollback()  # the connection may be dead too
            app.logger.warning(
                "Database unavailable on %s: %s", request.endpoint, type(exc).__name__
            )
            exc = ServiceUnavailable(retry_after=5)
        if not isinstance(exc, HTTPException):
            app.logger.error("Unhandled error on %s: %s", request.endpoint, exception_summary(exc))
            exc = InternalServerError()
        if api_handler is not None and request.path.startswith("/api/"):
            return api_handler(exc)
        title, message = _messages(exc.code or 500)
        if exc.code == 503:
            title, message = _("Temporarily unavailable"), _("Please try again in a few seconds.")
        if isinstance(exc, CSRFError):
            message = _(
                "The form has expired or was not sent from this site. Please reload the page and try again."
            )
        response = app.make_response(
            (render_template("errors/error.html", title=title, message=message), exc.code)
        )
        if exc.code == 503:
            response.headers["Retry-After"] = "5"
        return response

    app.register_error_handler(HTTPException, handle)
    app.register_error_handler(Exception, handle)
