"""Staff console forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.campaigns.models import CHANNELS


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ImportForm(FlaskForm):
    file = FileField(_l("Questionnaire file (YAML or JSON)"), validators=[FileRequired()])
    publish = BooleanField(_l("Publish this version now"), default=True)


def channel_choices():
    labels = {
        "web": _l("Mobile web"),
        "qr": _l("QR code posters"),
        "sms_invite": _l("SMS invitation with a link"),
        "sms_dialogue": _l("SMS dialogue"),
        "hotline": _l("Hotline follow-up"),
        "interviewer": _l("Interviewer entry"),
    }
    return [(c, labels[c]) for c in CHANNELS]


class CampaignForm(FlaskForm):
    template = SelectField(_l("Questionnaire"), validators=[DataRequired()])
    name = StringField(_l("Campaign name"), validators=[DataRequired(), Length(max=200)])
    period = StringField(
        _l("Period (2026, 2026-H1, 2026-Q3 or 2026-11)"),
        validators=[DataRequired(), Length(max=10)],
    )
    channels = MultiCheckboxField(_l("Channels"), choices=channel_choices, default=["web"])
    units = SelectMultipleField(_l("Assessed units"), coerce=int)


class DistributionPointsForm(FlaskForm):
    names = TextAreaField(
        _l("Distribution points, one per line (e.g. 鼓楼区政务服务大厅海报)"),
        validators=[DataRequired(), Length(max=20000)],
    )
    unit = SelectField(_l("Unit (optional)"), coerce=int)


class RaterCodesForm(FlaskForm):
    group = SelectField(_l("Rater group"), validators=[DataRequired()])
    count = IntegerField(_l("Number of codes"), validators=[DataRequired(), NumberRange(1, 1000)])
    unit = SelectField(_l("Team (unit) evaluated"), coerce=int)


class VoidForm(FlaskForm):
    response_id = StringField(_l("Response id"), validators=[DataRequired(), Length(max=64)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(min=3, max=500)])


# --- questionnaire editor ------------------------------------------------------------------

KIND_LABELS = {
    "single_choice": _l("Single choice"),
    "yes_no": _l("Yes / no"),
    "rating": _l("Rating scale"),
    "multiple_choice": _l("Multiple choice"),
    "number": _l("Number"),
    "text": _l("Free text"),
    "matrix": _l("Matrix (items × targets)"),
}


class NewQuestionnaireForm(FlaskForm):
    start = SelectField(_l("Start from"), validators=[DataRequired()])
    key = StringField(
        _l("Key (lower-case letters, digits and '-', e.g. gulou-2026)"),
        validators=[DataRequired(), Length(max=80)],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    unit = SelectField(_l("Unit whose team is evaluated (indicator bank only)"), coerce=int)


class SettingsForm(FlaskForm):
    title_zh = StringField(_l("Title (Chinese)"), validators=[DataRequired(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=200)])
    indicators = TextAreaField(
        _l("Indicators, one a line: key | name | weight"), validators=[Length(max=20000)]
    )
    rater_groups = TextAreaField(
        _l("Rater groups, one a line: key | name | weight (weights add up to 1)"),
        validators=[Length(max=5000)],
    )


class QuestionForm(FlaskForm):
    key = StringField(
        _l("Question key (e.g. employment)"), validators=[DataRequired(), Length(max=80)]
    )
    kind = SelectField(_l("Question type"), choices=list(KIND_LABELS.items()))
    text_zh = TextAreaField(_l("Question (Chinese)"), validators=[DataRequired(), Length(max=1000)])
    text_en = TextAreaField(_l("Question (English)"), validators=[Length(max=1000)])
    sms_text_zh = StringField(_l("Shorter text for SMS (optional)"), validators=[Length(max=300)])
    option_set = SelectField(_l("Answer options"))
    options = TextAreaField(
        _l("Own options, one a line: value | label | score | satisfied (score '-' = not scored)"),
        validators=[Length(max=10000)],
    )
    indicator = SelectField(_l("Indicator"))
    direction = SelectField(
        _l("Direction"),
        choices=[("positive", _l("positive")), ("negative", _l("negative (reverse-scored)"))],
    )
    required = BooleanField(_l("An answer is required"), default=True)
    minimum = StringField(_l("Lowest value (rating, number)"), validators=[Length(max=20)])
    maximum = StringField(_l("Highest value (rating, number)"), validators=[Length(max=20)])
    show_if_question = SelectField(_l("Ask only when the answer to"))
    show_if_values = StringField(
        _l("is one of (option values, separated by commas)"), validators=[Length(max=500)]
    )
    items = TextAreaField(
        _l("Matrix items, one a line: key | text | indicator | negative"),
        validators=[Length(max=20000)],
    )
    targets = SelectField(
        _l("Matrix asks about"),
        choices=[
            ("team", _l("the officials of the evaluated team")),
            ("units", _l("the campaign's target units")),
            ("keep", _l("the fixed list in the questionnaire")),
        ],
    )


class ExcelImportForm(FlaskForm):
    file = FileField(_l("Excel workbook (.xlsx)"), validators=[FileRequired()])
    key = StringField(
        _l("Key (lower-case letters, digits and '-', e.g. gulou-2026)"),
        validators=[DataRequired(), Length(max=80)],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    scheme = SelectField(
        _l("Scoring"),
        choices=[("satisfaction", _l("Satisfaction (scored)")), ("none", _l("Not scored"))],
    )


# --- campaign setup ------------------------------------------------------------------------


class CampaignSettingsForm(FlaskForm):
    name = StringField(_l("Campaign name"), validators=[DataRequired(), Length(max=200)])
    period = StringField(
        _l("Period (2026, 2026-H1, 2026-Q3 or 2026-11)"),
        validators=[DataRequired(), Length(max=10)],
    )
    channels = MultiCheckboxField(_l("Channels"), choices=channel_choices)
    opens_at = DateTimeLocalField(
        _l("Opens (local time, optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes (local time, optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    k = IntegerField(
        _l("Smallest group shown (k)"), validators=[InputRequired(), NumberRange(2, 100)]
    )
    rater_k = IntegerField(
        _l("Smallest rater group shown"), validators=[InputRequired(), NumberRange(2, 100)]
    )
    timestamp_granularity = SelectField(
        _l("Answer dates kept as"),
        choices=[("day", _l("the day")), ("week", _l("the week")), ("month", _l("the month"))],
    )
    retention_days = IntegerField(
        _l("Days contact data is kept after closing"),
        validators=[InputRequired(), NumberRange(0, 365)],
    )
    duplicates = SelectField(
        _l("Duplicate control on the web"),
        choices=[
            ("device", _l("one answer per device (signed cookie)")),
            ("none", _l("none (shared devices, e.g. a service hall tablet)")),
        ],
    )
    weighting_variables = StringField(
        _l("Weighting variables (question keys or 'unit', separated by commas)"),
        validators=[Length(max=500)],
    )


class TargetsImportForm(FlaskForm):
    file = FileField(_l("Units or officials (CSV or Excel)"), validators=[FileRequired()])


class MarginsForm(FlaskForm):
    csv = TextAreaField(
        _l("Population margins (CSV: variable,level,total)"),
        validators=[DataRequired(), Length(max=200000)],
    )


# --- administration ------------------------------------------------------------------------

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "designer": _l("Designer"),
    "analyst": _l("Analyst"),
    "viewer": _l("Viewer"),
}


class UserForm(FlaskForm):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()))
    password = PasswordField(
        _l("First password (at least 10 characters)"), validators=[DataRequired(), Length(max=200)]
    )


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name (what uses it)"), validators=[DataRequired(), Length(max=100)]
    )
    scopes = MultiCheckboxField(_l("Scopes"))
