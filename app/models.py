"""Imports every model module so the metadata (and Alembic) sees all tables."""

from app.accounts.models import ApiToken, Organization, User  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.campaigns.models import Campaign, CampaignTarget  # noqa: F401
from app.links.models import Link, PhoneClaim  # noqa: F401
from app.questionnaires.models import Indicator, Questionnaire, QuestionnaireVersion  # noqa: F401
from app.responses.models import Answer, Response  # noqa: F401
from app.scores.models import ScoreRow, ScoreSequence, ScoreSnapshot  # noqa: F401, E402
from app.scores.webhooks import (  # noqa: F401
    ScoreWebhook,
    ScoreWebhookAttempt,
    ScoreWebhookDelivery,
)
from app.sms.models import (  # noqa: F401, E501
    HotlineCase,
    SmsContact,
    SmsConversation,
    SmsInbound,
    SmsOptOut,
    SmsOutbox,
    SmsUpload,
)
from app.targets.models import Official, Unit  # noqa: F401
