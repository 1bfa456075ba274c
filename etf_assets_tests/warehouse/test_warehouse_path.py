"""The warehouse path (ETF_ASSETS_DUCKDB) is checked before use: the default folder is created,
any other missing folder, a file in the way or a folder as the path is refused by name; an empty
run's frame still has its table's columns."""

from pathlib import Path

import duckdb
import pytest

from etf_assets import settings
from etf_assets.errors import ConfigurationError
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import replace_partitions_in_batches, usable_warehouse


def test_the_default_folder_is_created(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert usable_warehouse(settings.DUCKDB_PATH) == tmp_path / "data" / "etf.duckdb"
    assert (tmp_path / "data").is_dir()


def test_another_missing_folder_is_refused_and_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "dta" / "etf.duckdb"
    with pytest.raises(ConfigurationError) as refused:
        usable_warehouse(str(typo))
    assert str(refused.value) == (
        f"ETF_ASSETS_DUCKDB='{typo}' (the warehouse): folder {typo.parent} does not exist: "
        "create it or correct the path (only the default folder, data/, is created)"
    )
    assert not typo.parent.exists()


def test_a_path_under_a_file_or_naming_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ConfigurationError, match=r"notes\.txt is a file, not a folder"):
        usable_warehouse(str(tmp_path / "notes.txt" / "deeper" / "etf.duckdb"))
    with pytest.raises(ConfigurationError, match="is a folder: name the warehouse file in it"):
        usable_warehouse(str(tmp_path))


def test_a_relative_path_is_reported_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert usable_warehouse("w.duckdb") == tmp_path / "w.duckdb"


def test_a_run_of_no_dates_writes_nothing_and_runs_no_query() -> None:
    """A batch writer given no dates neither asks for a query nor opens a transaction."""
    with duckdb.connect() as conn:
        ensure_schema(conn)
        written = replace_partitions_in_batches(conn, "etf_aum", [], lambda batch: 1 / 0)
        logged = conn.execute("SELECT count(*) FROM etf_partition_log").fetchone()
    assert written == 0 and logged == (0,)
