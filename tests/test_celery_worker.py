"""A real Celery worker (``celery -A app.celery_app worker``) runs a job enqueued after a commit.

The worker is the production entry point started with Celery's own ``--include`` option naming
this module, so it registers the proof job below without a test-only setting in app/. It uses its
own SQLite file, migrated by ``flask db upgrade``, and a queue unique to this run.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from kombu import Exchange, Queue
from sqlalchemy import select

from app import create_app
from app.accounts.models import Organization
from app.extensions import db
from app.jobs import enqueue, job

ROOT = Path(__file__).resolve().parents[1]
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"
WAIT_SECONDS = 30


@job
def ensure_worker_test_organization(code: str) -> None:
    """Create the organization ``code`` unless it exists: safe to run twice."""
    if db.session.scalar(select(Organization).where(Organization.code == code)) is None:
        db.session.add(Organization(code=code, name="worker test"))
        db.session.commit()


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url  # set (as in CI): a Redis that does not answer is a failure, not a skip
    try:
        redis.Redis.from_url(LOCAL_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("needs Redis: TEST_REDIS_URL is unset and nothing answers at 127.0.0.1:6379")
    return LOCAL_REDIS_URL


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    worker.terminate()  # warm shutdown: the worker finishes its job and stops its pool
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # The worker leads its own process group (start_new_session), pool children included.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=15)


def _drop_queue(celery, queue: str) -> None:
    # Declared the way Celery declares task_default_queue, so delete() also removes the binding.
    with celery.connection_for_write() as conn:
        bound = Queue(queue, Exchange(queue), routing_key=queue)(conn.default_channel)
        bound.declare()
        bound.purge()
        bound.delete()


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:])


def test_celery_worker_runs_a_job_enqueued_after_a_commit(tmp_path):
    redis_url = _redis_url()
    run = uuid.uuid4().hex[:12]
    queue = f"minyi-test-{run}"
    marker = f"worker-{run}"
    database_url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}

    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    flask_app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "CELERY": {"task_default_queue": queue},
        }
    )
    celery = flask_app.extensions["celery"]
    command = [sys.executable, "-m", "celery", "-A", "app.celery_app", "worker"]
    command += ["--include", __name__, "--queues", queue, "--hostname", f"{queue}@%h"]
    command += ["--concurrency", "1", "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        with flask_app.app_context():
            db.session.add(Organization(code=f"{marker}-request", name="the request's work"))
            db.session.flush()
            enqueue(ensure_worker_test_organization, marker)
            db.session.commit()

        deadline = time.monotonic() + WAIT_SECONDS
        found = None
        while found is None and time.monotonic() < deadline:
            assert worker.poll() is None, f"the worker exited early:\n{_tail(log_path)}"
            time.sleep(0.2)
            with flask_app.app_context():
                found = db.session.scalar(select(Organization).where(Organization.code == marker))
        assert found is not None, f"no row after {WAIT_SECONDS} s; worker log:\n{_tail(log_path)}"
        assert found.name == "worker test"
    finally:
        _stop(worker)
        _drop_queue(celery, queue)
        celery.close()
        with flask_app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    assert f"{ensure_worker_test_organization.name}[" in log_path.read_text(errors="replace")
