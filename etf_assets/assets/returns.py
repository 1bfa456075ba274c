"""etf_returns: price and total returns over 1 week to 1 year and YTD, and the trailing-year
distribution yield, per ETF per session.

The math is `etf_assets.metrics.returns` (one set-based statement over the warehouse's closes
and payouts, with a year of look-back before the run's first session); a range of any length
is written a batch of sessions per transaction (`warehouse.write.replace_partitions_in_batches`).
KRX's own 1-month change of every ETF (MDCSTAT04401, one request) is stored beside ours for
the cross-check on the run's newest session only: a backfill of the whole history would
otherwise spend thousands of requests on a WARN comparison of the past.
"""

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets.assets import METRICS
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
from etf_assets.metrics.returns import (
    HISTORY_DAYS,
    KRX_CHANGES,
    RETURNS_SQL,
    returns_params,
    window_start,
)
from etf_assets.parsing.krx import period_change_frame
from etf_assets.partitions import (
    max_sessions_in_calendar_days,
    session_partitions,
    sessions_between,
    xkrx_sessions,
)
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions_in_batches, warehouse

TABLE = "etf_returns"
CROSS_CHECK_WINDOW = "1m"
TOP_YIELD_COLUMNS = [
    "ticker", "close", "distribution_ttm_krw", "distribution_yield_ttm_pct",
    "distribution_frequency", "return_1y_pct", "total_return_1y_pct",
]  # fmt: skip


def krx_period(trade_date: date, sessions: Sequence[date]) -> tuple[date, date] | None:
    """strtDd and endDd of the 04401 request whose base price (the close before strtDd) is the
    close our 1-month window starts from; None when the window has no start."""
    start = window_start(trade_date, CROSS_CHECK_WINDOW, sessions)
    if start is None:
        return None
    return sessions_between(start + timedelta(days=1), trade_date)[0], trade_date


def krx_month_changes(
    context: dg.AssetExecutionContext, krx: KRXClient, dates: Sequence[date]
) -> tuple[pd.DataFrame, dict[date, str]]:
    """KRX's 1-month change of every ETF (krx_return_1m_pct) for each date, and the dates KRX
    did not answer (their figure stays NULL; the check reports them as not compared)."""
    sessions = xkrx_sessions()
    periods = {d: p for d in dates if (p := krx_period(d, sessions)) is not None}

    def fetch(d: date) -> pd.DataFrame:
        frame = period_change_frame(krx.fetch_period_change(*periods[d]))
        return pd.DataFrame(
            {"trade_date": d, "ticker": frame["ticker"], "krx_return_1m_pct": frame["change_pct"]}
        )

    result = krx.fan_out(fetch, list(periods), label="KRX 04401", log=context.log)
    frames = [f for f in result.results.values() if len(f)]
    changes = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["trade_date", "ticker", "krx_return_1m_pct"])
    )
    return changes, {d: f"{type(e).__name__}: {e}" for d, e in result.failures.items()}


@contextmanager
def krx_changes_registered(
    conn: duckdb.DuckDBPyConnection, changes: pd.DataFrame
) -> Iterator[None]:
    """KRX's 1-month changes registered as RETURNS_SQL's KRX_CHANGES while the block runs."""
    typed = changes.astype({"ticker": "object", "krx_return_1m_pct": "float64"})
    typed["trade_date"] = pd.to_datetime(typed["trade_date"]).astype("datetime64[us]")
    conn.register(KRX_CHANGES, typed)
    try:
        yield
    finally:
        conn.unregister(KRX_CHANGES)


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=METRICS,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        dg.AssetDep(
            etf_daily_prices,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=1 - max_sessions_in_calendar_days(HISTORY_DAYS)
            ),
        ),
        dg.AssetKey("etf_distributions"),
    ],
    kinds={"duckdb"},
    description="Price and total returns (1w–1y, YTD) and the trailing-year distribution yield "
    "per ETF per session, with KRX's 1-month change beside ours.",
    metadata=table_metadata(TABLE),
)
def etf_returns(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    krx_changes, krx_failures = krx_month_changes(context, krx, dates[-1:])
    started = time.perf_counter()
    with warehouse(duckdb) as conn, krx_changes_registered(conn, krx_changes):
        sessions = price_sessions(conn)
        replace_partitions_in_batches(
            conn, TABLE, dates, lambda batch: (RETURNS_SQL, returns_params(batch, sessions))
        )
        compute_s = time.perf_counter() - started
        row_counts = stored_row_counts(conn, TABLE, dates)
        newest = conn.execute(
            f"SELECT * FROM {TABLE} WHERE trade_date = ? ORDER BY ticker", [dates[-1]]
        ).df()
        payers = newest[newest["distributions_ttm"] > 0]
        top_yield = with_names(
            conn, payers.nlargest(10, "distribution_yield_ttm_pct")[TOP_YIELD_COLUMNS], on=dates[-1]
        )
    compared = newest.dropna(subset=["return_1m_pct", "krx_return_1m_pct"])
    gaps = (compared["return_1m_pct"] - compared["krx_return_1m_pct"]).abs()
    newest_figures = {
        "etfs": len(newest),
        "null_return_1m": int(newest["return_1m_pct"].isna().sum()),
        "null_return_1y": int(newest["return_1y_pct"].isna().sum()),
        "etfs_paying_ttm": len(payers),
        "median_distribution_yield_ttm_pct": (
            round(float(payers["distribution_yield_ttm_pct"].median()), 3) if len(payers) else None
        ),
        "distribution_frequency_counts": dg.MetadataValue.json(
            newest["distribution_frequency"].value_counts().to_dict()
        ),
        "krx_compared": len(compared),
        "krx_vs_ours_max_abs_diff_pctpt": (round(float(gaps.max()), 4) if len(compared) else None),
        "krx_vs_ours_median_abs_diff_pctpt": (
            round(float(gaps.median()), 4) if len(compared) else None
        ),
        "top_yield": markdown_table(top_yield),
    }
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {dates[-1]: newest_figures}),
            "compute_s": round(compute_s, 3),
            "krx_unanswered_sessions": dg.MetadataValue.json(
                {str(d): why for d, why in sorted(krx_failures.items())[:20]}
            ),
        }
    )
