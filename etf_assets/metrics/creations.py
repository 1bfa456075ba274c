"""Money in and out of every fund (설정 and 환매): the change of its listed units times NAV.

An ETF's units are created and redeemed in whole creation units (CU) by its authorised
participants, at NAV; the price screen publishes every fund's listed units per session, so
(listed units − the previous session's) × NAV is the money that came in (+, creation) or went
out (−, redemption) that session, with no request of its own.

- A fund's first priced session is its listing, a creation of every unit listed, when the
  market was priced on the stored session before it without the fund (and its master listing
  date, where one is held, is after that session). Where the stored history simply starts
  with the fund already listed, its first change is unknown: NULL, never its whole size.
- A delisting is a redemption of what was left: on the first stored session without the fund
  after its last one (as etf_universe dates it), a row with 0 listed units, the last units
  redeemed at the last NAV (`event = 'delisting'`).
- Sessions are the stored ones with prices, so a closure KRX priced nothing on is skipped.
- `cu_multiple` = units changed ÷ CU (the master's CU_QTY in force): a whole number unless
  the data is wrong (a split, a CU change, a misprint), which a WARN check lists.

Set-based: one statement per range of sessions, whatever its length.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from etf_assets.metrics.sql import usable

EVENTS = ("listing", "delisting")
# Previous units are looked up this far before a range's first session: a fund absent from
# the price screen for longer than that is not the same listing any more.
LOOKBACK_DAYS = 31

CREATIONS_SQL = f"""
WITH sessions AS (
    SELECT trade_date, lag(trade_date) OVER (ORDER BY trade_date) AS previous_session
    FROM (SELECT DISTINCT trade_date FROM etf_daily_prices WHERE trade_date <= $end)
),
span AS (SELECT * FROM sessions WHERE trade_date BETWEEN $start AND $end),
known AS (
    SELECT ticker, trade_date, listed_shares, CASE WHEN {usable("nav")} THEN nav END AS nav
    FROM etf_daily_prices
    WHERE listed_shares IS NOT NULL AND trade_date < $end
        AND trade_date >= (SELECT min(coalesce(previous_session, trade_date)) FROM span)
            - INTERVAL {LOOKBACK_DAYS} DAY
),
seen AS (
    SELECT ticker, min(trade_date) AS first_session, max(trade_date) AS last_session
    FROM etf_daily_prices GROUP BY ticker
),
master AS (
    SELECT ticker, arg_max(listing_date, trade_date) AS listing_date,
        arg_max(cu_shares, trade_date) AS newest_cu_shares
    FROM etf_details GROUP BY ticker
),
priced AS (
    SELECT p.trade_date, p.ticker, p.listed_shares,
        CASE WHEN {usable("p.nav")} THEN p.nav END AS nav, s.previous_session
    FROM etf_daily_prices AS p JOIN span AS s USING (trade_date)
),
priced_previous AS (
    SELECT t.*, k.listed_shares AS previous_shares
    FROM priced AS t
    ASOF LEFT JOIN known AS k ON k.ticker = t.ticker AND t.trade_date > k.trade_date
),
gone AS (
    SELECT s.trade_date, f.ticker
    FROM span AS s JOIN seen AS f ON f.last_session = s.previous_session
),
gone_previous AS (
    SELECT g.trade_date, g.ticker, k.listed_shares AS previous_shares, k.nav
    FROM gone AS g
    ASOF LEFT JOIN known AS k ON k.ticker = g.ticker AND g.trade_date > k.trade_date
),
changes AS (
    SELECT t.trade_date, t.ticker, t.listed_shares, t.nav,
        CASE
            WHEN t.trade_date > f.first_session THEN t.listed_shares - t.previous_shares
            WHEN t.previous_session IS NOT NULL
                AND coalesce(m.listing_date > t.previous_session, TRUE) THEN t.listed_shares
        END AS shares_change,
        CASE WHEN t.trade_date = f.first_session AND t.previous_session IS NOT NULL
            AND coalesce(m.listing_date > t.previous_session, TRUE) THEN 'listing' END AS event
    FROM priced_previous AS t
    JOIN seen AS f USING (ticker)
    LEFT JOIN master AS m USING (ticker)
    UNION ALL
    SELECT trade_date, ticker, 0 AS listed_shares, nav, -previous_shares AS shares_change,
        'delisting' AS event
    FROM gone_previous
),
with_cu AS (
    SELECT c.*, coalesce(d.cu_shares, m.newest_cu_shares) AS cu_shares
    FROM changes AS c
    LEFT JOIN master AS m USING (ticker)
    ASOF LEFT JOIN etf_details AS d ON d.ticker = c.ticker AND c.trade_date >= d.trade_date
)
SELECT trade_date, ticker,
    listed_shares::BIGINT AS listed_shares,
    shares_change::BIGINT AS shares_change,
    nav,
    shares_change * nav AS net_creation_krw,
    cu_shares::BIGINT AS cu_shares,
    CASE WHEN cu_shares > 0 THEN shares_change / cu_shares END AS cu_multiple,
    event
FROM with_cu
ORDER BY trade_date, ticker
"""


def creations_frame(conn: duckdb.DuckDBPyConnection, start: date, end: date) -> pd.DataFrame:
    """etf_creations rows for every stored session in [start, end], one statement."""
    return conn.execute(CREATIONS_SQL, {"start": start, "end": end}).df()


def largest_net_creations(creations: pd.DataFrame, count: int) -> pd.DataFrame:
    """Per fund, net creations summed over the rows given (ticker, net_creation_krw): the
    `count` largest inflows, largest first, then the `count` largest outflows, largest last;
    a fund whose sum is 0 or unknown is neither."""
    sums = (
        creations.dropna(subset=["net_creation_krw"])
        .groupby("ticker", as_index=False)["net_creation_krw"]
        .sum()
        .sort_values(["net_creation_krw", "ticker"], ascending=[False, True])
    )
    inflows = sums[sums["net_creation_krw"] > 0].head(count)
    outflows = sums[sums["net_creation_krw"] < 0].tail(count)
    return pd.concat([inflows, outflows], ignore_index=True)
