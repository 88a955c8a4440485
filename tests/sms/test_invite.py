"""Invitation mode: a text with a personal link to the web survey, and its reminder."""

import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.campaigns.service import create_campaign
from app.channels.senders import ConsoleSender
from app.extensions import db as _db
from app.sms import service
from app.sms.jobs import run_sender, send_campaign, send_reminders
from app.sms.models import SmsOutbox
from tests.factories import make_org, make_unit, make_version
from tests.sms.conftest import BASE, DIALOGUE, PHONE, PHONE_2


def invite_campaign():
    org = make_org()
    unit = make_unit(org)
    version = make_version(org, DIALOGUE)
    campaign = create_campaign(
        org.id, version, "短信邀请", "2026", ["web", "sms_invite"], units=[unit]
    )
    campaign.status = "open"
    _db.session.commit()
    return campaign


def test_invitations_carry_a_personal_link_and_the_opt_out_hint(sms, db):
    campaign = invite_campaign()
    service.start_contact_upload(campaign, "c.csv", f"phone\n{PHONE}\n{PHONE_2}\n".encode())
    _db.session.commit()
    send_campaign(campaign.id)
    bodies = [m["Body"] for m in sms.fake.sent]
    assert len(bodies) == 2
    links = [re.search(re.escape(BASE) + r"/s/\S+", b).group(0) for b in bodies]
    assert links[0] != links[1]  # one single-use link per person
    assert all(
        b.startswith("【测试组织部】民生满意度调查") and b.endswith("回T退订") for b in bodies
    )
    estimate = service.cost_estimate(campaign)
    assert (estimate["mode"], estimate["contacts"]) == ("invite", 2)
    assert estimate["segments"] == service.count_segments(bodies[0]).count


def test_the_console_backend_logs_no_number_and_no_link_token(app, db, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    console = ConsoleSender()
    monkeypatch.setitem(app.extensions, "sms_sender", console)
    monkeypatch.setitem(app.config, "SMS_SEND_WINDOW", "00:00-00:00")
    campaign = invite_campaign()
    service.start_contact_upload(campaign, "c.csv", f"phone\n{PHONE}\n".encode())
    _db.session.commit()
    send_campaign(campaign.id)
    token = re.search(r"/s/(\S+)", console.sent[0]["body"]).group(1)
    assert "SMS (console backend)" in caplog.text
    assert token not in caplog.text and "13800138000" not in caplog.text


def test_invitation_reminders_send_a_fresh_link_once(sms, db):
    campaign = invite_campaign()
    service.start_contact_upload(campaign, "c.csv", f"phone\n{PHONE}\n".encode())
    _db.session.commit()
    send_campaign(campaign.id)
    _db.session.execute(
        SmsOutbox.__table__.update().values(updated_at=datetime.now(UTC) - timedelta(days=5))
    )
    _db.session.commit()
    send_reminders(campaign.id)
    send_reminders(campaign.id)
    run_sender(sms.sender)
    assert len(sms.fake.sent) == 2 and "提醒" in sms.fake.sent[1]["Body"]
    steps = sorted(_db.session.scalars(select(SmsOutbox.step)))
    assert steps == ["invite", "reminder:1"]
