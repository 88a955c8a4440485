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
