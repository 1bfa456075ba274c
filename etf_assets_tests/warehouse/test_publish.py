"""The published read snapshot: a whole, consistent copy renamed into place; a reader holding
it open never blocks a run and sees the new data on its next connection; the sensor publishes
after a run that wrote and not after one that did not.
"""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from etf_assets import export, health, settings
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.partitions import previous_session
from etf_assets.publishing import publish_read_snapshot
from etf_assets.warehouse.publish import is_current, main, publish, read_source
from etf_assets.warehouse.schema import TABLES
from etf_assets_tests.helpers import HISTORY_START, materialize, resources
from etf_sandbox.server import Sandbox

# A past session the shared warehouse does not hold: the "new data" a run brings.
NEW_SESSION = previous_session(HISTORY_START)

# A notebook in its own process: holds one read-only connection to the snapshot across the
# run, then counts NEW_SESSION's rows on that connection and on a new one.
READER = """
import sys, duckdb
held = duckdb.connect(sys.argv[1], read_only=True)
count = "SELECT count(*) FROM etf_daily_prices WHERE trade_date = DATE '{day}'"
print(held.execute(count).fetchone()[0], flush=True)
sys.stdin.readline()
print(held.execute(count).fetchone()[0], flush=True)
held.close()
with duckdb.connect(sys.argv[1], read_only=True) as fresh:
    print(fresh.execute(count).fetchone()[0], flush=True)
"""


def snapshot_of(db: Path) -> Path:
    return Path(settings.read_duckdb_path(str(db)))


def test_publish_copies_every_table_and_view_and_replaces_the_file(db: Path) -> None:
    snapshot = snapshot_of(db)
    assert snapshot.name == "etf.read.duckdb" and snapshot.parent == db.parent
    first = publish(db, snapshot)
    assert first.tables >= len(TABLES) and first.views > len(TABLES) // 2, first
    with (
        duckdb.connect(str(db), read_only=True) as source,
        duckdb.connect(str(snapshot), read_only=True) as copy,
    ):
        for name in [*TABLES, "etf_overview", "etf_daily_prices_latest"]:
            counted = f"SELECT count(*) FROM {name}"
            assert copy.execute(counted).fetchone() == source.execute(counted).fetchone(), name
    assert is_current(db, snapshot)
    assert not snapshot.stat().st_mode & 0o222  # read-only
    assert sorted(p.name for p in db.parent.iterdir()) == ["etf.duckdb", "etf.read.duckdb"]
    inode = snapshot.stat().st_ino
    with duckdb.connect(str(db)) as conn:
        conn.execute("DELETE FROM etf_universe_names")
    assert not is_current(db, snapshot)
    publish(db, snapshot)
    assert snapshot.stat().st_ino != inode  # a new file renamed over the old one


def test_a_reader_holding_the_snapshot_never_blocks_a_run(db: Path, sandbox: Sandbox) -> None:
    snapshot = snapshot_of(db)
    publish(db, snapshot)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER.format(day=NEW_SESSION), str(snapshot)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "0"  # connected, holding the snapshot
        # The warehouse is free: a writer opens it at once (DuckDBResource would otherwise
        # retry with backoff, then fail the run) ...
        duckdb.connect(str(db)).close()
        result = materialize([etf_daily_prices], resources(sandbox, db), NEW_SESSION.isoformat())
        assert result.success
        published = publish(db, snapshot)
        assert published.seconds < 30
        reader.stdin.write("\n")
        reader.stdin.flush()
        held, fresh = (int(reader.stdout.readline()) for _ in range(2))
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0
    assert held == 0  # the old file, unchanged under the reader
    with duckdb.connect(str(db), read_only=True) as conn:
        written = conn.execute(
            "SELECT count(*) FROM etf_daily_prices WHERE trade_date = ?", [NEW_SESSION]
        ).fetchone()[0]
    assert fresh == written > 0  # its next connection: the new session's rows


def test_reading_the_warehouse_itself_does_lock_a_writer_out(db: Path) -> None:
    """Why the snapshot exists: DuckDB refuses a writer while another process reads."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER.format(day=NEW_SESSION), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "0"
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(db))
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)


def test_readers_fall_back_to_the_warehouse_with_a_note(tmp_path: Path) -> None:
    warehouse, snapshot = tmp_path / "etf.duckdb", tmp_path / "etf.read.duckdb"
    source, note = read_source(snapshot, warehouse)
    assert source == warehouse and note and "make publish" in note
    snapshot.touch()
    assert read_source(snapshot, warehouse) == (snapshot, None)


def test_publish_errors_are_one_line_and_leave_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(tmp_path / "none.duckdb")]) == 2
    assert capsys.readouterr().err.startswith(f"publish: no warehouse at {tmp_path}/none.duckdb")
    duckdb.connect(str(tmp_path / "etf.duckdb")).close()
    assert main(["--db", str(tmp_path / "etf.duckdb"), "--to", str(tmp_path / "etf.duckdb")]) == 2
    assert "is the warehouse itself" in capsys.readouterr().err
    assert main(["--db", str(tmp_path / "etf.duckdb"), "--to", str(tmp_path / "no/x.duckdb")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etf.duckdb"]


def test_the_sensor_publishes_after_a_run_that_wrote(db: Path, sandbox: Sandbox) -> None:
    snapshot = snapshot_of(db)
    res = resources(sandbox, db)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [etf_daily_prices],
            resources=res,
            partition_key=NEW_SESSION.isoformat(),
            instance=instance,
        )
        success = instance.get_records_for_run(
            run_id=result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS
        ).records[0]

        def tick() -> object:
            context = dg.build_run_status_sensor_context(
                sensor_name="publish_read_snapshot",
                dagster_event=success.event_log_entry.dagster_event,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                resources={"duckdb": res["duckdb"]},
            )
            return publish_read_snapshot(context)

        assert tick() is None and is_current(db, snapshot)
        published = snapshot.stat().st_mtime_ns
        # Nothing to do is logged, not a SkipReason: a tick reacting to two runs that ended
        # together would otherwise return both, which Dagster refuses.
        assert tick() is None and snapshot.stat().st_mtime_ns == published


def test_export_and_health_read_the_snapshot_by_default(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(settings.DUCKDB_ENV, str(db))
    monkeypatch.delenv(settings.READ_DUCKDB_ENV, raising=False)
    out = ["--format", "csv", "--out", str(tmp_path / "out")]
    assert export.main(out) == 0  # before the first publish: the warehouse, with a note
    assert "note: no read snapshot at" in capsys.readouterr().err
    publish(db, snapshot_of(db))
    with duckdb.connect(str(db)) as conn:  # the warehouse changes after the publish
        conn.execute("DELETE FROM etf_universe")
    assert export.main(out) == 0
    assert "note:" not in capsys.readouterr().err
    assert len((tmp_path / "out" / "etf_universe.csv").read_text().splitlines()) > 1
    health.main([])
    assert "no read snapshot" not in capsys.readouterr().out
