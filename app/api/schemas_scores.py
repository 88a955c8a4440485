"""Hand-written schemas of the scores and reference-data endpoints: the contract with the core."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from app.core.periods import period_bounds
from app.scores.models import KINDS, TARGET_TYPES

MAX_PAGE = 500
DEFAULT_PAGE = 100


class Out(Schema):
    """Serializes plain dicts by key only (a key 'items' must not find dict.items)."""

    def get_attribute(self, obj, attr, default):
        return obj.get(attr, default)


PERIOD = validate.Regexp(
    r"^[0-9]{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$",
    error="Not a period: use 2026, 2026-H1, 2026-Q3 or 2026-11.",
)


def _period(value: str) -> None:
    try:
        period_bounds(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class _Filters(Schema):
    """Query filters: an unknown one is refused with the list of valid ones."""

    class Meta:
        unknown = RAISE

    def handle_error(self, error, data, **kwargs):
        valid = ", ".join(sorted(self.fields))
        messages = error.messages if isinstance(error.messages, dict) else {}
        for key, problems in messages.items():
            if problems == ["Unknown field."]:
                messages[key] = [f"Unknown filter. Valid filters: {valid}."]
        raise ValidationError(messages, data=data, valid_data=error.valid_data)


class ScoresQuerySchema(_Filters):
    period = fields.String(
        validate=[PERIOD, _period],
        metadata={"description": "Assessment period: 2026, 2026-H1, 2026-Q3 or 2026-11."},
    )
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": "Score kind."})
    target_type = fields.String(
        validate=validate.OneOf(TARGET_TYPES),
        metadata={"description": "unit (units and leadership teams) or official."},
    )
    target_id = fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "A target's id (with target_type when ids could clash)."},
    )
    campaign = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "A campaign id of the token's organization."},
    )
    since = fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={
            "description": "A next_cursor from an earlier answer: only what is new, superseded "
            "or withdrawn since then (withdrawn items are included)."
        },
    )
    limit = fields.Integer(
        load_default=DEFAULT_PAGE,
        validate=validate.Range(min=1, max=MAX_PAGE),
        metadata={"description": f"Page size, 1 to {MAX_PAGE} (default {DEFAULT_PAGE})."},
    )


class TargetsQuerySchema(_Filters):
    type = fields.String(validate=validate.OneOf(TARGET_TYPES))


class CampaignsQuerySchema(_Filters):
    kind = fields.String(validate=validate.OneOf(KINDS))
    period = fields.String(validate=[PERIOD, _period])


class TargetRefSchema(Out):
    type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class TargetSchema(TargetRefSchema):
    category = fields.String(
        required=True,
        metadata={
            "description": "A unit's type (units of one type are compared with each other) or "
            "an official's position (principal, deputy, member)."
        },
    )
    level = fields.String(
        allow_none=True, metadata={"description": "A unit's level; null for officials."}
    )
    title = fields.String(allow_none=True, metadata={"description": "An official's post."})
    parent = fields.Nested(
        lambda: TargetRefSchema(),
        allow_none=True,
        required=True,
        metadata={"description": "The parent unit, or an official's unit (team)."},
    )


class Ci95Schema(Out):
    low = fields.Float(required=True, allow_none=True)
    high = fields.Float(required=True, allow_none=True)


class SnapshotRefSchema(Out):
    version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("published", "superseded")))
    published_at = fields.DateTime(required=True)
    reason = fields.String(required=True)


class ScoreItemSchema(Out):
    """One target × kind × period of the newest snapshot (or a withdrawn/suppressed marker)."""

    key = fields.String(
        required=True,
        metadata={
            "description": "Stable identity (campaign:target_type:target_id:kind:period): keep "
            "the newest item per key; delete the key when status is withdrawn."
        },
    )
    status = fields.String(required=True, validate=validate.OneOf(("current", "withdrawn")))
    campaign_id = fields.Integer(required=True)
    target = fields.Nested(lambda: TargetSchema(), required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    period = fields.String(required=True)
    suppressed = fields.Boolean(required=True)
    suppression_reason = fields.String(
        metadata={"description": "Why no score is shown (group under the anonymity threshold)."}
    )
    score = fields.Float(allow_none=True, metadata={"description": "0–100"})
    grade = fields.String(allow_none=True)
    ci95 = fields.Nested(lambda: Ci95Schema())
    n = fields.Integer(allow_none=True, metadata={"description": "Respondents, raters or cases."})
    n_effective = fields.Float(allow_none=True, metadata={"description": "Kish's effective n."})
    indicators = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        metadata={"description": "Per indicator key: score (or rate), interval, n; or suppressed."},
    )
    details = fields.Dict(
        metadata={"description": "Satisfaction rate, grade shares, rater groups used."}
    )
    rank = fields.Integer(allow_none=True)
    percentile = fields.Float(allow_none=True)
    n_peers = fields.Integer(allow_none=True)
    peer_group = fields.String(allow_none=True)
    quality_flags = fields.List(fields.Dict())
    method = fields.Dict(
        metadata={"description": "Questionnaire version and checksum, scheme, weighting."}
    )
    snapshot = fields.Nested(lambda: SnapshotRefSchema(), required=True)


class ScoresPageSchema(Out):
    items = fields.List(fields.Nested(lambda: ScoreItemSchema()), required=True)
    next_cursor = fields.String(
        required=True,
        metadata={
            "description": "Pass as since= to continue: at once while has_more, later to poll."
        },
    )
    has_more = fields.Boolean(required=True)


class TargetsPageSchema(Out):
    items = fields.List(fields.Nested(lambda: TargetSchema()), required=True)


class CampaignItemSchema(Out):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    period = fields.String(required=True)
    status = fields.String(required=True)
    questionnaire_version = fields.String(required=True)
    targets = fields.List(fields.Nested(lambda: TargetRefSchema()), required=True)
    snapshot = fields.Nested(
        lambda: SnapshotRefSchema(),
        required=True,
        allow_none=True,
        metadata={"description": "The current published snapshot, or null."},
    )


class CampaignsPageSchema(Out):
    items = fields.List(fields.Nested(lambda: CampaignItemSchema()), required=True)
