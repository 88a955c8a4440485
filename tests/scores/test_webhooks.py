"""Push: a published snapshot reaches each endpoint of its organization, signed, retried, logged."""

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from app.accounts.tokens import create_token
from app.audit.models import AuditEvent
from app.core.contact_crypto import ContactCipher, generate_key
from app.encryption import rotate_contact_keys
from app.models_base import utcnow
from app.scores import webhooks
from app.scores.service import publish_snapshot
from app.scores.webhooks import (
    ScoreWebhook,
    ScoreWebhookDelivery,
    WebhookError,
    backoff,
    create_webhook,
    deliver_score_webhook,
    remove_webhook,
    validate_url,
)
from tests.factories import csrf_token, login, make_user
from tests.scores.builders import satisfaction_campaign


class Receiver:
    """A local HTTP server that records every POST and answers with the queued statuses (then 200)."""

    def __init__(self):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"{receiver.url}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made = []

    def make():
        made.append(Receiver())
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(receivers):
    return receivers()


def _deliveries(db):
    db.session.expire_all()
    return list(db.session.scalars(select(ScoreWebhookDelivery).order_by(ScoreWebhookDelivery.id)))


def _make_due(db):
    db.session.execute(
        update(ScoreWebhookDelivery)
        .where(ScoreWebhookDelivery.status == "pending")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_published_snapshot_is_pushed_signed_with_the_endpoint_secret(db, client, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    webhook, secret = create_webhook(org.id, receiver.url + "/hooks/minyi")
    db.session.commit()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()  # the delivery job runs once this commits

    assert len(receiver.requests) == 1
    path, headers, body = receiver.requests[0]
    assert path == "/hooks/minyi"
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Minyi-Signature"], expected)
    [delivery] = _deliveries(db)
    assert headers["X-Minyi-Delivery"] == str(delivery.id)
    assert abs(int(headers["X-Minyi-Timestamp"]) - time.time()) < 60
    assert headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    assert data["event"] == "snapshot.published"
    assert data["campaign"]["id"] == campaign.id and data["campaign"]["name"] == "满意度"
    assert data["snapshot"]["version"] == 1 and data["snapshot"]["reason"] == "first"
    assert data["snapshot"]["published_at"]
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert [(a.number, a.status_code, a.error) for a in delivery.attempt_log] == [(1, 200, None)]
    # the secret is stored encrypted only
    assert secret not in webhook.secret_encrypted

    # push and pull agree: the same items as GET /api/v1/scores
    _token, plain = create_token(org.id, "core", ["scores:read"])
    db.session.commit()
    pulled = client.get("/api/v1/scores", headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert data["items"] == pulled["items"]


def test_suppressed_items_carry_no_score_in_the_pushed_body(db, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()

    items = {item["target"]["id"]: item for item in receiver.bodies[0]["items"]}
    suppressed = items[u2.id]
    assert suppressed["suppressed"] is True and suppressed["suppression_reason"]
    for figure in ("score", "ci95", "n", "n_effective", "indicators", "rank", "percentile"):
        assert figure not in suppressed
    assert items[u1.id]["score"] == pytest.approx(400 / 6, abs=1e-5)


def test_a_failed_delivery_is_retried_with_backoff_until_it_succeeds(db, runner, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [500, 503]
    before = utcnow()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()

    [delivery] = _deliveries(db)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    wait = webhooks.feed.aware(delivery.next_attempt_at) - before
    assert timedelta(seconds=50) < wait < timedelta(minutes=2)

    # not due yet: the runner leaves it alone
    result = runner.invoke(args=["scores", "deliver"])
    assert result.exit_code == 0, result.output
    assert "nothing due" in result.output
    assert len(receiver.requests) == 1

    _make_due(db)
    runner.invoke(args=["scores", "deliver"])
    [delivery] = _deliveries(db)
    assert delivery.status == "pending" and delivery.attempts == 2
    second_wait = webhooks.feed.aware(delivery.next_attempt_at) - utcnow()
    assert timedelta(seconds=90) < second_wait <= timedelta(minutes=2)

    _make_due(db)
    result = runner.invoke(args=["scores", "deliver"])
    assert "1 delivered" in result.output
    [delivery] = _deliveries(db)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log] == [500, 503, 200]
    assert len(receiver.requests) == 3
    # every attempt carries the same delivery id, so the receiver can drop duplicates
    assert {h["X-Minyi-Delivery"] for _, h, _ in receiver.requests} == {str(delivery.id)}


def test_backoff_doubles_from_one_minute_up_to_an_hour():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(20) == timedelta(hours=1)


def test_a_delivery_gives_up_after_the_last_attempt(db, runner, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 2)
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [500, 500, 500]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    _make_due(db)
    runner.invoke(args=["scores", "deliver"])
    [delivery] = _deliveries(db)
    assert delivery.status == "failed" and delivery.attempts == 2
    assert delivery.next_attempt_at is None
    _make_due(db)
    runner.invoke(args=["scores", "deliver"])
    assert len(receiver.requests) == 2


def test_the_delivery_job_run_twice_delivers_once(db, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    [delivery] = _deliveries(db)
    deliver_score_webhook(delivery.id)
    deliver_score_webhook(delivery.id)
    assert len(receiver.requests) == 1
    assert _deliveries(db)[0].attempts == 1


def test_a_claimed_delivery_is_not_sent_by_a_second_runner(db, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [500]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    [delivery] = _deliveries(db)
    # another runner holds the lease: the row is not due until it runs out
    db.session.execute(
        update(ScoreWebhookDelivery).values(next_attempt_at=utcnow() + webhooks.LEASE)
    )
    db.session.commit()
    deliver_score_webhook(delivery.id)
    assert len(receiver.requests) == 1


def test_an_endpoint_never_receives_another_organizations_snapshot(db, receivers):
    first, second = receivers(), receivers()
    org1, campaign1, *_ = satisfaction_campaign(code="org1")
    org2, campaign2, *_ = satisfaction_campaign(code="org2")
    create_webhook(org1.id, first.url)
    create_webhook(org2.id, second.url)
    db.session.commit()
    publish_snapshot(campaign2, "first", "r1")
    db.session.commit()

    assert first.requests == []
    assert [b["campaign"]["id"] for b in second.bodies] == [campaign2.id]
    assert {i["campaign_id"] for i in second.bodies[0]["items"]} == {campaign2.id}
    assert [d.org_id for d in _deliveries(db)] == [org2.id]


def test_redirects_are_not_followed(db, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [302]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    assert [path for path, _, _ in receiver.requests] == ["/"]
    [delivery] = _deliveries(db)
    assert delivery.status == "pending" and delivery.last_error == "HTTP 302"


def test_an_unreachable_endpoint_is_logged_by_error_class_without_the_secret(db, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    org, campaign, u1, u2 = satisfaction_campaign()
    _webhook, secret = create_webhook(org.id, f"http://127.0.0.1:{port}/")
    db.session.commit()
    with caplog.at_level(logging.DEBUG):
        publish_snapshot(campaign, "first", "r1")
        db.session.commit()
    [delivery] = _deliveries(db)
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error == "ConnectionError"
    assert delivery.attempt_log[0].error == "ConnectionError"
    assert secret not in caplog.text


def test_a_superseded_snapshot_is_not_sent_after_its_successor(db, runner, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [500]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    publish_snapshot(campaign, "corrected", "r2")
    db.session.commit()
    _make_due(db)
    runner.invoke(args=["scores", "deliver"])

    assert [b["snapshot"]["version"] for b in receiver.bodies] == [1, 2]
    old, new = _deliveries(db)
    assert (old.status, old.last_error) == ("skipped", "superseded")
    assert new.status == "delivered"


def test_a_removed_endpoint_receives_nothing_more(db, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    webhook, _secret = create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [500]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    assert remove_webhook(db.session.get(ScoreWebhook, webhook.id)) == 1
    db.session.commit()
    publish_snapshot(campaign, "again", "r2")
    db.session.commit()
    _make_due(db)
    assert [d.status for d in _deliveries(db)] == ["skipped"]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("url", "loopback", "ok"),
    [
        ("https://core.example.gov.cn/hooks", False, True),
        ("https://core.example.gov.cn:8443/hooks?x=1", False, True),
        ("http://core.example.gov.cn/hooks", False, False),
        ("http://core.example.gov.cn/hooks", True, False),
        ("http://127.0.0.1:8080/hooks", True, True),
        ("http://127.0.0.1:8080/hooks", False, False),
        ("https://user:pw@core.example.gov.cn/", False, False),
        ("https://core.example.gov.cn/#x", False, False),
        ("https://core.example.gov.cn:99999/", False, False),
        ("ftp://core.example.gov.cn/", False, False),
        ("https:///nohost", False, False),
        ("javascript:alert(1)", True, False),
        ("https://x.cn/" + "a" * 500, False, False),
        ("", False, False),
    ],
)
def test_endpoint_urls_must_be_https(app, url, loopback, ok):
    with app.test_request_context():
        if ok:
            assert validate_url(url, allow_loopback_http=loopback) == url
        else:
            with pytest.raises(WebhookError):
                validate_url(url, allow_loopback_http=loopback)


def test_production_refuses_plain_http_even_to_the_loopback_address(app, db):
    from tests.factories import make_org

    org = make_org()
    app.config["MINYI_ENV"] = "production"
    try:
        with pytest.raises(WebhookError):
            create_webhook(org.id, "http://127.0.0.1:9000/")
    finally:
        app.config["MINYI_ENV"] = "development"


def test_webhook_secrets_follow_contact_key_rotation(app, db):
    from tests.factories import make_org

    org = make_org()
    webhook, secret = create_webhook(org.id, "https://core.example.gov.cn/")
    db.session.commit()
    old_keys = app.config["CONTACT_ENCRYPTION_KEYS"]
    new_key = generate_key()
    rotate_contact_keys([new_key, *old_keys])
    db.session.expire_all()
    stored = db.session.get(ScoreWebhook, webhook.id).secret_encrypted
    assert ContactCipher([new_key]).decrypt(stored) == secret


def test_admins_add_an_endpoint_see_its_secret_once_and_remove_it(db, client):
    org, campaign, u1, u2 = satisfaction_campaign()
    make_user(org, email="admin@example.org", role="admin")
    db.session.commit()
    login(client, email="admin@example.org")

    page = "/admin/scores/webhooks"
    bad = client.post(page, data={"csrf_token": csrf_token(client, page), "url": "http://core.cn/"})
    assert bad.status_code == 400
    assert db.session.scalar(select(ScoreWebhook)) is None

    url = "https://core.example.gov.cn/minyi"
    created = client.post(page, data={"csrf_token": csrf_token(client, page), "url": url})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    webhook = db.session.scalar(select(ScoreWebhook))
    secret = ContactCipher(client.application.config["CONTACT_ENCRYPTION_KEYS"]).decrypt(
        webhook.secret_encrypted
    )
    assert secret in html and url in html
    assert secret not in client.get(page).get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "score_webhook.create"))
    assert event.details == {"url": url}

    removed = client.post(
        f"{page}/{webhook.id}/remove", data={"csrf_token": csrf_token(client, page)}
    )
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(ScoreWebhook, webhook.id).removed_at is not None
    assert url not in client.get(page).get_data(as_text=True)


def test_the_delivery_log_shows_each_attempt(db, client, receiver):
    org, campaign, u1, u2 = satisfaction_campaign()
    make_user(org, email="admin@example.org", role="admin")
    create_webhook(org.id, receiver.url)
    db.session.commit()
    receiver.statuses = [503]
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    login(client, email="admin@example.org")
    html = client.get("/admin/scores/webhooks").get_data(as_text=True)
    assert "HTTP 503" in html and receiver.url in html and "v1" in html
