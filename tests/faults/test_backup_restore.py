"""Backup and restore: a pg_dump of a database with published scores, restored into a fresh
database, serves the same scores through GET /api/v1/scores.

Runs against the PostgreSQL server of TEST_DATABASE_URL (CI: 127.0.0.1:5432, user postgres,
trust auth) in scratch databases of its own, created and dropped here; skipped without it.
"""

import os
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest
from flask_migrate import upgrade

from app import create_app
from app.accounts.tokens import create_token
from app.extensions import db, limiter

URL = os.environ.get("TEST_DATABASE_URL", "")
TOOLS = ("pg_dump", "pg_restore", "createdb", "dropdb")

pytestmark = pytest.mark.skipif(
    not URL.startswith("postgresql") or not all(shutil.which(t) for t in TOOLS),
    reason="needs TEST_DATABASE_URL=postgresql://… and the PostgreSQL client tools "
    "(pg_dump, pg_restore, createdb, dropdb)",
)


def _server_args() -> list[str]:
    parts = urlsplit(URL)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    return args + ["-U", parts.username or "postgres"]


def _env() -> dict:
    env = dict(os.environ)
    password = urlsplit(URL).password
    if password:
        env["PGPASSWORD"] = password
    return env


def _run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True, env=_env())


def _db_url(name: str) -> str:
    parts = urlsplit(URL)
    return parts._replace(path=f"/{name}").geturl()


@pytest.fixture
def scratch():
    """make(name) -> a fresh, empty database URL; every one is dropped afterwards."""
    made = []
    saved = (limiter.enabled, limiter.initialized)

    def make(label: str) -> str:
        name = f"minyi_{label}_{uuid.uuid4().hex[:10]}"
        _run("createdb", *_server_args(), name)
        made.append(name)
        return _db_url(name)

    yield make
    for name in made:
        subprocess.run(
            ["dropdb", *_server_args(), "--if-exists", "--force", name],
            capture_output=True,
            env=_env(),
            check=False,
        )
    limiter.enabled, limiter.initialized = saved


def _app(url: str, tmp_path):
    from app.config import database_url

    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url(url, tmp_path),
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": None,
        }
    )


def _all_scores(app, token: str) -> list[dict]:
    """Every page of GET /api/v1/scores, followed through next_cursor."""
    client = app.test_client()
    items, params = [], {"limit": 50}
    while True:
        response = client.get(
            "/api/v1/scores", query_string=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        if not page["has_more"]:
            return items
        params = {"limit": 50, "since": page["next_cursor"]}


def _get(app, path: str, token: str):
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_restored_dump_serves_the_same_scores(scratch, tmp_path):
    from app.demo import load_demo

    source = _app(scratch("backup_src"), tmp_path)
    with source.app_context():
        upgrade(revision="heads")
        org = load_demo(str(tmp_path))  # publishes score snapshots of the demo campaigns
        _, token = create_token(org.id, "assessment core", ["scores:read"])
        db.session.commit()
        db.session.remove()
    before = _all_scores(source, token)
    campaigns_before = _get(source, "/api/v1/campaigns", token)
    assert before and any("score" in item for item in before), "the demo published no scores"
    with source.app_context():
        db.engine.dispose()

    dump = tmp_path / "minyi.dump"
    _run(
        "pg_dump",
        *_server_args(),
        "-Fc",
        "-f",
        str(dump),
        urlsplit(source.config["SQLALCHEMY_DATABASE_URI"]).path.lstrip("/"),
    )
    target_url = scratch("backup_dst")
    _run(
        "pg_restore",
        *_server_args(),
        "--no-owner",
        "--exit-on-error",
        "-d",
        urlsplit(target_url).path.lstrip("/"),
        str(dump),
    )

    restored = _app(target_url, tmp_path)
    after = _all_scores(restored, token)  # the token's hash came back with the database
    assert after == before
    assert _get(restored, "/api/v1/campaigns", token) == campaigns_before
    with restored.app_context():
        # The restored schema is at the same migration: `flask db upgrade` has nothing to do.
        from alembic.migration import MigrationContext

        with db.engine.connect() as conn:
            heads = set(MigrationContext.configure(conn).get_current_heads())
        assert heads
        db.session.remove()
        db.engine.dispose()
