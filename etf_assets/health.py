"""`make health`: one verdict on the warehouse, usable from cron or CI.

Per asset: the newest partition, its rows, coverage per column, freshness in sessions, and the
latest result of every asset check recorded in the Dagster instance ($DAGSTER_HOME). Exits 1
when anything is stale, the newest partition fails a blocking check's rule (incomplete,
duplicate keys, NaN or infinity), or the latest run of a blocking check failed; 0 when healthy.
`--notify` also sends the verdict through the alert channels (ETF_ASSETS_ALERT_URLS), for
users who run it from their own cron rather than the Dagster daemon's sensors.
"""

import argparse
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
from apprise import NotifyType

from etf_assets import partitions, settings
from etf_assets.alerts import Alert, AlertChannels
from etf_assets.checks import ALL_CHECKS, TABLE_ASSETS, WATCHED_TABLES, partition_checks, rules
from etf_assets.warehouse.schema import TABLES


@dataclass
class AssetHealth:
    table: str
    newest: str | None = None
    rows: int = 0
    coverage_pct: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)


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


def instance_check_results(report: list[AssetHealth]) -> str | None:
    """Fill each asset's latest check results from the instance; returns a note if unavailable."""
    home = settings.dagster_home()
    if not home or not (home / "dagster.yaml").exists():
        return "no Dagster instance ($DAGSTER_HOME unset or empty): check history not read"
    specs = {spec.key: spec for check in ALL_CHECKS for spec in check.check_specs}
    with dg.DagsterInstance.get() as instance:
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(specs))
    by_asset = {WATCHED_TABLES[h.table][0]: h for h in report}
    for key, record in latest.items():
        health = by_asset[key.asset_key]
        status = record.status.value.lower()
        health.checks[key.name] = status
        if status == "failed" and specs[key].blocking:
            health.problems.append(f"blocking check {key.name} failed in run {record.run_id[:8]}")
    return None


def render(report: list[AssetHealth], note: str | None) -> str:
    lines = [f"{'table':<22} {'newest':<11} {'rows':>9}  {'checks':<28} coverage of newest"]
    for h in report:
        passed = sum(s == "succeeded" for s in h.checks.values())
        checks = f"{passed}/{len(h.checks)} passed" if h.checks else "-"
        coverage = ", ".join(f"{c} {v:g}%" for c, v in h.coverage_pct.items())
        lines.append(
            f"{h.table:<22} {h.newest or 'never':<11} {h.rows:>9,}  {checks:<28} {coverage}"
        )
        lines += [f"    ! {problem}" for problem in h.problems]
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=settings.duckdb_path())
    parser.add_argument(
        "--notify", action="store_true", help="also send the verdict to ETF_ASSETS_ALERT_URLS"
    )
    args = parser.parse_args(argv)
    alerts = AlertChannels.from_env()
    if not Path(args.db).exists():
        report = f"no warehouse at {args.db} (run `make demo` or materialize assets)"
        failing = ["no warehouse"]
    else:
        with duckdb.connect(args.db, read_only=True) as conn:
            tables = warehouse_health(conn, partitions.now_kst())
        note = instance_check_results(tables)
        report = render(tables, note)
        failing = [h.table for h in tables if any(not p.startswith("(warn)") for p in h.problems)]
    verdict = f"UNHEALTHY: {', '.join(failing)}" if failing else "HEALTHY"
    report += f"\n\nverdict: {verdict}"
    print(f"{report}\nalerting: {alerts.channels().describe()}")
    if args.notify and alerts.enabled:
        kind = NotifyType.FAILURE if failing else NotifyType.SUCCESS
        sent = alerts.send(Alert(f"etf_assets health: {verdict}", report.splitlines(), kind))
        print("verdict sent" if sent else "verdict NOT sent to every channel (see apprise's log)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
