"""Background work for scores: compute and publish a campaign's snapshot."""

import logging

from app.campaigns.models import Campaign
from app.extensions import db
from app.jobs import job
from app.scores.service import publish_snapshot

log = logging.getLogger(__name__)


@job
def compute_and_publish_snapshot(campaign_id: int, reason: str, request_id: str) -> None:
    """Publish the campaign's scores as a new snapshot version, once per request_id (safe to run twice)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        log.warning("Score publication skipped: campaign %s no longer exists", campaign_id)
        return
    snapshot = publish_snapshot(campaign, reason, request_id)
    db.session.commit()
    log.info(
        "Campaign %s: score snapshot version %s (seq %s)",
        campaign_id,
        snapshot.version,
        snapshot.seq,
    )
