"""Small campaigns with hand-countable responses, for the score tests."""

from itertools import count

from app.campaigns.service import create_campaign, create_from_template
from app.extensions import db
from app.responses.service import record_response
from tests.factories import make_official, make_org, make_unit, make_version, simple_definition

_keys = count()


def satisfaction_definition():
    definition = simple_definition()
    definition["questions"] = definition["questions"] + [
        {
            "key": "sex",
            "kind": "single_choice",
            "text": {"zh": "性别"},
            "required": False,
            "options": [
                {"value": "male", "label": {"zh": "男"}},
                {"value": "female", "label": {"zh": "女"}},
            ],
        }
    ]
    return definition


def answer(campaign, unit, q1, sex=None, **options):
    answers = {"q1": q1} | ({"sex": sex} if sex else {})
    return record_response(
        campaign,
        answers,
        channel="web",
        idempotency_key=f"k{next(_keys)}",
        unit=unit,
        **options,
    ).response


def satisfaction_campaign(code="org1", unit_name="鼓楼区", settings=None):
    """u1: 4 'yes' (male) and 2 'no' (female); u2: 3 'yes' (female, under k = 5); plus a void
    and a test response in u1 that must count nowhere."""
    org = make_org(code=code, name=f"{code}组织部")
    u1 = make_unit(org, code="u1", name=unit_name)
    u2 = make_unit(org, code="u2", name="城关区")
    version = make_version(org, satisfaction_definition())
    campaign = create_campaign(
        org.id,
        version,
        name="满意度",
        period="2026-Q3",
        channels=["web"],
        units=[u1, u2],
        settings=settings or {},
    )
    campaign.status = "open"
    db.session.flush()
    for _ in range(4):
        answer(campaign, u1, "yes", "male")
    for _ in range(2):
        answer(campaign, u1, "no", "female")
    for _ in range(3):
        answer(campaign, u2, "yes", "female")
    voided = answer(campaign, u1, "no", "female")
    voided.status, voided.void_reason = "void", "stuffing"
    answer(campaign, u1, "no", "female", is_test=True)
    db.session.commit()
    return org, campaign, u1, u2


def _matrix(definition, officials, value_for):
    answers = {}
    for question in definition["questions"]:
        if question["kind"] != "matrix":
            continue
        answers[question["key"]] = {
            o.code: {item["key"]: value_for(item) for item in question["items"]} for o in officials
        }
    return answers


def political_quality_campaign(code="org1"):
    """One principal; 3 superiors answer the positive sense everywhere (100), 3 peers 'partly'
    everywhere (50), 2 subordinates (under rater_k = 3) answer the worst (0)."""
    org = make_org(code=code, name=f"{code}组织部")
    unit = make_unit(org, code="team", name="鼓楼区")
    official = make_official(org, unit, code="o1", name="李明", position="principal")
    campaign = create_from_template(
        org.id, "political-quality", name="政治素质", period="2026", channels=["web"], units=[unit]
    )
    campaign.status = "open"
    db.session.flush()
    definition = campaign.version.definition

    def best(item):
        return "no" if item.get("direction") == "negative" else "yes"

    def worst(item):
        return "yes" if item.get("direction") == "negative" else "no"

    for group, count_, value_for in (
        ("superior", 3, best),
        ("peer", 3, lambda item: "partly"),
        ("subordinate", 2, worst),
    ):
        for _ in range(count_):
            record_response(
                campaign,
                _matrix(definition, [official], value_for),
                channel="web",
                idempotency_key=f"k{next(_keys)}",
                unit=unit,
                rater_group=group,
            )
    db.session.commit()
    return org, campaign, official
