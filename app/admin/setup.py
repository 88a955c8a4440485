"""Campaign setup: settings, targets, margins and the draft → open → closed status."""

import copy
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.roles import DESIGN, own, require_role
from app.admin.base import MAX_UPLOAD, bp
from app.admin.excel import ExcelInvalid
from app.admin.forms import CampaignSettingsForm, MarginsForm, TargetsImportForm
from app.admin.targets_import import import_targets
from app.audit.service import record
from app.campaigns.models import Campaign, CampaignTarget
from app.core.periods import period_bounds
from app.core.questionnaire import parse_questions
from app.extensions import db
from app.targets.models import Official, Unit

try:  # the scores engineer's margins parser (checks levels against the campaign's variables)
    from app.scores.service import MarginsInvalid, parse_margins, set_margins
except ImportError:  # pragma: no cover
    MarginsInvalid = parse_margins = set_margins = None


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def _local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone()).replace(tzinfo=None)


def _utc(local: datetime | None) -> datetime | None:
    if local is None:
        return None
    return local.replace(tzinfo=_zone()).astimezone(UTC)


def _settings_form(campaign: Campaign) -> CampaignSettingsForm:
    anonymity = campaign.settings.get("anonymity") or {}
    weighting = campaign.settings.get("weighting") or {}
    data = {
        "name": campaign.name,
        "period": campaign.period,
        "channels": campaign.channels,
        "opens_at": _local(campaign.opens_at),
        "closes_at": _local(campaign.closes_at),
        "k": anonymity.get("k", 5),
        "rater_k": anonymity.get("rater_k", 3),
        "timestamp_granularity": anonymity.get("timestamp_granularity", "day"),
        "retention_days": anonymity.get("retention_days", 30),
        "duplicates": anonymity.get("duplicates", "device"),
        "weighting_variables": ", ".join(weighting.get("variables") or []),
    }
    return CampaignSettingsForm(data=data) if request.method == "GET" else CampaignSettingsForm()


def _unit_tree(org_id: int) -> list[tuple[Unit, int]]:
    """Every unit of the organization with its depth, parents before children."""
    units = db.session.scalars(select(Unit).where(Unit.org_id == org_id).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in ids else None
        children.setdefault(parent, []).append(unit)
    ordered: list[tuple[Unit, int]] = []

    def walk(parent, depth):
        for unit in children.get(parent, []):
            ordered.append((unit, min(depth, 5)))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return ordered


def _setup_page(campaign, form=None, problems=None, import_problems=None, margins=None, status=200):
    chosen_units = {t.unit_id for t in campaign.targets if t.unit_id}
    chosen_officials = {t.official_id for t in campaign.targets if t.official_id}
    groups = (campaign.version.definition.get("scoring") or {}).get("rater_groups") or []
    variables = ((campaign.settings.get("weighting") or {}).get("variables")) or []
    return (
        render_template(
            "admin/setup.html",
            campaign=campaign,
            form=form or _settings_form(campaign),
            tree=_unit_tree(campaign.org_id),
            chosen_units=chosen_units,
            chosen_officials=chosen_officials,
            groups=groups,
            problems=problems or [],
            import_form=TargetsImportForm(prefix="t"),
            import_problems=import_problems or [],
            margins_form=MarginsForm(prefix="m"),
            margins=margins,
            stored_margins=(campaign.settings.get("weighting") or {}).get("margins") or {},
            variables=variables,
        ),
        status,
    )


@bp.get("/campaigns/<int:campaign_id>/setup")
@require_role(*DESIGN)
def setup(campaign_id):
    return _setup_page(own(db.session.get(Campaign, campaign_id)))[0]


@bp.post("/campaigns/<int:campaign_id>/setup")
@require_role(*DESIGN)
def save_setup(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    form = _settings_form(campaign)
    problems: list[str] = []
    if campaign.status != "draft":
        problems.append(_("Settings change only while the campaign is a draft."))
    else:
        valid = form.validate_on_submit()
        try:
            period_bounds((form.period.data or "").strip())
        except ValueError:
            form.period.errors = [_("Use 2026, 2026-H1, 2026-Q3 or 2026-11.")]
        if not form.channels.data:
            form.channels.errors = [_("Choose at least one channel.")]
        if form.opens_at.data and form.closes_at.data and form.closes_at.data <= form.opens_at.data:
            form.closes_at.errors = [_("Must be after the opening time.")]
        known = {q.key for q in parse_questions(campaign.version.definition)} | {"unit"}
        variables = [
            v.strip() for v in (form.weighting_variables.data or "").split(",") if v.strip()
        ]
        unknown = [v for v in variables if v not in known]
        if unknown:
            form.weighting_variables.errors = [
                _("Not a question of this questionnaire: %(keys)s", keys=", ".join(unknown))
            ]
        if valid and not any(f.errors for f in form):
            before = json.loads(json.dumps(_snapshot(campaign)))
            settings = copy.deepcopy(campaign.settings)
            anonymity = settings.setdefault("anonymity", {})
            anonymity.update(
                k=form.k.data,
                rater_k=form.rater_k.data,
                timestamp_granularity=form.timestamp_granularity.data,
                retention_days=form.retention_days.data,
                duplicates=form.duplicates.data,
            )
            weighting = settings.setdefault("weighting", {"method": "none"})
            if variables != (weighting.get("variables") or []):
                weighting["variables"] = variables
                weighting.pop("margins", None)  # margins describe the old variables
            campaign.settings = settings
            campaign.name = form.name.data.strip()
            campaign.period = form.period.data.strip()
            campaign.channels = list(dict.fromkeys(form.channels.data))
            campaign.opens_at = _utc(form.opens_at.data)
            campaign.closes_at = _utc(form.closes_at.data)
            after = json.loads(json.dumps(_snapshot(campaign)))
            changed = sorted(k for k in after if after[k] != before.get(k))
            record("campaign.settings", "campaign", campaign.id, user=current_user, changed=changed)
            db.session.commit()
            flash(_("Campaign settings saved."), "success")
            return redirect(url_for("admin.setup", campaign_id=campaign.id))
    for field in form:
        problems += [f"{field.label.text}: {e}" for e in field.errors]
    db.session.rollback()
    return _setup_page(campaign, form, problems, status=400)


def _snapshot(campaign: Campaign) -> dict:
    anonymity = campaign.settings.get("anonymity") or {}
    return {
        "name": campaign.name,
        "period": campaign.period,
        "channels": campaign.channels,
        "opens_at": str(campaign.opens_at),
        "closes_at": str(campaign.closes_at),
        **{f"anonymity.{k}": v for k, v in anonymity.items()},
        "weighting.variables": (campaign.settings.get("weighting") or {}).get("variables"),
    }


@bp.post("/campaigns/<int:campaign_id>/targets")
@require_role(*DESIGN)
def save_targets(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    if campaign.status != "draft":
        return _setup_page(
            campaign, problems=[_("Targets change only while the campaign is a draft.")], status=400
        )
    unit_ids = {int(v) for v in request.form.getlist("unit") if v.isdigit()}
    official_ids = {int(v) for v in request.form.getlist("official") if v.isdigit()}
    units = db.session.scalars(
        select(Unit).where(Unit.org_id == campaign.org_id, Unit.id.in_(unit_ids))
    ).all()
    officials = db.session.scalars(
        select(Official).where(Official.org_id == campaign.org_id, Official.id.in_(official_ids))
    ).all()
    if len(units) != len(unit_ids) or len(officials) != len(official_ids):
        own(None)  # an id of another organization: no hint that it exists
    campaign.targets = [CampaignTarget(unit=u) for u in units] + [
        CampaignTarget(official=o) for o in officials
    ]
    record(
        "campaign.targets",
        "campaign",
        campaign.id,
        user=current_user,
        units=len(units),
        officials=len(officials),
    )
    db.session.commit()
    flash(_("Targets saved: %(count)s.", count=len(units) + len(officials)), "success")
    return redirect(url_for("admin.setup", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/targets/import")
@require_role(*DESIGN)
def import_campaign_targets(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    form = TargetsImportForm(prefix="t")
    if campaign.status != "draft":
        problems = [_("Targets change only while the campaign is a draft.")]
        return _setup_page(campaign, import_problems=problems, status=400)
    if not form.validate_on_submit():
        return _setup_page(campaign, import_problems=[_("Choose a file.")], status=400)
    raw = form.file.data.read(MAX_UPLOAD * 4 + 1)
    try:
        if len(raw) > MAX_UPLOAD * 4:
            raise ExcelInvalid([_("The file is larger than 8 MB.")])
        kind, units = import_targets(campaign.org_id, raw, form.file.data.filename or "")
    except ExcelInvalid as exc:
        db.session.rollback()
        return _setup_page(campaign, import_problems=exc.problems, status=400)
    have = {t.unit_id for t in campaign.targets if t.unit_id}
    for unit in units:
        if unit.id not in have:
            campaign.targets.append(CampaignTarget(unit=unit))
            have.add(unit.id)
    record(
        "campaign.targets_import",
        "campaign",
        campaign.id,
        user=current_user,
        kind=kind,
        units=len(units),
    )
    db.session.commit()
    flash(_("Imported; %(count)s units are targets of this campaign.", count=len(have)), "success")
    return redirect(url_for("admin.setup", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/margins-check")
@require_role(*DESIGN)
def campaign_margins(campaign_id):
    """Preview margins (shares per level, the checks) and store them only on 'save'."""
    campaign = own(db.session.get(Campaign, campaign_id))
    form = MarginsForm(prefix="m")
    if parse_margins is None or not form.validate_on_submit():
        return _setup_page(campaign, margins={"problems": [_("Paste the CSV text.")]}, status=400)
    try:
        margins = parse_margins(campaign, form.csv.data)
    except MarginsInvalid as exc:
        return _setup_page(campaign, margins={"problems": exc.problems}, status=400)
    if request.form.get("save"):
        set_margins(campaign, form.csv.data)
        record(
            "campaign.margins",
            "campaign",
            campaign.id,
            user=current_user,
            variables=sorted(margins),
        )
        db.session.commit()
        flash(_("Population margins saved."), "success")
        return redirect(url_for("admin.setup", campaign_id=campaign.id))
    preview = {
        variable: [
            (level, total, total / (sum(levels.values()) or 1)) for level, total in levels.items()
        ]
        for variable, levels in margins.items()
    }
    return _setup_page(campaign, margins={"preview": preview})[0]


TRANSITIONS = {"open": ("draft", "open"), "close": ("open", "closed"), "reopen": ("closed", "open")}


@bp.post("/campaigns/<int:campaign_id>/status/<action>")
@require_role(*DESIGN)
def campaign_status(campaign_id, action):
    campaign = own(db.session.get(Campaign, campaign_id))
    if action not in TRANSITIONS:
        own(None)
    before, after = TRANSITIONS[action]
    if campaign.status != before:
        flash(
            _("The campaign is %(status)s; that change is not possible.", status=campaign.status),
            "error",
        )
    elif action == "open" and not campaign.targets and "hotline" not in campaign.channels:
        flash(_("Choose the targets before opening the campaign."), "error")
    else:
        campaign.status = after
        record("campaign.status", "campaign", campaign.id, user=current_user, was=before, now=after)
        db.session.commit()
        flash(_("Campaign status: %(status)s.", status=after), "success")
    return redirect(url_for("admin.campaign", campaign_id=campaign.id))
