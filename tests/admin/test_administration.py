"""Users, roles and API tokens: admin only, audit-logged, a token shown once."""

import re

from app.accounts.models import ApiToken, User
from app.audit.models import AuditEvent
from tests.factories import csrf_token, login, make_org, make_user


def admin(client, db):
    org = make_org()
    make_user(org)
    colleague = make_user(org, email="c@example.org", role="viewer")
    db.session.commit()
    login(client)
    return org, colleague


def actions(db):
    return [e.action for e in db.session.scalars(db.select(AuditEvent))]


def test_create_a_user_change_role_and_deactivate(client, db):
    _org, colleague = admin(client, db)
    token = csrf_token(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "role": "designer",
            "password": "long enough pw",
        },
    )
    assert response.status_code == 302
    client.post(f"/admin/users/{colleague.id}", data={"csrf_token": token, "role": "analyst"})
    client.post(f"/admin/users/{colleague.id}", data={"csrf_token": token, "active": "0"})
    db.session.refresh(colleague)
    assert colleague.role == "analyst" and colleague.active is False
    assert {"user.create", "user.role", "user.active"} <= set(actions(db))
    me = db.session.scalars(db.select(User).where(User.email == "staff@example.org")).one()
    client.post(f"/admin/users/{me.id}", data={"csrf_token": token, "role": "viewer"})
    db.session.refresh(me)
    assert me.role == "admin"


def test_a_bad_user_form_explains_itself_and_stores_nothing(client, db):
    admin(client, db)
    token = csrf_token(client, "/admin/users")
    response = client.post(
        "/admin/users",
        data={"csrf_token": token, "email": "c@example.org", "role": "viewer", "password": "short"},
    )
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2


def test_a_token_is_shown_once_then_revoked(client, db):
    admin(client, db)
    token = csrf_token(client, "/admin/tokens")
    response = client.post(
        "/admin/tokens", data={"csrf_token": token, "name": "考核系统", "scopes": ["scores:read"]}
    )
    html = response.get_data(as_text=True)
    plain = re.search(r'id="new-token">(my_[^<]+)<', html).group(1)
    assert response.headers["Cache-Control"] == "no-store"
    assert plain not in client.get("/admin/tokens").get_data(as_text=True)
    assert all(plain not in str(e.details) for e in db.session.scalars(db.select(AuditEvent)))
    row = db.session.scalars(db.select(ApiToken)).one()
    client.post(f"/admin/tokens/{row.id}/revoke", data={"csrf_token": token})
    db.session.refresh(row)
    assert row.revoked_at is not None
    assert {"api_token.create", "api_token.revoke"} <= set(actions(db))
    bad = client.post("/admin/tokens", data={"csrf_token": token, "name": "x", "scopes": []})
    assert bad.status_code == 400


def test_designers_cannot_manage_users_or_tokens(client, db):
    org = make_org()
    make_user(org, role="designer")
    db.session.commit()
    login(client)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/tokens").status_code == 403
