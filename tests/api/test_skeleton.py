"""The API skeleton: OpenAPI document, one JSON error shape, CSRF exemption."""

from app.accounts.tokens import create_token
from app.extensions import db as _db
from tests.factories import make_org


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _assert_error_shape(response, status, code=None):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"status", "code", "message", "details"}
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    if code is not None:
        assert error["code"] == code
    return error


def test_openapi_document_is_served_and_complete(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "Minyi API" and spec["info"]["version"] == "v1"
    assert {"/api/v1/ping", "/api/v1/me"} <= set(spec["paths"])
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    me = spec["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "429"} <= set(me["responses"])
    assert "security" not in spec["paths"]["/api/v1/ping"]["get"]
    # The documented error body is ours, and every reference resolves inside the document.
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error"}
    for ref in _refs(spec):
        assert ref.startswith("#/")
        node = spec
        for part in ref[2:].split("/"):
            assert part in node, ref
            node = node[part]


def test_no_swagger_ui_from_a_cdn(client):
    assert client.get("/api/v1/swagger-ui").status_code == 404
    assert client.get("/api/v1/redoc").status_code == 404


def test_ping_needs_no_token(client):
    response = client.get("/api/v1/ping")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "api_version": "v1"}
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_api_path_is_a_json_404(client):
    _assert_error_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_error_shape(client.post("/api/nothing/here", json={}), 404, "not_found")


def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/v1/ping")
    _assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_body_is_a_400_naming_the_problem(make_app):
    app = make_app()
    with app.app_context():
        org = make_org()
        _, plain = create_token(org.id, "hotline", ["cases:write"])
        _db.session.commit()
    client = app.test_client()
    response = client.post(
        "/api/v1/test/echo",
        data='{"name": "x",,}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {plain}"},
    )
    error = _assert_error_shape(response, 400, "bad_request")
    assert "Malformed JSON body" in error["message"] and "line 1" in error["message"]
    assert error["details"] == {"json": ["Invalid JSON body."]}


def test_validation_errors_are_a_422_with_field_details(make_app):
    app = make_app()
    with app.app_context():
        org = make_org()
        _, plain = create_token(org.id, "hotline", ["cases:write"])
        _db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {plain}"}
    response = client.post("/api/v1/test/echo", json={"nom": 1}, headers=auth)
    error = _assert_error_shape(response, 422, "unprocessable_entity")
    assert error["details"]["json"]["name"] == ["Missing data for required field."]
    # A token-authenticated POST needs no CSRF token (WTF_CSRF_ENABLED is on in this app).
    ok = client.post("/api/v1/test/echo", json={"name": "x"}, headers=auth)
    assert ok.status_code == 200 and ok.get_json() == {"name": "x"}


def test_server_errors_are_json_and_reveal_nothing(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().get("/api/v1/test/boom")
    error = _assert_error_shape(response, 500, "internal_server_error")
    assert error["message"] == "Internal server error."
    assert b"secret internals" not in response.data and b"my_" not in response.data
