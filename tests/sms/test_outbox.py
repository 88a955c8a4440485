"""Sending: at most once (claim before the call), retries only for transient refusals, windows, pacing."""

from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import select
from urllib3.exceptions import NewConnectionError

from app.extensions import db as _db
from app.sms import service
from app.sms.jobs import run_sender, send_reminders
from app.sms.models import SmsOutbox
from tests.sms.conftest import PHONE, PHONE_2, post_signed


def queue(campaign, *phones):
    service.start_contact_upload(campaign, "c.csv", ("phone\n" + "\n".join(phones)).encode())
    _db.session.commit()
    service.queue_campaign_texts(campaign)


class DiesAfterTheCall:
    """A sender whose worker process dies while the provider holds the message."""

    name = "twilio"

    def __init__(self, inner):
        self.inner = inner

    def send(self, to, body, status_callback=None):
        self.result = self.inner.send(to, body, status_callback)
        raise SystemExit(1)


def test_a_send_killed_after_the_claim_is_never_sent_twice(client, sms, dialogue_campaign):
    queue(dialogue_campaign, PHONE)
    dying = DiesAfterTheCall(sms.sender)
    with pytest.raises(SystemExit):
        run_sender(dying, dialogue_campaign.id)
    _db.session.rollback()
    row = _db.session.scalar(select(SmsOutbox))
    assert row.status == "unknown" and row.provider_sid is None
    assert len(sms.fake.sent) == 1

    assert run_sender(sms.sender, dialogue_campaign.id)["sent"] == 0  # the job runs again
    assert len(sms.fake.sent) == 1

    # Reconciliation: the status callback (its URL carries the outbox id) tells the row's fate.
    data = {"MessageSid": dying.result.sid, "MessageStatus": "delivered"}
    post_signed(client, "/sms/twilio/status", data, query=f"outbox={row.id}")
    _db.session.expire_all()
    row = _db.session.get(SmsOutbox, row.id)
    assert (row.status, row.provider_sid) == ("delivered", dying.result.sid)


def test_a_claim_is_committed_before_the_provider_is_called(sms, dialogue_campaign, app):
    queue(dialogue_campaign, PHONE)
    seen = []

    class Peeking:
        name = "peek"

        def send(self, to, body, status_callback=None):
            from app.extensions import db

            with db.engine.connect() as other:  # another connection sees only committed rows
                seen.append(other.execute(select(SmsOutbox.status)).scalar())
            return sms.sender.send(to, body, status_callback)

    run_sender(Peeking(), dialogue_campaign.id)
    assert seen == ["unknown"]


def test_transient_refusals_are_retried_with_backoff(sms, dialogue_campaign):
    queue(dialogue_campaign, PHONE)
    refused = requests.exceptions.ConnectionError(NewConnectionError(None, "refused"))
    sms.fake.script = [(429, 20429), refused, (503, 503)]
    clock = [datetime.now(UTC) + timedelta(seconds=1)]
    for expected_attempts in (1, 2, 3):
        counts = run_sender(sms.sender, dialogue_campaign.id, now=lambda: clock[0])
        assert counts["retry"] == 1
        row = _db.session.scalar(select(SmsOutbox))
        assert (row.status, row.attempts) == ("pending", expected_attempts)
        assert run_sender(sms.sender, dialogue_campaign.id, now=lambda: clock[0])["retry"] == 0
        clock[0] += timedelta(hours=1)  # past the backoff
    assert run_sender(sms.sender, dialogue_campaign.id, now=lambda: clock[0])["sent"] == 1
    assert len(sms.fake.sent) == 4  # three refusals, one acceptance


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_permanent_errors_are_never_retried(sms, dialogue_campaign, code):
    queue(dialogue_campaign, PHONE)
    sms.fake.script = [(400, code)]
    assert run_sender(sms.sender, dialogue_campaign.id)["failed"] == 1
    row = _db.session.scalar(select(SmsOutbox))
    assert (row.status, row.error_code) == ("failed", str(code))
    run_sender(sms.sender, dialogue_campaign.id)
    assert len(sms.fake.sent) == 1


def test_an_ambiguous_network_error_leaves_the_row_unknown(sms, dialogue_campaign):
    queue(dialogue_campaign, PHONE)
    sms.fake.script = [requests.exceptions.ReadTimeout("read timed out")]
    assert run_sender(sms.sender, dialogue_campaign.id)["unknown"] == 1
    run_sender(sms.sender, dialogue_campaign.id)
    assert len(sms.fake.sent) == 1
    assert _db.session.scalar(select(SmsOutbox)).status == "unknown"


def test_nothing_is_sent_outside_the_send_window(sms, dialogue_campaign, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_SEND_WINDOW", "08:00-21:00")
    queue(dialogue_campaign, PHONE)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    night = datetime.combine(tomorrow, time(14, 30), UTC)  # 22:30 in Asia/Shanghai
    assert run_sender(sms.sender, dialogue_campaign.id, now=lambda: night)["sent"] == 0
    assert sms.fake.sent == []
    morning = night + timedelta(hours=10)  # 08:30 in Asia/Shanghai
    assert run_sender(sms.sender, dialogue_campaign.id, now=lambda: morning)["sent"] == 1


def test_sending_is_throttled(sms, dialogue_campaign, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_RATE_PER_SECOND", 2)
    queue(dialogue_campaign, PHONE, PHONE_2, "13700137000", "13600136000", "13500135000")
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    counts = run_sender(sms.sender, dialogue_campaign.id, clock=lambda: clock[0], sleep=sleep)
    assert counts["sent"] == 5
    assert clock[0] == pytest.approx(2.0)  # 5 texts at 2/s: the last leaves at t = 2 s


def test_queueing_twice_queues_each_step_once(sms, dialogue_campaign):
    queue(dialogue_campaign, PHONE, PHONE)
    assert service.queue_campaign_texts(dialogue_campaign) == 0
    run_sender(sms.sender, dialogue_campaign.id)
    assert len(sms.fake.sent) == 1


def test_reminders_go_to_non_responders_once(client, sms, dialogue_campaign, app, monkeypatch):
    from tests.sms.conftest import reply

    queue(dialogue_campaign, PHONE, PHONE_2)
    run_sender(sms.sender, dialogue_campaign.id)
    reply(client, "1 1 5", phone=PHONE_2)  # completes
    old = datetime.now(UTC) - timedelta(days=4)
    _db.session.execute(SmsOutbox.__table__.update().values(updated_at=old))
    _db.session.commit()
    send_reminders(dialogue_campaign.id)
    send_reminders(dialogue_campaign.id)
    reminders = [m for m in sms.fake.sent if "提醒" in m["Body"]]
    assert [m["To"] for m in reminders] == [PHONE]
    assert "看病满意吗？" in reminders[0]["Body"]
