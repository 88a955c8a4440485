"""Configuration: the only module that reads the environment."""

import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

log = logging.getLogger(__name__)

SECRET_NAMES = ("SECRET_KEY", "RESPONDENT_KEY_SECRET", "CONTACT_ENCRYPTION_KEYS")


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


def database_url(raw: str | None, instance_path: Path) -> str:
    """Map DATABASE_URL to a SQLAlchemy URL; default is a SQLite file in instance/."""
    if not raw:
        return f"sqlite:///{instance_path / 'minyi.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        # psycopg 3 is the pinned driver; a bare postgresql:// would ask for psycopg2.
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _dev_secret(instance_path: Path, name: str, make) -> str:
    """Read a development secret from instance/, generating it once."""
    path = instance_path / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    log.warning("Generated a development %s in %s; production must set it.", name, path.parent)
    return value


def _dev_secret_makers():
    return {
        "SECRET_KEY": lambda: secrets.token_urlsafe(32),
        "RESPONDENT_KEY_SECRET": lambda: secrets.token_urlsafe(32),
        "CONTACT_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
    }


def _number(env, name: str, default, kind):
    """A numeric setting, or ConfigError naming it."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number") from exc


def load_config(instance_path: Path, environ=None) -> dict:
    """Build the Flask config from the environment; production refuses missing secrets."""
    env = os.environ if environ is None else environ
    mode = env.get("MINYI_ENV", "development")
    if mode not in ("development", "production"):
        raise ConfigError(f"MINYI_ENV must be 'development' or 'production', not {mode!r}")
    cfg: dict = {"MINYI_ENV": mode}
    missing = [name for name in SECRET_NAMES if not env.get(name)]
    if mode == "production" and missing:
        raise ConfigError("Production needs these settings: " + ", ".join(missing))
    makers = _dev_secret_makers()
    for name in SECRET_NAMES:
        cfg[name] = env.get(name) or _dev_secret(instance_path, name, makers[name])
    cfg["CONTACT_ENCRYPTION_KEYS"] = [
        k.strip() for k in cfg["CONTACT_ENCRYPTION_KEYS"].split(",") if k.strip()
    ]
    cfg["SQLALCHEMY_DATABASE_URI"] = database_url(env.get("DATABASE_URL"), instance_path)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    cfg["REDIS_URL"] = env.get("REDIS_URL") or None
    cfg["TWILIO_ACCOUNT_SID"] = env.get("TWILIO_ACCOUNT_SID") or None
    cfg["TWILIO_AUTH_TOKEN"] = env.get("TWILIO_AUTH_TOKEN") or None
    cfg["TWILIO_FROM_NUMBER"] = env.get("TWILIO_FROM_NUMBER") or None
    cfg["TWILIO_MESSAGING_SERVICE_SID"] = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
    cfg["PUBLIC_BASE_URL"] = (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    try:
        cfg["PROXY_FIX_HOPS"] = int(env.get("PROXY_FIX_HOPS") or 0)
    except ValueError as exc:
        raise ConfigError("PROXY_FIX_HOPS must be a whole number") from exc
    cfg["DEFAULT_PHONE_REGION"] = env.get("DEFAULT_PHONE_REGION") or "CN"
    cfg["TIMEZONE"] = env.get("TIMEZONE") or "Asia/Shanghai"
    # SMS (issue 5): provider, pacing, send window, dialogue and retention settings.
    cfg["SMS_PROVIDER"] = env.get("SMS_PROVIDER") or None
    cfg["SMS_RATE_PER_SECOND"] = _number(env, "SMS_RATE_PER_SECOND", 10.0, float)
    cfg["SMS_SEND_WINDOW"] = env.get("SMS_SEND_WINDOW") or "08:00-21:00"
    cfg["SMS_OPT_OUT_HINT"] = env.get("SMS_OPT_OUT_HINT") or "回T退订"
    cfg["SMS_MAX_SEGMENTS"] = _number(env, "SMS_MAX_SEGMENTS", 3, int)
    cfg["SMS_PRICE_PER_SEGMENT"] = _number(env, "SMS_PRICE_PER_SEGMENT", 0.05, float)
    cfg["SMS_REPLY_RETRIES"] = _number(env, "SMS_REPLY_RETRIES", 2, int)
    cfg["SMS_SEND_RETRIES"] = _number(env, "SMS_SEND_RETRIES", 5, int)
    cfg["SMS_CONVERSATION_HOURS"] = _number(env, "SMS_CONVERSATION_HOURS", 72, int)
    cfg["SMS_REMINDER_AFTER_DAYS"] = _number(env, "SMS_REMINDER_AFTER_DAYS", 3, int)
    cfg["SMS_REMINDER_COUNT"] = _number(env, "SMS_REMINDER_COUNT", 1, int)
    cfg["SMS_BATCH_SIZE"] = _number(env, "SMS_BATCH_SIZE", 2000, int)
    cfg["HOTLINE_FOLLOWUP_DELAY_MINUTES"] = _number(env, "HOTLINE_FOLLOWUP_DELAY_MINUTES", 60, int)
    cfg["CONTACT_RETENTION_DAYS"] = _number(env, "CONTACT_RETENTION_DAYS", 30, int)
    cfg["BABEL_DEFAULT_LOCALE"] = "zh"
    cfg["BABEL_DEFAULT_TIMEZONE"] = cfg["TIMEZONE"]
    cfg["LANGUAGES"] = ["zh", "en"]
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = mode == "production"
    cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    cfg["RATELIMIT_HEADERS_ENABLED"] = True  # Retry-After on every 429
    # Redis down must not stop collection: count in memory until it is back.
    cfg["RATELIMIT_SWALLOW_ERRORS"] = True
    cfg["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    # Only benchmarks turn rate limits off (RATELIMIT_ENABLED=0): they send from one address.
    cfg["RATELIMIT_ENABLED"] = env.get("RATELIMIT_ENABLED", "1") not in ("0", "false", "no")
    # Per client address; a service hall's Wi-Fi may put many respondents behind one address.
    cfg["SURVEY_RATE_LIMIT"] = env.get("SURVEY_RATE_LIMIT") or "120 per minute"
    cfg["LINK_API_RATE_LIMIT"] = env.get("LINK_API_RATE_LIMIT") or "60 per minute"
    # Largest upload: a 500,000-line contact CSV is about 20 MB; anything bigger gets a 413.
    cfg["MAX_CONTENT_LENGTH"] = 32 * 1024 * 1024
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_SECURE"] = mode == "production"
    return cfg
