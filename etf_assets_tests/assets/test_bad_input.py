"""Bad input fails fast and clearly, and never misreports what the warehouse holds: a reversed
partition range, a warehouse path that cannot be used, a session that cannot be final yet, an
upstream that does not answer. Through the CLI (`dagster asset materialize` in a subprocess,
pointed at the sandbox by its environment) or `dg.materialize`, the code path the UI runs.
"""

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.listing import krx_etf_list
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import etf_daily_prices, fetch_session_prices
from etf_assets.errors import KRXNotYetPublished, SessionNotFinal
from etf_assets.partitions import KST, sessions_back, xkrx_sessions
from etf_assets_tests.helpers import (
    ALL_ASSETS,
    AS_OF,
    checks_for,
    failure_text,
    krx_client,
    materialize,
    resources,
)
from etf_sandbox.localrun import REPO, sandbox_env
from etf_sandbox.server import Sandbox

EARLIER = sessions_back(AS_OF, 4)[0]


def run_cli(
    sandbox: Sandbox, tmp_path: Path, args: list[str], **env: str
) -> subprocess.CompletedProcess[str]:
    """`dagster asset materialize -m etf_assets.definitions ARGS` against the sandbox."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environment = {
        **os.environ,
        **sandbox_env(sandbox.url, with_kis=False),
        "DAGSTER_HOME": str(home),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "etf_assets.definitions",
         *args],
        env=environment, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def partition_log(db: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT table_name, partition_date, row_count, written_at FROM etf_partition_log "
            "ORDER BY ALL"
        ).fetchall()


def closed_port_url() -> str:
    """A local URL nothing listens on: a stopped sandbox."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- case 1: a reversed range ----------------------------------------------------------------


def test_a_reversed_range_fails_at_once_and_keeps_the_warehouse(
    sandbox: Sandbox, db: Path, tmp_path: Path
) -> None:
    """The range's asset fails before any request, naming both keys; the asset downstream
    (etf_aum) is skipped instead of crashing on an empty frame; no check runs to call the
    table "never written"; the warehouse keeps every row and log entry."""
    before = partition_log(db)
    sandbox.reset_stats()
    completed = run_cli(
        sandbox, tmp_path,
        ["--select", "etf_daily_prices,etf_aum", "--partition-range", f"{AS_OF}...{EARLIER}"],
        ETF_ASSETS_DUCKDB=str(db),
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert (
        f"partition range {AS_OF}...{EARLIER} is reversed or holds no partition: give the "
        f"earlier key first ({EARLIER}...{AS_OF})"
    ) in output
    assert "never written" not in output and "KeyError" not in output
    assert sandbox.stats()["total"] == 0
    assert partition_log(db) == before


def test_a_check_run_without_partitions_names_the_rows_it_finds(sandbox: Sandbox, db: Path) -> None:
    """A table with rows but no partition log entry is not "never written"."""
    with duckdb.connect(str(db)) as conn:
        conn.execute("DELETE FROM etf_partition_log WHERE table_name = 'etf_aum'")
        rows = conn.execute("SELECT count(*) FROM etf_aum").fetchone()[0]
    result = dg.materialize(
        [*ALL_ASSETS, *checks_for(etf_aum)],
        selection=dg.AssetSelection.checks_for_assets(etf_aum),
        resources=resources(sandbox, db),
        raise_on_error=False,
    )
    descriptions = {e.check_name: e.description for e in result.get_asset_check_evaluations()}
    assert descriptions["complete"] == (
        f"etf_aum: {rows:,} rows, but etf_partition_log records no partition of it"
    )
    assert descriptions["fresh_in_sessions"] == descriptions["complete"]
    assert not any("never written" in text for text in descriptions.values())


# ---- case 2: the warehouse path -------------------------------------------------------------


def test_a_warehouse_folder_typo_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    typo = tmp_path / "dta" / "etf.duckdb"
    sandbox.reset_stats()
    completed = run_cli(
        sandbox, tmp_path, ["--select", "krx_etf_list", "--partition", AS_OF.isoformat()],
        ETF_ASSETS_DUCKDB=str(typo),
    )  # fmt: skip
    assert completed.returncode != 0
    assert (
        f"ETF_ASSETS_DUCKDB='{typo}' (the warehouse): folder {typo.parent} does not exist"
    ) in completed.stdout + completed.stderr
    assert not typo.parent.exists()
    assert sandbox.stats()["total"] == 0


def test_a_warehouse_under_a_file_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    under_a_file = tmp_path / "notes.txt" / "etf.duckdb"
    sandbox.reset_stats()
    result = materialize(
        [krx_etf_list],
        resources(sandbox, tmp_path, duckdb=DuckDBResource(database=str(under_a_file))),
        AS_OF.isoformat(),
    )
    assert not result.success
    assert (
        f"ETF_ASSETS_DUCKDB='{under_a_file}' (the warehouse): {tmp_path / 'notes.txt'} is a "
        "file, not a folder"
    ) in failure_text(result)
    assert sandbox.stats()["total"] == 0


def test_a_read_only_warehouse_folder_is_refused_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user writes into read-only folders (root)")
        sandbox.reset_stats()
        result = materialize(
            [krx_etf_list],
            resources(sandbox, tmp_path, duckdb=DuckDBResource(database=str(folder / "w.duckdb"))),
            AS_OF.isoformat(),
        )
    finally:
        folder.chmod(0o755)
    assert not result.success
    assert f"folder {folder} cannot be written (read-only)" in failure_text(result)
    assert "ETF_ASSETS_DUCKDB=" in failure_text(result)
    assert sandbox.stats()["total"] == 0


def test_every_run_names_its_warehouse_first_and_in_its_metadata(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "named.duckdb"
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        ALL_ASSETS,
        selection=[krx_etf_list.key],
        resources=resources(sandbox, db),
        partition_key=AS_OF.isoformat(),
        instance=instance,
    )
    (materialization,) = result.asset_materializations_for_node("krx_etf_list")
    assert materialization.metadata["warehouse"] == dg.MetadataValue.path(str(db.resolve()))
    step_lines = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.step_key == "krx_etf_list" and entry.dagster_event is None
    ]
    assert step_lines[0] == f"warehouse: {db.resolve()}"


# ---- case 3: a session that cannot be final yet ----------------------------------------------


def test_a_session_before_its_final_time_fails_at_once_without_retries(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today at 14:00 KST: no retry in 5 minutes can make the 15:30 close final, so the run
    fails at once (no STEP_UP_FOR_RETRY), before any request, saying when to run again."""
    monkeypatch.setattr(partitions, "now_kst", lambda: datetime(2026, 11, 20, 14, tzinfo=KST))
    sandbox.reset_stats()
    started = time.monotonic()
    result = materialize(
        [etf_daily_prices], resources(sandbox, tmp_path / "w.duckdb"), "2026-11-20"
    )
    assert time.monotonic() - started < 60
    assert not result.success
    assert "session 2026-11-20 is not final yet" in failure_text(result)
    assert "run it again after 2026-11-20 15:45 KST" in failure_text(result)
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    assert sandbox.stats()["total"] == 0


def test_no_data_for_today_after_its_final_time_is_krx_late_and_retried(sandbox: Sandbox) -> None:
    """Past the final time, a no-data answer for today's session is KRX being late: a
    retryable KRXNotYetPublished, not an empty partition (a past session's stays a closure)."""
    tomorrow = next(s for s in xkrx_sessions() if s > datetime.now(KST).date())
    evening = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16, tzinfo=KST)
    with pytest.raises(KRXNotYetPublished, match="KRX is late") as late:
        fetch_session_prices(krx_client(sandbox), tomorrow, evening)  # the sandbox has no data
    assert not isinstance(late.value, SessionNotFinal)
