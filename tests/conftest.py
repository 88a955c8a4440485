"""Shared fixtures: an app on a migrated database (SQLite, or TEST_DATABASE_URL's PostgreSQL)."""

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

# Tests never write development secrets into the checkout's instance/ folder.
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("RESPONDENT_KEY_SECRET", "test-respondent-secret")
os.environ.setdefault("CONTACT_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.pop("REDIS_URL", None)
os.environ.pop("DATABASE_URL", None)

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.config import database_url  # noqa: E402
from app.extensions import db as _db  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _database_uri(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return database_url(url, Path("."))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": _database_uri(tmp_path_factory),
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(
            revision="heads"
        )  # tolerate a second head while parallel work is merged; a test demands one head
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database, emptied after each test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def campaign(db):
    """An open campaign with every question kind (see tests/factories.py)."""
    from tests.factories import make_all_kinds_campaign

    return make_all_kinds_campaign()
