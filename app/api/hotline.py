"""POST /api/v1/hotline/cases: register a handled 12345 case for its SMS follow-up."""

from datetime import UTC

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from app.api.auth import require_scope
from app.api.errors import api_abort
from app.extensions import db
from app.sms.service import CaseInvalid, register_case

bp = Blueprint(
    "api_hotline",
    __name__,
    url_prefix="/api/v1",
    description="12345-hotline cases: each handled case gets a follow-up SMS dialogue.",
)


def _storable(value: str) -> None:
    # PostgreSQL refuses NUL in text (and lone surrogates cannot be encoded): a 422, not a 500.
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValidationError("must not contain NUL or unpaired surrogate characters")


class HotlineCaseInSchema(Schema):
    """A handled case. The phone is kept only encrypted until the campaign's purge."""

    case_ref = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=100), _storable],
        metadata={"description": "The hotline's case reference; a repeat returns the first case"},
    )
    phone = fields.String(
        required=True,
        load_only=True,
        validate=[validate.Length(min=3, max=40), _storable],
        metadata={"description": "The caller's phone (E.164, or national in DEFAULT_PHONE_REGION)"},
    )
    unit_code = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=60), _storable],
        metadata={"description": "Code of the street/township (or other unit) that handled it"},
    )
    handled_at = fields.AwareDateTime(
        required=True,
        default_timezone=UTC,
        metadata={"description": "When the case was handled (ISO 8601)"},
    )
    campaign_id = fields.Integer(
        load_default=None,
        # A database id: larger values would overflow the column type (a 500, not a 422).
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={
            "description": "The hotline campaign; default: the open one for the unit and month"
        },
    )


class HotlineCaseSchema(Schema):
    id = fields.Integer(required=True)
    case_ref = fields.String(required=True)
    campaign_id = fields.Integer(required=True)
    unit_code = fields.String(required=True)
    status = fields.String(required=True, metadata={"example": "scheduled"})
    handled_at = fields.DateTime(required=True)
    followup_at = fields.DateTime(required=True)


def _out(case) -> dict:
    from app.targets.models import Unit

    unit = db.session.get(Unit, case.unit_id)

    def aware(moment):
        return moment.replace(tzinfo=moment.tzinfo or UTC)

    return {
        "id": case.id,
        "case_ref": case.case_ref,
        "campaign_id": case.campaign_id,
        "unit_code": unit.code if unit else "",
        "status": case.status,
        "handled_at": aware(case.handled_at),
        "followup_at": aware(case.followup_at),
    }


@bp.route("/hotline/cases", methods=["POST"])
@require_scope("cases:write")
@bp.arguments(HotlineCaseInSchema)
@bp.response(201, HotlineCaseSchema)
@bp.alt_response(200, schema=HotlineCaseSchema, description="The case was registered before")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def create_case(data):
    """Register a handled case and schedule its follow-up SMS dialogue (needs cases:write)."""
    try:
        registered = register_case(
            g.org_id,
            data["case_ref"],
            data["phone"],
            data["unit_code"],
            data["handled_at"],
            data.get("campaign_id"),
        )
    except CaseInvalid as exc:
        db.session.rollback()
        # The messages name the field and the rule, never the value sent.
        api_abort(
            422,
            "The case could not be registered.",
            code="invalid_case",
            details={"json": exc.problems},
        )
    db.session.commit()
    return _out(registered.case), 201 if registered.created else 200
