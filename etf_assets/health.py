"""`make health`: one verdict on the warehouse, usable from cron or CI.

Per asset: the newest partition, its rows, coverage per column, freshness in sessions, and the
latest result of every asset check recorded in the Dagster instance ($DAGSTER_HOME), a check
that never ran or whose run failed before it ran told apart from one that passed. Exit codes:
0 healthy; 1 unhealthy (anything stale, the newest partition failing a blocking check's rule,
the latest run of a blocking check failed, or the last run of a table failed); 3 no data yet (no
warehouse, or no partition written); 4 `--notify` could not deliver the verdict to every alert
channel (whatever the verdict; it is printed above). `--notify` sends the verdict through the
alert channels (ETF_ASSETS_ALERT_URLS), for users who run it from their own cron rather than
the Dagster daemon's sensors.
"""

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from apprise import NotifyType

from etf_assets import partitions, settings
from etf_assets.alerts import ALERTING_OFF, Alert, AlertChannels
from etf_assets.checks import ALL_CHECKS, TABLE_ASSETS, WATCHED_TABLES, partition_checks, rules
from etf_assets.partitions import KST
from etf_assets.warehouse.publish import read_source
from etf_assets.warehouse.schema import TABLES

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_NO_DATA = 3
EXIT_NOT_DELIVERED = 4

# A check's latest execution, as the table shows it.
PASSED = "passed"
FAILED = "failed"
NOT_RUN = "not run"  # planned in a run that ended (failed upstream) before the check executed
RUNNING = "running"
NEVER_RAN = "never ran"
CHECK_STATES = (PASSED, FAILED, NOT_RUN, RUNNING, NEVER_RAN)


@dataclass
class AssetHealth:
    table: str
    newest: str | None = None
    rows: int = 0
    coverage_pct: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)


def partitions_written(conn: duckdb.DuckDBPyConnection) -> int:
    """Partitions in the partition log: 0 in a warehouse created but never written to."""
    has_log = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'etf_partition_log'"
    ).fetchone()[0]
    return conn.execute("SELECT count(*) FROM etf_partition_log").fetchone()[0] if has_log else 0


def warehouse_health(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[AssetHealth]:
    report = []
    for table in WATCHED_TABLES:
        health = AssetHealth(table)
        fresh = rules.freshness(conn, table, now)
        health.newest = fresh.metadata.get("newest")  # type: ignore[assignment]
        if not fresh.passed:
            health.problems.append(fresh.description)
        if health.newest and table not in TABLE_ASSETS:  # refreshed or rebuilt whole
            health.rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        elif health.newest:
            newest = [datetime.fromisoformat(str(health.newest)).date()]
            key = TABLES[table].key_column
            health.rows = conn.execute(
                f"SELECT count(*) FROM {table} WHERE {key} = ?", newest
            ).fetchone()[0]
            for check in (c for c in partition_checks(table) if c.blocking):
                outcome = check.rule(conn, table, newest)
                if not outcome.passed:
                    health.problems.append(outcome.description)
            coverage = rules.coverage(conn, table, newest)
            health.coverage_pct = coverage.metadata.get("coverage_pct", {})  # type: ignore[assignment]
            if not coverage.passed:
                health.problems.append(f"(warn) {coverage.description}")
        report.append(health)
    return report


def check_state(
    instance: dg.DagsterInstance, record: Any | None
) -> tuple[str, dg.DagsterRun | None]:
    """A check's latest execution (the instance's record, whose type Dagster keeps private) as
    PASSED … NEVER_RAN, and its run when it did not execute."""
    if record is None:
        return NEVER_RAN, None
    if record.status.value == "SUCCEEDED":
        return PASSED, None
    if record.status.value == "FAILED":
        return FAILED, None
    run = instance.get_run_by_id(record.run_id)  # planned: the run is going, or ended without it
    return (RUNNING if run is not None and not run.is_finished else NOT_RUN), run


def _written_at(conn: duckdb.DuckDBPyConnection, table: str, partition: str) -> datetime | None:
    """When the stored rows of `table`'s `partition` were written (the partition log)."""
    return conn.execute(
        "SELECT max(written_at)::TIMESTAMPTZ FROM etf_partition_log "
        "WHERE table_name = ? AND partition_date = ?",
        [table, partition],
    ).fetchone()[0]


def failed_write(
    instance: dg.DagsterInstance, conn: duckdb.DuckDBPyConnection, health: AssetHealth
) -> tuple[str, str] | None:
    """When Dagster's last run for the newest stored partition failed (the UI colours it red):
    whether that run wrote the stored rows before failing, or they are the write before it,
    intact (writes are transactional: a failed write leaves the previous rows). Returns the
    failed run's id (empty if unknown) and the line saying so."""
    key, partitions_def = WATCHED_TABLES[health.table]
    if health.table not in TABLE_ASSETS or not health.newest or partitions_def is None:
        return None
    partition = str(health.newest)
    statuses = instance.get_status_by_partition(key, [partition], partitions_def) or {}
    if statuses.get(partition) != dg.AssetPartitionStatus.FAILED:
        return None
    planned = instance.get_latest_planned_materialization_info(key, partition)
    run_id = planned.run_id if planned else ""
    record = instance.get_run_record_by_id(run_id) if run_id else None
    failed = f"the last run for {partition}" + (f" (run {run_id[:8]})" if run_id else "")
    written = _written_at(conn, health.table, partition)
    when = f"{written.astimezone(KST):%Y-%m-%d %H:%M} KST" if written else "at an unknown time"
    stored = f"the stored rows ({health.rows:,}, written {when})"
    if written and record and record.start_time and written.timestamp() >= record.start_time:
        return run_id, f"{failed} failed after writing {stored}"
    return run_id, f"{failed} failed; {stored} are the previous successful write, intact"


def instance_check_results(
    report: list[AssetHealth], conn: duckdb.DuckDBPyConnection
) -> str | None:
    """Fill each asset's latest check results and failed last runs from the instance; returns
    a note if there is no instance to read."""
    home = settings.dagster_home()
    if not home or not (home / "dagster.yaml").exists():
        return "no Dagster instance ($DAGSTER_HOME unset or empty): check history not read"
    specs = {spec.key: spec for check in ALL_CHECKS for spec in check.check_specs}
    by_asset = {WATCHED_TABLES[h.table][0]: h for h in report}
    with dg.DagsterInstance.get() as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(specs))
        for h in report:
            not_run: dict[str, str] = {}  # run id → partition, of runs that ended before checks
            for key in (k for k in specs if by_asset[k.asset_key] is h):
                state, run = check_state(instance, latest.get(key))
                h.checks[key.name] = state
                if state == FAILED and specs[key].blocking:
                    run_id = latest[key].run_id
                    h.problems.append(f"blocking check {key.name} failed in run {run_id[:8]}")
                if state == NOT_RUN and run is not None:
                    not_run[run.run_id] = latest[key].partition or run.tags.get(
                        "dagster/partition", "the newest partitions"
                    )
            failed_run_id, failed_line = failed_write(instance, conn, h) or ("", "")
            h.problems += [
                f"the last run for {partition} (run {run_id[:8]}) ended before its checks ran"
                for run_id, partition in not_run.items()
                if run_id != failed_run_id
            ]
            if failed_line:
                h.problems.append(failed_line)
    return None


def checks_summary(states: dict[str, str]) -> str:
    """`6/6 passed`, or each state counted: `5 not run`, `4 passed, 2 never ran`."""
    if not states:
        return "not read"
    counts = Counter(states.values())
    if counts[PASSED] == len(states):
        return f"{len(states)}/{len(states)} passed"
    if counts[NEVER_RAN] == len(states):
        return NEVER_RAN
    return ", ".join(f"{counts[state]} {state}" for state in CHECK_STATES if counts[state])


def render(report: list[AssetHealth], note: str | None) -> str:
    lines = [f"{'table':<22} {'newest':<11} {'rows':>9}  {'checks':<28} coverage of newest"]
    for h in report:
        coverage = ", ".join(f"{c} {v:g}%" for c, v in h.coverage_pct.items())
        lines.append(
            f"{h.table:<22} {h.newest or 'never':<11} {h.rows:>9,}  "
            f"{checks_summary(h.checks):<28} {coverage}"
        )
        lines += [f"    ! {problem}" for problem in h.problems]
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def examine(db: Path) -> tuple[str, str, int]:
    """The report, the verdict and its exit code for the warehouse at `db`."""
    if not db.exists():
        report = f"no warehouse at {db} yet: run `make demo`, or materialize assets"
        return report, "NO DATA YET", EXIT_NO_DATA
    with duckdb.connect(str(db), read_only=True) as conn:
        if not partitions_written(conn):
            report = f"the warehouse at {db} has no partition written yet: materialize assets"
            return report, "NO DATA YET", EXIT_NO_DATA
        tables = warehouse_health(conn, partitions.now_kst())
        note = instance_check_results(tables, conn)
    failing = [h.table for h in tables if any(not p.startswith("(warn)") for p in h.problems)]
    if failing:
        return render(tables, note), f"UNHEALTHY: {', '.join(failing)}", EXIT_UNHEALTHY
    return render(tables, note), "HEALTHY", EXIT_HEALTHY


def notify(alerts: AlertChannels, report: str, verdict: str, code: int) -> bool:
    """Send the verdict to every channel and say where it went; False if one did not take it."""
    kind = {EXIT_HEALTHY: NotifyType.SUCCESS, EXIT_NO_DATA: NotifyType.WARNING}.get(
        code, NotifyType.FAILURE
    )
    if not alerts.enabled:
        print(f"verdict NOT sent: {ALERTING_OFF}")
        return False
    delivery = alerts.send(Alert(f"etf_assets health: {verdict}", report.splitlines(), kind))
    if delivery.delivered:
        print(f"verdict sent to {', '.join(delivery.delivered)}")
    if delivery.failed:
        print(f"verdict NOT delivered to {len(delivery.failed)} channel(s):")
        print("\n".join(f"    ! {failure}" for failure in delivery.failures()))
    return delivery.complete


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db", help="the DuckDB file to read (default: the read snapshot; it never blocks a run)"
    )
    parser.add_argument(
        "--notify", action="store_true", help="also send the verdict to ETF_ASSETS_ALERT_URLS"
    )
    args = parser.parse_args(argv)
    alerts = AlertChannels.from_env()
    db, source_note = (
        (Path(args.db), None)
        if args.db
        else read_source(Path(settings.read_duckdb_path()), Path(settings.duckdb_path()))
    )
    report, verdict, code = examine(db)
    if source_note:
        report += f"\nnote: {source_note}"
    report += f"\n\nverdict: {verdict}"
    print(f"{report}\n{alerts.channels().describe()}")
    if args.notify and not notify(alerts, report, verdict, code):
        return EXIT_NOT_DELIVERED
    return code


if __name__ == "__main__":
    sys.exit(main())
