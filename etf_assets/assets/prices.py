"""Prices group: one row per ETF per session, from one bulk request per session.

The Open API (`etf_bydd_trd`) is used when `KRX_AUTH_KEY` is set and the date is published
(T+1, from 08:00 KST the next day); otherwise the data service screen MDCSTAT04301, final after
the 15:30 close. A past session that KRX answers with no data is an unscheduled closure: an
empty partition with a note, not an error. Today before publication is a retryable failure.
A range runs as one run: dates are fetched concurrently under the KRX rate limiter.
"""

import time
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import PRICES
from etf_assets.assets.utils import fan_out_krx, markdown_table, partition_dates, table_metadata
from etf_assets.errors import KRXNotYetPublished
from etf_assets.parsing.krx import (
    daily_prices_from_data_service,
    daily_prices_from_openapi,
    is_no_data_answer,
)
from etf_assets.partitions import KST, session_partitions
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.storage import TABLES, replace_partitions, warehouse

DATA_SERVICE_FINAL_AFTER = timedelta(hours=15, minutes=45)  # close 15:30 + settling margin
OPENAPI_PUBLISHED_AFTER = timedelta(days=1, hours=8)  # T+1, next morning
WRITE_BATCH_SESSIONS = 50


def price_source(trade_date: date, now: datetime, has_openapi: bool) -> str:
    """Which upstream can answer `trade_date` at `now`: "krx_openapi" or "krx_data".

    Raises KRXNotYetPublished when neither has final figures yet (a retryable failure).
    """
    midnight = datetime(trade_date.year, trade_date.month, trade_date.day, tzinfo=KST)
    if has_openapi and now >= midnight + OPENAPI_PUBLISHED_AFTER:
        return "krx_openapi"
    if now >= midnight + DATA_SERVICE_FINAL_AFTER:
        return "krx_data"
    raise KRXNotYetPublished(
        "krx",
        f"session {trade_date} is not final yet (closes 15:30 KST; Open API publishes T+1 "
        "at 08:00 KST): run it again later",
    )


def fetch_session_prices(
    krx: KRXClient, trade_date: date, now: datetime
) -> tuple[pd.DataFrame, str | None]:
    """One session's rows and, for a no-data answer, the note that explains the empty partition."""
    source = price_source(trade_date, now, krx.has_openapi)
    if source == "krx_openapi":
        rows = krx.fetch_openapi_daily(trade_date)
        if rows:
            return daily_prices_from_openapi(rows), None
    else:
        rows = krx.fetch_daily_prices(trade_date)
        if not is_no_data_answer(rows):
            return daily_prices_from_data_service(rows, trade_date), None
    note = (
        f"KRX ({source}) answered no data for session {trade_date}: treated as an "
        "unscheduled closure (empty partition)"
    )
    return pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names)), note


@dg.asset(
    group_name=PRICES,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=300),
    kinds={"duckdb"},
    description="Daily OHLCV, NAV, net assets and index level of every ETF (delisted included).",
    metadata=table_metadata("etf_daily_prices"),
)
def etf_daily_prices(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    dates = partition_dates(context)
    now = partitions.now_kst()
    started = time.monotonic()
    result = fan_out_krx(
        context,
        krx,
        lambda d: fetch_session_prices(krx, d, now),
        dates,
        "etf_daily_prices sessions",
    )
    done = sorted(result.results)
    written = 0
    notes = {d: note for d, (_, note) in result.results.items() if note}
    with warehouse(duckdb) as conn:
        for i in range(0, len(done), WRITE_BATCH_SESSIONS):
            batch = done[i : i + WRITE_BATCH_SESSIONS]
            frames = [result.results[d][0] for d in batch if not result.results[d][0].empty]
            frame = (
                pd.concat(frames, ignore_index=True)
                if frames
                else pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names))
            )
            written += replace_partitions(conn, "etf_daily_prices", batch, frame, notes=notes)
    if result.failures:
        failed = sorted(result.failures)
        first = result.failures[failed[0]]
        raise dg.Failure(
            description=(
                f"{len(failed)} of {len(dates)} sessions failed ({failed[0]}…{failed[-1]}); "
                f"{len(done)} written. First error: {first}"
            ),
            metadata={"failed_sessions": dg.MetadataValue.json([str(d) for d in failed[:50]])},
            allow_retries=all(isinstance(e, KRXNotYetPublished) for e in result.failures.values()),
        )
    newest = result.results[done[-1]][0] if done else pd.DataFrame()
    sources = (
        pd.concat([f["source"] for f, _ in result.results.values() if not f.empty])
        .value_counts()
        .to_dict()
        if written
        else {}
    )
    wall_s = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": written,
            "sessions": len(dates),
            "empty_sessions": dg.MetadataValue.json({str(d): n for d, n in sorted(notes.items())}),
            "rows_by_source": dg.MetadataValue.json(sources),
            "krx_requests": krx.request_count,
            "wall_s": round(wall_s, 2),
            "etfs_newest_session": len(newest),
            "preview": markdown_table(
                newest[["ticker", "name", "close", "nav", "net_assets_krw"]]
                if not newest.empty
                else newest
            ),
        }
    )
