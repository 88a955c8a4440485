"""Log redaction: invitation tokens never reach a log line."""

import re

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
