"""No phone number in any row (outside the encrypted columns), log line, reply or URL; purges."""

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.accounts.tokens import create_token
from app.core.phones import phone_variants
from app.extensions import db as _db
from app.sms import service
from app.sms.jobs import purge_contacts, run_sender, send_campaign
from app.sms.models import HotlineCase, SmsContact, SmsConversation, SmsOutbox, SmsUpload
from tests.sms.conftest import PHONE, PHONE_2, post_signed, reply

ENCRYPTED = {"phone_encrypted", "to_encrypted", "body_encrypted", "payload_encrypted"}


def every_stored_value():
    for table in _db.metadata.sorted_tables:
        with _db.engine.connect() as conn:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    if column not in ENCRYPTED and value is not None:
                        yield table.name, column, str(value)


def test_no_phone_number_is_written_anywhere_readable(
    client, sms, dialogue_campaign, hotline_campaign, caplog, app
):
    caplog.set_level(logging.DEBUG)
    service.start_contact_upload(
        dialogue_campaign, "c.csv", f"phone\n{PHONE}\n{PHONE_2}\n12345678901\n".encode()
    )
    _db.session.commit()
    send_campaign(dialogue_campaign.id)
    replies = [reply(client, text) for text in ("1", "是", "5")]
    replies.append(reply(client, "TD", phone=PHONE_2))
    _, token = create_token(hotline_campaign.org_id, "12345", ["cases:write"])
    _db.session.commit()
    answer = client.post(
        "/api/v1/hotline/cases",
        json={
            "case_ref": "X-1",
            "phone": PHONE,
            "unit_code": "gl-hx",
            "handled_at": datetime.now(UTC).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    bad = client.post(
        "/api/v1/hotline/cases",
        json={
            "case_ref": "X-2",
            "phone": "1381234",
            "unit_code": "gl-hx",
            "handled_at": datetime.now(UTC).isoformat(),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    service.start_due_followups(datetime.now(UTC) + timedelta(hours=2))
    run_sender(sms.sender)
    replies += [reply(client, "3"), reply(client, "3 2")]
    rows = _db.session.scalars(select(SmsOutbox)).all()
    callbacks = [sms.fake.sent[i]["StatusCallback"] for i in range(len(sms.fake.sent))]
    post_signed(
        client,
        "/sms/twilio/status",
        {"MessageSid": rows[0].provider_sid, "MessageStatus": "delivered"},
        query=f"outbox={rows[0].id}",
    )
    assert replies[-1] == "感谢您的回复！"

    variants = phone_variants(PHONE) | phone_variants(PHONE_2) | {"1381234", "12345678901"}
    for table, column, value in every_stored_value():
        for variant in variants:
            assert variant not in value, (table, column)
    visible = "\n".join(
        [
            caplog.text,
            answer.get_data(as_text=True),
            bad.get_data(as_text=True),
            *replies,
            *callbacks,
        ]
    )
    for variant in variants:
        assert variant not in visible


def test_purge_deletes_contact_data_after_the_retention_period(client, sms, dialogue_campaign):
    service.start_contact_upload(
        dialogue_campaign, "c.csv", f"phone\n{PHONE}\n{PHONE_2}\n".encode()
    )
    _db.session.commit()
    send_campaign(dialogue_campaign.id)
    reply(client, "1")
    dialogue_campaign.status = "closed"
    dialogue_campaign.closes_at = datetime.now(UTC) - timedelta(days=29)
    _db.session.commit()
    purge_contacts(dialogue_campaign.id)  # still within the 30 days
    assert _db.session.query(SmsContact).count() == 2

    dialogue_campaign.closes_at = datetime.now(UTC) - timedelta(days=31)
    _db.session.commit()
    purge_contacts(dialogue_campaign.id)
    purge_contacts(dialogue_campaign.id)  # safe to run twice
    _db.session.expire_all()
    assert _db.session.query(SmsContact).count() == 0
    assert all(
        r.to_encrypted is None and r.body_encrypted is None
        for r in _db.session.scalars(select(SmsOutbox))
    )
    assert all(u.payload_encrypted is None for u in _db.session.scalars(select(SmsUpload)))
    assert all(c.answers == {} for c in _db.session.scalars(select(SmsConversation)))
    # Delivery counts survive the purge; the numbers do not.
    assert service.funnel(dialogue_campaign)["invited"] == 2


def test_purge_keeps_hotline_cases_but_drops_their_contact(client, sms, hotline_campaign):
    service.register_case(hotline_campaign.org_id, "K-1", PHONE, "gl-hx", datetime.now(UTC))
    hotline_campaign.status = "closed"
    hotline_campaign.closes_at = datetime.now(UTC) - timedelta(days=40)
    _db.session.commit()
    purge_contacts(hotline_campaign.id)
    _db.session.expire_all()
    case = _db.session.scalar(select(HotlineCase))
    assert case.contact_id is None and _db.session.query(SmsContact).count() == 0
