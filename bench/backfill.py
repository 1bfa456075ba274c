"""The full-history price backfill, a kill-and-resume run, and the warehouse it leaves.

Each run is `dagster asset materialize --select etf_daily_prices --partition-range …` in its own
process against the sandbox process, as a user would type it. The pace is measured where the
requests arrive: the sandbox's first to last 04301 request. The kill is a SIGKILL of the CLI's
process group once the sandbox has answered a given share of the range, the harshest stop (no
`finally`, no rollback but DuckDB's own); the restarted run's requests, counted at the
sandbox, show what was fetched twice. Storage at scale times three typical backtest queries on
the full-history file, as written and with the alternatives that could make them faster.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from bench.derived import DerivedBench
from bench.measure import SandboxCounter, newest_run_times, run_measured
from etf_assets.assets.prices import WRITE_BATCH_SESSIONS
from etf_assets.partitions import CALENDAR_START, sessions_between
from etf_sandbox.localrun import REPO
from etf_sandbox.server import KRX_DATA_PATH

QUERY_REPEATS = 5
# The fund with the longest history (KODEX 200, listed on the first day) for "one fund".
LONGEST_LIVED_TICKER = "069500"


@dataclass
class BackfillRun:
    """One CLI run over a range of sessions into an empty warehouse."""

    command: str
    sessions: int
    requests: int  # 04301 requests the sandbox answered
    sandbox_window_s: float  # first → last 04301 request at the sandbox
    wall_s: float  # the CLI process
    in_run_s: float | None  # the Dagster run's start → end
    step_s: float | None  # the etf_daily_prices step alone
    pace_rps: float  # KRX_REQUESTS_PER_SECOND of the run
    peak_rss_mb: float
    rows: int
    file_mb: float
    partitions_logged: int  # sessions in etf_partition_log (rows or a note)
    empty_partitions: int

    @property
    def sandbox_rps(self) -> float:
        return (self.requests - 1) / self.sandbox_window_s if self.sandbox_window_s else 0.0

    @property
    def pace_share(self) -> float:
        return self.sandbox_rps / self.pace_rps


@dataclass
class ResumeRun:
    """A run killed part-way, then the same command again."""

    sessions: int
    killed_after_requests: int
    written_before_kill: int  # sessions committed when the process died
    first_requests: int
    second_requests: int
    second_wall_s: float
    complete: bool  # every session logged after the second run

    @property
    def fetched_twice(self) -> int:
        return self.first_requests + self.second_requests - self.sessions


@dataclass
class QueryTiming:
    name: str
    sql: str
    rows: int
    ms_by_layout: dict[str, float] = field(default_factory=dict)


@dataclass
class StorageAtScale:
    rows: int
    sessions: int
    tickers: int
    file_mb_by_layout: dict[str, float]
    queries: list[QueryTiming]
    index_build_s: float


def _price_requests(counter: SandboxCounter) -> tuple[int, list[float]]:
    stats = counter._stats()
    return int(stats["by_path"].get(KRX_DATA_PATH, 0)), stats["timestamps"].get("krx_data", [])


def _command(span: tuple[date, date]) -> list[str]:
    return [
        sys.executable, "-m", "dagster", "asset", "materialize", "-m", "etf_assets.definitions",
        "--select", "etf_daily_prices", "--partition-range", f"{span[0]}...{span[1]}",
    ]  # fmt: skip


def _logged(db: Path) -> tuple[int, int, int]:
    """(price rows, sessions logged, sessions logged empty)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT count(*) FROM etf_daily_prices").fetchone()
        logged = conn.execute(
            "SELECT count(*), count(*) FILTER (row_count = 0) FROM etf_partition_log_latest "
            "WHERE table_name = 'etf_daily_prices'"
        ).fetchone()
    assert rows is not None and logged is not None
    return int(rows[0]), int(logged[0]), int(logged[1])


def run_full_backfill(
    counter: SandboxCounter, env: dict[str, str], last_session: date, log_dir: Path
) -> BackfillRun:
    """Every session from the first ETF listing to `last_session`, one run, empty warehouse."""
    span = (CALENDAR_START, last_session)
    sessions = len(sessions_between(*span))
    print(f"  backfill: {sessions:,} sessions {span[0]}…{span[1]} …", end=" ", flush=True)
    before, seen_before = _price_requests(counter)
    usage = run_measured(_command(span), env, log_dir / "full_backfill.log")
    if usage.returncode != 0:
        tail = (log_dir / "full_backfill.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"full-history backfill exited {usage.returncode}:\n{tail}")
    after, seen = _price_requests(counter)
    arrivals = seen[len(seen_before) :]
    db = Path(env["ETF_ASSETS_DUCKDB"])
    rows, logged, empty = _logged(db)
    times = newest_run_times(Path(env["DAGSTER_HOME"]))
    run = BackfillRun(
        command=f"dagster asset materialize --select etf_daily_prices --partition-range "
        f"{span[0]}...{span[1]}",
        sessions=sessions,
        requests=after - before,
        sandbox_window_s=max(arrivals) - min(arrivals) if arrivals else 0.0,
        wall_s=usage.wall_s,
        in_run_s=times.in_run_s,
        step_s=times.step_s.get("etf_daily_prices"),
        pace_rps=float(env["KRX_REQUESTS_PER_SECOND"]),
        peak_rss_mb=usage.peak_rss_mb,
        rows=rows,
        file_mb=db.stat().st_size / 1e6,
        partitions_logged=logged,
        empty_partitions=empty,
    )
    print(f"{run.wall_s:.0f} s, {run.requests:,} requests, {run.sandbox_rps:.1f} req/s", flush=True)
    return run


def run_kill_and_resume(
    counter: SandboxCounter,
    env: dict[str, str],
    span: tuple[date, date],
    log_dir: Path,
    kill_share: float = 0.5,
) -> ResumeRun:
    """Kill a backfill of `span` once the sandbox has answered `kill_share` of its sessions;
    run it again to the end. `env` must point to an empty warehouse and instance."""
    sessions = len(sessions_between(*span))
    kill_at = int(sessions * kill_share)
    print(
        f"  kill and resume: {sessions:,} sessions, kill after {kill_at:,} …", end=" ", flush=True
    )
    before, _ = _price_requests(counter)
    with (log_dir / "killed_backfill.log").open("ab") as log:
        proc = subprocess.Popen(
            _command(span), env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            while proc.poll() is None and _price_requests(counter)[0] - before < kill_at:
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    time.sleep(0.5)  # requests already sent still arrive and count as fetched
    first = _price_requests(counter)[0] - before
    written = _logged(Path(env["ETF_ASSETS_DUCKDB"]))[1]
    before = first + before
    usage = run_measured(_command(span), env, log_dir / "resumed_backfill.log")
    second = _price_requests(counter)[0] - before
    complete = usage.returncode == 0 and _logged(Path(env["ETF_ASSETS_DUCKDB"]))[1] == sessions
    run = ResumeRun(sessions, kill_at, written, first, second, usage.wall_s, complete)
    print(f"{written:,} written before the kill, {run.fetched_twice} fetched twice", flush=True)
    return run


def _median_ms(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, int]:
    rows = len(conn.execute(sql).fetchall())  # warm: the file's blocks in DuckDB's cache
    samples = []
    for _ in range(QUERY_REPEATS):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), rows


def storage_at_scale(db: Path, work: Path) -> StorageAtScale:
    """File size and three typical backtest queries on the full-history warehouse, as written
    (sessions in date order), re-sorted by (ticker, trade_date), and with an index on ticker."""
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT trade_date), count(DISTINCT ticker), max(trade_date) "
            "FROM etf_daily_prices"
        ).fetchone()
    assert row is not None
    rows, sessions, tickers, newest = row
    queries = [
        QueryTiming(
            "one fund's whole history",
            "SELECT trade_date, close, nav, net_assets_krw FROM etf_daily_prices "
            f"WHERE ticker = '{LONGEST_LIVED_TICKER}' ORDER BY trade_date",
            0,
        ),
        QueryTiming(
            "the whole market on one day",
            f"SELECT * FROM etf_daily_prices WHERE trade_date = DATE '{newest}' ORDER BY ticker",
            0,
        ),
        QueryTiming(
            "a cross-section over the whole history: every fund on each month's last session",
            "SELECT trade_date, ticker, close, net_assets_krw FROM etf_daily_prices "
            "WHERE trade_date IN (SELECT max(trade_date) FROM etf_daily_prices "
            "GROUP BY date_trunc('month', trade_date))",
            0,
        ),
    ]
    copy = work / "layout.duckdb"

    def sorted_by_ticker(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(f"ATTACH '{db}' AS source (READ_ONLY)")
        conn.execute(
            "CREATE TABLE etf_daily_prices AS "
            "SELECT * FROM source.etf_daily_prices ORDER BY ticker, trade_date"
        )

    def ticker_index(conn: duckdb.DuckDBPyConnection) -> None:
        shutil.copy(db, copy)
        conn.execute(f"ATTACH '{copy}' AS copied")
        conn.execute("CREATE INDEX etf_daily_prices_ticker ON copied.etf_daily_prices (ticker)")

    layouts: dict[str, Callable[[duckdb.DuckDBPyConnection], None]] = {
        "as written (date order)": lambda conn: shutil.copy(db, copy),
        "re-sorted by ticker, trade_date (a new file)": sorted_by_ticker,
        "date order + ART index on ticker": ticker_index,
    }
    sizes: dict[str, float] = {}
    index_build_s = 0.0
    for name, build in layouts.items():
        with duckdb.connect() as conn:
            if build is sorted_by_ticker:
                conn.execute(f"ATTACH '{copy}' AS target")
                conn.execute("USE target")
            started = time.perf_counter()
            build(conn)
            if build is ticker_index:
                index_build_s = time.perf_counter() - started
        sizes[name] = copy.stat().st_size / 1e6
        with duckdb.connect(str(copy), read_only=True) as conn:
            for query in queries:
                query.ms_by_layout[name], query.rows = _median_ms(conn, query.sql)
        copy.unlink()
    return StorageAtScale(rows, sessions, tickers, sizes, queries, index_build_s)


@dataclass
class BackfillBench:
    full: BackfillRun
    resume: ResumeRun
    storage: StorageAtScale
    derived: DerivedBench
    batch_sessions: int = WRITE_BATCH_SESSIONS
