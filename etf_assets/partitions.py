"""The XKRX session calendar and the partitions built on it.

exchange_calendars is the source of XKRX holidays, but building its calendar costs about a
second (more with its import), and Definitions load in every run, UI reload and schedule tick.
So its result is cached as JSON: a seed shipped in the package (`xkrx_calendar.json`, rewritten
by `python -m etf_assets.partitions`) and a per-user copy under `$XDG_CACHE_HOME/etf_assets/`.
A cache is used while it was built by the installed exchange_calendars version and still reaches
`CALENDAR_MIN_HORIZON` ahead; otherwise the calendar is rebuilt once and the copy rewritten.
exchange_calendars builds a year ahead, so the calendar extends itself every couple of months
and picks up holidays a new exchange_calendars release learns, and partitions never run out.
On top of it sit the closures exchange_calendars misses (`closures`): the ad-hoc ones
(`EXTRA_CLOSURES`), 제헌절 from 2026 with its substitute holiday (`constitution_day_closures`) and
the user's own (ETF_ASSETS_EXTRA_CLOSURES); their sources: docs/operations.md § Calendar.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from etf_assets import settings

KST = ZoneInfo("Asia/Seoul")
# The first KRX ETFs (KODEX 200 among them) listed on 2002-10-14: partitions start there.
CALENDAR_START = date(2002, 10, 14)
CALENDAR_SEED = Path(__file__).with_name("xkrx_calendar.json")
CALENDAR_MIN_HORIZON = timedelta(days=300)

# Closures that exchange_calendars 4.13.2 lists as sessions (or lacks, past its reach). Each is
# a public holiday of 공휴일에 관한 법률 제2조, on which KRX is closed:
# - 2026-06-03: the nationwide local elections (제9회 전국동시지방선거; KRX market notice).
# - 2028-04-12: the 23rd National Assembly election (제23대 국회의원선거), an election "임기
#   만료에 의한 선거" (공직선거법 제34조: the first Wednesday from the 50th day before the term
#   ends on 2028-05-29), a public holiday by 공휴일에 관한 법률 제2조제9호.
EXTRA_CLOSURES: dict[date, str] = {
    date(2026, 6, 3): "local elections (제9회 전국동시지방선거), KRX closed",
    date(2028, 4, 12): "National Assembly election (제23대 국회의원선거), KRX closed",
}
# 제헌절 (17 July) is a public holiday again from 2026 (공휴일에 관한 법률 제2조, amended
# 2026-02-10: every 국경일 is one), and a national holiday that falls on a Saturday or Sunday
# gets a substitute holiday, the next weekday that is no holiday (제3조; docs/operations.md §
# Calendar). exchange_calendars 4.13.2 lists it as a session.
CONSTITUTION_DAY = (7, 17)
CONSTITUTION_DAY_FROM_YEAR = 2026
# How far past today a calendar built afresh reaches (exchange_calendars' own default is a
# year past the real clock, which a frozen clock in the future would outrun).
CALENDAR_BUILD_REACH = timedelta(days=400)

log = logging.getLogger(__name__)


def exchange_calendars_version() -> str:
    """The installed version, read from package metadata (importing it costs half a second)."""
    return metadata.version("exchange_calendars")


def build_calendar(end: date | None = None) -> dict[str, Any]:
    """Weekday closures of XKRX from exchange_calendars, from CALENDAR_START to `end`.

    Without `end`, exchange_calendars' own horizon (a year from today). Slow: about a second.
    """
    import exchange_calendars as xc  # only here: the cache spares every other load its import

    cal = xc.get_calendar(
        "XKRX", start=CALENDAR_START.isoformat(), end=end.isoformat() if end else None
    )
    sessions = set(cal.sessions.date)
    first, last = cal.first_session.date(), cal.last_session.date()
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return {
        "source": "exchange_calendars XKRX",
        "exchange_calendars": xc.__version__,
        "first_session": first.isoformat(),
        "last_session": last.isoformat(),
        "weekday_holidays": [d.isoformat() for d in days if d.weekday() < 5 and d not in sessions],
    }


def calendar_cache_path() -> Path:
    """The per-user copy of the calendar (XDG base directory convention)."""
    return settings.cache_dir() / "xkrx_calendar.json"


def calendar_is_current(calendar: dict[str, Any], today: date, version: str) -> bool:
    """Built by the installed exchange_calendars and reaching far enough past `today`."""
    return (
        calendar.get("exchange_calendars") == version
        and date.fromisoformat(calendar["first_session"]) <= CALENDAR_START
        and date.fromisoformat(calendar["last_session"]) >= today + CALENDAR_MIN_HORIZON
    )


def _read(path: Path) -> dict[str, Any] | None:
    try:
        calendar = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    needed = {"first_session", "last_session", "weekday_holidays"}
    return calendar if isinstance(calendar, dict) and needed <= calendar.keys() else None


def _write_atomically(path: Path, calendar: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(json.dumps(calendar, indent=1) + "\n")
    os.replace(tmp.name, path)


def load_calendar(today: date, cache: Path, seed: Path = CALENDAR_SEED) -> dict[str, Any]:
    """The first current calendar of the user's copy and the seed, else a fresh build.

    A fresh build is written to `cache` (atomically, so concurrent processes never read half a
    file); a cache that cannot be written only costs the next process the same rebuild.
    """
    version = exchange_calendars_version()
    for path in (cache, seed):
        calendar = _read(path)
        if calendar is not None and calendar_is_current(calendar, today, version):
            return calendar
    calendar = build_calendar(today + CALENDAR_BUILD_REACH)
    try:
        _write_atomically(cache, calendar)
    except OSError as exc:
        log.warning("could not cache the XKRX calendar at %s: %s", cache, exc)
    return calendar


@functools.cache
def _calendar() -> dict[str, Any]:
    return load_calendar(now_kst().date(), calendar_cache_path())


def constitution_day_closures(years: range, holidays: set[date]) -> dict[date, str]:
    """제헌절 of each of `years` from CONSTITUTION_DAY_FROM_YEAR on: the day itself on a
    weekday, else its substitute, the first weekday after it that is not in `holidays`."""
    closed: dict[date, str] = {}
    for year in years:
        if year < CONSTITUTION_DAY_FROM_YEAR:
            continue
        day = date(year, *CONSTITUTION_DAY)
        if day.weekday() < 5:
            closed[day] = "제헌절 (Constitution Day), KRX closed"
            continue
        substitute = day + timedelta(days=1)
        while substitute.weekday() >= 5 or substitute in holidays:
            substitute += timedelta(days=1)
        closed[substitute] = f"대체공휴일 for 제헌절 on {day:%a} {day}, KRX closed"
    return closed


def closures(calendar: dict[str, Any], end: date) -> dict[date, str]:
    """Every weekday closure up to `end` that sits on top of `calendar`'s holidays, with why:
    EXTRA_CLOSURES, 제헌절 and ETF_ASSETS_EXTRA_CLOSURES (the user's, last: its reason wins)."""
    holidays = {date.fromisoformat(d) for d in calendar["weekday_holidays"]} | set(EXTRA_CLOSURES)
    years = range(CONSTITUTION_DAY_FROM_YEAR, end.year + 1)
    return {
        **EXTRA_CLOSURES,
        **constitution_day_closures(years, holidays),
        **settings.extra_closures(),
    }


def weekday_sessions(calendar: dict[str, Any], start: date, end: date) -> tuple[date, ...]:
    """Weekdays from start to end that are neither holidays of `calendar` nor `closures`.

    Days past the calendar's last session count as sessions: only a caller that wants a
    fixed set of days whatever the calendar's reach (the sandbox's market) asks for them.
    """
    closed = {date.fromisoformat(d) for d in calendar["weekday_holidays"]}
    closed |= set(closures(calendar, end))
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    return tuple(d for d in days if d.weekday() < 5 and d not in closed)


@functools.cache
def seed_calendar() -> dict[str, Any]:
    """The calendar shipped in the package: fixed until a developer regenerates it."""
    return json.loads(CALENDAR_SEED.read_text(encoding="utf-8"))


@functools.cache
def xkrx_sessions() -> tuple[date, ...]:
    """Every XKRX session from CALENDAR_START to the calendar's end, extra closures removed."""
    calendar = _calendar()
    return weekday_sessions(
        calendar,
        date.fromisoformat(calendar["first_session"]),
        date.fromisoformat(calendar["last_session"]),
    )


@functools.cache
def _session_set() -> frozenset[date]:
    return frozenset(xkrx_sessions())


def forget_calendar() -> None:
    """Drop every cached view of the calendar, so the next read follows a changed clock or
    ETF_ASSETS_EXTRA_CLOSURES (a process reads both once; tests change them)."""
    for cached in (_calendar, xkrx_sessions, _session_set, max_sessions_in_calendar_days,
                   session_partitions, weekly_partitions):  # fmt: skip
        cached.cache_clear()


def calendar_end() -> date:
    return xkrx_sessions()[-1]


def is_session(d: date) -> bool:
    if d > calendar_end():
        raise ValueError(f"{d} is beyond the XKRX calendar (ends {calendar_end()})")
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


def sessions_back(
    end: date, count: int, sessions: Sequence[date] | None = None
) -> tuple[date, ...]:
    """The `count` sessions ending on (and including) the last session <= end: of the XKRX
    calendar, or of `sessions` (sorted; e.g. the sessions with prices, assets.prices)."""
    sessions = tuple(sessions) if sessions is not None else xkrx_sessions()
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


def month_days(month: date) -> list[date]:
    """Every calendar day of `month`'s month: the dates a monthly partition replaces."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=i) for i in range((following - first).days)]


def trailing_months(today: date) -> list[date]:
    """The months (their first days) a daily refresh rewrites: the previous, this and the next."""
    this_month = today.replace(day=1)
    previous = (this_month - timedelta(days=1)).replace(day=1)
    following = (this_month + timedelta(days=32)).replace(day=1)
    return [previous, this_month, following]


def month_windows(start: date, end: date) -> Iterator[tuple[date, date]]:
    """[start, end] cut at month ends: (start, end of its month), (1st of next month, …), …"""
    window_start = start
    while window_start <= end:
        next_month = (window_start.replace(day=1) + timedelta(days=32)).replace(day=1)
        window_end = min(end, next_month - timedelta(days=1))
        yield window_start, window_end
        window_start = next_month


def now_kst() -> datetime:
    """The clock every asset and check reads (one seam, so tests can freeze it)."""
    return datetime.now(KST)


def at_kst(d: date, at: time, days_later: int = 0) -> datetime:
    """`at` o'clock in Seoul on `d` (or `days_later` days after it)."""
    return datetime.combine(d + timedelta(days=days_later), at, tzinfo=KST)


def last_completed_session(now: datetime, final_at: time) -> date:
    """Newest session whose figures are final as of `now`, when they are final at `final_at`
    on the session's day (phases.PRICES_FINAL_AT, phases.FLOWS_FINAL_AT)."""
    today = now.astimezone(KST).date()
    if is_session(today) and now >= at_kst(today, final_at):
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


def _saturdays() -> list[datetime]:
    first = CALENDAR_START + timedelta(days=(5 - CALENDAR_START.weekday()) % 7)
    return [_midnight(first + timedelta(weeks=i))
            for i in range((calendar_end() - first).days // 7 + 1)]  # fmt: skip


def _weekday_partitions(
    closed_days: list[datetime], end_offset: int = 0, cron: str = "0 0 * * 1-5"
) -> dg.TimeWindowPartitionsDefinition:
    """Day-keyed partitions on a weekday cron, minus `closed_days`.

    A weekday cron rather than a daily one with weekend exclusion crons: Dagster walks every
    window from the start on each key lookup, and since 2002 the exclusion crons made that walk
    five times slower (0.58 s against 0.11 s per `get_partition_keys`, measured); listed days
    cost little. A Friday's daily window runs to Monday, which no asset reads: mappings count
    partitions, not hours.
    """
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=cron,
        fmt="%Y-%m-%d",
        start=CALENDAR_START.isoformat(),
        end=(calendar_end() + timedelta(days=1)).isoformat(),
        timezone="Asia/Seoul",
        end_offset=end_offset,
        exclusions=closed_days,
    )


@functools.cache
def session_partitions() -> dg.TimeWindowPartitionsDefinition:
    """Daily partitions on XKRX sessions (keys YYYY-MM-DD, Asia/Seoul).

    `end_offset=1` (deliberate): without it today's key only exists
    after midnight, so the 16:00 and 17:00 phases could not run for today's session at all
    (DagsterUnknownPartitionError). The cost is Dagster bug #33551: on a closed day the next
    session's key is listed early; running it fails cleanly with KRXNotYetPublished.
    """
    return _weekday_partitions(_non_sessions_on_weekdays(_session_set()), end_offset=1)


@functools.cache
def weekly_partitions() -> dg.TimeWindowPartitionsDefinition:
    """One partition per week, keyed by the week's last session (Friday, or earlier if closed).

    No end_offset: the Sunday phase targets a week that is already over.
    """
    closed = _non_sessions_on_weekdays(frozenset(week_last_sessions()))
    # Mon-Sat with every Saturday closed, so a week's window ends on Saturday at 00:00 and the
    # Sunday phase finds its key (on a Mon-Fri cron it would end on Monday).
    return _weekday_partitions(sorted(closed + _saturdays()), cron="0 0 * * 1-6")


# Monthly partitions (keyed by the month's first day) start with the first ETFs' month.
FIRST_MONTH = CALENDAR_START.replace(day=1)


@functools.cache
def month_partitions() -> dg.MonthlyPartitionsDefinition:
    """Calendar months from October 2002 to next month (`end_offset=1`: a month's payouts are
    announced before it starts)."""
    return dg.MonthlyPartitionsDefinition(
        start_date=FIRST_MONTH.isoformat(), timezone="Asia/Seoul", end_offset=1
    )


if __name__ == "__main__":
    _write_atomically(CALENDAR_SEED, build_calendar())
    print(f"wrote {CALENDAR_SEED}")
