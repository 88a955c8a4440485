"""Creating and reading campaigns."""

import copy
from datetime import datetime

from sqlalchemy import select

from app.campaigns.models import CHANNELS, Campaign, CampaignTarget
from app.core.anonymize import scrub
from app.core.periods import period_bounds
from app.extensions import db
from app.questionnaires.models import QuestionnaireVersion
from app.questionnaires.service import import_published
from app.questionnaires.templates import load_template
from app.targets.models import Official, Unit

DEFAULT_SETTINGS = {
    "anonymity": {
        "k": 5,  # smallest group shown on its own
        "rater_k": 3,  # smallest rater group of an evaluation
        "timestamp_granularity": "day",
        "retention_days": 30,  # contact data is purged this long after the campaign closes
    },
    "weighting": {"method": "none", "variables": []},
}


class CampaignInvalid(ValueError):
    """A campaign cannot be created as asked; .problems lists each reason with its field."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


def _merge(defaults: dict, given: dict) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in (given or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def create_campaign(
    org_id: int,
    version: QuestionnaireVersion,
    name: str,
    period: str,
    channels: list[str],
    units: list[Unit] = (),
    officials: list[Official] = (),
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    settings: dict | None = None,
) -> Campaign:
    """Check every field, then add a draft campaign; the caller commits."""
    problems: dict[str, str] = {}
    if not (name or "").strip():
        problems["name"] = "a name is required"
    try:
        period_bounds(period)
    except ValueError as exc:
        problems["period"] = str(exc)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        problems["channels"] = f"choose from {', '.join(CHANNELS)}" + (
            f" (unknown: {', '.join(unknown)})" if unknown else ""
        )
    if version.status != "published":
        problems["questionnaire"] = "only a published questionnaire version can be used"
    if version.questionnaire.org_id != org_id:
        problems["questionnaire"] = "not a questionnaire of this organization"
    if any(t.org_id != org_id for t in [*units, *officials]):
        problems["targets"] = "every target must belong to this organization"
    if opens_at and closes_at and closes_at <= opens_at:
        problems["closes_at"] = "must be after the opening time"
    merged = _merge(DEFAULT_SETTINGS, settings or {})
    anonymity = merged["anonymity"]
    for key in ("k", "rater_k"):
        if not isinstance(anonymity.get(key), int) or anonymity[key] < 1:
            problems[f"settings.anonymity.{key}"] = "must be a whole number of at least 1"
    try:
        # A bad staff pattern would make every answer with free text fail: refuse it here.
        scrub("", anonymity.get("extra_patterns") or ())
    except (ValueError, TypeError) as exc:
        problems["settings.anonymity.extra_patterns"] = str(exc)
    if anonymity.get("duplicates", "device") not in ("none", "device", "sms_otp"):
        problems["settings.anonymity.duplicates"] = "must be none, device or sms_otp"
    if anonymity.get("timestamp_granularity") not in ("day", "week", "month"):
        problems["settings.anonymity.timestamp_granularity"] = "must be day, week or month"
    if problems:
        raise CampaignInvalid(problems)
    campaign = Campaign(
        org_id=org_id,
        version=version,
        name=name.strip(),
        kind=version.definition["kind"],
        period=period,
        channels=list(dict.fromkeys(channels)),
        opens_at=opens_at,
        closes_at=closes_at,
        settings=merged,
        status="draft",
    )
    campaign.targets = [CampaignTarget(unit=u) for u in units] + [
        CampaignTarget(official=o) for o in officials
    ]
    db.session.add(campaign)
    return campaign


def create_from_template(org_id: int, template_key: str, **fields) -> Campaign:
    """Import (or reuse) the template's published version and create a campaign on it."""
    try:
        definition = load_template(template_key)
    except KeyError:
        raise CampaignInvalid({"template": f"no template '{template_key}'"}) from None
    version = import_published(org_id, definition, f"surveys/{template_key}")
    db.session.flush()
    return create_campaign(org_id, version, **fields)


def org_campaigns(org_id: int) -> list[Campaign]:
    """The organization's campaigns, newest first."""
    return list(
        db.session.scalars(
            select(Campaign).where(Campaign.org_id == org_id).order_by(Campaign.id.desc())
        )
    )
