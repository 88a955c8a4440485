"""Contract tests: schemathesis generates requests to the score endpoints from /api/v1/openapi.json;
no request may get a 500 and every answer must match the document."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.accounts.models import ApiToken
from app.accounts.tokens import hash_token
from app.extensions import db
from app.scores.service import publish_snapshot
from tests.scores.builders import political_quality_campaign, satisfaction_campaign

TOKEN = "my_contract-test-token-0123456789abcdefghijkl"  # noqa: S105 - a test token
PATHS = "^/api/v1/(scores|campaigns|targets)$"


@pytest.fixture
def scores_schema(make_app):
    # make_app: its own database, rate limits off, so generated requests are never throttled
    app = make_app()
    with app.app_context():
        org, campaign, *_ = satisfaction_campaign()
        publish_snapshot(campaign, "first", "r1")
        other, evaluation, _ = political_quality_campaign(code="org2")
        publish_snapshot(evaluation, "first", "r1")
        db.session.add(
            ApiToken(
                org_id=org.id,
                name="contract",
                token_hash=hash_token(TOKEN),
                prefix=TOKEN[:11],
                scopes=["scores:read"],
            )
        )
        db.session.commit()
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(path_regex=PATHS)


def test_score_endpoints_match_their_document(scores_schema):
    # Hypothesis driven directly (schemathesis' pytest plugin does not run under pytest 9):
    # derandomized, so every run sends the same requests.
    operations = [result.ok() for result in scores_schema.get_all_operations()]
    assert sorted(op.path for op in operations) == [
        "/api/v1/campaigns",
        "/api/v1/scores",
        "/api/v1/targets",
    ]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            # A cursor is an opaque signed value that no schema can describe: a generated one is
            # rightly refused (400), so "schema-valid data is accepted" cannot hold for since=.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()
