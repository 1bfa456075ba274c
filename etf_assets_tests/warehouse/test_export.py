"""`python -m etf_assets.export` and the terminal summary, on the shared warehouse.

Exports only read, so they run on the shared file; the snapshot-by-date case writes one
snapshot, so it runs on a copy.
"""

import codecs
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etf_assets.assets.reports import snapshot_frame
from etf_assets.export import main, overview_summary
from etf_assets.metrics.overview import COLUMNS
from etf_assets.partitions import sessions_back
from etf_assets.warehouse.export import export_warehouse
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partition
from etf_assets_tests.helpers import AS_OF

BEFORE = sessions_back(AS_OF, 2)[0]


@pytest.fixture(scope="module")
def shared(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse_path), read_only=True)


def test_parquet_round_trips_the_view_and_every_table(
    shared: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    written = export_warehouse(shared, tmp_path, "parquet")
    by_name = {w.name: w for w in written}
    assert set(by_name) == {"etf_overview"} | set(TABLES) - {"etf_overview_snapshot"}
    view = shared.execute("SELECT * FROM etf_overview").df()
    back = pd.read_parquet(by_name["etf_overview"].path)
    for column, kind, _ in COLUMNS:  # pyarrow reads DATE as datetime.date objects
        if kind == "DATE":  # whose conversion picks seconds; DuckDB's frame has microseconds
            back[column] = pd.to_datetime(back[column]).astype(view[column].dtype)
        elif kind == "BOOLEAN":  # a NULL is None in DuckDB's object column, NA in pyarrow's
            back[column], view[column] = (f[column].astype("boolean") for f in (back, view))
    pd.testing.assert_frame_equal(back, view, check_dtype=False)
    for name, item in by_name.items():
        query = "SELECT count(*) FROM read_parquet(?)"
        rows = shared.execute(query, [str(item.path)]).fetchone()[0]
        assert rows == item.rows, name
        if name != "etf_overview":
            assert rows == shared.execute(f"SELECT count(*) FROM {name}").fetchone()[0], name


def test_csv_has_a_bom_and_keeps_korean_names(
    shared: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    written = {w.name: w for w in export_warehouse(shared, tmp_path, "csv", AS_OF)}
    path = written["etf_details"].path
    assert path is not None and path.name == f"etf_details_{AS_OF}.csv"
    assert path.read_bytes().startswith(codecs.BOM_UTF8)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"ticker": str})
    assert back.columns[0] == "trade_date"  # the BOM is not glued to the first header
    stored = shared.execute(
        "SELECT ticker, name, issuer FROM etf_details WHERE trade_date = ? ORDER BY ticker", [AS_OF]
    ).df()
    pd.testing.assert_frame_equal(
        back[["ticker", "name", "issuer"]], stored, check_dtype=False, check_index_type=False
    )
    assert "삼성자산운용" in set(back["issuer"]) and "0000D0" in set(back["ticker"])
    overview = pd.read_csv(written["etf_overview"].path, encoding="utf-8-sig", dtype=str)
    assert len(overview) == written["etf_overview"].rows > 1000
    assert (overview["trade_date"] == AS_OF.isoformat()).all()


def test_a_date_exports_that_partition_and_skips_tables_without_it(
    shared: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    written = {w.name: w for w in export_warehouse(shared, tmp_path, "parquet", BEFORE)}
    assert written["etf_details"].path is None and "no partition" in written["etf_details"].note
    prices = pd.read_parquet(written["etf_daily_prices"].path)
    assert set(prices["trade_date"]) == {BEFORE} and len(prices) > 1000
    assert "computed" in written["etf_overview"].note  # no snapshot stored for BEFORE


def test_a_date_exports_its_stored_snapshot(db: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(db)) as conn:
        frame = snapshot_frame(conn, AS_OF)
        frame.loc[0, "name"] = "stored, not recomputed"
        replace_partition(conn, "etf_overview_snapshot", AS_OF, frame)
        written = {w.name: w for w in export_warehouse(conn, tmp_path / "out", "parquet", AS_OF)}
    assert written["etf_overview"].note == f"snapshot of {AS_OF}"
    back = pd.read_parquet(written["etf_overview"].path)
    assert "stored, not recomputed" in set(back["name"]) and len(back) == len(frame)
    # The universe is logged under AS_OF (for freshness) but is not a partition of it.
    universe = written["etf_universe"]
    assert universe.path is None and universe.note == "not by date: export without a date"


def test_cli_prints_files_and_rows(
    warehouse_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--format", "csv", "--out", str(tmp_path), "--db", str(warehouse_path)])
    printed = capsys.readouterr().out
    assert code == 0
    assert str(tmp_path / "etf_overview.csv") in printed and "rows" in printed
    assert f"wrote {len(TABLES)} files" in printed  # every table, the overview for its snapshot


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "no/such/etf.duckdb"], "no warehouse at no/such/etf.duckdb"),
        (["--date", "2026-11-22"], "no table has a partition for 2026-11-22"),
    ],
)
def test_cli_explains_a_missing_db_or_unknown_date(
    warehouse_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    base = ["--format", "parquet", "--out", str(tmp_path), "--db", str(warehouse_path)]
    assert main([*base, *args]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_overview_summary_lists_the_largest_first(
    shared: duckdb.DuckDBPyConnection, warehouse_path: Path
) -> None:
    text = overview_summary(warehouse_path, top=5)
    assert text == overview_summary(shared, top=5)
    largest = shared.execute("SELECT ticker, name FROM etf_overview LIMIT 5").fetchall()
    lines = text.splitlines()
    table = lines[lines.index("Top 5 by AUM") + 2 :]
    assert [line.split()[0] for line in table] == [ticker for ticker, _ in largest]
    assert largest[0][1] in table[0]
    assert f"prices {AS_OF}" in text and "ETFs" in lines[0]
    assert lines[2].startswith("premium outliers (* below): ")  # the sandbox's suspended fund
