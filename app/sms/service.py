"""SMS services: contacts, the outbox (claim before send), hotline cases, funnel, cost and purge.

Services take plain values or models and never touch the request; the caller commits, except
where a function says it commits (the send loop's claim must be durable before the provider call).
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Organization
from app.campaigns.models import Campaign, CampaignTarget
from app.core.anonymize import optout_key, respondent_key
from app.core.contact_crypto import ContactCipher
from app.core.periods import period_bounds
from app.core.phones import InvalidPhone, normalize_phone
from app.core.questionnaire import parse_questions
from app.core.sms_text import (
    count_segments,
    estimate_cost,
    in_window,
    localized,
    next_question,
    oversized_questions,
    parse_window,
    question_prompt,
    sms_compatible,
)
from app.extensions import db
from app.jobs import enqueue
from app.models_base import utcnow
from app.responses.models import Response
from app.sms.messages import DEFAULT_ORG, message
from app.sms.models import (
    HotlineCase,
    SmsContact,
    SmsConversation,
    SmsInbound,
    SmsOptOut,
    SmsOutbox,
    SmsUpload,
)
from app.targets.models import Unit

log = logging.getLogger(__name__)

PHONE_COLUMNS = ("phone", "mobile", "tel", "手机", "手机号", "手机号码", "电话", "电话号码", "号码")
STRATA_COLUMNS = {
    "district": ("district", "region", "区县", "区", "地区", "街道"),
    "age_band": ("age_band", "age", "年龄段", "年龄"),
    "sex": ("sex", "gender", "性别"),
}
SEX_VALUES = {
    "男": "male", "m": "male", "male": "male", "女": "female", "f": "female", "female": "female",
}  # fmt: skip
MAX_LISTED_ERRORS = 1000
UPLOAD_CHUNK = 1000
MAX_UPLOAD_BYTES = 48 * 1024 * 1024
HANDED_OVER = ("unknown", "queued", "sent", "delivered", "undelivered")
STATUS_RANK = {
    "pending": 0, "unknown": 1, "queued": 2, "sent": 3, "delivered": 4, "undelivered": 4,
    "failed": 4, "skipped": 4,
}  # fmt: skip
TWILIO_STATUS = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "delivered", "receiving": "delivered",
    "received": "delivered", "undelivered": "undelivered", "failed": "failed",
    "canceled": "failed",
}  # fmt: skip


class ContactsInvalid(ValueError):
    """An upload cannot be read at all (not CSV text, no phone column); .problems says why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


EARLIEST_CASE = datetime(2000, 1, 1, tzinfo=UTC)


class CaseInvalid(ValueError):
    """A hotline case cannot be registered; .problems maps fields to reasons (never the input)."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


# ---------------------------------------------------------------------------------------------
# Keys and encryption
# ---------------------------------------------------------------------------------------------


def _secret() -> bytes:
    return current_app.config["RESPONDENT_KEY_SECRET"].encode()


def cipher() -> ContactCipher:
    """The app's contact cipher (built once per app)."""
    ext = current_app.extensions
    if "sms_cipher" not in ext:
        ext["sms_cipher"] = ContactCipher(current_app.config["CONTACT_ENCRYPTION_KEYS"])
    return ext["sms_cipher"]


def pseudonym(campaign_id: int, e164: str) -> str:
    """The campaign-scoped respondent key of a normalized phone."""
    return respondent_key(_secret(), campaign_id, e164)


def optout_pseudonym(e164: str) -> str:
    """The campaign-independent opt-out key of a normalized phone."""
    return optout_key(_secret(), e164)


def is_opted_out(e164: str) -> bool:
    """Whether the number has unsubscribed (from every campaign)."""
    return db.session.get(SmsOptOut, optout_pseudonym(e164)) is not None


def campaign_lang(campaign: Campaign) -> str:
    """The language of the texts a campaign sends (settings.sms.lang; Chinese by default)."""
    return ((campaign.settings or {}).get("sms") or {}).get("lang", "zh")


def org_name(campaign: Campaign | None, lang: str = "zh") -> str:
    if campaign is None:
        return DEFAULT_ORG.get(lang, DEFAULT_ORG["zh"])
    org = db.session.get(Organization, campaign.org_id)
    return org.name if org is not None else DEFAULT_ORG["zh"]


def sms_questions(campaign: Campaign, unit: Unit | None = None) -> list:
    """The campaign's questions that can be asked by SMS, in order."""
    from app.responses.service import resolve_definition

    return [q for q in parse_questions(resolve_definition(campaign, unit)) if sms_compatible(q)]


def accepting(campaign: Campaign, now: datetime) -> bool:
    """Whether a campaign takes answers now (open and inside its times)."""
    if campaign.status != "open":
        return False
    return not (
        (campaign.opens_at and now < _aware(campaign.opens_at))
        or (campaign.closes_at and now >= _aware(campaign.closes_at))
    )


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Contacts upload
# ---------------------------------------------------------------------------------------------


def decode_upload(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Chinese Excel saves); else ContactsInvalid."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ContactsInvalid(["the file is neither UTF-8 nor GB18030 text"])


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in PHONE_COLUMNS and "phone" not in found:
            found["phone"] = index
        for key, aliases in STRATA_COLUMNS.items():
            if name in aliases and key not in found:
                found[key] = index
    return found


def _check_header(text: str) -> dict[str, int]:
    try:
        header = next(csv.reader(io.StringIO(text)), None)
    except csv.Error:
        header = None
    if not header:
        raise ContactsInvalid(["the file is empty"])
    columns = _columns(header)
    if "phone" not in columns:
        raise ContactsInvalid(
            ["line 1: no phone column (name one of: " + ", ".join(PHONE_COLUMNS[:7]) + ")"]
        )
    return columns


def start_contact_upload(campaign: Campaign, filename: str, raw: bytes) -> SmsUpload:
    """Check the header, store the file encrypted and enqueue its processing; the caller commits."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise ContactsInvalid([f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB"])
    text = decode_upload(raw)
    _check_header(text)
    upload = SmsUpload(
        campaign_id=campaign.id,
        filename=(filename or "upload.csv")[:200],
        status="pending",
        payload_encrypted=cipher().encrypt(text),
        total_rows=max(0, text.count("\n") - (0 if text.endswith("\n") else -1) - 1),
    )
    db.session.add(upload)
    db.session.flush()
    from app.sms.jobs import process_contact_upload

    enqueue(process_contact_upload, upload.id)
    return upload


def _row_contact(row: list[str], columns: dict[str, int], region: str) -> tuple[str, dict]:
    """(E.164, strata) of one CSV row; ValueError with a message that never quotes the row."""
    index = columns["phone"]
    raw = row[index].strip() if index < len(row) else ""
    if not raw:
        raise ValueError("no phone number")
    try:
        e164 = normalize_phone(raw, region)
    except InvalidPhone:
        raise ValueError("not a valid phone number") from None
    strata = {}
    for key in STRATA_COLUMNS:
        if key in columns and columns[key] < len(row) and row[columns[key]].strip():
            value = row[columns[key]].strip()
            if "\x00" in value:
                # PostgreSQL cannot store NUL in JSON: a line error, not a failed import.
                raise ValueError(f"{key} contains a NUL character")
            if key == "sex":
                if value.lower() not in SEX_VALUES:
                    raise ValueError("sex must be 男/女 (or M/F)")
                value = SEX_VALUES[value.lower()]
            elif len(value) > 60:
                raise ValueError(f"{key} is longer than 60 characters")
            strata[key] = value
    return e164, strata


def process_upload(upload_id: int, chunk: int = UPLOAD_CHUNK) -> SmsUpload | None:
    """Import an upload in one transaction: every contact of the file, or none of them.

    A failure part-way (a failed commit, a lost connection, a bug) rolls the whole file back and
    marks the upload 'failed' with the reason; the encrypted file is kept, so running the job
    again (the worker retries transient database errors) imports it from the start, once.
    A worker killed mid-import leaves it 'processing' with nothing stored, for the retry.
    """
    upload = db.session.get(SmsUpload, upload_id)
    if upload is None or upload.status == "done" or not upload.payload_encrypted:
        return upload
    upload.status = "processing"
    _reset_counts(upload)
    text = cipher().decrypt(upload.payload_encrypted)
    upload.total_rows = max(0, len(text.splitlines()) - 1)  # lines; exact once done
    db.session.commit()
    # Counted apart from the upload row, which this transaction leaves alone until the end so
    # that progress can be reported from another connection meanwhile.
    counts = SimpleNamespace(processed_rows=0, accepted=0, duplicates=0, invalid=0, errors=[])
    try:
        columns = _check_header(text)
        region = current_app.config.get("DEFAULT_PHONE_REGION", "CN")
        reader = csv.reader(io.StringIO(text))
        next(reader)
        batch: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                batch.append((reader.line_num, row))
                if len(batch) >= chunk:
                    _import_batch(upload.campaign_id, counts, batch, columns, region)
                    _report_progress(upload_id, counts.processed_rows)
                    batch = []
        except csv.Error:
            _add_error(counts, reader.line_num, "the line is not valid CSV; the rest was not read")
        if batch:
            _import_batch(upload.campaign_id, counts, batch, columns, region)
        for name, value in vars(counts).items():
            setattr(upload, name, value)
        upload.status = "done"
        upload.payload_encrypted = None
        upload.total_rows = upload.processed_rows
        upload.finished_at = utcnow()
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        _mark_failed(upload_id, exc)
        raise
    return upload


def _reset_counts(upload: SmsUpload) -> None:
    upload.processed_rows = upload.accepted = upload.duplicates = upload.invalid = 0
    upload.errors = []


def _mark_failed(upload_id: int, exc: Exception) -> None:
    """Record that an import was rolled back; when even that fails, the retry will say more."""
    try:
        upload = db.session.get(SmsUpload, upload_id)
        upload.status = "failed"
        _reset_counts(upload)
        # The class name only: an exception's text may quote a phone number.
        upload.errors = [
            {
                "line": 0,
                "message": f"the import failed ({type(exc).__name__}) and was undone: no contact "
                "of this file was stored; it runs again on the next try",
            }
        ]
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be the thing that failed
        db.session.rollback()
        log.warning("contacts upload %s: could not record its failure", upload_id)


def _add_error(counts, line: int, text: str) -> None:
    counts.invalid += 1
    if len(counts.errors) < MAX_LISTED_ERRORS:
        counts.errors.append({"line": line, "message": text})


def _report_progress(upload_id: int, processed: int) -> None:
    """Show how far an import has got, from a connection of its own (the import's transaction
    stays open until the whole file is in). SQLite has one writer at a time: it shows the end."""
    if db.engine.dialect.name == "sqlite":
        return
    with db.engine.begin() as conn:
        conn.execute(
            update(SmsUpload).where(SmsUpload.id == upload_id).values(processed_rows=processed)
        )


def _import_batch(campaign_id, counts, batch, columns, region) -> None:
    enc = cipher()
    fresh: dict[str, dict] = {}
    for line, row in batch:
        if not any(cell.strip() for cell in row):
            counts.processed_rows += 1
            continue  # blank lines are not errors
        try:
            e164, strata = _row_contact(row, columns, region)
        except ValueError as exc:
            _add_error(counts, line, str(exc))
            counts.processed_rows += 1
            continue
        key = pseudonym(campaign_id, e164)
        if key in fresh:
            counts.duplicates += 1
        else:
            fresh[key] = {
                "campaign_id": campaign_id,
                "respondent_key": key,
                "phone_encrypted": enc.encrypt(e164),
                "strata": strata,
                "source": "upload",
                "created_at": utcnow(),
            }
        counts.processed_rows += 1
    if fresh:
        existing = set(
            db.session.scalars(
                select(SmsContact.respondent_key).where(
                    SmsContact.campaign_id == campaign_id,
                    SmsContact.respondent_key.in_(list(fresh)),
                )
            )
        )
        counts.duplicates += len(existing)
        rows = [row for key, row in fresh.items() if key not in existing]
        if rows:
            db.session.execute(insert(SmsContact), rows)
        counts.accepted += len(rows)
    db.session.flush()  # the file commits once, whole (process_upload)


# ---------------------------------------------------------------------------------------------
# Outbox
# ---------------------------------------------------------------------------------------------


def queue_text(
    campaign: Campaign,
    key: str,
    step: str,
    e164: str,
    body: str,
    conversation: SmsConversation | None = None,
) -> SmsOutbox | None:
    """Add one outbox row for (person, step), or None if that step was already queued."""
    exists = db.session.scalar(
        select(SmsOutbox.id).where(
            SmsOutbox.campaign_id == campaign.id,
            SmsOutbox.respondent_key == key,
            SmsOutbox.step == step,
        )
    )
    if exists is not None:
        return None
    segments = count_segments(body)
    enc = cipher()
    row = SmsOutbox(
        campaign_id=campaign.id,
        respondent_key=key,
        step=step,
        conversation_id=conversation.id if conversation is not None else None,
        to_encrypted=enc.encrypt(e164),
        body_encrypted=enc.encrypt(body),
        encoding=segments.encoding,
        segments=segments.count,
        status="pending",
        next_attempt_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None  # a concurrent run queued the same step first
    return row


def due_outbox_ids(campaign_id: int | None, now: datetime, limit: int) -> list[int]:
    """Pending rows whose next attempt is due, oldest first."""
    query = select(SmsOutbox.id).where(
        SmsOutbox.status == "pending",
        or_(SmsOutbox.next_attempt_at.is_(None), SmsOutbox.next_attempt_at <= now),
    )
    if campaign_id is not None:
        query = query.where(SmsOutbox.campaign_id == campaign_id)
    return list(db.session.scalars(query.order_by(SmsOutbox.id).limit(limit)))


def claim(outbox_id: int, now: datetime) -> bool:
    """Atomically move a pending row to 'unknown' and COMMIT; False if another worker has it.

    From here on the row is never sent again automatically: if the process dies before the
    provider's answer is written, it stays 'unknown' until a status callback reconciles it.
    """
    result = db.session.execute(
        update(SmsOutbox)
        .where(SmsOutbox.id == outbox_id, SmsOutbox.status == "pending")
        .values(status="unknown", claimed_at=now, attempts=SmsOutbox.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def mark_skipped(row: SmsOutbox, reason: str) -> None:
    row.status = "skipped"
    row.error_code = reason


def mark_sent(row: SmsOutbox, provider: str, sid: str, status: str, now: datetime) -> None:
    row.provider = provider
    row.provider_sid = sid
    row.status = TWILIO_STATUS.get(status, "queued")
    if row.conversation_id is not None:
        conversation = db.session.get(SmsConversation, row.conversation_id)
        if conversation is not None and conversation.status == "active":
            conversation.expires_at = now + conversation_ttl()
            conversation.updated_at = now


def mark_retry(row: SmsOutbox, code: str | None, now: datetime, max_attempts: int) -> None:
    """A transient refusal: back to pending with exponential backoff, or failed when out of tries."""
    row.error_code = code
    if row.attempts >= max_attempts:
        row.status = "failed"
        return
    row.status = "pending"
    row.claimed_at = None
    row.next_attempt_at = now + timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))


def mark_failed(row: SmsOutbox, code: str | None) -> None:
    row.status = "failed"
    row.error_code = code


def status_callback_url(outbox_id: int) -> str:
    """Where the provider reports delivery: carries the outbox id only (no number, no token)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/sms/twilio/status?outbox={outbox_id}"


def send_window_open(now: datetime) -> bool:
    """Whether now, in TIMEZONE, is inside SMS_SEND_WINDOW."""
    window = parse_window(current_app.config.get("SMS_SEND_WINDOW", "08:00-21:00"))
    local = now.astimezone(ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai")))
    return in_window(local.time(), window)


def apply_status(outbox_id: int, message_sid: str, status: str, error_code: str | None) -> bool:
    """Record a delivery status callback; never moves a row backwards. False if it fits no row."""
    row = db.session.get(SmsOutbox, outbox_id)
    if row is None or not message_sid:
        return False
    if row.provider_sid and row.provider_sid != message_sid:
        return False
    new = TWILIO_STATUS.get((status or "").lower())
    if new is None:
        return False
    # Reconciliation: a row left 'unknown' by a crashed worker learns its fate here.
    row.provider_sid = row.provider_sid or message_sid
    row.provider = row.provider or "twilio"
    if STATUS_RANK[new] > STATUS_RANK.get(row.status, 0) or row.status == "unknown":
        row.status = new
    if error_code:
        row.error_code = str(error_code)[:20]
    return True


# ---------------------------------------------------------------------------------------------
# Conversations, invitations, reminders
# ---------------------------------------------------------------------------------------------


def conversation_ttl() -> timedelta:
    return timedelta(hours=current_app.config.get("SMS_CONVERSATION_HOURS", 72))


def new_conversation(
    campaign: Campaign,
    key: str,
    *,
    unit: Unit | None = None,
    case: HotlineCase | None = None,
    channel: str = "sms",
    is_test: bool = False,
    now: datetime | None = None,
) -> SmsConversation:
    """Add an active conversation with a random idempotency key; the caller commits."""
    now = now or utcnow()
    conversation = SmsConversation(
        campaign_id=campaign.id,
        respondent_key=key,
        idempotency_key=secrets.token_hex(16),
        status="active",
        answers={},
        lang=campaign_lang(campaign),
        unit_id=unit.id if unit is not None else None,
        case_id=case.id if case is not None else None,
        channel=channel,
        is_test=is_test,
        expires_at=now + conversation_ttl(),
        created_at=now,
        updated_at=now,
    )
    db.session.add(conversation)
    db.session.flush()
    return conversation


def dialogue_opening(campaign: Campaign, unit: Unit | None = None) -> str:
    """The first text of a dialogue: who asks, the intro, the first question and the opt-out hint."""
    lang = campaign_lang(campaign)
    definition = campaign.version.definition
    questions = sms_questions(campaign, unit)
    first = next_question(questions, {})
    intro = localized(definition.get("sms_intro") or definition.get("description"), lang)
    if not intro:
        intro = message("dialogue_intro", lang, title=localized(definition.get("title"), lang))
    return message(
        "dialogue_start",
        lang,
        org=org_name(campaign, lang),
        intro=intro,
        prompt=question_prompt(first, lang) if first else "",
        hint=_hint(lang),
    )


def _hint(lang: str) -> str:
    hint = current_app.config.get("SMS_OPT_OUT_HINT", "回T退订")
    return hint if lang == "zh" else "Reply T to unsubscribe."


def invitation_text(campaign: Campaign, link: str, reminder: bool = False) -> str:
    lang = campaign_lang(campaign)
    return message(
        "invite_reminder" if reminder else "invite",
        lang,
        org=org_name(campaign, lang),
        title=localized(campaign.version.definition.get("title"), lang),
        link=link,
        hint=_hint(lang),
    )


def sms_mode(campaign: Campaign) -> str | None:
    """'dialogue' (two-way) or 'invite' (a link to the web survey), from the campaign's channels."""
    channels = campaign.channels or []
    if "sms_dialogue" in channels:
        return "dialogue"
    if "sms_invite" in channels:
        return "invite"
    return None


def _contacts(campaign_id: int, after_id: int, limit: int) -> list[SmsContact]:
    return list(
        db.session.scalars(
            select(SmsContact)
            .where(
                SmsContact.campaign_id == campaign_id,
                SmsContact.id > after_id,
                SmsContact.source == "upload",
            )
            .order_by(SmsContact.id)
            .limit(limit)
        )
    )


def queue_campaign_texts(campaign: Campaign, now: datetime | None = None) -> int:
    """Queue the first text (invitation or dialogue opening) for every uploaded contact; commits per batch.

    Safe to run twice: the outbox's (person, step) key admits one row per step.
    """
    now = now or utcnow()
    mode = sms_mode(campaign)
    if mode is None or not accepting(campaign, now):
        return 0
    step = "invite" if mode == "invite" else "dialogue"
    opening = dialogue_opening(campaign) if mode == "dialogue" else None
    enc = cipher()
    queued, after = 0, 0
    while True:
        contacts = _contacts(campaign.id, after, 500)
        if not contacts:
            break
        after = contacts[-1].id
        done = set(
            db.session.scalars(
                select(SmsOutbox.respondent_key).where(
                    SmsOutbox.campaign_id == campaign.id,
                    SmsOutbox.step == step,
                    SmsOutbox.respondent_key.in_([c.respondent_key for c in contacts]),
                )
            )
        )
        for contact in contacts:
            if contact.respondent_key in done:
                continue
            e164 = enc.decrypt(contact.phone_encrypted)
            if mode == "invite":
                body = invitation_text(campaign, _invitation_link(campaign))
                row = queue_text(campaign, contact.respondent_key, step, e164, body)
            else:
                conversation = new_conversation(campaign, contact.respondent_key, now=now)
                row = queue_text(
                    campaign, contact.respondent_key, step, e164, opening, conversation
                )
            queued += row is not None
        db.session.commit()
    return queued


def _invitation_link(campaign: Campaign) -> str:
    from app.links.service import create_invitation_link

    expires = _aware(campaign.closes_at)
    return create_invitation_link(campaign, expires)


def queue_reminders(campaign: Campaign, now: datetime | None = None) -> int:
    """Queue reminder k (1..SMS_REMINDER_COUNT) for people whose last text is N days old; commits.

    Dialogue mode reminds only people who have not completed (or ended) their dialogue and
    re-asks their current question; invitation mode cannot know who answered (links are
    anonymous), so it sends a fresh link to everyone who has not opted out.
    """
    now = now or utcnow()
    mode = sms_mode(campaign)
    config = current_app.config
    count, after_days = (
        config.get("SMS_REMINDER_COUNT", 1),
        config.get("SMS_REMINDER_AFTER_DAYS", 3),
    )
    if mode is None or count < 1 or not accepting(campaign, now):
        return 0
    first = "invite" if mode == "invite" else "dialogue"
    cutoff = now - timedelta(days=after_days)
    enc = cipher()
    queued = 0
    for k in range(1, count + 1):
        previous = first if k == 1 else f"reminder:{k - 1}"
        step = f"reminder:{k}"
        rows = db.session.scalars(
            select(SmsOutbox).where(
                SmsOutbox.campaign_id == campaign.id,
                SmsOutbox.step == previous,
                SmsOutbox.status.in_(("queued", "sent", "delivered", "unknown")),
                SmsOutbox.updated_at <= cutoff,
            )
        ).all()
        for previous_row in rows:
            if previous_row.to_encrypted is None:
                continue
            e164 = enc.decrypt(previous_row.to_encrypted)
            conversation = None
            if mode == "dialogue":
                conversation = _latest_conversation(campaign.id, previous_row.respondent_key)
                if conversation is None or conversation.status not in ("active", "expired"):
                    continue
                question = next_question(sms_questions(campaign), conversation.answers or {})
                if question is None:
                    continue
                lang = conversation.lang
                body = message(
                    "dialogue_reminder",
                    lang,
                    org=org_name(campaign, lang),
                    prompt=question_prompt(question, lang),
                    hint=_hint(lang),
                )
                conversation.status = "active"
                conversation.expires_at = now + conversation_ttl()
            else:
                body = invitation_text(campaign, _invitation_link(campaign), reminder=True)
            queued += (
                queue_text(campaign, previous_row.respondent_key, step, e164, body, conversation)
                is not None
            )
        db.session.commit()
    return queued


def _latest_conversation(campaign_id: int, key: str) -> SmsConversation | None:
    return db.session.scalar(
        select(SmsConversation)
        .where(SmsConversation.campaign_id == campaign_id, SmsConversation.respondent_key == key)
        .order_by(SmsConversation.id.desc())
        .limit(1)
    )


def request_sending(campaign: Campaign) -> None:
    """Record that staff asked to send; the caller commits."""
    sms = dict((campaign.settings or {}).get("sms") or {})
    sms["send_requested"] = True
    campaign.settings = {**(campaign.settings or {}), "sms": sms}


def mark_queued(campaign: Campaign) -> None:
    """Record that a campaign's first texts are queued; the caller commits."""
    sms = dict((campaign.settings or {}).get("sms") or {})
    sms["queued"] = True
    campaign.settings = {**(campaign.settings or {}), "sms": sms}


def sending_requested_not_queued(campaign: Campaign) -> bool:
    """Staff asked to send, but the texts were never queued (e.g. the broker was down)."""
    sms = (campaign.settings or {}).get("sms") or {}
    return bool(sms.get("send_requested")) and not sms.get("queued")


def sms_campaigns(now: datetime, include_recently_closed: bool = True) -> list[Campaign]:
    """Campaigns that talk by SMS and are open (or closed within the last 30 days)."""
    # The date filter runs in SQL: closed campaigns pile up over the years, and every inbound
    # text asks this. The channel list is JSON, so that part is checked here.
    recent = and_(
        Campaign.status == "closed",
        or_(Campaign.closes_at.is_(None), Campaign.closes_at >= now - timedelta(days=30)),
    )
    wanted = (
        or_(Campaign.status == "open", recent)
        if include_recently_closed
        else (Campaign.status == "open")
    )
    return [
        campaign
        for campaign in db.session.scalars(select(Campaign).where(wanted))
        if set(campaign.channels or []) & {"sms_dialogue", "sms_invite", "hotline"}
    ]


def find_conversation(e164: str, now: datetime) -> SmsConversation | None:
    """The phone's most recent conversation in any SMS campaign (active ones first)."""
    pairs = [(c.id, pseudonym(c.id, e164)) for c in sms_campaigns(now)]
    if not pairs:
        return None
    match = or_(
        *(
            and_(SmsConversation.campaign_id == cid, SmsConversation.respondent_key == key)
            for cid, key in pairs
        )
    )
    return db.session.scalar(
        select(SmsConversation)
        .where(match)
        .order_by((SmsConversation.status == "active").desc(), SmsConversation.updated_at.desc())
        .limit(1)
        # Two texts of one person handled at once must not both extend the same answers.
        .with_for_update()
    )


def opt_out(e164: str, now: datetime) -> None:
    """Unsubscribe a number from every campaign at once: list it, cancel its queued texts."""
    key = optout_pseudonym(e164)
    if db.session.get(SmsOptOut, key) is None:
        try:
            with db.session.begin_nested():
                db.session.add(SmsOptOut(optout_key=key, created_at=now))
        except IntegrityError:
            pass  # a concurrent STOP listed it first
    for campaign in sms_campaigns(now):
        rkey = pseudonym(campaign.id, e164)
        db.session.execute(
            update(SmsOutbox)
            .where(
                SmsOutbox.campaign_id == campaign.id,
                SmsOutbox.respondent_key == rkey,
                SmsOutbox.status == "pending",
            )
            .values(status="skipped", error_code="opted_out", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        for conversation in db.session.scalars(
            select(SmsConversation).where(
                SmsConversation.campaign_id == campaign.id,
                SmsConversation.respondent_key == rkey,
                SmsConversation.status == "active",
            )
        ):
            conversation.status = "opted_out"
            conversation.answers = {}
            if conversation.case_id is not None:
                case = db.session.get(HotlineCase, conversation.case_id)
                if case is not None:
                    case.status = "opted_out"


def opt_in(e164: str) -> None:
    """START: take a number off the opt-out list."""
    row = db.session.get(SmsOptOut, optout_pseudonym(e164))
    if row is not None:
        db.session.delete(row)


# ---------------------------------------------------------------------------------------------
# Hotline cases
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    case: HotlineCase
    created: bool


def _hotline_campaign(org_id: int, unit: Unit, handled_at: datetime, campaign_id: int | None):
    query = (
        select(Campaign)
        .join(CampaignTarget, CampaignTarget.campaign_id == Campaign.id)
        .where(
            Campaign.org_id == org_id,
            Campaign.status == "open",
            CampaignTarget.unit_id == unit.id,
        )
        .order_by(Campaign.id.desc())
    )
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    candidates = [c for c in db.session.scalars(query) if "hotline" in (c.channels or [])]
    local_day = handled_at.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    for campaign in candidates:
        try:
            first, after = period_bounds(campaign.period)
        except ValueError:
            continue
        if first <= local_day < after:
            return campaign
    return candidates[0] if candidates else None


def register_case(
    org_id: int,
    case_ref: str,
    phone: str,
    unit_code: str,
    handled_at: datetime,
    campaign_id: int | None = None,
    now: datetime | None = None,
) -> Registered:
    """Register a handled case and schedule its follow-up; a repeated case_ref returns the first.

    The phone is kept only encrypted (in the campaign's contacts) and as pseudonyms.
    """
    now = now or utcnow()
    case_ref = (case_ref or "").strip()
    problems: dict[str, str] = {}
    if not case_ref or len(case_ref) > 100:
        problems["case_ref"] = "a case reference of 1 to 100 characters is required"
    existing = db.session.scalar(
        select(HotlineCase).where(HotlineCase.org_id == org_id, HotlineCase.case_ref == case_ref)
    )
    if existing is not None and not problems:
        return Registered(existing, False)
    try:
        e164 = normalize_phone(phone, current_app.config.get("DEFAULT_PHONE_REGION", "CN"))
    except InvalidPhone:
        problems["phone"] = "not a valid phone number"
    unit = db.session.scalar(select(Unit).where(Unit.org_id == org_id, Unit.code == unit_code))
    if unit is None:
        problems["unit_code"] = "no unit with this code in your organization"
    handled_at = _aware(handled_at)
    if handled_at is not None and handled_at > now + timedelta(minutes=5):
        problems["handled_at"] = "must not be in the future"
    elif handled_at is not None and handled_at < EARLIEST_CASE:
        # Also keeps local-time conversion of year-1 timestamps from overflowing (a 500).
        problems["handled_at"] = "must not be before 2000"
    campaign = None
    if unit is not None and "handled_at" not in problems:
        campaign = _hotline_campaign(org_id, unit, handled_at, campaign_id)
        if campaign is None:
            problems["campaign_id" if campaign_id else "unit_code"] = (
                "no open hotline campaign has this unit as a target"
            )
    if problems:
        raise CaseInvalid(problems)
    key = pseudonym(campaign.id, e164)
    contact = db.session.scalar(
        select(SmsContact).where(
            SmsContact.campaign_id == campaign.id, SmsContact.respondent_key == key
        )
    )
    if contact is None:
        contact = SmsContact(
            campaign_id=campaign.id,
            respondent_key=key,
            phone_encrypted=cipher().encrypt(e164),
            strata={},
            source="hotline",
        )
        db.session.add(contact)
        db.session.flush()
    delay = timedelta(minutes=current_app.config.get("HOTLINE_FOLLOWUP_DELAY_MINUTES", 60))
    case = HotlineCase(
        org_id=org_id,
        campaign_id=campaign.id,
        unit_id=unit.id,
        contact_id=contact.id,
        case_ref=case_ref,
        handled_at=handled_at,
        followup_at=max(handled_at, now) + delay,
        status="scheduled",
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(case)
    except IntegrityError:
        again = db.session.scalar(
            select(HotlineCase).where(
                HotlineCase.org_id == org_id, HotlineCase.case_ref == case_ref
            )
        )
        if again is None:
            raise
        return Registered(again, False)
    return Registered(case, True)


def start_due_followups(now: datetime | None = None, limit: int = 1000) -> set[int]:
    """Open the follow-up dialogue of every case whose time has come; commits. Returns campaign ids.

    A person with a dialogue still running in the same campaign waits for it to end, so two
    dialogues never interleave on one phone.
    """
    now = now or utcnow()
    cases = db.session.scalars(
        select(HotlineCase)
        .where(HotlineCase.status == "scheduled", HotlineCase.followup_at <= now)
        .order_by(HotlineCase.followup_at)
        .limit(limit)
    ).all()
    campaigns: set[int] = set()
    enc = cipher()
    for case in cases:
        campaign = case.campaign
        contact = db.session.get(SmsContact, case.contact_id) if case.contact_id else None
        if contact is None or not accepting(campaign, now):
            case.status = "skipped"
            continue
        e164 = enc.decrypt(contact.phone_encrypted)
        if is_opted_out(e164):
            case.status = "opted_out"
            continue
        running = db.session.scalar(
            select(SmsConversation.id).where(
                SmsConversation.campaign_id == campaign.id,
                SmsConversation.respondent_key == contact.respondent_key,
                SmsConversation.status == "active",
                SmsConversation.expires_at > now,
            )
        )
        if running is not None:
            continue
        unit = db.session.get(Unit, case.unit_id)
        conversation = new_conversation(
            campaign, contact.respondent_key, unit=unit, case=case, channel="hotline", now=now
        )
        queue_text(
            campaign,
            contact.respondent_key,
            f"case:{case.id}",
            e164,
            dialogue_opening(campaign, unit),
            conversation,
        )
        case.status = "started"
        campaigns.add(campaign.id)
    db.session.commit()
    return campaigns


def expire_conversations(now: datetime | None = None) -> int:
    """Mark active conversations past their expiry as expired (partial answers dropped); commits."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(SmsConversation).where(
            SmsConversation.status == "active", SmsConversation.expires_at < now
        )
    ).all()
    for conversation in rows:
        conversation.status = "expired"
        conversation.answers = {}
        if conversation.case_id is not None:
            case = db.session.get(HotlineCase, conversation.case_id)
            if case is not None and case.status == "started":
                case.status = "expired"
    db.session.commit()
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Funnel, cost and design-time checks
# ---------------------------------------------------------------------------------------------


def funnel(campaign: Campaign) -> dict:
    """Per-campaign counts: contacts, invited, delivered, started, completed, opted out, failed, cost."""
    price = current_app.config.get("SMS_PRICE_PER_SEGMENT", 0.05)
    by_status = dict(
        db.session.execute(
            select(SmsOutbox.status, func.count())
            .where(SmsOutbox.campaign_id == campaign.id)
            .group_by(SmsOutbox.status)
        ).all()
    )
    first_steps = or_(SmsOutbox.step.in_(("invite", "dialogue")), SmsOutbox.step.like("case:%"))

    def count_outbox(*conditions) -> int:
        return db.session.scalar(
            select(func.count()).where(SmsOutbox.campaign_id == campaign.id, *conditions)
        )

    def count_conversations(*conditions) -> int:
        return db.session.scalar(
            select(func.count()).where(SmsConversation.campaign_id == campaign.id, *conditions)
        )

    outbound_segments = db.session.scalar(
        select(func.coalesce(func.sum(SmsOutbox.segments), 0)).where(
            SmsOutbox.campaign_id == campaign.id, SmsOutbox.status.in_(HANDED_OVER)
        )
    )
    reply_segments = db.session.scalar(
        select(func.coalesce(func.sum(SmsInbound.reply_segments), 0)).where(
            SmsInbound.campaign_id == campaign.id
        )
    )
    return {
        "contacts": db.session.scalar(
            select(func.count()).where(SmsContact.campaign_id == campaign.id)
        ),
        "invited": count_outbox(first_steps, SmsOutbox.status.in_(HANDED_OVER)),
        "delivered": count_outbox(first_steps, SmsOutbox.status == "delivered"),
        "started": count_conversations(SmsConversation.started.is_(True)),
        "completed": count_conversations(SmsConversation.status == "completed"),
        "responses": db.session.scalar(
            select(func.count()).where(
                Response.campaign_id == campaign.id,
                Response.channel.in_(("sms", "hotline")),
                Response.is_test.is_(False),
            )
        ),
        "opted_out": count_outbox(SmsOutbox.error_code == "opted_out")
        + count_conversations(SmsConversation.status == "opted_out"),
        "failed": count_outbox(SmsOutbox.status.in_(("failed", "undelivered"))),
        "unknown": by_status.get("unknown", 0),
        "pending": by_status.get("pending", 0),
        "segments": outbound_segments + reply_segments,
        "cost": estimate_cost(int(outbound_segments + reply_segments), price),
    }


def cost_estimate(campaign: Campaign) -> dict:
    """Before sending: the first text's segments and encoding, and the cost for every contact."""
    mode = sms_mode(campaign)
    contacts = db.session.scalar(
        select(func.count()).where(
            SmsContact.campaign_id == campaign.id, SmsContact.source == "upload"
        )
    )
    price = current_app.config.get("SMS_PRICE_PER_SEGMENT", 0.05)
    if mode == "invite":
        # A representative link: the real ones have the same length.
        sample = invitation_text(campaign, f"{current_app.config['PUBLIC_BASE_URL']}/s/{'x' * 22}")
    elif mode == "dialogue":
        sample = dialogue_opening(campaign)
    else:
        sample = ""
    segments = count_segments(sample)
    per_person = segments.count
    if mode == "dialogue":
        # Each later question comes back as a reply: count those too.
        lang = campaign_lang(campaign)
        per_person += sum(
            count_segments(question_prompt(q, lang)).count for q in sms_questions(campaign)[1:]
        )
    return {
        "mode": mode,
        "sample": sample,
        "encoding": segments.encoding,
        "units": segments.units,
        "segments": segments.count,
        "segments_per_person": per_person,
        "contacts": contacts,
        "cost": estimate_cost(per_person * contacts, price),
        "oversized": oversized_questions(
            sms_questions(campaign),
            current_app.config.get("SMS_MAX_SEGMENTS", 3),
            campaign_lang(campaign),
        ),
    }


# ---------------------------------------------------------------------------------------------
# Purge
# ---------------------------------------------------------------------------------------------


def purge_due(campaign: Campaign, now: datetime) -> bool:
    """Whether the campaign closed more than its retention days ago."""
    if campaign.status != "closed" or campaign.closes_at is None:
        return False
    days = (campaign.settings or {}).get("anonymity", {}).get("retention_days")
    if days is None:
        days = current_app.config.get("CONTACT_RETENTION_DAYS", 30)
    return _aware(campaign.closes_at) + timedelta(days=days) <= now


def purge_campaign_contacts(campaign: Campaign) -> dict:
    """Delete a campaign's contact data: contacts, upload files, outbox addresses and bodies,
    unfinished answers; cancel what was still queued. The caller commits."""
    ids = select(SmsContact.id).where(SmsContact.campaign_id == campaign.id)
    db.session.execute(
        update(HotlineCase)
        .where(HotlineCase.contact_id.in_(ids))
        .values(contact_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(SmsOutbox)
        .where(SmsOutbox.campaign_id == campaign.id, SmsOutbox.status == "pending")
        .values(status="skipped", error_code="purged")
        .execution_options(synchronize_session=False)
    )
    outbox = db.session.execute(
        update(SmsOutbox)
        .where(SmsOutbox.campaign_id == campaign.id, SmsOutbox.to_encrypted.is_not(None))
        .values(to_encrypted=None, body_encrypted=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(SmsUpload)
        .where(SmsUpload.campaign_id == campaign.id)
        .values(payload_encrypted=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(SmsConversation)
        .where(SmsConversation.campaign_id == campaign.id, SmsConversation.status == "active")
        .values(status="expired", answers={})
        .execution_options(synchronize_session=False)
    )
    contacts = db.session.execute(
        SmsContact.__table__.delete().where(SmsContact.campaign_id == campaign.id)
    ).rowcount
    db.session.expire_all()
    return {"contacts": contacts, "outbox": outbox}
