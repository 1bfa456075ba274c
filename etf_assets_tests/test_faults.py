"""Fault injection, end to end: real Dagster runs against a sandbox that misbehaves on request.

Why a suite of its own: the client tests prove each transport rule in isolation; what matters to
someone running the warehouse is the outcome of a whole run under a fault. For every fault the
run either completes with exactly the data a clean run stores, or fails with a message that says
what to do — and in both cases no stored row is lost or duplicated. "Exactly" is measured by a
digest of each table's sorted rows, taken before and after, or against a clean baseline run.

Every test here gets its own copy of a baseline warehouse, and the module owns its sandbox
(faults set on them can never reach the shared session `sandbox` of other modules). A small
market (80 ETFs) keeps the whole module well under a minute: faults do not depend on size.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import PricesConfig, etf_daily_prices
from etf_assets.partitions import KST, sessions_back
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import LOGIN_POST_PATH, SCREEN_DAILY, SCREEN_MASTER, SCREEN_PDF
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partition
from etf_assets_tests.helpers import (
    AS_OF,
    copy_warehouse,
    failure_text,
    krx_client,
    materialize,
    materialize_with_checks,
    resources,
)
from etf_sandbox import kis_routes, krx_routes
from etf_sandbox.server import Faults, Sandbox, SandboxConfig, start_sandbox

pytestmark = pytest.mark.faults

MARKET_ETFS = 80  # KIS answers one ETF per request: a small market keeps KIS runs short
SESSIONS = sessions_back(AS_OF, 6)  # a short range: enough for faults to land mid-run
# The baseline holds final answers, which a range run would skip: these runs must fetch.
REFETCH = {"ops": {"etf_daily_prices": {"config": {"refetch_final": True}}}}
PARTITION = AS_OF.isoformat()
KRX_ACCOUNT, KRX_PASSWORD = next(iter(SandboxConfig().krx_accounts.items()))
KIS_KEY, (KIS_SECRET, _) = next(
    (k, v) for k, v in SandboxConfig().kis_apps.items() if v[1] == "real"
)
VOLATILE_COLUMNS = ("fetched_at",)  # krx_etf_list stamps the fetch time: differs per run

Digest = dict[str, tuple[int, str]]


# ---- sandbox scripting ------------------------------------------------------------------------


class ScriptedFaults(Faults):
    """The sandbox's fault table, plus arrival counts and faults armed after the n-th request.

    `every_nth` is consulted exactly once per upstream request on arrival, which makes it the
    place to count requests (the stats only record a timed-out request when its sleep ends)
    and to arm a fault "mid-run" deterministically: the n-th request of a service is the first
    to see it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: Counter[str] = Counter()
        self._armed: list[tuple[str, int, dict[str, Any]]] = []
        self._arrivals_lock = threading.Lock()  # request threads arrive concurrently

    def arm_after(self, service: str, n: int, **settings: Any) -> None:
        """Set `settings` on `service` when its n-th request (counted from now) arrives."""
        with self._arrivals_lock:
            self._armed.append((service, self.arrivals[service] + n, settings))

    def every_nth(self, service: str) -> bool:
        with self._arrivals_lock:
            self.arrivals[service] += 1
            due = [a for a in self._armed if a[0] == service and self.arrivals[service] >= a[1]]
            for armed in due:
                self._armed.remove(armed)
        for scope, _, settings in due:
            self.set(scope, **settings)
        return super().every_nth(service)


def scripted(sb: Sandbox) -> ScriptedFaults:
    faults = sb.state.faults
    assert isinstance(faults, ScriptedFaults)
    return faults


def statuses(sb: Sandbox, service: str) -> dict[str, int]:
    return sb.stats()["by_service_status"].get(service, {})


# ---- warehouse digests ------------------------------------------------------------------------


def digest(db: Path, tables: tuple[str, ...] | None = None, ignore: tuple[str, ...] = ()) -> Digest:
    """(row count, sha256 of the sorted rows) per table: equal digests mean equal contents."""
    out: Digest = {}
    with duckdb.connect(str(db), read_only=True) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            ).fetchall()
        }
        for table in sorted(present if tables is None else present & set(tables)):
            columns = [
                r[0] for r in conn.execute(f"DESCRIBE {table}").fetchall() if r[0] not in ignore
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            rows = sorted(repr(r) for r in conn.execute(f"SELECT {select} FROM {table}").fetchall())
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def full_digest(db: Path) -> Digest:
    """Everything, the partition log and its timestamps included: for "nothing was written"."""
    return digest(db)


def data_digest(db: Path) -> Digest:
    """The data tables without per-run stamps: for "the same data as a clean run"."""
    return digest(db, tuple(TABLES), VOLATILE_COLUMNS)


def rows_of(db: Path, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


# ---- run results ------------------------------------------------------------------------------


def executed_steps(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


# ---- fixtures: the sandbox and its baseline warehouse -------------------------------------------

# KIS quotes are live: only the session the sandbox's KIS quotes now has KIS figures. Our clock
# is frozen to its evening, so the module does not depend on the hour it runs (intraday,
# etf_aum rightly skips KIS, and the baseline would have no KIS figures to compare with).
NEWEST = kis_routes.last_session(datetime.now(KST))
EVENING = datetime(NEWEST.year, NEWEST.month, NEWEST.day, 20, tzinfo=KST)


@pytest.fixture(scope="module", autouse=True)
def evening_of_the_newest_session() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(partitions, "now_kst", lambda: EVENING)
        yield


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """This module's own sandbox: a small market and a fast KIS gateway (200/s instead of 18)
    so a KIS run over every ETF takes about a second."""
    config = SandboxConfig(  # on our evening too: KRX's net assets of the day arrive at 18:00
        n_etfs=MARKET_ETFS, kis_rate_per_s={"real": 200.0, "paper": 1.0}, now=lambda: EVENING
    )
    with start_sandbox(config) as server:
        yield server


def kis_client(sb: Sandbox, cache: Path, **overrides: object) -> KISClient:
    """KIS configured with the sandbox's real-account app and a private token cache."""
    config: dict[str, object] = {
        "app_key": KIS_KEY,
        "app_secret": KIS_SECRET,
        "base_url": sb.url,
        "token_cache_dir": str(cache),
        "requests_per_second": 150.0,
        "timeout_s": 5.0,
    }
    config.update(overrides)
    return KISClient(**config)


@pytest.fixture(autouse=True)
def _fresh_faults(sb: Sandbox) -> Iterator[None]:
    """A new fault table, empty stats and a fresh KIS gateway (tokens, the one-issue-a-minute
    clock) per test: nothing armed or issued in one test leaks into the next."""
    sb.state.faults = ScriptedFaults()
    sb.reset_stats()
    sb.state.extra.pop(kis_routes.SERVICE, None)
    yield
    sb.state.faults = Faults()


@pytest.fixture(scope="module")
def baseline(sb: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean warehouse written without faults: listing of AS_OF, prices of SESSIONS, and
    for the newest session listing, prices and etf_aum with KIS figures."""
    root = tmp_path_factory.mktemp("baseline")
    db = root / "etf.duckdb"
    res = resources(sb, db, kis=kis_client(sb, root / "tokens"))
    for result in (
        materialize([krx_etf_list, etf_details], res, PARTITION),
        materialize([etf_daily_prices], res, span=(SESSIONS[0], SESSIONS[-1]), run_config=REFETCH),
        materialize(
            [krx_etf_list, etf_details, etf_daily_prices, etf_aum], res, NEWEST.isoformat()
        ),
    ):
        assert result.success, failure_text(result)
    kis_gaps = "SELECT count(*) > 0, count(*) FILTER (aum_krw_kis IS NULL) FROM etf_aum"
    assert rows_of(db, kis_gaps) == [(True, 0)]  # every ETF got its KIS quote
    return db


@pytest.fixture
def db(baseline: Path, tmp_path: Path) -> Path:
    """This test's own copy of the baseline warehouse. It overrides conftest's `db` (a copy of
    the shared session warehouse) on purpose: this module's warehouse comes from its own small,
    fault-armed sandbox `sb`, never from the shared `sandbox`."""
    return copy_warehouse(baseline, tmp_path)


# ---- timeouts and 5xx ---------------------------------------------------------------------------


def test_timeouts_are_retried_and_the_data_is_complete(
    sb: Sandbox, db: Path, baseline: Path
) -> None:
    """Every 3rd request hangs past the client timeout; urllib3 retries; the range is exact."""
    sb.set_faults("krx_data", timeout_every_n=3, timeout_s=2.0)
    res = resources(sb, db, krx=krx_client(sb, timeout_s=1.0, max_workers=1))
    result = materialize(
        [etf_daily_prices], res, span=(SESSIONS[0], SESSIONS[-1]), run_config=REFETCH
    )
    assert result.success, failure_text(result)
    assert scripted(sb).arrivals["krx_data"] > len(SESSIONS)  # some answers timed out
    assert data_digest(db) == data_digest(baseline)


def test_5xx_burst_is_retried_and_the_data_is_complete(
    sb: Sandbox, db: Path, baseline: Path
) -> None:
    """A burst of 503s as the range starts: retried with backoff, no session missing."""
    sb.set_faults("krx_data", http_5xx_next_n=3)
    result = materialize(
        [etf_daily_prices], resources(sb, db), span=(SESSIONS[0], SESSIONS[-1]), run_config=REFETCH
    )
    assert result.success, failure_text(result)
    assert statuses(sb, "krx_data").get("503") == 3
    assert data_digest(db) == data_digest(baseline)


def test_5xx_beyond_the_retries_fails_clearly_and_writes_nothing(sb: Sandbox, db: Path) -> None:
    """503 on every attempt: the run fails naming the date and the status, and writes nothing."""
    before = full_digest(db)
    sb.set_faults("krx_data", http_5xx_next_n=100)
    result = materialize([etf_daily_prices], resources(sb, db), PARTITION)
    assert not result.success
    text = failure_text(result)
    assert f"server error for trdDd={AS_OF:%Y%m%d} after" in text and "HTTP 503" in text, text
    assert full_digest(db) == before


# ---- KRX login: LOGOUT mid-run ------------------------------------------------------------------


def test_logout_mid_run_with_credentials_relogs_in(sb: Sandbox, db: Path, baseline: Path) -> None:
    """KRX drops the session after a few answers; the client logs in again; the range is exact."""
    krx = krx_client(sb, krx_id=KRX_ACCOUNT, krx_pw=KRX_PASSWORD, max_workers=2)
    scripted(sb).arm_after("krx_data", 6, logout_next_n=1)  # 3 login steps, then 3 data calls
    result = materialize(
        [etf_daily_prices],
        resources(sb, db, krx=krx),
        span=(SESSIONS[0], AS_OF),
        run_config=REFETCH,
    )
    assert result.success, failure_text(result)
    assert statuses(sb, "krx_data").get("400") == 1  # the LOGOUT really was served
    assert sb.stats()["by_path"].get(LOGIN_POST_PATH, 0) >= 2  # first login, then the re-login
    assert data_digest(db) == data_digest(baseline)


def test_logout_without_credentials_names_krx_id_and_keeps_partitions(
    sb: Sandbox, db: Path
) -> None:
    """Anonymous access stops working: the run says to set KRX_ID/KRX_PW and writes nothing."""
    before = full_digest(db)
    sb.set_faults("krx_data", logout_next_n=1)
    result = materialize([krx_etf_list, etf_details], resources(sb, db), PARTITION)
    assert not result.success
    text = failure_text(result)
    assert "LOGOUT" in text and "KRX_ID" in text and "KRX_PW" in text, text
    assert "etf_details" not in executed_steps(result)  # the downstream asset never ran
    assert full_digest(db) == before


def test_prices_logout_without_credentials_is_not_retried(sb: Sandbox, db: Path) -> None:
    """A missing login cannot fix itself: it must fail as dg.Failure(allow_retries=False).

    Invoked directly: a real run would sit out the 300 s retry delay this test is about.
    """
    sb.set_faults("krx_data", logout_next_n=1)
    context = dg.build_asset_context(partition_key=PARTITION)
    with pytest.raises(dg.Failure) as info:
        list(  # the asset yields each batch's partitions as it lands: run it to the end
            etf_daily_prices(
                context,
                config=PricesConfig(),
                krx=krx_client(sb),
                duckdb=DuckDBResource(database=str(db)),
            )
        )
    assert info.value.allow_retries is False


# ---- HTML maintenance page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "assets", [[krx_etf_list, etf_details], [etf_daily_prices]], ids=["listing", "prices"]
)
def test_maintenance_page_fails_clearly_and_writes_nothing(
    sb: Sandbox, db: Path, assets: list[dg.AssetsDefinition]
) -> None:
    """KRX's "서비스 제공 불가능" page (HTTP 200, text/html) is not retried as data: the run
    fails saying KRX is in maintenance, and nothing is written."""
    before = full_digest(db)
    sb.set_faults("krx_data", html_maintenance_next_n=5)
    result = materialize(assets, resources(sb, db), PARTITION)
    assert not result.success
    text = failure_text(result)
    assert "HTML page instead of data" in text and "maintenance" in text, text
    assert full_digest(db) == before


# ---- malformed and duplicated rows --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"malformed_rows_n": 1}, r"not a KRX number: field TDD_\w+ for ticker \w+, value '.*x'"),
        ({"drop_field": "NAV"}, r"field missing from the KRX answer: field NAV"),
    ],
    ids=["unparseable_number", "dropped_field"],
)
def test_malformed_prices_fail_naming_field_and_ticker(
    sb: Sandbox, db: Path, fault: dict[str, object], expected: str
) -> None:
    """A ParseError stops the run before the write: the previous partition stays as it was."""
    before = full_digest(db)
    sb.set_faults("krx_data", **fault)
    result = materialize([etf_daily_prices], resources(sb, db), PARTITION)
    assert not result.success
    assert re.search(expected, failure_text(result)), failure_text(result)
    assert full_digest(db) == before


def test_malformed_master_fails_at_details_and_keeps_its_partition(sb: Sandbox, db: Path) -> None:
    """krx_etf_list stores KRX's strings as sent, but only after checking the master can be
    typed: the run fails naming the field and ticker and both tables keep their partitions.
    """
    before = full_digest(db)
    sb.set_faults("krx_data", malformed_rows_n=1)
    result = materialize([krx_etf_list, etf_details], resources(sb, db), PARTITION)
    assert not result.success
    text = failure_text(result)
    assert re.search(r"not a KRX \w+: field \w+ for ticker \w+", text), text
    after = full_digest(db)
    assert after["etf_details"] == before["etf_details"]
    assert after["krx_etf_list"] == before["krx_etf_list"]


def _with_duplicates(
    original: Callable[[Any, Any], list[dict[str, str]]], sb: Sandbox, copies: int
) -> Callable[[Any, Any], list[dict[str, str]]]:
    """A screen handler that repeats `copies` rows, on this module's sandbox only.

    The repeated rows are funds listed by AS_OF, so a past partition keeps them (the master
    is today's snapshot: funds listed later are filtered out of AS_OF's partition).
    """
    as_of = AS_OF.strftime("%Y%m%d")

    def screen(req: Any, state: Any) -> list[dict[str, str]]:
        rows = original(req, state)
        if state is not sb.state:
            return rows
        listed = [r for r in rows if r.get("LIST_DD", "").replace("/", "") <= as_of]
        return rows + [dict(r) for r in listed[:copies]]

    return screen


@pytest.mark.parametrize(
    ("screen", "assets", "table"),
    [
        (SCREEN_DAILY, [etf_daily_prices], "etf_daily_prices"),
        (SCREEN_MASTER, [krx_etf_list, etf_details], "krx_etf_list"),
    ],
    ids=["prices", "master"],
)
def test_rows_repeated_verbatim_are_stored_once(
    sb: Sandbox,
    db: Path,
    baseline: Path,
    monkeypatch: pytest.MonkeyPatch,
    screen: str,
    assets: list[dg.AssetsDefinition],
    table: str,
) -> None:
    """KRX repeating a ticker verbatim in one answer: the parsers keep one row, every check
    passes and the partition equals the baseline (nothing lost, nothing duplicated).

    Freshness depends on today, and the outlier warning reports the sandbox's deliberate
    outliers on every session: neither says anything about repeated rows."""
    monkeypatch.setitem(
        krx_routes.SCREENS, screen, _with_duplicates(krx_routes.SCREENS[screen], sb, 2)
    )
    result = materialize_with_checks(assets, resources(sb, db), PARTITION)
    assert result.success, failure_text(result)
    assert all(
        e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name not in {"fresh_in_sessions", "premium_discount_outliers"}
    )
    ignore = ", ".join(VOLATILE_COLUMNS) if table == "krx_etf_list" else None
    select = f"SELECT * EXCLUDE ({ignore})" if ignore else "SELECT *"
    sql = f"{select} FROM {table} WHERE trade_date = ? ORDER BY trade_date, ticker"
    assert rows_of(db, sql, [AS_OF]) == rows_of(baseline, sql, [AS_OF])


def test_a_constituent_on_two_pdf_lines_is_one_position(
    sb: Sandbox, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every PDF lists its first constituent three times: as sent, echoed verbatim, and as a
    second lot (same code and amounts, another name). The echo is dropped and the lot summed;
    the blocking uniqueness check passes; every other line is as stored without the fault."""
    res = resources(sb, db)
    clean = materialize_with_checks([etf_holdings], res, PARTITION)
    assert clean.success, failure_text(clean)
    sql = (
        "SELECT h.etf_ticker, d.isin, h.constituent_code, h.constituent_name, h.kind, "
        "h.shares_per_cu, h.value_krw, h.weight_pct FROM etf_holdings h JOIN etf_details d "
        "ON d.ticker = h.etf_ticker AND d.trade_date = h.as_of_date "
        "WHERE h.as_of_date = ? ORDER BY ALL"
    )
    columns = ["etf", "isin", "code", "name", "kind", "shares", "value", "weight"]
    expected = pd.DataFrame(rows_of(db, sql, [AS_OF]), columns=columns)
    original = krx_routes.SCREENS[SCREEN_PDF]
    first_code_by_isin: dict[str, str] = {}

    def repeating(req: Any, state: Any) -> list[dict[str, str]]:
        rows = original(req, state)
        if state is not sb.state or not rows:
            return rows
        first_code_by_isin[req.form["isuCd"]] = rows[0]["COMPST_ISU_CD"]
        lot = dict(rows[0], COMPST_ISU_NM=rows[0]["COMPST_ISU_NM"] + " (2nd lot)")
        return [*rows, dict(rows[0]), lot]

    monkeypatch.setitem(krx_routes.SCREENS, SCREEN_PDF, repeating)
    result = materialize_with_checks([etf_holdings], res, PARTITION)
    assert result.success, failure_text(result)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["unique_keys"] and checks["complete"], checks
    metadata = result.asset_materializations_for_node("etf_holdings")[0].metadata
    assert metadata["repeated_lines_merged"].value == 2 * len(first_code_by_isin)

    first = expected["isin"].map(first_code_by_isin) == expected["code"]
    assert first.sum() == expected["etf"].nunique() == len(first_code_by_isin)
    amounts = ["shares", "value", "weight"]
    expected.loc[first, amounts] = expected.loc[first, amounts] * 2  # NULL stays NULL
    got = pd.DataFrame(rows_of(db, sql, [AS_OF]), columns=columns)
    pd.testing.assert_frame_equal(got, expected)


# ---- KIS: EGW00201 storms and token expiry mid-run ---------------------------------------------


def issued_tokens(sb: Sandbox) -> int:
    return kis_routes._kis(sb.state).issued.get(KIS_KEY, 0)


def test_kis_egw00201_storm_backs_off_and_completes(
    sb: Sandbox, db: Path, baseline: Path, tmp_path: Path
) -> None:
    """32 rate-limit refusals in a row, two for each of the 16 threads: they back off with
    jitter and retry, and every ETF gets its KIS figures."""
    sb.set_faults("kis", kis_egw00201_next_n=32)
    res = resources(sb, db, kis=kis_client(sb, tmp_path / "tokens"))
    result = materialize([etf_aum], res, NEWEST.isoformat())
    assert result.success, failure_text(result)
    # 32 injected; the gateway's own window may refuse a few more under CPU load.
    assert kis_routes._kis(sb.state).rate_limited.get(KIS_KEY, 0) >= 32
    assert data_digest(db) == data_digest(baseline)


def test_kis_token_expiry_mid_run_reissues_once(
    sb: Sandbox, db: Path, baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every token dies after 30 requests; the client re-issues once (KIS allows that a minute
    after the last issue: the sandbox's minute is shortened here) and the figures are exact.
    """
    monkeypatch.setattr(kis_routes, "TOKEN_ISSUE_MIN_INTERVAL_S", 0.0)
    scripted(sb).arm_after("kis", 30, kis_expire_tokens=True)
    res = resources(sb, db, kis=kis_client(sb, tmp_path / "tokens"))
    result = materialize([etf_aum], res, NEWEST.isoformat())
    assert result.success, failure_text(result)
    assert issued_tokens(sb) == 2  # the first token and exactly one re-issue
    assert data_digest(db) == data_digest(baseline)


def test_kis_token_expiry_when_reissue_is_throttled_fails_clearly(
    sb: Sandbox, db: Path, tmp_path: Path
) -> None:
    """The token dies seconds after it was issued, and KIS refuses a new one within the minute
    (EGW00133): the client waits once, then the run fails naming EGW00133, and etf_aum keeps
    its previous partition.
    """
    before = full_digest(db)
    scripted(sb).arm_after("kis", 30, kis_expire_tokens=True)
    kis = kis_client(sb, tmp_path / "tokens", token_issue_wait_s=0.2, max_workers=4)
    result = materialize([etf_aum], resources(sb, db, kis=kis), NEWEST.isoformat())
    assert not result.success
    assert "EGW00133" in failure_text(result), failure_text(result)
    assert full_digest(db) == before


# ---- the DuckDB file: locked by another process, and a writer killed mid-transaction ------------
#
# The other process is forked from this one: it starts at once (a fresh interpreter would spend
# seconds importing dagster for `replace_partition`) and runs the very code under test.

FORK = multiprocessing.get_context("fork")


def _hold_lock(db: str, hold_s: float, out: Connection) -> None:
    """Child: a read-write connection (DuckDB then locks the file) held for hold_s seconds."""
    conn = duckdb.connect(db)
    out.send("LOCKED")
    time.sleep(hold_s)
    conn.close()


def _killed_writer(db: str, stage: str, day: date, copies: int, out: Connection) -> None:
    """Child: replace_partition of `day` (closes doubled, rows repeated `copies` times) through
    a connection that stops for good right after the DELETE or the INSERT of the table."""
    conn = duckdb.connect(db)
    frame = conn.execute("SELECT * FROM etf_daily_prices WHERE trade_date = ?", [day]).df()
    frame["close"] = frame["close"] * 2  # what a committed write would make visible
    frame = pd.concat([frame] * copies, ignore_index=True)
    pause_on = {"delete": "DELETE FROM etf_daily_prices", "insert": "INSERT INTO etf_daily_prices"}

    class PausingConnection:
        def __init__(self, inner: duckdb.DuckDBPyConnection) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def execute(self, sql: str, *args: Any) -> Any:
            result = self._inner.execute(sql, *args)
            if sql.startswith(pause_on[stage]):
                seen = self._inner.execute(
                    "SELECT count(*) FROM etf_daily_prices WHERE trade_date = ?", [day]
                ).fetchone()
                out.send(f"PAUSED {seen[0] if seen else -1}")
                time.sleep(120)  # until the parent's SIGKILL
            return result

    replace_partition(PausingConnection(conn), "etf_daily_prices", day, frame)  # type: ignore[arg-type]
    out.send("COMMITTED")


def _start(target: Callable[..., None], *args: object) -> tuple[BaseProcess, Connection]:
    parent_end, child_end = FORK.Pipe(duplex=False)
    proc = FORK.Process(target=target, args=(*args, child_end), daemon=True)
    proc.start()
    return proc, parent_end


def _await(proc: BaseProcess, messages: Connection, prefix: str) -> str:
    """The child's next message, which must start with prefix; fail (not hang) otherwise."""
    if not messages.poll(30):
        proc.kill()
        pytest.fail(f"child never sent {prefix!r} (exit code {proc.exitcode})")
    message = str(messages.recv())
    assert message.startswith(prefix), message
    return message


def test_locked_duckdb_file_waits_then_succeeds_after_release(
    sb: Sandbox, db: Path, baseline: Path
) -> None:
    """Another process holds the file for 2 s: dagster-duckdb retries the connection with
    backoff and the run succeeds after the release, with exactly the baseline's rows.
    (Held for good, the run fails after dagster-duckdb's 10 retries, about 100 s: not run.)
    """
    hold_s = 2.0
    proc, messages = _start(_hold_lock, str(db), hold_s)
    try:
        _await(proc, messages, "LOCKED")
        locked_at = time.monotonic()
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(db)).close()  # proof the child really holds the lock
        result = materialize([etf_daily_prices], resources(sb, db), PARTITION)
        waited = time.monotonic() - locked_at
    finally:
        proc.join(timeout=30)
    assert result.success, failure_text(result)
    assert waited >= hold_s * 0.9, f"the run did not wait for the lock ({waited:.1f}s)"
    assert data_digest(db) == data_digest(baseline)


@pytest.mark.parametrize(
    ("stage", "copies"),
    # 700 copies: > 122,880 rows, more than a row group, so DuckDB writes the uncommitted
    # rows into the database file itself before the kill (optimistic writes).
    [("delete", 1), ("insert", 700)],
    ids=["after_delete", "after_large_insert"],
)
def test_writer_killed_inside_the_transaction_leaves_previous_rows(
    db: Path, stage: str, copies: int
) -> None:
    """SIGKILL a process inside replace_partition's transaction, after its DELETE (or after a
    large INSERT): reopened, the file has the previous rows, exactly, and accepts writes.
    """
    before = full_digest(db)
    count_sql = "SELECT count(*) FROM etf_daily_prices WHERE trade_date = ?"
    ((n_rows,),) = rows_of(db, count_sql, [AS_OF])
    proc, messages = _start(_killed_writer, str(db), stage, AS_OF, copies)
    try:
        seen = int(_await(proc, messages, "PAUSED").split()[1])
        # inside the transaction the partition was really gone (or really replaced)
        assert seen == (0 if stage == "delete" else n_rows * copies)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL
    assert full_digest(db) == before
    with duckdb.connect(str(db)) as conn:  # the file is healthy: a new write commits
        conn.execute("DELETE FROM etf_daily_prices WHERE trade_date = ?", [AS_OF])
    assert rows_of(db, count_sql, [AS_OF]) == [(0,)]
