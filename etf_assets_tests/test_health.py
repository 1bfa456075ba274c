"""`make health` on the shared sandbox warehouse: healthy when fresh, exit 1 when stale or when
the last run failed, 3 with no data yet; checks that never ran or did not run told apart."""

import re
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from etf_assets import health, partitions
from etf_assets.assets.metrics import etf_52w
from etf_assets.assets.reports import etf_overview
from etf_assets.checks import ALL_CHECKS, TABLE_ASSETS
from etf_assets.partitions import KST
from etf_assets.schedules import PHASE_SCHEDULES, monitoring_schedule
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets_tests.helpers import ALL_ASSETS, AS_OF, materialize_with_checks, resources
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

# The shared warehouse holds AS_OF = Friday 2026-11-20 for every asset.
SATURDAY_AFTER = datetime(2026, 11, 21, 12, tzinfo=KST)
STALE_TUESDAY = datetime(2026, 11, 24, 19, tzinfo=KST)


def run(db: Path, now: datetime, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(partitions, "now_kst", lambda: now)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return health.main(["--db", str(db)])


def test_fresh_warehouse_is_healthy_on_the_weekend(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, SATURDAY_AFTER, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "verdict: HEALTHY" in out
    for table in ("etf_daily_prices", "etf_holdings", "etf_overview_snapshot"):
        assert re.search(rf"^{table} +2026-11-20 ", out, re.MULTILINE), out


def test_stale_warehouse_is_unhealthy(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, STALE_TUESDAY, monkeypatch) == 1
    out = capsys.readouterr().out
    assert "verdict: UNHEALTHY" in out
    assert "etf_daily_prices: newest 2026-11-20, expected 2026-11-24 (2 sessions behind)" in out


def test_no_data_yet_is_neither_healthy_nor_unhealthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No warehouse file, an empty file, a warehouse with its tables but no partition: exit 3."""
    missing = tmp_path / "none.duckdb"
    assert run(missing, SATURDAY_AFTER, monkeypatch) == health.EXIT_NO_DATA
    out = capsys.readouterr().out
    assert f"no warehouse at {missing} yet: run `make demo`, or materialize assets" in out
    assert "verdict: NO DATA YET" in out

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    schema_only = tmp_path / "schema_only.duckdb"
    with duckdb.connect(str(schema_only)) as conn:
        ensure_schema(conn)
    for db in (empty, schema_only):
        assert run(db, SATURDAY_AFTER, monkeypatch) == health.EXIT_NO_DATA
        out = capsys.readouterr().out
        assert f"the warehouse at {db} has no partition written yet" in out, out
        assert "verdict: NO DATA YET" in out


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Dagster instance in tmp_path, as $DAGSTER_HOME (what `make health` reads)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_a_failed_run_over_intact_rows_says_so(
    db: Path,
    dagster_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """listing_job for AS_OF fails at KRX's login wall, before writing and before its checks:
    the checks read "not run", not "0/5 passed"; the stored rows are named intact; exit 1."""
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM krx_etf_list WHERE trade_date = ?", [AS_OF]
        ).fetchone()[0]
    with start_sandbox(SandboxConfig(require_login=True)) as login_wall:
        defs = dg.Definitions(
            assets=ALL_ASSETS,
            asset_checks=ALL_CHECKS,
            schedules=PHASE_SCHEDULES,
            resources=resources(login_wall, db),
        )
        with dg.DagsterInstance.get() as instance:
            failed = defs.resolve_job_def("listing_job").execute_in_process(
                instance=instance, partition_key=AS_OF.isoformat(), raise_on_error=False
            )
    assert not failed.success
    assert health.main(["--db", str(db)]) == health.EXIT_UNHEALTHY
    out = capsys.readouterr().out
    assert re.search(rf"^krx_etf_list +{AS_OF} +{stored:,}  5 not run ", out, re.MULTILINE), out
    assert "0/5 passed" not in out
    assert re.search(
        rf"! the last run for {AS_OF} \(run {failed.run_id[:8]}\) failed; the stored rows "
        rf"\({stored:,}, written \d{{4}}-\d\d-\d\d \d\d:\d\d KST\) are the previous successful "
        r"write, intact",
        out,
    ), out
    assert "verdict: UNHEALTHY: krx_etf_list" in out


def test_reads_check_results_from_the_instance(
    db: Path,
    sandbox: Sandbox,
    dagster_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With $DAGSTER_HOME set, each table shows its asset's latest check results, including
    the overview, whose asset (etf_overview) is named differently from its table, and "never
    ran" for an asset whose checks never ran."""
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    with dg.DagsterInstance.get() as instance:
        result = materialize_with_checks(
            [etf_52w, etf_overview], resources(sandbox, db), AS_OF.isoformat(), instance
        )
    assert result.success
    assert health.main(["--db", str(db)]) == 0
    out = capsys.readouterr().out
    for table in ("etf_52w", "etf_overview_snapshot"):
        assert re.search(rf"^{table} +2026-11-20 +1,070  6/6 passed", out, re.MULTILINE), out
    assert re.search(r"^etf_aum +2026-11-20 +1,070  never ran ", out, re.MULTILINE), out
    assert "note:" not in out


def test_monitoring_job_checks_the_newest_partition_in_one_step_per_table(
    db: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks-only job runs without a partition: every table's checks read its newest
    partition written (AS_OF everywhere here), all of them in one step per table. The run
    succeeds (no blocking check fails); warnings may: the sandbox market has outliers on purpose."""
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    defs = dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        schedules=[monitoring_schedule],
        resources=resources(sandbox, db),
    )
    result = defs.resolve_job_def("monitoring_job").execute_in_process()
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == sum(len(c.check_specs) for c in ALL_CHECKS)
    session_tables = {dg.AssetKey(table) for table in TABLE_ASSETS}
    assert {
        e.metadata["checked_partitions"].value
        for e in evaluations
        if e.check_name != "fresh_in_sessions" and e.asset_key in session_tables
    } == {f"{AS_OF}…{AS_OF} (1)"}
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert len(steps) == len(ALL_CHECKS)  # one step per table
