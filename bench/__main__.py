"""`python -m bench`: run the baseline and our assets side by side; write bench/RESULTS.md.

Starts the sandbox as its own process with realistic latency, runs the plan's sequential loop
(a sample, extrapolated), resets the sandbox, runs our phases through the Dagster CLI into a
temporary warehouse, then the micro-measurements, then the full-history price backfill, a
kill-and-resume run and the storage measurements on the full history (`bench.backfill`),
and the derived assets over the whole history beside one query each (`bench.derived`).
Prints the report and writes it to --output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import date, datetime
from pathlib import Path

from bench.backfill import (
    BackfillBench,
    run_full_backfill,
    run_kill_and_resume,
    storage_at_scale,
)
from bench.baseline import (
    PlanKISClient,
    fetch_universe,
    run_aum_phase,
    run_tracking_phase,
)
from bench.derived import run_derived
from bench.measure import (
    Phase,
    SandboxCounter,
    count_rows,
    definitions_load,
    duckdb_write_s,
    machine,
    new_work_dir,
    parse_session_s,
    run_phase,
    week52_sql_s,
)
from bench.report import BaselineRun, BenchResults, Micro, OursRun, render
from etf_assets import settings
from etf_assets.partitions import (
    KST,
    kis_quote_session,
    last_completed_session,
    sessions_back,
    weekly_partitions,
)
from etf_assets.phases import PRICES_FINAL_AT
from etf_sandbox.localrun import REPO, prepare_dagster_home, sandbox_env, sandbox_process

HISTORY_SESSIONS = 260  # 365 calendar days for etf_52w, and 250 returns for tracking error
RESUME_SESSIONS = 500  # the kill-and-resume range: the newest two years, the biggest answers
LISTING = "krx_etf_list,etf_details"
KEPT_HEADING = "## Earlier measurements (kept from README)"
PRICES_AUM = "etf_daily_prices,etf_aum"
# What a day needs in one run: the listing, prices, AUM and 52-week phases of one session.
DAILY_REFRESH = "krx_etf_list,etf_details,etf_daily_prices,etf_aum,etf_52w"
UPSTREAM_PREFIXES = ("KIS_", "KRX_")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--latency-ms", type=int, default=30, help="sandbox latency per request")
    p.add_argument(
        "--baseline-every", type=int, default=4,
        help="run the baseline over every n-th ETF and extrapolate (1 = all ETFs, ~6 min)",
    )  # fmt: skip
    p.add_argument("--output", type=Path, default=REPO / "bench" / "RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary warehouse and logs")
    p.add_argument(
        "--backfill-pace", type=float, default=settings.KRX_REQUESTS_PER_SECOND,
        help="KRX_REQUESTS_PER_SECOND of the full-history backfill (default: the project's)",
    )  # fmt: skip
    p.add_argument("--no-backfill", action="store_true", help="skip the full-history backfill")
    return p.parse_args(argv)


def _env(url: str | None, work: Path, *, with_kis: bool = False) -> dict[str, str]:
    """A child's environment: the sandbox's upstreams (none at all without a URL), never the
    shell's own KRX_*/KIS_* settings; the bench's own instance and warehouse.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(UPSTREAM_PREFIXES)}
    upstreams = sandbox_env(url, with_kis=with_kis) if url else {}
    return {
        **base,
        **upstreams,
        "DAGSTER_HOME": str(prepare_dagster_home(work / "dagster_home")),
        "ETF_ASSETS_DUCKDB": str(work / "etf.duckdb"),
    }


def run_baseline(url: str, counter: SandboxCounter, every: int, session: date) -> BaselineRun:
    """The plan's loops over every `every`-th ETF of the sorted universe."""
    kis_env = sandbox_env(url, with_kis=True)
    counter.reset()
    started = time.monotonic()
    tickers = fetch_universe(url)
    listing = Phase("listing (universe)", time.monotonic() - started, counter.since_mark())
    sample = tickers[::every]
    client = PlanKISClient(url, kis_env["KIS_APP_KEY"], kis_env["KIS_APP_SECRET"])
    client.issue_token()
    print(f"  baseline: {len(sample)} of {len(tickers)} ETFs (every {every}th) …", flush=True)
    counter.mark()
    aum = run_aum_phase(client, sample)
    aum_seen = counter.since_mark()
    print(f"  baseline: AUM {aum.wall_s:.1f} s, {aum.calls} calls", flush=True)
    counter.mark()
    tracking = run_tracking_phase(client, sample, session)
    tracking_seen = counter.since_mark()
    print(f"  baseline: tracking {tracking.wall_s:.1f} s, {tracking.calls} calls", flush=True)
    return BaselineRun(
        universe=len(tickers),
        sample=len(sample),
        every=every,
        listing=listing,
        aum=Phase("AUM", aum.wall_s, aum_seen),
        tracking=Phase("tracking", tracking.wall_s, tracking_seen),
        failed_calls=len(aum.errors) + len(tracking.errors),
    )


def run_ours(url: str, counter: SandboxCounter, work: Path, session: date, week: str) -> OursRun:
    """Our phases through the CLI, in the order a fresh deployment runs them; then the daily
    refresh as one run (KRX only), once etf_52w has its year of prices."""
    krx_only, with_kis = _env(url, work), _env(url, work, with_kis=True)
    history = sessions_back(session, HISTORY_SESSIONS)
    day, week_key = ["--partition", session.isoformat()], ["--partition", week]
    year = ["--partition-range", f"{history[0]}...{session}"]

    def phase(name: str, select: str, args: list[str], env: dict[str, str] = krx_only) -> Phase:
        return run_phase(name, select, args, env, counter, work / "logs")

    counter.reset()
    ours = OursRun(
        listing=phase("listing", LISTING, day),
        prices_aum_krx=phase("prices + AUM, KRX only", PRICES_AUM, day),
        prices_aum_kis=phase("prices + AUM, with KIS", PRICES_AUM, day, with_kis),
        backfill=phase("one-year price backfill", "etf_daily_prices", year),
        week52=phase("52-week", "etf_52w", day),
        daily_refresh=phase("daily refresh, KRX only (one run)", DAILY_REFRESH, day),
        week_listing=phase("listing of the week's last session (setup)", LISTING, week_key),
        tracking=phase("tracking", "etf_holdings,etf_tracking_error", week_key),
        backfill_sessions=len(history),
    )
    ours.universe = count_rows(work / "etf.duckdb", "etf_aum", session)
    return ours


def run_micro(url: str, work: Path, session: date) -> Micro:
    """DuckDB writes, the etf_52w statement, the parser and the Definitions load."""
    print("  micro-measurements …", flush=True)
    db = work / "etf.duckdb"
    sql_s, sql_rows = week52_sql_s(db, session)
    parse_s, parse_rows = parse_session_s(url, session)
    load = definitions_load(_env(None, work), work / "logs")
    return Micro(
        write_1k_s=duckdb_write_s(db, 1_000, 5, work),
        write_250k_s=duckdb_write_s(db, 250_000, 3, work),
        definitions_load_s=load.wall_s,
        definitions_rss_mb=load.peak_rss_mb,
        week52_sql_s=sql_s,
        week52_rows=sql_rows,
        parse_session_s=parse_s,
        parse_session_rows=parse_rows,
        price_rows=count_rows(db, "etf_daily_prices"),
        load_average_end=" / ".join(f"{x:.2f}" for x in os.getloadavg()),
    )


def run_backfill(
    url: str, counter: SandboxCounter, work: Path, session: date, pace: float
) -> BackfillBench:
    """The full history into an empty warehouse, then a killed and resumed run into another;
    the storage and the derived assets measured on the full history."""
    full_env = {**_env(url, work / "full"), "KRX_REQUESTS_PER_SECOND": f"{pace:g}"}
    full = run_full_backfill(counter, full_env, session, work / "logs")
    resume_env = {**_env(url, work / "resume"), "KRX_REQUESTS_PER_SECOND": f"{pace:g}"}
    span = sessions_back(session, RESUME_SESSIONS)
    resume = run_kill_and_resume(counter, resume_env, (span[0], span[-1]), work / "logs")
    print("  storage at scale …", flush=True)
    storage = storage_at_scale(Path(full_env["ETF_ASSETS_DUCKDB"]), work)
    derived = run_derived(full_env, session, work / "logs")
    return BackfillBench(full, resume, storage, derived)


def kept_by_hand(results_file: Path) -> str:
    """The hand-kept section at the end of the existing results (`KEPT_HEADING` on), carried
    into the regenerated file so a re-run does not drop it."""
    if not results_file.exists():
        return ""
    text = results_file.read_text(encoding="utf-8")
    at = text.find(KEPT_HEADING)
    return "" if at < 0 else "\n" + text[at:]


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    started = time.monotonic()
    host = machine()
    now = datetime.now(KST)
    session = last_completed_session(now, PRICES_FINAL_AT)
    if kis_quote_session(now) is None:
        print(
            "bench: the market is open (09:00–15:30 KST): etf_aum skips KIS's intraday quotes, "
            "so the KIS phases will make no KIS request; run after 15:30 KST to measure them",
            flush=True,
        )
    week = str(weekly_partitions().get_last_partition_key())
    work = new_work_dir()
    (work / "logs").mkdir()
    print(f"bench: session {session}, week {week}, work dir {work}", flush=True)
    try:
        with sandbox_process(0, "--latency-ms", str(args.latency_ms)) as url:
            counter = SandboxCounter(url)
            baseline = run_baseline(url, counter, args.baseline_every, session)
            ours = run_ours(url, counter, work, session, week)
            micro = run_micro(url, work, session)
            backfill = (
                None
                if args.no_backfill
                else run_backfill(url, counter, work, session, args.backfill_pace)
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results = BenchResults(
        machine=host,
        latency_ms=args.latency_ms,
        krx_rps=sandbox_env("")["KRX_REQUESTS_PER_SECOND"],
        session=session,
        week=week,
        baseline=baseline,
        ours=ours,
        micro=micro,
        total_s=time.monotonic() - started,
        backfill=backfill,
    )
    text = render(results) + kept_by_hand(args.output)
    args.output.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
