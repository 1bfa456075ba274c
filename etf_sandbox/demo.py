"""`make demo`: start the sandbox, materialize every asset for the latest session (a year of
prices and of distributions, a month of investor flows), summarise.

Each phase runs through the real CLI (`dagster asset materialize -m etf_assets.definitions`),
exactly as a user or CI would against the real services.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from etf_assets import settings
from etf_assets.checks import WATCHED_TABLES
from etf_assets.checks.rules import expected_newest, freshness
from etf_assets.export import overview_summary
from etf_assets.partitions import (
    KST,
    last_completed_session,
    month_partitions,
    sessions_back,
    trailing_months,
    weekly_partitions,
)
from etf_assets.phases import FLOWS_FINAL_AT, PRICES_FINAL_AT
from etf_assets.warehouse.publish import publish
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


@dataclass(frozen=True)
class DemoPlan:
    """What the demo loads at `now`: every table up to the session its phase would have
    loaded by now, so the freshness checks it shows (and `make health`) are green at any hour:
    in Korean business hours the 09:00 listing is due for today while prices are not yet."""

    now: datetime
    latest: date  # prices and everything derived from them
    listing_end: date  # the listing and the distributions' month follow the 09:00 phase
    flows_first: date
    flows_latest: date
    week: date  # holdings, tracking and the exposure group
    costs_month: date  # the newest month KOFIA has disclosed (etf_costs' monthly key)

    @property
    def first(self) -> date:
        return sessions_back(self.latest, PRICE_HISTORY_SESSIONS)[0]

    @property
    def months(self) -> tuple[date, date]:
        """From the first priced month to the last month the 09:00 refresh writes (next month,
        once it is a partition)."""
        newest = month_partitions().get_last_partition_key()
        assert newest, "the month partitions are never empty: they start in 2002"
        end = min(trailing_months(self.listing_end)[-1], date.fromisoformat(newest))
        return self.first.replace(day=1), end


def plan(now: datetime) -> DemoPlan:
    latest = last_completed_session(now, PRICES_FINAL_AT)
    flows_latest = last_completed_session(now, FLOWS_FINAL_AT)
    last_week = weekly_partitions().get_last_partition_key()
    assert last_week, "the weekly partitions are never empty: they start in 2002"
    week = max(date.fromisoformat(last_week), expected_newest("etf_holdings", now))
    return DemoPlan(
        now=now,
        latest=latest,
        listing_end=max(latest, expected_newest("krx_etf_list", now)),
        flows_first=sessions_back(flows_latest, FLOW_SESSIONS)[0],
        flows_latest=flows_latest,
        week=week,
        costs_month=expected_newest("etf_costs", now),
    )


def summary(db_path: Path, now: datetime) -> str:
    """Rows of each table and its freshness as `make health` judges it (the same rule)."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        lines = ["\nWarehouse " + str(db_path)]
        for table in WATCHED_TABLES:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            fresh = freshness(conn, table, now)
            newest = fresh.metadata.get("newest", "-")
            verdict = "fresh" if fresh.passed else f"STALE: {fresh.description}"
            lines.append(f"  {table:<22} {rows:>9,} rows, newest {newest}  {verdict}")
        listed, delisted, names = conn.execute(
            "SELECT count(*) FILTER (status = 'listed'), count(*) FILTER (status = 'delisted'), "
            "(SELECT count(*) FROM etf_universe_names) FROM etf_universe"
        ).fetchone()
        lines.append(f"  {'':<22} {listed:,} listed, {delisted:,} delisted seen in the stored "
                     f"prices, {names:,} names over time")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    home = prepare_dagster_home()
    db_path = REPO / settings.duckdb_path()
    todo = plan(datetime.now(KST))
    latest = todo.latest
    started = time.monotonic()
    with sandbox_process() as url:
        print(f"sandbox at {url}; latest session {latest}; listing to {todo.listing_end}; "
              f"week {todo.week}; warehouse {db_path}")  # fmt: skip
        env = {
            **os.environ,
            **sandbox_env(url),
            "DAGSTER_HOME": str(home),
            "ETF_ASSETS_DUCKDB": str(db_path),
        }
        # From the week's last session on, so the weekly phase has a listing to work from.
        listing = f"{min(todo.week, latest)}...{todo.listing_end}"
        materialize("krx_etf_list,etf_details", ["--partition-range", listing], env)
        materialize("etf_daily_prices", ["--partition-range", f"{todo.first}...{latest}"], env)
        materialize("etf_aum,etf_52w", ["--partition", latest.isoformat()], env)
        months = f"{todo.months[0]}...{todo.months[1]}"
        materialize("etf_distributions", ["--partition-range", months], env)
        materialize("etf_returns", ["--partition", latest.isoformat()], env)
        materialize("etf_holdings,etf_tracking_error", ["--partition", str(todo.week)], env)
        exposure = "stock_sectors,stock_shares,etf_exposure,etf_overlap,etf_stock_holders"
        materialize(exposure, ["--partition", str(todo.week)], env)
        materialize("etf_costs", ["--partition", todo.costs_month.isoformat()], env)
        # After the week's basket, which measures a bond-mixed fund's stocks for 퇴직연금.
        materialize("etf_classification", ["--partition-range", listing], env)
        materialize("etf_creations", ["--partition-range", f"{todo.first}...{latest}"], env)
        flows = f"{todo.flows_first}...{todo.flows_latest}"
        materialize("etf_investor_flows", ["--partition-range", flows], env)
        materialize("etf_overview", ["--partition", latest.isoformat()], env)
        materialize("etf_universe,etf_universe_names", [], env)
    # No daemon runs the publish sensor here: readers (export, make health, etf_assets.read)
    # get their snapshot the way `make publish` makes it.
    print(publish(db_path, Path(settings.read_duckdb_path(str(db_path)))).line())
    print(summary(db_path, datetime.now(KST)))
    print("\n" + overview_summary(db_path))
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
