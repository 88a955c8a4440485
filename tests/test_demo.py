from app.accounts.models import Organization
from app.accounts.service import authenticate
from app.campaigns.models import Campaign


def test_demo_loads_once_with_one_open_campaign_per_template(runner, db, app, tmp_path):
    app.instance_path, original = str(tmp_path), app.instance_path
    try:
        first = runner.invoke(args=["demo", "--if-empty"])
        second = runner.invoke(args=["demo", "--if-empty"])
    finally:
        app.instance_path = original
    assert first.exit_code == 0, first.output
    line = first.output.strip().splitlines()[-1]
    assert line.startswith(
        "Staff login: http://127.0.0.1:5000/login user=admin@demo.minyi.local password="
    )
    assert second.output.strip().splitlines()[-1] == line  # the same credentials every run
    password = line.rsplit("password=", 1)[1]
    assert authenticate("admin@demo.minyi.local", password).organization.code == "demo"
    assert len(db.session.scalars(db.select(Organization)).all()) == 1
    campaigns = db.session.scalars(db.select(Campaign)).all()
    assert sorted(c.kind for c in campaigns) == [
        "democratic_evaluation",
        "hotline",
        "political_quality",
        "social_satisfaction",
    ]
    assert {c.status for c in campaigns} == {"open"}


def test_demo_campaigns_accept_answers(db, app, tmp_path):
    from app.demo import load_demo
    from app.responses.service import record_response

    load_demo(str(tmp_path))
    db.session.commit()
    hotline = db.session.scalars(db.select(Campaign).where(Campaign.kind == "hotline")).one()
    definition = hotline.version.definition
    answers = {q["key"]: _first_value(definition, q) for q in definition["questions"]}
    recorded = record_response(hotline, answers, channel="sms", idempotency_key="demo-1")
    assert recorded.created


def _first_value(definition, question):
    options = question["options"]
    if isinstance(options, str):
        options = definition["option_sets"][options]
    return options[0]["value"]
