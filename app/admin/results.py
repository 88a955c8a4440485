"""Results of a campaign from its published score snapshot: scores with CIs, ranks, indicators, spread, trends."""

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.roles import READ, own, require_role
from app.admin.base import anonymity, bp
from app.admin.charts import dot_whisker
from app.audit.service import record
from app.campaigns.models import Campaign
from app.extensions import db
from app.i18n import localized
from app.targets.models import Official, Unit

try:  # the scores engineer's published snapshots
    from app.scores.models import ScoreRow, ScoreSnapshot
    from app.scores.service import current_snapshot
except ImportError:  # pragma: no cover
    ScoreRow = ScoreSnapshot = current_snapshot = None


def _name(row) -> str:
    if row.target_type == "unit":
        unit = db.session.get(Unit, row.unit_id)
        return unit.name if unit else str(row.unit_id)
    official = db.session.get(Official, row.official_id)
    return official.name if official else str(row.official_id)


def _visible(row, k: int, rater_k: int) -> bool:
    # The snapshot already suppresses; the page checks again so no figure under k ever shows.
    threshold = k if row.target_type == "unit" else rater_k
    return not row.suppressed and row.score is not None and (row.n or 0) >= threshold


def _trends(campaign: Campaign, rows, k: int, rater_k: int):
    """Each target's published scores of the same kind across periods (current snapshots only)."""
    targets = {(r.target_type, r.unit_id or r.official_id): r for r in rows}
    if not targets:
        return None
    history = db.session.scalars(
        select(ScoreRow)
        .join(ScoreSnapshot)
        .where(
            ScoreRow.org_id == campaign.org_id,
            ScoreRow.kind == campaign.kind,
            ScoreRow.status == "current",
            ScoreSnapshot.status == "published",
        )
    ).all()
    periods = sorted({h.period for h in history})
    if len(periods) < 2:
        return None
    table = {}
    for h in history:
        key = (h.target_type, h.unit_id or h.official_id)
        if key in targets:
            table.setdefault(key, {})[h.period] = h.score if _visible(h, k, rater_k) else None
    return {
        "periods": periods,
        "rows": [(_name(targets[key]), [table[key].get(p, "—") for p in periods]) for key in table],
    }


@bp.get("/campaigns/<int:campaign_id>/results")
@require_role(*READ)
def results(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    k, rater_k = anonymity(campaign)
    snapshot = current_snapshot(campaign.id) if current_snapshot else None
    record("campaign.results_view", "campaign", campaign.id, user=current_user)
    db.session.commit()
    if snapshot is None:
        return render_template("admin/results.html", campaign=campaign, snapshot=None)
    rows = [r for r in snapshot.rows if r.status == "current"]
    hidden = _("Too few respondents to show")
    definition = campaign.version.definition
    indicator_names = {i["key"]: localized(i["name"]) for i in definition.get("indicators") or []}
    scale = float((definition.get("scoring") or {}).get("scale", 100))
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row.peer_group or "", []).append(row)
    peer_groups = []
    for peer, members in sorted(groups.items()):
        members.sort(key=lambda r: (not _visible(r, k, rater_k), r.rank or 10**6, _name(r)))
        entries = []
        for r in members:
            ok = _visible(r, k, rater_k)
            entries.append(
                {
                    "name": _name(r),
                    "visible": ok,
                    "score": r.score if ok else None,
                    "ci_low": r.ci_low if ok else None,
                    "ci_high": r.ci_high if ok else None,
                    "n": r.n if ok else None,
                    "grade": r.grade if ok else None,
                    "rank": r.rank if ok else None,
                    "n_peers": r.n_peers if ok else None,
                    "indicators": r.indicators if ok else {},
                    "flags": r.quality_flags if ok else [],
                }
            )
        chart = dot_whisker(
            [(e["name"], e["score"], e["ci_low"], e["ci_high"]) for e in entries],
            _("Scores with 95% confidence intervals"),
            hidden,
            scale=scale,
        )
        peer_groups.append(
            {"name": peer.partition(":")[2] or peer, "entries": entries, "chart": chart}
        )
    indicator_keys = [
        key
        for key in indicator_names
        if any(key in e["indicators"] for g in peer_groups for e in g["entries"])
    ]
    spread_flags = [(e["name"], f) for g in peer_groups for e in g["entries"] for f in e["flags"]]
    return render_template(
        "admin/results.html",
        campaign=campaign,
        snapshot=snapshot,
        peer_groups=peer_groups,
        indicator_keys=indicator_keys,
        indicator_names=indicator_names,
        spread_flags=spread_flags,
        summary=snapshot.summary or {},
        trends=_trends(campaign, rows, k, rater_k),
        hidden=hidden,
    )
