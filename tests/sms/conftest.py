"""SMS fixtures: a Twilio sender on a local fake HTTP client, signed webhook posts, campaigns."""

from types import SimpleNamespace

import pytest
from twilio.request_validator import RequestValidator

from app.campaigns.service import create_campaign, create_from_template
from app.channels.senders import FakeTwilioHttpClient, TwilioSender
from tests.factories import make_org, make_unit, make_version

AUTH_TOKEN = "test-twilio-auth-token"
BASE = "https://minyi.example.gov.cn"
PHONE = "+8613800138000"
PHONE_2 = "+8613912345678"

DIALOGUE = {
    "format": 1,
    "key": "sms-mini",
    "kind": "social_satisfaction",
    "title": {"zh": "民生满意度调查", "en": "Livelihood survey"},
    "description": {"zh": "您好！请回复数字参加匿名调查。"},
    "thanks": {"zh": "谢谢参与！"},
    "indicators": [{"key": "service", "name": {"zh": "服务"}, "weight": 1}],
    "questions": [
        {
            "key": "sat",
            "kind": "single_choice",
            "text": {"zh": "您对看病就医满意吗？"},
            "sms_text": {"zh": "看病满意吗？"},
            "indicator": "service",
            "options": [
                {
                    "value": "good",
                    "label": {"zh": "满意"},
                    "score": 100,
                    "satisfied": True,
                    "sms": "1",
                },
                {"value": "ok", "label": {"zh": "基本满意"}, "score": 60, "sms": "2"},
                {"value": "bad", "label": {"zh": "不满意"}, "score": 0, "sms": "3"},
            ],
        },
        {
            "key": "solved",
            "kind": "yes_no",
            "text": {"zh": "问题解决了吗？"},
            "allow_partly": False,
        },
        {"key": "rate", "kind": "rating", "text": {"zh": "请打分"}, "min": 1, "max": 5},
    ],
    "scoring": {"scheme": "satisfaction", "version": 1},
}


@pytest.fixture
def sms(app, db, monkeypatch):
    """Twilio configured against a local fake of its REST API; webhooks signed for BASE."""
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE)
    monkeypatch.setitem(app.config, "SMS_SEND_WINDOW", "00:00-00:00")
    monkeypatch.setitem(app.config, "SMS_RATE_PER_SECOND", 0)
    fake = FakeTwilioHttpClient()
    sender = TwilioSender("AC" + "0" * 32, AUTH_TOKEN, "+15005550006", http_client=fake)
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    return SimpleNamespace(fake=fake, sender=sender)


def sign(url: str, data: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, data)


def post_signed(client, path, data, *, token=AUTH_TOKEN, query="", headers=None, **kw):
    """POST as Twilio would: signed over BASE + path + the query string exactly as sent."""
    target = f"{path}?{query}" if query else path
    signature = sign(BASE + target, data, token)
    return client.post(
        target, data=data, headers={"X-Twilio-Signature": signature, **(headers or {})}, **kw
    )


_sid = iter(range(10**6))


def reply(client, text, phone=PHONE, sid=None):
    """An inbound text from phone through the signed webhook; returns the reply text (or '')."""
    sid = sid or f"SM{next(_sid):032d}"
    response = post_signed(
        client,
        "/sms/twilio/inbound",
        {"From": phone, "To": "+15005550006", "Body": text, "MessageSid": sid},
    )
    assert response.status_code == 200, response.status_code
    import re

    match = re.search(r"<Message>(.*?)</Message>", response.get_data(as_text=True), re.S)
    return match.group(1) if match else ""


@pytest.fixture
def dialogue_campaign(db):
    org = make_org()
    unit = make_unit(org)
    version = make_version(org, DIALOGUE)
    campaign = create_campaign(org.id, version, "短信调查", "2026", ["sms_dialogue"], units=[unit])
    campaign.status = "open"
    db.session.commit()
    return campaign


@pytest.fixture
def hotline_campaign(db):
    org = make_org(code="bj", name="北京市委组织部")
    district = make_unit(org, code="gl", name="鼓楼区", level="county")
    street = make_unit(
        org, code="gl-hx", name="华侨路街道", level="township", type_="street", parent=district
    )
    campaign = create_from_template(
        org.id,
        "hotline-followup",
        name="12345回访",
        period="2026",
        channels=["hotline", "sms_dialogue"],
        units=[street],
    )
    campaign.status = "open"
    db.session.commit()
    return campaign
