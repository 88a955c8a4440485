"""Headers, cookies, body limits and database outages answered as a person or a client expects."""

from sqlalchemy.exc import OperationalError

from tests.factories import login, make_org, make_user


def test_every_page_kind_has_the_security_headers(client, db, campaign):
    for path in ("/", "/login", "/s/hall", "/api/v1/ping", "/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp and headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path


def test_hsts_only_behind_tls(client, db):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://minyi.example.gov.cn")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_session_cookie_is_httponly_and_samesite(client, db):
    make_user(make_org())
    db.session.commit()
    response = login(client)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(tmp_path):
    from app.config import load_config

    cfg = load_config(
        tmp_path,
        {
            "MINYI_ENV": "production",
            "SECRET_KEY": "s",
            "RESPONDENT_KEY_SECRET": "r",
            "CONTACT_ENCRYPTION_KEYS": "k",
        },
    )
    assert cfg["SESSION_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_SECURE"]


def test_oversized_bodies_get_413_html_and_json(client, db, campaign):
    big = b"x" * (33 * 1024 * 1024)
    page = client.post("/s/hall/1", data=big, content_type="application/octet-stream")
    assert page.status_code == 413
    api = client.post(
        "/api/v1/links/hall/responses",
        data=big,
        content_type="application/json",
        headers={"Idempotency-Key": "k"},
    )
    assert api.status_code == 413 and api.get_json()["error"]["status"] == 413


def test_a_database_outage_is_a_503_that_says_retry(client, db, campaign, monkeypatch):
    import app.links.service as links

    def down(code):
        raise OperationalError(
            "SELECT 1", {}, Exception("server closed the connection unexpectedly")
        )

    monkeypatch.setattr(links, "find_link", down)
    monkeypatch.setattr("app.api.links.find_link", down)
    monkeypatch.setattr("app.channels.web.find_link", down)
    page = client.get("/s/hall")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    api = client.post(
        "/api/v1/links/hall/responses", json={"answers": {}}, headers={"Idempotency-Key": "k"}
    )
    assert api.status_code == 503
    body = api.get_json()["error"]
    assert "Idempotency-Key" in body["message"] and "server closed" not in str(body)


def test_an_unhandled_error_logs_where_not_what(client, db, campaign, monkeypatch, caplog):
    import logging

    phone = "+86" + "138" + "0013" + "8000"  # built at run time, as data would be

    def broken(code):
        raise RuntimeError(f"could not match {phone}")

    monkeypatch.setattr("app.channels.web.find_link", broken)
    with caplog.at_level(logging.ERROR):
        page = client.get("/s/hall")
    assert page.status_code == 500 and "13800138000" not in page.get_data(as_text=True)
    assert (
        "builtins.RuntimeError" in caplog.text
        and "find_link" not in caplog.text
        or "web.py" in caplog.text
    )
    assert "13800138000" not in caplog.text
