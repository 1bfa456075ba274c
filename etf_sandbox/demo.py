"""`make demo`: start the sandbox, materialize every asset for the latest session (a year of
prices and of distributions, a month of investor flows), summarise.

Each phase runs through the real CLI (`dagster asset materialize -m etf_assets.definitions`),
exactly as a user or CI would against the real services.
"""

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

from etf_assets import settings
from etf_assets.export import overview_summary
from etf_assets.partitions import KST, last_completed_session, sessions_back, weekly_partitions
from etf_assets.phases import FLOWS_FINAL_AT, PRICES_FINAL_AT
from etf_sandbox.localrun import REPO, prepare_dagster_home, sandbox_env, sandbox_process

PRICE_HISTORY_SESSIONS = 260  # a year for etf_52w plus 250 returns for tracking error
FLOW_SESSIONS = 21  # a month: the overview's 20-session net buying


def materialize(select: str, partition_args: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    command = [
        sys.executable, "-m", "dagster", "asset", "materialize",
        "-m", "etf_assets.definitions", "--select", select, *partition_args,
    ]  # fmt: skip
    print(f"\n$ dagster asset materialize --select {select} {' '.join(partition_args)}", flush=True)
    completed = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    if completed.returncode != 0:
        print(completed.stdout[-4000:], completed.stderr[-4000:], sep="\n")
        raise SystemExit(f"demo: materializing {select} failed")
    elapsed = time.monotonic() - started
    print(f"  ok in {elapsed:.1f} s")
    return elapsed


def summary(db_path: Path) -> str:
    with duckdb.connect(str(db_path), read_only=True) as conn:
        lines = ["\nWarehouse " + str(db_path)]
        for table in (
            "krx_etf_list", "etf_details", "etf_daily_prices", "etf_holdings",
            "etf_aum", "etf_52w", "etf_tracking_error", "etf_investor_flows",
            "etf_distributions", "etf_returns",
        ):  # fmt: skip
            rows, newest = conn.execute(
                f"SELECT count(*), max(COLUMNS('^(trade_date|as_of_date|record_date)$')) "
                f"FROM {table}"
            ).fetchone()
            lines.append(f"  {table:<20} {rows:>9,} rows, newest {newest}")
        listed, delisted, names = conn.execute(
            "SELECT count(*) FILTER (status = 'listed'), count(*) FILTER (status = 'delisted'), "
            "(SELECT count(*) FROM etf_universe_names) FROM etf_universe"
        ).fetchone()
        lines.append(f"  {'etf_universe':<20} {listed:,} listed, {delisted:,} delisted seen in "
                     f"the stored prices, {names:,} names over time")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    home = prepare_dagster_home()
    db_path = REPO / settings.duckdb_path()
    now = datetime.now(KST)
    latest = last_completed_session(now, PRICES_FINAL_AT)
    flows_latest = last_completed_session(now, FLOWS_FINAL_AT)
    flows_first = sessions_back(flows_latest, FLOW_SESSIONS)[0]
    week = weekly_partitions().get_last_partition_key()
    first = sessions_back(latest, PRICE_HISTORY_SESSIONS)[0]
    started = time.monotonic()
    with sandbox_process() as url:
        print(f"sandbox at {url}; latest session {latest}; week {week}; warehouse {db_path}")
        env = {
            **os.environ,
            **sandbox_env(url),
            "DAGSTER_HOME": str(home),
            "ETF_ASSETS_DUCKDB": str(db_path),
        }
        # From the week's last session on, so the weekly phase has a listing to work from.
        materialize("krx_etf_list,etf_details", ["--partition-range", f"{week}...{latest}"], env)
        materialize("etf_daily_prices", ["--partition-range", f"{first}...{latest}"], env)
        materialize("etf_aum,etf_52w", ["--partition", latest.isoformat()], env)
        months = f"{first.replace(day=1)}...{latest.replace(day=1)}"
        materialize("etf_distributions", ["--partition-range", months], env)
        materialize("etf_returns", ["--partition", latest.isoformat()], env)
        materialize("etf_holdings,etf_tracking_error", ["--partition", str(week)], env)
        materialize(
            "etf_investor_flows", ["--partition-range", f"{flows_first}...{flows_latest}"], env
        )
        materialize("etf_overview", ["--partition", latest.isoformat()], env)
        materialize("etf_universe,etf_universe_names", [], env)
    print(summary(db_path))
    print("\n" + overview_summary(db_path))
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
