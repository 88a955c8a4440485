import io

import yaml

from app.campaigns.models import Campaign
from app.questionnaires.models import Questionnaire
from tests.factories import csrf_token, login, make_org, make_unit, make_user, simple_definition


def signed_in(client, db, role="admin"):
    org = make_org()
    make_user(org, role=role)
    db.session.commit()
    login(client)
    return org


def upload(client, text, name="q.yaml"):
    token = csrf_token(client, "/admin/questionnaires/import")
    return client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": token, "publish": "y", "file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def test_import_preview_and_export_a_questionnaire(client, db):
    signed_in(client, db)
    response = upload(client, yaml.safe_dump(simple_definition(), allow_unicode=True))
    assert response.status_code == 302
    preview = client.get(response.headers["Location"])
    assert "满意吗？" in preview.get_data(as_text=True)
    listing = client.get("/admin/questionnaires").get_data(as_text=True)
    assert "小问卷" in listing
    version_id = response.headers["Location"].rsplit("/", 1)[1]
    exported = client.get(f"/admin/versions/{version_id}/export.yaml")
    assert exported.headers["Content-Disposition"].endswith('mini-v1.yaml"')
    assert yaml.safe_load(exported.get_data(as_text=True))["key"] == "mini"


def test_a_bad_upload_lists_its_problems_and_stores_nothing(client, db):
    signed_in(client, db)
    bad = simple_definition()
    bad["questions"][0]["kind"] = "slider"
    response = upload(client, yaml.safe_dump(bad, allow_unicode=True), name="bad.yaml")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "未导入任何内容" in page and "bad.yaml: questions[0](q1).kind" in page
    assert db.session.scalars(db.select(Questionnaire)).all() == []


def test_a_non_utf8_upload_is_refused(client, db):
    signed_in(client, db)
    token = csrf_token(client, "/admin/questionnaires/import")
    response = client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": token, "file": (io.BytesIO("问卷".encode("gbk")), "q.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "UTF-8" in response.get_data(as_text=True)


def test_create_a_campaign_from_a_template(client, db):
    org = signed_in(client, db)
    unit = make_unit(org)
    db.session.commit()
    token = csrf_token(client, "/admin/campaigns/new")
    response = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "template": "social-satisfaction",
            "name": "第四季度满意度",
            "period": "2026-Q4",
            "channels": ["web", "qr"],
            "units": [str(unit.id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.session.scalars(db.select(Campaign)).one()
    assert (campaign.period, campaign.channels) == ("2026-Q4", ["web", "qr"])
    assert "第四季度满意度" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_bad_campaign_form_names_the_field(client, db):
    signed_in(client, db)
    token = csrf_token(client, "/admin/campaigns/new")
    response = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "template": "social-satisfaction",
            "name": "x",
            "period": "2026-Q9",
            "channels": ["web"],
        },
    )
    assert response.status_code == 400
    assert "period" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(Campaign)).all() == []


def test_english_console(client, db):
    signed_in(client, db)
    assert "Campaigns" in client.get("/admin/?lang=en").get_data(as_text=True)
