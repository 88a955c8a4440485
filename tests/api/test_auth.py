"""Bearer tokens on the API: 401, 403, organizations kept apart, rate limits."""

from datetime import timedelta

from app.accounts.tokens import create_token, revoke_token
from app.extensions import db as _db
from app.models_base import utcnow
from tests.factories import make_org


def _token(db, org, name="core", scopes=("scores:read",)):
    token, plain = create_token(org.id, name, scopes)
    db.session.commit()
    return token, plain


def _bearer(plain):
    return {"Authorization": f"Bearer {plain}"}


def _assert_401(response, code):
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Minyi API"')
    error = response.get_json()["error"]
    assert error["status"] == 401 and error["code"] == code and error["message"]
    return error


def test_me_without_a_token_is_401(client):
    _assert_401(client.get("/api/v1/me"), "missing_token")
    _assert_401(
        client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="}), "missing_token"
    )


def test_me_with_a_bad_token_is_401_and_does_not_echo_it(client):
    bad = "my_" + "A" * 43
    response = client.get("/api/v1/me", headers=_bearer(bad))
    _assert_401(response, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert bad.encode() not in response.data and b"AAAA" not in response.data


def test_revoked_token_is_401(client, db):
    org = make_org()
    token, plain = _token(db, org)
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200
    revoke_token(token)
    db.session.commit()
    _assert_401(client.get("/api/v1/me", headers=_bearer(plain)), "invalid_token")


def test_me_answers_the_token_organization_name_and_scopes(client, db):
    org_a = make_org(code="orga", name="甲组织部")
    org_b = make_org(code="orgb", name="乙组织部")
    _, plain_a = _token(db, org_a, "assessment core", ["scores:read", "cases:write"])
    _, plain_b = _token(db, org_b, "assessment core", ["scores:read"])
    response = client.get("/api/v1/me", headers=_bearer(plain_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["organization"] == {"code": "orga", "name": "甲组织部"}
    assert body["token"]["name"] == "assessment core"
    assert body["token"]["scopes"] == ["cases:write", "scores:read"]
    assert plain_a.startswith(body["token"]["prefix"])
    assert plain_a not in response.get_data(as_text=True)
    assert (
        client.get("/api/v1/me", headers=_bearer(plain_b)).get_json()["organization"]["code"]
        == "orgb"
    )


def test_wrong_scope_is_403_naming_the_missing_scope(make_app):
    app = make_app()
    with app.app_context():
        org = make_org()
        _, plain = create_token(org.id, "reader", ["scores:read"])
        _db.session.commit()
    response = app.test_client().post(
        "/api/v1/test/echo", json={"name": "x"}, headers=_bearer(plain)
    )
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_scope"
    assert error["details"]["missing_scopes"] == ["cases:write"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_authentication_comes_before_body_validation(make_app):
    app = make_app()
    response = app.test_client().post(
        "/api/v1/test/echo", data="{not json", content_type="application/json"
    )
    assert response.status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(client, db):
    from app.accounts.models import ApiToken

    org = make_org()
    token, plain = _token(db, org)
    assert token.last_used_at is None
    client.get("/api/v1/me", headers=_bearer(plain))
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id).last_used_at
    assert first is not None
    client.get("/api/v1/me", headers=_bearer(plain))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == first
    db.session.get(ApiToken, token.id).last_used_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    client.get("/api/v1/me", headers=_bearer(plain))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at.replace(tzinfo=None) > first.replace(
        tzinfo=None
    )


def test_too_many_requests_is_a_json_429_with_retry_after(make_app):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
    with app.app_context():
        org = make_org()
        _, plain_a = create_token(org.id, "a", ["scores:read"])
        _, plain_b = create_token(org.id, "b", ["scores:read"])
        _db.session.commit()
    client = app.test_client()
    # The budget is per token and shared by every API endpoint.
    assert client.get("/api/v1/me", headers=_bearer(plain_a)).status_code == 200
    assert client.get("/api/v1/ping", headers=_bearer(plain_a)).status_code == 200
    response = client.get("/api/v1/me", headers=_bearer(plain_a))
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["status"] == 429 and error["code"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert plain_a.encode() not in response.data
    # Another token, and callers without one, have budgets of their own.
    assert client.get("/api/v1/me", headers=_bearer(plain_b)).status_code == 200
    assert client.get("/api/v1/ping").status_code == 200
