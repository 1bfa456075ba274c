"""Small helpers shared by the asset modules: partition dates, table metadata, rendering."""

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets.errors import ConfigurationError, SessionNotFinal
from etf_assets.metrics.units import krw_korean, number_text
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import IN_MEMORY, usable_warehouse

# The longest range whose every partition gets its own row count (a year of sessions): see
# partition_metadata for why a longer one does not.
OWN_ROW_COUNT_PARTITIONS = 260


def table_metadata(table_name: str) -> dict[str, object]:
    """Definition metadata for the asset whose partitions are stored in `table_name`: the
    table's name and its columns with types and descriptions, shown before any run."""
    table = TABLES[table_name]
    return {"dagster/table_name": table.name, "dagster/column_schema": table.column_schema}


def partition_dates(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> list[date]:
    """The partition dates this run covers: one key, or a whole range under a single-run backfill.

    Dagster 1.13 hands a reversed range (`--partition-range 2026-12-04...2026-12-01`) over as
    no keys at all; a run over it fails here, before any request or write, instead of
    succeeding with nothing done.
    """
    if not context.partition_keys:
        span = context.partition_key_range
        raise dg.Failure(
            f"partition range {span.start}...{span.end} is reversed or holds no partition: "
            f"give the earlier key first ({span.end}...{span.start})",
            allow_retries=False,
        )
    return [date.fromisoformat(key) for key in context.partition_keys]


def announce_warehouse(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dict[str, dg.MetadataValue]:
    """Every writing asset's first step: refuse a warehouse path that cannot be written before
    a request is sent (the message names ETF_ASSETS_DUCKDB), then name the file, as an
    absolute path, in the run's log; returns the same as metadata for what the step writes."""
    if duckdb.database == IN_MEMORY:
        return {"warehouse": dg.MetadataValue.text(IN_MEMORY)}
    try:
        path = usable_warehouse(duckdb.database)
    except ConfigurationError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc
    context.log.info(f"warehouse: {path}")
    return {"warehouse": dg.MetadataValue.path(str(path))}


@contextmanager
def final_sessions_only() -> Iterator[None]:
    """Fail without Dagster's retries on SessionNotFinal: now is before the time the session is
    final at, so a retry in 5 minutes would fail the same way; the message says when to run."""
    try:
        yield
    except SessionNotFinal as exc:
        raise dg.Failure(str(exc), allow_retries=False) from exc


def markdown_table(
    frame: pd.DataFrame, max_rows: int = 10, money: Collection[str] = ()
) -> dg.MetadataValue:
    """A compact markdown table; NaN shown as blank, floats with thousands separators and never
    as "-0.00"; the `money` columns (KRW) in 억원 or 조원 by size, as Korean readers read them."""
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = frame.head(max_rows).copy()
    for column in shown.columns:
        if column in money:
            shown[column] = shown[column].map(krw_korean)
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(
                lambda v: "" if pd.isna(v) else number_text(v, ",.2f")
            )
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


def with_names(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, on: date, ticker: str = "ticker"
) -> pd.DataFrame:
    """`frame` with the fund's name in a `name` column right after its `ticker` column, so a
    table of tickers reads as funds: the frame's own name where it has one, else the name in
    etf_details on the newest session up to `on`, else etf_universe's (a fund delisted since);
    blank when none knows the ticker. One query for the whole frame."""
    if "name" in frame:
        names = frame.pop("name").str.strip()
    else:
        known = conn.execute(
            "SELECT t.ticker, trim(coalesce(d.name, u.name)) AS name "
            "FROM (SELECT DISTINCT unnest(?::VARCHAR[]) AS ticker) t "
            "LEFT JOIN (SELECT ticker, name FROM etf_details WHERE trade_date = "
            "  (SELECT max(trade_date) FROM etf_details WHERE trade_date <= ?)) d USING (ticker) "
            "LEFT JOIN etf_universe u USING (ticker)",
            [frame[ticker].dropna().astype(str).unique().tolist(), on],
        ).fetchall()
        names = frame[ticker].map(dict(known))
    named = frame.copy()
    named.insert(named.columns.get_loc(ticker) + 1, "name", names)
    return named


def stored_row_counts(
    conn: duckdb.DuckDBPyConnection, table: str, dates: list[date]
) -> dict[date, int]:
    """Rows each of `dates` holds in `table` now, from the partition log (one query): a
    partition a range run kept as it was counts too."""
    rows = conn.execute(
        "SELECT partition_date, row_count FROM etf_partition_log_latest "
        "WHERE table_name = ? AND partition_date IN (SELECT unnest(?::DATE[]))",
        [table, dates],
    ).fetchall()
    return {d: int(n) for d, n in rows}


def partition_metadata(
    context: dg.AssetExecutionContext,
    row_counts: Mapping[date, int],
    figures: Mapping[date, Mapping[str, object]],
) -> dict[str, object]:
    """Give each partition of the run its own row count and its own `figures` (the newest
    partition's tables and totals, say); returns what the run's result says beside them.

    Dagster 1.13 copies a multi-partition run's result to every partition it covers, after
    (so over) any `AssetMaterialization(partition=…)` the step yielded: a range's total would
    read as each day's `dagster/row_count`, its newest figures as every day's. Metadata added
    for one partition key (`add_asset_metadata(partition_key=…)`) is merged into that
    partition's copy only, so each partition's latest materialization is its own. A range's
    totals go under names that say so (`range_row_count`).

    Each such call costs Dagster a pass over the run's whole range (it lists the range's keys
    to check the one given), so a backfill of the whole history would spend minutes on row
    counts alone. A range longer than OWN_ROW_COUNT_PARTITIONS gives own row counts to the
    partitions with figures only; the others carry the range's summary (rows per partition:
    least, median, most) and their own counts stay in etf_partition_log.
    """
    own_counts = len(context.partition_keys) <= OWN_ROW_COUNT_PARTITIONS
    for d in sorted((row_counts.keys() if own_counts else set()) | figures.keys()):
        own = {"dagster/row_count": row_counts[d]} if d in row_counts else {}
        context.add_asset_metadata({**own, **figures.get(d, {})}, partition_key=d.isoformat())
    if len(context.partition_keys) == 1:
        return {}
    summary: dict[str, object] = {
        "range_row_count": sum(row_counts.values()),
        "partitions": len(context.partition_keys),
    }
    if not own_counts and row_counts:
        counts = sorted(row_counts.values())
        summary["range_rows_per_partition"] = (
            f"least {counts[0]:,}, median {counts[len(counts) // 2]:,}, most {counts[-1]:,} "
            "(each partition's own count: etf_partition_log)"
        )
    return summary
