"""The closures on top of exchange_calendars: 제헌절 from 2026 with its substitute holiday, the
known closures it lacks, and ETF_ASSETS_EXTRA_CLOSURES, which every reader of the calendar
(partitions, schedules, freshness) follows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

import dagster as dg
import pytest

from etf_assets import partitions as p
from etf_assets import settings
from etf_assets.checks.rules import expected_newest
from etf_assets.phases import PHASES
from etf_assets.schedules import run_request

PRICES_PHASE = next(phase for phase in PHASES if phase.name == "prices")


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=p.KST)


def test_constitution_day_is_closed_from_2026_and_not_before() -> None:
    sessions = set(p.xkrx_sessions())
    assert date(2026, 7, 17) not in sessions  # KRX was closed on Friday 2026-07-17
    assert date(2025, 7, 17) in sessions and date(2024, 7, 17) in sessions
    assert {date(2026, 7, 16), date(2026, 7, 20)} <= sessions


def test_constitution_day_on_a_weekend_moves_to_the_next_weekday_that_is_no_holiday() -> None:
    closed = p.constitution_day_closures(range(2025, 2034), set())
    assert sorted(closed) == [
        date(2026, 7, 17),  # Friday
        date(2027, 7, 19),  # Saturday 17th → Monday
        date(2028, 7, 17),  # Monday
        date(2029, 7, 17),
        date(2030, 7, 17),
        date(2031, 7, 17),
        date(2032, 7, 19),  # Saturday → Monday
        date(2033, 7, 18),  # Sunday → Monday
    ]
    assert "대체공휴일" in closed[date(2027, 7, 19)]
    # A Monday that is already a holiday pushes the substitute to the Tuesday.
    assert date(2027, 7, 20) in p.constitution_day_closures(range(2027, 2028), {date(2027, 7, 19)})


def test_closures_cover_the_calendar_years_and_the_known_days_exchange_calendars_lacks() -> None:
    closed = p.closures(p.seed_calendar(), date(2028, 12, 31))
    for day in (date(2026, 6, 3), date(2026, 7, 17), date(2027, 7, 19), date(2028, 4, 12),
                date(2028, 7, 17)):  # fmt: skip
        assert closed.get(day)
    holidays = set(p.seed_calendar()["weekday_holidays"])
    # 임시공휴일 and elections of 2024–2025 that exchange_calendars already closes.
    for day in ("2024-04-10", "2024-10-01", "2025-01-27", "2025-06-03"):
        assert day in holidays


def test_no_partition_and_no_schedule_tick_on_constitution_day() -> None:
    assert "2026-07-17" not in set(p.session_partitions().get_partition_keys())
    skipped = run_request(PRICES_PHASE, evening(date(2026, 7, 17)))
    assert isinstance(skipped, dg.SkipReason)
    ran = run_request(PRICES_PHASE, evening(date(2026, 7, 16)))
    assert isinstance(ran, dg.RunRequest) and ran.partition_key == "2026-07-16"


@pytest.fixture
def extra_closures(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set ETF_ASSETS_EXTRA_CLOSURES for the test; every cached view of the calendar follows."""

    def close(value: str) -> None:
        monkeypatch.setenv(settings.EXTRA_CLOSURES_ENV, value)
        p.forget_calendar()

    yield close
    monkeypatch.delenv(settings.EXTRA_CLOSURES_ENV, raising=False)
    p.forget_calendar()


def test_a_user_closure_removes_the_day_everywhere(
    extra_closures: Callable[[str], None],
) -> None:
    closed, before = date(2026, 11, 19), date(2026, 11, 18)  # a Thursday and a Wednesday
    assert p.is_session(closed)
    assert expected_newest("etf_daily_prices", evening(closed)) == closed
    extra_closures(f" {closed}=임시공휴일 , 2027-03-03")
    assert settings.extra_closures() == {closed: "임시공휴일", date(2027, 3, 3): (
        f"closed by {settings.EXTRA_CLOSURES_ENV}")}  # fmt: skip
    assert not p.is_session(closed) and not p.is_session(date(2027, 3, 3))
    assert p.previous_session(date(2026, 11, 20)) == before
    assert closed.isoformat() not in set(p.session_partitions().get_partition_keys())
    assert isinstance(run_request(PRICES_PHASE, evening(closed)), dg.SkipReason)
    # Freshness expects the session before: a closed day never makes a table stale.
    assert expected_newest("etf_daily_prices", evening(closed)) == before


@pytest.mark.parametrize("bad", ["2027-13-01", "tomorrow=holiday", "2027-03-03;2027-03-04"])
def test_a_malformed_user_closure_fails_naming_the_variable_and_the_item(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv(settings.EXTRA_CLOSURES_ENV, f"2027-03-02,{bad}")
    with pytest.raises(ValueError, match=settings.EXTRA_CLOSURES_ENV) as failure:
        settings.extra_closures()
    assert repr(bad) in str(failure.value) and "\n" not in str(failure.value)
