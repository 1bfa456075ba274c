"""KISClient against the sandbox over real HTTP: tokens, rate limit, retries, secrecy, values.

One sandbox per module with a frozen clock (Friday 2026-11-20 18:00 KST, after the close), so
the last completed session is fixed. Token state of the sandbox is reset per test, and each
test uses its own token cache directory, so tests do not depend on each other's tokens.
"""

from __future__ import annotations

import logging
import math
import stat
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from etf_assets.errors import KISError, KISPaperUnsupported, KISTokenIssueThrottled
from etf_assets.partitions import KST, sessions_between
from etf_assets.resources import kis as kis_module
from etf_assets.resources.kis import KISClient
from etf_assets_tests.resources.test_http import max_in_window, record_sends
from etf_sandbox import kis_routes
from etf_sandbox.localrun import sandbox_process
from etf_sandbox.market import get_market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=KST)
SESSION = date(2026, 11, 20)
REAL_KEY = "PSsandboxAPPKEYreal0000000000000000"
REAL_SECRET = "sandbox-secret-real"
PAPER_KEY = "PSsandboxAPPKEYpaper000000000000000"
PAPER_SECRET = "sandbox-secret-paper"


@pytest.fixture(scope="module")
def kis_sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_gateway(kis_sandbox: Sandbox) -> Iterator[None]:
    """Forget issued tokens and rate windows; clear faults; nothing leaks between tests."""
    kis_sandbox.clear_faults()
    kis_sandbox.state.extra.pop(kis_routes.SERVICE, None)
    kis_module._SLOTS.clear()
    yield
    kis_sandbox.clear_faults()


def gateway_state(sandbox: Sandbox) -> kis_routes.KisSandboxState:
    return kis_routes._kis(sandbox.state)


def issued(sandbox: Sandbox, key: str = REAL_KEY) -> int:
    return gateway_state(sandbox).issued.get(key, 0)


def client(sandbox: Sandbox, cache: Path, **overrides: object) -> KISClient:
    config: dict[str, object] = {
        "app_key": REAL_KEY,
        "app_secret": REAL_SECRET,
        "base_url": sandbox.url,
        "token_cache_dir": str(cache),
        "timeout_s": 5.0,
    }
    config.update(overrides)
    return KISClient(**config).use_clock(lambda: NOW)  # the sandbox's frozen clock


def listed_tickers(sandbox: Sandbox, n: int) -> list[str]:
    daily = sandbox.market.daily(SESSION)
    assert daily is not None
    return list(daily["ticker"])[:n]


def kis_timestamps(sandbox: Sandbox) -> list[float]:
    """Arrival times of every KIS request the sandbox recorded since its last stats reset."""
    return sorted(sandbox.stats()["timestamps"].get("kis", []))


def token_requests(sandbox: Sandbox) -> int:
    return int(sandbox.stats()["by_path"].get(kis_routes.PATH_TOKEN, 0))


# ---- tokens -----------------------------------------------------------------------------------


def test_token_issued_once_across_threads_and_instances(
    kis_sandbox: Sandbox, tmp_path: Path
) -> None:
    tickers = listed_tickers(kis_sandbox, 32)
    clients = [client(kis_sandbox, tmp_path), client(kis_sandbox, tmp_path)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for t in tickers[i::8]:
                assert clients[i % 2].inquire_price(t)["ticker"] == t
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert issued(kis_sandbox) == 1

    cache = clients[0].cache_path()
    assert cache.parent == tmp_path
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert REAL_KEY not in cache.name
    # a new process (empty memory) reuses the file instead of issuing again
    kis_module._SLOTS.clear()
    client(kis_sandbox, tmp_path).inquire_price(tickers[0])
    assert issued(kis_sandbox) == 1


def test_token_reissued_after_expiry(
    kis_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kis_routes, "TOKEN_ISSUE_MIN_INTERVAL_S", 0.0)
    now = [NOW]
    kis = client(kis_sandbox, tmp_path).use_clock(lambda: now[0])
    ticker = listed_tickers(kis_sandbox, 1)[0]
    kis.inquire_price(ticker)
    now[0] = NOW + timedelta(hours=23, minutes=49)  # 11 min left: reused
    kis.inquire_price(ticker)
    assert issued(kis_sandbox) == 1
    now[0] = NOW + timedelta(hours=23, minutes=51)  # 9 min left: inside the margin, re-issued
    kis.inquire_price(ticker)
    assert issued(kis_sandbox) == 2
    now[0] = NOW + timedelta(hours=23, minutes=52)
    kis.inquire_price(ticker)
    assert issued(kis_sandbox) == 2


def test_egw00133_waits_once_then_gives_up(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    ticker = listed_tickers(kis_sandbox, 1)[0]
    client(kis_sandbox, tmp_path / "a").inquire_price(ticker)
    sleeps: list[float] = []
    other = client(kis_sandbox, tmp_path / "b").use_clock(lambda: NOW, sleeps.append)
    kis_sandbox.reset_stats()
    with pytest.raises(KISTokenIssueThrottled) as info:
        other.inquire_price(ticker)
    assert token_requests(kis_sandbox) == 2  # one refusal, one retry after the wait: no loop
    assert sleeps == [65.0]
    assert info.value.msg_cd == "EGW00133"


def test_egw00133_wait_then_success(
    kis_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kis_routes, "TOKEN_ISSUE_MIN_INTERVAL_S", 0.3)
    ticker = listed_tickers(kis_sandbox, 1)[0]
    client(kis_sandbox, tmp_path / "a").inquire_price(ticker)
    other = client(kis_sandbox, tmp_path / "b", token_issue_wait_s=0.4)
    assert other.inquire_price(ticker)["ticker"] == ticker
    assert issued(kis_sandbox) == 2


def test_expired_token_reissued_once(
    kis_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kis_routes, "TOKEN_ISSUE_MIN_INTERVAL_S", 0.0)
    kis = client(kis_sandbox, tmp_path)
    tickers = listed_tickers(kis_sandbox, 20)
    kis.inquire_price(tickers[0])
    kis_sandbox.set_faults(kis_expire_tokens=True)
    results, failures, _ = kis.fetch_many(kis.inquire_price, tickers)
    assert not failures and len(results) == 20
    assert issued(kis_sandbox) == 2  # eight threads hit EGW00123; one re-issue


# ---- rate limit -------------------------------------------------------------------------------


def test_200_concurrent_requests_stay_under_18_per_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured at a sandbox in its own process, as the real service is: in-process, its
    handler threads share one GIL with the client's 16 threads and arrival times bunch."""
    sends = record_sends(monkeypatch)
    with sandbox_process() as url:
        kis = KISClient(
            app_key=REAL_KEY, app_secret=REAL_SECRET, base_url=url, token_cache_dir=str(tmp_path)
        )
        daily = get_market().daily(SESSION)
        assert daily is not None
        tickers = list(daily["ticker"])[:200]
        kis.inquire_price(tickers[0])  # issue the token outside the measurement
        seen = len(requests.get(f"{url}/_sandbox/stats", timeout=10).json()["timestamps"]["kis"])
        sends.clear()
        started = time.monotonic()
        results, failures, stats = kis.fetch_many(kis.inquire_price, tickers)
        elapsed_s = time.monotonic() - started
        after = requests.get(f"{url}/_sandbox/stats", timeout=10).json()
    assert not failures and len(results) == 200
    # What the client controls, whatever the machine's load: at the moment of sending, never
    # more than 17 in any second (95 % of 18, rounded down), and so at least 11 s for 200.
    assert max_in_window(sends, 1.0) <= 17
    assert elapsed_s >= (200 - 17) / 17
    # What it cannot control is the jitter between send and arrival: a gateway that counts a
    # 19th arrival in one second refuses it (EGW00201). Every refusal must be retried and
    # counted; how many a quiet machine sees is measured in bench/, not asserted here.
    refused = after["by_service_status"]["kis"].get("500", 0)
    assert len(after["timestamps"]["kis"]) - seen == 200 + refused == len(sends)
    assert stats["requests"] == 200 + refused and stats["rate_limited_retries"] == refused


def test_injected_egw00201_is_retried(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    kis = client(kis_sandbox, tmp_path)
    tickers = listed_tickers(kis_sandbox, 30)
    kis_sandbox.set_faults(kis_egw00201_next_n=5)
    results, failures, stats = kis.fetch_many(kis.inquire_price, tickers)
    assert not failures and sorted(results) == sorted(tickers)
    # Five refusals were injected; under CPU load the gateway's own 1-second window (measured at
    # arrival, not at send) may refuse a few more. Every refusal it sent must have been retried.
    refused = gateway_state(kis_sandbox).rate_limited.get(REAL_KEY, 0)
    assert refused >= 5
    assert stats["rate_limited_retries"] == refused
    assert stats["requests"] == 30 + refused


def test_5xx_retried_by_the_session(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    kis = client(kis_sandbox, tmp_path)
    ticker = listed_tickers(kis_sandbox, 1)[0]
    kis.inquire_price(ticker)
    kis_sandbox.set_faults(http_5xx_next_n=2)
    assert kis.inquire_price(ticker)["ticker"] == ticker


def test_two_instances_share_one_limiter(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    a, b = client(kis_sandbox, tmp_path), client(kis_sandbox, tmp_path / "other")
    assert a._limiter() is b._limiter()


# ---- errors and secrecy -----------------------------------------------------------------------


def test_paper_key_is_refused(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    paper = client(kis_sandbox, tmp_path, app_key=PAPER_KEY, app_secret=PAPER_SECRET, env="paper")
    with pytest.raises(KISPaperUnsupported) as info:
        paper.inquire_price("069500")
    assert info.value.msg_cd == "90000000"


def test_unconfigured_client() -> None:
    kis = KISClient(app_key=None, app_secret=None)
    assert not kis.is_configured
    with pytest.raises(KISError, match="KIS_APP_KEY"):
        kis.inquire_price("069500")


def test_unknown_ticker_is_a_clear_error(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(KISError, match=r"999999.*zeroed quote"):
        client(kis_sandbox, tmp_path).inquire_price("999999")


def test_secrets_never_leak(
    kis_sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kis = client(kis_sandbox, tmp_path)
    texts = [repr(kis), str(kis)]
    ticker = listed_tickers(kis_sandbox, 1)[0]
    kis.inquire_price(ticker)
    kis_sandbox.set_faults(kis_egw00201_next_n=1)
    _, failures, stats = kis.fetch_many(kis.inquire_price, [ticker, "999999"])
    texts += [str(stats), *map(str, failures.values())]
    wrong = client(kis_sandbox, tmp_path / "wrong", app_secret="not-the-secret")
    with pytest.raises(KISError, match="EGW00105") as refused:
        wrong.inquire_price(ticker)
    paper = client(
        kis_sandbox, tmp_path / "paper", app_key=PAPER_KEY, app_secret=PAPER_SECRET, env="paper"
    )
    with pytest.raises(KISPaperUnsupported) as unsupported:
        paper.inquire_price(ticker)
    for exc in (refused.value, unsupported.value):
        texts += [str(exc), repr(exc), str(exc.args)]
    texts += [repr(wrong), repr(paper), caplog.text]
    token = kis_module._SLOTS[str(kis.cache_path())].token
    assert token is not None
    for text in texts:
        for secret in (REAL_SECRET, PAPER_SECRET, "not-the-secret", token.access_token):
            assert secret not in text
    assert "***" in repr(kis)


# ---- values -----------------------------------------------------------------------------------


def test_inquire_price_matches_the_market(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    daily = kis_sandbox.market.daily(SESSION)
    assert daily is not None
    kis = client(kis_sandbox, tmp_path)
    for row in daily.head(5).to_dict("records"):
        rec = kis.inquire_price(row["ticker"])
        assert rec["close"] == row["close"]
        assert rec["prev_close"] == row["prev_close"]
        assert rec["nav"] == round(float(row["nav"]), 2)
        assert rec["listed_shares"] == row["listed_shares"]
        assert rec["net_assets_krw"] == math.floor(row["net_assets"] / 1e8) * 100_000_000
        expected_premium = round((row["close"] - row["nav"]) / row["nav"] * 100, 2)
        assert rec["premium_discount_pct"] == pytest.approx(expected_premium, abs=0.011)


def test_nav_daily_trend_pages_past_100_rows(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    kis = client(kis_sandbox, tmp_path)
    ticker = kis_sandbox.market.special["kodex200"]
    start = date(2026, 1, 1)
    frame = kis.nav_daily_trend(ticker, start, SESSION)
    sessions = sessions_between(start, SESSION)
    assert len(sessions) > 100
    assert list(frame["trade_date"]) == list(sessions)
    history = kis_sandbox.market.history(ticker, start, SESSION)
    assert list(frame["close"]) == list(history["close"])
    assert list(frame["nav"]) == [round(float(v), 2) for v in history["nav"]]


def test_components_match_market_holdings(kis_sandbox: Sandbox, tmp_path: Path) -> None:
    kis = client(kis_sandbox, tmp_path)
    ticker = kis_sandbox.market.special["kodex200"]
    etf, holdings = kis.components(ticker)
    market = kis_sandbox.market.holdings(ticker, SESSION)
    assert etf["constituent_count"] == len(market) == len(holdings)
    assert list(holdings["constituent_code"]) == list(market["code"])
    cash = (market["kind"] == "cash").to_numpy()
    assert cash.any()  # a stock basket carries its cash line, as real ones do
    quoted = holdings["shares_per_cu"].notna().to_numpy()
    assert (quoted == ~cash).all()  # KIS quotes shares for every line but cash
    assert list(holdings.loc[quoted, "shares_per_cu"]) == list(market.loc[quoted, "shares_per_cu"])
    assert list(holdings["kind"]) == list(market["kind"])
