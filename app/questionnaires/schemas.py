"""The questionnaire definition format (docs/questionnaire-format.md) as marshmallow 4 schemas."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.core.questionnaire import KINDS, SCHEMES, SYMBOLIC_TARGETS

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", error="use lower-case letters, digits and '-'")
KEY = validate.Regexp(r"^[a-z][a-z0-9_]*$", error="use lower-case letters, digits and '_'")
VALUE = validate.Regexp(r"^[a-z0-9_]+$", error="use lower-case letters, digits and '_'")
QUESTIONNAIRE_KINDS = (
    "social_satisfaction",
    "political_quality",
    "democratic_evaluation",
    "hotline",
    "custom",
)


class LocalizedText(fields.Dict):
    """{zh: ..., en: ...}: Chinese is required, English recommended."""

    def __init__(self, **kwargs):
        super().__init__(
            keys=fields.String(validate=validate.OneOf(["zh", "en"])),
            values=fields.String(validate=validate.Length(min=1)),
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if "zh" not in result:
            raise ValidationError("needs a Chinese text under 'zh'")
        return result


class OptionSchema(Schema):
    value = fields.String(required=True, validate=VALUE)
    label = LocalizedText(required=True)
    score = fields.Float(allow_none=True, allow_nan=False)
    scored = fields.Boolean()
    satisfied = fields.Boolean()
    sms = fields.String(validate=validate.Length(min=1, max=10))


class OptionsField(fields.Field):
    """Either the name of an option set or an inline list of options."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return OptionSchema(many=True).load(value)
        raise ValidationError("must be an option set's name or a list of options")

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class TargetsField(fields.Field):
    """A matrix's targets: a list of {key, label} or 'team' / 'units'."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if value not in SYMBOLIC_TARGETS:
                raise ValidationError(f"must be a list, 'team' or 'units', not '{value}'")
            return value
        if isinstance(value, list):
            return TargetSchema(many=True).load(value)
        raise ValidationError("must be a list of targets, 'team' or 'units'")

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class TargetSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=80))
    label = LocalizedText(required=True)
    position = fields.String(validate=validate.OneOf(["principal", "deputy", "member"]))


class ConditionSchema(Schema):
    question = fields.String(required=True)
    equals = fields.String()
    in_ = fields.List(
        fields.String(), data_key="in", attribute="in", validate=validate.Length(min=1)
    )

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("equals" in data) == ("in" in data):
            raise ValidationError("use exactly one of 'equals' and 'in'")


class ItemSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    text = LocalizedText(required=True)
    indicator = fields.String()
    direction = fields.String(validate=validate.OneOf(["positive", "negative"]))


class QuestionSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    text = LocalizedText(required=True)
    sms_text = LocalizedText()
    help = LocalizedText()
    options = OptionsField()
    allow_partly = fields.Boolean()
    indicator = fields.String()
    direction = fields.String(validate=validate.OneOf(["positive", "negative"]))
    required = fields.Boolean()
    show_if = fields.Nested(lambda: ConditionSchema())
    min = fields.Float(allow_nan=False)
    max = fields.Float(allow_nan=False)
    integer = fields.Boolean()
    unit = LocalizedText()
    max_length = fields.Integer(validate=validate.Range(min=1, max=5000))
    min_choices = fields.Integer(validate=validate.Range(min=0))
    max_choices = fields.Integer(validate=validate.Range(min=1))
    items = fields.List(fields.Nested(lambda: ItemSchema()))
    targets = TargetsField()


class IndicatorSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = LocalizedText(required=True)
    weight = fields.Float(validate=validate.Range(min=0, min_inclusive=False))
    area = fields.String()


class BandSchema(Schema):
    grade = fields.String(required=True, validate=KEY)
    min = fields.Float(required=True, allow_nan=False)
    max = fields.Float(required=True, allow_nan=False)
    label = LocalizedText()


class RaterGroupSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    label = LocalizedText(required=True)
    weight = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    size = fields.Integer(validate=validate.Range(min=1))


class ScoringSchema(Schema):
    scheme = fields.String(required=True, validate=validate.OneOf(SCHEMES))
    version = fields.Integer(validate=validate.Range(min=1))
    scale = fields.Float(validate=validate.Range(min=0, min_inclusive=False))
    bands = fields.List(fields.Nested(lambda: BandSchema()))
    rater_groups = fields.List(fields.Nested(lambda: RaterGroupSchema()))
    small_group = fields.String()
    min_group_size = fields.Integer(validate=validate.Range(min=1))
    exclude_flagged = fields.Boolean()
    spread_threshold = fields.Float(validate=validate.Range(min=0, max=1))
    grade_points = fields.Dict(keys=fields.String(), values=fields.Float())
    components = fields.Dict(keys=fields.String(), values=fields.Float())


class QuestionnaireDefinitionSchema(Schema):
    format = fields.Integer(required=True, validate=validate.Equal(1, error="must be 1"))
    key = fields.String(required=True, validate=SLUG)
    kind = fields.String(required=True, validate=validate.OneOf(QUESTIONNAIRE_KINDS))
    title = LocalizedText(required=True)
    description = LocalizedText()
    thanks = LocalizedText()
    option_sets = fields.Dict(
        keys=fields.String(validate=KEY), values=fields.List(fields.Nested(lambda: OptionSchema()))
    )
    indicators = fields.List(fields.Nested(lambda: IndicatorSchema()))
    questions = fields.List(fields.Nested(lambda: QuestionSchema()), required=True)
    scoring = fields.Nested(lambda: ScoringSchema())


class BankItemSchema(ItemSchema):
    pass


class BankIndicatorSchema(IndicatorSchema):
    scope = fields.String(required=True, validate=validate.OneOf(["common", "specific"]))
    target_types = fields.List(fields.String())
    options = OptionsField()
    items = fields.List(fields.Nested(lambda: BankItemSchema()), required=True)


class IndicatorBankSchema(Schema):
    format = fields.Integer(required=True, validate=validate.Equal(1, error="must be 1"))
    bank = fields.String(required=True, validate=SLUG)
    kind = fields.String(required=True, validate=validate.OneOf(QUESTIONNAIRE_KINDS))
    title = LocalizedText(required=True)
    description = LocalizedText()
    option_sets = fields.Dict(
        keys=fields.String(validate=KEY), values=fields.List(fields.Nested(lambda: OptionSchema()))
    )
    scoring = fields.Nested(lambda: ScoringSchema())
    indicators = fields.List(fields.Nested(lambda: BankIndicatorSchema()), required=True)
