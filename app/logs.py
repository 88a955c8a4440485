"""Log redaction: invitation tokens never reach a log line."""

import logging
import re
import traceback

from gunicorn.glogging import Logger

_SURVEY_LINK = re.compile(r"(/s/)[^/?#\s]+")


def redact_path(path: str) -> str:
    """Replace the code in /s/<code> paths with '…' (codes may be single-use tokens)."""
    return _SURVEY_LINK.sub(r"\1…", path or "")


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with survey-link codes removed from the access log."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "q", "f"):
            if key in atoms:
                atoms[key] = redact_path(atoms[key])
        return atoms


class RedactingFilter(logging.Filter):
    """A logging filter that removes survey-link codes from any message (e.g. werkzeug's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/s/" in message:
            record.msg, record.args = redact_path(message), ()
        return True


def install_log_redaction() -> None:
    """Redact /s/<code> paths in the development server's access log."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def exception_summary(exc: BaseException) -> str:
    """The exception's class and where it was raised — never its message, which may quote SQL
    parameters or row values (personal data)."""
    where = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    return f"{type(exc).__module__}.{type(exc).__qualname__}\n{where.rstrip()}"
