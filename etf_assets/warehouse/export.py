"""Exports: a query or a whole table to Parquet or CSV, and the whole warehouse (or one date of
it) to a folder. Used by the export command line (`python -m etf_assets.export`) and by the
overview asset's own files.

Parquet is written by DuckDB's `COPY … (FORMAT parquet)`: typed, compressed, no pandas round
trip. CSV is UTF-8 *with* a byte-order mark, because Excel reads a BOM-less CSV in the system
code page and garbles Korean names.
"""

from __future__ import annotations

import codecs
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from etf_assets.metrics.overview import overview_sql
from etf_assets.warehouse.schema import TABLES

FORMATS = ("parquet", "csv")
OVERVIEW = "etf_overview"
SNAPSHOT = "etf_overview_snapshot"
_COPY_OPTIONS = {"parquet": "FORMAT parquet, COMPRESSION zstd", "csv": "FORMAT csv, HEADER true"}


@dataclass(frozen=True)
class Written:
    """One exported object: its file (None when skipped), rows, and why it looks the way it does."""

    name: str
    path: Path | None
    rows: int
    note: str = ""


def connect_read_only(db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or a FileNotFoundError saying how to get a warehouse.

    duckdb.connect would silently create an empty database at a mistyped path.
    """
    if not db.is_file():
        raise FileNotFoundError(
            f"no warehouse at {db}: pass --db or set ETF_ASSETS_DUCKDB, or run `make demo`"
        )
    return duckdb.connect(str(db), read_only=True)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_query(conn: duckdb.DuckDBPyConnection, sql: str, path: Path, fmt: str) -> int:
    """COPY the result of `sql` to `path` in `fmt`; returns the rows written.

    CSV goes to a side file first and is then streamed behind the BOM, since DuckDB's CSV
    writer cannot emit one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(path.name + ".part") if fmt == "csv" else path
    rows = conn.execute(
        f"COPY ({sql}) TO {_sql_string(str(target))} ({_COPY_OPTIONS[fmt]})"
    ).fetchone()[0]
    if fmt == "csv":
        with path.open("wb") as out, target.open("rb") as body:
            out.write(codecs.BOM_UTF8)
            shutil.copyfileobj(body, out)
        target.unlink()
    return int(rows)


def _partitions_on(conn: duckdb.DuckDBPyConnection, on: date) -> set[str]:
    """Tables with a partition written for `on` (an empty closure counts: it was written)."""
    rows = conn.execute(
        "SELECT DISTINCT table_name FROM etf_partition_log WHERE partition_date = ?", [on]
    ).fetchall()
    return {r[0] for r in rows}


def _unknown_date(conn: duckdb.DuckDBPyConnection, on: date) -> LookupError:
    first, last = conn.execute(
        "SELECT min(partition_date), max(partition_date) FROM etf_partition_log"
    ).fetchone()
    if last is None:
        return LookupError("the warehouse holds no partitions yet: materialize assets first")
    return LookupError(f"no table has a partition for {on}; partitions run from {first} to {last}")


def export_warehouse(
    conn: duckdb.DuckDBPyConnection, out: Path, fmt: str, on: date | None = None
) -> list[Written]:
    """Write etf_overview and every table to `out`; with `on`, only that partition of each.

    With `on`, a table without that partition is skipped with a note (weekly tables have one
    per week), the overview is its stored snapshot, or, never snapshotted, computed from the
    partitions on or before `on` the same way; a date no table knows is a LookupError.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {FORMATS}")
    suffix = f"_{on.isoformat()}.{fmt}" if on else f".{fmt}"
    written: list[Written] = []
    if on is None:
        present = set(TABLES)
        overview, overview_note = overview_sql(), "the live view"
    else:
        present = _partitions_on(conn, on)
        if not present:
            raise _unknown_date(conn, on)
        day = f"DATE '{on.isoformat()}'"
        if SNAPSHOT in present:
            overview = f"SELECT * FROM {SNAPSHOT} WHERE trade_date = {day}"
            overview_note = f"snapshot of {on}"
        else:
            overview = f"SELECT {day} AS trade_date, * FROM ({overview_sql(on)})"
            overview_note = f"no snapshot stored for {on}: computed from partitions up to it"
    path = out / f"{OVERVIEW}{suffix}"
    written.append(Written(OVERVIEW, path, write_query(conn, overview, path, fmt), overview_note))
    for table in TABLES.values():
        if table.name == SNAPSHOT:
            continue  # exported as etf_overview
        if on and table.key_column is None:
            # Rebuilt whole as of the newest session (its log row is for freshness only).
            written.append(Written(table.name, None, 0, "not by date: export without a date"))
            continue
        if table.name not in present:
            written.append(Written(table.name, None, 0, f"no partition for {on}"))
            continue
        where = f" WHERE {table.key_column} = DATE '{on.isoformat()}'" if on else ""
        sql = f"SELECT * FROM {table.name}{where} ORDER BY {', '.join(table.id_columns)}"
        path = out / f"{table.name}{suffix}"
        written.append(Written(table.name, path, write_query(conn, sql, path, fmt)))
    return written
