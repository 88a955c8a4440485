from pathlib import Path

import pytest

from app.config import ConfigError, database_url, load_config

SECRETS = {"SECRET_KEY": "s", "RESPONDENT_KEY_SECRET": "r", "CONTACT_ENCRYPTION_KEYS": "k1,k2"}


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(ConfigError, match="RESPONDENT_KEY_SECRET"):
        load_config(tmp_path, {"MINYI_ENV": "production", "SECRET_KEY": "x"})
    assert not (tmp_path / "secrets").exists()


def test_production_starts_with_every_secret(tmp_path):
    cfg = load_config(tmp_path, {"MINYI_ENV": "production", **SECRETS})
    assert cfg["CONTACT_ENCRYPTION_KEYS"] == ["k1", "k2"]
    assert cfg["SESSION_COOKIE_SECURE"] is True


def test_development_generates_secrets_once_into_instance(tmp_path):
    first = load_config(tmp_path, {})
    second = load_config(tmp_path, {})
    for name in ("SECRET_KEY", "RESPONDENT_KEY_SECRET", "CONTACT_ENCRYPTION_KEYS"):
        assert first[name] == second[name]
        assert (tmp_path / "secrets" / name).stat().st_mode & 0o077 == 0


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MINYI_ENV"):
        load_config(tmp_path, {"MINYI_ENV": "staging", **SECRETS})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3(raw, expected):
    assert database_url(raw, Path("/i")) == expected


def test_default_database_is_sqlite_in_instance():
    assert database_url(None, Path("/srv/instance")) == "sqlite:////srv/instance/minyi.sqlite3"


def test_defaults(tmp_path):
    cfg = load_config(tmp_path, SECRETS)
    assert cfg["DEFAULT_PHONE_REGION"] == "CN"
    assert cfg["TIMEZONE"] == "Asia/Shanghai"
    assert cfg["REDIS_URL"] is None
    assert cfg["TWILIO_ACCOUNT_SID"] is None


def test_bad_proxy_hops_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="PROXY_FIX_HOPS"):
        load_config(tmp_path, {**SECRETS, "PROXY_FIX_HOPS": "two"})
