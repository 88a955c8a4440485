"""PostgreSQL restarted while responses come in: stored responses = acknowledged responses, exactly."""

import json
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.faults.conftest import ANSWERS, Gunicorn

pytestmark = pytest.mark.slow


def post(base: str, key: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/links/fault/responses",
        data=json.dumps({"answers": ANSWERS}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # connection refused or reset: the client cannot know, so it retries


def counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        responses = conn.execute("SELECT count(*) FROM responses").fetchone()[0]
        incomplete = conn.execute(
            "SELECT count(*) FROM responses r WHERE (SELECT count(*) FROM answers a WHERE a.response_id = r.id) <> 10"
        ).fetchone()[0]
    return responses, incomplete


def test_database_restart_loses_nothing_and_counts_nothing_twice(prepared_db):
    cluster = prepared_db
    before, _ = counts(cluster.url)
    server = Gunicorn(cluster.url)
    acknowledged: set[str] = set()
    statuses: list[int] = []
    stop = threading.Event()

    def client(name):
        i = 0
        while not stop.is_set():
            key = f"{name}-{i}"
            deadline = time.time() + 40
            while time.time() < deadline:
                status = post(server.base, key)
                statuses.append(status)
                if status == 201:
                    acknowledged.add(key)
                    break
                assert status in (0, 503), f"unexpected {status}"
                time.sleep(0.2)  # a client retries a 503 with the same key
            i += 1

    threads = [threading.Thread(target=client, args=(f"c{n}",)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(2)
        cluster.restart()
        time.sleep(3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        server.terminate()
        server.wait()
    after, incomplete = counts(cluster.url)
    assert 503 in statuses or 0 in statuses, "the restart was not noticed; the test proved nothing"
    assert 500 not in statuses
    assert after - before == len(acknowledged)
    assert incomplete == 0
