"""The two-way SMS dialogue: one inbound text in, at most one reply text out.

Provider-neutral: the Twilio webhook, the staff phone simulator and any future domestic gateway
call handle_inbound() with a normalized number, the text and the provider's message id, and send
back the returned reply (TwiML for Twilio). The caller commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app

from app.core.questionnaire import AnswersInvalid
from app.core.sms_text import (
    classify_keyword,
    count_segments,
    localized,
    next_question,
    parse_reply,
    question_prompt,
)
from app.extensions import db
from app.models_base import utcnow
from app.responses.service import record_response
from app.sms import service
from app.sms.messages import message
from app.sms.models import HotlineCase, SmsConversation, SmsInbound
from app.targets.models import Unit

log = logging.getLogger(__name__)


def handle_inbound(
    e164: str, body: str, message_sid: str, now: datetime | None = None
) -> str | None:
    """Answer one inbound text; a repeated message_sid gets the first answer and changes nothing."""
    now = now or utcnow()
    seen = db.session.get(SmsInbound, message_sid)
    if seen is not None:
        return seen.reply
    # No savepoint round trips: if a retry races the first delivery, the loser's commit fails on
    # the primary key, the provider sees a 500 and retries, and then gets the stored reply.
    receipt = SmsInbound(message_sid=message_sid, received_at=now)
    db.session.add(receipt)
    reply, campaign_id = _respond(e164, body or "", now)
    receipt.reply = reply
    receipt.campaign_id = campaign_id
    receipt.reply_segments = count_segments(reply).count if reply else 0
    return reply


def _respond(e164: str, body: str, now: datetime) -> tuple[str | None, int | None]:
    keyword = classify_keyword(body)
    if keyword == "stop":
        conversation = service.find_conversation(e164, now)
        lang = conversation.lang if conversation else "zh"
        service.opt_out(e164, now)
        return message("stopped", lang), conversation.campaign_id if conversation else None
    if keyword == "start":
        service.opt_in(e164)
        return message("started"), None
    if service.is_opted_out(e164):
        return None, None  # an unsubscribed number gets no text at all
    conversation = service.find_conversation(e164, now)
    if keyword == "help":
        campaign = conversation.campaign if conversation else None
        lang = conversation.lang if conversation else "zh"
        org = service.org_name(campaign, lang)
        return message("help", lang, org=org), campaign.id if campaign else None
    if conversation is None:
        return message("no_survey"), None
    return _continue(conversation, body, now), conversation.campaign_id


def _continue(conversation: SmsConversation, body: str, now: datetime) -> str:
    lang = conversation.lang
    campaign = conversation.campaign
    if conversation.status == "completed":
        return message("already_done", lang)
    if conversation.status == "expired":
        return message("expired", lang)
    if conversation.status != "active":
        return message("no_survey", lang)
    if not service.accepting(campaign, now):
        # A reply after the campaign closed: a polite answer, nothing stored.
        _end(conversation, "expired")
        return message("closed", lang)
    if service._aware(conversation.expires_at) < now:
        _end(conversation, "expired")
        return message("expired", lang)
    unit = db.session.get(Unit, conversation.unit_id) if conversation.unit_id else None
    questions = service.sms_questions(campaign, unit)
    answers = dict(conversation.answers or {})
    result = parse_reply(body, questions, answers)
    conversation.started = True
    answers.update(result.answers)
    conversation.answers = answers  # a new dict, so the JSON column sees the change
    conversation.updated_at = now
    failed = result.failed
    if failed is None and not result.answers:
        failed = next_question(questions, answers)
    if failed is not None:
        conversation.retries += 1
        if conversation.retries > current_app.config.get("SMS_REPLY_RETRIES", 2):
            _end(conversation, "abandoned")
            return message("gave_up", lang)
        return f"{message('not_understood', lang)}{question_prompt(failed, lang)}"
    conversation.retries = 0
    upcoming = next_question(questions, answers)
    if upcoming is not None:
        conversation.expires_at = now + service.conversation_ttl()
        return question_prompt(upcoming, lang)
    return _complete(conversation, campaign, unit, answers, now)


def _complete(conversation, campaign, unit, answers, now) -> str:
    lang = conversation.lang
    try:
        record_response(
            campaign,
            answers,
            channel="hotline" if conversation.channel == "hotline" else "sms",
            idempotency_key=conversation.idempotency_key,
            unit=unit,
            is_test=conversation.is_test,
            now=now,
        )
    except AnswersInvalid as exc:
        # Only the problem paths are logged: their messages may quote answers.
        log.warning(
            "SMS conversation %s could not be recorded: %s",
            conversation.id,
            ", ".join(p.path for p in exc.problems),
        )
        _end(conversation, "failed")
        return message("failed", lang)
    _end(conversation, "completed")
    thanks = localized(campaign.version.definition.get("thanks"), lang)
    return thanks or message("thanks", lang)


def _end(conversation: SmsConversation, status: str) -> None:
    """Close a conversation; its partial answers go (a finished one's live on, unlinked, as a response)."""
    conversation.status = status
    conversation.answers = {}
    if conversation.case_id is not None:
        case = db.session.get(HotlineCase, conversation.case_id)
        if case is not None:
            case.status = {"completed": "completed", "opted_out": "opted_out"}.get(
                status, "expired"
            )
