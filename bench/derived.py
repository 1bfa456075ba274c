"""The derived assets over the whole history, side by side with one DuckDB query each.

On the full-history warehouse the price backfill leaves (`bench.backfill`), after the listing
of the newest session and every month of payouts (what etf_returns and etf_tracking_error
read), each derived asset runs once over its whole range as a user would type it
(`dagster asset materialize --partition-range …`): its wall time, in-run time, step time, its
own compute-and-write time (the `compute_s` it reports) and peak RSS. Beside it, the limit:
the same figures computed by the asset's statement as ONE query over every session into a
temporary table, with no batches, no writes to the table and no Dagster. The ratio of the two
says what batching, writing and the run cost on top of the computation itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from bench.measure import materialize, newest_run_times
from etf_assets import settings
from etf_assets.assets.prices import price_sessions
from etf_assets.metrics.aum import AUM_SQL, kis_quotes
from etf_assets.metrics.returns import KRX_CHANGES, RETURNS_SQL, returns_params
from etf_assets.metrics.tracking import TRACKING_SQL, tracking_params
from etf_assets.metrics.week52 import WEEK52_SQL, week52_params
from etf_assets.partitions import CALENDAR_START, week_last_sessions
from etf_assets.warehouse.publish import Published, publish
from etf_assets.warehouse.write import set_query_options

# In the order they run; etf_tracking_error is weekly (keys: each week's last session).
DERIVED = ("etf_aum", "etf_52w", "etf_returns", "etf_tracking_error")
LISTING = "krx_etf_list,etf_details"


@dataclass
class DerivedRun:
    """One derived asset over the whole history, and its single-query limit."""

    asset: str
    command: str
    partitions: int
    rows: int
    wall_s: float
    in_run_s: float | None
    step_s: float | None
    checks_s: float | None  # its checks' step over the range
    compute_s: float | None  # the asset's own compute + write time (its `compute_s`)
    peak_rss_mb: float
    limit_s: float
    limit_rows: int

    @property
    def ratio(self) -> float | None:
        """In-run time over the limit's (None without a run record)."""
        return self.in_run_s / self.limit_s if self.in_run_s and self.limit_s else None

    @property
    def compute_ratio(self) -> float | None:
        return self.compute_s / self.limit_s if self.compute_s and self.limit_s else None


@dataclass
class DerivedBench:
    setup_s: dict[str, float]
    runs: list[DerivedRun]
    publishes: list[Published]  # `make publish` of the warehouse the runs leave


PUBLISH_RUNS = 3


def publish_times(db: Path, runs: int = PUBLISH_RUNS) -> list[Published]:
    """`make publish` of the full-history warehouse, `runs` times (each a new snapshot)."""
    snapshot = Path(settings.read_duckdb_path(str(db)))
    return [publish(db, snapshot) for _ in range(runs)]


def _limit_query(
    conn: duckdb.DuckDBPyConnection, asset: str, keys: list[date]
) -> tuple[str, dict[str, object]]:
    """The asset's own statement and parameters for every key at once."""
    sessions = price_sessions(conn)
    queries: dict[str, Callable[[], tuple[str, dict[str, object]]]] = {
        "etf_aum": lambda: (AUM_SQL, {"dates": keys}),
        "etf_52w": lambda: (WEEK52_SQL, week52_params(keys, sessions)),
        "etf_returns": lambda: (RETURNS_SQL, returns_params(keys, sessions)),
        "etf_tracking_error": lambda: (TRACKING_SQL, tracking_params(keys, sessions)),
    }
    return queries[asset]()


def limit_s(db: Path, asset: str, keys: list[date]) -> tuple[float, int]:
    """Seconds of the one query computing the asset's figures for `keys` into a temporary
    table (the file's blocks warm from the run before), and its rows."""
    with duckdb.connect(str(db), read_only=True) as conn:
        set_query_options(conn)
        no_krx = pd.DataFrame(
            {
                "trade_date": pd.Series(dtype="datetime64[us]"),
                "ticker": pd.Series(dtype="object"),
                "krx_return_1m_pct": pd.Series(dtype="float64"),
            }
        )
        conn.register(KRX_CHANGES, no_krx)
        sql, params = _limit_query(conn, asset, keys)
        with kis_quotes(conn, None, None):
            started = time.perf_counter()
            conn.execute(f"CREATE TEMP TABLE limit_rows AS {sql}", params)
            seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM limit_rows").fetchone()
    assert rows is not None
    return seconds, int(rows[0])


def _keys(db: Path, asset: str, session: date) -> list[date]:
    """Every partition of the asset the full-history warehouse has prices for."""
    with duckdb.connect(str(db), read_only=True) as conn:
        first = conn.execute("SELECT min(trade_date) FROM etf_daily_prices").fetchone()
    assert first is not None
    if asset == "etf_tracking_error":
        return [w for w in week_last_sessions() if first[0] <= w <= session]
    with duckdb.connect(str(db), read_only=True) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT trade_date FROM etf_daily_prices WHERE trade_date <= ? ORDER BY 1",
                [session],
            ).fetchall()
        ]


def _compute_s(dagster_home: Path, asset: str) -> float | None:
    """The `compute_s` the asset reported in its newest materialization."""
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    finally:
        instance.dispose()
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("compute_s")
    return float(value.value) if value is not None else None


def _rows(db: Path, asset: str) -> int:
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {asset}").fetchone()
    assert row is not None
    return int(row[0])


def run_derived(env: dict[str, str], session: date, log_dir: Path) -> DerivedBench:
    """The setup runs, then each derived asset over its whole range and its limit."""
    db, home = Path(env["ETF_ASSETS_DUCKDB"]), Path(env["DAGSTER_HOME"])
    months = f"{CALENDAR_START.replace(day=1)}...{session.replace(day=1)}"
    setup_s: dict[str, float] = {}
    for select, partition in (
        (LISTING, ["--partition", session.isoformat()]),
        ("etf_distributions", ["--partition-range", months]),
    ):
        print(f"  derived: setup {select} …", end=" ", flush=True)
        usage, _ = materialize(select, partition, env, log_dir)
        setup_s[select] = usage.wall_s
        print(f"{usage.wall_s:.0f} s", flush=True)
    runs = []
    for asset in DERIVED:
        keys = _keys(db, asset, session)
        print(f"  derived: {asset} over {len(keys):,} partitions …", end=" ", flush=True)
        usage, shown = materialize(
            asset, ["--partition-range", f"{keys[0]}...{keys[-1]}"], env, log_dir
        )
        times = newest_run_times(home)
        seconds, limit_rows = limit_s(db, asset, keys)
        run = DerivedRun(
            asset=asset,
            command=shown,
            partitions=len(keys),
            rows=_rows(db, asset),
            wall_s=usage.wall_s,
            in_run_s=times.in_run_s,
            step_s=times.step_s.get(asset),
            checks_s=times.step_s.get(f"{asset}_checks"),
            compute_s=_compute_s(home, asset),
            peak_rss_mb=usage.peak_rss_mb,
            limit_s=seconds,
            limit_rows=limit_rows,
        )
        runs.append(run)
        print(
            f"in-run {run.in_run_s or 0:.1f} s, compute {run.compute_s or 0:.1f} s, "
            f"limit {seconds:.1f} s, {run.peak_rss_mb:,.0f} MB",
            flush=True,
        )
    print("  derived: publish the read snapshot …", end=" ", flush=True)
    publishes = publish_times(db)
    print(", ".join(f"{p.seconds:.1f} s" for p in publishes), flush=True)
    return DerivedBench(setup_s, runs, publishes)
