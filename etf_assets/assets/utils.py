"""Small helpers shared by the asset modules: partition dates, table metadata, rendering."""

from datetime import date

import dagster as dg
import pandas as pd

from etf_assets.warehouse.schema import TABLES


def table_metadata(table_name: str) -> dict[str, object]:
    """Definition metadata for the asset whose partitions are stored in `table_name`: the
    table's name and its columns with types and descriptions, shown before any run."""
    table = TABLES[table_name]
    return {"dagster/table_name": table.name, "dagster/column_schema": table.column_schema}


def partition_dates(context: dg.AssetExecutionContext) -> list[date]:
    """The session dates this run covers: one key, or a whole range under a single-run backfill."""
    return [date.fromisoformat(key) for key in context.partition_keys]


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
