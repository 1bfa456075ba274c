"""52-week high/low: highest daily high and lowest daily low over the sessions within the 365
calendar days ending on the trade date (not MAX(close) over 250 calendar days, as the plan had).

O/H/L of 0 mean "no trade that day" and are stored as NULL, so they never become a low of 0.
Ties resolve to the most recent date. An ETF has a full year only when it was listed before the
window and has a row on every session of it; otherwise the figures are since listing (or over
the history we hold) and `has_full_year` is false.

One statement computes any set of sessions: each fund's rows from 364 days before the first
target to the last, one window (RANGE 364 days) per row, kept for the targets only. A single
day and the whole history are the same query.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, timedelta

WINDOW_DAYS = 365

WEEK52_SQL = f"""
WITH targets AS (
    SELECT unnest($dates::DATE[]) AS trade_date,
        unnest($expected_sessions::INTEGER[]) AS expected_sessions
),
windowed AS (
    SELECT
        ticker,
        trade_date,
        close,
        max(high) OVER w AS high_52w,
        min(low) OVER w AS low_52w,
        count(*) OVER w AS sessions_in_window
    FROM etf_daily_prices
    WHERE trade_date BETWEEN $history_start AND $last_date
    WINDOW w AS (PARTITION BY ticker ORDER BY trade_date
        RANGE BETWEEN INTERVAL {WINDOW_DAYS - 1} DAY PRECEDING AND CURRENT ROW)
),
highs AS (SELECT ticker, high, trade_date FROM etf_daily_prices
    WHERE trade_date BETWEEN $history_start AND $last_date AND high IS NOT NULL),
lows AS (SELECT ticker, low, trade_date FROM etf_daily_prices
    WHERE trade_date BETWEEN $history_start AND $last_date AND low IS NOT NULL),
snapshots AS (  -- the etf_details snapshot each target reads listing dates from
    SELECT t.trade_date, s.snapshot_date
    FROM targets AS t
    ASOF LEFT JOIN (SELECT DISTINCT trade_date AS snapshot_date FROM etf_details) AS s
        ON t.trade_date >= s.snapshot_date
)
SELECT
    w.trade_date,
    w.ticker,
    w.high_52w,
    h.trade_date AS high_52w_date,
    w.low_52w,
    l.trade_date AS low_52w_date,
    w.close,
    CASE WHEN w.high_52w > 0 THEN (w.high_52w - w.close) / w.high_52w * 100 END
        AS pct_below_high,
    w.sessions_in_window::INTEGER AS sessions_in_window,
    (w.sessions_in_window >= t.expected_sessions
        AND coalesce(li.listing_date <= w.trade_date - INTERVAL {WINDOW_DAYS} DAY, TRUE))
        AS has_full_year
FROM windowed AS w
JOIN targets AS t USING (trade_date)
-- the window's high and low were last reached on the latest day up to the target with that
-- value: it lies within the window, as the window holds the value
ASOF LEFT JOIN highs AS h
    ON h.ticker = w.ticker AND h.high = w.high_52w AND w.trade_date >= h.trade_date
ASOF LEFT JOIN lows AS l
    ON l.ticker = w.ticker AND l.low = w.low_52w AND w.trade_date >= l.trade_date
JOIN snapshots AS s USING (trade_date)
LEFT JOIN etf_details AS li ON li.trade_date = s.snapshot_date AND li.ticker = w.ticker
ORDER BY w.trade_date, w.ticker
"""


def window_sessions(trade_date: date, sessions: Sequence[date]) -> Sequence[date]:
    """The sessions (sorted) within the 365 calendar days ending on `trade_date`."""
    start = trade_date - timedelta(days=WINDOW_DAYS - 1)
    return sessions[bisect_left(sessions, start) : bisect_right(sessions, trade_date)]


def week52_params(dates: Sequence[date], sessions: Sequence[date]) -> dict[str, object]:
    """WEEK52_SQL's parameters for `dates` (sorted): each date's expected session count from
    `sessions` (the sessions with prices, so a closure KRX answered empty is not expected)."""
    return {
        "dates": list(dates),
        "expected_sessions": [len(window_sessions(d, sessions)) for d in dates],
        "history_start": dates[0] - timedelta(days=WINDOW_DAYS - 1),
        "last_date": dates[-1],
    }
