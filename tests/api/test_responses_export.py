"""GET /api/v1/campaigns/<id>/responses: coded rows, strata coarsening, weights, text, auth."""

import csv
import io
import json
from collections import Counter
from itertools import count

import pytest

from app.accounts.tokens import create_token
from app.campaigns.service import create_campaign
from app.extensions import db
from app.responses.models import Response
from app.responses.service import record_response
from app.scores.service import compute_scores, response_weights, set_margins
from tests.factories import make_org, make_unit, make_version, simple_definition

_keys = count()


def definition():
    d = simple_definition()

    def choice(key, values, required=False):
        return {
            "key": key,
            "kind": "single_choice",
            "text": {"zh": key},
            "required": required,
            "options": [{"value": v, "label": {"zh": v}} for v in values],
        }

    d["questions"] = d["questions"] + [
        choice("age_band", ["a18_34", "a35_59", "a60_plus"]),
        choice("sex", ["male", "female"]),
        {
            "key": "tags",
            "kind": "multiple_choice",
            "text": {"zh": "标签"},
            "required": False,
            "options": [
                {"value": "a", "label": {"zh": "甲"}},
                {"value": "b", "label": {"zh": "乙"}},
            ],
        },
        {"key": "comment", "kind": "text", "text": {"zh": "意见"}, "required": False},
    ]
    return d


def bearer(org, scopes=("responses:read",)):
    _, plain = create_token(org.id, f"analyst{next(_keys)}", list(scopes))
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def respond(campaign, unit, q1, age, sex, comment=None, tags=("a",), **options):
    answers = {"q1": q1, "age_band": age, "sex": sex, "tags": list(tags)}
    if comment:
        answers["comment"] = comment
    return record_response(
        campaign, answers, channel="web", idempotency_key=f"x{next(_keys)}", unit=unit, **options
    ).response


@pytest.fixture
def survey(db):
    return build_survey()


def build_survey():
    """u1: 6 young men (exact cell), 3+2 middle-aged women and men (coarsened by sex);
    u2: 2 old women + 3 middle-aged men (coarsened by sex and age); u3: 1 (withheld);
    plus a void and a test response that must appear nowhere. k = 5, weighted by sex."""
    org = make_org(code="org1", name="组织部")
    u1 = make_unit(org, code="u1", name="鼓楼区")
    u2 = make_unit(org, code="u2", name="城关区")
    u3 = make_unit(org, code="u3", name="新区")
    campaign = create_campaign(
        org.id,
        make_version(org, definition()),
        name="满意度",
        period="2026-Q3",
        channels=["web"],
        units=[u1, u2, u3],
        settings={"weighting": {"variables": ["sex"]}},
    )
    campaign.status = "open"
    db.session.flush()
    set_margins(campaign, "variable,level,total\nsex,male,600\nsex,female,400\n")
    for i in range(6):
        respond(campaign, u1, "yes", "a18_34", "male", "王科长态度好" if i else "=HYPERLINK(1)")
    for _ in range(3):
        respond(campaign, u1, "no", "a35_59", "female", "太慢", tags=("a", "b"))
    for _ in range(2):
        respond(campaign, u1, "no", "a35_59", "male", "一般", tags=())
    for _ in range(2):
        respond(campaign, u2, "yes", "a60_plus", "female", "孤例")
    for _ in range(3):
        respond(campaign, u2, "dk", "a35_59", "male")
    respond(campaign, u3, "yes", "a60_plus", "female", "只有我")
    voided = respond(campaign, u1, "yes", "a18_34", "male")
    voided.status, voided.void_reason = "void", "stuffing"
    respond(campaign, u1, "yes", "a18_34", "male", is_test=True)
    # Added after the answers were stored: the export scrubs again with today's patterns.
    campaign.settings = {**campaign.settings, "anonymity": {"extra_patterns": ["王科长"]}}
    db.session.commit()
    return org, campaign


def get(client, org, campaign, query=""):
    return client.get(f"/api/v1/campaigns/{campaign.id}/responses{query}", headers=bearer(org))


def test_rare_strata_are_coarsened_then_withheld(client, survey):
    org, campaign = survey
    body = get(client, org, campaign).get_json()
    cells = Counter((r["district"], r["age_band"], r["sex"], r["channel"]) for r in body["rows"])
    assert cells == {
        ("u1", "a18_34", "male", "web"): 6,
        ("u1", "a35_59", "*", "web"): 5,
        ("u2", "*", "*", "web"): 5,
    }
    assert body["withheld"] == 1
    assert body["coarsened"] == [
        {"dropped": ["sex"], "rows": 5},
        {"dropped": ["sex", "age_band"], "rows": 5},
    ]
    assert body["codebook"]["anonymity_k"] == 5


def test_void_and_test_responses_are_excluded_and_no_stored_id_leaves(client, survey):
    org, campaign = survey
    response = get(client, org, campaign)
    body = response.get_json()
    assert len(body["rows"]) + body["withheld"] == 17
    text = response.get_data(as_text=True)
    for stored in db.session.scalars(db.select(Response.id)):
        assert stored not in text
    assert [r["row"] for r in body["rows"]] == list(range(1, 17))
    for forbidden in ("submitted_on", "distribution_point_id", "rater_group", "duration_seconds"):
        assert all(forbidden not in r for r in body["rows"])
    keys = [(r["district"], r["age_band"], r["sex"]) for r in body["rows"]]
    assert keys == sorted(keys)


def test_coded_answers_match_the_codebook(client, survey):
    org, campaign = survey
    body = get(client, org, campaign).get_json()
    variables = {v["name"]: v for v in body["codebook"]["variables"]}
    assert all(set(r) == set(variables) for r in body["rows"])
    # Strata questions are strata, not answers (they would undo the coarsening).
    assert "age_band" in variables and variables["sex"]["role"] == "stratum"
    assert not any(
        v["question"] in ("sex", "age_band") for v in variables.values() if v["role"] == "answer"
    )
    assert "comment" not in variables  # free text only when asked for
    decode = {c["code"]: c["value"] for c in variables["q1"]["codes"]}
    assert Counter(decode[r["q1"]] for r in body["rows"]) == {"yes": 8, "no": 5, "dk": 3}
    assert {c["code"] for c in variables["tags.b"]["codes"]} == {0, 1}
    # An empty choice counts as not answered: null, never a made-up 0.
    assert Counter(r["tags.b"] for r in body["rows"]) == {0: 11, 1: 3, None: 2}
    assert Counter(r["tags.a"] for r in body["rows"]) == {1: 14, None: 2}


def test_weights_are_the_scores_weights(client, survey):
    org, campaign = survey
    weights, record = response_weights(campaign)
    assert record["method"] == "poststratify"
    by_sex = {}
    for response in db.session.scalars(
        db.select(Response).where(Response.status == "complete", Response.is_test.is_(False))
    ):
        sex = next(a.value for a in response.answers if a.question_key == "sex")
        by_sex.setdefault(sex, set()).add(round(weights[response.id], 12))
    assert all(len(values) == 1 for values in by_sex.values())
    male, female = by_sex["male"].pop(), by_sex["female"].pop()
    assert male != female
    # The scores use exactly these weights: u1's weighted satisfaction from them.
    u1_rows = [r for r in compute_scores(campaign).rows if r.target_type == "unit"]
    u1 = next(r for r in u1_rows if r.n == 11)
    assert u1.score == pytest.approx(100 * 6 * male / (8 * male + 3 * female), abs=1e-5)

    body = get(client, org, campaign).get_json()
    exact = [r["weight"] for r in body["rows"] if r["sex"] == "male"]
    assert exact == [pytest.approx(male, rel=1e-12)] * 6
    # A coarsened row carries its cell's mean weight, so the weight does not reveal the sex.
    pooled = [r["weight"] for r in body["rows"] if r["district"] == "u1" and r["sex"] == "*"]
    assert pooled == [pytest.approx((2 * male + 3 * female) / 5)] * 5
    assert body["codebook"]["weighting"]["method"] == "poststratify"


def test_free_text_only_when_asked_only_in_big_cells_and_scrubbed(client, survey):
    org, campaign = survey
    plain = get(client, org, campaign).get_json()
    assert all("comment" not in r for r in plain["rows"])
    body = get(client, org, campaign, "?include_text=1").get_json()
    texts = Counter(r["comment"] for r in body["rows"] if r["comment"] is not None)
    assert texts == {"[已隐去]态度好": 5, "=HYPERLINK(1)": 1}
    assert all(r["comment"] is None for r in body["rows"] if r["sex"] == "*")
    raw = json.dumps(body, ensure_ascii=False)
    for small in ("太慢", "一般", "孤例", "只有我", "王科长"):
        assert small not in raw


def test_csv_has_a_bom_and_neutralised_formulas(client, survey):
    org, campaign = survey
    response = get(client, org, campaign, "?format=csv&include_text=true")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    data = response.get_data()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:6] == ["row", "district", "age_band", "sex", "channel", "weight"]
    assert len(rows) == 17
    comments = [r[rows[0].index("comment")] for r in rows[1:]]
    assert "'=HYPERLINK(1)" in comments and "=HYPERLINK(1)" not in comments


@pytest.mark.parametrize(
    "query, field, hint",
    [
        ("?format=xml", "format", "json, csv"),
        ("?colour=red", "colour", "Valid parameters: format, include_text"),
        ("?include_text=maybe", "include_text", "use 1 or 0"),
    ],
)
def test_bad_parameters_are_refused_with_the_valid_ones(client, survey, query, field, hint):
    org, campaign = survey
    response = get(client, org, campaign, query)
    assert response.status_code == 422
    assert hint in " ".join(response.get_json()["error"]["details"]["query"][field])


def test_token_scope_and_organization(client, survey):
    org, campaign = survey
    url = f"/api/v1/campaigns/{campaign.id}/responses"
    assert client.get(url).status_code == 401
    wrong = client.get(url, headers=bearer(org, ["scores:read"]))
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "insufficient_scope"
    other = make_org(code="org2", name="别的组织部")
    foreign = client.get(url, headers=bearer(other))
    assert foreign.status_code == 403 and "rows" not in foreign.get_json()
    missing = client.get("/api/v1/campaigns/999999/responses", headers=bearer(org))
    assert missing.status_code == 403


def test_the_export_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/campaigns/{campaign_id}/responses"]
    operation = path["get"]
    assert operation["x-required-scopes"] == ["responses:read"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}
    assert {"401", "403", "422", "429"} <= set(operation["responses"])
    params = {p["name"] for p in operation["parameters"] + path.get("parameters", [])}
    assert {"format", "include_text", "campaign_id"} <= params


def test_the_export_matches_its_document(make_app):
    # Generated requests (schemathesis): no 500, every answer as documented, JSON and CSV.
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    app = make_app()  # its own database, rate limits off
    with app.app_context():
        org, campaign = build_survey()
        headers = bearer(org)
        campaign_id = campaign.id
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(
        path_regex="^/api/v1/campaigns/{campaign_id}/responses$"
    )
    (operation,) = [result.ok() for result in schema.get_all_operations()]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=30,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        if case.path_parameters and case.path_parameters.get("campaign_id", 0) % 2:
            case.path_parameters["campaign_id"] = campaign_id  # half of them hit real data
        # Unknown campaign ids are rightly refused (403) though they fit the schema.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
