"""Redis down and a worker killed mid-batch: nothing sent twice, nothing dropped.

Real processes: a private PostgreSQL cluster, a private redis-server and Celery workers, with a
stand-in provider (tests/faults/file_sender.py) that records what it accepted in a file.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from tests.faults.conftest import BIN, ROOT, app_env, free_port

pytestmark = pytest.mark.slow
CONTACTS = 40
# Outbox states once the provider has taken a text (its own status: queued, sent, delivered).
HANDED_OVER = ("queued", "sent", "delivered")

SETUP_SMS = """
import sys
from app import create_app
from app.accounts.service import get_or_create_org
from app.campaigns.service import create_campaign
from app.extensions import db
from app.questionnaires.service import import_published
from app.sms import service
from tests.sms.conftest import DIALOGUE

app = create_app()
with app.app_context():
    org = get_or_create_org(sys.argv[1])
    version = import_published(org.id, {**DIALOGUE, "key": "sms-" + sys.argv[1]})
    db.session.flush()
    campaign = create_campaign(org.id, version, "短信", "2026", ["sms_dialogue"])
    campaign.status = "open"
    db.session.flush()
    phones = "\\n".join(f"+86138{i:08d}" for i in range(int(sys.argv[2])))
    service.start_contact_upload(campaign, "c.csv", f"phone\\n{phones}\\n".encode())
    db.session.commit()  # the upload is processed in-process right after this commit
    print(campaign.id)
"""

REQUEST_SEND = """
import sys
from app import create_app
from app.extensions import db
from app.campaigns.models import Campaign
from app.jobs import enqueue
from app.sms import service
from app.sms.jobs import send_campaign

app = create_app()
with app.app_context():
    campaign = db.session.get(Campaign, int(sys.argv[1]))
    service.request_sending(campaign)
    enqueue(send_campaign, campaign.id)
    db.session.commit()
"""


@pytest.fixture
def redis_port():
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server")
    return free_port()


class Redis:
    def __init__(self, port):
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def sms_env(cluster, redis_port, log: Path, delay: float) -> dict:
    env = app_env(cluster.url)
    env.update(
        {
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SMS_PROVIDER": "tests.faults.file_sender:factory",
            "FAKE_SMS_LOG": str(log),
            "FAKE_SMS_DELAY": str(delay),
            "SMS_SEND_WINDOW": "00:00-00:00",
            "SMS_RATE_PER_SECOND": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run(script_or_args, env, *args):
    command = (
        [str(BIN / "python"), "-c", script_or_args, *args]
        if isinstance(script_or_args, str)
        else script_or_args
    )
    return subprocess.run(
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
    ).stdout


def worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "app.celery_app",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(proc):
    """Warm shutdown: SIGTERM to the main process only, which lets the running task finish."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def outbox(cluster, campaign_id) -> dict[str, int]:
    with psycopg.connect(cluster.url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM sms_outbox WHERE campaign_id = %s GROUP BY status",
            (campaign_id,),
        ).fetchall()
    return dict(rows)


def accepted(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def wait_for(condition, timeout=60, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def test_a_worker_killed_mid_batch_never_sends_a_text_twice(prepared_db, redis_port, tmp_path):
    cluster = prepared_db
    log = tmp_path / "provider.log"
    env = sms_env(cluster, redis_port, log, delay=0.15)
    campaign_id = int(
        run(
            SETUP_SMS, app_env(cluster.url) | {"PYTHONPATH": str(ROOT)}, "killed", str(CONTACTS)
        ).split()[-1]
    )
    redis = Redis(redis_port)
    first = worker(env)
    try:
        run(REQUEST_SEND, env, str(campaign_id))
        assert wait_for(lambda: len(accepted(log)) >= 8), "sending never started"
        # Kill the pool process doing the work, as an OOM kill or a crash would.
        child = subprocess.run(
            ["pgrep", "-P", str(first.pid)], capture_output=True, text=True
        ).stdout.split()
        assert child, "no worker child process found"
        os.kill(int(child[0]), signal.SIGKILL)
        killed_at = len(accepted(log))
        assert killed_at < CONTACTS, "the batch finished before the kill; the test proved nothing"
        # The worker's main process requeues the lost task (reject_on_worker_lost); the tick
        # would too. Either way sending resumes and finishes.
        run([str(BIN / "flask"), "--app", "wsgi", "sms", "tick"], env)
        assert wait_for(lambda: outbox(cluster, campaign_id).get("pending", 0) == 0, timeout=90), (
            outbox(cluster, campaign_id)
        )
    finally:
        stop_worker(first)
        redis.stop()
    statuses = outbox(cluster, campaign_id)
    texts = accepted(log)
    assert len(texts) == len(set(texts)), "a text reached the provider twice"
    handed_over = sum(n for status, n in statuses.items() if status in HANDED_OVER)
    assert handed_over + statuses.get("unknown", 0) == CONTACTS, statuses
    assert statuses.get("unknown", 0) <= 1  # at most the one in flight when the worker died
    assert handed_over <= len(texts) <= CONTACTS


def test_redis_down_collection_goes_on_and_sending_resumes_when_it_is_back(
    prepared_db, redis_port, tmp_path
):
    import json
    import urllib.request

    from tests.faults.conftest import ANSWERS, Gunicorn

    cluster = prepared_db
    log = tmp_path / "provider.log"
    env = sms_env(cluster, redis_port, log, delay=0)
    campaign_id = int(
        run(SETUP_SMS, app_env(cluster.url) | {"PYTHONPATH": str(ROOT)}, "down", "12").split()[-1]
    )
    # Redis is not running. Web/JSON collection does not need it (rate limits fall back to memory).
    server = Gunicorn(cluster.url, extra_env={"REDIS_URL": env["REDIS_URL"]})
    try:
        request = urllib.request.Request(
            f"{server.base}/api/v1/links/fault/responses",
            data=json.dumps({"answers": ANSWERS}).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": "redis-down-1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            assert response.status == 201
    finally:
        server.terminate()
        server.wait()
    # Staff press "send" while the broker is down: the request is recorded, the dispatch fails.
    run(REQUEST_SEND, env, str(campaign_id))
    assert accepted(log) == [] and outbox(cluster, campaign_id) == {}
    redis = Redis(redis_port)
    celery = worker(env)
    try:
        run([str(BIN / "flask"), "--app", "wsgi", "sms", "tick"], env)  # cron's next minute
        assert wait_for(
            lambda: (
                sum(n for s, n in outbox(cluster, campaign_id).items() if s in HANDED_OVER) == 12
            ),
            timeout=90,
        ), outbox(cluster, campaign_id)
        run([str(BIN / "flask"), "--app", "wsgi", "sms", "tick"], env)  # and again: nothing more
        time.sleep(2)
    finally:
        stop_worker(celery)
        redis.stop()
    texts = accepted(log)
    assert len(texts) == 12 and len(set(texts)) == 12
