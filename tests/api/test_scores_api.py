"""GET /api/v1/scores, /campaigns, /targets: end to end, auth, organizations, cursors, sync."""

import pytest

from app.accounts.tokens import create_token
from app.extensions import db
from app.responses.models import Response
from app.scores.service import publish_snapshot
from tests.scores.builders import answer, political_quality_campaign, satisfaction_campaign


def bearer(org, scopes=("scores:read",), name="core"):
    token, plain = create_token(org.id, name, list(scopes))
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def published(db):
    org, campaign, u1, u2 = satisfaction_campaign()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    return org, campaign, u1, u2


def items_by_target(body):
    return {(i["target"]["type"], i["target"]["code"]): i for i in body["items"]}


def test_the_core_reads_the_published_scores(client, published):
    org, campaign, u1, u2 = published
    response = client.get("/api/v1/scores", headers=bearer(org))
    assert response.status_code == 200
    body = response.get_json()
    assert body["has_more"] is False and isinstance(body["next_cursor"], str)
    item = items_by_target(body)[("unit", "u1")]
    assert item["score"] == pytest.approx(400 / 6, abs=1e-5)
    assert item["n"] == 6 and item["kind"] == "social_satisfaction" and item["period"] == "2026-Q3"
    assert item["target"] == {
        "type": "unit",
        "id": u1.id,
        "code": "u1",
        "name": "鼓楼区",
        "category": "district",
        "level": "county",
        "title": None,
        "parent": None,
    }
    assert item["ci95"]["high"] == 100.0 and item["ci95"]["low"] < item["score"]
    assert item["rank"] == 1 and item["indicators"]["service"]["n"] == 6
    assert item["snapshot"]["version"] == 1 and item["snapshot"]["status"] == "published"
    assert item["method"]["questionnaire"]["version"] == campaign.version.label
    assert item["status"] == "current" and item["suppressed"] is False
    assert response.headers["Cache-Control"] == "no-store"


def test_a_suppressed_item_has_a_reason_and_no_figure(client, published):
    org, *_ = published
    body = client.get("/api/v1/scores", headers=bearer(org)).get_json()
    item = items_by_target(body)[("unit", "u2")]
    assert item["suppressed"] is True and "fewer than 5" in item["suppression_reason"]
    for key in ("score", "grade", "ci95", "n", "n_effective", "indicators", "details", "rank"):
        assert key not in item


def test_evaluation_items_name_the_official_and_the_rater_groups(client, db):
    org, campaign, official = political_quality_campaign()
    publish_snapshot(campaign, "first", "r1")
    db.session.commit()
    body = client.get("/api/v1/scores?target_type=official", headers=bearer(org)).get_json()
    (item,) = body["items"]
    assert item["target"]["name"] == "李明" and item["target"]["parent"]["code"] == "team"
    assert item["score"] == pytest.approx(75.0) and item["grade"] == "needs_review"
    groups = {g["group"]: g for g in item["details"]["rater_groups"]}
    assert groups["subordinate"]["status"] == "suppressed" and groups["subordinate"]["n"] is None


def test_filters(client, published):
    org, campaign, u1, u2 = published
    headers = bearer(org)

    def codes(query):
        body = client.get(f"/api/v1/scores?{query}", headers=headers).get_json()
        return sorted(i["target"]["code"] for i in body["items"])

    assert codes("period=2026-Q3") == ["u1", "u2"]
    assert codes("period=2026-Q4") == []
    assert codes("kind=social_satisfaction&target_type=unit") == ["u1", "u2"]
    assert codes("kind=hotline") == []
    assert codes(f"target_type=unit&target_id={u1.id}") == ["u1"]
    assert codes(f"campaign={campaign.id}") == ["u1", "u2"]


@pytest.mark.parametrize(
    "query, field, hint",
    [
        ("colour=red", "colour", "Valid filters: campaign, kind, limit, period, since"),
        ("kind=beauty", "kind", "social_satisfaction"),
        ("period=2026-Q5", "period", "2026-Q3"),
        ("target_type=team", "target_type", "unit"),
        ("target_id=abc", "target_id", ""),
        ("limit=0", "limit", ""),
    ],
)
def test_an_unknown_filter_or_value_is_refused_with_the_valid_ones(
    client, published, query, field, hint
):
    org, *_ = published
    response = client.get(f"/api/v1/scores?{query}", headers=bearer(org))
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["query"][field]
    assert hint in " ".join(problems)


def test_no_token_or_a_wrong_scope_is_refused(client, published):
    org, *_ = published
    assert client.get("/api/v1/scores").status_code == 401
    bad = client.get("/api/v1/scores", headers={"Authorization": "Bearer my_nonsense"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "invalid_token"
    wrong = client.get("/api/v1/scores", headers=bearer(org, ["cases:write"]))
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "insufficient_scope"
    for path in ("/api/v1/campaigns", "/api/v1/targets"):
        assert client.get(path).status_code == 401


def test_a_token_sees_only_its_organization(client, published):
    org_a, campaign_a, u1, u2 = published
    org_b, campaign_b, official = political_quality_campaign(code="org2")
    publish_snapshot(campaign_b, "first", "r1")
    db.session.commit()
    b = bearer(org_b, name="b")
    body = client.get("/api/v1/scores", headers=b).get_json()
    assert {i["campaign_id"] for i in body["items"]} == {campaign_b.id}
    assert client.get(f"/api/v1/scores?campaign={campaign_a.id}", headers=b).status_code == 403
    assert (
        client.get(f"/api/v1/scores?target_id={u1.id}&target_type=unit", headers=b).status_code
        == 403
    )
    campaigns = client.get("/api/v1/campaigns", headers=b).get_json()["items"]
    assert [c["id"] for c in campaigns] == [campaign_b.id]
    targets = client.get("/api/v1/targets", headers=b).get_json()["items"]
    assert {t["code"] for t in targets} == {"team", "o1"}
    # a cursor of organization A is refused to B, as is a forged or damaged one
    cursor_a = client.get("/api/v1/scores", headers=bearer(org_a, name="a")).get_json()[
        "next_cursor"
    ]
    for cursor in (cursor_a, "nonsense", cursor_a[:-2] + "xx"):
        response = client.get("/api/v1/scores", query_string={"since": cursor}, headers=b)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_cursor"


def test_reference_data(client, published):
    org, campaign, u1, u2 = published
    headers = bearer(org)
    (item,) = client.get("/api/v1/campaigns", headers=headers).get_json()["items"]
    assert item["id"] == campaign.id and item["kind"] == "social_satisfaction"
    assert item["snapshot"]["version"] == 1
    assert {t["code"] for t in item["targets"]} == {"u1", "u2"}
    assert client.get("/api/v1/campaigns?kind=hotline", headers=headers).get_json()["items"] == []
    units = client.get("/api/v1/targets?type=unit", headers=headers).get_json()["items"]
    assert {u["code"] for u in units} == {"u1", "u2"}
    assert client.get("/api/v1/targets?type=team", headers=headers).status_code == 422


def _sync(client, headers, state, cursor, limit=1):
    """A client as the README shows: apply every item in order, newest per key, page by page."""
    while True:
        query = {"limit": limit} | ({"since": cursor} if cursor else {})
        body = client.get("/api/v1/scores", query_string=query, headers=headers).get_json()
        for item in body["items"]:
            if item["status"] == "withdrawn":
                state.pop(item["key"], None)
            else:
                state[item["key"]] = item
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return cursor


def _newest(client, headers):
    body = client.get("/api/v1/scores", query_string={"limit": 500}, headers=headers).get_json()
    return {i["key"]: i for i in body["items"]}


def test_incremental_sync_across_republication_ends_with_the_newest_scores(client, published):
    org, campaign, u1, u2 = published
    headers = bearer(org)
    state = {}
    cursor = _sync(client, headers, state, None)
    assert {i["snapshot"]["version"] for i in state.values()} == {1}
    # nothing new: an empty page and the same position
    body = client.get("/api/v1/scores", query_string={"since": cursor}, headers=headers).get_json()
    assert body["items"] == [] and body["has_more"] is False
    # version 2: u2 passes k; version 3: u1's answers voided, so its score is withdrawn
    for _ in range(2):
        answer(campaign, u2, "no", "female")
    publish_snapshot(campaign, "late letters", "r2")
    db.session.commit()
    for response in db.session.scalars(db.select(Response).where(Response.unit_id == u1.id)):
        response.status = "void"
    publish_snapshot(campaign, "u1 voided", "r3")
    db.session.commit()
    cursor = _sync(client, headers, state, cursor)
    assert state == _newest(client, headers)
    (only,) = state.values()
    assert only["target"]["code"] == "u2" and only["snapshot"]["version"] == 3
    assert only["score"] == pytest.approx(60.0)


def test_a_republication_between_pages_still_ends_with_the_newest_scores(client, published):
    org, campaign, u1, u2 = published
    headers = bearer(org)
    first = client.get("/api/v1/scores?limit=1", headers=headers).get_json()
    assert first["has_more"] is True
    state = {first["items"][0]["key"]: first["items"][0]}
    for _ in range(2):
        answer(campaign, u2, "no", "female")
    publish_snapshot(campaign, "late letters", "r2")
    db.session.commit()
    _sync(client, headers, state, first["next_cursor"])
    assert state == _newest(client, headers)
    assert {i["snapshot"]["version"] for i in state.values()} == {2}


def test_the_docs_page_is_served_from_our_own_assets_without_inline_script(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/static/apidocs/apidocs.js" defer></script>' in html
    assert "<script>" not in html and "//" not in html.split("</head>")[0]
    assert client.get("/static/apidocs/apidocs.js").status_code == 200
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/scores", "/api/v1/campaigns", "/api/v1/targets"):
        operation = spec["paths"][path]["get"]
        assert operation["x-required-scopes"] == ["scores:read"]
        assert {"200", "401", "403", "422", "429"} <= set(operation["responses"])
    assert "400" in spec["paths"]["/api/v1/scores"]["get"]["responses"]
