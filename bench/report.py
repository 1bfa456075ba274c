"""Render one bench run as markdown (bench/RESULTS.md and stdout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bench.backfill import BackfillBench
from bench.baseline import AUM_SLEEP_S, PLAN_ESTIMATE_ETFS, PLAN_ESTIMATE_S, TRACKING_SLEEP_S
from bench.measure import Phase, Requests
from etf_assets.resources.kis import RATE_HEADROOM

KIS_LIMIT_RPS = 18.0
GOAL_SPEEDUP = 15.0
GOAL_KIS_SHARE = 0.90
GOAL_DAILY_REFRESH_S = 11.5
GOAL_BACKFILL_PACE_SHARE = 0.90
GOAL_BACKFILL_RSS_MB = 1024.0
GOAL_DERIVED_RATIO = 5.0  # a derived asset's range run within 5× of its single query
GOAL_DERIVED_S = 60.0
GOAL_DERIVED_DAILY_REFRESH_S = 5.6  # the daily refresh before the derived assets went set-based
KIS_NOT_MEASURED = "not measured (market open)"


@dataclass
class BaselineRun:
    """The plan's loops over a deterministic sample (every n-th ETF of the sorted universe)."""

    universe: int
    sample: int
    every: int
    listing: Phase
    aum: Phase
    tracking: Phase
    failed_calls: int

    @property
    def factor(self) -> float:
        return self.universe / self.sample if self.sample else 1.0

    def extrapolated(self, phase: Phase) -> Phase:
        """A sampled phase scaled linearly to the whole universe (the loop is sequential)."""
        return Phase(phase.name, phase.wall_s * self.factor, phase.requests.scaled(self.factor))


@dataclass
class OursRun:
    """Our phases, each one `dagster asset materialize` run."""

    listing: Phase
    prices_aum_krx: Phase
    prices_aum_kis: Phase
    backfill: Phase
    week52: Phase
    week_listing: Phase  # etf_holdings needs etf_details on or before the week's last session
    tracking: Phase
    daily_refresh: Phase  # listing, prices, AUM and 52-week of one session in one run
    backfill_sessions: int
    universe: int = 0  # ETFs in etf_aum for the session


@dataclass
class Micro:
    """Measurements outside the phases."""

    write_1k_s: float
    write_250k_s: float
    definitions_load_s: float
    definitions_rss_mb: float
    week52_sql_s: float
    week52_rows: int
    parse_session_s: float
    parse_session_rows: int
    price_rows: int
    load_average_end: str


@dataclass
class BenchResults:
    machine: dict[str, str]
    latency_ms: int
    krx_rps: str
    session: date
    week: str
    baseline: BaselineRun
    ours: OursRun
    micro: Micro
    total_s: float
    backfill: BackfillBench | None = None


def _total(name: str, phases: list[Phase]) -> Phase:
    requests = Requests(total=sum(p.requests.total for p in phases))
    return Phase(name, sum(p.wall_s for p in phases), requests)


def _n(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def _cells(phase: Phase | None) -> list[str]:
    if phase is None:
        return ["—", "—", "—"]
    return [_n(phase.requests.total), _n(phase.wall_s), _n(phase.rps)]


def _ratio(a: Phase | None, b: Phase) -> str:
    if a is None or not b.wall_s:
        return "—"
    ratio = a.wall_s / b.wall_s
    return f"{ratio:.1f}×" if ratio >= 0.1 else f"{ratio:.2f}×"


def _table(header: list[str], rows: list[list[str]], numeric: bool = True) -> list[str]:
    """A markdown table; columns after the first are right-aligned when `numeric`."""
    align = ["---:" if i and numeric else "---" for i in range(len(header))]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _services(r: Requests) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(r.by_service.items())) or "—"


def _statuses(r: Requests) -> str:
    """E.g. "kis 200: 1,073, 500: 3; krx_data 200: 5"."""
    parts = [
        f"{service} " + ", ".join(f"{status}: {n:,}" for status, n in sorted(counts.items()))
        for service, counts in sorted(r.by_status.items())
    ]
    return "; ".join(parts) or "—"


@dataclass
class _Totals:
    """The figures several sections share."""

    b_listing: Phase
    b_aum: Phase
    b_tracking: Phase
    b_total: Phase
    krx: Phase
    kis: Phase

    @property
    def speedup_krx(self) -> float:
        return self.b_total.wall_s / self.krx.wall_s

    @property
    def speedup_kis(self) -> float:
        return self.b_total.wall_s / self.kis.wall_s


def _totals(res: BenchResults) -> _Totals:
    b, o = res.baseline, res.ours
    b_aum, b_tracking = b.extrapolated(b.aum), b.extrapolated(b.tracking)
    shared = [o.listing, o.week52, o.tracking]
    return _Totals(
        b_listing=b.listing,
        b_aum=b_aum,
        b_tracking=b_tracking,
        b_total=_total("total", [b.listing, b_aum, b_tracking]),
        krx=_total("total", [*shared, o.prices_aum_krx]),
        kis=_total("total", [*shared, o.prices_aum_kis]),
    )


def _in_run(res: BenchResults, prices_aum: Phase) -> float:
    """Our total as the sum of in-run times (wall time where a run has no record)."""
    o = res.ours
    phases = [o.listing, prices_aum, o.week52, o.tracking]
    return sum(p.in_run_s if p.in_run_s is not None else p.wall_s for p in phases)


def _setup(res: BenchResults) -> list[str]:
    return [
        "# Benchmarks: the plan's approach vs etf_assets",
        "",
        f"`make bench` (`python -m bench`), {res.machine['date']}. Session {res.session} "
        f"(weekly partition {res.week}). Whole run {res.total_s / 60:.1f} min.",
        "",
        "Both sides run against the same sandbox process (`python -m etf_sandbox "
        f"--latency-ms {res.latency_ms}`) on 127.0.0.1, with the real rate limits: KIS "
        f"{KIS_LIMIT_RPS:.0f} req/s per app key (EGW00201 above), KRX data service blocked above "
        f"50 req/s. Our KRX pace is {res.krx_rps} req/s (`KRX_REQUESTS_PER_SECOND`), KIS is "
        f"paced at {RATE_HEADROOM:.0%} of 18 req/s. Requests are counted at the sandbox "
        "(`/_sandbox/stats`, before/after each phase; `/_sandbox/reset` before the baseline and "
        "before our runs).",
        "",
        "## Machine",
        "",
        *_table(["", ""], [[k, v] for k, v in res.machine.items()], numeric=False),
        "",
    ]


def _side_by_side(res: BenchResults, t: _Totals) -> list[str]:
    b, o = res.baseline, res.ours
    header = ["phase", "(a) requests", "(a) wall s", "(a) req/s"]
    header += ["(b) requests", "(b) wall s", "(b) req/s", "(a)/(b)"]
    pairs: list[tuple[str, Phase | None, Phase]] = [
        ("listing", t.b_listing, o.listing),
        ("prices + AUM, KRX only", t.b_aum, o.prices_aum_krx),
        ("prices + AUM, with KIS", t.b_aum, o.prices_aum_kis),
        ("52-week", None, o.week52),
        ("tracking", t.b_tracking, o.tracking),
        ("**total, KRX only**", t.b_total, t.krx),
        ("**total, with KIS**", t.b_total, t.kis),
    ]
    rows = [[name, *_cells(a), *_cells(ours), _ratio(a, ours)] for name, a, ours in pairs]
    backfill = f"one-year price backfill ({o.backfill_sessions} sessions; not in the totals)"
    rows.append([backfill, *_cells(None), *_cells(o.backfill), "—"])
    return [
        "## Side by side",
        "",
        "(a) = the plan's sequential KIS loop with plain `requests` (one token up front; AUM: "
        f"inquire-price + {AUM_SLEEP_S * 1000:.0f} ms per ETF; tracking: inquire-price, "
        "nav-comparison-daily-trend, inquire-component-stock-price + "
        f"{TRACKING_SLEEP_S * 1000:.0f} ms per ETF), **run over every {b.every}th ETF "
        f"({b.sample} of {b.universe}) and extrapolated linearly to all {b.universe}**. "
        f"(b) = our assets through `dagster asset materialize`, every ETF ({o.universe} priced "
        "on the session). Wall times of (b) include starting the CLI process and loading "
        "Definitions. (a)/(b) is the ratio of wall times.",
        "",
        *_table(header, rows),
        "",
        "The baseline's listing line is its one KRX master request for the universe; the plan "
        "had no 52-week phase of its own and no price history at all. Listing, 52-week and "
        "tracking do not call KIS (holdings fall back to KIS only for ETFs whose KRX PDF "
        "failed), so they are measured once and count in both of our totals.",
        "",
    ]


def _met(ok: bool, measured: bool = True) -> str:
    """A goal's verdict; KIS goals cannot be judged from a run that made no KIS request."""
    if not measured:
        return KIS_NOT_MEASURED
    return "yes" if ok else "**no**"


def _goals(res: BenchResults, t: _Totals) -> list[str]:
    kis_phase, daily = res.ours.prices_aum_kis, res.ours.daily_refresh
    kis_rps = kis_phase.requests.kis_window_rps or 0.0
    kis_measured = kis_phase.requests.kis > 0
    krx_ok, kis_ok = t.speedup_krx >= GOAL_SPEEDUP, t.speedup_kis >= GOAL_SPEEDUP
    speed_met = (
        "yes"
        if krx_ok and kis_ok and kis_measured
        else f"KRX only: {_met(krx_ok)}; with KIS: {_met(kis_ok, kis_measured)}"
    )
    rate = (
        f"{kis_rps:.2f} req/s from the first to the last KIS request ({kis_rps / KIS_LIMIT_RPS:.0%}"
        f"); the whole phase, CLI start included, {kis_phase.rps:.1f} req/s "
        f"({kis_phase.rps / KIS_LIMIT_RPS:.0%})"
        if kis_measured
        else "no KIS request: the bench ran while the market was open (09:00–15:30 KST), when "
        "etf_aum rightly skips KIS's intraday quotes; run it after 15:30 KST"
    )
    in_run_krx, in_run_kis = _in_run(res, res.ours.prices_aum_krx), _in_run(res, kis_phase)
    note = [
        "",
        "Without process start-up (the sum of our runs' *in-run* times, see below): KRX only "
        f"{in_run_krx:.1f} s ({t.b_total.wall_s / in_run_krx:.1f}×), with KIS {in_run_kis:.1f} s "
        f"({t.b_total.wall_s / in_run_kis:.1f}×).",
    ]
    rows = [
        [
            f"total ≥ {GOAL_SPEEDUP:.0f}× faster than the baseline",
            f"KRX only {t.speedup_krx:.1f}×, with KIS {t.speedup_kis:.1f}×",
            speed_met,
        ],
        [
            f"KIS phases ≥ {GOAL_KIS_SHARE:.0%} of {KIS_LIMIT_RPS:.0f} req/s",
            rate,
            _met(kis_rps >= GOAL_KIS_SHARE * KIS_LIMIT_RPS, kis_measured),
        ],
        [
            f"daily refresh (listing, prices, AUM, 52-week; one run, KRX only) ≤ "
            f"{GOAL_DAILY_REFRESH_S} s",
            f"{daily.wall_s:.1f} s ({_n(daily.in_run_s)} s in-run, {_n(daily.steps)} steps)",
            _met(daily.wall_s <= GOAL_DAILY_REFRESH_S),
        ],
    ]
    return [
        "## Goals",
        "",
        *_table(["goal", "measured", "met"], rows, numeric=False),
        *note,
        "",
        *_where_time_goes(res, t),
    ]


def _where_time_goes(res: BenchResults, t: _Totals) -> list[str]:
    """Lower bounds of our phases, from their request counts and paces."""
    o = res.ours
    phases = [o.listing, o.prices_aum_krx, o.week52, o.tracking]
    startup = sum(p.wall_s - p.in_run_s for p in phases if p.in_run_s is not None)
    krx_rps = float(res.krx_rps)
    pdfs = o.tracking.requests.by_service.get("krx_data", 0)
    kis = o.prices_aum_kis.requests
    kis_pace = KIS_LIMIT_RPS * RATE_HEADROOM
    refused = (
        f"KIS answered {kis.kis_refused:,} of them with HTTP 500 (EGW00201: more than 18 arrived "
        "within one second at the gateway), and the client retried them"
        if kis.kis_refused
        else "KIS refused none of them"
    )
    return [
        "Where our time goes:",
        "",
        f"- Process start-up (Python, Dagster, Definitions) is {startup:.1f} s of the "
        f"{t.krx.wall_s:.1f} s KRX-only total: four CLI runs, one per phase.",
        f"- Tracking: holdings are one KRX PDF request per ETF; {pdfs:,} KRX requests at "
        f"{krx_rps:.0f} req/s need at least {pdfs / krx_rps:.1f} s (in-run "
        f"{_n(o.tracking.in_run_s)} s).",
        f"- With KIS: {kis.kis:,} KIS requests at {kis_pace:.1f} req/s need at least "
        f"{kis.kis / kis_pace:.1f} s (in-run {_n(o.prices_aum_kis.in_run_s)} s); {refused}."
        if kis.kis
        else f"- With KIS: {KIS_NOT_MEASURED}, see the goals.",
        "",
    ]


def _baseline_detail(res: BenchResults) -> list[str]:
    b = res.baseline
    header = ["phase", "ETFs run", "requests", "wall s", "req/s"]
    header += [f"× {b.factor:.3f} → requests", "→ wall s", "statuses"]
    rows = [
        ["listing (universe)", "—", *_cells(b.listing), "—", "—", _statuses(b.listing.requests)]
    ]
    for p in (b.aum, b.tracking):
        scaled = b.extrapolated(p)
        rows.append(
            [p.name, _n(b.sample), *_cells(p), _n(scaled.requests.total), _n(scaled.wall_s),
             _statuses(p.requests)]
        )  # fmt: skip
    return [
        "## Baseline: measured sample and extrapolation",
        "",
        f"The plan estimated ~{PLAN_ESTIMATE_S:.0f} s for {PLAN_ESTIMATE_ETFS:,} ETFs. KIS "
        f"calls that failed in the sample: {b.failed_calls}. The token issue (1 request) is "
        "made before the phases and not counted in them.",
        "",
        *_table(header, rows),
        "",
    ]


def _ours_detail(res: BenchResults) -> list[str]:
    o = res.ours
    header = ["phase", "command", "requests by upstream", "statuses", "wall s", "in-run s"]
    header += ["steps", "req/s", "KIS req/s (first→last)", "peak RSS MB"]
    phases = (
        o.listing, o.prices_aum_krx, o.prices_aum_kis, o.backfill, o.week52, o.week_listing,
        o.tracking, o.daily_refresh,
    )  # fmt: skip
    rows = [
        [p.name, f"`{p.command}`", _services(p.requests), _statuses(p.requests),
         _n(p.wall_s), _n(p.in_run_s), _n(p.steps), _n(p.rps), _n(p.requests.kis_window_rps, 2),
         _n(p.peak_rss_mb, 0)]
        for p in phases
    ]  # fmt: skip
    note = (
        "*wall s* is the whole CLI process; *in-run s* is the Dagster run's own start → end from "
        "the instance's run record, i.e. without starting Python, importing Dagster and loading "
        "Definitions; *steps* counts the run's steps (one per asset, one per table's checks). "
        "The tracking phase targets the weekly partition (the week's last session); etf_holdings "
        "reads that day's etf_details, so the listing of that session is materialized first as "
        "setup (as the Friday 09:00 listing schedule would have), outside the totals. The daily "
        "refresh runs last, over the session the phases before it wrote (a re-run replaces "
        "the same partitions), and is not in the totals."
    )
    return ["## Ours: every CLI run", "", *_table(header, rows), "", note, ""]


def _daily_refresh(res: BenchResults) -> list[str]:
    """Where the daily refresh's time goes: start-up, each step, and Dagster between steps."""
    daily = res.ours.daily_refresh
    if daily.in_run_s is None:
        return []
    in_steps = sum(daily.step_s.values())
    rows = [[f"`{key}`", f"{seconds:.2f}"] for key, seconds in daily.step_s.items()]
    return [
        "## The daily refresh, step by step",
        "",
        f"`{daily.command}`: {daily.wall_s:.1f} s wall = {daily.wall_s - daily.in_run_s:.1f} s "
        f"process start-up and exit (Python, Dagster, Definitions, the instance) + "
        f"{daily.in_run_s:.1f} s in-run. In the run, its {daily.steps} steps take "
        f"{in_steps:.1f} s (STEP_START → STEP_SUCCESS, in run order below); the other "
        f"{daily.in_run_s - in_steps:.1f} s is Dagster between steps.",
        "",
        *_table(["step", "s"], rows),
        "",
    ]


def _other(res: BenchResults) -> list[str]:
    m, o = res.micro, res.ours
    runs = [
        o.listing, o.prices_aum_krx, o.prices_aum_kis, o.backfill, o.week52, o.tracking,
        o.daily_refresh,
    ]  # fmt: skip
    biggest = max(runs, key=lambda p: p.peak_rss_mb or 0)
    rows = [
        ["DuckDB write, 1,000 rows (replace_partition: transaction + close; median of 5)",
         f"{m.write_1k_s * 1000:,.0f} ms"],
        ["DuckDB write, 250,000 rows (replace_partitions: transaction + close; median of 3)",
         f"{m.write_250k_s * 1000:,.0f} ms"],
        ['Definitions load (fresh `python -c "import etf_assets.definitions"`; median of 5)',
         f"{m.definitions_load_s:.2f} s"],
        ["peak RSS of that import (median of 5)", f"{m.definitions_rss_mb:,.0f} MB"],
        [f"etf_52w SQL alone: all {m.week52_rows:,} ETFs over {m.price_rows:,} price rows "
         "(median of 5)", f"{m.week52_sql_s * 1000:,.0f} ms"],
        [f"parse one session's 04301 answer ({m.parse_session_rows:,} rows; median of 20)",
         f"{m.parse_session_s * 1000:,.1f} ms"],
        [f"peak RSS, largest CLI run ({biggest.name})", f"{biggest.peak_rss_mb or 0:,.0f} MB"],
        ["load average at the end (1/5/15 min)", m.load_average_end],
    ]  # fmt: skip
    return ["## Other measurements", "", *_table(["what", "value"], rows), ""]


def _backfill(res: BenchResults) -> list[str]:
    if res.backfill is None:
        return []
    full, resume, storage = res.backfill.full, res.backfill.resume, res.backfill.storage
    met = full.pace_share >= GOAL_BACKFILL_PACE_SHARE and full.peak_rss_mb < GOAL_BACKFILL_RSS_MB
    rows = [
        ["command", f"`{full.command}` (one run)"],
        ["sessions (partitions)", _n(full.sessions)],
        ["04301 requests at the sandbox", _n(full.requests)],
        ["partitions logged (rows or a note) / of them empty with a note",
         f"{full.partitions_logged:,} / {full.empty_partitions:,}"],
        ["price rows", _n(full.rows)],
        ["DuckDB file", f"{full.file_mb:,.0f} MB"],
        ["wall time, CLI process", f"{full.wall_s:,.0f} s"],
        ["in-run (Dagster run start → end) / the etf_daily_prices step",
         f"{_n(full.in_run_s, 0)} s / {_n(full.step_s, 0)} s"],
        ["first → last request at the sandbox", f"{full.sandbox_window_s:,.0f} s"],
        ["req/s at the sandbox / pace (`KRX_REQUESTS_PER_SECOND`)",
         f"{full.sandbox_rps:.1f} / {full.pace_rps:g} = **{full.pace_share:.0%}**"],
        ["peak RSS of the run's process", f"**{full.peak_rss_mb:,.0f} MB**"],
        [f"goal: ≥ {GOAL_BACKFILL_PACE_SHARE:.0%} of the pace, peak RSS < 1 GB",
         _met(met)],
    ]  # fmt: skip
    resume_rows = [
        ["sessions in the range", _n(resume.sessions)],
        ["SIGKILL after the sandbox answered", f"{resume.killed_after_requests:,} requests"],
        ["sessions committed before the kill", _n(resume.written_before_kill)],
        ["requests: killed run + resumed run", f"{resume.first_requests:,} + "
         f"{resume.second_requests:,}"],
        ["fetched twice (limit: one batch)",
         f"**{resume.fetched_twice:,}** (≤ {res.backfill.batch_sessions})"],
        ["resumed run: wall time, every session logged",
         f"{resume.second_wall_s:,.0f} s, {_met(resume.complete)}"],
    ]  # fmt: skip
    layouts = list(storage.file_mb_by_layout)
    query_rows = [
        [f"{q.name} ({q.rows:,} rows)", *(f"{q.ms_by_layout[name]:,.1f}" for name in layouts)]
        for q in storage.queries
    ]
    query_rows.append(["file size, MB", *(f"{storage.file_mb_by_layout[n]:,.0f}" for n in layouts)])
    return [
        "## The full-history price backfill",
        "",
        f"Into an empty warehouse and instance, at {full.pace_rps:g} req/s. The pace is the "
        "sandbox's count of 04301 requests from its first to its last arrival; wall and in-run "
        "times also hold Dagster's own bookkeeping of a range run (planning the run, one "
        "materialization event per partition as its batch lands, one more per partition for "
        "the run's result).",
        "",
        *_table(["what", "value"], rows),
        "",
        "### Kill and resume",
        "",
        "The same command over a shorter range into a fresh warehouse, killed with SIGKILL "
        "(its whole process group) part-way, then run again to the end. Requests are counted "
        "at the sandbox.",
        "",
        *_table(["what", "value"], resume_rows),
        "",
        "### Storage at scale",
        "",
        f"The full-history warehouse: {storage.rows:,} price rows, {storage.sessions:,} sessions, "
        f"{storage.tickers:,} tickers. Median of {5} warm runs in ms, read-only connection; each "
        "layout on a copy of the file (the ART index took "
        f"{storage.index_build_s:.1f} s to build).",
        "",
        *_table(["query", *layouts], query_rows),
        "",
        *(f"- {q.name}: `{q.sql}`" for q in storage.queries),
        "",
    ]


def _derived(res: BenchResults) -> list[str]:
    if res.backfill is None:
        return []
    derived, daily = res.backfill.derived, res.ours.daily_refresh
    header = ["asset", "partitions", "rows", "wall s", "in-run s", "step s", "checks s"]
    header += ["compute s"]
    header += ["peak RSS MB", "limit s", "in-run / limit", "compute / limit", "goal met"]
    rows = []
    for r in derived.runs:
        met = (
            r.ratio is not None
            and r.ratio <= GOAL_DERIVED_RATIO
            and (r.in_run_s or 0) < GOAL_DERIVED_S
            and r.peak_rss_mb < GOAL_BACKFILL_RSS_MB
        )
        rows.append(
            [f"`{r.asset}`", _n(r.partitions), _n(r.rows), _n(r.wall_s), _n(r.in_run_s),
             _n(r.step_s), _n(r.checks_s), _n(r.compute_s), _n(r.peak_rss_mb, 0), _n(r.limit_s, 2),
             f"{r.ratio:.1f}×" if r.ratio else "—",
             f"{r.compute_ratio:.1f}×" if r.compute_ratio else "—", _met(met)]
        )  # fmt: skip
    setup = ", ".join(f"`{select}` {seconds:,.0f} s" for select, seconds in derived.setup_s.items())
    published = derived.publishes[-1] if derived.publishes else None
    publish_times = ", ".join(f"{p.seconds:.1f} s" for p in derived.publishes)
    return [
        "### Derived assets over the whole history",
        "",
        "On the full-history warehouse above, after its setup (the listing of the session and "
        f"every month of payouts: {setup}), each derived asset runs once over its whole range "
        "(`dagster asset materialize --select <asset> --partition-range <first>...<last>`; "
        "etf_tracking_error over every week). *compute s* is the asset's own computing and "
        "writing (its `compute_s`: the set-based statement, a batch of sessions per "
        "transaction); *step s* adds Dagster's one materialization event per partition; "
        "*in-run s* is the whole run. *limit s* is the same statement computing every "
        "partition's figures as ONE query into a temporary table (no batches, no table "
        "writes, no Dagster), on a read-only connection right after the run. Goal: in-run "
        f"within {GOAL_DERIVED_RATIO:.0f}× of the limit, under {GOAL_DERIVED_S:.0f} s, peak "
        "RSS < 1 GB.",
        "",
        *_table(header, rows),
        "",
        f"The daily refresh (one session, listing to 52-week) took {daily.wall_s:.1f} s wall "
        f"({_n(daily.in_run_s)} s in-run) in this run; before the derived assets went "
        f"set-based it took {GOAL_DERIVED_DAILY_REFRESH_S} s: "
        f"{_met(daily.wall_s <= GOAL_DERIVED_DAILY_REFRESH_S)} (not slower).",
        "",
        *(
            [
                f"`make publish` of this warehouse, after the derived runs, "
                f"{len(derived.publishes)} times: {publish_times} (a "
                f"{published.size_bytes / 1e6:,.1f} MB snapshot, {published.tables} tables, "
                f"{published.views} views, written and renamed into place).",
                "",
            ]
            if published
            else []
        ),
    ]


def render(res: BenchResults) -> str:
    """The whole report, markdown."""
    t = _totals(res)
    sections = [
        _setup(res),
        _side_by_side(res, t),
        _goals(res, t),
        _baseline_detail(res),
        _ours_detail(res),
        _daily_refresh(res),
        _other(res),
        _backfill(res),
        _derived(res),
    ]
    return "\n".join(line for section in sections for line in section)
