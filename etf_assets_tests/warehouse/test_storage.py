from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etf_assets.definitions import defs
from etf_assets.partitions import KST
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.schema import TABLES, SchemaMismatch
from etf_assets.warehouse.write import replace_partition, replace_partitions

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)


def _rows(trade_date: date, tickers: list[str], close: float = 100.0) -> pd.DataFrame:
    frame = pd.DataFrame(
        {c: [None] * len(tickers) for c in TABLES["etf_daily_prices"].column_names}
    )
    frame["trade_date"] = trade_date
    frame["ticker"] = tickers
    frame["close"] = close
    return frame


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    return connection


def test_rewrite_is_idempotent_and_leaves_other_partitions(conn: duckdb.DuckDBPyConnection) -> None:
    replace_partition(conn, "etf_daily_prices", D1, _rows(D1, ["069500", "0000D0"]))
    replace_partition(conn, "etf_daily_prices", D2, _rows(D2, ["069500"]))
    replace_partition(conn, "etf_daily_prices", D2, _rows(D2, ["069500"], close=101))
    rows = conn.execute("SELECT trade_date, ticker, close FROM etf_daily_prices ORDER BY 1, 2")
    assert rows.fetchall() == [
        (D1, "0000D0", 100.0),
        (D1, "069500", 100.0),
        (D2, "069500", 101.0),
    ]
    latest = conn.execute("SELECT DISTINCT trade_date FROM etf_daily_prices_latest").fetchall()
    assert latest == [(D2,)]


def test_failed_insert_keeps_previous_rows(conn: duckdb.DuckDBPyConnection) -> None:
    replace_partition(conn, "etf_daily_prices", D1, _rows(D1, ["069500"]))
    bad = _rows(D1, ["069500"])
    bad["volume"] = "not a number"
    with pytest.raises(duckdb.Error):
        replace_partition(conn, "etf_daily_prices", D1, bad)
    assert conn.execute("SELECT count(*) FROM etf_daily_prices").fetchone() == (1,)


def test_rows_outside_the_partitions_are_refused(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(SchemaMismatch, match="not written"):
        replace_partitions(conn, "etf_daily_prices", [D1], _rows(D2, ["069500"]))


def test_missing_columns_are_named(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(SchemaMismatch, match="close"):
        replace_partition(conn, "etf_daily_prices", D1, _rows(D1, ["x"]).drop(columns="close"))


def test_empty_partition_is_logged_with_its_note(conn: duckdb.DuckDBPyConnection) -> None:
    replace_partition(conn, "etf_daily_prices", D1, _rows(D1, ["069500"]))
    replace_partition(conn, "etf_daily_prices", D1, _rows(D1, [])[:0], note="closure")
    assert conn.execute("SELECT count(*) FROM etf_daily_prices").fetchone() == (0,)
    log = conn.execute("SELECT row_count, note FROM etf_partition_log_latest").fetchall()
    assert log == [(0, "closure")]


def test_raw_table_keeps_unknown_upstream_fields(conn: duckdb.DuckDBPyConnection) -> None:
    table = TABLES["krx_etf_list"]
    frame = pd.DataFrame([{c: "x" for c in table.column_names} | {"NEW_KRX_FIELD": "kept"}])
    frame["trade_date"], frame["snapshot_date"], frame["fetched_at"] = D1, D1, pd.Timestamp(D1)
    replace_partition(conn, "krx_etf_list", D1, frame)
    assert conn.execute('SELECT "NEW_KRX_FIELD" FROM krx_etf_list').fetchone() == ("kept",)


def test_a_warehouse_from_before_a_new_column_gets_it() -> None:
    """etf_holdings.amount_krw joined the contract later: an older file gains the column (NULL
    in its old rows) instead of failing the next write."""
    conn = duckdb.connect()
    holdings = TABLES["etf_holdings"]
    old = [(name, sql_type) for name, sql_type in holdings.columns if name != "amount_krw"]
    conn.execute(f"CREATE TABLE etf_holdings ({', '.join(f'{n} {t}' for n, t in old)})")
    conn.execute("INSERT INTO etf_holdings (as_of_date, etf_ticker) VALUES (?, '069500')", [D1])
    ensure_schema(conn)
    assert "amount_krw" in {row[0] for row in conn.execute("DESCRIBE etf_holdings").fetchall()}
    frame = pd.DataFrame([{c: None for c in holdings.column_names}])
    frame["as_of_date"], frame["etf_ticker"], frame["amount_krw"] = D2, "114800", -13_946_580.0
    replace_partition(conn, "etf_holdings", D2, frame)
    rows = conn.execute("SELECT as_of_date, amount_krw FROM etf_holdings ORDER BY 1").fetchall()
    assert rows == [(D1, None), (D2, -13_946_580.0)]


def test_written_at_is_the_same_instant_in_any_time_zone(tmp_path: Path) -> None:
    """A run in KST writes, a sensor or `make health` in UTC reads: freshness and the backfill's
    resume compare written_at with KST phase times, so it must be an instant."""
    db = str(tmp_path / "etf.duckdb")
    with duckdb.connect(db) as writer:
        writer.execute("SET TimeZone = 'Asia/Seoul'")
        ensure_schema(writer)
        before = datetime.now(UTC)
        replace_partition(writer, "etf_daily_prices", D2, _rows(D2, ["069500"]))
        after = datetime.now(UTC)
    with duckdb.connect(db, read_only=True) as reader:
        reader.execute("SET TimeZone = 'UTC'")
        (written,) = reader.execute("SELECT written_at FROM etf_partition_log").fetchone()
    assert before <= written <= after


def test_an_old_naive_written_at_becomes_an_instant(tmp_path: Path) -> None:
    """A log from before: local wall-clock times, read as the migrating process's zone."""
    db = str(tmp_path / "etf.duckdb")
    with duckdb.connect(db) as old:
        old.execute("SET TimeZone = 'Asia/Seoul'")
        old.execute(
            "CREATE TABLE etf_partition_log (table_name VARCHAR, partition_date DATE, "
            "row_count BIGINT, note VARCHAR, written_at TIMESTAMP DEFAULT current_timestamp)"
        )
        old.execute(
            "INSERT INTO etf_partition_log VALUES "
            "('etf_daily_prices', ?, 1, NULL, TIMESTAMP '2026-11-20 16:05:00')",
            [D2],
        )
        ensure_schema(old)
        replace_partition(old, "etf_daily_prices", D1, _rows(D1, ["069500"]))
    with duckdb.connect(db, read_only=True) as reader:
        reader.execute("SET TimeZone = 'UTC'")
        rows = dict(
            reader.execute("SELECT partition_date, written_at FROM etf_partition_log").fetchall()
        )
    assert rows[D2] == datetime(2026, 11, 20, 16, 5, tzinfo=KST)
    assert rows[D1].tzinfo is not None and rows[D1] > rows[D2]


# The naming rule: every asset writes the table of its own name, except etf_overview (a view),
# whose partitions are stored in etf_overview_snapshot.
TABLE_OF_ASSET = {"etf_overview": "etf_overview_snapshot"}


def test_duckdb_tables_are_the_contract_and_every_column_is_described(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    for table in TABLES.values():
        described = conn.execute(f"DESCRIBE {table.name}").fetchall()
        assert [(row[0], row[1]) for row in described] == list(table.columns), table.name
        blank = [c.name for c in table.column_schema.columns if not c.description.strip()]
        assert blank == [], f"{table.name}: columns without a description: {blank}"


def test_every_asset_declares_its_table_and_columns() -> None:
    declared_tables: list[str] = []
    for spec in defs.resolve_all_asset_specs():
        asset_name = spec.key.to_user_string()
        table_name = spec.metadata["dagster/table_name"]
        assert table_name == TABLE_OF_ASSET.get(asset_name, asset_name)
        assert spec.metadata["dagster/column_schema"] == TABLES[table_name].column_schema
        declared_tables.append(table_name)
    assert sorted(declared_tables) == sorted(TABLES)
