"""Two-way dialogue: from the invitation to a stored response, every reply form, opt-outs."""

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.responses.models import Answer, Response
from app.sms import service
from app.sms.jobs import run_sender, send_campaign
from app.sms.models import SmsConversation, SmsOptOut, SmsOutbox
from tests.sms.conftest import PHONE, PHONE_2, reply


def upload(campaign, text):
    service.start_contact_upload(campaign, "c.csv", text.encode())
    _db.session.commit()  # the in-process job runs after the commit


def invite(campaign, *phones):
    upload(campaign, "phone\n" + "\n".join(phones) + "\n")
    send_campaign(campaign.id)


def answers_of(campaign):
    rows = _db.session.scalars(
        select(Answer).join(Response).where(Response.campaign_id == campaign.id)
    ).all()
    return {a.question_key: a.value for a in rows}


def test_full_dialogue_from_invitation_to_stored_response(client, sms, dialogue_campaign):
    invite(dialogue_campaign, "138 0013 8000")
    assert len(sms.fake.sent) == 1
    first = sms.fake.sent[0]
    assert first["To"] == PHONE
    assert "看病满意吗？ 回复1满意 2基本满意 3不满意" in first["Body"]
    assert first["Body"].endswith("回T退订")
    assert first["StatusCallback"].startswith(
        "https://minyi.example.gov.cn/sms/twilio/status?outbox="
    )
    row = _db.session.scalar(select(SmsOutbox))
    assert row.status == "queued" and row.provider_sid

    assert reply(client, "1").startswith("问题解决了吗？")
    assert "1-5" in reply(client, "是")
    assert reply(client, "４") == "谢谢参与！"

    assert answers_of(dialogue_campaign) == {"sat": "good", "solved": "yes", "rate": 4}
    response = _db.session.scalar(select(Response))
    assert response.channel == "sms"
    conversation = _db.session.scalar(select(SmsConversation))
    assert conversation.status == "completed" and conversation.answers == {}
    assert reply(client, "1") == "您已完成本次调查，感谢您的参与！"
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 1
    funnel = service.funnel(dialogue_campaign)
    assert funnel["invited"] == 1 and funnel["started"] == 1 and funnel["completed"] == 1


def test_all_answers_in_one_message(client, sms, dialogue_campaign):
    invite(dialogue_campaign, PHONE)
    assert reply(client, "2，2，5") == "谢谢参与！"
    assert answers_of(dialogue_campaign) == {"sat": "ok", "solved": "no", "rate": 5}


def test_a_digit_run_answers_every_question(client, sms, dialogue_campaign):
    invite(dialogue_campaign, PHONE)
    assert reply(client, "315") == "谢谢参与！"
    assert answers_of(dialogue_campaign) == {"sat": "bad", "solved": "yes", "rate": 5}


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        (["满意", "对", "五"], {"sat": "good", "solved": "yes", "rate": 5}),
        (["叁", "N", "１"], {"sat": "bad", "solved": "no", "rate": 1}),
        (["基本满意", "否", "3"], {"sat": "ok", "solved": "no", "rate": 3}),
        (["1", "不", "二"], {"sat": "good", "solved": "no", "rate": 2}),
        (["1", "y", "2"], {"sat": "good", "solved": "yes", "rate": 2}),
    ],
)
def test_every_reply_form_through_the_webhook(client, sms, dialogue_campaign, replies, expected):
    invite(dialogue_campaign, PHONE)
    for text in replies:
        last = reply(client, text)
    assert last == "谢谢参与！"
    assert answers_of(dialogue_campaign) == expected


def test_an_unparseable_reply_is_reasked_with_a_hint_up_to_a_limit(
    client, sms, app, dialogue_campaign
):
    invite(dialogue_campaign, PHONE)
    hint = reply(client, "随便")
    assert hint.startswith("抱歉，没有看懂您的回复。看病满意吗？")
    assert reply(client, "9").startswith("抱歉")
    assert reply(client, "1").startswith("问题解决了吗？")  # a good answer resets the count
    assert reply(client, "?") != ""  # help
    for _ in range(app.config["SMS_REPLY_RETRIES"]):
        assert reply(client, "嗯嗯嗯").startswith("抱歉，没有看懂")
    assert reply(client, "嗯嗯嗯").startswith("抱歉，未能识别")
    conversation = _db.session.scalar(select(SmsConversation))
    assert conversation.status == "abandoned" and conversation.answers == {}
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_reply_after_the_campaign_closed_is_answered_politely_and_not_stored(
    client, sms, dialogue_campaign
):
    invite(dialogue_campaign, PHONE)
    reply(client, "1")
    dialogue_campaign.status = "closed"
    _db.session.commit()
    assert reply(client, "1 3") == "本次调查已结束，感谢您的关注！"
    assert _db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_an_unknown_number_gets_a_polite_answer(client, sms, dialogue_campaign):
    assert reply(client, "1", phone=PHONE_2) == "您好，目前没有需要您回复的调查。回T退订。"


def test_a_retried_message_sid_is_answered_once(client, sms, dialogue_campaign):
    invite(dialogue_campaign, PHONE)
    assert reply(client, "1", sid="SMretry1").startswith("问题解决了吗？")
    # Twilio retries the same message: same answer, no second step taken.
    assert reply(client, "1", sid="SMretry1").startswith("问题解决了吗？")
    conversation = _db.session.scalar(select(SmsConversation))
    assert conversation.answers == {"sat": "good"}


@pytest.mark.parametrize("keyword", ["STOP", "stop", "退订", "TD", "td", "T", "t", "Ｔ"])
def test_every_opt_out_keyword_unsubscribes_from_every_campaign(
    client, sms, dialogue_campaign, hotline_campaign, keyword
):
    invite(dialogue_campaign, PHONE, PHONE_2)
    assert reply(client, keyword).startswith("您已退订")
    assert _db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 1
    assert _db.session.scalar(select(SmsConversation).where(SmsConversation.status == "opted_out"))
    # Silence afterwards, and nothing more is sent to that number in any campaign.
    assert reply(client, "1") == ""
    from datetime import UTC, datetime

    service.register_case(hotline_campaign.org_id, "C-1", PHONE, "gl-hx", datetime.now(UTC))
    _db.session.commit()
    service.start_due_followups(datetime.now(UTC) + __import__("datetime").timedelta(days=1))
    run_sender(sms.sender)
    assert [m["To"] for m in sms.fake.sent].count(PHONE) == 1  # only the first invitation


def test_start_resubscribes_and_help_says_who_asks(client, sms, dialogue_campaign):
    invite(dialogue_campaign, PHONE)
    reply(client, "退订")
    assert reply(client, "START").startswith("您已恢复")
    assert _db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0
    assert "测试组织部" in reply(client, "帮助")
    assert "测试组织部" in reply(client, "HELP")


def test_queued_texts_to_an_opted_out_number_are_never_sent(client, sms, dialogue_campaign):
    upload(dialogue_campaign, f"phone\n{PHONE}\n")
    reply(client, "T")  # before the campaign's texts go out
    send_campaign(dialogue_campaign.id)
    assert sms.fake.sent == []
    row = _db.session.scalar(select(SmsOutbox))
    assert row.status == "skipped" and row.error_code == "opted_out"
