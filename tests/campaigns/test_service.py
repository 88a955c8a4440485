from datetime import UTC, datetime

import pytest

from app.campaigns.models import Campaign
from app.campaigns.service import CampaignInvalid, create_campaign, create_from_template
from app.questionnaires.service import add_version
from tests.factories import make_org, make_unit, make_version, simple_definition


def test_campaign_from_a_template_imports_and_uses_a_published_version(db):
    org = make_org()
    unit = make_unit(org)
    campaign = create_from_template(
        org.id,
        "social-satisfaction",
        name="2026年第三季度满意度",
        period="2026-Q3",
        channels=["web", "qr", "sms_invite"],
        units=[unit],
    )
    db.session.commit()
    assert campaign.version.status == "published"
    assert campaign.kind == "social_satisfaction"
    assert campaign.settings["anonymity"]["k"] == 5
    assert [t.unit.code for t in campaign.targets] == ["u1"]


def test_campaign_settings_merge_over_defaults(db):
    org = make_org()
    campaign = create_campaign(
        org.id, make_version(org), "c", "2026-11", ["web"], settings={"anonymity": {"k": 10}}
    )
    assert campaign.settings["anonymity"] == {
        "k": 10,
        "rater_k": 3,
        "timestamp_granularity": "day",
        "retention_days": 30,
    }


def test_every_bad_field_is_reported_and_nothing_is_added(db):
    org = make_org()
    other = make_org(code="org2")
    draft = add_version(org.id, simple_definition())
    db.session.flush()
    with pytest.raises(CampaignInvalid) as info:
        create_campaign(
            org.id,
            draft,
            " ",
            "2026-Q5",
            ["web", "fax"],
            units=[make_unit(other, code="x")],
            opens_at=datetime(2026, 12, 1, tzinfo=UTC),
            closes_at=datetime(2026, 11, 1, tzinfo=UTC),
            settings={"anonymity": {"k": 0}},
        )
    assert set(info.value.problems) == {
        "name",
        "period",
        "channels",
        "questionnaire",
        "targets",
        "closes_at",
        "settings.anonymity.k",
    }
    assert db.session.scalars(db.select(Campaign)).all() == []


def test_unknown_template_is_a_clear_error(db):
    org = make_org()
    with pytest.raises(CampaignInvalid, match="no template 'nope'"):
        create_from_template(org.id, "nope", name="c", period="2026", channels=["web"])


def test_a_bad_scrub_pattern_is_refused_when_the_campaign_is_made(db):
    org = make_org()
    with pytest.raises(CampaignInvalid) as info:
        create_campaign(
            org.id,
            make_version(org),
            "c",
            "2026",
            ["web"],
            settings={"anonymity": {"extra_patterns": ["张[三"]}},
        )
    assert "张[三" in info.value.problems["settings.anonymity.extra_patterns"]
    ok = create_campaign(
        org.id,
        make_version(org),
        "c",
        "2026",
        ["web"],
        settings={"anonymity": {"extra_patterns": ["张三"]}},
    )
    assert ok.settings["anonymity"]["extra_patterns"] == ["张三"]
