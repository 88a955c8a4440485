"""Staff pages for scores (snapshots, publishing, margins, files) and the `flask scores` commands."""

import secrets

import click
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.roles import ADMIN, ANALYSE, READ, own, require_role
from app.audit.service import record
from app.campaigns.models import Campaign
from app.extensions import db
from app.scores.export import snapshot_csv, snapshot_xlsx
from app.scores.feed import snapshot_items
from app.scores.jobs import compute_and_publish_snapshot
from app.scores.models import ScoreSnapshot
from app.scores.service import (
    MarginsInvalid,
    ScoresError,
    campaign_snapshots,
    current_snapshot,
    publish_snapshot,
    set_margins,
    variable_levels,
)
from app.scores.webhooks import (
    ScoreWebhook,
    WebhookError,
    create_webhook,
    deliver_due,
    org_deliveries,
    org_webhooks,
    remove_webhook,
)

bp = Blueprint("scores", __name__, cli_group="scores")
MAX_MARGINS = 256 * 1024
FORMATS = {
    "csv": ("text/csv; charset=utf-8", snapshot_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", snapshot_xlsx),
}


@bp.get("/campaigns/<int:campaign_id>")
@require_role(*READ)
def campaign_scores(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    current = current_snapshot(campaign.id)
    return render_template(
        "scores/campaign.html",
        campaign=campaign,
        snapshots=campaign_snapshots(campaign.id),
        current=current,
        items=snapshot_items(current) if current else [],
        levels=variable_levels(campaign),
        margins=((campaign.settings or {}).get("weighting") or {}).get("margins") or {},
        request_id=secrets.token_urlsafe(16),
    )


@bp.post("/campaigns/<int:campaign_id>/publish")
@require_role(*ANALYSE)
def publish(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    reason = (request.form.get("reason") or "").strip()
    # The form's random request id makes a double submission publish once.
    request_id = (request.form.get("request_id") or "").strip()[:100]
    if not reason or not request_id:
        flash(_("Give the reason for publishing."), "error")
        return redirect(url_for("scores.campaign_scores", campaign_id=campaign.id))
    compute_and_publish_snapshot.enqueue(campaign.id, reason[:500], request_id)
    db.session.commit()  # the job is sent when this unit of work commits (rule 5)
    flash(_("The scores are being computed and published."), "info")
    return redirect(url_for("scores.campaign_scores", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/margins")
@require_role(*ANALYSE)
def upload_margins(campaign_id):
    campaign = own(db.session.get(Campaign, campaign_id))
    upload = request.files.get("file")
    text = upload.read(MAX_MARGINS + 1) if upload else (request.form.get("csv") or "").encode()
    if not text.strip():
        flash(_("Choose a CSV file of population margins."), "error")
    elif len(text) > MAX_MARGINS:
        flash(_("The file is too large."), "error")
    else:
        try:
            set_margins(campaign, text.decode("utf-8-sig"))
        except UnicodeDecodeError:
            flash(_("The file is not UTF-8 text."), "error")
        except MarginsInvalid as exc:
            for problem in exc.problems:
                flash(problem, "error")
        else:
            db.session.commit()
            flash(_("Population margins saved."), "info")
    return redirect(url_for("scores.campaign_scores", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>/export")
@require_role(*READ)
def export(campaign_id):
    """?format=csv|xlsx&version=N (default: the current snapshot; header only before any)."""
    campaign = own(db.session.get(Campaign, campaign_id))
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        abort(400)
    version = request.args.get("version", type=int)
    if version is None:
        snapshot = current_snapshot(campaign.id)
    else:
        snapshot = db.session.scalar(
            select(ScoreSnapshot).where(
                ScoreSnapshot.campaign_id == campaign.id, ScoreSnapshot.version == version
            )
        )
        if snapshot is None:
            abort(404)
    mimetype, render = FORMATS[fmt]
    # Nothing published yet: a file with the header only, so links never break.
    snapshot = snapshot or _EmptySnapshot(campaign.id)
    body = render(snapshot)
    name = f"scores-campaign{campaign.id}-v{snapshot.version}.{fmt}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/webhooks", methods=["GET", "POST"])
@require_role(*ADMIN)
def webhooks():
    """Push endpoints of the organization (add one; its secret is shown once) and the delivery log."""
    secret, status = None, 200
    if request.method == "POST":
        try:
            webhook, secret = create_webhook(
                current_user.org_id, request.form.get("url", ""), user=current_user
            )
        except WebhookError as exc:
            flash(_("The URL cannot receive scores: %(reason)s.", reason=str(exc)), "error")
            status = 400
        else:
            record(
                "score_webhook.create",
                "score_webhook",
                webhook.id,
                user=current_user,
                url=webhook.url,
            )
            db.session.commit()
    # The plain secret is rendered in this response only; it is stored encrypted.
    page = render_template(
        "scores/webhooks.html",
        webhooks=org_webhooks(current_user.org_id),
        deliveries=org_deliveries(current_user.org_id),
        secret=secret,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.post("/webhooks/<int:webhook_id>/remove")
@require_role(*ADMIN)
def remove_webhook_view(webhook_id):
    webhook = own(db.session.get(ScoreWebhook, webhook_id))
    if webhook.removed_at is None:
        skipped = remove_webhook(webhook)
        record(
            "score_webhook.remove",
            "score_webhook",
            webhook.id,
            user=current_user,
            url=webhook.url,
            skipped=skipped,
        )
        db.session.commit()
        flash(_("Endpoint removed; it receives nothing more."), "info")
    return redirect(url_for("scores.webhooks"))


class _EmptySnapshot:
    """Stands in for a snapshot before the first publication: no rows."""

    def __init__(self, campaign_id):
        self.campaign_id, self.version, self.rows, self.method = campaign_id, 0, [], {}
        self.published_at = None


# --- flask scores … ------------------------------------------------------------------------


@bp.cli.command("publish")
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@click.option("--reason", required=True, help="Why the scores are (re)published; recorded.")
@click.option(
    "--request-id",
    default=None,
    help="Idempotency key: a repeat with the same one changes nothing.",
)
def publish_command(campaign_id, reason, request_id):
    """Compute a campaign's scores and publish them as a new snapshot version."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_id}")
    try:
        snapshot = publish_snapshot(campaign, reason, request_id or secrets.token_urlsafe(16))
    except ScoresError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"campaign {campaign.id}: snapshot version {snapshot.version} published "
        f"({len([r for r in snapshot.rows if r.status == 'current'])} scores, "
        f"{sum(r.suppressed for r in snapshot.rows)} suppressed)"
    )


@bp.cli.command("margins")
@click.option("--campaign", "campaign_id", type=int, required=True, help="Campaign id.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def margins_command(campaign_id, path):
    """Set a campaign's population margins from a CSV file 'variable,level,total'."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"no campaign {campaign_id}")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text; margins not saved") from None
    try:
        margins = set_margins(campaign, text)
    except MarginsInvalid as exc:
        for problem in exc.problems:
            click.echo(f"{path}: {problem}", err=True)
        raise click.ClickException("margins not saved") from None
    db.session.commit()
    click.echo(f"campaign {campaign.id}: margins for {', '.join(margins)} saved")


@bp.cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="At most this many deliveries.")
def deliver_command(limit):
    """Send the score webhooks that are due (new ones and retries); run it from cron every minute."""
    counts = deliver_due(limit=limit)
    done = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"
    click.echo(f"score webhooks: {done}")
