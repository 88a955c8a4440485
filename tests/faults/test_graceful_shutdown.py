"""gunicorn sent SIGTERM under load: in-flight requests finish and nothing is half-written."""

import threading
import time

import pytest

from tests.faults.conftest import Gunicorn
from tests.faults.test_database_restart import counts, post

pytestmark = pytest.mark.slow


def test_sigterm_under_load_finishes_in_flight_requests(prepared_db):
    cluster = prepared_db
    before, _ = counts(cluster.url)
    server = Gunicorn(cluster.url, workers=2, graceful=15)
    acknowledged, statuses = set(), []
    stop = threading.Event()

    def client(name):
        i = 0
        while not stop.is_set():
            key = f"term-{name}-{i}"
            status = post(server.base, key)
            statuses.append(status)
            if status == 201:
                acknowledged.add(key)
            elif status == 0:
                return  # the server stopped accepting connections
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    server.terminate()
    exit_code = server.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    after, incomplete = counts(cluster.url)
    assert exit_code == 0
    assert len(acknowledged) > 20, "too little load to prove anything"
    assert set(statuses) <= {201, 0}, set(statuses)
    # Every acknowledged response is stored whole; a request cut off before its commit stored nothing.
    assert incomplete == 0
    assert after - before >= len(acknowledged)
    assert (
        after - before <= len(acknowledged) + 4
    )  # at most the requests in flight when the socket closed
