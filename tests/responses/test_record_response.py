import pytest

from app.campaigns.service import create_campaign
from app.core.questionnaire import AnswersInvalid
from app.responses.models import Answer, Response
from app.responses.service import record_response
from tests.factories import ALL_KINDS, make_official, make_org, make_unit, make_version

GOOD = {
    "choice": "good",
    "yn": "partly",
    "why": "开会太多，联系我 13800138000",
    "rate": 4,
    "multi": ["sms", "web"],
    "age": "67",
    "team": {"p1": {"work": "good", "clean": "ok"}, "d1": {"work": "dk", "clean": "bad"}},
}


@pytest.fixture
def setup(db):
    org = make_org()
    unit = make_unit(org)
    make_official(org, unit, code="p1", position="principal")
    make_official(org, unit, code="d1", name="李四", position="deputy")
    version = make_version(org, ALL_KINDS)
    campaign = create_campaign(org.id, version, "测评", "2026", ["web"], units=[unit])
    campaign.status = "open"
    db.session.commit()
    return campaign, unit


def record(setup, answers, key="k1", **kw):
    campaign, unit = setup
    kw.setdefault("unit", unit)
    return record_response(campaign, answers, channel="web", idempotency_key=key, **kw)


def test_every_question_kind_is_validated_scored_and_stored(db, setup):
    recorded = record(setup, GOOD, rater_group="peer")
    db.session.commit()
    assert recorded.created
    rows = {(a.question_key, a.target_key, a.item_key): a for a in recorded.response.answers}
    assert rows[("choice", "", "")].score == 100
    assert rows[("yn", "", "")].score == 50  # negative item: 100 - 50
    assert rows[("why", "", "")].value == "开会太多，联系我 [手机号]"
    assert rows[("rate", "", "")].score == 75  # (4 - 1) / (5 - 1) * 100
    assert rows[("multi", "", "")].value == ["sms", "web"]
    assert rows[("age", "", "")].value == 67
    assert rows[("team", "p1", "work")].score == 100
    assert rows[("team", "p1", "clean")].indicator == "integrity"
    assert rows[("team", "d1", "work")].score is None  # "don't know" is not a zero
    assert recorded.response.rater_group == "peer"


def test_a_negative_item_answered_no_scores_full(db, setup):
    answers = {**GOOD, "yn": "no"}
    del answers["why"]
    rows = {a.question_key: a for a in record(setup, answers).response.answers}
    assert rows["yn"].score == 100


def test_the_same_idempotency_key_stores_once(db, setup):
    first = record(setup, GOOD)
    db.session.commit()
    again = record(setup, {**GOOD, "choice": "bad"})
    assert not again.created and again.response.id == first.response.id
    assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1


def test_response_ids_are_random_not_sequential(db, setup):
    ids = [record(setup, GOOD, key=f"k{i}").response.id for i in range(20)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # 20 random ids come out in insertion order with probability 1/20!.
    assert ids != sorted(ids)


REJECTIONS = [
    ({"nosuch": "x"}, "answers.nosuch: no such question"),
    ({"choice": "great"}, "answers.choice: 'great' is not one of"),
    ({"choice": None}, "answers.choice: an answer is required"),
    ({"yn": "no", "why": "x"}, "answers.why: this question is skipped"),
    ({"rate": 6}, "answers.rate: must be a whole number from 1 to 5"),
    ({"rate": 2.5}, "answers.rate: must be a whole number"),
    ({"multi": ["web", "sms", "qr"]}, "answers.multi: choose at most 2"),
    ({"multi": ["fax"]}, "answers.multi: 'fax' is not an option"),
    ({"multi": "web"}, "answers.multi: must be a list"),
    ({"age": "abc"}, "answers.age: must be a number"),
    ({"age": 12}, "answers.age: must be at least 16"),
    ({"age": 30.5}, "answers.age: must be a whole number"),
    ({"why": "x" * 501}, "answers.why: must be at most 500 characters"),
    (
        {"team": {"p1": {"work": "good", "clean": "good"}}},
        "answers.team.d1: answers for this target are required",
    ),
    ({"team": {**GOOD["team"], "zz": {}}}, "answers.team.zz: no such target"),
    (
        {"team": {"p1": {"work": "good", "clean": "meh"}, "d1": GOOD["team"]["d1"]}},
        "answers.team.p1.clean: 'meh'",
    ),
    (
        {"team": {"p1": {"work": "good", "clean": "ok", "x": "good"}, "d1": GOOD["team"]["d1"]}},
        "answers.team.p1.x: no such item",
    ),
]


@pytest.mark.parametrize(("change", "message"), REJECTIONS, ids=[m for _, m in REJECTIONS])
def test_each_rejection_names_the_problem_and_stores_nothing(db, setup, change, message):
    answers = {**GOOD, **change}
    with pytest.raises(AnswersInvalid) as info:
        record(setup, answers)
    assert any(str(p).startswith(message) for p in info.value.problems), info.value.problems
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(Answer)) == 0


def test_every_problem_is_listed_at_once(db, setup):
    with pytest.raises(AnswersInvalid) as info:
        record(setup, {**GOOD, "choice": "x", "rate": 9, "nosuch": 1}, rater_group="boss")
    paths = {p.path for p in info.value.problems}
    assert {"answers.choice", "answers.rate", "answers.nosuch", "rater_group"} <= paths


def test_context_is_checked(db, setup):
    campaign, unit = setup
    from app.accounts.models import Organization

    other_unit = make_unit(db.session.get(Organization, campaign.org_id), code="u2", name="别区")
    with pytest.raises(AnswersInvalid, match="unit: not a target"):
        record(setup, GOOD, unit=other_unit)
    with pytest.raises(AnswersInvalid, match="unit: this questionnaire rates a team"):
        record(setup, GOOD, unit=None)
    with pytest.raises(AnswersInvalid, match="channel"):
        record_response(campaign, GOOD, channel="fax", idempotency_key="z", unit=unit)


def test_closed_campaign_refuses_answers_but_test_submissions_pass(db, setup):
    campaign, _ = setup
    campaign.status = "closed"
    with pytest.raises(AnswersInvalid, match="not open"):
        record(setup, GOOD)
    assert record(setup, GOOD, is_test=True).response.is_test


def test_submission_date_is_coarsened_to_the_campaign_setting(db, setup):
    from datetime import UTC, date, datetime

    campaign, _ = setup
    campaign.settings = {
        **campaign.settings,
        "anonymity": {**campaign.settings["anonymity"], "timestamp_granularity": "month"},
    }
    when = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)  # 02:30 on the 28th in Shanghai
    assert record(setup, GOOD, now=when).response.submitted_on == date(2026, 11, 1)


def test_response_tables_have_no_column_that_could_identify_a_person(db):
    forbidden = (
        "phone",
        "token",
        "invitation",
        "pseudonym",
        "ip",
        "user_agent",
        "created_at",
        "timestamp",
        "contact",
    )
    for table in ("responses", "answers"):
        columns = db.metadata.tables[table].columns.keys()
        assert not [c for c in columns if any(f in c for f in forbidden)], columns
