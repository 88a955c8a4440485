"""Staff SMS pages: cost estimate before sending, upload progress, the phone simulator."""

import io

from sqlalchemy import select

from app.channels.senders import ConsoleSender
from app.extensions import db as _db
from app.sms.models import SmsOutbox
from tests.factories import csrf_token, login, make_user
from tests.sms.conftest import PHONE


def staff(client, campaign, role="admin"):
    from app.accounts.models import Organization

    org = _db.session.get(Organization, campaign.org_id)
    make_user(org, role=role)
    _db.session.commit()
    login(client)


def test_campaign_page_shows_the_cost_estimate_and_flags_long_questions(
    client, sms, dialogue_campaign, app, monkeypatch
):
    monkeypatch.setitem(app.config, "SMS_MAX_SEGMENTS", 0)
    staff(client, dialogue_campaign)
    html = client.get(f"/admin/sms/campaigns/{dialogue_campaign.id}").get_data(as_text=True)
    assert "UCS-2" in html and "看病满意吗？" in html
    assert "<code>sat</code>" in html  # flagged: longer than 0 segments


def test_upload_then_send_from_the_staff_pages(client, sms, dialogue_campaign):
    staff(client, dialogue_campaign)
    page = f"/admin/sms/campaigns/{dialogue_campaign.id}"
    token = csrf_token(client, page)
    data = {"csrf_token": token, "file": (io.BytesIO(b"phone\n13800138000\nbad\n"), "c.csv")}
    response = client.post(f"{page}/contacts", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    html = client.get(page + "?lang=en").get_data(as_text=True)
    assert "line 3: not a valid phone number" in html
    assert client.post(f"{page}/send", data={"csrf_token": token}).status_code == 302
    assert len(sms.fake.sent) == 1


def test_the_phone_simulator_runs_a_dialogue_through_the_same_code(
    client, dialogue_campaign, app, monkeypatch
):
    console = ConsoleSender()
    monkeypatch.setitem(app.extensions, "sms_sender", console)
    monkeypatch.setitem(app.config, "SMS_SEND_WINDOW", "00:00-00:00")
    staff(client, dialogue_campaign)
    page = f"/admin/sms/campaigns/{dialogue_campaign.id}"
    token = csrf_token(client, page)
    client.post(
        f"{page}/contacts",
        data={"csrf_token": token, "file": (io.BytesIO(b"phone\n13800138000\n"), "c.csv")},
        content_type="multipart/form-data",
    )
    client.post(f"{page}/send", data={"csrf_token": token})
    assert len(console.sent) == 1
    html = client.post(
        "/admin/sms/simulator", data={"csrf_token": token, "phone": PHONE, "body": "1 1 4"}
    ).get_data(as_text=True)
    assert "谢谢参与！" in html
    assert "看病满意吗？" in html  # the text that went out is shown
    assert _db.session.scalar(select(SmsOutbox.status)) == "sent"


def test_the_simulator_is_off_with_a_real_provider(client, sms, dialogue_campaign):
    staff(client, dialogue_campaign)
    token = csrf_token(client, "/admin/sms/simulator")
    response = client.post(
        "/admin/sms/simulator", data={"csrf_token": token, "phone": PHONE, "body": "1"}
    )
    assert response.status_code == 409
