"""The privacy summary of a campaign, for staff and for respondents."""

from flask_babel import gettext as _

from app.campaigns.models import Campaign


def privacy_summary(campaign: Campaign, retention_days: int | None = None) -> list[str]:
    """Plain statements of what is collected, how it is protected and when contact data goes."""
    anonymity = campaign.settings.get("anonymity") or {}
    granularity = {"day": _("the day"), "week": _("the week"), "month": _("the month")}.get(
        anonymity.get("timestamp_granularity", "day"), _("the day")
    )
    lines = [
        _("Answers are stored without name, phone number, address, IP address or device details."),
        _("The time of an answer is kept only as %(unit)s it was given.", unit=granularity),
        _(
            "Phone numbers, ID numbers and similar details typed into comments are removed before storage."
        ),
        _(
            "Results for groups of fewer than %(k)s respondents are never shown; rater groups need at least %(rk)s.",
            k=anonymity.get("k", 5),
            rk=anonymity.get("rater_k", 3),
        ),
    ]
    channels = set(campaign.channels or [])
    if channels & {"web", "qr"}:
        lines.append(_("A web answer records the poster or letter it came from, never the person."))
    if channels & {"sms_invite", "sms_dialogue", "hotline"}:
        days = anonymity.get("retention_days", retention_days or 30)
        lines.append(
            _(
                "Phone numbers are kept encrypted only while texts must be sent, and deleted %(days)s days after the survey closes.",
                days=days,
            )
        )
        lines.append(
            _(
                "To prevent duplicates only a keyed code of the number is kept; it cannot be turned back into the number."
            )
        )
        lines.append(_("Replying T or 退订 stops all texts from this service at once."))
    if channels & {"interviewer"} or (campaign.version.definition.get("scoring") or {}).get(
        "rater_groups"
    ):
        lines.append(
            _("An evaluation answer records the rater group (such as peers), never the rater.")
        )
    return lines
