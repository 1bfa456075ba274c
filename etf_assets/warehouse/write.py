"""The one way partitions are written, and the partition log.

Every partition is written by `DELETE … WHERE key IN (…)` + `INSERT … BY NAME` inside one
transaction, so re-running is idempotent and a failed run leaves the previous rows intact.
No primary keys are declared: uniqueness is watched by asset checks, which must be able to see
a duplicate to report it. Each write logs its partitions in `etf_partition_log` (rows, note,
when), which freshness, closures and the backfill's resume read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import settings
from etf_assets.errors import ConfigurationError
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.schema import TABLES, SchemaMismatch, Table

# Sessions a derived asset computes and writes per transaction: a range of any length (the
# whole history is ~5,900 sessions) holds one batch of frames in memory.
METRIC_WRITE_BATCH_SESSIONS = 250


def _conform(conn: duckdb.DuckDBPyConnection, table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise SchemaMismatch(f"{table.name}: frame lacks columns {missing}")
    extra = [c for c in frame.columns if c not in table.column_names]
    if extra and not table.open_columns:
        raise SchemaMismatch(f"{table.name}: frame has unknown columns {extra}")
    existing = {row[0] for row in conn.execute(f"DESCRIBE {table.name}").fetchall()}
    for column in extra:
        if column not in existing:
            conn.execute(f'ALTER TABLE {table.name} ADD COLUMN "{column}" VARCHAR')
    return frame


def replace_partitions(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    partition_dates: Sequence[date],
    frame: pd.DataFrame,
    *,
    notes: dict[date, str] | None = None,
) -> int:
    """Atomically replace the rows of `partition_dates` in a table by `frame`'s rows.

    Rows of `frame` outside `partition_dates` are refused, so a caller can never clobber a
    partition it did not mean to write. A monthly table's partitions are given by the months'
    first days. Returns the number of rows inserted.
    """
    table = TABLES[table_name]
    dates = sorted(set(partition_dates))
    if not dates:
        return 0
    frame = _conform(conn, table, frame)
    counts = table.partition_keys_of(frame[table.key_column]).value_counts().to_dict()
    outside = set(counts) - set(dates)
    if outside:
        raise SchemaMismatch(f"{table_name}: rows for dates {sorted(outside)[:5]} not written")
    notes = notes or {}
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            f"DELETE FROM {table_name} WHERE {table.partition_key_sql()} "
            "IN (SELECT unnest(?::DATE[]))",
            [dates],
        )
        if len(frame):
            conn.register("_etf_assets_incoming", frame)
            try:
                conn.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM _etf_assets_incoming")
            finally:
                conn.unregister("_etf_assets_incoming")
        conn.executemany(
            "INSERT INTO etf_partition_log (table_name, partition_date, row_count, note) "
            "VALUES (?, ?, ?, ?)",
            [[table_name, d, int(counts.get(d, 0)), notes.get(d)] for d in dates],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(frame)


def replace_partition(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    partition_date: date,
    frame: pd.DataFrame,
    *,
    note: str | None = None,
) -> int:
    return replace_partitions(
        conn, table_name, [partition_date], frame, notes={partition_date: note} if note else None
    )


def replace_partitions_in_batches(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    dates: list[date],
    frame_for: Callable[[date], pd.DataFrame],
) -> tuple[int, pd.DataFrame]:
    """Compute `frame_for` each date and write them METRIC_WRITE_BATCH_SESSIONS at a time, one
    transaction each.

    Returns the rows written and the last date's frame (what the asset's metadata shows): with
    no dates, the table's empty frame (its columns and their types), so the metadata can read it.
    """
    written, last = 0, conn.execute(f"SELECT * FROM {table_name} LIMIT 0").df()
    for start in range(0, len(dates), METRIC_WRITE_BATCH_SESSIONS):
        batch = dates[start : start + METRIC_WRITE_BATCH_SESSIONS]
        frames = [frame_for(d) for d in batch]
        frame = pd.concat(frames, ignore_index=True)
        written += replace_partitions(conn, table_name, batch, frame)
        last = frames[-1]
    return written, last


def newest_partition(conn: duckdb.DuckDBPyConnection, table: str) -> date | None:
    """The newest partition of `table` ever written (an empty, noted one counts)."""
    return conn.execute(
        "SELECT max(partition_date) FROM etf_partition_log WHERE table_name = ?", [table]
    ).fetchone()[0]


def replace_tables(
    conn: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], as_of: date | None
) -> int:
    """Atomically replace every row of unpartitioned tables (a table rebuilt from the
    warehouse, e.g. etf_universe) by the frames' rows, all tables in one transaction so
    readers never see one rebuilt without the other. Each rebuild is logged in
    etf_partition_log under `as_of`, the newest session it covers, so freshness reads it as it
    reads a partition. Returns the rows inserted."""
    conformed = {name: _conform(conn, TABLES[name], frame) for name, frame in frames.items()}
    conn.execute("BEGIN TRANSACTION")
    try:
        for name, frame in conformed.items():
            conn.execute(f"DELETE FROM {name}")
            conn.register("_etf_assets_incoming", frame)
            try:
                conn.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _etf_assets_incoming")
            finally:
                conn.unregister("_etf_assets_incoming")
        if as_of is not None:
            conn.executemany(
                "INSERT INTO etf_partition_log (table_name, partition_date, row_count, note) "
                "VALUES (?, ?, ?, 'rebuilt whole')",
                [[name, as_of, len(frame)] for name, frame in conformed.items()],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return sum(len(frame) for frame in conformed.values())


_SCHEMA_ENSURED: set[str] = set()
IN_MEMORY = ":memory:"


def usable_warehouse(database: str) -> Path:
    """The warehouse file's absolute path once DuckDB can create or write it there; otherwise a
    ConfigurationError naming ETF_ASSETS_DUCKDB, the value and the absolute path.

    Assets call it before their first request (`assets.utils.announce_warehouse`), so a typo
    costs no fetch. Only the default folder (data/) is created: another folder that does not
    exist is a typo more often than a wish, and creating it would start an empty warehouse
    beside the real one.
    """
    path = Path(database).resolve()
    if not path.parent.exists() and path == Path(settings.DUCKDB_PATH).resolve():
        with suppress(OSError):  # a folder that cannot be made is named below, as any other
            path.parent.mkdir(parents=True, exist_ok=True)
    existing = next(folder for folder in path.parents if folder.exists())
    if not existing.is_dir():
        problem = f"{existing} is a file, not a folder: name a file in a folder"
    elif existing != path.parent:
        problem = (
            f"folder {path.parent} does not exist: create it or correct the path (only the "
            f"default folder, {Path(settings.DUCKDB_PATH).parent}/, is created)"
        )
    elif path.is_dir():
        problem = f"{path} is a folder: name the warehouse file in it, e.g. {path / 'etf.duckdb'}"
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        problem = f"folder {path.parent} cannot be written (read-only): choose a writable one"
    elif path.exists() and not os.access(path, os.R_OK | os.W_OK):
        problem = f"{path} cannot be read and written (read-only file)"
    else:
        return path
    raise ConfigurationError(f"{settings.DUCKDB_ENV}={database!r} (the warehouse): {problem}")


def _has_schema(conn: duckdb.DuckDBPyConnection) -> bool:
    """One catalog lookup: still there if the file was not replaced behind our back."""
    return bool(
        conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'etf_partition_log'"
        ).fetchone()
    )


@contextmanager
def warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the schema in place, closed even when the body raises.

    The schema is ensured once per database file and process (a run's steps and checks all
    open connections; a dozen DDL statements each time showed in the bench). It is not done
    for `:memory:`, which is new on every connection. `DuckDBResource.get_connection` retries
    a locked file with backoff but does not close the connection on an exception, which would
    keep the file locked for the rest of the process.
    """
    in_memory = resource.database == IN_MEMORY
    key = "" if in_memory else str(usable_warehouse(resource.database))
    with resource.get_connection() as conn:
        try:
            if in_memory or key not in _SCHEMA_ENSURED or not _has_schema(conn):
                ensure_schema(conn)
                if not in_memory:
                    _SCHEMA_ENSURED.add(key)
            yield conn
        finally:
            conn.close()
