from app import create_app
from app.accounts.service import authenticate
from tests.factories import PASSWORD, csrf_token, login, make_org, make_user


def test_staff_can_log_in_and_out(client, db):
    make_user(make_org())
    db.session.commit()
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    token = csrf_token(client, "/admin/")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/admin/").status_code == 302


def test_wrong_email_and_wrong_password_get_the_same_generic_message(client, db):
    make_user(make_org())
    db.session.commit()
    wrong_password = login(client, password="wrong password!!").get_data(as_text=True)
    wrong_email = login(client, email="nobody@example.org").get_data(as_text=True)
    assert "邮箱或密码错误" in wrong_password and "邮箱或密码错误" in wrong_email
    assert "nobody@example.org" not in wrong_email.split("<form")[0]


def test_passwords_are_stored_hashed_with_argon2(db):
    user = make_user(make_org())
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert authenticate("STAFF@example.org ", PASSWORD) is user


def test_inactive_user_cannot_log_in(client, db):
    user = make_user(make_org())
    user.active = False
    db.session.commit()
    assert login(client).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_login_without_csrf_token_is_a_400_page(client, db):
    make_user(make_org())
    db.session.commit()
    response = client.post("/login", data={"email": "staff@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "表单已过期" in response.get_data(as_text=True)


def test_login_does_not_redirect_off_site(client, db):
    make_user(make_org())
    db.session.commit()
    token = csrf_token(client)
    response = client.post(
        "/login?next=//evil.example/x",
        data={"email": "staff@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/"


def test_login_is_throttled(tmp_path):
    from app.extensions import limiter

    saved = (limiter.enabled, limiter.initialized)  # one limiter object serves every app
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 't.db'}",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with app.app_context():
        from app.extensions import db

        db.create_all()
        client = app.test_client()
        codes = [
            client.post("/login", data={"email": "a@b.cn", "password": "x" * 12}).status_code
            for _ in range(12)
        ]
        last = client.post("/login", data={"email": "a@b.cn", "password": "x" * 12})
        db.session.remove()
    limiter.enabled, limiter.initialized = saved
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429, 429]
    assert "请求过于频繁" in last.get_data(as_text=True)
    assert int(last.headers["Retry-After"]) > 0


def test_create_admin_command_needs_no_prompt(runner, db):
    result = runner.invoke(
        args=[
            "create-admin",
            "--email",
            "Boss@Example.org",
            "--password",
            PASSWORD,
            "--org",
            "neworg",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "admin boss@example.org" in result.output
    assert authenticate("boss@example.org", PASSWORD).organization.code == "neworg"


def test_create_admin_refuses_a_short_password(runner, db):
    result = runner.invoke(
        args=["create-admin", "--email", "a@b.cn", "--password", "short", "--org", "o"]
    )
    assert result.exit_code != 0 and "at least 10 characters" in result.output
