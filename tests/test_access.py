"""Every staff route refuses anonymous users and users of other organizations."""

import pytest

from app.accounts.tokens import create_token
from app.campaigns.service import create_from_template
from app.scores.webhooks import create_webhook
from tests.factories import csrf_token, login, make_org, make_unit, make_user

STAFF_PREFIXES = ("/admin",)


def staff_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith(STAFF_PREFIXES)]


@pytest.fixture
def org_a_objects(db):
    org = make_org(code="a", name="甲组织部")
    unit = make_unit(org)
    campaign = create_from_template(
        org.id,
        "social-satisfaction",
        name="甲的活动",
        period="2026",
        channels=["web"],
        units=[unit],
    )
    colleague = make_user(org, email="colleague@example.org", role="designer")
    token, _plain = create_token(org.id, "甲的令牌", ["scores:read"])
    webhook, _secret = create_webhook(org.id, "https://core.example.gov.cn/a")
    db.session.commit()
    return {
        "campaign_id": campaign.id,
        "questionnaire_id": campaign.version.questionnaire_id,
        "version_id": campaign.version.id,
        "fmt": "yaml",
        "index": 0,
        "action": "up",
        "number": 1,
        "user_id": colleague.id,
        "token_id": token.id,
        "webhook_id": webhook.id,
    }


def url_for_rule(rule, values):
    missing = [a for a in rule.arguments if a not in values]
    assert not missing, f"{rule.rule}: add a value for {missing} to this test"
    url = rule.rule
    for name in rule.arguments:
        url = url.replace(f"<int:{name}>", str(values[name])).replace(
            f"<{name}>", str(values[name])
        )
    return url


def call(client, rule, url):
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    data = None
    if method != "GET":
        # Signed-in users are sent away from /login; the console layout carries a token too.
        page = "/login" if client.get("/login").status_code == 200 else "/admin/"
        data = {"csrf_token": csrf_token(client, page)}
    return client.open(url, method=method, data=data)


def test_there_are_staff_routes_to_check(app):
    assert len(staff_rules(app)) >= 8


def test_every_staff_route_refuses_anonymous_users(app, client, org_a_objects):
    for rule in staff_rules(app):
        response = call(client, rule, url_for_rule(rule, org_a_objects))
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/login"), rule.rule


def test_every_staff_route_refuses_users_of_other_organizations(app, client, db, org_a_objects):
    other = make_org(code="b", name="乙组织部")
    make_user(other, email="b@example.org", role="admin")
    db.session.commit()
    assert login(client, email="b@example.org").status_code == 302
    for rule in staff_rules(app):
        response = call(client, rule, url_for_rule(rule, org_a_objects))
        if rule.arguments - {"fmt"}:
            assert response.status_code == 404, rule.rule
        else:
            assert response.status_code in (200, 302, 400), rule.rule
            assert "甲的活动" not in response.get_data(as_text=True), rule.rule


def test_viewers_cannot_change_anything(app, client, db, org_a_objects):
    from app.accounts.models import Organization

    org = db.session.scalar(db.select(Organization).where(Organization.code == "a"))
    make_user(org, email="v@example.org", role="viewer")
    db.session.commit()
    login(client, email="v@example.org")
    for rule in staff_rules(app):
        roles = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        assert roles, f"{rule.rule} has no role check"
        status = call(client, rule, url_for_rule(rule, org_a_objects)).status_code
        assert status == (200 if "viewer" in roles else 403), rule.rule
