"""Webhook signatures: unsigned, wrong token and tampered posts get 403; proxies are handled."""

from sqlalchemy import func, select

from app.extensions import db as _db
from app.sms import service
from app.sms.jobs import send_campaign
from app.sms.models import SmsInbound, SmsOutbox
from tests.sms.conftest import BASE, PHONE, post_signed, sign

INBOUND = {"From": PHONE, "To": "+15005550006", "Body": "1", "MessageSid": "SM" + "a" * 32}


def test_unsigned_webhook_is_rejected(client, sms):
    assert client.post("/sms/twilio/inbound", data=INBOUND).status_code == 403
    assert client.post("/sms/twilio/status?outbox=1", data={"MessageSid": "SMx"}).status_code == 403
    assert _db.session.scalar(select(func.count()).select_from(SmsInbound)) == 0


def test_webhook_signed_with_the_wrong_token_is_rejected(client, sms):
    response = post_signed(client, "/sms/twilio/inbound", INBOUND, token="not-our-token")
    assert response.status_code == 403


def test_tampered_webhook_body_is_rejected(client, sms):
    signature = sign(BASE + "/sms/twilio/inbound", INBOUND)
    tampered = {**INBOUND, "Body": "3"}
    response = client.post(
        "/sms/twilio/inbound", data=tampered, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_webhook_is_rejected_when_no_auth_token_is_configured(client, sms, monkeypatch, app):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", None)
    assert post_signed(client, "/sms/twilio/inbound", INBOUND).status_code == 403


def test_signed_webhook_is_accepted_behind_a_tls_proxy_with_percent_escapes(client, sms):
    # The app sees http://10.0.0.5:8000 from the proxy; Twilio signed the public https URL with
    # the query string exactly as sent, escapes and all (Werkzeug's request.url would decode them).
    query = "src=twilio%2Fcn&note=a%20b%26c"
    response = post_signed(
        client,
        "/sms/twilio/inbound",
        INBOUND,
        query=query,
        base_url="http://10.0.0.5:8000",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "minyi.example.gov.cn"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert "<Response>" in response.get_data(as_text=True)


def test_malformed_inbound_post_is_a_400(client, sms):
    assert post_signed(client, "/sms/twilio/inbound", {"Body": "1"}).status_code == 400


def test_webhooks_need_no_csrf_token(client, sms, app):
    assert app.config["WTF_CSRF_ENABLED"]
    assert post_signed(client, "/sms/twilio/inbound", INBOUND).status_code == 200


def _sent_row(sms, dialogue_campaign):
    service.start_contact_upload(dialogue_campaign, "c.csv", f"phone\n{PHONE}\n".encode())
    _db.session.commit()
    send_campaign(dialogue_campaign.id)
    return _db.session.scalar(select(SmsOutbox))


def test_status_callbacks_update_delivery_and_never_go_backwards(client, sms, dialogue_campaign):
    row = _sent_row(sms, dialogue_campaign)
    query = f"outbox={row.id}"
    for status in ("sent", "delivered", "sent"):
        data = {"MessageSid": row.provider_sid, "MessageStatus": status}
        assert post_signed(client, "/sms/twilio/status", data, query=query).status_code == 204
    _db.session.expire_all()
    assert _db.session.get(SmsOutbox, row.id).status == "delivered"
    assert service.funnel(dialogue_campaign)["delivered"] == 1


def test_a_status_callback_for_another_message_is_ignored(client, sms, dialogue_campaign):
    row = _sent_row(sms, dialogue_campaign)
    data = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "failed"}
    post_signed(client, "/sms/twilio/status", data, query=f"outbox={row.id}")
    _db.session.expire_all()
    assert _db.session.get(SmsOutbox, row.id).status == "queued"


def test_a_failed_delivery_is_recorded_with_its_error_code(client, sms, dialogue_campaign):
    row = _sent_row(sms, dialogue_campaign)
    data = {"MessageSid": row.provider_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    post_signed(client, "/sms/twilio/status", data, query=f"outbox={row.id}")
    _db.session.expire_all()
    row = _db.session.get(SmsOutbox, row.id)
    assert (row.status, row.error_code) == ("undelivered", "30003")
    assert service.funnel(dialogue_campaign)["failed"] == 1
