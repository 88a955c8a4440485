import json

from app.accounts.tokens import create_token
from app.responses.models import Response

GOOD = {
    "choice": "good",
    "yn": "no",
    "rate": 5,
    "team": {"p1": {"work": "good", "clean": "good"}, "d1": {"work": "ok", "clean": "good"}},
}


def post(client, code, body, key="key-1", token=None, raw=None):
    headers = {"Idempotency-Key": key} if key else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(
        f"/api/v1/links/{code}/responses",
        data=raw if raw is not None else json.dumps(body),
        headers=headers,
        content_type="application/json",
    )


def count(db):
    return db.session.scalar(db.select(db.func.count()).select_from(Response))


def test_get_the_questionnaire_with_team_targets_resolved(client, db, campaign):
    body = client.get("/api/v1/links/hall").get_json()
    questions = {q["key"]: q for q in body["questions"]}
    assert [t["key"] for t in questions["team"]["targets"]] == ["p1", "d1"]
    assert {o["value"] for o in questions["choice"]["options"]} == {"good", "ok", "bad", "dk"}
    assert questions["why"]["show_if"] == {"question": "yn", "in": ["yes", "partly"]}


def test_submit_returns_a_receipt_and_a_retry_returns_the_same(client, db, campaign):
    first = post(client, "hall", {"answers": GOOD})
    assert first.status_code == 201, first.get_json()
    again = post(client, "hall", {"answers": GOOD})
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert count(db) == 1
    assert db.session.scalars(db.select(Response)).one().channel == "api"


def test_invalid_answers_list_every_problem_and_store_nothing(client, db, campaign):
    response = post(client, "hall", {"answers": {**GOOD, "choice": "great", "rate": 0}})
    assert response.status_code == 422
    paths = {p["path"] for p in response.get_json()["error"]["details"]["problems"]}
    assert {"answers.choice", "answers.rate"} <= paths
    assert count(db) == 0


def test_missing_idempotency_key_malformed_and_oversized_bodies(client, db, campaign):
    assert post(client, "hall", {"answers": GOOD}, key=None).status_code == 400
    malformed = post(client, "hall", None, raw="{not json")
    assert malformed.status_code == 400 and "error" in malformed.get_json()
    huge = post(client, "hall", None, raw=json.dumps({"answers": {"x": "y" * 300_000}}))
    assert huge.status_code == 413
    assert count(db) == 0


def test_unknown_code_is_404_json(client, db, campaign):
    response = client.get("/api/v1/links/nope")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_link"


def test_closed_campaign_is_410_with_the_reason(client, db, campaign):
    campaign.status = "closed"
    db.session.commit()
    response = post(client, "hall", {"answers": GOOD})
    assert (
        response.status_code == 410
        and response.get_json()["error"]["details"]["reason"] == "closed"
    )


def test_an_interviewer_token_marks_the_channel(client, db, campaign):
    _, token = create_token(campaign.org_id, "tablet-1", ["responses:write"])
    db.session.commit()
    assert post(client, "hall", {"answers": GOOD}, token=token).status_code == 201
    assert db.session.scalars(db.select(Response)).one().channel == "interviewer"


def test_link_endpoints_are_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/links/{code}" in paths and "/api/v1/links/{code}/responses" in paths
