"""SMS background jobs: contact uploads, queueing, the throttled at-most-once sender, the tick, purges.

Every job takes ids, re-reads its rows and is safe to run twice (app/jobs.py). The sender claims
each outbox row in the database (committed) before calling the provider, so a worker that dies
mid-call leaves the row 'unknown' for the status callback to reconcile: never a second send.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from app.campaigns.models import Campaign
from app.channels.senders import (
    AmbiguousSendError,
    PermanentSendError,
    SmsSender,
    TransientSendError,
    get_sender,
)
from app.core.contact_crypto import ContactDecryptError
from app.core.sms_text import Throttle
from app.extensions import db
from app.jobs import enqueue, job
from app.models_base import utcnow
from app.sms import service
from app.sms.models import SmsOutbox

log = logging.getLogger(__name__)


@job(name="sms_process_contact_upload")
def process_contact_upload(upload_id: int) -> None:
    """Import an uploaded contacts CSV in chunks, recording progress and line errors."""
    service.process_upload(upload_id)


@job(name="sms_send_campaign")
def send_campaign(campaign_id: int) -> None:
    """Queue the first text for every contact of a campaign, then start sending."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return
    service.queue_campaign_texts(campaign)
    service.mark_queued(campaign)
    enqueue(send_outbox, campaign_id)
    db.session.commit()  # dispatches the enqueued job


@job(name="sms_send_reminders")
def send_reminders(campaign_id: int) -> None:
    """Queue due reminders of a campaign, then start sending."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return
    if service.queue_reminders(campaign):
        enqueue(send_outbox, campaign_id)
    db.session.commit()  # dispatches the enqueued job


@job(name="sms_send_outbox")
def send_outbox(campaign_id: int) -> None:
    """Hand a campaign's due texts to the provider, throttled, inside the send window."""
    run_sender(get_sender(current_app), campaign_id)


def run_sender(
    sender: SmsSender,
    campaign_id: int | None = None,
    *,
    clock=time.monotonic,
    sleep=time.sleep,
    now=utcnow,
    limit: int | None = None,
) -> dict:
    """Send due outbox rows one at a time; returns counts. Clock, sleep and now are injectable."""
    config = current_app.config
    limit = limit or config.get("SMS_BATCH_SIZE", 2000)
    throttle = Throttle(config.get("SMS_RATE_PER_SECOND", 10), clock, sleep)
    max_attempts = config.get("SMS_SEND_RETRIES", 5)
    counts = {"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "skipped": 0}
    handled = 0
    while handled < limit:
        moment = now()
        if not service.send_window_open(moment):
            break
        ids = service.due_outbox_ids(campaign_id, moment, min(200, limit - handled))
        if not ids:
            break
        for outbox_id in ids:
            handled += 1
            if not service.send_window_open(now()):
                return counts
            outcome = _send_one(sender, outbox_id, throttle, now, max_attempts)
            if outcome:
                counts[outcome] += 1
    if handled >= limit and campaign_id is not None and current_app.extensions.get("celery"):
        # More may be due: a fresh task keeps each run well inside the broker's visibility timeout.
        enqueue(send_outbox, campaign_id)
    return counts


def _send_one(sender, outbox_id: int, throttle: Throttle, now, max_attempts: int) -> str | None:
    row = db.session.get(SmsOutbox, outbox_id)
    if row is None or row.status != "pending":
        return None
    moment = now()
    reason = _skip_reason(row, moment)
    if reason:
        service.mark_skipped(row, reason)
        db.session.commit()
        return "skipped"
    to = service.cipher().decrypt(row.to_encrypted)
    body = service.cipher().decrypt(row.body_encrypted)
    throttle.wait()  # before the claim: a worker stopped while pacing leaves the row pending
    if not service.claim(outbox_id, moment):
        return None  # another worker claimed it
    # ---- from here the row is 'unknown' (committed): dying now never leads to a re-send ----
    try:
        result = sender.send(to, body, service.status_callback_url(outbox_id))
    except TransientSendError as exc:
        row = db.session.get(SmsOutbox, outbox_id)
        service.mark_retry(row, exc.code, now(), max_attempts)
        outcome = "retry" if row.status == "pending" else "failed"
    except PermanentSendError as exc:
        service.mark_failed(db.session.get(SmsOutbox, outbox_id), exc.code)
        outcome = "failed"
    except AmbiguousSendError as exc:
        db.session.get(SmsOutbox, outbox_id).error_code = exc.code and exc.code[:20]
        outcome = "unknown"
    else:
        row = db.session.get(SmsOutbox, outbox_id)
        service.mark_sent(row, result.provider, result.sid, result.status, now())
        outcome = "sent"
    db.session.commit()
    return outcome


def _skip_reason(row: SmsOutbox, moment: datetime) -> str | None:
    campaign = row.campaign
    if not service.accepting(campaign, moment):
        return "closed"
    if row.to_encrypted is None or row.body_encrypted is None:
        return "purged"
    try:
        to = service.cipher().decrypt(row.to_encrypted)
    except ContactDecryptError:
        return "undecryptable"
    if service.is_opted_out(to):
        return "opted_out"
    return None


@job(name="sms_purge_contacts")
def purge_contacts(campaign_id: int) -> None:
    """Delete a campaign's contact data once it closed more than its retention days ago."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not service.purge_due(campaign, utcnow()):
        return
    counts = service.purge_campaign_contacts(campaign)
    if counts["contacts"] or counts["outbox"]:
        from app.audit.service import record

        record(
            "contacts.purge",
            "campaign",
            campaign.id,
            org_id=campaign.org_id,
            actor="system",
            contacts=counts["contacts"],
            outbox=counts["outbox"],
        )
    db.session.commit()
    log.info(
        "Purged SMS contact data of campaign %s (%d contacts)", campaign_id, counts["contacts"]
    )


@job(name="sms_tick")
def tick() -> None:
    """Periodic work (run every minute): follow-ups, reminders, expiry, sending and purges."""
    now = utcnow()
    service.expire_conversations(now)
    for campaign_id in service.start_due_followups(now):
        enqueue(send_outbox, campaign_id)
    for campaign in service.sms_campaigns(now):
        if campaign.status == "open":
            if service.sending_requested_not_queued(campaign):
                enqueue(send_campaign, campaign.id)  # its first dispatch was lost
            enqueue(send_reminders, campaign.id)
    due = set(
        db.session.scalars(
            select(SmsOutbox.campaign_id).where(SmsOutbox.status == "pending").distinct()
        )
    )
    for campaign_id in due:
        enqueue(send_outbox, campaign_id)
    closed = db.session.scalars(select(Campaign).where(Campaign.status == "closed"))
    for campaign in closed:
        if service.purge_due(campaign, now):
            enqueue(purge_contacts, campaign.id)
    db.session.commit()
