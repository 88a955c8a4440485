"""Twilio webhooks at /sms: verify the signature, pseudonymize, hand to the dialogue, answer TwiML.

Point a Twilio number's "A message comes in" webhook at PUBLIC_BASE_URL/sms/twilio/inbound
(HTTP POST). Status callbacks are requested per message at /sms/twilio/status?outbox=<id>.
"""

import logging

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from app.core.phones import InvalidPhone, normalize_phone
from app.extensions import csrf, db
from app.sms import service
from app.sms.dialogue import handle_inbound

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms", cli_group="sms")
# Twilio signs its posts; a CSRF token cannot be part of them.
csrf.exempt(bp)

MAX_SID = 64


def signed_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path + the raw query string.

    Behind a TLS proxy request.url has the wrong scheme or host, and Werkzeug decodes its
    percent-escapes, so the URL is rebuilt from configuration and the undecoded query string.
    """
    url = current_app.config["PUBLIC_BASE_URL"] + request.path
    query = request.environ.get("QUERY_STRING", "")
    return f"{url}?{query}" if query else url


def verify_signature() -> None:
    """403 unless X-Twilio-Signature is valid for this request and our auth token."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    if not RequestValidator(token).validate(signed_url(), request.form, signature):
        abort(403)


def twiml(text: str | None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), mimetype="application/xml")


@bp.post("/twilio/inbound")
def inbound():
    verify_signature()
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    sender = request.form.get("From", "")
    if not sid or len(sid) > MAX_SID or not sender:
        abort(400)
    try:
        e164 = normalize_phone(sender, current_app.config.get("DEFAULT_PHONE_REGION", "CN"))
    except InvalidPhone:
        return twiml(None)  # a short code or alphanumeric sender: nobody to survey
    reply = handle_inbound(e164, request.form.get("Body", ""), sid)
    db.session.commit()
    return twiml(reply)


@bp.post("/twilio/status")
def status():
    verify_signature()
    try:
        outbox_id = int(request.args.get("outbox", ""))
    except ValueError:
        abort(400)
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    state = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if not sid or len(sid) > MAX_SID:
        abort(400)
    if service.apply_status(outbox_id, sid, state, request.form.get("ErrorCode")):
        db.session.commit()
    # 204 either way: a callback for a purged or unknown row must not be retried forever.
    return Response(status=204)


@bp.cli.command("tick")
def tick_command():
    """Run the periodic SMS work once (follow-ups, reminders, sending, purges): cron it every minute."""
    from app.sms.jobs import tick

    tick()
