"""Campaign setup, monitoring and results pages: bad input, roles and small-cell suppression."""

import io
import re

from app.audit.models import AuditEvent
from app.campaigns.models import Campaign
from app.campaigns.service import create_from_template
from app.scores.service import publish_snapshot
from app.targets.models import Official, Unit
from tests.factories import csrf_token, login, make_org, make_unit, make_user
from tests.scores.builders import satisfaction_campaign

HIDDEN = "样本过少，不予显示"


def draft_campaign(db, role="admin"):
    org = make_org()
    make_user(org, role=role)
    unit = make_unit(org, code="gl", name="鼓楼区")
    campaign = create_from_template(
        org.id, "social-satisfaction", name="满意度", period="2026", channels=["web"], units=[]
    )
    db.session.commit()
    return org, unit, campaign


def settings_data(**overrides):
    data = {
        "name": "第三季度满意度",
        "period": "2026-Q3",
        "channels": ["web", "qr"],
        "opens_at": "2026-07-01T08:00",
        "closes_at": "2026-07-31T20:00",
        "k": "7",
        "rater_k": "3",
        "timestamp_granularity": "week",
        "retention_days": "10",
        "duplicates": "none",
        "weighting_variables": "",
    }
    data.update(overrides)
    return data


def test_setup_saves_settings_and_audits_them(client, db):
    _org, _unit, campaign = draft_campaign(db)
    login(client)
    url = f"/admin/campaigns/{campaign.id}/setup"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, **settings_data()})
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert campaign.settings["anonymity"]["k"] == 7
    assert campaign.settings["anonymity"]["duplicates"] == "none"
    assert campaign.period == "2026-Q3" and campaign.channels == ["web", "qr"]
    assert campaign.opens_at.hour == 0  # 08:00 in Shanghai is midnight UTC
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "campaign.settings")
    ).one()
    assert "anonymity.k" in event.details["changed"]


def test_bad_settings_name_each_field_and_change_nothing(client, db):
    _org, _unit, campaign = draft_campaign(db)
    login(client)
    url = f"/admin/campaigns/{campaign.id}/setup"
    token = csrf_token(client, url)
    bad = settings_data(
        period="2026-Q9",
        k="1",
        channels=[],
        closes_at="2026-06-01T08:00",
        weighting_variables="age, shoe_size",
    )
    response = client.post(url, data={"csrf_token": token, **bad})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "shoe_size" in page
    assert page.count('class="error"') >= 4
    db.session.refresh(campaign)
    assert campaign.period == "2026" and campaign.settings["anonymity"]["k"] == 5


def test_pick_targets_from_the_hierarchy_and_open(client, db):
    org, unit, campaign = draft_campaign(db)
    child = make_unit(org, code="gl-1", name="鼓东街道", level="township", parent=unit)
    db.session.commit()
    login(client)
    setup = f"/admin/campaigns/{campaign.id}/setup"
    page = client.get(setup).get_data(as_text=True)
    assert "鼓东街道" in page and "depth-1" in page
    token = csrf_token(client, setup)
    url = f"/admin/campaigns/{campaign.id}/status/open"
    client.post(url, data={"csrf_token": token})
    db.session.refresh(campaign)
    assert campaign.status == "draft"  # no targets yet
    client.post(
        f"/admin/campaigns/{campaign.id}/targets",
        data={"csrf_token": token, "unit": [str(unit.id), str(child.id)]},
    )
    db.session.refresh(campaign)
    assert {t.unit_id for t in campaign.targets} == {unit.id, child.id}
    client.post(url, data={"csrf_token": token})
    db.session.refresh(campaign)
    assert campaign.status == "open"
    # Open: settings are locked.
    response = client.post(setup, data={"csrf_token": token, **settings_data()})
    assert response.status_code == 400
    db.session.refresh(campaign)
    assert campaign.period == "2026"


def test_targets_of_another_organization_cannot_be_picked(client, db):
    _org, _unit, campaign = draft_campaign(db)
    other = make_org(code="b", name="乙")
    foreign = make_unit(other, code="x", name="外单位")
    db.session.commit()
    login(client)
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}/setup")
    response = client.post(
        f"/admin/campaigns/{campaign.id}/targets",
        data={"csrf_token": token, "unit": [str(foreign.id)]},
    )
    assert response.status_code == 404
    db.session.refresh(campaign)
    assert campaign.targets == []


def upload_targets(client, campaign, text, name="units.csv"):
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}/setup")
    return client.post(
        f"/admin/campaigns/{campaign.id}/targets/import",
        data={"csrf_token": token, "t-file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def test_import_units_then_officials_from_csv(client, db):
    _org, _unit, campaign = draft_campaign(db)
    login(client)
    units = "代码,名称,层级,类型,上级代码\ncg,城关区,县,district,\ncg-1,城关街道,街道,street,cg\n"
    assert upload_targets(client, campaign, units).status_code == 302
    db.session.refresh(campaign)
    assert sorted(t.unit.code for t in campaign.targets) == ["cg", "cg-1"]
    child = db.session.scalars(db.select(Unit).where(Unit.code == "cg-1")).one()
    assert child.parent.code == "cg" and child.level == "township"
    officials = "所在单位代码,编号,姓名,职务,正副职\ncg,p1,王五,区长,正职\ncg,d1,赵六,副区长,副职\n"
    assert upload_targets(client, campaign, officials, "officials.csv").status_code == 302
    assert {o.name for o in db.session.scalars(db.select(Official))} == {"王五", "赵六"}


def test_a_bad_target_file_names_each_row_and_imports_nothing(client, db):
    _org, _unit, campaign = draft_campaign(db)
    login(client)
    bad = "code,name,level,type,parent\na,甲,galaxy,x,\na,乙,county,x,\nc,,county,x,zz\n"
    response = upload_targets(client, campaign, bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "row 2, level" in page and "row 3, code" in page
    assert "row 4, name" in page and "row 4, parent" in page
    assert db.session.scalars(db.select(Unit).where(Unit.code == "a")).all() == []
    response = upload_targets(client, campaign, "姓名\n张三\n")
    assert response.status_code == 400 and "row 1" in response.get_data(as_text=True)


def test_margins_are_previewed_then_saved(client, db):
    _org, _unit, campaign = draft_campaign(db)
    settings = dict(campaign.settings)
    settings["weighting"] = {"method": "none", "variables": ["sex"]}
    campaign.settings = settings
    db.session.commit()
    login(client)
    url = f"/admin/campaigns/{campaign.id}/margins-check"
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}/setup")
    csv_text = "variable,level,total\nsex,male,510\nsex,female,490\n"
    response = client.post(url, data={"csrf_token": token, "m-csv": csv_text})
    assert response.status_code == 200
    assert "51.0%" in response.get_data(as_text=True)
    db.session.refresh(campaign)
    assert "margins" not in campaign.settings["weighting"]
    bad = client.post(url, data={"csrf_token": token, "m-csv": "variable,level,total\nsex,x,1\n"})
    assert bad.status_code == 400 and "line 2" in bad.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "m-csv": csv_text, "save": "1"})
    assert response.status_code == 302
    db.session.refresh(campaign)
    assert campaign.settings["weighting"]["margins"]["sex"] == {"male": 510, "female": 490}


def test_viewers_see_monitoring_but_not_setup(client, db):
    _org, _unit, campaign = draft_campaign(db, role="viewer")
    login(client)
    assert client.get(f"/admin/campaigns/{campaign.id}/monitor").status_code == 200
    assert client.get(f"/admin/campaigns/{campaign.id}/results").status_code == 200
    assert client.get(f"/admin/campaigns/{campaign.id}/setup").status_code == 403


def cells(html: str, label: str) -> str:
    match = re.search(rf"<tr><td>{label}</td><td>(.*?)</td></tr>", html)
    return match.group(1) if match else ""


def test_monitoring_hides_every_count_below_k(client, db):
    org, campaign, _u1, _u2 = satisfaction_campaign()
    make_user(org)
    db.session.commit()
    login(client)
    html = client.get(f"/admin/campaigns/{campaign.id}/monitor").get_data(as_text=True)
    # 城关区 has 3 answers (< k = 5): hidden, and 鼓楼区 too, or 3 = total − 6.
    assert HIDDEN in cells(html, "城关区") and HIDDEN in cells(html, "鼓楼区")
    assert "<strong>9</strong>" in html  # the total of 9 is shown
    assert "<svg" in html and "<script" not in html


def test_results_show_scores_with_intervals_and_suppress_small_units(client, db):
    org, campaign, _u1, _u2 = satisfaction_campaign()
    make_user(org, role="analyst")
    publish_snapshot(campaign, "第一次发布", "req-1")
    db.session.commit()
    login(client)
    html = client.get(f"/admin/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert "鼓楼区" in html and "城关区" in html
    row = re.search(r"<td>城关区</td>(.*?)</tr>", html, re.S).group(1)
    assert HIDDEN in row and re.search(r"\d+\.\d", row) is None
    assert 'class="whisker"' in html  # 鼓楼区's confidence interval
    assert db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "campaign.results_view")
    ).one()


def test_results_before_any_snapshot(client, db):
    _org, _unit, campaign = draft_campaign(db)
    login(client)
    html = client.get(f"/admin/campaigns/{campaign.id}/results").get_data(as_text=True)
    assert "尚未发布" in html or "No scores" in html
    assert db.session.get(Campaign, campaign.id) is not None
