"""Small helpers shared by the asset modules: partition dates, table metadata, rendering."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets.errors import ConfigurationError, SessionNotFinal
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import IN_MEMORY, usable_warehouse


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
