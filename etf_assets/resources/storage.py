"""The DuckDB contract: table DDL, `_latest` views, and the one way partitions are written.

Every partition is written by `DELETE … WHERE key IN (…)` + `INSERT … BY NAME` inside one
transaction, so re-running is idempotent and a failed run leaves the previous rows intact.
No primary keys are declared: uniqueness is watched by asset checks, which must be able to see
a duplicate to report it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from dagster_duckdb import DuckDBResource

from etf_assets.metrics.overview import COLUMN_TYPES as OVERVIEW_COLUMN_TYPES
from etf_assets.metrics.overview import create_overview_view

if TYPE_CHECKING:  # pandas is imported where a frame is written, not when Definitions load
    import pandas as pd

_PCT_WINDOWS = (20, 60, 120, 250)


@dataclass(frozen=True)
class Table:
    name: str
    key_column: str  # the partition column (a DATE)
    id_columns: tuple[str, ...]  # the full key, for uniqueness
    columns: tuple[tuple[str, str], ...]
    open_columns: bool = False  # raw tables keep unknown upstream fields as extra VARCHARs

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


KRX_MASTER_FIELDS = (
    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "ETF_OBJ_IDX_NM",
    "IDX_CALC_INST_NM1", "IDX_CALC_INST_NM2", "ETF_REPLICA_METHD_TP_CD", "IDX_MKT_CLSS_NM",
    "IDX_ASST_CLSS_NM", "LIST_SHRS", "COM_ABBRV", "CU_QTY", "ETF_TOT_FEE", "TAX_TP_CD",
)  # fmt: skip

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "krx_etf_list",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                *((field, "VARCHAR") for field in KRX_MASTER_FIELDS),
                ("snapshot_date", "DATE"),
                ("fetched_at", "TIMESTAMP"),
            ),
            open_columns=True,
        ),
        Table(
            "etf_details",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("isin", "VARCHAR"),
                ("name", "VARCHAR"),
                ("name_full", "VARCHAR"),
                ("name_eng", "VARCHAR"),
                ("issuer", "VARCHAR"),
                ("tracking_index", "VARCHAR"),
                ("index_provider", "VARCHAR"),
                ("market_region", "VARCHAR"),
                ("asset_class", "VARCHAR"),
                ("replication_method", "VARCHAR"),
                ("leverage_factor", "DOUBLE"),
                ("expense_ratio_pct", "DOUBLE"),
                ("listed_shares", "BIGINT"),
                ("cu_shares", "BIGINT"),
                ("tax_type", "VARCHAR"),
                ("listing_date", "DATE"),
            ),
        ),
        Table(
            "etf_daily_prices",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("name", "VARCHAR"),
                ("open", "DOUBLE"),
                ("high", "DOUBLE"),
                ("low", "DOUBLE"),
                ("close", "DOUBLE"),
                ("volume", "BIGINT"),
                ("traded_value_krw", "BIGINT"),
                ("market_cap_krw", "BIGINT"),
                ("nav", "DOUBLE"),
                ("net_assets_krw", "BIGINT"),
                ("listed_shares", "BIGINT"),
                ("index_name", "VARCHAR"),
                ("index_close", "DOUBLE"),
                ("source", "VARCHAR"),
            ),
        ),
        Table(
            "etf_holdings",
            "as_of_date",
            ("as_of_date", "etf_ticker", "constituent_code"),
            (
                ("as_of_date", "DATE"),
                ("etf_ticker", "VARCHAR"),
                ("constituent_code", "VARCHAR"),
                ("constituent_name", "VARCHAR"),
                ("constituent_isin", "VARCHAR"),
                ("kind", "VARCHAR"),
                ("shares_per_cu", "DOUBLE"),
                ("value_krw", "DOUBLE"),
                ("weight_pct", "DOUBLE"),
                ("source", "VARCHAR"),
            ),
        ),
        Table(
            "etf_aum",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("aum_krw", "DOUBLE"),
                ("aum_source", "VARCHAR"),
                ("market_cap_krw", "DOUBLE"),
                ("nav", "DOUBLE"),
                ("close", "DOUBLE"),
                ("listed_shares", "BIGINT"),
                ("aum_krw_kis", "DOUBLE"),
                ("nav_kis", "DOUBLE"),
                ("close_kis", "DOUBLE"),
                ("listed_shares_kis", "BIGINT"),
            ),
        ),
        Table(
            "etf_tracking_error",
            "as_of_date",
            ("as_of_date", "ticker"),
            (
                ("as_of_date", "DATE"),
                ("ticker", "VARCHAR"),
                *((f"premium_discount_{n}d_pct", "DOUBLE") for n in _PCT_WINDOWS),
                *((f"tracking_error_{n}d_pct", "DOUBLE") for n in _PCT_WINDOWS),
                ("constituent_count", "INTEGER"),
                ("sessions_used", "INTEGER"),
                ("krx_tracking_error_pct", "DOUBLE"),
            ),
        ),
        Table(
            "etf_52w",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("high_52w", "DOUBLE"),
                ("high_52w_date", "DATE"),
                ("low_52w", "DOUBLE"),
                ("low_52w_date", "DATE"),
                ("close", "DOUBLE"),
                ("pct_below_high", "DOUBLE"),
                ("sessions_in_window", "INTEGER"),
                ("has_full_year", "BOOLEAN"),
            ),
        ),
        Table(
            "etf_overview_snapshot",
            "trade_date",
            ("trade_date", "ticker"),
            (("trade_date", "DATE"), *OVERVIEW_COLUMN_TYPES),
        ),
    )
}

PARTITION_LOG_DDL = """
CREATE TABLE IF NOT EXISTS etf_partition_log (
    table_name VARCHAR, partition_date DATE, row_count BIGINT, note VARCHAR,
    written_at TIMESTAMP DEFAULT current_timestamp
)"""


class SchemaMismatch(ValueError):
    """A frame does not carry the columns its table needs."""


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and (re)create the `<table>_latest` views; cheap and idempotent."""
    for table in TABLES.values():
        cols = ", ".join(f'"{name}" {sql_type}' for name, sql_type in table.columns)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table.name} ({cols})")
        conn.execute(
            f"CREATE OR REPLACE VIEW {table.name}_latest AS SELECT * FROM {table.name} "
            f"WHERE {table.key_column} = (SELECT max({table.key_column}) FROM {table.name})"
        )
    conn.execute(PARTITION_LOG_DDL)
    conn.execute(
        "CREATE OR REPLACE VIEW etf_partition_log_latest AS SELECT * FROM etf_partition_log "
        "QUALIFY row_number() OVER (PARTITION BY table_name, partition_date "
        "ORDER BY written_at DESC) = 1"
    )
    create_overview_view(conn)


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
    partition it did not mean to write. Returns the number of rows inserted.
    """
    import pandas as pd

    table = TABLES[table_name]
    dates = sorted(set(partition_dates))
    if not dates:
        return 0
    frame = _conform(conn, table, frame)
    counts = pd.to_datetime(frame[table.key_column]).dt.date.value_counts().to_dict()
    outside = set(counts) - set(dates)
    if outside:
        raise SchemaMismatch(f"{table_name}: rows for dates {sorted(outside)[:5]} not written")
    notes = notes or {}
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            f"DELETE FROM {table_name} WHERE {table.key_column} IN (SELECT unnest(?::DATE[]))",
            [dates],
        )
        if len(frame):
            conn.register("_etf_assets_incoming", frame)
            try:
                conn.execute(
                    f"INSERT INTO {table_name} BY NAME SELECT * FROM _etf_assets_incoming"
                )
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


_SCHEMA_ENSURED: set[str] = set()


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
    in_memory = resource.database == ":memory:"
    if not in_memory:
        Path(resource.database).parent.mkdir(parents=True, exist_ok=True)
    key = str(Path(resource.database).resolve()) if not in_memory else ""
    with resource.get_connection() as conn:
        try:
            if in_memory or key not in _SCHEMA_ENSURED or not _has_schema(conn):
                ensure_schema(conn)
                if not in_memory:
                    _SCHEMA_ENSURED.add(key)
            yield conn
        finally:
            conn.close()
