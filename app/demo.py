"""The demo organization: a few units and officials and one campaign per template."""

import json
import secrets
from pathlib import Path

from sqlalchemy import select

from app.accounts.models import Organization
from app.accounts.service import create_user, get_or_create_org
from app.campaigns.service import create_from_template
from app.extensions import db
from app.links.service import add_distribution_point, create_rater_codes
from app.targets.models import Official, Unit

DEMO_ORG = "demo"
DEMO_EMAIL = "admin@demo.minyi.local"

# (code, name, English name, level, type, parent code)
UNITS = [
    ("sf", "示范省", "Demo Province", "province", "province", None),
    ("sfs", "示范市", "Demo City", "city", "city", "sf"),
    ("gl", "鼓楼区", "Gulou District", "county", "district", "sfs"),
    ("cg", "城关区", "Chengguan District", "county", "district", "sfs"),
    ("jb", "江北县", "Jiangbei County", "county", "county", "sfs"),
    ("gl-hm", "鼓楼区华门街道", "Huamen Street", "township", "street", "gl"),
    ("gl-dq", "鼓楼区东桥街道", "Dongqiao Street", "township", "street", "gl"),
    ("cg-xy", "城关区西苑街道", "Xiyuan Street", "township", "street", "cg"),
    ("jb-hx", "江北县河西镇", "Hexi Town", "township", "town", "jb"),
]

# (code, name, title, position, unit code)
OFFICIALS = [
    ("gl-1", "李明", "区委书记", "principal", "gl"),
    ("gl-2", "王芳", "区长", "deputy", "gl"),
    ("gl-3", "张伟", "常务副区长", "deputy", "gl"),
    ("gl-4", "刘洋", "区委组织部部长", "member", "gl"),
    ("cg-1", "陈静", "区委书记", "principal", "cg"),
    ("cg-2", "杨帆", "区长", "deputy", "cg"),
    ("jb-1", "赵磊", "县委书记", "principal", "jb"),
    ("jb-2", "黄丽", "县长", "deputy", "jb"),
]


def demo_credentials(instance_path: str) -> tuple[str, str]:
    """The demo staff login, generated once and kept in instance/ so every run prints the same."""
    path = Path(instance_path) / "demo-credentials.json"
    if path.exists():
        data = json.loads(path.read_text())
        return data["email"], data["password"]
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"email": DEMO_EMAIL, "password": password}))
    path.chmod(0o600)
    return DEMO_EMAIL, password


def load_demo(instance_path: str) -> Organization:
    """Create the demo organization once; a second call changes nothing. The caller commits."""
    existing = db.session.scalar(select(Organization).where(Organization.code == DEMO_ORG))
    if existing is not None:
        return existing
    org = get_or_create_org(DEMO_ORG, "示范市委组织部（演示）")
    email, password = demo_credentials(instance_path)
    create_user(org, email, password, "admin", name="演示管理员")
    units: dict[str, Unit] = {}
    for code, name, name_en, level, type_, parent in UNITS:
        units[code] = Unit(
            org_id=org.id,
            code=code,
            name=name,
            name_en=name_en,
            level=level,
            type=type_,
            parent=units.get(parent),
        )
        db.session.add(units[code])
    for code, name, title, position, unit in OFFICIALS:
        db.session.add(
            Official(
                org_id=org.id,
                unit=units[unit],
                code=code,
                name=name,
                title=title,
                position=position,
            )
        )
    db.session.flush()
    districts = [units["gl"], units["cg"], units["jb"]]
    streets = [u for u in units.values() if u.level == "township"]
    campaigns = [
        (
            "social-satisfaction",
            "2026年第四季度社会满意度评价（演示）",
            "2026-Q4",
            ["web", "qr", "sms_invite"],
            districts,
        ),
        (
            "political-quality",
            "2026年鼓楼区领导班子政治素质正反向测评（演示）",
            "2026",
            ["web", "interviewer"],
            [units["gl"]],
        ),
        (
            "democratic-evaluation",
            "2026年度鼓楼区领导班子民主测评（演示）",
            "2026",
            ["web", "interviewer"],
            [units["gl"]],
        ),
        (
            "hotline-followup",
            "2026年11月12345接诉即办回访（演示）",
            "2026-11",
            ["hotline", "sms_dialogue"],
            streets,
        ),
    ]
    made = {}
    for template, name, period, channels, targets in campaigns:
        campaign = create_from_template(
            org.id, template, name=name, period=period, channels=channels, units=targets
        )
        campaign.status = "open"
        made[template] = campaign
    db.session.flush()
    social = made["social-satisfaction"]
    add_distribution_point(social, "演示：示范市政务服务大厅海报", code="demo")
    for unit in districts:
        add_distribution_point(social, f"{unit.name}居民来信", unit=unit)
    for group in ("superior", "peer", "subordinate", "service_recipient"):
        create_rater_codes(made["political-quality"], units["gl"], group, 5)
        create_rater_codes(made["democratic-evaluation"], units["gl"], group, 5)
    # Issue 8: simulated responses (demo data, marked settings["demo"]) and a published snapshot
    # of every campaign, so GET /api/v1/scores answers with real-looking scores at once.
    from app.scores.demo import load_demo_scores

    load_demo_scores(made, units)
    return org
