"""DDL and migrations: create what the contract (schema.py) names and bring an older warehouse
file up to it, so writing a partition never fails on a file an earlier release created.
"""

from __future__ import annotations

import duckdb

from etf_assets.metrics.exposure import create_exposure_views
from etf_assets.metrics.overview import create_overview_view
from etf_assets.warehouse.schema import TABLES

# written_at is an instant (TIMESTAMPTZ): freshness and the backfill's resume compare it with
# KST phase times, and a writer and a reader may run in different time zones (a container in
# UTC, a shell in KST). A naive TIMESTAMP would be read 9 hours off there.
PARTITION_LOG_DDL = """
CREATE TABLE IF NOT EXISTS etf_partition_log (
    table_name VARCHAR, partition_date DATE, row_count BIGINT, note VARCHAR,
    written_at TIMESTAMPTZ DEFAULT current_timestamp
)"""


def _written_at_as_instant(conn: duckdb.DuckDBPyConnection) -> None:
    """A log created before written_at was TIMESTAMPTZ holds local wall-clock times; they are
    read as this process's time zone, the best guess for a file written on this machine."""
    kind = conn.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'etf_partition_log' AND column_name = 'written_at'"
    ).fetchone()
    if kind and kind[0] == "TIMESTAMP":
        conn.execute("ALTER TABLE etf_partition_log ALTER written_at SET DATA TYPE TIMESTAMPTZ")
        conn.execute("ALTER TABLE etf_partition_log ALTER written_at SET DEFAULT current_timestamp")


def _add_missing_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """A warehouse created before a column joined the contract gets it, NULL in older rows
    (e.g. etf_holdings.amount_krw), so writing a partition never fails on an old file."""
    existing = set(
        conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    )
    for table in TABLES.values():
        for name, sql_type in table.columns:
            if (table.name, name) not in existing:
                conn.execute(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {sql_type}')


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and columns and (re)create the `<table>_latest` views; cheap and
    idempotent."""
    for table in TABLES.values():
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in table.columns)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table.name} ({cols})")
    _add_missing_columns(conn)
    for table in TABLES.values():
        if table.key_column is None:
            continue  # an unpartitioned table is always whole and current
        conn.execute(
            f"CREATE OR REPLACE VIEW {table.name}_latest AS SELECT * FROM {table.name} "
            f"WHERE {table.key_column} = (SELECT max({table.key_column}) FROM {table.name})"
        )
    conn.execute(PARTITION_LOG_DDL)
    _written_at_as_instant(conn)
    conn.execute(
        "CREATE OR REPLACE VIEW etf_partition_log_latest AS SELECT * FROM etf_partition_log "
        "QUALIFY row_number() OVER (PARTITION BY table_name, partition_date "
        "ORDER BY written_at DESC) = 1"
    )
    create_overview_view(conn)
    create_exposure_views(conn)
