"""Staff SMS pages under /admin/sms: contacts upload, cost and funnel, sending, phone simulator.

The simulator feeds a typed reply through the same dialogue code as the Twilio webhook
(handle_inbound), so a whole SMS dialogue can be tried on a laptop with the console backend.
Phone numbers travel only in POST bodies, never in a URL.
"""

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.accounts.roles import DESIGN, READ, own, require_role
from app.campaigns.models import Campaign
from app.channels.senders import ConsoleSender, get_sender
from app.core.phones import InvalidPhone, normalize_phone
from app.extensions import db
from app.jobs import enqueue
from app.sms import service
from app.sms.dialogue import handle_inbound
from app.sms.models import SmsOutbox, SmsUpload

bp = Blueprint("sms_admin", __name__)

# The upload's line errors are stored in English and translated when shown (see sms/campaign.html).
LINE_ERRORS = (
    _l("no phone number"),
    _l("not a valid phone number"),
    _l("sex must be 男/女 (or M/F)"),
    _l("district is longer than 60 characters"),
    _l("age_band is longer than 60 characters"),
    _l("the line is not valid CSV; the rest was not read"),
)


class UploadForm(FlaskForm):
    file = FileField(_l("Contacts (CSV with a phone column)"), validators=[FileRequired()])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class SimulatorForm(FlaskForm):
    phone = StringField(_l("Phone number"), validators=[DataRequired(), Length(max=40)])
    body = StringField(_l("Reply text"), validators=[DataRequired(), Length(max=480)])


@bp.get("/campaigns/<int:campaign_id>")
@require_role(*READ)
def campaign(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    uploads = db.session.scalars(
        select(SmsUpload)
        .where(SmsUpload.campaign_id == item.id)
        .order_by(SmsUpload.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "sms/campaign.html",
        campaign=item,
        funnel=service.funnel(item),
        estimate=service.cost_estimate(item),
        uploads=uploads,
        upload_form=UploadForm(),
        action_form=ActionForm(),
        max_segments=current_app.config.get("SMS_MAX_SEGMENTS", 3),
    )


@bp.post("/campaigns/<int:campaign_id>/contacts")
@require_role(*DESIGN)
def upload_contacts(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV file to upload."), "error")
        return redirect(url_for("sms_admin.campaign", campaign_id=item.id))
    upload = form.file.data
    try:
        service.start_contact_upload(
            item, upload.filename or "contacts.csv", upload.read(service.MAX_UPLOAD_BYTES + 1)
        )
    except service.ContactsInvalid as exc:
        db.session.rollback()
        for problem in exc.problems:
            flash(problem, "error")
        return redirect(url_for("sms_admin.campaign", campaign_id=item.id))
    db.session.commit()  # the processing job runs after this commit, in the background
    flash(_("The contacts are being imported; this page shows the progress."), "success")
    return redirect(url_for("sms_admin.campaign", campaign_id=item.id))


@bp.post("/campaigns/<int:campaign_id>/send")
@require_role(*DESIGN)
def send(campaign_id):
    item = own(db.session.get(Campaign, campaign_id))
    if not ActionForm().validate_on_submit():
        abort(400)
    if service.sms_mode(item) is None or item.status != "open":
        flash(_("Only an open campaign with an SMS channel can send texts."), "error")
        return redirect(url_for("sms_admin.campaign", campaign_id=item.id))
    from app.sms.jobs import send_campaign

    # Recorded first, so the tick finishes the job even if the broker is down right now.
    service.request_sending(item)
    enqueue(send_campaign, item.id)
    db.session.commit()  # the job is dispatched when the request's transaction commits
    flash(_("Sending has started; texts go out within the send window."), "success")
    return redirect(url_for("sms_admin.campaign", campaign_id=item.id))


def _simulator_enabled() -> bool:
    # With a real provider, a typed reply would answer for a real citizen: console backend only.
    return isinstance(get_sender(current_app), ConsoleSender)


def _texts_for(e164: str) -> list[dict]:
    """The org's outbox texts to this number, newest first (decrypted for the trainer)."""
    campaigns = db.session.scalars(
        select(Campaign).where(Campaign.org_id == current_user.org_id)
    ).all()
    rows = []
    cipher = service.cipher()
    for campaign in campaigns:
        key = service.pseudonym(campaign.id, e164)
        for row in db.session.scalars(
            select(SmsOutbox)
            .where(SmsOutbox.campaign_id == campaign.id, SmsOutbox.respondent_key == key)
            .order_by(SmsOutbox.id.desc())
            .limit(20)
        ):
            body = cipher.decrypt(row.body_encrypted) if row.body_encrypted else ""
            rows.append({"campaign": campaign.name, "row": row, "body": body})
    rows.sort(key=lambda r: r["row"].id, reverse=True)
    return rows[:40]


@bp.get("/simulator")
@require_role(*READ)
def simulator():
    return render_template(
        "sms/simulator.html",
        form=SimulatorForm(),
        enabled=_simulator_enabled(),
        exchange=None,
        texts=[],
        action_form=ActionForm(),
    )


@bp.post("/simulator")
@require_role(*DESIGN)
def simulator_reply():
    form = SimulatorForm()
    enabled = _simulator_enabled()
    exchange, texts, status = None, [], 200
    if not enabled:
        status = 409
    elif form.validate_on_submit():
        try:
            e164 = normalize_phone(form.phone.data, current_app.config["DEFAULT_PHONE_REGION"])
        except InvalidPhone:
            form.phone.errors.append(_("Not a valid phone number."))
            status = 400
        else:
            reply = handle_inbound(e164, form.body.data, "SIM" + secrets.token_hex(16))
            db.session.commit()
            exchange = {"sent": form.body.data, "reply": reply}
            texts = _texts_for(e164)
            form.body.data = ""
    else:
        status = 400
    return render_template(
        "sms/simulator.html",
        form=form,
        enabled=enabled,
        exchange=exchange,
        texts=texts,
        action_form=ActionForm(),
    ), status


@bp.post("/simulator/tick")
@require_role(*DESIGN)
def simulator_tick():
    if not ActionForm().validate_on_submit():
        abort(400)
    if _simulator_enabled():
        from app.sms.jobs import tick

        tick()
        flash(_("Due follow-ups, reminders and queued texts were processed."), "success")
    return redirect(url_for("sms_admin.simulator"))
