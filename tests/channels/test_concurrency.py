"""Concurrent submissions on PostgreSQL: one response per key, quotas and single use hold."""

import os
import threading

import pytest

from app.extensions import db as _db
from app.links.service import LinkGone, QuotaFull, create_invitation, find_link, submit
from app.responses.models import Response

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="row locks and concurrent commits need PostgreSQL (CI sets TEST_DATABASE_URL)",
)

ANSWERS = {
    "choice": "good",
    "yn": "no",
    "rate": 5,
    "team": {"p1": {"work": "good", "clean": "good"}, "d1": {"work": "ok", "clean": "good"}},
}


def race(app, code, keys):
    """Submit once per key, all threads released together; returns the outcomes."""
    barrier = threading.Barrier(len(keys))
    outcomes = []

    def worker(key):
        with app.app_context():
            try:
                link = find_link(code)
                barrier.wait(timeout=10)
                recorded = submit(link, dict(ANSWERS), idempotency_key=key)
                _db.session.commit()
                outcomes.append(("ok", recorded.response.id))
            except (LinkGone, QuotaFull) as exc:
                _db.session.rollback()
                outcomes.append((type(exc).__name__, None))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def stored(db):
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(Response))


def test_one_idempotency_key_submitted_concurrently_stores_one_response(app, db, campaign):
    outcomes = race(app, "hall", ["same-key"] * 6)
    assert [o[0] for o in outcomes] == ["ok"] * 6
    assert len({o[1] for o in outcomes}) == 1
    assert stored(db) == 1


def test_a_nearly_full_quota_is_never_exceeded(app, db, campaign):
    campaign.settings = {**campaign.settings, "quotas": {"by": "unit", "cells": {"u1": 3}}}
    db.session.commit()
    outcomes = race(app, "hall", [f"key-{i}" for i in range(8)])
    assert sorted(o[0] for o in outcomes) == ["QuotaFull"] * 5 + ["ok"] * 3
    assert stored(db) == 3


def test_a_single_use_token_is_used_once_under_concurrency(app, db, campaign):
    _, token = create_invitation(campaign, None, campaign.targets[0].unit)
    db.session.commit()
    outcomes = race(app, token, [f"key-{i}" for i in range(6)])
    assert sorted(o[0] for o in outcomes) == ["LinkGone"] * 5 + ["ok"]
    assert stored(db) == 1
