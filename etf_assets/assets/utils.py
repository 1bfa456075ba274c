"""Small helpers shared by the asset modules: partition dates, table metadata, rendering."""

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

import dagster as dg
import duckdb
import pandas as pd

from etf_assets.errors import KRX_FATAL
from etf_assets.resources.http import FanOutResult, fan_out
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.storage import TABLES, replace_partitions

# Sessions a derived asset computes and writes per transaction: a range of any length (the
# whole history is ~5,900 sessions) holds one batch of frames in memory.
METRIC_WRITE_BATCH_SESSIONS = 250

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
W = TypeVar("W")


def table_metadata(table_name: str) -> dict[str, object]:
    """Definition metadata for the asset whose partitions are stored in `table_name`: the
    table's name and its columns with types and descriptions, shown before any run."""
    table = TABLES[table_name]
    return {"dagster/table_name": table.name, "dagster/column_schema": table.column_schema}


def partition_dates(context: dg.AssetExecutionContext) -> list[date]:
    """The session dates this run covers: one key, or a whole range under a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]


def replace_partitions_in_batches(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    dates: list[date],
    frame_for: Callable[[date], pd.DataFrame],
) -> tuple[int, pd.DataFrame]:
    """Compute `frame_for` each date and write them METRIC_WRITE_BATCH_SESSIONS at a time, one
    transaction each.

    Returns the rows written and the last date's frame (what the asset's metadata shows).
    """
    written, last = 0, pd.DataFrame()
    for start in range(0, len(dates), METRIC_WRITE_BATCH_SESSIONS):
        batch = dates[start : start + METRIC_WRITE_BATCH_SESSIONS]
        frames = [frame_for(d) for d in batch]
        frame = pd.concat(frames, ignore_index=True)
        written += replace_partitions(conn, table_name, batch, frame)
        last = frames[-1]
    return written, last


def markdown_table(frame: pd.DataFrame, max_rows: int = 10) -> dg.MetadataValue:
    """A compact markdown table; NaN shown as blank, floats with thousands separators."""
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = frame.head(max_rows).copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = [
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |"
        for row in shown.itertuples(index=False)
    ]
    more = f"\n\n_{len(frame) - max_rows} more rows_" if len(frame) > max_rows else ""
    return dg.MetadataValue.md("\n".join([header, rule, *body]) + more)


def counts_table(frame: pd.DataFrame, column: str, label: str) -> dg.MetadataValue:
    counts = frame[column].fillna("(none)").value_counts().rename_axis(label).reset_index()
    return markdown_table(counts.rename(columns={"count": "ETFs"}), max_rows=40)


@contextmanager
def _krx_fatal_fails_run() -> Iterator[None]:
    """A credentials error (KRX_FATAL) fails the run without Dagster's retries: waiting five
    minutes cannot fix it."""
    try:
        yield
    except KRX_FATAL as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def fan_out_krx(
    context: dg.AssetExecutionContext,
    krx: KRXClient,
    fetch: Callable[[K], V],
    items: Iterable[K],
    label: str,
) -> FanOutResult[K, V]:
    """`fan_out` at the KRX client's concurrency; a credentials error stops the fan-out."""
    with _krx_fatal_fails_run():
        return fan_out(
            fetch,
            items,
            max_workers=krx.max_workers,
            log=context.log,
            stop_on=KRX_FATAL,
            label=label,
        )


@dataclass
class FanOutBatch(Generic[K, V]):
    """Items finished since the previous batch, and the progress of the whole fan-out."""

    results: dict[K, V] = field(default_factory=dict)
    failures: dict[K, BaseException] = field(default_factory=dict)
    done: int = 0  # items finished so far, this batch's included
    total: int = 0
    elapsed_s: float = 0.0

    def __len__(self) -> int:
        return len(self.results) + len(self.failures)

    @property
    def rate_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_per_s
        return (self.total - self.done) / rate if rate > 0 else None

    def progress(self, label: str) -> str:
        eta = "?" if self.eta_s is None else f"{self.eta_s:.0f}s"
        return f"{label}: {self.done:,}/{self.total:,}, {self.rate_per_s:.1f}/s, ETA {eta}"


def fan_out_krx_batches(
    krx: KRXClient,
    fetch: Callable[[K], V],
    items: Iterable[K],
    batch_size: int,
    commit: Callable[[FanOutBatch[K, V]], W],
) -> Iterator[tuple[FanOutBatch[K, V], W]]:
    """`fetch` over `items` on the KRX client's threads, committed in batches as they finish.

    Memory and lost work are bounded by `batch_size`, not by the number of items: at most that
    many items are in flight or finished but not yet committed. A batch is committed once
    half of them are finished, so the threads keep fetching the other half meanwhile, and
    refilled right after, before the caller gets `(batch, commit's result)` to report on: the
    rate limiter, not the writer or the reporting, sets the pace. Items start in the order
    given. A credentials error (KRX_FATAL) cancels what has not started and fails the run; any
    other exception is reported in its batch's `failures`.
    """
    todo = deque(dict.fromkeys(items))
    total, done = len(todo), 0
    commit_at = max(1, batch_size // 2)
    started = time.monotonic()
    batch: FanOutBatch[K, V] = FanOutBatch()
    pending: dict[Future[V], K] = {}
    with _krx_fatal_fails_run(), ThreadPoolExecutor(max_workers=max(1, krx.max_workers)) as pool:

        def refill() -> None:
            while todo and len(pending) + len(batch) < batch_size:
                item = todo.popleft()
                pending[pool.submit(fetch, item)] = item

        try:
            refill()
            while pending or batch:
                if len(batch) >= commit_at or (batch and not pending):
                    done += len(batch)
                    batch.done, batch.total = done, total
                    batch.elapsed_s = time.monotonic() - started
                    committed, result = batch, commit(batch)
                    batch = FanOutBatch()
                    refill()
                    yield committed, result
                    continue
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = pending.pop(future)
                    exc = future.exception()
                    if exc is None:
                        batch.results[item] = future.result()
                    elif isinstance(exc, KRX_FATAL):
                        raise exc
                    else:
                        batch.failures[item] = exc
        finally:
            for future in pending:
                future.cancel()
