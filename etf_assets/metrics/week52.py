"""52-week high/low: highest daily high and lowest daily low over the sessions within the 365
calendar days ending on the trade date (not MAX(close) over 250 calendar days, as the plan had).

O/H/L of 0 mean "no trade that day" and are stored as NULL, so they never become a low of 0.
Ties resolve to the most recent date. An ETF has a full year only when it was listed before the
window and has a row on every session of it; otherwise the figures are since listing (or over
the history we hold) and `has_full_year` is false.
"""

from __future__ import annotations

WINDOW_DAYS = 365

WEEK52_SQL = """
WITH window_rows AS (
    SELECT ticker, trade_date, high, low, close
    FROM etf_daily_prices
    WHERE trade_date > $trade_date::DATE - INTERVAL 365 DAY AND trade_date <= $trade_date
),
listing AS (
    SELECT ticker, listing_date
    FROM etf_details
    WHERE trade_date = (SELECT max(trade_date) FROM etf_details WHERE trade_date <= $trade_date)
),
stats AS (
    SELECT
        ticker,
        max(high) AS high_52w,
        count(*) AS sessions_in_window
    FROM window_rows
    GROUP BY ticker
),
high_pick AS (
    SELECT ticker, trade_date AS high_52w_date
    FROM window_rows WHERE high IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY high DESC, trade_date DESC) = 1
),
low_pick AS (
    SELECT ticker, low AS low_52w, trade_date AS low_52w_date
    FROM window_rows WHERE low IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY low ASC, trade_date DESC) = 1
)
SELECT
    $trade_date::DATE AS trade_date,
    today.ticker,
    s.high_52w,
    h.high_52w_date,
    l.low_52w,
    l.low_52w_date,
    today.close,
    CASE WHEN s.high_52w > 0 THEN (s.high_52w - today.close) / s.high_52w * 100 END
        AS pct_below_high,
    s.sessions_in_window::INTEGER AS sessions_in_window,
    (s.sessions_in_window >= $expected_sessions
        AND coalesce(li.listing_date <= $trade_date::DATE - INTERVAL 365 DAY, TRUE))
        AS has_full_year
FROM window_rows AS today
JOIN stats AS s USING (ticker)
LEFT JOIN high_pick AS h USING (ticker)
LEFT JOIN low_pick AS l USING (ticker)
LEFT JOIN listing AS li USING (ticker)
WHERE today.trade_date = $trade_date
ORDER BY today.ticker
"""
