"""etf_overview: one row per ETF for people, with the newest value of every figure.

Each source table is read as its newest row *per ticker*, not its newest partition: an ETF whose
AUM partition is missing shows its older AUM beside that older `aum_as_of`, so a stale figure is
visible instead of silently NULL. The universe is the newest ETF master (etf_details) ∪ the ETFs
priced on the newest session; `is_active` says whether the ticker is in that newest master.

Close and NAV come from etf_daily_prices; AUM, its source and market cap from etf_aum, so AUM and
market cap are always compared on the same date. `name` falls back to the price table's name
for a ticker that never appeared in a master (priced before the master was refreshed).

The same SQL serves the view (no date bound) and the per-session snapshot (every table bounded
to partitions on or before the session), so a snapshot is what the view showed on that day.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from etf_assets.metrics.tracking import WINDOWS

# (column, DuckDB type, expression over the CTE aliases below). The snapshot table's schema is
# derived from this list too, so view and snapshot cannot drift apart; each column's description
# is the warehouse-wide one for its name (etf_assets.resources.storage.COLUMN_DESCRIPTIONS).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ticker", "VARCHAR", "u.ticker"),
    ("name", "VARCHAR", "coalesce(d.name, p.name)"),
    ("name_eng", "VARCHAR", "d.name_eng"),
    ("issuer", "VARCHAR", "d.issuer"),
    ("tracking_index", "VARCHAR", "d.tracking_index"),
    ("asset_class", "VARCHAR", "d.asset_class"),
    ("leverage_factor", "DOUBLE", "d.leverage_factor"),
    ("expense_ratio_pct", "DOUBLE", "d.expense_ratio_pct"),
    ("listing_date", "DATE", "d.listing_date"),
    ("is_active", "BOOLEAN", "u.ticker IN (SELECT ticker FROM newest_master)"),
    ("details_as_of", "DATE", "d.trade_date"),
    ("close", "DOUBLE", "p.close"),
    ("nav", "DOUBLE", "p.nav"),
    ("prices_as_of", "DATE", "p.trade_date"),
    ("aum_krw", "DOUBLE", "a.aum_krw"),
    ("aum_source", "VARCHAR", "a.aum_source"),
    ("market_cap_krw", "DOUBLE", "a.market_cap_krw"),
    ("aum_as_of", "DATE", "a.trade_date"),
    *((f"premium_discount_{n}d_pct", "DOUBLE", f"t.premium_discount_{n}d_pct") for n in WINDOWS),
    *((f"tracking_error_{n}d_pct", "DOUBLE", f"t.tracking_error_{n}d_pct") for n in WINDOWS),
    ("constituent_count", "INTEGER", "t.constituent_count"),
    ("tracking_as_of", "DATE", "t.as_of_date"),
    ("high_52w", "DOUBLE", "w.high_52w"),
    ("high_52w_date", "DATE", "w.high_52w_date"),
    ("low_52w", "DOUBLE", "w.low_52w"),
    ("low_52w_date", "DATE", "w.low_52w_date"),
    ("pct_below_high", "DOUBLE", "w.pct_below_high"),
    ("week52_as_of", "DATE", "w.trade_date"),
)

COLUMN_TYPES: tuple[tuple[str, str], ...] = tuple((name, kind) for name, kind, _ in COLUMNS)

# alias, table, partition column
_SOURCES = (
    ("d", "etf_details", "trade_date"),
    ("p", "etf_daily_prices", "trade_date"),
    ("a", "etf_aum", "trade_date"),
    ("t", "etf_tracking_error", "as_of_date"),
    ("w", "etf_52w", "trade_date"),
)


def overview_sql(until: date | None = None) -> str:
    """The overview as of the newest data, or as of `until` (partitions on or before it only).

    `until` is inlined as a DATE literal (a `date`, so nothing to escape) because a view cannot
    take parameters and the snapshot must run the very same text.
    """
    bound = {
        key: f"{key} <= DATE '{until.isoformat()}'" if until else "TRUE"
        for key in ("trade_date", "as_of_date")
    }
    newest = [
        f"""{alias} AS (
    SELECT * FROM {table} WHERE {bound[key]}
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY {key} DESC) = 1
)"""
        for alias, table, key in _SOURCES
    ]
    select = ",\n    ".join(f"CAST({expr} AS {kind}) AS {name}" for name, kind, expr in COLUMNS)
    joins = "\n".join(f"LEFT JOIN {alias} USING (ticker)" for alias, _, _ in _SOURCES)
    ctes = ",\n".join(newest)
    return f"""WITH
newest_master AS (
    SELECT ticker FROM etf_details WHERE trade_date =
        (SELECT max(trade_date) FROM etf_details WHERE {bound["trade_date"]})
),
newest_priced AS (
    SELECT ticker FROM etf_daily_prices WHERE trade_date =
        (SELECT max(trade_date) FROM etf_daily_prices WHERE {bound["trade_date"]})
),
u AS (SELECT ticker FROM newest_master UNION SELECT ticker FROM newest_priced),
{ctes}
SELECT
    {select}
FROM u
{joins}
ORDER BY aum_krw DESC NULLS LAST, ticker"""


def create_overview_view(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the `etf_overview` view, so its text always follows this module's SQL."""
    conn.execute(f"CREATE OR REPLACE VIEW etf_overview AS {overview_sql()}")


def aum_by(overview: pd.DataFrame, column: str) -> pd.DataFrame:
    """AUM summed per value of `column` (issuer, asset class), largest first, with its share."""
    keyed = overview.assign(**{column: overview[column].fillna("(unknown)")})
    grouped = keyed.groupby(column, as_index=False).agg(
        etfs=("ticker", "count"), aum_krw=("aum_krw", "sum")
    )
    grouped["share_pct"] = 100 * grouped["aum_krw"] / grouped["aum_krw"].sum()
    return grouped.sort_values(["aum_krw", column], ascending=[False, True], ignore_index=True)


def widest_premiums(overview: pd.DataFrame, count: int = 20) -> pd.DataFrame:
    """The `count` ETFs whose 20-session mean premium/discount is furthest from zero."""
    ranked = overview.dropna(subset=["premium_discount_20d_pct"])
    order = ranked["premium_discount_20d_pct"].abs().sort_values(ascending=False).index
    return ranked.loc[order].head(count).reset_index(drop=True)


def new_52w_highs(overview: pd.DataFrame, session: date) -> pd.DataFrame:
    """ETFs whose 52-week high was set on `session` itself, largest AUM first."""
    at_high = overview[pd.to_datetime(overview["high_52w_date"]).dt.date == session]
    return at_high.sort_values("aum_krw", ascending=False, ignore_index=True)
