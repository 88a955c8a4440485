"""Reading published scores: the current scores and the change log that cursors walk.

The log is the rows of published snapshots ordered by (seq, row id); rows never change and
seq grows in commit order, so a position (seq, row id) is a stable cursor. Rows of a snapshot
that has since been superseded are skipped: its successor (later in the log) carries the newest
figures and a "withdrawn" row for every key that went away, so a client that applies the items
in order, keeping the newest per key, ends with exactly the newest version of every score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select

from app.campaigns.models import Campaign
from app.extensions import db
from app.scores.models import ScoreRow, ScoreSnapshot
from app.targets.models import Official, Unit


@dataclass(frozen=True)
class Position:
    """A place in the log: everything up to seq (and up to row_id within seq, when given) is read."""

    seq: int
    row_id: int | None = None


START = Position(0, None)


@dataclass
class Page:
    items: list[dict]
    position: Position
    has_more: bool


def head_seq(org_id: int) -> int:
    """The last sequence number published for the organization (0 before any)."""
    return (
        db.session.scalar(select(func.max(ScoreSnapshot.seq)).where(ScoreSnapshot.org_id == org_id))
        or 0
    )


def read_scores(
    org_id: int,
    *,
    since: Position | None = None,
    limit: int = 100,
    period: str | None = None,
    kind: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    campaign_id: int | None = None,
) -> Page:
    """One page of the organization's scores: current ones (since None) or the log after `since`."""
    # The head is read first and bounds the page, so a snapshot committed meanwhile is not
    # skipped: it lies beyond the returned position and comes with the next call.
    head = head_seq(org_id)
    query = (
        select(ScoreRow, ScoreSnapshot)
        .join(ScoreSnapshot, ScoreRow.snapshot_id == ScoreSnapshot.id)
        .where(
            ScoreRow.org_id == org_id,
            ScoreSnapshot.status == "published",
            ScoreRow.seq <= head,
        )
    )
    if since is None:
        query = query.where(ScoreRow.status == "current")
    else:
        after = ScoreRow.seq > since.seq
        if since.row_id is not None:
            after = or_(after, and_(ScoreRow.seq == since.seq, ScoreRow.id > since.row_id))
        query = query.where(after)
    if period is not None:
        query = query.where(ScoreRow.period == period)
    if kind is not None:
        query = query.where(ScoreRow.kind == kind)
    if target_type is not None:
        query = query.where(ScoreRow.target_type == target_type)
    if target_id is not None:
        if target_type == "unit":
            query = query.where(ScoreRow.unit_id == target_id)
        elif target_type == "official":
            query = query.where(ScoreRow.official_id == target_id)
        else:
            query = query.where(
                or_(ScoreRow.unit_id == target_id, ScoreRow.official_id == target_id)
            )
    if campaign_id is not None:
        query = query.where(ScoreRow.campaign_id == campaign_id)
    found = db.session.execute(query.order_by(ScoreRow.seq, ScoreRow.id).limit(limit + 1)).all()
    has_more = len(found) > limit
    found = found[:limit]
    if has_more:
        last = found[-1][0]
        position = Position(last.seq, last.id)
    else:
        position = Position(max(head, since.seq if since else 0), None)
    return Page(items_for(found), position, has_more)


def _targets(rows: list[ScoreRow]) -> tuple[dict[int, Unit], dict[int, Official]]:
    official_ids = {r.official_id for r in rows if r.official_id is not None}
    officials = {
        o.id: o for o in db.session.scalars(select(Official).where(Official.id.in_(official_ids)))
    }
    unit_ids = {r.unit_id for r in rows if r.unit_id is not None} | {
        o.unit_id for o in officials.values()
    }
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    parents = {u.parent_id for u in units.values() if u.parent_id} - set(units)
    if parents:
        units |= {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(parents)))}
    return units, officials


def unit_ref(unit: Unit | None) -> dict | None:
    if unit is None:
        return None
    return {"type": "unit", "id": unit.id, "code": unit.code, "name": unit.name}


def unit_target(unit: Unit, units: dict[int, Unit] | None = None) -> dict:
    parent = (units or {}).get(unit.parent_id) if unit.parent_id else None
    if parent is None and unit.parent_id:
        parent = unit.parent
    return unit_ref(unit) | {
        "category": unit.type,
        "level": unit.level,
        "title": None,
        "parent": unit_ref(parent),
    }


def official_target(official: Official, units: dict[int, Unit] | None = None) -> dict:
    unit = (units or {}).get(official.unit_id) or official.unit
    return {
        "type": "official",
        "id": official.id,
        "code": official.code,
        "name": official.name,
        "category": official.position,
        "level": None,
        "title": official.title,
        "parent": unit_ref(unit),
    }


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def snapshot_ref(snapshot: ScoreSnapshot) -> dict:
    return {
        "version": snapshot.version,
        "status": snapshot.status,
        "published_at": aware(snapshot.published_at),
        "reason": snapshot.reason,
    }


def item(row: ScoreRow, snapshot: ScoreSnapshot, units, officials) -> dict:
    """The API's view of a row: a suppressed or withdrawn row carries no figure at all."""
    if row.target_type == "unit":
        target = unit_target(units[row.unit_id], units)
    else:
        target = official_target(officials[row.official_id], units)
    data = {
        "key": row.key,
        "status": row.status,
        "campaign_id": row.campaign_id,
        "target": target,
        "kind": row.kind,
        "period": row.period,
        "suppressed": bool(row.suppressed),
        "method": snapshot.method,
        "snapshot": snapshot_ref(snapshot),
    }
    if row.status == "withdrawn":
        return data
    if row.suppressed:
        data["suppression_reason"] = row.suppression_reason
        return data
    data |= {
        "score": row.score,
        "grade": row.grade,
        "ci95": {"low": row.ci_low, "high": row.ci_high},
        "n": row.n,
        "n_effective": row.n_effective,
        "indicators": row.indicators or {},
        "details": row.extra or {},
        "rank": row.rank,
        "percentile": row.percentile,
        "n_peers": row.n_peers,
        "peer_group": row.peer_group,
        "quality_flags": row.quality_flags or [],
    }
    return data


def items_for(found: list) -> list[dict]:
    units, officials = _targets([row for row, _ in found])
    return [item(row, snapshot, units, officials) for row, snapshot in found]


def snapshot_items(snapshot: ScoreSnapshot) -> list[dict]:
    """Every current row of one snapshot as items (for files)."""
    rows = [r for r in snapshot.rows if r.status == "current"]
    units, officials = _targets(rows)
    return [item(row, snapshot, units, officials) for row in rows]


def org_campaign(org_id: int, campaign_id: int) -> Campaign | None:
    campaign = db.session.get(Campaign, campaign_id)
    return campaign if campaign is not None and campaign.org_id == org_id else None


def org_has_target(org_id: int, target_id: int, target_type: str | None) -> bool:
    models = {"unit": (Unit,), "official": (Official,), None: (Unit, Official)}[target_type]
    for model in models:
        found = db.session.get(model, target_id)
        if found is not None and found.org_id == org_id:
            return True
    return False
