"""The staff console blueprint and helpers its page modules share."""

from flask import Blueprint

from app.accounts.roles import own
from app.extensions import db
from app.questionnaires.models import QuestionnaireVersion

bp = Blueprint("admin", __name__)
MAX_UPLOAD = 2 * 1024 * 1024


def own_version(version_id: int) -> QuestionnaireVersion:
    """The questionnaire version if it belongs to the current user's organization; 404 otherwise."""
    version = db.session.get(QuestionnaireVersion, version_id)
    if version is None:
        own(None)
    own(version.questionnaire)
    return version


def anonymity(campaign) -> tuple[int, int]:
    """(k, rater_k) of a campaign: the smallest group and rater group shown."""
    settings = (campaign.settings or {}).get("anonymity") or {}
    return int(settings.get("k") or 5), int(settings.get("rater_k") or 3)
