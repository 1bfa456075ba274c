"""Prices group: one row per ETF per session, from one bulk request per session.

The Open API (`etf_bydd_trd`) is used when `KRX_AUTH_KEY` is set and the date is published
(T+1, from 08:00 KST the next day); otherwise the data service screen MDCSTAT04301, final after
the 15:30 close. A past session that KRX answers with no data is an unscheduled closure: an
empty partition with a note, not an error. A session before its prices are final (15:45 KST)
fails at once, before any request, saying when to run it; today's session answered with no data
after that is KRX being late, a failure Dagster retries (`retry_policy`).

A range (up to the whole history since 2002, ~5,900 sessions) is one run that fetches, parses
and writes in batches: sessions are fetched concurrently under the KRX rate limiter while the
previous batch is written, so memory and the work a killed run loses are one batch
(WRITE_BATCH_SESSIONS), whatever the range. Resuming (docs/operations.md § Backfilling the full
history): a range run skips the sessions whose stored answer is final, i.e. was written after the
session's T+1 08:00 KST (when even the Open API has published it), unless its config sets
`refetch_final`; a single-partition run always fetches. Each batch's partitions are reported
as materialized when they land, so the UI shows how far a backfill got.
"""

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from etf_assets import partitions
from etf_assets.assets import PRICES
from etf_assets.assets.utils import (
    announce_warehouse,
    final_sessions_only,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
)
from etf_assets.errors import KRXNotYetPublished, SessionNotFinal
from etf_assets.parsing.krx import (
    daily_prices_from_data_service,
    daily_prices_from_openapi,
    is_no_data_answer,
)
from etf_assets.partitions import at_kst, session_partitions
from etf_assets.phases import OPENAPI_PUBLISHED_AT, PRICES_FINAL_AT
from etf_assets.resources.http import FanOutBatch
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse

# Sessions fetched or in flight but not yet written, at most: the memory of a range run and
# what a killed run fetches again. Writes take half of it at a time (KRXClient.fan_out_batches).
WRITE_BATCH_SESSIONS = 50
EMPTY_SESSIONS_SHOWN = 50
SessionAnswer = tuple[pd.DataFrame, str | None]


class PricesConfig(dg.Config):
    refetch_final: bool = Field(
        default=False,
        description="Fetch every session of a range again, also those whose stored answer is "
        "already final (written after the session's T+1 08:00 KST).",
    )


def require_final_prices(dates: list[date], now: datetime) -> None:
    """Raise SessionNotFinal when the newest of `dates` cannot be final at `now`: before
    PRICES_FINAL_AT KST on its own day, when the data service's prices are final."""
    newest = max(dates)
    final_from = at_kst(newest, PRICES_FINAL_AT)
    if now < final_from:
        raise SessionNotFinal(
            f"session {newest} is not final yet (closes 15:30 KST, prices final from "
            f"{PRICES_FINAL_AT:%H:%M} KST; the Open API publishes T+1 at "
            f"{OPENAPI_PUBLISHED_AT:%H:%M} KST)",
            final_from=final_from,
        )


def price_source(trade_date: date, now: datetime, has_openapi: bool) -> str:
    """Which upstream can answer `trade_date` at `now`: "krx_openapi" or "krx_data".

    Raises SessionNotFinal when neither has final figures yet.
    """
    if has_openapi and now >= final_answer_after(trade_date):
        return "krx_openapi"
    require_final_prices([trade_date], now)
    return "krx_data"


def fetch_session_prices(
    krx: KRXClient, trade_date: date, now: datetime
) -> tuple[pd.DataFrame, str | None]:
    """One session's rows and, for a no-data answer, the note that explains the empty partition.

    A no-data answer for today's session, whose prices are final by now, is KRX being late
    (KRXNotYetPublished, retried), never an empty partition over rows a later run would find.
    """
    source = price_source(trade_date, now, krx.has_openapi)
    if source == "krx_openapi":
        rows = krx.fetch_openapi_daily(trade_date)
        if rows:
            return daily_prices_from_openapi(rows), None
    else:
        rows = krx.fetch_daily_prices(trade_date)
        if not is_no_data_answer(rows):
            return daily_prices_from_data_service(rows, trade_date), None
    if trade_date >= now.date():
        raise KRXNotYetPublished(
            "krx",
            f"KRX ({source}) answered no data for today's session {trade_date}, whose prices "
            f"are final from {PRICES_FINAL_AT:%H:%M} KST: KRX is late; retried in 5 minutes",
        )
    note = (
        f"KRX ({source}) answered no data for session {trade_date}: treated as an "
        "unscheduled closure (empty partition)"
    )
    return pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names)), note


def final_answer_after(trade_date: date) -> datetime:
    """From when a session's answer is final: T+1 08:00 KST, when the Open API publishes it
    (the data service's same-day answer may still lack net assets)."""
    return at_kst(trade_date, OPENAPI_PUBLISHED_AT, days_later=1)


def sessions_stored_final(conn: duckdb.DuckDBPyConnection, dates: list[date]) -> set[date]:
    """The sessions of `dates` whose newest write (etf_partition_log, rows or a note) happened
    after their answer was final: a range run need not fetch them again."""
    if not dates:
        return set()
    wanted = set(dates)
    rows = conn.execute(
        "SELECT partition_date, written_at::TIMESTAMPTZ FROM etf_partition_log_latest "
        "WHERE table_name = 'etf_daily_prices' AND partition_date BETWEEN ? AND ?",
        [min(dates), max(dates)],
    ).fetchall()
    return {d for d, written in rows if d in wanted and written >= final_answer_after(d)}


def price_sessions(conn: duckdb.DuckDBPyConnection) -> tuple[date, ...]:
    """The XKRX sessions but those KRX answered with no data (an empty etf_daily_prices
    partition): the sessions a window that counts sessions walks, so one such day shortens no
    window and turns no figure NULL. A session not fetched yet stays: its figures are unknown."""
    empty = {
        row[0]
        for row in conn.execute(
            "SELECT partition_date FROM etf_partition_log_latest "
            "WHERE table_name = 'etf_daily_prices' AND row_count = 0"
        ).fetchall()
    }
    return tuple(d for d in partitions.xkrx_sessions() if d not in empty)


def _write_batch(
    conn: duckdb.DuckDBPyConnection, batch: FanOutBatch[date, SessionAnswer]
) -> dict[date, int]:
    """One transaction for the batch's sessions; rows written per session."""
    sessions = sorted(batch.results)
    if not sessions:
        return {}
    frames = [batch.results[d][0] for d in sessions if not batch.results[d][0].empty]
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names))
    )
    notes = {d: note for d, (_, note) in batch.results.items() if note}
    replace_partitions(conn, "etf_daily_prices", sessions, frame, notes=notes)
    return {d: len(batch.results[d][0]) for d in sessions}


@dataclass
class _RangeTally:
    """What a run has written so far: for its log, its partitions' events and its result."""

    rows: int = 0
    notes: dict[date, str] = field(default_factory=dict)
    failures: dict[date, BaseException] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)
    newest: tuple[date, pd.DataFrame] | None = None

    def add(self, batch: FanOutBatch[date, SessionAnswer], written: dict[date, int]) -> None:
        self.failures.update(batch.failures)
        self.rows += sum(written.values())
        for d, (frame, note) in batch.results.items():
            if note:
                self.notes[d] = note
            if not frame.empty:
                self.sources.update(frame["source"].value_counts().to_dict())
            if self.newest is None or d > self.newest[0]:
                self.newest = (d, frame)

    def partition_events(
        self, asset_key: dg.AssetKey, written: dict[date, int], progress: str
    ) -> Iterator[dg.AssetMaterialization]:
        """One materialization per partition just written, so the UI shows it done now."""
        for d, rows in sorted(written.items()):
            metadata: dict[str, dg.RawMetadataValue] = {
                "dagster/row_count": rows,
                "backfill_progress": progress,
            }
            if d in self.notes:
                metadata["note"] = self.notes[d]
            yield dg.AssetMaterialization(asset_key, partition=d.isoformat(), metadata=metadata)


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=PRICES,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=300),
    kinds={"duckdb"},
    description="Daily OHLCV, NAV, net assets and index level of every ETF (delisted included).",
    metadata=table_metadata("etf_daily_prices"),
)
def etf_daily_prices(
    context: dg.AssetExecutionContext,
    config: PricesConfig,
    krx: KRXClient,
    duckdb: DuckDBResource,
) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    now = partitions.now_kst()
    with final_sessions_only():  # before any request
        require_final_prices(dates, now)
    started = time.monotonic()
    is_range = len(dates) > 1
    tally = _RangeTally()
    with warehouse(duckdb) as conn:
        kept = (
            sessions_stored_final(conn, dates) if is_range and not config.refetch_final else set()
        )
        todo = [d for d in dates if d not in kept]
        if kept:
            context.log.info(
                f"{len(kept):,} of {len(dates):,} sessions hold a final answer already (written "
                f"after T+1 08:00 KST): skipped; {len(todo):,} to fetch"
            )
        for batch, written in krx.fan_out_batches(
            lambda d: fetch_session_prices(krx, d, now),
            todo,
            WRITE_BATCH_SESSIONS,
            lambda b: _write_batch(conn, b),
        ):
            tally.add(batch, written)
            progress = batch.progress("etf_daily_prices sessions")
            context.log.info(f"{progress}; {tally.rows:,} rows written")
            if is_range:  # the run's result covers a single partition by itself
                yield from tally.partition_events(context.asset_key, written, progress)
        row_counts = stored_row_counts(conn, "etf_daily_prices", dates)
    wall_s = time.monotonic() - started
    if tally.failures:
        failed = sorted(tally.failures)
        first = tally.failures[failed[0]]
        raise dg.Failure(
            description=(
                f"{len(failed)} of {len(todo)} sessions failed ({failed[0]}…{failed[-1]}); "
                f"{len(todo) - len(failed)} written. First error: {first}"
            ),
            metadata={"failed_sessions": dg.MetadataValue.json([str(d) for d in failed[:50]])},
            allow_retries=all(isinstance(e, KRXNotYetPublished) for e in tally.failures.values()),
        )
    newest_figures = (
        {
            tally.newest[0]: {
                "etfs_newest_session": len(tally.newest[1]),
                "preview": markdown_table(
                    tally.newest[1][["ticker", "name", "close", "nav", "net_assets_krw"]],
                    money=("net_assets_krw",),
                ),
            }
        }
        if tally.newest
        else {}
    )
    sessions_per_s = len(todo) / wall_s if wall_s > 0 else 0.0
    yield dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, newest_figures),
            "rows_written": tally.rows,
            "sessions": len(dates),
            "sessions_fetched": len(todo),
            "sessions_skipped_final": len(kept),
            "empty_sessions": dg.MetadataValue.json(
                {str(d): n for d, n in sorted(tally.notes.items())[:EMPTY_SESSIONS_SHOWN]}
            ),
            "empty_sessions_count": len(tally.notes),
            "rows_by_source": dg.MetadataValue.json(dict(tally.sources)),
            "krx_requests": krx.request_count,
            "wall_s": round(wall_s, 2),
            "sessions_per_s": round(sessions_per_s, 2),
            "pace_pct": round(100 * sessions_per_s / krx.requests_per_second, 1),
        }
    )
