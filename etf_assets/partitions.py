"""The XKRX session calendar and the partitions built on it.

`exchange_calendars.get_calendar("XKRX")` costs ~3.6 s, and Definitions load in every run and
UI reload, so the calendar is cached in `xkrx_calendar.json` beside this module (regenerate
with `python -m etf_assets.partitions`; a test checks it still equals exchange_calendars).
On top of it sit the ad-hoc closures exchange_calendars misses.
"""

from __future__ import annotations

import bisect
import functools
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

KST = ZoneInfo("Asia/Seoul")
CALENDAR_START = date(2020, 1, 2)
CALENDAR_CACHE = Path(__file__).with_name("xkrx_calendar.json")

# Closures that exchange_calendars 4.13.2 lists as sessions. Source: KRX market notice of the
# 2026-06-03 nationwide local elections (제9회 전국동시지방선거, 임시공휴일 → 휴장).
EXTRA_CLOSURES: dict[date, str] = {
    date(2026, 6, 3): "local elections (제9회 전국동시지방선거), KRX closed",
}


def build_calendar_cache() -> dict[str, object]:
    """Weekday closures of XKRX from exchange_calendars (slow: imports and builds it)."""
    import exchange_calendars as xc

    cal = xc.get_calendar("XKRX", start=CALENDAR_START.isoformat())
    sessions = set(cal.sessions.date)
    first, last = cal.first_session.date(), cal.last_session.date()
    holidays = [
        (first + timedelta(days=i)).isoformat()
        for i in range((last - first).days + 1)
        if (first + timedelta(days=i)).weekday() < 5 and (first + timedelta(days=i)) not in sessions
    ]
    return {
        "source": f"exchange_calendars {xc.__version__} XKRX",
        "first_session": first.isoformat(),
        "last_session": last.isoformat(),
        "weekday_holidays": holidays,
    }


@functools.cache
def _calendar() -> dict[str, object]:
    return json.loads(CALENDAR_CACHE.read_text(encoding="utf-8"))


@functools.cache
def xkrx_sessions() -> tuple[date, ...]:
    """Every XKRX session from CALENDAR_START to the calendar's end, extra closures removed."""
    cal = _calendar()
    first = date.fromisoformat(str(cal["first_session"]))
    last = date.fromisoformat(str(cal["last_session"]))
    closed = {date.fromisoformat(d) for d in cal["weekday_holidays"]} | set(EXTRA_CLOSURES)
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return tuple(d for d in days if d.weekday() < 5 and d not in closed)


@functools.cache
def _session_set() -> frozenset[date]:
    return frozenset(xkrx_sessions())


def calendar_end() -> date:
    return xkrx_sessions()[-1]


def is_session(d: date) -> bool:
    if d > calendar_end():
        raise ValueError(f"{d} is beyond the cached XKRX calendar (ends {calendar_end()})")
    return d in _session_set()


def session_on_or_before(d: date) -> date:
    sessions = xkrx_sessions()
    i = bisect.bisect_right(sessions, d)
    if i == 0:
        raise ValueError(f"no XKRX session on or before {d}")
    return sessions[i - 1]


def previous_session(d: date) -> date:
    return session_on_or_before(d - timedelta(days=1))


def sessions_between(start: date, end: date) -> tuple[date, ...]:
    """Sessions with start <= session <= end."""
    sessions = xkrx_sessions()
    return sessions[bisect.bisect_left(sessions, start) : bisect.bisect_right(sessions, end)]


def sessions_back(end: date, count: int) -> tuple[date, ...]:
    """The `count` sessions ending on (and including) the last session <= end."""
    sessions = xkrx_sessions()
    i = bisect.bisect_right(sessions, end)
    return sessions[max(0, i - count) : i]


@functools.cache
def max_sessions_in_calendar_days(days: int) -> int:
    """The most sessions any `days`-calendar-day window of the cached calendar holds."""
    sessions = xkrx_sessions()
    span = timedelta(days=days - 1)
    return max(
        bisect.bisect_right(sessions, s) - bisect.bisect_left(sessions, s - span) for s in sessions
    )


def week_last_session(d: date) -> date | None:
    """The last session of d's Monday–Sunday week, or None for a week without sessions."""
    monday = d - timedelta(days=d.weekday())
    week = sessions_between(monday, monday + timedelta(days=6))
    return week[-1] if week else None


def week_last_sessions() -> tuple[date, ...]:
    return tuple(sorted({s for s in (week_last_session(d) for d in xkrx_sessions()) if s}))


def now_kst() -> datetime:
    """The clock every asset and check reads (one seam, so tests can freeze it)."""
    return datetime.now(KST)


def last_completed_session(now: datetime, close_hour: int = 16) -> date:
    """Newest session whose data is final as of `now` (a session closes at 15:30 KST)."""
    local = now.astimezone(KST)
    today = local.date()
    if is_session(today) and local.hour >= close_hour:
        return today
    return previous_session(today)


def kis_quote_session(now: datetime) -> date | None:
    """The session whose closing figures a live KIS quote shows at `now`, or None intraday.

    From 15:30 KST on a session day: that day; between 09:00 and 15:30: nothing final (an
    intraday quote must never land in a partition); otherwise the previous session.
    """
    local = now.astimezone(KST)
    today = local.date()
    if is_session(today):
        minutes = local.hour * 60 + local.minute
        if minutes >= 15 * 60 + 30:
            return today
        if minutes >= 9 * 60:
            return None
    return previous_session(today)


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _non_sessions_on_weekdays(keep: frozenset[date]) -> list[datetime]:
    sessions = xkrx_sessions()
    first, last = CALENDAR_START, sessions[-1]
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return [_midnight(d) for d in days if d.weekday() < 5 and d not in keep]


@functools.cache
def session_partitions() -> dg.DailyPartitionsDefinition:
    """Daily partitions on XKRX sessions (keys YYYY-MM-DD, Asia/Seoul).

    `end_offset=1` (deliberate): without it today's key only exists
    after midnight, so the 16:00 and 17:00 phases could not run for today's session at all
    (DagsterUnknownPartitionError). The cost is Dagster bug #33551: on a closed day the next
    session's key is listed early; running it fails cleanly with KRXNotYetPublished.
    """
    return dg.DailyPartitionsDefinition(
        start_date=CALENDAR_START.isoformat(),
        end_date=(calendar_end() + timedelta(days=1)).isoformat(),
        timezone="Asia/Seoul",
        end_offset=1,
        exclusions=["0 0 * * 6", "0 0 * * 0", *_non_sessions_on_weekdays(_session_set())],
    )


@functools.cache
def weekly_partitions() -> dg.DailyPartitionsDefinition:
    """One partition per week, keyed by the week's last session (Friday, or earlier if closed).

    No end_offset: the Sunday phase targets a week that is already over.
    """
    return dg.DailyPartitionsDefinition(
        start_date=CALENDAR_START.isoformat(),
        end_date=(calendar_end() + timedelta(days=1)).isoformat(),
        timezone="Asia/Seoul",
        exclusions=[
            "0 0 * * 6",
            "0 0 * * 0",
            *_non_sessions_on_weekdays(frozenset(week_last_sessions())),
        ],
    )


if __name__ == "__main__":
    CALENDAR_CACHE.write_text(json.dumps(build_calendar_cache(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {CALENDAR_CACHE}")
