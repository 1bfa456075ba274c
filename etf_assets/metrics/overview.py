"""etf_overview: one row per ETF for people, with the newest value of every figure.

Each source table is read as its newest row *per ticker*, not its newest partition: an ETF whose
AUM partition is missing shows its older AUM beside that older `aum_as_of`, so a stale figure is
visible instead of silently NULL. The universe is the newest ETF master (etf_details) ∪ the ETFs
priced on the newest session; `is_active` says whether the ticker is in that newest master.

Returns (price and total, 1 week to 1 year and YTD), the trailing-year distribution yield and
the payout rhythm come from etf_returns, dated by `returns_as_of`.

What holding the fund really costs (TER, 기타비용, 실부담비용 and its gap to KRX's headline
fee) comes from etf_costs' newest disclosed month, dated by `costs_as_of`; a snapshot reads
only months whose base date is on or before its session.

Net buying by foreigners, institutions and individuals over 5 and 20 sessions comes from
etf_investor_flows, summed per ETF over the sessions ending on its newest flows (`flows_as_of`).

The pension verdicts and tax class come from etf_classification (`classification_as_of`); net
creations (money in and out) over 5 and 20 sessions from etf_creations, summed the same way
over the sessions ending on its newest creations (`creations_as_of`).

The three largest sector and country buckets of the fund's basket (`top_sectors`,
`top_countries`) come from etf_exposure's newest week, dated by `exposure_as_of`.

Close and NAV come from etf_daily_prices; AUM, its source and market cap from etf_aum, so AUM and
market cap are always compared on the same date. `name` falls back to the price table's name
for a ticker that never appeared in a master (priced before the master was refreshed).

The same SQL serves the view (no date bound) and the per-session snapshot (every table bounded
to partitions on or before the session), so a snapshot is what the view showed on that day.

Premium outliers: a session whose close is more than `PREMIUM_OUTLIER_PCT` from NAV is an
outlier (a stale or one-off print, or a NAV that no longer describes the fund: a NAV of 44.20
against a close of 9,590 is +21,597 %). The summaries people read leave such figures out of
their rankings and list them on their own (`premium_outliers`); the asset checks use the same
definition.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import duckdb
import pandas as pd

from etf_assets.metrics.exposure import top_buckets_sql
from etf_assets.metrics.returns import RETURN_COLUMNS, TOTAL_RETURN_COLUMNS
from etf_assets.metrics.sql import usable
from etf_assets.metrics.tracking import WINDOWS

# A liquidity provider keeps the price within about 1 % of the fund's indicative NAV (2 % for
# some overseas funds), and KRX singles a fund out once its closing premium exceeds twice that
# band; a close more than 5 % from NAV is beyond that for every kind of fund, so it is no price
# anyone could deal at near NAV, and one such session moves a 20-session mean by a quarter point
# or more.
PREMIUM_OUTLIER_PCT = 5.0
# The window of the premium figure the overview ranks (premium_discount_20d_pct).
RANKED_PREMIUM_SESSIONS = 20
# Net buying per investor group over the last N sessions (etf_investor_flows): the groups
# people follow, who each.
OVERVIEW_FLOW_WINDOWS = (5, 20)
# Net creations (etf_creations: money in and out of the fund) over the last N sessions.
OVERVIEW_CREATION_WINDOWS = (5, 20)
OVERVIEW_FLOW_INVESTORS = {
    "foreign": "foreigners (외국인, 기타외국인 included)",
    "institution": "institutions (기관)",
    "individual": "individuals (개인)",
}
# The groups' names on KRX's screens, for chart labels.
INVESTOR_LABELS = {"institution": "기관", "other_corporation": "기타법인", "individual": "개인",
                   "foreign": "외국인"}  # fmt: skip

# (column, DuckDB type, expression over the CTE aliases below). The snapshot table's schema is
# derived from this list too, so view and snapshot cannot drift apart; each column's description
# is the warehouse-wide one for its name (etf_assets.warehouse.schema.COLUMN_DESCRIPTIONS).
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
    *((name, "DOUBLE", f"r.{name}") for name in (*RETURN_COLUMNS, *TOTAL_RETURN_COLUMNS)),
    ("distribution_ttm_krw", "DOUBLE", "r.distribution_ttm_krw"),
    ("distribution_yield_ttm_pct", "DOUBLE", "r.distribution_yield_ttm_pct"),
    ("distribution_frequency", "VARCHAR", "r.distribution_frequency"),
    ("returns_as_of", "DATE", "r.trade_date"),
    *(
        (f"{investor}_net_buy_{n}d_krw", "BIGINT", f"f.{investor}_net_buy_{n}d_krw")
        for investor in OVERVIEW_FLOW_INVESTORS
        for n in OVERVIEW_FLOW_WINDOWS
    ),
    ("flows_as_of", "DATE", "f.flows_as_of"),
    ("pension_savings_eligible", "BOOLEAN", "c.pension_savings_eligible"),
    ("retirement_eligible", "BOOLEAN", "c.retirement_eligible"),
    ("retirement_risk_asset", "BOOLEAN", "c.retirement_risk_asset"),
    ("tax_class", "VARCHAR", "c.tax_class"),
    ("classification_as_of", "DATE", "c.trade_date"),
    *(
        (f"net_creation_{n}d_krw", "DOUBLE", f"n.net_creation_{n}d_krw")
        for n in OVERVIEW_CREATION_WINDOWS
    ),
    ("creations_as_of", "DATE", "n.creations_as_of"),
    ("ter_pct", "DOUBLE", "k.ter_pct"),
    ("other_expenses_pct", "DOUBLE", "k.other_expenses_pct"),
    ("all_in_cost_pct", "DOUBLE", "k.all_in_cost_pct"),
    ("all_in_minus_headline_pct", "DOUBLE", "round(k.all_in_cost_pct - d.expense_ratio_pct, 6)"),
    ("costs_as_of", "DATE", "k.month"),
    ("top_sectors", "VARCHAR", "x.top_sectors"),
    ("top_countries", "VARCHAR", "x.top_countries"),
    ("exposure_as_of", "DATE", "x.exposure_as_of"),
)

COLUMN_TYPES: tuple[tuple[str, str], ...] = tuple((name, kind) for name, kind, _ in COLUMNS)

# alias, table, partition column
_SOURCES = (
    ("d", "etf_details", "trade_date"),
    ("p", "etf_daily_prices", "trade_date"),
    ("a", "etf_aum", "trade_date"),
    ("t", "etf_tracking_error", "as_of_date"),
    ("w", "etf_52w", "trade_date"),
    ("r", "etf_returns", "trade_date"),
    ("c", "etf_classification", "trade_date"),
    ("k", "etf_costs", "kofia_base_date"),
)


def _net_buying(investor: str, n: int) -> str:
    """SQL: one group's net value summed over the ETF's N-session window, NULL unless all N
    sessions have it (one row per session and group: the table's key)."""
    rows = f"r.session_no > e.end_no - {n} AND r.investor = '{investor}'"
    return (
        f"CASE WHEN count(r.net_value_krw) FILTER (WHERE {rows}) = {n} "
        f"THEN sum(r.net_value_krw) FILTER (WHERE {rows}) END AS {investor}_net_buy_{n}d_krw"
    )


def net_buying_sql(bound: str) -> str:
    """CTEs ending in `f`: per ticker, `flows_as_of` and the N-session net buying per group.

    A window is the N sessions (dates of etf_daily_prices, within `bound`) ending on the ETF's
    newest flows session. Its sum is NULL unless the ETF has the group's net value on all N:
    a gap or a young fund gives no figure, never a sum over fewer sessions.
    """
    sums = ",\n        ".join(
        _net_buying(investor, n)
        for investor in OVERVIEW_FLOW_INVESTORS
        for n in OVERVIEW_FLOW_WINDOWS
    )
    return f"""f_sessions AS (
    SELECT trade_date, row_number() OVER (ORDER BY trade_date) AS session_no
    FROM (SELECT DISTINCT trade_date FROM etf_daily_prices WHERE {bound})
),
f_rows AS (
    SELECT ticker, trade_date, investor, net_value_krw, session_no
    FROM etf_investor_flows JOIN f_sessions USING (trade_date)
),
f_end AS (
    SELECT ticker, max(trade_date) AS flows_as_of, max(session_no) AS end_no
    FROM f_rows GROUP BY ticker
),
f AS (
    SELECT e.ticker, e.flows_as_of,
        {sums}
    FROM f_end AS e JOIN f_rows AS r USING (ticker)
    WHERE r.session_no > e.end_no - {max(OVERVIEW_FLOW_WINDOWS)}
    GROUP BY e.ticker, e.flows_as_of
)"""


def net_creations_sql(bound: str) -> str:
    """CTEs ending in `n`: per ticker, `creations_as_of` and its net creations summed over the
    N sessions (dates of etf_daily_prices, within `bound`) ending there; NULL unless the fund
    has the figure on all N (a young fund, or history that starts inside the window)."""
    sums = ",\n        ".join(
        f"CASE WHEN count(r.net_creation_krw) FILTER (WHERE r.session_no > e.end_no - {n}) = {n} "
        f"THEN sum(r.net_creation_krw) FILTER (WHERE r.session_no > e.end_no - {n}) END "
        f"AS net_creation_{n}d_krw"
        for n in OVERVIEW_CREATION_WINDOWS
    )
    return f"""n_sessions AS (
    SELECT trade_date, row_number() OVER (ORDER BY trade_date) AS session_no
    FROM (SELECT DISTINCT trade_date FROM etf_daily_prices WHERE {bound})
),
n_rows AS (
    SELECT ticker, trade_date, net_creation_krw, session_no
    FROM etf_creations JOIN n_sessions USING (trade_date)
),
n_end AS (
    SELECT ticker, max(trade_date) AS creations_as_of, max(session_no) AS end_no
    FROM n_rows GROUP BY ticker
),
n AS (
    SELECT e.ticker, e.creations_as_of,
        {sums}
    FROM n_end AS e JOIN n_rows AS r USING (ticker)
    WHERE r.session_no > e.end_no - {max(OVERVIEW_CREATION_WINDOWS)}
    GROUP BY e.ticker, e.creations_as_of
)"""


def overview_sql(until: date | None = None) -> str:
    """The overview as of the newest data, or as of `until` (partitions on or before it only).

    `until` is inlined as a DATE literal (a `date`, so nothing to escape) because a view cannot
    take parameters and the snapshot must run the very same text.
    """
    bound = {
        key: f"{key} <= DATE '{until.isoformat()}'" if until else "TRUE"
        for key in ("trade_date", "as_of_date", "kofia_base_date")
    }
    newest = [
        f"""{alias} AS (
    SELECT * FROM {table} WHERE {bound[key]}
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY {key} DESC) = 1
)"""
        for alias, table, key in _SOURCES
    ]
    sources = [alias for alias, _, _ in _SOURCES]
    select = ",\n    ".join(f"CAST({expr} AS {kind}) AS {name}" for name, kind, expr in COLUMNS)
    joins = "\n".join(f"LEFT JOIN {alias} USING (ticker)" for alias in (*sources, "f", "n", "x"))
    ctes = ",\n".join(
        [
            *newest,
            net_buying_sql(bound["trade_date"]),
            net_creations_sql(bound["trade_date"]),
            top_buckets_sql(bound["as_of_date"]),
        ]
    )
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


def widest_premiums(
    overview: pd.DataFrame, outliers: Collection[str], count: int = 20
) -> pd.DataFrame:
    """The `count` ETFs whose 20-session mean premium/discount is furthest from zero, the
    `outliers` (tickers) left out: an outlier would take the top rows by itself."""
    ranked = overview[~overview["ticker"].isin(outliers)].dropna(
        subset=["premium_discount_20d_pct"]
    )
    order = ranked["premium_discount_20d_pct"].abs().sort_values(ascending=False).index
    return ranked.loc[order].head(count).reset_index(drop=True)


def new_52w_highs(overview: pd.DataFrame, session: date, outliers: Collection[str]) -> pd.DataFrame:
    """ETFs whose 52-week high was set on `session` itself, largest AUM first, the `outliers`
    (tickers whose close on the session is an outlier print) left out."""
    at_high = overview[
        (pd.to_datetime(overview["high_52w_date"]).dt.date == session)
        & ~overview["ticker"].isin(outliers)
    ]
    return at_high.sort_values("aum_krw", ascending=False, ignore_index=True)


def largest_net_flows(flows: pd.DataFrame, count: int) -> pd.DataFrame:
    """The `count` largest net buys and `count` largest net sells among `flows` rows (ticker,
    investor, net_value_krw), largest buy first and largest sell last; a 0 is neither."""
    ranked = flows.sort_values(
        ["net_value_krw", "ticker", "investor"], ascending=[False, True, True]
    )
    buys = ranked[ranked["net_value_krw"] > 0].head(count)
    sells = ranked[ranked["net_value_krw"] < 0].tail(count)
    return pd.concat([buys, sells], ignore_index=True)


def premium_pct_sql(close: str = "close", nav: str = "nav") -> str:
    """SQL: a session's premium (+) or discount (−) to NAV in %, NULL unless close and NAV are
    usable, exactly as the premium_discount_*d_pct means take it."""
    return f"CASE WHEN {usable(close)} AND {usable(nav)} THEN ({close} - {nav}) / {nav} * 100 END"


def window_outliers_sql(windows_sql: str, sessions: int) -> str:
    """SQL: the outlier sessions among the last `sessions` sessions with a premium up to each
    window's end, the sessions an N-session mean is taken over.

    `windows_sql` selects (ticker, as_of_date). Rows: ticker, as_of_date, trade_date, close, nav,
    premium_pct and session_rank (1 = the newest session of the window), largest first.

    Each fund's sessions with a premium are numbered once; a window is the numbers up to its
    end's, so only the (rare) outlier sessions meet the windows. Joining every window to its
    fund's whole history instead took 85 s and 20 GB over 24 years of weekly windows.
    """
    return f"""
WITH windows AS ({windows_sql}),
premiums AS (
    SELECT ticker, trade_date, close, nav,
        {premium_pct_sql()} AS premium_pct
    FROM etf_daily_prices
    WHERE ticker IN (SELECT ticker FROM windows)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY ticker ORDER BY trade_date) AS session_number
    FROM premiums
    WHERE premium_pct IS NOT NULL
),
window_ends AS (
    SELECT w.ticker, w.as_of_date, n.session_number AS end_number
    FROM windows AS w
    ASOF JOIN numbered AS n ON n.ticker = w.ticker AND w.as_of_date >= n.trade_date
),
outliers AS (
    SELECT * FROM numbered WHERE abs(premium_pct) > {PREMIUM_OUTLIER_PCT}
)
SELECT e.ticker, e.as_of_date, o.trade_date, o.close, o.nav, o.premium_pct,
    e.end_number - o.session_number + 1 AS session_rank
FROM window_ends AS e
JOIN outliers AS o ON o.ticker = e.ticker
    AND o.session_number BETWEEN e.end_number - {sessions} + 1 AND e.end_number
ORDER BY abs(o.premium_pct) DESC, e.ticker, o.trade_date, e.as_of_date"""


def premium_outliers(conn: duckdb.DuckDBPyConnection, overview_sql_text: str) -> pd.DataFrame:
    """The ETFs of an overview (`overview_sql_text`: the view or one snapshot) whose premium
    figures are outliers: the newest session's close beyond `PREMIUM_OUTLIER_PCT` of its NAV,
    or an outlier session among the 20 the ranked premium_discount_20d_pct is a mean of.

    One row per ETF, largest premium first: ticker, name, close, nav, premium_pct (of the newest
    session), premium_discount_20d_pct, outlier_sessions_20d, and the worst outlier session
    of the 20 (worst_session, worst_session_premium_pct).
    """
    windows = (
        "SELECT ticker, tracking_as_of AS as_of_date FROM overview "
        "WHERE premium_discount_20d_pct IS NOT NULL"
    )
    return conn.execute(f"""
WITH overview AS ({overview_sql_text}),
in_window AS ({window_outliers_sql(windows, RANKED_PREMIUM_SESSIONS)}),
per_etf AS (
    SELECT ticker,
        count(*) AS outlier_sessions_20d,
        arg_max(trade_date, abs(premium_pct)) AS worst_session,
        arg_max(premium_pct, abs(premium_pct)) AS worst_session_premium_pct
    FROM in_window
    GROUP BY ticker
),
flagged AS (
    SELECT o.ticker, o.name, o.close, o.nav, {premium_pct_sql("o.close", "o.nav")} AS premium_pct,
        o.premium_discount_20d_pct, coalesce(e.outlier_sessions_20d, 0) AS outlier_sessions_20d,
        e.worst_session, e.worst_session_premium_pct
    FROM overview AS o
    LEFT JOIN per_etf AS e USING (ticker)
)
SELECT * FROM flagged
WHERE abs(premium_pct) > {PREMIUM_OUTLIER_PCT} OR outlier_sessions_20d > 0
ORDER BY greatest(abs(premium_pct), abs(worst_session_premium_pct)) DESC, ticker""").df()
