"""Metrics group: AUM, 52-week high/low and tracking error, computed in DuckDB SQL.

Each asset runs one set-based statement from `etf_assets.metrics` over its partitions (a day,
or any range: a batch of partitions per transaction, computed and written inside DuckDB; no
per-session or per-ETF Python loop) and reports the figures people look at.
"""

import hashlib
import time
from collections.abc import Sequence
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import METRICS
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details
from etf_assets.assets.prices import etf_daily_prices, price_sessions
from etf_assets.assets.utils import (
    announce_warehouse,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
    with_names,
)
from etf_assets.metrics.aum import AUM_SQL, kis_quotes
from etf_assets.metrics.overview import (
    PREMIUM_OUTLIER_PCT,
    RANKED_PREMIUM_SESSIONS,
    window_outliers_sql,
)
from etf_assets.metrics.tracking import (
    TRACKING_SQL,
    UNADJUSTED_TRACKING_SQL,
    WINDOWS,
    tracking_params,
)
from etf_assets.metrics.units import krw_korean
from etf_assets.metrics.week52 import WEEK52_SQL, WINDOW_DAYS, week52_params, window_sessions
from etf_assets.parsing.kis import inquire_price_frame
from etf_assets.parsing.krx import tracking_error_rows as parse_tracking_error_rows
from etf_assets.partitions import (
    kis_quote_session,
    max_sessions_in_calendar_days,
    session_partitions,
    sessions_back,
    weekly_partitions,
)
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions_in_batches, warehouse

KIS_FAILURE_TOLERANCE = 0.05
# parse_inquire_price's names → etf_aum's `_kis` columns.
KIS_FROM_QUOTE = {
    "net_assets_krw": "aum_krw_kis",
    "nav": "nav_kis",
    "close": "close_kis",
    "listed_shares": "listed_shares_kis",
}


def _kis_snapshot(
    context: dg.AssetExecutionContext, kis: KISClient, tickers: list[str]
) -> tuple[pd.DataFrame, dict[str, object]]:
    """KIS inquire-price for every ticker, as the `_kis` columns of etf_aum."""
    results, failures, stats = kis.fetch_many(kis.inquire_price, tickers)
    if len(failures) > KIS_FAILURE_TOLERANCE * max(len(tickers), 1):
        raise dg.Failure(
            f"KIS failed for {len(failures)} of {len(tickers)} ETFs (> 5 %): "
            f"first {next(iter(failures.items()))}",
            metadata={"failed_tickers": dg.MetadataValue.json(sorted(failures)[:50])},
        )
    frame = inquire_price_frame(results.values()).rename(columns=KIS_FROM_QUOTE)
    frame = frame[["ticker", *KIS_FROM_QUOTE.values()]]
    info: dict[str, object] = {
        "kis_requests": stats.get("requests"),
        "kis_effective_req_per_s": round(float(stats.get("effective_rps") or 0), 2),
        "kis_failed_tickers": dg.MetadataValue.json(sorted(failures)[:20]),
    }
    context.log.info(f"KIS: {len(results)} quotes, {len(failures)} failures")
    return frame, info


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=METRICS,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[etf_details, etf_daily_prices],
    kinds={"duckdb"},
    description="AUM = net assets (순자산총액), never market cap; KIS figures beside it when set.",
    metadata=table_metadata("etf_aum"),
)
def etf_aum(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, kis: KISClient
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    newest_session = kis_quote_session(partitions.now_kst())
    kis_frame: pd.DataFrame | None = None
    kis_info: dict[str, object] = {}
    if not kis.is_configured:
        kis_info["kis"] = "not configured (KIS_APP_KEY/KIS_APP_SECRET unset): KRX figures only"
    elif newest_session is None:
        kis_info["kis"] = "skipped: the market is open, KIS quotes are intraday, not closing"
    elif newest_session not in dates:
        kis_info["kis"] = f"skipped: KIS quotes are live snapshots of {newest_session} only"
    else:
        with warehouse(duckdb) as conn:
            tickers = [
                r[0]
                for r in conn.execute(
                    "SELECT ticker FROM etf_daily_prices WHERE trade_date = ? ORDER BY ticker",
                    [newest_session],
                ).fetchall()
            ]
        if tickers:
            kis_frame, kis_info = _kis_snapshot(context, kis, tickers)
    started = time.perf_counter()
    with warehouse(duckdb) as conn, kis_quotes(conn, kis_frame, newest_session):
        replace_partitions_in_batches(
            conn, "etf_aum", dates, lambda batch: (AUM_SQL, {"dates": batch})
        )
        compute_s = time.perf_counter() - started
        row_counts = stored_row_counts(conn, "etf_aum", dates)
        newest = stored_partition(conn, "etf_aum", dates[-1])
        top = with_names(
            conn,
            newest.nlargest(10, "aum_krw")[["ticker", "aum_krw", "aum_source", "market_cap_krw"]],
            on=dates[-1],
        )
    total_aum_krw = float(newest["aum_krw"].sum())
    newest_figures = {
        "total_aum_krw": total_aum_krw,
        "total_aum": krw_korean(total_aum_krw),
        "total_aum_trillion_krw": round(total_aum_krw / 1e12, 3),
        "aum_coverage_pct": round(float(100 * newest["aum_krw"].notna().mean()), 2)
        if len(newest)
        else 0.0,
        "aum_source_counts": dg.MetadataValue.json(
            newest["aum_source"].fillna("missing").value_counts().to_dict()
        ),
        "top_10": markdown_table(top, money=("aum_krw", "market_cap_krw")),
    }
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {dates[-1]: newest_figures}),
            **kis_info,
            "compute_s": round(compute_s, 3),
        }
    )


def stored_partition(conn: duckdb.DuckDBPyConnection, table: str, d: date) -> pd.DataFrame:
    """The rows of one partition of a derived table (its newest, for the metadata)."""
    key = TABLES[table].key_column
    return conn.execute(f"SELECT * FROM {table} WHERE {key} = ? ORDER BY ticker", [d]).df()


def missing_price_sessions(
    conn: duckdb.DuckDBPyConnection, trade_date: date, sessions: Sequence[date]
) -> list[date]:
    """The sessions of `trade_date`'s 52-week window with no price partition yet. Recorded
    closures (empty price partitions) are not in `sessions` (`price_sessions`), so not missing."""
    window = window_sessions(trade_date, sessions)
    if not window:
        return []
    present = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT trade_date FROM etf_daily_prices WHERE trade_date BETWEEN ? AND ?",
            [window[0], trade_date],
        ).fetchall()
    }
    return sorted(set(window) - present)


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=METRICS,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        etf_details,
        dg.AssetDep(
            etf_daily_prices,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=1 - max_sessions_in_calendar_days(WINDOW_DAYS)
            ),
        ),
    ],
    kinds={"duckdb"},
    description="52-week high/low from daily highs and lows over 365 calendar days, with dates.",
    metadata=table_metadata("etf_52w"),
)
def etf_52w(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    started = time.perf_counter()
    with warehouse(duckdb) as conn:
        sessions = price_sessions(conn)
        replace_partitions_in_batches(
            conn, "etf_52w", dates, lambda batch: (WEEK52_SQL, week52_params(batch, sessions))
        )
        compute_s = time.perf_counter() - started
        missing = missing_price_sessions(conn, dates[-1], sessions)
        row_counts = stored_row_counts(conn, "etf_52w", dates)
        newest = stored_partition(conn, "etf_52w", dates[-1])
        partial = with_names(conn, newest[~newest["has_full_year"].astype(bool)], on=dates[-1])
        preview = with_names(
            conn,
            newest[["ticker", "close", "high_52w", "high_52w_date", "low_52w", "pct_below_high"]],
            on=dates[-1],
        )
    at_high = newest[pd.to_datetime(newest["high_52w_date"]).dt.date == dates[-1]]
    newest_figures = {
        "missing_price_sessions": dg.MetadataValue.json([str(d) for d in missing[:50]]),
        "missing_price_sessions_count": len(missing),
        "etfs_without_full_year": len(partial),
        "without_full_year_sample": markdown_table(
            partial[["ticker", "name", "sessions_in_window"]], max_rows=20
        ),
        "etfs_at_new_52w_high": len(at_high),
        "preview": markdown_table(preview),
    }
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {dates[-1]: newest_figures}),
            "compute_s": round(compute_s, 3),
        }
    )


KRX_TRACKING_SAMPLE_SIZE = 20
# KRX's own figures of the newest week, beside ours (registered while the run writes).
KRX_PUBLISHED = "etf_tracking_error_krx_published"
PUBLISHED_TRACKING_SQL = f"""
SELECT ours.*, krx.krx_tracking_error_pct
FROM ({TRACKING_SQL}) AS ours
LEFT JOIN {KRX_PUBLISHED} AS krx USING (as_of_date, ticker)
ORDER BY ours.as_of_date, ours.ticker
"""


def krx_tracking_sample(tickers: list[str], as_of: date, size: int) -> list[str]:
    """A deterministic, week-varying sample of ETFs whose KRX-published figure we fetch."""

    def rank(ticker: str) -> str:
        return hashlib.sha256(f"{ticker}|{as_of.isoformat()}".encode()).hexdigest()

    return sorted(tickers, key=rank)[:size]


def _krx_published_tracking_error(
    context: dg.AssetExecutionContext, krx: KRXClient, etfs: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """KRX's own 추적오차율 (MDCSTAT05901) for a sample, for the cross-check."""
    chosen = krx_tracking_sample(list(etfs["ticker"]), as_of, KRX_TRACKING_SAMPLE_SIZE)
    sample = etfs[etfs["ticker"].isin(chosen)]
    start = sessions_back(as_of, 5)[0]

    def published(item: tuple[str, str]) -> float | None:
        rows = parse_tracking_error_rows(krx.fetch_tracking_error(item[1], start, as_of))
        return None if rows.empty else rows["tracking_error_pct"].iloc[-1]

    result = krx.fan_out(
        published,
        list(sample[["ticker", "isin"]].itertuples(index=False, name=None)),
        label="KRX 05901",
        log=context.log,
    )
    return pd.DataFrame(
        [(t, v) for (t, _), v in result.results.items()],
        columns=["ticker", "krx_tracking_error_pct"],
    )


def tracking_for(
    conn: duckdb.DuckDBPyConnection,
    as_of_dates: Sequence[date],
    sql: str = TRACKING_SQL,
    sessions: Sequence[date] | None = None,
) -> pd.DataFrame:
    """etf_tracking_error rows of the weeks `as_of_dates` (sorted), from the funds priced on
    each week's last session, over sessions with prices (a day KRX had no data for takes no
    place in a window). `sessions` (default `price_sessions(conn)`) lets a run read them once."""
    sessions = price_sessions(conn) if sessions is None else sessions
    return conn.execute(sql, tracking_params(as_of_dates, sessions)).df()


def payout_adjustment_effect(adjusted: pd.DataFrame, unadjusted: pd.DataFrame) -> pd.DataFrame:
    """Per fund: the 250-session tracking error with payouts added back and without, and the
    change (adjusted − unadjusted, %pt); funds whose figure moved only."""
    column = "tracking_error_250d_pct"
    both = adjusted[["ticker", column]].merge(
        unadjusted[["ticker", column]], on="ticker", suffixes=("", "_unadjusted")
    )
    both["change_pctpt"] = both[column] - both[f"{column}_unadjusted"]
    return both[both["change_pctpt"].abs() > 1e-9].sort_values("change_pctpt", ignore_index=True)


def _payout_metadata(effect: pd.DataFrame) -> dict[str, object]:
    """How much adding payouts back changed the newest week's 250-session figures."""
    column = "tracking_error_250d_pct"
    return {
        "payout_adjusted_funds": len(effect),
        "payout_adjustment_median_change_pctpt": (
            round(float(effect["change_pctpt"].median()), 4) if len(effect) else None
        ),
        "payout_adjustment_worst_change_pctpt": (
            round(float(effect["change_pctpt"].min()), 4) if len(effect) else None
        ),
        "payout_adjustment_largest": markdown_table(
            effect[["ticker", "name", f"{column}_unadjusted", column, "change_pctpt"]],
            max_rows=20,
        ),
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=METRICS,
    partitions_def=weekly_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        etf_details,
        etf_holdings,
        dg.AssetDep(
            etf_daily_prices,
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-51),
        ),
    ],
    kinds={"duckdb"},
    description="Premium/discount (괴리율) and true tracking error (추적오차율), 20/60/120/250d, "
    "payouts added back to the NAV return; any past week in one run per range.",
    metadata=table_metadata("etf_tracking_error"),
)
def etf_tracking_error(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    weeks = partition_dates(context)
    as_of = weeks[-1]
    with warehouse(duckdb) as conn:
        etfs = conn.execute(
            "SELECT ticker, isin FROM etf_details WHERE trade_date = "
            "(SELECT max(trade_date) FROM etf_details WHERE trade_date <= ?)",
            [as_of],
        ).df()
    # KRX's figure is fetched for the newest week of the run only: a backfill of years would
    # otherwise cost 20 requests a week for a WARN comparison of the past.
    published = _krx_published_tracking_error(context, krx, etfs, as_of).astype(
        {"krx_tracking_error_pct": "float64"}
    )
    published.insert(0, "as_of_date", pd.Series([as_of] * len(published), dtype="datetime64[us]"))
    started = time.perf_counter()
    with warehouse(duckdb) as conn:
        sessions = price_sessions(conn)
        conn.register(KRX_PUBLISHED, published)
        try:
            replace_partitions_in_batches(
                conn,
                "etf_tracking_error",
                weeks,
                lambda batch: (PUBLISHED_TRACKING_SQL, tracking_params(batch, sessions)),
            )
        finally:
            conn.unregister(KRX_PUBLISHED)
        compute_s = time.perf_counter() - started
        unadjusted = tracking_for(conn, [as_of], UNADJUSTED_TRACKING_SQL, sessions)
        row_counts = stored_row_counts(conn, "etf_tracking_error", weeks)
        frame = with_names(conn, stored_partition(conn, "etf_tracking_error", as_of), on=as_of)
        effect = with_names(conn, payout_adjustment_effect(frame, unadjusted), on=as_of)
        windows = (
            f"SELECT ticker, as_of_date FROM etf_tracking_error WHERE as_of_date = DATE '{as_of}'"
        )
        outliers = conn.execute(
            f"SELECT DISTINCT ticker FROM ({window_outliers_sql(windows, RANKED_PREMIUM_SESSIONS)})"
        ).df()["ticker"]
    nulls = {
        f"null_{kind}_{n}d": int(frame[f"{kind}_{n}d_pct"].isna().sum())
        for kind in ("premium_discount", "tracking_error")
        for n in WINDOWS
    }
    compared = frame.dropna(subset=["krx_tracking_error_pct", "tracking_error_250d_pct"])
    # An outlier session (close beyond PREMIUM_OUTLIER_PCT of NAV) would take the top rows by
    # itself: those ETFs are ranked apart, as in etf_overview.
    ranked = frame[~frame["ticker"].isin(outliers)]
    widest = ranked.reindex(
        ranked["premium_discount_20d_pct"].abs().sort_values(ascending=False).index
    )
    newest_figures = {
        **nulls,
        "leverage_sources": dg.MetadataValue.json(
            frame["leverage_source"].value_counts().to_dict()
        ),
        **_payout_metadata(effect),
        "krx_published_compared": len(compared),
        "krx_vs_ours_median_abs_diff_pctpt": (
            round(
                float(
                    (compared["krx_tracking_error_pct"] - compared["tracking_error_250d_pct"])
                    .abs()
                    .median()
                ),
                4,
            )
            if len(compared)
            else None
        ),
        "widest_premium_discount_20d": markdown_table(
            widest[["ticker", "name", "premium_discount_20d_pct", "tracking_error_250d_pct"]],
            max_rows=20,
        ),
        "premium_outliers_20d": dg.MetadataValue.json(sorted(outliers)),
        "premium_outliers_note": (
            f"{len(outliers)} ETFs with a session beyond {PREMIUM_OUTLIER_PCT} % of NAV among "
            f"their last {RANKED_PREMIUM_SESSIONS} are left out of the widest table"
        ),
    }
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {as_of: newest_figures}),
            "compute_s": round(compute_s, 3),
        }
    )
