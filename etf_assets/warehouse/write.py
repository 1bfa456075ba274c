"""The one way partitions are written, and the partition log.

Every partition is written by `DELETE … WHERE key IN (…)` + `INSERT … BY NAME` inside one
transaction, so re-running is idempotent and a failed run leaves the previous rows intact.
No primary keys are declared: uniqueness is watched by asset checks, which must be able to see
a duplicate to report it. Each write logs its partitions in `etf_partition_log` (rows, note,
when), which freshness, closures and the backfill's resume read. "When" is Python's clock, not
DuckDB's `current_timestamp`, so the log and the freshness rule read the same clock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
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
# Partitions a set-based statement computes and writes per transaction
# (replace_partitions_in_batches): DuckDB holds one batch and its look-back, never a frame.
QUERY_WRITE_BATCH_PARTITIONS = 1000
# DuckDB's memory while a batch is computed: past it, its joins, sorts and windows spill to
# disk, so a run over the whole history stays under 1 GB of peak RSS with Dagster's own.
QUERY_MEMORY_LIMIT = "400MB"
INCOMING = "_etf_assets_incoming"


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
        written_at = datetime.now(UTC)
        conn.executemany(
            "INSERT INTO etf_partition_log (table_name, partition_date, row_count, note, "
            "written_at) VALUES (?, ?, ?, ?, ?)",
            [[table_name, d, int(counts.get(d, 0)), notes.get(d), written_at] for d in dates],
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


def replace_partitions_by_query(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    partition_dates: Sequence[date],
    select_sql: str,
    params: dict[str, object],
) -> int:
    """Atomically replace the rows of `partition_dates` by the rows `select_sql` yields.

    The rows are computed and inserted inside DuckDB, never as a pandas frame: a derived
    table's range costs one statement, not a frame round trip per session. The guarantees are
    replace_partitions': rows outside `partition_dates` or lacking a column of the table are
    refused, and the partition log gets each date's row count. Returns the rows inserted.
    """
    table = TABLES[table_name]
    dates = sorted(set(partition_dates))
    if not dates:
        return 0
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {INCOMING} AS {select_sql}", params)
        produced = {row[0] for row in conn.execute(f"DESCRIBE {INCOMING}").fetchall()}
        missing = [c for c in table.column_names if c not in produced]
        if missing:
            raise SchemaMismatch(f"{table_name}: query lacks columns {missing}")
        counts = dict(
            conn.execute(
                f"SELECT {table.partition_key_sql()} AS p, count(*) FROM {INCOMING} GROUP BY p"
            ).fetchall()
        )
        outside = set(counts) - set(dates)
        if outside:
            raise SchemaMismatch(f"{table_name}: rows for dates {sorted(outside)[:5]} not written")
        conn.execute(
            f"DELETE FROM {table_name} WHERE {table.partition_key_sql()} "
            "IN (SELECT unnest(?::DATE[]))",
            [dates],
        )
        conn.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM {INCOMING}")
        conn.execute(
            "INSERT INTO etf_partition_log (table_name, partition_date, row_count, written_at) "
            "SELECT ?, unnest(?::DATE[]), unnest(?::BIGINT[]), ?",
            [table_name, dates, [int(counts.get(d, 0)) for d in dates], datetime.now(UTC)],
        )
        conn.execute(f"DROP TABLE {INCOMING}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return sum(counts.values())


def replace_partitions_in_batches(
    conn: duckdb.DuckDBPyConnection,
    table_name: str,
    dates: Sequence[date],
    query_for: Callable[[list[date]], tuple[str, dict[str, object]]],
) -> int:
    """Write `dates` QUERY_WRITE_BATCH_PARTITIONS at a time, one transaction each, each batch's
    rows from the set-based query `query_for(batch)` gives (SQL and its parameters).

    One code path for a day and for the whole history: a single date is a batch of one, and a
    batch's windows are computed in one pass over it and its look-back, so memory is bounded
    by the batch (and QUERY_MEMORY_LIMIT), not the range. Returns the rows written.
    """
    written, ordered = 0, sorted(set(dates))
    conn.execute(f"SET memory_limit = '{QUERY_MEMORY_LIMIT}'")
    try:
        for start in range(0, len(ordered), QUERY_WRITE_BATCH_PARTITIONS):
            batch = ordered[start : start + QUERY_WRITE_BATCH_PARTITIONS]
            written += replace_partitions_by_query(conn, table_name, batch, *query_for(batch))
    finally:
        conn.execute("RESET memory_limit")
    return written


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
            written_at = datetime.now(UTC)
            conn.executemany(
                "INSERT INTO etf_partition_log (table_name, partition_date, row_count, note, "
                "written_at) VALUES (?, ?, ?, 'rebuilt whole', ?)",
                [[name, as_of, len(frame), written_at] for name, frame in conformed.items()],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return sum(len(frame) for frame in conformed.values())


_SCHEMA_ENSURED: set[str] = set()
IN_MEMORY = ":memory:"

# The Dagster concurrency pool of every asset and check: each one opens the warehouse, and
# DuckDB admits one writing process per file. deploy/dagster.yaml gives it one run at a time.
WAREHOUSE_POOL = "etf_warehouse"


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
    """One catalog lookup: still there if the file was not replaced behind our back. Fetched
    to the end: DuckDB refuses a `register` on a connection with a result left unread."""
    return bool(
        conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'etf_partition_log'"
        ).fetchall()
    )


def set_query_options(conn: duckdb.DuckDBPyConnection) -> None:
    """Settings every warehouse connection runs the metrics' statements with.

    DuckDB runs an ASOF join as a nested loop when it estimates the left side under
    `asof_loop_join_threshold` (64) rows; a set-based metric's left side comes from unnest()
    of its target dates, estimated tiny, so a range of real size ran for minutes instead of
    a second. Always the sort-based ASOF join, then.
    """
    conn.execute("SET asof_loop_join_threshold = 0")


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
            set_query_options(conn)
            if in_memory or key not in _SCHEMA_ENSURED or not _has_schema(conn):
                ensure_schema(conn)
                if not in_memory:
                    _SCHEMA_ENSURED.add(key)
            yield conn
        finally:
            conn.close()
