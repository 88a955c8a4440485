"""Assessment periods: a year, a half, a quarter or a month, written 2026, 2026-H1, 2026-Q3, 2026-11."""

import re
from datetime import date

_PATTERN = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """First day and the day after the last day of a period; ValueError names the bad text."""
    match = _PATTERN.match(period or "")
    if not match:
        raise ValueError(f"'{period}' is not a period: use 2026, 2026-H1, 2026-Q3 or 2026-11")
    year, part = int(match.group(1)), match.group(2)
    if part is None:
        first, months = 1, 12
    elif part.startswith("H"):
        first, months = 1 + 6 * (int(part[1]) - 1), 6
    elif part.startswith("Q"):
        first, months = 1 + 3 * (int(part[1]) - 1), 3
    else:
        first, months = int(part), 1
        if not 1 <= first <= 12:
            raise ValueError(f"'{period}' has no month {part}")
    end_month = first + months
    end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return date(year, first, 1), end


def period_kind(period: str) -> str:
    """year, half, quarter or month."""
    period_bounds(period)
    if "-" not in period:
        return "year"
    part = period.split("-", 1)[1]
    return {"H": "half", "Q": "quarter"}.get(part[0], "month")


def coarsen_date(day: date, granularity: str = "day") -> date:
    """The day itself, the Monday of its week, or the first of its month."""
    if granularity == "day":
        return day
    if granularity == "week":
        return date.fromordinal(day.toordinal() - day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"granularity must be day, week or month, not '{granularity}'")
