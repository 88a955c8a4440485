"""Collecting answers as JSON through a survey link: interviewers' tablets and other clients."""

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.auth import current_token
from app.api.errors import api_abort
from app.core.questionnaire import AnswersInvalid
from app.extensions import db, limiter
from app.links.service import LinkGone, QuotaFull, check_link, find_link, receipt_code, submit
from app.responses.service import resolve_definition

bp = Blueprint(
    "api_links",
    __name__,
    url_prefix="/api/v1/links",
    description="A survey link's questionnaire and answers submitted through it. The link code "
    "is the credential; an interviewer's token (scope responses:write) lifts the per-address "
    "limit and records the channel as an interview.",
)
MAX_BODY = 256 * 1024


def _interviewer() -> bool:
    token = current_token()
    return token is not None and "responses:write" in (token.scopes or [])


# Per client address, on top of the API-wide per-token budget (blueprint level: a decorator
# above @bp.route would silently do nothing under flask-smorest).
limiter.limit(
    lambda: current_app.config.get("LINK_API_RATE_LIMIT", "60 per minute"),
    key_func=get_remote_address,
    exempt_when=_interviewer,
    methods=["POST"],
)(bp)


class DictOut(Schema):
    """Serializes plain dicts by key only (a missing 'items' must not find dict.items)."""

    def get_attribute(self, obj, attr, default):
        return obj.get(attr, default)


class OptionOut(DictOut):
    value = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class TargetOut(DictOut):
    key = fields.String(required=True)
    label = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class ItemOut(DictOut):
    key = fields.String(required=True)
    text = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class ConditionOut(DictOut):
    question = fields.String(required=True)
    equals = fields.String()
    in_ = fields.List(fields.String(), data_key="in", attribute="in")


class QuestionOut(DictOut):
    key = fields.String(required=True)
    kind = fields.String(required=True)
    text = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    required = fields.Boolean(required=True)
    options = fields.List(fields.Nested(OptionOut))
    items = fields.List(fields.Nested(ItemOut))
    targets = fields.List(fields.Nested(TargetOut))
    show_if = fields.Nested(ConditionOut, allow_none=True)
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)
    max_length = fields.Integer()


class LinkQuestionnaireOut(DictOut):
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    campaign = fields.Dict(required=True)
    questions = fields.List(fields.Nested(QuestionOut), required=True)


class AnswersIn(Schema):
    answers = fields.Dict(keys=fields.String(), required=True)
    duration_seconds = fields.Integer(load_default=None)


class ReceiptOut(Schema):
    receipt = fields.String(required=True)


def _link(code: str):
    link = find_link(code)
    if link is None:
        api_abort(404, "There is no survey link with this code.", code="unknown_link")
    return link


def _gone(exc: LinkGone):
    campaign = exc.campaign
    details = {
        "reason": exc.reason,
        "opens_at": campaign.opens_at.isoformat() if campaign and campaign.opens_at else None,
        "closes_at": campaign.closes_at.isoformat() if campaign and campaign.closes_at else None,
    }
    messages = {
        "used": "This link has already been used.",
        "expired": "This link has expired.",
        "not_open": "The survey is not open yet.",
        "closed": "The survey has closed.",
    }
    api_abort(
        410,
        messages.get(exc.reason, "This link cannot be answered."),
        code=exc.reason,
        details=details,
    )


def _question_out(question: dict, definition: dict) -> dict:
    from app.core.questionnaire import parse_questions

    parsed = next(q for q in parse_questions({**definition, "questions": [question]}))
    out = {
        "key": parsed.key,
        "kind": parsed.kind,
        "text": parsed.text,
        "required": parsed.required,
        "show_if": parsed.show_if,
        "options": [{"value": o.value, "label": o.label} for o in parsed.options],
    }
    if parsed.kind == "matrix":
        out["items"] = [{"key": i.key, "text": i.text} for i in parsed.items]
        out["targets"] = [{"key": t["key"], "label": t["label"]} for t in parsed.targets]
    if parsed.kind in ("rating", "number"):
        out["min"], out["max"] = parsed.minimum, parsed.maximum
    if parsed.kind == "text":
        out["max_length"] = parsed.max_length
    return out


@bp.route("/<code>")
@bp.response(200, LinkQuestionnaireOut)
@bp.alt_response(404, response="DEFAULT_ERROR")
@bp.alt_response(410, response="DEFAULT_ERROR")
def questionnaire(code):
    """The link's questionnaire, with matrix targets resolved and options listed."""
    link = _link(code)
    try:
        check_link(link)
    except LinkGone as exc:
        _gone(exc)
    definition = resolve_definition(link.campaign, link.unit)
    return {
        "title": definition["title"],
        "campaign": {"name": link.campaign.name, "period": link.campaign.period},
        "questions": [_question_out(q, definition) for q in definition["questions"]],
    }


@bp.route("/<code>/responses", methods=["POST"])
@bp.arguments(AnswersIn)
@bp.response(201, ReceiptOut)
@bp.alt_response(404, response="DEFAULT_ERROR")
@bp.alt_response(409, response="DEFAULT_ERROR")
@bp.alt_response(410, response="DEFAULT_ERROR")
@bp.alt_response(413, response="DEFAULT_ERROR")
def respond(data, code):
    """Submit a complete set of answers; send an Idempotency-Key header so a retry stores once."""
    if (request.content_length or 0) > MAX_BODY:
        api_abort(413, f"The body may be at most {MAX_BODY // 1024} KB.", code="too_large")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200:
        api_abort(
            400, "Send an Idempotency-Key header of 1 to 200 characters.", code="idempotency_key"
        )
    link = _link(code)
    try:
        recorded = submit(
            link,
            data["answers"],
            idempotency_key=key,
            channel="interviewer" if _interviewer() else "api",
            duration_seconds=data.get("duration_seconds"),
        )
        db.session.commit()
    except LinkGone as exc:
        db.session.rollback()
        _gone(exc)
    except QuotaFull:
        db.session.rollback()
        api_abort(409, "The quota for this group is full; nothing was stored.", code="quota_full")
    except AnswersInvalid as exc:
        db.session.rollback()
        api_abort(
            422,
            "The answers do not fit the questionnaire.",
            code="invalid_answers",
            details={"problems": [{"path": p.path, "message": p.message} for p in exc.problems]},
        )
    return {"receipt": receipt_code(recorded.response)}
