from datetime import date, datetime

import pytest

from etf_assets import partitions as p


def test_cached_calendar_equals_exchange_calendars() -> None:
    """The committed cache must match exchange_calendars; regenerate with
    `python -m etf_assets.partitions` when exchange_calendars is upgraded."""
    assert p._calendar() == p.build_calendar_cache()


def test_extra_closures_are_not_sessions() -> None:
    assert not p.is_session(date(2026, 6, 3))  # local elections, open in exchange_calendars
    assert p.is_session(date(2026, 6, 2)) and p.is_session(date(2026, 6, 4))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 9, 24), False),  # Chuseok
        (date(2025, 12, 31), False),  # year-end closure
        (date(2026, 1, 2), True),
    ],
)
def test_is_session(day: date, expected: bool) -> None:
    assert p.is_session(day) is expected


def test_partition_keys_are_sessions_only() -> None:
    keys = p.session_partitions().get_partition_keys(current_time=datetime(2026, 11, 25, 12))
    assert keys[0] == "2020-01-02" and keys[-1] == "2026-11-25"  # today exists for 16:00 runs
    assert "2026-06-03" not in keys and "2026-11-21" not in keys
    assert len(keys) == len(p.sessions_between(date(2020, 1, 2), date(2026, 11, 25)))


def test_weekly_keys_are_each_weeks_last_session() -> None:
    keys = p.weekly_partitions().get_partition_keys(current_time=datetime(2026, 11, 25, 12))
    assert keys[-1] == "2026-11-20"
    # Chuseok week 2026: Thursday 24 and Friday 25 September are closed.
    assert "2026-09-23" in keys and "2026-09-25" not in keys
    assert all(p.week_last_session(date.fromisoformat(k)) == date.fromisoformat(k) for k in keys)


def test_session_navigation() -> None:
    assert p.previous_session(date(2026, 11, 23)) == date(2026, 11, 20)
    assert p.session_on_or_before(date(2026, 11, 22)) == date(2026, 11, 20)
    assert len(p.sessions_back(date(2026, 11, 20), 250)) == 250
    assert p.sessions_back(date(2026, 11, 20), 1) == (date(2026, 11, 20),)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 24, 15, 0, tzinfo=p.KST), date(2026, 11, 23)),
        (datetime(2026, 11, 24, 16, 0, tzinfo=p.KST), date(2026, 11, 24)),
        (datetime(2026, 11, 22, 12, 0, tzinfo=p.KST), date(2026, 11, 20)),
        (datetime(2026, 11, 23, 15, 30, tzinfo=p.KST), date(2026, 11, 20)),
    ],
)
def test_last_completed_session(now: datetime, expected: date) -> None:
    assert p.last_completed_session(now) == expected


def test_max_sessions_in_a_year_bounds_the_52w_mapping() -> None:
    assert 245 <= p.max_sessions_in_calendar_days(365) <= 252


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 24, 8, 59, tzinfo=p.KST), date(2026, 11, 23)),  # pre-open
        (datetime(2026, 11, 24, 11, 0, tzinfo=p.KST), None),  # intraday: nothing final
        (datetime(2026, 11, 24, 15, 30, tzinfo=p.KST), date(2026, 11, 24)),  # closed
        (datetime(2026, 11, 22, 12, 0, tzinfo=p.KST), date(2026, 11, 20)),  # Sunday
    ],
)
def test_kis_quote_session(now: datetime, expected: date | None) -> None:
    assert p.kis_quote_session(now) == expected
