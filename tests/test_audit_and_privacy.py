import io
import logging

import pytest
import yaml

from app.audit.models import AuditEvent, AuditLogIsAppendOnly
from app.audit.service import record
from app.links.service import create_invitation
from app.logs import RedactingFilter, redact_path
from app.responses.models import Response
from tests.factories import csrf_token, login, make_org, make_user, simple_definition


def test_audit_events_cannot_be_changed_or_deleted(db):
    event = record("test.action", "thing", 1, org_id=make_org().id, actor="someone")
    db.session.commit()
    event.action = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()


def test_audit_details_refuse_personal_data(db):
    with pytest.raises(ValueError, match="phone"):
        record("x", "y", actor="a", phone="13800138000")


def test_staff_actions_are_audited_and_shown_to_admins(client, db):
    org = make_org()
    make_user(org)
    db.session.commit()
    login(client)
    token = csrf_token(client, "/admin/questionnaires/import")
    client.post(
        "/admin/questionnaires/import",
        data={
            "csrf_token": token,
            "publish": "y",
            "file": (
                io.BytesIO(yaml.safe_dump(simple_definition(), allow_unicode=True).encode()),
                "q.yaml",
            ),
        },
        content_type="multipart/form-data",
    )
    version_id = db.session.scalars(db.select(AuditEvent.object_id)).one()
    client.get(f"/admin/versions/{version_id}/export.json")
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["questionnaire.import", "questionnaire.export"]
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "questionnaire.export" in page and "staff@example.org" in page


def test_a_voided_response_is_recorded_with_its_reason(client, db, campaign):
    from app.links.service import find_link, submit

    recorded = submit(
        find_link("hall"),
        {
            "choice": "good",
            "yn": "no",
            "rate": 5,
            "team": {
                "p1": {"work": "good", "clean": "good"},
                "d1": {"work": "ok", "clean": "good"},
            },
        },
        idempotency_key="k",
    )
    db.session.commit()
    from app.accounts.models import Organization

    make_user(db.session.get(Organization, campaign.org_id))
    db.session.commit()
    login(client)
    token = csrf_token(client, f"/admin/campaigns/{campaign.id}")
    client.post(
        f"/admin/campaigns/{campaign.id}/void",
        data={
            "csrf_token": token,
            "response_id": recorded.response.id,
            "reason": "同一设备连续提交",
        },
    )
    db.session.expire_all()
    assert db.session.get(Response, recorded.response.id).status == "void"
    event = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "response.void")
    ).one()
    assert event.details["reason"] == "同一设备连续提交"


def test_campaign_privacy_summary_is_public_per_link(client, db, campaign):
    page = client.get("/s/hall/privacy")
    assert page.status_code == 200
    assert "5" in page.get_data(as_text=True) and "IP" in page.get_data(as_text=True)


def test_survey_link_codes_never_reach_the_access_log(client, db, campaign, caplog):
    _, token = create_invitation(campaign, None, campaign.targets[0].unit)
    db.session.commit()
    assert redact_path(f"/s/{token}/3?x=1") == "/s/…/3?x=1"
    logger = logging.getLogger("werkzeug")
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - "%s" %s', "127.0.0.1", f"GET /s/{token} HTTP/1.1", 200)
    assert token not in caplog.text and "/s/…" in caplog.text
