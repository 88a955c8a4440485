from datetime import date

import pytest

from app.core.periods import period_bounds, period_kind


@pytest.mark.parametrize(
    ("period", "start", "end", "kind"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "year"),
        ("2026-H1", date(2026, 1, 1), date(2026, 7, 1), "half"),
        ("2026-H2", date(2026, 7, 1), date(2027, 1, 1), "half"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), "quarter"),
        ("2026-Q4", date(2026, 10, 1), date(2027, 1, 1), "quarter"),
        ("2026-11", date(2026, 11, 1), date(2026, 12, 1), "month"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "month"),
    ],
)
def test_periods_cover_their_days(period, start, end, kind):
    assert period_bounds(period) == (start, end)
    assert period_kind(period) == kind


@pytest.mark.parametrize(
    "bad", ["", "26", "2026-13", "2026-00", "2026-Q5", "2026-H3", "2026/11", "2026-11-01"]
)
def test_bad_periods_are_rejected_with_the_text(bad):
    with pytest.raises(ValueError, match="period|month"):
        period_bounds(bad)


@pytest.mark.parametrize(
    ("granularity", "expected"),
    [("day", date(2026, 11, 27)), ("week", date(2026, 11, 23)), ("month", date(2026, 11, 1))],
)
def test_dates_are_coarsened(granularity, expected):
    from app.core.periods import coarsen_date

    assert coarsen_date(date(2026, 11, 27), granularity) == expected


def test_unknown_granularity_is_refused():
    from app.core.periods import coarsen_date

    with pytest.raises(ValueError, match="granularity"):
        coarsen_date(date(2026, 11, 27), "hour")
