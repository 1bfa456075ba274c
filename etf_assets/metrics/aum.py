"""AUM = net assets (순자산총액), never market cap (시가총액). See docs/assets.md § Definitions.

KRX publishes `INVSTASST_NETASST_TOTAMT`; it sends 0 on the day itself and for new listings,
which the parser stores as NULL (not published), and then NAV × listed shares stands in
(`aum_source = nav_x_shares`). Close × listed shares is market cap and only ever lands in
`market_cap_krw`. A product is only taken of, and NAV and close are only copied when they are,
positive and finite (`metrics.sql.usable`): a NULL or 0 NAV, close or share count gives NULL,
never 0, NaN or infinity.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import duckdb
import pandas as pd

from etf_assets.metrics.sql import usable

_NAV_X_SHARES_USABLE = f"{usable('nav')} AND listed_shares > 0"
KIS_COLUMNS = ("aum_krw_kis", "nav_kis", "close_kis", "listed_shares_kis")
# The relation AUM_SQL reads KIS's quotes from (`kis_quotes` registers it).
KIS_QUOTES = "etf_aum_kis_quotes"

AUM_SQL = f"""
WITH krx AS (
    SELECT
        trade_date,
        ticker,
        CASE
            WHEN net_assets_krw > 0 THEN net_assets_krw::DOUBLE
            WHEN {_NAV_X_SHARES_USABLE} THEN nav * listed_shares
        END AS aum_krw,
        CASE
            WHEN net_assets_krw > 0 THEN 'krx_net_assets'
            WHEN {_NAV_X_SHARES_USABLE} THEN 'nav_x_shares'
        END AS aum_source,
        CASE
            WHEN market_cap_krw > 0 THEN market_cap_krw::DOUBLE
            WHEN {usable("close")} AND listed_shares > 0 THEN close * listed_shares
        END AS market_cap_krw,
        CASE WHEN {usable("nav")} THEN nav END AS nav,
        CASE WHEN {usable("close")} THEN close END AS close,
        listed_shares
    FROM etf_daily_prices
    WHERE trade_date IN (SELECT unnest($dates::DATE[]))
)
SELECT
    krx.* REPLACE (
        coalesce(krx.aum_krw, k.aum_krw_kis) AS aum_krw,
        CASE WHEN krx.aum_krw IS NULL AND k.aum_krw_kis IS NOT NULL THEN 'kis'
            ELSE krx.aum_source END AS aum_source
    ),
    k.aum_krw_kis,
    k.nav_kis,
    k.close_kis,
    k.listed_shares_kis
FROM krx
LEFT JOIN {KIS_QUOTES} AS k USING (trade_date, ticker)
ORDER BY krx.trade_date, krx.ticker
"""


def kis_quotes_frame(kis: pd.DataFrame | None, trade_date: date | None) -> pd.DataFrame:
    """KIS's quotes (ticker + KIS_COLUMNS) as KIS_QUOTES' rows of `trade_date`; none without
    quotes. Where KRX has neither net assets nor NAV but KIS has net assets, AUM_SQL takes
    KIS's figure as the AUM with `aum_source = kis`."""
    columns = ["ticker", *KIS_COLUMNS]
    quoted = kis is not None and trade_date is not None
    rows = kis[columns] if quoted else pd.DataFrame(columns=columns)
    frame = rows.reset_index(drop=True).astype(
        {"ticker": "object", **dict.fromkeys(KIS_COLUMNS, "float64")}
    )
    frame.insert(0, "trade_date", pd.Series([trade_date] * len(frame), dtype="datetime64[us]"))
    return frame


@contextmanager
def kis_quotes(
    conn: duckdb.DuckDBPyConnection, kis: pd.DataFrame | None, trade_date: date | None
) -> Iterator[None]:
    """KIS_QUOTES registered on `conn` for AUM_SQL while the block runs."""
    conn.register(KIS_QUOTES, kis_quotes_frame(kis, trade_date))
    try:
        yield
    finally:
        conn.unregister(KIS_QUOTES)


def relative_gap_pct(a: pd.Series, b: pd.Series) -> pd.Series:
    """|a − b| / b × 100; missing (NaN, pandas' NULL of a float) where either side is missing
    or b is not positive, never infinity."""
    b = b.where(b > 0)
    return ((a - b).abs() / b * 100).astype("float64")
