"""The collection endpoints under generated requests: never a 500, never a partial write.

schemathesis generates requests to /api/v1/links/{code}, /api/v1/links/{code}/responses and
/api/v1/hotline/cases from /api/v1/openapi.json (driven by hypothesis directly: its pytest plugin
does not run under pytest 9), and hypothesis generates answer payloads for the all-kinds survey.
After every request that is not a 2xx, the response, answer, case and contact tables are exactly
as they were.
"""

from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from hypothesis import example, given
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)
from sqlalchemy import func, select

from app.accounts.tokens import create_token
from app.campaigns.service import create_from_template
from app.extensions import db
from app.links.models import Link
from app.responses.models import Answer, Response
from app.sms.models import HotlineCase, SmsContact, SmsConversation
from tests.factories import make_all_kinds_campaign, make_org, make_unit
from tests.hostile.conftest import hostile

PATHS = "^/api/v1/(links/.*|hotline/cases)$"
# Header values a client can send (HTTP forbids control characters and edge whitespace).
HEADER_VALUES = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=210)
WATCHED = (Response, Answer, HotlineCase, SmsContact, SmsConversation)


def counts() -> dict:
    db.session.rollback()  # a fresh snapshot, whatever the request left behind
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in WATCHED
    }


@pytest.fixture
def collection(make_app):
    """Its own app (rate limits off): the all-kinds campaign with link 'hall', a hotline campaign."""
    app = make_app()
    with app.app_context():
        make_all_kinds_campaign()
        org = make_org(code="bj", name="北京市委组织部")
        street = make_unit(org, code="gl-hx", name="华侨路街道", level="township", type_="street")
        hotline = create_from_template(
            org.id,
            "hotline-followup",
            name="12345回访",
            period="2026",
            channels=["hotline", "sms_dialogue"],
            units=[street],
        )
        hotline.status = "open"
        _, token = create_token(org.id, "12345", ["cases:write"])
        db.session.commit()
    return app, token


def _fuzz(operation, token: str) -> None:
    """Generated requests to one operation: no 500, valid answers, no write when refused."""

    @hostile(50)
    @given(case=operation.as_strategy(), data=st.data())
    def check(case, data):
        headers = {"Authorization": f"Bearer {token}"}
        # Token checks are tests/api/test_auth.py's job (schemathesis takes a token passed
        # here for a generated one); a case whose body we steer below no longer matches
        # what schemathesis generated it as, so its negative-data verdict is moot.
        excluded = [positive_data_acceptance, ignored_auth]
        if "code" in (case.path_parameters or {}) and data.draw(st.booleans()):
            case.path_parameters["code"] = "hall"  # the real link, not only 404s
        if operation.path == "/api/v1/hotline/cases" and isinstance(case.body, dict):
            if data.draw(st.booleans()):
                excluded.append(negative_data_rejection)
                case.body["unit_code"] = "gl-hx"
                case.body["phone"] = data.draw(
                    st.sampled_from(["13800138000", "+86 139 1234 5678", "1"])
                )
            if data.draw(st.booleans()):
                excluded.append(negative_data_rejection)
                case.body["handled_at"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        if operation.path.endswith("/responses"):
            headers["Idempotency-Key"] = data.draw(HEADER_VALUES)
        before = counts()
        response = case.call(headers=headers)
        # positive_data_acceptance cannot hold: a schema-valid code is usually no link,
        # schema-valid answers usually do not fit the questionnaire.
        case.validate_response(response, excluded_checks=excluded)
        assert response.status_code < 500, response.text
        if response.status_code >= 300:
            assert counts() == before

    check()


def test_collection_endpoints_match_their_document_and_never_fail(collection):
    app, token = collection
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(f"{op.method.upper()} {op.path}" for op in operations) == [
        "GET /api/v1/links/{code}",
        "POST /api/v1/hotline/cases",
        "POST /api/v1/links/{code}/responses",
    ]
    with app.app_context():
        for operation in operations:
            _fuzz(operation, token)


# --- hypothesis-generated answer payloads for the all-kinds survey -------------------------------

KEYS = ["choice", "yn", "why", "rate", "multi", "age", "team", "unknown", "", "__proto__"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "good",
            "ok",
            "bad",
            "yes",
            "no",
            "partly",
            "web",
            "sms",
            "3",
            "5.0",
            "NaN",
            "1e309",
            "a\x00b",
            "\ud800",
            "13800138000",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["p1", "d1", "work", "clean", "x"]) | st.text(max_size=4),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=10,
)
VALID = {
    "choice": "good",
    "yn": "no",
    "rate": 4,
    "team": {"p1": {"work": "good", "clean": "ok"}, "d1": {"work": "ok", "clean": "good"}},
}
BODIES = st.one_of(
    st.fixed_dictionaries(
        {
            "answers": st.dictionaries(
                st.sampled_from(KEYS) | st.text(max_size=8), VALUES, max_size=8
            )
        }
    ),
    # a valid response with one answer spoiled or added
    st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: {"answers": {**VALID, kv[0]: kv[1]}}),
    st.fixed_dictionaries({"answers": st.just(VALID), "duration_seconds": SCALARS}),
    # free text (kept after scrubbing) with NULs, lone surrogates, control and huge strings
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(["\x00", "a\x00", "x" * 5000, "\ud800", "\udc00x", "\u202e"]),
    ).map(lambda text: {"answers": {**VALID, "yn": "yes", "why": text}}),
    VALUES.map(lambda v: {"answers": v}),
    VALUES,
)


def test_generated_answer_payloads_are_stored_whole_or_not_at_all(client, campaign):
    seen = {}

    @hostile(120)
    @given(body=BODIES, key=st.sampled_from(["k1", "k2", "k3"]) | HEADER_VALUES.filter(bool))
    def check(body, key):
        before = counts()
        response = client.post(
            "/api/v1/links/hall/responses", json=body, headers={"Idempotency-Key": key}
        )
        assert response.status_code in (201, 400, 409, 410, 413, 422), response.get_data(
            as_text=True
        )
        after = counts()
        if response.status_code != 201:
            assert after == before
            assert response.get_json()["error"]["code"]
            return
        stored = after["responses"] - before["responses"]
        receipt = response.get_json()["receipt"]
        if key.strip() in seen:
            assert stored == 0 and receipt == seen[key.strip()]  # a retry stores nothing new
        else:
            assert stored == 1
            seen[key.strip()] = receipt

    check()
    # Nothing half-written: every stored response has its answers.
    db.session.rollback()
    orphans = db.session.scalar(
        select(func.count()).select_from(Response).where(~Response.answers.any())
    )
    assert orphans == 0
    assert db.session.get(Link, db.session.scalar(select(Link.id).where(Link.code == "hall")))


# --- hotline intake on the shared database (PostgreSQL under TEST_DATABASE_URL) ------------------

ODD_TEXT = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["gl-hx", "gl-hx\x00", "\x00", "\ud800", "BJ-1", "x" * 101, " ", "'; DROP TABLE x"]
    ),
)
ODD_TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-02-30T00:00:00Z",
            "now",
            "",
        ]
    ),
    st.just(None).map(lambda _: (datetime.now(UTC) - timedelta(hours=2)).isoformat()),
)


def test_generated_hotline_cases_never_fail_or_half_write(client, hotline_campaign):
    from app.accounts.tokens import create_token as make_token

    _, token = make_token(hotline_campaign.org_id, "12345", ["cases:write"])
    db.session.commit()

    @hostile(80)
    @example(
        body={
            "case_ref": "y1",
            "phone": "13800138000",
            "unit_code": "gl-hx",
            "handled_at": "0001-01-01T00:00:00+14:00",
        }
    )
    @example(
        body={
            "case_ref": "\x00",
            "phone": "13800138000",
            "unit_code": "gl-hx\x00",
            "handled_at": "2026-01-01T00:00:00Z",
        }
    )
    @given(
        body=st.fixed_dictionaries(
            {"case_ref": ODD_TEXT, "unit_code": ODD_TEXT, "handled_at": ODD_TIMES},
            optional={
                "phone": st.sampled_from(["13800138000", "+86 139 1234 5678", "\x00138", "1" * 40])
                | ODD_TEXT,
                "campaign_id": st.integers(min_value=-(2**70), max_value=2**70)
                | st.just(hotline_campaign.id),
            },
        )
    )
    def check(body):
        before = counts()
        response = client.post(
            "/api/v1/hotline/cases", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code in (200, 201, 400, 422), response.get_data(as_text=True)
        if response.status_code >= 300:
            assert counts() == before

    check()
