"""Issue 6, end to end: an SMS campaign and a web campaign run through to the purge; then no phone
number or token, in any written form, is left in any column of any table or in the logs."""

import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core.phones import phone_variants
from app.extensions import db as _db
from app.links.service import create_invitation, find_link, submit
from app.sms import service
from app.sms.jobs import purge_contacts, send_campaign
from tests.sms.conftest import BASE, PHONE, PHONE_2, reply

RESPONSE_TABLES = ("responses", "answers")


def every_value(tables=None):
    """(table, column, text) for every non-null value of every table (or of the given ones)."""
    for table in _db.metadata.sorted_tables:
        if tables and table.name not in tables:
            continue
        with _db.engine.connect() as conn:
            for row in conn.execute(table.select()).mappings():
                for column, value in row.items():
                    if value is not None:
                        yield table.name, column, str(value)


def leaks(secrets, tables=None):
    return sorted({(t, c) for t, c, text in every_value(tables) for s in secrets if s in text})


def test_sms_and_web_campaigns_through_the_purge_leave_no_phone_or_token(
    client, sms, db, dialogue_campaign, caplog
):
    caplog.set_level(logging.DEBUG)
    # SMS dialogue: two people invited, one answers all three questions, the other opts out.
    service.start_contact_upload(
        dialogue_campaign, "c.csv", f"phone\n{PHONE}\n{PHONE_2}\n".encode()
    )
    _db.session.commit()
    send_campaign(dialogue_campaign.id)
    replies = [reply(client, text) for text in ("1", "是", "5")] + [
        reply(client, "T", phone=PHONE_2)
    ]
    # SMS invitations with personal links to the web survey; one person answers on the web.
    invite = invite_campaign_with_org_code()
    service.start_contact_upload(invite, "c.csv", f"phone\n{PHONE}\n".encode())
    _db.session.commit()
    send_campaign(invite.id)
    link_token = re.search(re.escape(BASE) + r"/s/(\S+)", sms.fake.sent[-1]["Body"]).group(1)
    answered = client.post(f"/s/{link_token}/start")
    for number, value in enumerate(("good", "yes", "4"), start=1):
        client.post(f"/s/{link_token}/{number}", data={"value": value})
    assert client.post(f"/s/{link_token}/submit", data={}).status_code == 200, answered
    # A web invitation sent by letter, answered through the JSON endpoint.
    _, letter_token = create_invitation(invite, None)
    _db.session.commit()
    submit(find_link(letter_token), {"sat": "ok", "solved": "no", "rate": 2}, idempotency_key="x")
    _db.session.commit()

    phones = phone_variants(PHONE) | phone_variants(PHONE_2)
    tokens = {link_token, letter_token}
    assert (
        _db.session.scalar(select(_db.func.count()).select_from(_db.metadata.tables["responses"]))
        == 3
    )
    # Never in the response tables, at any time.
    assert leaks(phones | tokens, RESPONSE_TABLES) == []
    # Outside the encrypted columns, nowhere even before the purge.
    encrypted = {
        "phone_encrypted",
        "to_encrypted",
        "body_encrypted",
        "payload_encrypted",
        "code_encrypted",
    }
    assert [leak for leak in leaks(phones | tokens) if leak[1] not in encrypted] == []

    for campaign in (dialogue_campaign, invite):
        campaign.status = "closed"
        campaign.closes_at = datetime.now(UTC) - timedelta(days=31)
    _db.session.commit()
    purge_contacts(dialogue_campaign.id)
    purge_contacts(invite.id)
    _db.session.expire_all()

    # After the purge: nowhere at all, and no encrypted contact data is left to decrypt.
    assert leaks(phones | tokens) == []
    for table, column, _text in every_value():
        if column in {"phone_encrypted", "to_encrypted", "body_encrypted", "payload_encrypted"}:
            raise AssertionError(f"{table}.{column} still holds contact data after the purge")
    purges = _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "contacts.purge")
    ).all()
    assert {e.object_id for e in purges} == {str(dialogue_campaign.id), str(invite.id)}
    visible = "\n".join([caplog.text, *replies])
    assert [s for s in phones | tokens if s in visible] == []


def invite_campaign_with_org_code():
    """An invitation campaign (web + SMS invitations) in a second organization."""
    from app.campaigns.service import create_campaign
    from tests.factories import make_org, make_unit, make_version
    from tests.sms.conftest import DIALOGUE

    org = make_org(code="org2", name="第二组织部")
    version = make_version(org, DIALOGUE)
    campaign = create_campaign(
        org.id, version, "短信邀请", "2026", ["web", "sms_invite"], units=[make_unit(org)]
    )
    campaign.status = "open"
    _db.session.commit()
    return campaign


def test_rotating_the_key_keeps_every_contact_readable(
    app, sms, db, dialogue_campaign, runner, monkeypatch
):
    from app.core.contact_crypto import ContactCipher, generate_key
    from app.sms.models import SmsContact

    service.start_contact_upload(
        dialogue_campaign, "c.csv", f"phone\n{PHONE}\n{PHONE_2}\n".encode()
    )
    _db.session.commit()
    old_keys = list(app.config["CONTACT_ENCRYPTION_KEYS"])
    new_key = generate_key()
    monkeypatch.setitem(app.config, "CONTACT_ENCRYPTION_KEYS", [new_key, *old_keys])
    app.extensions.pop("sms_cipher", None)
    result = runner.invoke(args=["contacts", "rotate-key"])
    assert result.exit_code == 0 and "Re-encrypted 2 value(s)" in result.output
    only_new = ContactCipher([new_key])
    stored = _db.session.scalars(select(SmsContact.phone_encrypted)).all()
    assert sorted(only_new.decrypt(v) for v in stored) == sorted([PHONE, PHONE_2])
    assert _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contacts.rotate_key"))
