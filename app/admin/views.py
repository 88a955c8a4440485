"""Staff console: questionnaires (list, import, preview, export) and campaigns."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.roles import ADMIN, DESIGN, READ, own, require_role
from app.admin.base import MAX_UPLOAD, bp, own_version
from app.admin.forms import (
    CampaignForm,
    DistributionPointsForm,
    ImportForm,
    RaterCodesForm,
    VoidForm,
)
from app.audit.service import org_events, record
from app.campaigns.models import Campaign
from app.campaigns.privacy import privacy_summary
from app.campaigns.service import CampaignInvalid, create_from_template, org_campaigns
from app.channels.qr import qr_svg_markup
from app.core.questionnaire import parse_questions
from app.extensions import db
from app.i18n import localized
from app.links.models import Link
from app.links.service import add_distribution_point, create_rater_codes, public_url, slip_code
from app.questionnaires.definitions import DefinitionInvalid, parse_text
from app.questionnaires.models import Questionnaire
from app.questionnaires.service import add_version, export_version, publish_version
from app.questionnaires.templates import all_templates
from app.responses.models import Response as ResponseRow
from app.responses.service import VoidRefused, void_response
from app.targets.models import Unit


@bp.get("/")
@require_role(*READ)
def index():
    return render_template("admin/index.html", campaigns=org_campaigns(current_user.org_id))


@bp.get("/questionnaires")
@require_role(*READ)
def questionnaires():
    rows = db.session.scalars(
        select(Questionnaire)
        .where(Questionnaire.org_id == current_user.org_id)
        .order_by(Questionnaire.key)
    ).all()
    return render_template("admin/questionnaires.html", questionnaires=rows)


@bp.route("/questionnaires/import", methods=["GET", "POST"])
@require_role(*DESIGN)
def import_questionnaire():
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        version, problems = _import_upload(
            upload.filename or "upload", upload.read(MAX_UPLOAD + 1), form.publish.data
        )
        if version is not None:
            flash(
                _(
                    "Imported %(key)s version %(number)s.",
                    key=version.questionnaire.key,
                    number=version.number,
                ),
                "success",
            )
            return redirect(url_for("admin.version", version_id=version.id))
    status = 400 if problems else 200
    return render_template("admin/import.html", form=form, problems=problems), status


def _import_upload(filename: str, raw: bytes, publish: bool):
    """(version, []) after a commit, or (None, problems) with nothing stored."""
    if len(raw) > MAX_UPLOAD:
        return None, [_("The file is larger than 2 MB.")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, [_("The file is not UTF-8 text.")]
    try:
        version = add_version(current_user.org_id, parse_text(text, filename), filename)
        db.session.flush()
        if publish:
            publish_version(version)
        record(
            "questionnaire.import",
            "questionnaire_version",
            version.id,
            user=current_user,
            key=version.questionnaire.key,
            number=version.number,
            published=bool(publish),
        )
        db.session.commit()
    except DefinitionInvalid as exc:
        db.session.rollback()
        return None, exc.lines()
    return version, []


@bp.get("/questionnaires/<int:questionnaire_id>")
@require_role(*READ)
def questionnaire(questionnaire_id):
    item = own(db.session.get(Questionnaire, questionnaire_id))
    return render_template("admin/questionnaire.html", questionnaire=item)


@bp.get("/versions/<int:version_id>")
@require_role(*READ)
def version(version_id):
    item = own_version(version_id)
    return render_template(
        "admin/version.html", version=item, questions=parse_questions(item.definition)
    )


@bp.get("/versions/<int:version_id>/export.<fmt>")
@require_role(*READ)
def export(version_id, fmt):
    item = own_version(version_id)
    if fmt not in ("yaml", "json"):
        own(None)
    record("questionnaire.export", "questionnaire_version", item.id, user=current_user, format=fmt)
    db.session.commit()
    mime = "application/yaml" if fmt == "yaml" else "application/json"
    filename = f"{item.questionnaire.key}-v{item.number}.{fmt}"
    return Response(
        export_version(item, fmt),
        mimetype=mime,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require_role(*DESIGN)
def new_campaign():
    form = CampaignForm()
    form.template.choices = [(t["key"], t["title"]["zh"]) for t in all_templates()]
    units = db.session.scalars(
        select(Unit).where(Unit.org_id == current_user.org_id).order_by(Unit.code)
    ).all()
    form.units.choices = [(u.id, f"{u.name} ({u.code})") for u in units]
    problems: dict[str, str] = {}
    if form.validate_on_submit():
        chosen = [u for u in units if u.id in set(form.units.data or [])]
        try:
            campaign = create_from_template(
                current_user.org_id,
                form.template.data,
                name=form.name.data,
                period=form.period.data.strip(),
                channels=form.channels.data or [],
                units=chosen,
            )
            db.session.flush()
            record(
                "campaign.create",
                "campaign",
                campaign.id,
                user=current_user,
                template=form.template.data,
                period=campaign.period,
                channels=campaign.channels,
            )
            db.session.commit()
        except CampaignInvalid as exc:
            db.session.rollback()
            problems = exc.problems
        else:
            flash(_("Campaign created."), "success")
            return redirect(url_for("admin.campaign", campaign_id=campaign.id))
    status = 400 if problems or form.errors else 200
    return render_template("admin/new_campaign.html", form=form, problems=problems), status


@bp.get("/campaigns/<int:campaign_id>")
@require_role(*READ)
def campaign(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    test_code = db.session.scalar(
        select(Link.code).where(Link.campaign_id == item.id, Link.kind == "open").limit(1)
    )
    return render_template(
        "admin/campaign.html",
        campaign=item,
        privacy=privacy_summary(item),
        test_code=test_code,
        extra_endpoints=set(current_app.view_functions),
    )


def _unit_choices(org_id: int):
    units = db.session.scalars(select(Unit).where(Unit.org_id == org_id).order_by(Unit.code)).all()
    return units, [(0, "—")] + [(u.id, f"{u.name} ({u.code})") for u in units]


@bp.route("/campaigns/<int:campaign_id>/links", methods=["GET", "POST"])
@require_role(*READ)
def campaign_links(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    units, choices = _unit_choices(current_user.org_id)
    by_id = {u.id: u for u in units}
    points_form = DistributionPointsForm(prefix="dp")
    points_form.unit.choices = choices
    codes_form = RaterCodesForm(prefix="rc")
    groups = (item.version.definition.get("scoring") or {}).get("rater_groups") or []
    codes_form.group.choices = [(g["key"], localized(g["label"])) for g in groups]
    codes_form.unit.choices = choices
    if request.method == "POST":
        if current_user.role not in DESIGN:
            abort(403)
        if "dp-names" in request.form and points_form.validate():
            names = [n.strip() for n in points_form.names.data.splitlines() if n.strip()]
            for name in names[:1000]:
                add_distribution_point(item, name[:200], unit=by_id.get(points_form.unit.data))
            record(
                "links.add_points",
                "campaign",
                item.id,
                user=current_user,
                count=min(len(names), 1000),
            )
            db.session.commit()
            flash(_("Added %(count)s distribution points.", count=min(len(names), 1000)), "success")
            return redirect(url_for("admin.campaign_links", campaign_id=item.id))
        if "rc-group" in request.form and codes_form.validate():
            try:
                create_rater_codes(
                    item,
                    by_id.get(codes_form.unit.data),
                    codes_form.group.data,
                    codes_form.count.data,
                )
            except ValueError as exc:
                codes_form.count.errors = [str(exc)]
            else:
                record(
                    "links.create_rater_codes",
                    "campaign",
                    item.id,
                    user=current_user,
                    group=codes_form.group.data,
                    count=codes_form.count.data,
                )
                db.session.commit()
                flash(_("Rater codes created."), "success")
                return redirect(url_for("admin.campaign_links", campaign_id=item.id))
    links = db.session.scalars(
        select(Link)
        .where(Link.campaign_id == item.id, Link.kind.in_(("open", "rater")))
        .order_by(Link.id)
    ).all()
    open_links = [link for link in links if link.kind == "open"]
    rater_counts: dict[str, list[int]] = {}
    for link in links:
        if link.kind == "rater":
            used, total = rater_counts.get(link.rater_group, [0, 0])
            rater_counts[link.rater_group] = [used + (link.used_at is not None), total + 1]
    return render_template(
        "admin/links.html",
        campaign=item,
        open_links=open_links,
        rater_counts=rater_counts,
        points_form=points_form,
        codes_form=codes_form,
        base=current_app.config["PUBLIC_BASE_URL"],
    )


@bp.get("/campaigns/<int:campaign_id>/posters")
@require_role(*READ)
def posters(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    links = db.session.scalars(
        select(Link).where(Link.campaign_id == item.id, Link.kind == "open").order_by(Link.id)
    ).all()
    record("links.print_posters", "campaign", item.id, user=current_user, count=len(links))
    db.session.commit()
    sheets = [(link, public_url(link.code), qr_svg_markup(public_url(link.code))) for link in links]
    return render_template("admin/posters.html", campaign=item, sheets=sheets)


@bp.get("/campaigns/<int:campaign_id>/slips")
@require_role(*DESIGN)
def slips(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    links = db.session.scalars(
        select(Link)
        .where(Link.campaign_id == item.id, Link.kind == "rater", Link.used_at.is_(None))
        .order_by(Link.rater_group, Link.id)
    ).all()
    labels = {
        g["key"]: localized(g["label"])
        for g in (item.version.definition.get("scoring") or {}).get("rater_groups") or []
    }
    record("links.print_slips", "campaign", item.id, user=current_user, count=len(links))
    db.session.commit()
    cards = []
    for link in links:
        code = slip_code(link)
        cards.append(
            (
                labels.get(link.rater_group, link.rater_group),
                code,
                public_url(code),
                qr_svg_markup(public_url(code)),
            )
        )
    return render_template("admin/slips.html", campaign=item, cards=cards)


@bp.get("/audit")
@require_role(*ADMIN)
def audit():
    return render_template("admin/audit.html", events=org_events(current_user.org_id))


@bp.post("/campaigns/<int:campaign_id>/void")
@require_role(*ADMIN)
def void(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    form = VoidForm()
    if form.validate_on_submit():
        response = db.session.get(ResponseRow, form.response_id.data.strip())
        if response is not None and response.campaign_id != item.id:
            response = None
        try:
            void_response(response, form.reason.data, current_user)
        except VoidRefused as exc:
            flash(_("Not voided: %(reason)s", reason=str(exc)), "error")
        else:
            db.session.commit()
            flash(_("The response was voided and is excluded from every figure."), "success")
    return redirect(url_for("admin.campaign", campaign_id=item.id))


# The other console pages register their routes on the same blueprint.
from app.admin import editor, monitor, results, setup, users  # noqa: E402,F401
