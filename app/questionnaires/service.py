"""Questionnaire import, versions, publishing, export and generation."""

from sqlalchemy import select

from app.core.generator import generate_definition
from app.core.questionnaire import Problem
from app.extensions import db
from app.models_base import utcnow
from app.questionnaires.definitions import (
    DefinitionInvalid,
    checksum,
    dump_json,
    dump_yaml,
    load_definition,
)
from app.questionnaires.models import Indicator, Questionnaire, QuestionnaireVersion
from app.targets.models import Official, Unit


def get_questionnaire(org_id: int, key: str) -> Questionnaire | None:
    """The organization's questionnaire with this key, or None."""
    return db.session.scalar(
        select(Questionnaire).where(Questionnaire.org_id == org_id, Questionnaire.key == key)
    )


def add_version(org_id: int, definition: dict, source: str = "") -> QuestionnaireVersion:
    """Validate and add a new draft version (creating the questionnaire); the caller commits."""
    definition = load_definition(definition, source)
    questionnaire = get_questionnaire(org_id, definition["key"])
    if questionnaire is None:
        questionnaire = Questionnaire(
            org_id=org_id, key=definition["key"], kind=definition["kind"], title=definition["title"]
        )
        db.session.add(questionnaire)
        number = 1
    else:
        if questionnaire.kind != definition["kind"]:
            raise DefinitionInvalid(
                [Problem("kind", f"questionnaire '{questionnaire.key}' is a {questionnaire.kind}")],
                source,
            )
        questionnaire.title = definition["title"]
        number = 1 + max((v.number for v in questionnaire.versions), default=0)
    version = QuestionnaireVersion(
        questionnaire=questionnaire,
        number=number,
        status="draft",
        definition=definition,
        checksum=checksum(definition),
        source=source[:200],
    )
    db.session.add(version)
    return version


def publish_version(version: QuestionnaireVersion) -> QuestionnaireVersion:
    """Freeze a draft and record its indicator keys; the caller commits."""
    if version.status == "published":
        return version
    version.status = "published"
    version.published_at = utcnow()
    org_id = version.questionnaire.org_id
    for item in version.definition.get("indicators") or []:
        indicator = db.session.scalar(
            select(Indicator).where(Indicator.org_id == org_id, Indicator.key == item["key"])
        )
        if indicator is None:
            db.session.add(Indicator(org_id=org_id, key=item["key"], name=item["name"]))
        else:
            indicator.name = item["name"]
    return version


def import_published(org_id: int, definition: dict, source: str = "") -> QuestionnaireVersion:
    """Import a definition as a published version, reusing an identical latest version."""
    normalized = load_definition(definition, source)
    existing = get_questionnaire(org_id, normalized["key"])
    if existing is not None and existing.versions:
        latest = existing.versions[-1]
        if latest.checksum == checksum(normalized) and latest.status == "published":
            return latest
    version = add_version(org_id, normalized, source)
    db.session.flush()
    return publish_version(version)


def latest_published(questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    """The newest published version, or None."""
    published = [v for v in questionnaire.versions if v.status == "published"]
    return published[-1] if published else None


def export_version(version: QuestionnaireVersion, fmt: str = "yaml") -> str:
    """The version's definition as YAML or JSON text."""
    if fmt == "json":
        return dump_json(version.definition)
    return dump_yaml(version.definition)


def target_of_official(official: Official) -> dict:
    """A matrix target entry for an official."""
    return {
        "key": official.code,
        "label": {
            "zh": f"{official.name}（{official.title}）" if official.title else official.name
        },
        "position": official.position,
    }


def team_targets(unit: Unit) -> list[dict]:
    """The active officials of a unit's leadership team as matrix targets, principals first."""
    officials = sorted(
        (o for o in unit.officials if o.active),
        key=lambda o: (o.position != "principal", o.position != "deputy", o.code),
    )
    return [target_of_official(o) for o in officials]


def generate_for_unit(
    org_id: int, bank: dict, unit: Unit, key: str, title: dict
) -> QuestionnaireVersion:
    """Generate from a bank for a unit's team (its type picks the specific indicators); a draft."""
    targets = team_targets(unit)
    if not targets:
        raise ValueError(f"unit '{unit.code}' has no active officials to evaluate")
    definition = generate_definition(bank, unit.type, targets, key, title)
    return add_version(org_id, definition, f"generated from {bank['bank']} for {unit.code}")
