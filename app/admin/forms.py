"""Staff console forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange

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
