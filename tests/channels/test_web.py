import re
from datetime import UTC, datetime, timedelta

from app.links.models import Link
from app.links.service import create_invitation, create_rater_codes
from app.responses.models import Answer, Response


def answer_everything(client, code, yn="partly"):
    assert client.post(f"/s/{code}/start").status_code == 302
    forms = [
        {"value": "good"},
        {"value": yn},
        {"value": "太多会议 13800138000"} if yn != "no" else None,
        {"value": "4"},
        {"value": ["web", "sms"]},
        {"value": "66"},
        {"work": "good", "clean": "ok"},
        {"work": "dk", "clean": "bad"},
    ]
    number = 1
    for form in [f for f in forms if f is not None]:
        response = client.post(f"/s/{code}/{number}", data=form)
        assert response.status_code == 302, response.get_data(as_text=True)
        number += 1
    return client.post(f"/s/{code}/submit", data={"website": ""})


def test_a_respondent_answers_every_kind_and_gets_a_receipt(client, db, campaign):
    page = client.get("/s/hall")
    assert page.status_code == 200 and "全部题型" in page.get_data(as_text=True)
    thanks = answer_everything(client, "hall")
    assert thanks.status_code == 200
    assert re.search(r'class="receipt">[0-9A-F]{10}<', thanks.get_data(as_text=True))
    response = db.session.scalars(db.select(Response)).one()
    assert response.distribution_point_id is not None and response.channel == "web"
    why = db.session.scalars(db.select(Answer).where(Answer.question_key == "why")).one()
    assert why.value == "太多会议 [手机号]"


def test_a_skipped_question_is_not_shown(client, db, campaign):
    client.post("/s/hall/start")
    client.post("/s/hall/1", data={"value": "good"})
    client.post("/s/hall/2", data={"value": "no"})
    page = client.get("/s/hall/3").get_data(as_text=True)
    assert "打分" in page and "哪些形式主义" not in page


def test_going_back_keeps_and_changes_answers(client, db, campaign):
    client.post("/s/hall/start")
    client.post("/s/hall/1", data={"value": "bad"})
    back = client.get("/s/hall/1").get_data(as_text=True)
    assert 'value="bad" checked' in back
    client.post("/s/hall/1", data={"value": "good"})
    assert 'value="good" checked' in client.get("/s/hall/1").get_data(as_text=True)


def test_an_invalid_answer_shows_the_message_next_to_the_question(client, db, campaign):
    client.post("/s/hall/start")
    response = client.post("/s/hall/1", data={})
    assert response.status_code == 400
    assert "请回答此题" in response.get_data(as_text=True) or "Please answer" in response.get_data(
        as_text=True
    )
    client.post("/s/hall/1", data={"value": "good"})
    client.post("/s/hall/2", data={"value": "no"})
    bad = client.post("/s/hall/3", data={"value": "9"})
    assert bad.status_code == 400


def test_resume_on_the_same_device(client, db, campaign):
    client.post("/s/hall/start")
    client.post("/s/hall/1", data={"value": "good"})
    assert "继续" in client.get("/s/hall").get_data(as_text=True) or "Continue" in client.get(
        "/s/hall"
    ).get_data(as_text=True)


def test_submitting_twice_stores_once(client, db, campaign):
    answer_everything(client, "hall")
    # A double tap re-sends the same draft cookie... but the draft is cleared; re-posting
    # from a stale page must not store a second response either.
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1


def test_the_honeypot_stores_nothing(client, db, campaign):
    client.post("/s/hall/start")
    response = client.post("/s/hall/submit", data={"website": "http://spam"})
    assert response.status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 0


def test_unknown_code_is_404(client, db, campaign):
    assert client.get("/s/nope").status_code == 404


def test_single_use_invitation_is_refused_after_use(client, db, campaign):
    unit = campaign.targets[0].unit
    _, token = create_invitation(campaign, datetime.now(UTC) + timedelta(days=7), unit)
    db.session.commit()
    assert answer_everything(client, token).status_code == 200
    again = client.get(f"/s/{token}")
    assert again.status_code == 410 and "已经" in again.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1
    stored = db.session.scalars(db.select(Response)).one()
    assert stored.distribution_point_id is None  # never the invitation


def test_expired_invitation_is_410(client, db, campaign):
    _, token = create_invitation(campaign, datetime.now(UTC) - timedelta(minutes=1))
    db.session.commit()
    assert client.get(f"/s/{token}").status_code == 410


def test_invitation_tokens_are_stored_only_hashed(client, db, campaign):
    _, token = create_invitation(campaign, None)
    db.session.commit()
    for link in db.session.scalars(db.select(Link)):
        assert token not in (link.code or "") and token not in (link.code_encrypted or "")


def test_rater_code_carries_the_group_not_the_rater(client, db, campaign):
    from app.links.service import slip_code

    link = create_rater_codes(campaign, campaign.targets[0].unit, "peer", 1)[0]
    db.session.commit()
    answer_everything(client, slip_code(link))
    response = db.session.scalars(db.select(Response)).one()
    assert response.rater_group == "peer" and response.distribution_point_id is None


def test_closed_and_not_yet_open_campaigns_are_410_with_dates(client, db, campaign):
    campaign.status = "closed"
    campaign.closes_at = datetime(2026, 10, 31, tzinfo=UTC)
    db.session.commit()
    page = client.get("/s/hall")
    assert page.status_code == 410 and "2026-10-31" in page.get_data(as_text=True)
    campaign.status = "open"
    campaign.closes_at = None
    campaign.opens_at = datetime.now(UTC) + timedelta(days=3)
    db.session.commit()
    assert client.get("/s/hall").status_code == 410


def test_full_quota_gets_a_polite_page_and_nothing_stored(client, db, campaign):
    campaign.settings = {**campaign.settings, "quotas": {"by": "unit", "cells": {"u1": 1}}}
    db.session.commit()
    answer_everything(client, "hall")
    other = client.application.test_client()
    page = other.get("/s/hall")
    assert page.status_code == 200 and "足够" in page.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1


def test_device_duplicate_control_blocks_a_second_answer(client, db, campaign):
    answer_everything(client, "hall")
    assert client.get("/s/hall").status_code == 410


def test_survey_pages_are_small(client, db, campaign):
    import gzip

    client.post("/s/hall/start")
    page = client.get("/s/hall/1").get_data()
    css = client.get("/static/survey.css").get_data()
    assert len(gzip.compress(page)) + len(gzip.compress(css)) < 30 * 1024


def test_staff_try_a_draft_campaign_and_their_answers_are_marked_test(client, db, campaign):
    from app.accounts.models import Organization
    from tests.factories import login, make_user

    campaign.status = "draft"
    make_user(db.session.get(Organization, campaign.org_id))
    db.session.commit()
    assert client.get("/s/hall").status_code == 410  # not open for the public
    login(client)
    page = client.get("/s/hall?test=1")
    assert page.status_code == 200 and "测试" in page.get_data(as_text=True)
    client.post("/s/hall/start?test=1")
    for number, form in enumerate(
        [
            {"value": "good"},
            {"value": "no"},
            {"value": "5"},
            {},
            {},
            {"work": "good", "clean": "good"},
            {"work": "ok", "clean": "ok"},
        ],
        start=1,
    ):
        assert client.post(f"/s/hall/{number}", data=form).status_code == 302
    assert client.post("/s/hall/submit", data={}).status_code == 200
    assert db.session.scalars(db.select(Response)).one().is_test


def test_test_mode_is_ignored_for_anonymous_visitors(client, db, campaign):
    campaign.status = "draft"
    db.session.commit()
    assert client.get("/s/hall?test=1").status_code == 410


def test_one_answer_per_phone_by_sms_code(client, db, campaign, app, monkeypatch):
    import re as _re

    from app.channels.senders import ConsoleSender
    from app.links.models import PhoneClaim

    sender = ConsoleSender()
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    campaign.settings = {
        **campaign.settings,
        "anonymity": {**campaign.settings["anonymity"], "duplicates": "sms_otp"},
    }
    db.session.commit()
    page = client.get("/s/hall")
    assert page.status_code == 200 and 'name="phone"' in page.get_data(as_text=True)
    assert client.post("/s/hall/start").status_code == 302  # no way round the check
    assert client.post("/s/hall/phone", data={"phone": "12345678901"}).status_code == 400
    assert client.post("/s/hall/phone", data={"phone": "138 0013 8000"}).status_code == 200
    code = _re.search(r"\d{6}", sender.sent[-1]["body"]).group(0)
    assert (
        client.post(
            "/s/hall/phone/verify", data={"otp": "000000" if code != "000000" else "111111"}
        ).status_code
        == 400
    )
    assert client.post("/s/hall/phone/verify", data={"otp": code}).status_code == 302
    assert answer_everything(client, "hall").status_code == 200
    # The same phone on another device: refused before any answer is taken.
    other = app.test_client()
    assert other.post("/s/hall/phone", data={"phone": "+86 13800138000"}).status_code == 410
    claims = db.session.scalars(db.select(PhoneClaim)).all()
    assert len(claims) == 1 and claims[0].used
    assert "13800138000" not in claims[0].pseudonym and len(claims[0].pseudonym) == 64
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1
