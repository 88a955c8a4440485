"""Hotline cases: intake over the API, the follow-up dialogue, a response per street."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts.tokens import create_token
from app.extensions import db as _db
from app.responses.models import Answer, Response
from app.sms import service
from app.sms.jobs import run_sender
from app.sms.models import HotlineCase, SmsConversation
from tests.sms.conftest import reply


@pytest.fixture
def token(db, hotline_campaign):
    _, plain = create_token(hotline_campaign.org_id, "12345 system", ["cases:write"])
    _db.session.commit()
    return plain


def post_case(client, token, **overrides):
    body = {
        "case_ref": "BJ12345-2026-000001",
        "phone": "138-0013-8000",
        "unit_code": "gl-hx",
        "handled_at": datetime.now(UTC).isoformat(),
        **overrides,
    }
    return client.post(
        "/api/v1/hotline/cases", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_a_hotline_case_from_intake_to_a_scored_follow_up(client, sms, hotline_campaign, token):
    created = post_case(client, token)
    assert created.status_code == 201, created.get_json()
    case = created.get_json()
    assert case["status"] == "scheduled" and "phone" not in case
    assert post_case(client, token).status_code == 200  # the same case again: no second case

    # Nothing goes out before the configured delay …
    service.start_due_followups(datetime.now(UTC))
    run_sender(sms.sender)
    assert sms.fake.sent == []
    # … and once it has passed, the follow-up dialogue starts.
    started = service.start_due_followups(datetime.now(UTC) + timedelta(minutes=61))
    assert started == {hotline_campaign.id}
    run_sender(sms.sender)
    assert len(sms.fake.sent) == 1
    text = sms.fake.sent[0]["Body"]
    assert text.startswith("【北京市委组织部】您好！您向12345热线反映的问题已办理完毕")
    assert "您对这次办理结果满意吗？ 回复1满意 2基本满意 3不满意" in text

    assert reply(client, "1").startswith("您反映的问题解决了吗？")
    assert reply(client, "1 2") == "感谢您的回复！"

    response = _db.session.scalar(select(Response))
    street = hotline_campaign.targets[0].unit
    assert (response.channel, response.unit_id) == ("hotline", street.id)
    answers = {a.question_key: (a.value, a.score) for a in _db.session.scalars(select(Answer))}
    assert answers == {
        "satisfied": ("satisfied", 100.0),
        "solved": ("solved", 100.0),
        "timely": ("not_timely", 0.0),
    }
    assert _db.session.get(HotlineCase, case["id"]).status == "completed"


def test_two_cases_of_one_caller_are_followed_up_one_after_the_other(
    client, sms, hotline_campaign, token
):
    post_case(client, token, case_ref="A")
    post_case(client, token, case_ref="B")
    later = datetime.now(UTC) + timedelta(minutes=61)
    service.start_due_followups(later)
    run_sender(sms.sender)
    assert len(sms.fake.sent) == 1
    reply(client, "111")
    service.start_due_followups(later)
    run_sender(sms.sender)
    assert len(sms.fake.sent) == 2
    reply(client, "222")
    assert _db.session.query(Response).count() == 2
    statuses = sorted(_db.session.scalars(select(HotlineCase.status)))
    assert statuses == ["completed", "completed"]


def test_invalid_cases_are_refused_without_echoing_the_phone(client, sms, hotline_campaign, token):
    bad = post_case(client, token, phone="12345678901", unit_code="nowhere")
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "12345678901" not in body
    details = bad.get_json()["error"]["details"]["json"]
    assert set(details) == {"phone", "unit_code"}
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert post_case(client, token, handled_at=future).status_code == 422
    assert post_case(client, token, case_ref="").status_code == 422


def test_case_intake_needs_the_cases_write_scope(client, sms, hotline_campaign):
    _, plain = create_token(hotline_campaign.org_id, "reader", ["scores:read"])
    _db.session.commit()
    assert post_case(client, plain).status_code == 403
    assert post_case(client, "my_nonsense").status_code == 401


def test_an_opted_out_caller_gets_no_follow_up(client, sms, hotline_campaign, token):
    reply(client, "退订")
    post_case(client, token)
    service.start_due_followups(datetime.now(UTC) + timedelta(hours=2))
    run_sender(sms.sender)
    assert sms.fake.sent == []
    assert _db.session.scalar(select(HotlineCase.status)) == "opted_out"


def test_an_unanswered_follow_up_expires(client, sms, hotline_campaign, token):
    post_case(client, token)
    service.start_due_followups(datetime.now(UTC) + timedelta(hours=2))
    run_sender(sms.sender)
    service.expire_conversations(datetime.now(UTC) + timedelta(days=10))
    assert _db.session.scalar(select(SmsConversation.status)) == "expired"
    assert _db.session.scalar(select(HotlineCase.status)) == "expired"
    assert reply(client, "1") == "本次回访已过期，感谢您的关注！"
