"""AUM = net assets (순자산총액), never market cap (시가총액). See docs/assets.md § Definitions.

KRX publishes `INVSTASST_NETASST_TOTAMT`; it sends 0 on the day itself and for new listings,
which the parser stores as NULL (not published), and then NAV × listed shares stands in
(`aum_source = nav_x_shares`). Close × listed shares is market cap and only ever lands in
`market_cap_krw`. A product is only taken of, and NAV and close are only copied when they are,
positive and finite (`metrics.sql.usable`): a NULL or 0 NAV, close or share count gives NULL,
never 0, NaN or infinity.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from etf_assets.metrics.sql import usable

_NAV_X_SHARES_USABLE = f"{usable('nav')} AND listed_shares > 0"
AUM_FROM_KRX_SQL = f"""
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
WHERE trade_date = $trade_date
ORDER BY ticker
"""

KIS_COLUMNS = ("aum_krw_kis", "nav_kis", "close_kis", "listed_shares_kis")


def aum_frame(
    conn: duckdb.DuckDBPyConnection, trade_date: date, kis: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per ETF priced on `trade_date`; KIS figures beside it when given.

    `kis` has columns ticker + KIS_COLUMNS. Where KRX has neither net assets nor NAV but KIS
    has net assets, KIS's figure becomes the AUM with `aum_source = kis`.
    """
    frame = conn.execute(AUM_FROM_KRX_SQL, {"trade_date": trade_date}).df()
    if kis is None or kis.empty:
        for column in KIS_COLUMNS:
            frame[column] = None
        return frame
    merged = frame.merge(kis[["ticker", *KIS_COLUMNS]], on="ticker", how="left")
    use_kis = merged["aum_krw"].isna() & merged["aum_krw_kis"].notna()
    merged.loc[use_kis, "aum_krw"] = merged.loc[use_kis, "aum_krw_kis"]
    merged.loc[use_kis, "aum_source"] = "kis"
    return merged


def relative_gap_pct(a: pd.Series, b: pd.Series) -> pd.Series:
    """|a − b| / b × 100; missing (NaN, pandas' NULL of a float) where either side is missing
    or b is not positive, never infinity."""
    b = b.where(b > 0)
    return ((a - b).abs() / b * 100).astype("float64")
