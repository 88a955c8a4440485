"""Small builders for test data."""

from app.accounts.models import Organization
from app.extensions import db
from app.questionnaires.service import import_published
from app.targets.models import Official, Unit


def make_org(code="org1", name="测试组织部"):
    org = Organization(code=code, name=name)
    db.session.add(org)
    db.session.flush()
    return org


def make_unit(org, code="u1", name="鼓楼区", level="county", type_="district", parent=None):
    unit = Unit(org_id=org.id, code=code, name=name, level=level, type=type_, parent=parent)
    db.session.add(unit)
    db.session.flush()
    return unit


def make_official(org, unit, code="o1", name="张三", position="principal", title="区长"):
    official = Official(
        org_id=org.id, unit_id=unit.id, code=code, name=name, position=position, title=title
    )
    db.session.add(official)
    db.session.flush()
    return official


def simple_definition(**overrides):
    definition = {
        "format": 1,
        "key": "mini",
        "kind": "social_satisfaction",
        "title": {"zh": "小问卷", "en": "Mini"},
        "option_sets": {
            "sat": [
                {"value": "yes", "label": {"zh": "满意"}, "score": 100, "satisfied": True},
                {"value": "no", "label": {"zh": "不满意"}, "score": 0},
                {"value": "dk", "label": {"zh": "不了解"}, "scored": False},
            ]
        },
        "indicators": [{"key": "service", "name": {"zh": "服务"}, "weight": 1}],
        "questions": [
            {
                "key": "q1",
                "kind": "single_choice",
                "text": {"zh": "满意吗？"},
                "options": "sat",
                "indicator": "service",
            }
        ],
        "scoring": {"scheme": "satisfaction", "version": 1},
    }
    definition.update(overrides)
    return definition


def make_version(org, definition=None):
    version = import_published(org.id, definition or simple_definition())
    db.session.flush()
    return version


PASSWORD = "correct horse battery"


def make_user(org, email="staff@example.org", role="admin", password=PASSWORD):
    from app.accounts.service import create_user

    user = create_user(org, email, password, role)
    db.session.flush()
    return user


def csrf_token(client, path="/login"):
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email="staff@example.org", password=PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


SAT = [
    {"value": "good", "label": {"zh": "满意"}, "score": 100, "satisfied": True},
    {"value": "ok", "label": {"zh": "一般"}, "score": 50},
    {"value": "bad", "label": {"zh": "不满意"}, "score": 0},
    {"value": "dk", "label": {"zh": "不了解"}, "scored": False},
]

ALL_KINDS = {
    "format": 1,
    "key": "all-kinds",
    "kind": "political_quality",
    "title": {"zh": "全部题型"},
    "option_sets": {"sat": SAT},
    "indicators": [
        {"key": "service", "name": {"zh": "服务"}},
        {"key": "integrity", "name": {"zh": "廉洁"}},
    ],
    "questions": [
        {
            "key": "choice",
            "kind": "single_choice",
            "text": {"zh": "满意吗"},
            "options": "sat",
            "indicator": "service",
        },
        {
            "key": "yn",
            "kind": "yes_no",
            "text": {"zh": "有无形式主义"},
            "indicator": "integrity",
            "direction": "negative",
        },
        {
            "key": "why",
            "kind": "text",
            "text": {"zh": "哪些形式主义"},
            "required": False,
            "show_if": {"question": "yn", "in": ["yes", "partly"]},
        },
        {
            "key": "rate",
            "kind": "rating",
            "text": {"zh": "打分"},
            "min": 1,
            "max": 5,
            "indicator": "service",
        },
        {
            "key": "multi",
            "kind": "multiple_choice",
            "text": {"zh": "常用渠道"},
            "options": [
                {"value": "web", "label": {"zh": "网页"}},
                {"value": "sms", "label": {"zh": "短信"}},
                {"value": "qr", "label": {"zh": "扫码"}},
            ],
            "max_choices": 2,
            "required": False,
        },
        {
            "key": "age",
            "kind": "number",
            "text": {"zh": "年龄"},
            "min": 16,
            "max": 120,
            "integer": True,
            "required": False,
        },
        {
            "key": "team",
            "kind": "matrix",
            "text": {"zh": "评价班子成员"},
            "options": "sat",
            "targets": "team",
            "items": [
                {"key": "work", "text": {"zh": "工作实绩"}, "indicator": "service"},
                {"key": "clean", "text": {"zh": "廉洁"}, "indicator": "integrity"},
            ],
        },
    ],
    "scoring": {
        "scheme": "positive_negative",
        "rater_groups": [
            {"key": "superior", "label": {"zh": "上级"}, "weight": 0.5},
            {"key": "peer", "label": {"zh": "同级"}, "weight": 0.5},
        ],
    },
}


def make_all_kinds_campaign():
    """An open campaign with every question kind, a team of two officials and an open link 'hall'."""
    from app.campaigns.service import create_campaign
    from app.links.service import add_distribution_point

    org = make_org()
    unit = make_unit(org)
    make_official(org, unit, code="p1", position="principal")
    make_official(org, unit, code="d1", name="李四", position="deputy")
    version = make_version(org, ALL_KINDS)
    campaign = create_campaign(org.id, version, "测评", "2026", ["web"], units=[unit])
    campaign.status = "open"
    add_distribution_point(campaign, "鼓楼区政务服务大厅", unit=unit, code="hall")
    db.session.commit()
    return campaign
