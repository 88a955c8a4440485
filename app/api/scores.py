"""Published scores for the assessment core, and the reference data to read them with.

GET /api/v1/scores pages through the current scores, or with ?since=<cursor> through what
changed since; cursors are signed with SECRET_KEY and bound to the token's organization.
"""

from flask import current_app, g
from flask_smorest import Blueprint
from itsdangerous import BadSignature, URLSafeSerializer
from marshmallow import RAISE
from sqlalchemy import select

from app.api.auth import require_scope
from app.api.errors import api_abort
from app.api.schemas_scores import (
    CampaignsPageSchema,
    CampaignsQuerySchema,
    ScoresPageSchema,
    ScoresQuerySchema,
    TargetsPageSchema,
    TargetsQuerySchema,
)
from app.campaigns.models import Campaign
from app.extensions import db
from app.scores import feed
from app.scores.models import ScoreSnapshot
from app.targets.models import Official, Unit

bp = Blueprint(
    "api_scores",
    __name__,
    url_prefix="/api/v1",
    description="Published score snapshots (aggregates only) and reference data. Keep the "
    "next_cursor of each answer and pass it as since= to receive only what is new, "
    "superseded or withdrawn.",
)

CURSOR_SALT = "minyi.scores.cursor.v1"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CURSOR_SALT)


def encode_cursor(org_id: int, position: feed.Position) -> str:
    """An opaque, signed cursor for one organization."""
    return _serializer().dumps({"o": org_id, "s": position.seq, "r": position.row_id})


def decode_cursor(org_id: int, cursor: str) -> feed.Position:
    """The position in a cursor of this organization; 400 for a malformed or foreign one."""
    try:
        data = _serializer().loads(cursor)
        owner, seq, row_id = data["o"], data["s"], data["r"]
        valid = (
            isinstance(owner, int)
            and isinstance(seq, int)
            and seq >= 0
            and (row_id is None or (isinstance(row_id, int) and row_id > 0))
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        valid = False
    if not valid or owner != org_id:
        # One answer for forged, damaged and other organizations' cursors: no hint which.
        api_abort(
            400,
            "The cursor is not valid for this token: pass a next_cursor from an earlier answer.",
            code="invalid_cursor",
        )
    return feed.Position(seq, row_id)


@bp.route("/scores")
@require_scope("scores:read")
@bp.arguments(ScoresQuerySchema, location="query", unknown=RAISE, as_kwargs=True)
@bp.response(200, ScoresPageSchema)
@bp.alt_response(400, response="DEFAULT_ERROR", description="Malformed or foreign cursor")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_scores(limit, since=None, campaign=None, target_id=None, target_type=None, **filters):
    """Scores of published snapshots: current ones, or with since= what changed since then.

    Items come in a stable order (publication, then row). A suppressed item (a group under the
    anonymity threshold) has "suppressed": true, a reason and no figure. With since=, items of
    status "withdrawn" name scores that a newer snapshot no longer has. Rate limited per token:
    a 429 answer carries Retry-After.
    """
    org_id = g.org_id
    position = decode_cursor(org_id, since) if since is not None else None
    if campaign is not None and feed.org_campaign(org_id, campaign) is None:
        api_abort(403, "The campaign is not one of your organization's.", code="forbidden")
    if target_id is not None and not feed.org_has_target(org_id, target_id, target_type):
        api_abort(403, "The target is not one of your organization's.", code="forbidden")
    page = feed.read_scores(
        org_id,
        since=position,
        limit=limit,
        campaign_id=campaign,
        target_id=target_id,
        target_type=target_type,
        **filters,
    )
    return {
        "items": page.items,
        "next_cursor": encode_cursor(org_id, page.position),
        "has_more": page.has_more,
    }


@bp.route("/campaigns")
@require_scope("scores:read")
@bp.arguments(CampaignsQuerySchema, location="query", unknown=RAISE, as_kwargs=True)
@bp.response(200, CampaignsPageSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_campaigns(kind=None, period=None):
    """The organization's campaigns with their targets and current snapshot."""
    query = select(Campaign).where(Campaign.org_id == g.org_id)
    if kind is not None:
        query = query.where(Campaign.kind == kind)
    if period is not None:
        query = query.where(Campaign.period == period)
    campaigns = list(db.session.scalars(query.order_by(Campaign.id)))
    current = {
        s.campaign_id: s
        for s in db.session.scalars(
            select(ScoreSnapshot).where(
                ScoreSnapshot.org_id == g.org_id, ScoreSnapshot.status == "published"
            )
        )
    }
    items = []
    for campaign in campaigns:
        targets = [
            feed.unit_ref(t.unit)
            if t.unit is not None
            else {
                "type": "official",
                "id": t.official.id,
                "code": t.official.code,
                "name": t.official.name,
            }
            for t in campaign.targets
        ]
        snapshot = current.get(campaign.id)
        items.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "kind": campaign.kind,
                "period": campaign.period,
                "status": campaign.status,
                "questionnaire_version": campaign.version.label,
                "targets": targets,
                "snapshot": feed.snapshot_ref(snapshot) if snapshot else None,
            }
        )
    return {"items": items}


@bp.route("/targets")
@require_scope("scores:read")
@bp.arguments(TargetsQuerySchema, location="query", unknown=RAISE, as_kwargs=True)
@bp.response(200, TargetsPageSchema)
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def list_targets(type=None):  # noqa: A002 - the query parameter's name
    """The organization's units (with their parent) and officials (with their unit)."""
    items = []
    units = {
        u.id: u
        for u in db.session.scalars(select(Unit).where(Unit.org_id == g.org_id).order_by(Unit.id))
    }
    if type in (None, "unit"):
        items += [feed.unit_target(u, units) for u in units.values()]
    if type in (None, "official"):
        officials = db.session.scalars(
            select(Official).where(Official.org_id == g.org_id).order_by(Official.id)
        )
        items += [feed.official_target(o, units) for o in officials]
    return {"items": items}
