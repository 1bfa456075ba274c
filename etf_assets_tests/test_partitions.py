import json
from datetime import date, datetime, timedelta
from pathlib import Path

import exchange_calendars as xc
import pytest

from etf_assets import partitions as p
from etf_assets.phases import PRICES_FINAL_AT

FIXED_END = date(2027, 6, 30)  # inside any calendar built since 2026-12: no test reads the clock


def test_calendar_equals_exchange_calendars_less_the_closures() -> None:
    """Over a fixed range, our sessions are exactly exchange_calendars' minus the closures."""
    calendar = xc.get_calendar(
        "XKRX", start=p.CALENDAR_START.isoformat(), end=FIXED_END.isoformat()
    )
    theirs = set(calendar.sessions.date)
    ours = p.sessions_between(p.CALENDAR_START, FIXED_END)
    assert set(ours) == theirs - set(p.closures(p.seed_calendar(), FIXED_END))


def test_seed_reaches_past_the_minimum_horizon_of_its_build() -> None:
    seed = json.loads(p.CALENDAR_SEED.read_text(encoding="utf-8"))
    assert date.fromisoformat(seed["last_session"]) >= FIXED_END
    assert seed["exchange_calendars"]


def _calendar(version: str, last: date) -> dict[str, object]:
    return {
        "exchange_calendars": version,
        "first_session": p.CALENDAR_START.isoformat(),
        "last_session": last.isoformat(),
        "weekday_holidays": [],
    }


@pytest.fixture
def no_build(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Record (instead of running) every rebuild; the fake ends a year after the frozen day."""
    builds: list[date] = []

    def fake_build(end: date | None = None) -> dict[str, object]:
        builds.append(TODAY)
        return _calendar(p.exchange_calendars_version(), TODAY + timedelta(days=365))

    monkeypatch.setattr(p, "build_calendar", fake_build)
    return builds


TODAY = date(2026, 12, 1)


def test_a_current_seed_is_used_without_a_build(tmp_path: Path, no_build: list[date]) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(_calendar(p.exchange_calendars_version(), date(2027, 12, 1))))
    calendar = p.load_calendar(TODAY, tmp_path / "cache" / "xkrx.json", seed)
    assert calendar["last_session"] == "2027-12-01" and no_build == []
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("version", "last", "why"),
    [
        ("installed", date(2027, 6, 1), "ends less than the minimum horizon ahead"),
        ("an older release", date(2027, 12, 1), "built by another exchange_calendars"),
    ],
)
def test_a_stale_calendar_is_rebuilt_once_and_cached(
    tmp_path: Path, no_build: list[date], version: str, last: date, why: str
) -> None:
    seed = tmp_path / "seed.json"
    installed = p.exchange_calendars_version()
    seed.write_text(json.dumps(_calendar(installed if version == "installed" else version, last)))
    cache = tmp_path / "cache" / "xkrx.json"
    first = p.load_calendar(TODAY, cache, seed)
    assert len(no_build) == 1, why
    assert date.fromisoformat(first["last_session"]) >= TODAY + p.CALENDAR_MIN_HORIZON
    assert p.load_calendar(TODAY, cache, seed) == first and len(no_build) == 1  # from the cache
    later = TODAY + timedelta(days=90)  # the cached build is now short of the horizon
    p.load_calendar(later, cache, seed)
    assert len(no_build) == 2


def test_an_unwritable_cache_costs_a_rebuild_not_a_failure(
    tmp_path: Path, no_build: list[date]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    calendar = p.load_calendar(TODAY, blocker / "xkrx.json", tmp_path / "no-seed.json")
    assert calendar["last_session"] == (TODAY + timedelta(days=365)).isoformat()


def test_a_real_rebuild_reaches_the_horizon_from_today(tmp_path: Path) -> None:
    """Whatever day this runs, exchange_calendars builds far enough ahead for partitions."""
    today = date.today()
    calendar = p.load_calendar(today, tmp_path / "xkrx.json", tmp_path / "no-seed.json")
    assert p.calendar_is_current(calendar, today, p.exchange_calendars_version())
    assert (tmp_path / "xkrx.json").exists()


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
    assert keys[0] == "2002-10-14" and keys[-1] == "2026-11-25"  # today exists for 16:00 runs
    assert "2026-06-03" not in keys and "2026-11-21" not in keys
    assert len(keys) == len(p.sessions_between(date(2002, 10, 14), date(2026, 11, 25)))


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
    assert p.last_completed_session(now, PRICES_FINAL_AT) == expected


def test_max_sessions_in_a_year_bounds_the_52w_mapping() -> None:
    # 2002-2005 had the most sessions in a year (255); since 2020 at most 250
    assert 245 <= p.max_sessions_in_calendar_days(365) <= 256


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
