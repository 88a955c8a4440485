"""Live monitoring of a campaign: every count shown obeys the campaign's k (small cells hidden)."""

import pandas as pd
from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.roles import READ, own, require_role
from app.admin.base import anonymity, bp
from app.admin.charts import bar_chart, line_chart
from app.audit.service import record
from app.campaigns.models import Campaign
from app.core.anonymize import suppress, suppress_groups
from app.core.quality import flag_speeders, flag_straight_liners
from app.extensions import db
from app.i18n import localized
from app.links.models import Link
from app.responses.models import Answer, Response
from app.targets.models import Unit

try:  # the SMS engineer's funnel: invited → delivered → started → completed
    from app.sms.service import funnel as sms_funnel
except ImportError:  # pragma: no cover
    sms_funnel = None

SMS_CHANNELS = {"sms_invite", "sms_dialogue", "hotline"}


def shown(n: int | None, k: int) -> int | None:
    """A count as it may be shown: None when 0 < n < k."""
    if n is None:
        return None
    return None if 0 < n < k else int(n)


def _responses(campaign_id: int) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Response.id,
            Response.submitted_on,
            Response.channel,
            Response.unit_id,
            Response.rater_group,
            Response.duration_seconds,
        ).where(
            Response.campaign_id == campaign_id,
            Response.status == "complete",
            Response.is_test.is_(False),
        )
    ).all()
    return pd.DataFrame(
        rows,
        columns=["response_id", "day", "channel", "unit_id", "rater_group", "duration_seconds"],
    )


def _over_time(frame: pd.DataFrame, k: int):
    if frame.empty:
        return None
    table = pd.crosstab(frame["day"].astype(str), frame["channel"])
    hidden = suppress(table, k, total_label="total")
    shown_table = hidden.table
    days = [d for d in shown_table.index if d != "total"]
    channels = [c for c in shown_table.columns if c != "total"]
    series = {
        c: [None if pd.isna(shown_table.loc[d, c]) else int(shown_table.loc[d, c]) for d in days]
        for c in channels
    }
    series["total"] = [
        None if pd.isna(shown_table.loc[d, "total"]) else int(shown_table.loc[d, "total"])
        for d in days
    ]
    rows = [(d, [series[c][i] for c in channels], series["total"][i]) for i, d in enumerate(days)]
    totals = [
        None if pd.isna(shown_table.loc["total", c]) else int(shown_table.loc["total", c])
        for c in [*channels, "total"]
    ]
    return {
        "days": days,
        "channels": channels,
        "rows": rows,
        "totals": totals,
        "chart": line_chart(days, series, _("Responses per day by channel")),
    }


def _by_district(frame: pd.DataFrame, campaign: Campaign, k: int):
    units = {t.unit.id: t.unit for t in campaign.targets if t.unit is not None}
    counts = (
        frame["unit_id"].dropna().astype(int).value_counts().to_dict() if not frame.empty else {}
    )
    for unit_id in counts:
        if unit_id not in units:
            units[unit_id] = db.session.get(Unit, unit_id)
    names = {uid: f"{u.name}" for uid, u in units.items() if u is not None}
    groups = {names[uid]: int(counts.get(uid, 0)) for uid in sorted(names, key=lambda i: names[i])}
    if not groups:
        return None
    result = suppress_groups(groups, k)
    rows = list(result.counts.items())
    return {
        "rows": rows,
        "total": result.total,
        "chart": bar_chart(rows, _("Responses by district"), _("Too few respondents to show")),
    }


def _rater_groups(campaign: Campaign, frame: pd.DataFrame, rater_k: int):
    groups = (campaign.version.definition.get("scoring") or {}).get("rater_groups") or []
    if not groups:
        return None
    codes = dict(
        db.session.execute(
            select(Link.rater_group, func.count())
            .where(Link.campaign_id == campaign.id, Link.kind == "rater")
            .group_by(Link.rater_group)
        ).all()
    )
    answered = frame["rater_group"].dropna().value_counts().to_dict() if not frame.empty else {}
    result = suppress_groups({g["key"]: int(answered.get(g["key"], 0)) for g in groups}, rater_k)
    rows = []
    for group in groups:
        n = result.counts[group["key"]]
        issued = codes.get(group["key"], 0)
        rate = n / issued if n is not None and issued else None
        rows.append((localized(group["label"]), issued, n, rate))
    chart = bar_chart(
        [(label, None if rate is None else round(100 * rate, 1)) for label, _i, _n, rate in rows],
        _("Response rate per rater group (%)"),
        _("Too few respondents to show"),
    )
    return {"rows": rows, "chart": chart}


def _quota(campaign: Campaign, frame: pd.DataFrame, k: int):
    quotas = campaign.settings.get("quotas") or {}
    cells = quotas.get("cells") or {}
    if not cells:
        return None
    by = quotas.get("by", "unit")
    if by == "unit":
        codes = {
            u.id: u.code
            for u in db.session.scalars(select(Unit).where(Unit.org_id == campaign.org_id))
        }
        values = frame["unit_id"].dropna().astype(int).map(codes) if not frame.empty else []
        counts = pd.Series(values).value_counts().to_dict()
    else:
        counts = dict(
            db.session.execute(
                select(Answer.value, func.count())
                .join(Response)
                .where(
                    Response.campaign_id == campaign.id,
                    Response.status == "complete",
                    Response.is_test.is_(False),
                    Answer.question_key == by,
                )
                .group_by(Answer.value)
            ).all()
        )
    rows = []
    for value, maximum in cells.items():
        n = shown(int(counts.get(value, 0)), k)
        rows.append(
            (str(value), maximum, n, None if n is None else n / maximum if maximum else None)
        )
    return {"by": by, "rows": rows}


def _quality(campaign: Campaign, frame: pd.DataFrame, k: int):
    if frame.empty:
        return None
    speeders = flag_speeders(frame[["response_id", "duration_seconds"]].dropna())
    answers = pd.DataFrame(
        db.session.execute(
            select(Answer.response_id, Answer.question_key, Answer.value)
            .join(Response)
            .where(
                Response.campaign_id == campaign.id,
                Response.status == "complete",
                Response.is_test.is_(False),
                Answer.target_key != "",
            )
        ).all(),
        columns=["response_id", "question_key", "value"],
    )
    if not answers.empty:
        answers["value"] = answers["value"].astype(str)
        straight = flag_straight_liners(answers, matrix="question_key")
    else:
        straight = pd.DataFrame(columns=["response_id"])
    return [
        (_("Speeders (under a third of the median time)"), shown(len(speeders), k)),
        (_("Straight-liners (one answer to every item of a matrix)"), shown(len(straight), k)),
    ]


def _funnel(campaign: Campaign, frame: pd.DataFrame, k: int):
    web = (
        frame[frame["channel"].isin(["web", "qr", "rater_slip", "api", "interviewer"])]
        if not frame.empty
        else frame
    )
    invitations = db.session.scalar(
        select(func.count()).where(Link.campaign_id == campaign.id, Link.kind == "invitation")
    )
    points = db.session.scalar(
        select(func.count()).where(Link.campaign_id == campaign.id, Link.kind == "open")
    )
    steps = [
        (_("Distribution points (posters, letters)"), points),
        (_("Personal invitations created"), invitations),
        (_("Completed on the web"), shown(len(web), k)),
    ]
    sms = None
    if sms_funnel is not None and SMS_CHANNELS & set(campaign.channels):
        counts = sms_funnel(campaign)
        sms = [
            (_("Invited"), shown(counts.get("invited"), k)),
            (_("Delivered"), shown(counts.get("delivered"), k)),
            (_("Started"), shown(counts.get("started"), k)),
            (_("Completed"), shown(counts.get("completed"), k)),
            (_("Opted out"), shown(counts.get("opted_out"), k)),
        ]
    return {"web": steps, "sms": sms}


@bp.get("/campaigns/<int:campaign_id>/monitor")
@require_role(*READ)
def monitor(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    k, rater_k = anonymity(campaign)
    frame = _responses(campaign.id)
    record("campaign.monitor_view", "campaign", campaign.id, user=current_user)
    db.session.commit()
    return render_template(
        "admin/monitor.html",
        campaign=campaign,
        k=k,
        rater_k=rater_k,
        total=shown(len(frame), k),
        over_time=_over_time(frame, k),
        districts=_by_district(frame, campaign, k),
        raters=_rater_groups(campaign, frame, rater_k),
        quota=_quota(campaign, frame, k),
        quality=_quality(campaign, frame, k),
        funnel=_funnel(campaign, frame, k),
    )
