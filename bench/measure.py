"""Measurements of etf_assets itself: CLI phases, request counts at the sandbox, micro-timings.

Every phase runs as `python -m dagster asset materialize -m etf_assets.definitions …` in its own
process, as a user or CI would; its wall time and peak RSS come from `os.wait4` in a small
wrapper process (`bench.peak_rss`), its in-run time and each step's time from the Dagster
instance (the run record and the run's STEP_START/STEP_SUCCESS events). Requests are
counted where they arrive, at the sandbox (`GET /_sandbox/stats`), as the difference between two
snapshots: `/_sandbox/reset` also forgets KIS tokens and KRX logins, so it is used only before
the baseline and before our runs, not inside either.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import requests

from etf_assets.assets.prices import price_sessions
from etf_assets.metrics.week52 import WEEK52_SQL, week52_params
from etf_assets.parsing.krx import daily_prices_from_data_service
from etf_assets.partitions import KST
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import replace_partition, replace_partitions, set_query_options
from etf_sandbox.localrun import REPO

PACKAGES = ("dagster", "dagster-duckdb", "duckdb", "pandas", "numpy", "requests", "urllib3")


@dataclass
class Requests:
    """Requests the sandbox received during one phase (its admin calls excluded)."""

    total: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, dict[str, int]] = field(default_factory=dict)  # service → status → n
    kis_first_last_s: float | None = None  # from the first to the last KIS arrival

    @property
    def kis(self) -> int:
        return self.by_service.get("kis", 0)

    @property
    def kis_refused(self) -> int:
        """KIS answers other than 200 (HTTP 500 carries EGW00201, the rate-limit refusal)."""
        return sum(n for status, n in self.by_status.get("kis", {}).items() if status != "200")

    @property
    def kis_window_rps(self) -> float | None:
        """KIS arrivals per second between the first and the last (the limiter's pace)."""
        if not self.kis_first_last_s or self.kis < 2:
            return None
        return (self.kis - 1) / self.kis_first_last_s

    def scaled(self, factor: float) -> Requests:
        """Linear extrapolation (the baseline's sample to the whole universe)."""
        return Requests(
            total=round(self.total * factor),
            by_service={k: round(v * factor) for k, v in self.by_service.items()},
            by_status={
                service: {status: round(n * factor) for status, n in counts.items()}
                for service, counts in self.by_status.items()
            },
            kis_first_last_s=None,
        )


class SandboxCounter:
    """Counts requests at the sandbox between `mark()` and `since_mark()`."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._mark: dict[str, Any] = {}

    def _stats(self) -> dict[str, Any]:
        resp = requests.get(f"{self.url}/_sandbox/stats", timeout=30)
        resp.raise_for_status()
        return resp.json()

    def reset(self) -> None:
        """Forget everything (stats, tokens, logins, rate windows): a fresh sandbox."""
        requests.post(f"{self.url}/_sandbox/reset", timeout=30).raise_for_status()
        self._mark = self._stats()

    def mark(self) -> None:
        self._mark = self._stats()

    def since_mark(self) -> Requests:
        now, before = self._stats(), self._mark
        out = Requests()
        for service, count in now["by_service"].items():
            if service == "admin":
                continue
            delta = count - before.get("by_service", {}).get(service, 0)
            if delta:
                out.by_service[service] = delta
            for status, n in now["by_service_status"].get(service, {}).items():
                old = before.get("by_service_status", {}).get(service, {}).get(status, 0)
                if n - old:
                    out.by_status.setdefault(service, {})[status] = n - old
        out.total = sum(out.by_service.values())
        kis_seen = len(before.get("timestamps", {}).get("kis", []))
        kis_new = now["timestamps"].get("kis", [])[kis_seen:]
        if len(kis_new) >= 2:
            out.kis_first_last_s = max(kis_new) - min(kis_new)
        return out


@dataclass
class Phase:
    """One measured phase (ours: one CLI run; baseline: one loop)."""

    name: str
    wall_s: float
    requests: Requests
    peak_rss_mb: float | None = None
    command: str = ""
    in_run_s: float | None = None  # the Dagster run's own start → end, without process start
    step_s: dict[str, float] = field(default_factory=dict)  # step key → start → end, run order

    @property
    def rps(self) -> float:
        return self.requests.total / self.wall_s if self.wall_s else 0.0

    @property
    def steps(self) -> int | None:
        return len(self.step_s) if self.step_s else None


class MaterializeFailed(RuntimeError):
    """A `dagster asset materialize` run exited non-zero; the message holds its output tail."""


@dataclass
class Usage:
    """One child process: exit code, wall time and its own peak RSS."""

    returncode: int
    wall_s: float
    peak_rss_mb: float


def run_measured(command: list[str], env: dict[str, str], log_path: Path) -> Usage:
    """Run `command` under `python -m bench.peak_rss` (see there why), output to log_path."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out, log_path.open("ab") as log:
        subprocess.run(
            [sys.executable, "-m", "bench.peak_rss", out.name, *command],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
        result = json.loads(Path(out.name).read_text(encoding="utf-8"))
    return Usage(result["returncode"], result["wall_s"], result["peak_rss_kib"] / 1024)


def materialize(
    select: str, partition_args: list[str], env: dict[str, str], log_dir: Path
) -> tuple[Usage, str]:
    """Run the CLI once; its usage and the command as a user would type it."""
    command = [
        sys.executable, "-m", "dagster", "asset", "materialize",
        "-m", "etf_assets.definitions", "--select", select, *partition_args,
    ]  # fmt: skip
    shown = f"dagster asset materialize --select {select} {' '.join(partition_args)}"
    log_path = log_dir / f"{select.replace(',', '+')}.{time.monotonic_ns()}.log"
    usage = run_measured(command, env, log_path)
    if usage.returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise MaterializeFailed(f"{shown} exited {usage.returncode}:\n{tail}")
    return usage, shown


@dataclass
class RunTimes:
    """The newest run in the instance: its start → end, and each step's."""

    in_run_s: float | None
    step_s: dict[str, float]


STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}


def newest_run_times(dagster_home: Path) -> RunTimes:
    """Times of the newest run recorded in the instance (in-run None if it has no times).

    A step's time is from its STEP_START to its STEP_SUCCESS/FAILURE event: its op's body
    plus Dagster's handling of its outputs and events, not the gaps between steps.
    """
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        records = instance.get_run_records(limit=1)
        if not records:
            return RunTimes(None, {})
        events = instance.all_logs(records[0].dagster_run.run_id, of_type=STEP_EVENTS)
    finally:
        instance.dispose()
    started: dict[str, float] = {}
    step_s: dict[str, float] = {}
    for event in events:
        if event.step_key is None or event.dagster_event is None:
            continue
        if event.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = event.timestamp
        elif event.step_key in started:
            step_s[event.step_key] = event.timestamp - started[event.step_key]
    record = records[0]
    if record.start_time is None or record.end_time is None:
        return RunTimes(None, step_s)
    return RunTimes(record.end_time - record.start_time, step_s)


def run_phase(
    name: str,
    select: str,
    partition_args: list[str],
    env: dict[str, str],
    counter: SandboxCounter,
    log_dir: Path,
) -> Phase:
    """One of our phases through the CLI, with the requests the sandbox saw meanwhile."""
    print(f"  ours: {name} …", end=" ", flush=True)
    counter.mark()
    usage, shown = materialize(select, partition_args, env, log_dir)
    requests_seen = counter.since_mark()
    times = newest_run_times(Path(env["DAGSTER_HOME"]))
    phase = Phase(
        name, usage.wall_s, requests_seen, usage.peak_rss_mb, shown, times.in_run_s, times.step_s
    )
    print(f"{usage.wall_s:.1f} s, {phase.requests.total} requests", flush=True)
    return phase


# ---- micro-measurements -------------------------------------------------------------------


def _median_s(samples: list[float]) -> float:
    return statistics.median(samples)


def duckdb_write_s(source_db: Path, rows: int, repeats: int, work_dir: Path) -> float:
    """Median seconds of replace_partition(s) of `rows` real price rows into a fresh file.

    Timed: the one transaction (DELETE + INSERT + partition log) and closing the connection
    (DuckDB's checkpoint), as an asset body does through `warehouse()`.
    """
    with duckdb.connect(str(source_db), read_only=True) as src:
        frame = src.execute(
            f"SELECT * FROM etf_daily_prices ORDER BY trade_date DESC, ticker LIMIT {rows}"
        ).df()
    if len(frame) < rows:
        raise RuntimeError(f"{source_db} holds only {len(frame)} price rows, {rows} needed")
    dates = sorted(set(pd.to_datetime(frame["trade_date"]).dt.date))
    samples = []
    for i in range(repeats):
        path = work_dir / f"write_{rows}_{i}.duckdb"
        conn = duckdb.connect(str(path))
        ensure_schema(conn)
        started = time.perf_counter()
        if len(dates) == 1:
            replace_partition(conn, "etf_daily_prices", dates[0], frame)
        else:
            replace_partitions(conn, "etf_daily_prices", dates, frame)
        conn.close()
        samples.append(time.perf_counter() - started)
        path.unlink()
    return _median_s(samples)


def definitions_load(env: dict[str, str], log_dir: Path, repeats: int = 5) -> Usage:
    """Median wall time and peak RSS of fresh `python -c "import etf_assets.definitions"`."""
    command = [sys.executable, "-c", "import etf_assets.definitions"]
    runs = [run_measured(command, env, log_dir / "definitions_load.log") for _ in range(repeats)]
    failed = [u.returncode for u in runs if u.returncode]
    if failed:
        raise RuntimeError(f"import etf_assets.definitions failed (exit {failed[0]})")
    return Usage(
        0, _median_s([u.wall_s for u in runs]), statistics.median(u.peak_rss_mb for u in runs)
    )


def week52_sql_s(db: Path, trade_date: date, repeats: int = 5) -> tuple[float, int]:
    """Median seconds of the etf_52w statement alone for every ETF, and its row count."""
    samples, rows = [], 0
    with duckdb.connect(str(db), read_only=True) as conn:
        set_query_options(conn)
        params = week52_params([trade_date], price_sessions(conn))
        conn.execute(WEEK52_SQL, params).df()  # warm the file cache once
        for _ in range(repeats):
            started = time.perf_counter()
            rows = len(conn.execute(WEEK52_SQL, params).df())
            samples.append(time.perf_counter() - started)
    return _median_s(samples), rows


def parse_session_s(url: str, trade_date: date, repeats: int = 20) -> tuple[float, int]:
    """Median seconds to parse one session's 04301 answer (the backfill's CPU cost per session,
    network excluded), and its row count."""
    rows = KRXClient(data_url=url, openapi_url=url).fetch_daily_prices(trade_date)
    daily_prices_from_data_service(rows, trade_date)  # warm up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        daily_prices_from_data_service(rows, trade_date)
        samples.append(time.perf_counter() - started)
    return _median_s(samples), len(rows)


def count_rows(db: Path, table: str, trade_date: date | None = None) -> int:
    """Rows of a table, or of one trade date of it."""
    where, params = ("WHERE trade_date = ?", [trade_date]) if trade_date else ("", [])
    with duckdb.connect(str(db), read_only=True) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table} {where}", params).fetchone()[0])


def new_work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="etf_assets_bench_"))


# ---- the machine --------------------------------------------------------------------------


def _proc_field(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.split(":")[0].strip() == name:
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def machine() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python and package versions, load and the date."""
    mem_kb = _proc_field("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 1024**2:.1f} GiB" if mem_kb else "unknown"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    load = os.getloadavg()
    now = datetime.now(KST)
    return {
        "date": f"{now:%Y-%m-%d %H:%M} KST ({datetime.now().astimezone():%Y-%m-%d %H:%M %Z})",
        "CPU": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "packages": ", ".join(versions),
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in load),
    }
