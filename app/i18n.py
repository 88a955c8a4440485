"""Keeps compiled message catalogs (.mo) in step with their sources (.po)."""

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def compile_catalogs(translations_dir: Path) -> list[Path]:
    """Compile every .po that is newer than its .mo; returns the catalogs written."""
    written = []
    for po_path in sorted(Path(translations_dir).glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        # Write then rename, so parallel gunicorn workers never read a half-written file.
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog)
        os.replace(tmp, mo_path)
        written.append(mo_path)
    return written


def localized(text) -> str:
    """The current language's version of a {zh, en} text, falling back to Chinese."""
    from flask_babel import get_locale

    if not isinstance(text, dict):
        return text or ""
    return text.get(str(get_locale())) or text.get("zh") or next(iter(text.values()), "")
