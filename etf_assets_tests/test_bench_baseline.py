"""The baseline of `make bench` speaks the wire correctly: same figures as the market, same calls.

Only correctness: the bench measures time, tests never do (sleeps are recorded, not slept).
"""

from collections.abc import Iterator
from datetime import date, datetime

import pytest

from bench.baseline import (
    AUM_SLEEP_S,
    EOK_KRW,
    PATH_COMPONENTS,
    PATH_NAV_DAILY,
    PATH_PRICE,
    TRACKING_SLEEP_S,
    PlanKISClient,
    fetch_universe,
    run_aum_phase,
    run_tracking_phase,
)
from etf_assets.partitions import KST
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

SESSION = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 18, 30, tzinfo=KST)  # after the close and KRX's 18:00 net assets


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    # Its own sandbox: KIS allows one token issue per app key per minute.
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as server:
        yield server


@pytest.fixture(scope="module")
def client(sb: Sandbox) -> PlanKISClient:
    key = next(k for k, (_, kind) in sb.config.kis_apps.items() if kind == "real")
    plan = PlanKISClient(sb.url, key, sb.config.kis_apps[key][0])
    plan.issue_token()
    return plan


@pytest.fixture(scope="module")
def three(sb: Sandbox) -> list[str]:
    """Three ETFs with published net assets: the first, middle and last code."""
    daily = sb.market.daily(SESSION)
    codes = sorted(daily.loc[daily["net_assets"] > 0, "ticker"])
    return [codes[0], codes[len(codes) // 2], codes[-1]]


def test_universe_is_the_krx_master(sb: Sandbox) -> None:
    assert fetch_universe(sb.url) == sorted(sb.market.daily(SESSION)["ticker"])


def test_aum_phase_gets_the_markets_net_assets(
    sb: Sandbox, client: PlanKISClient, three: list[str]
) -> None:
    daily = sb.market.daily(SESSION).set_index("ticker")
    sleeps: list[float] = []
    phase = run_aum_phase(client, three, sleep=sleeps.append)
    assert phase.errors == {}
    assert phase.calls == 3
    assert sleeps == [AUM_SLEEP_S] * 3
    for ticker in three:
        got, market = phase.results[ticker], daily.loc[ticker]
        # KIS publishes net assets in 억원, truncated
        assert got["net_assets_krw"] == int(market["net_assets"]) // EOK_KRW * EOK_KRW
        assert got["nav"] == pytest.approx(float(market["nav"]), abs=0.005)
        assert got["close"] == int(market["close"])
        assert got["listed_shares"] == int(market["listed_shares"])


def test_tracking_phase_makes_its_three_calls_per_etf(
    sb: Sandbox, client: PlanKISClient, three: list[str]
) -> None:
    daily = sb.market.daily(SESSION).set_index("ticker")
    before = sb.stats()["by_path"]
    sleeps: list[float] = []
    phase = run_tracking_phase(client, three, SESSION, sleep=sleeps.append)
    after = sb.stats()["by_path"]
    assert phase.errors == {}
    assert phase.calls == 9
    assert sleeps == [TRACKING_SLEEP_S] * 3
    for path in (PATH_PRICE, PATH_NAV_DAILY, PATH_COMPONENTS):
        assert after[path] - before.get(path, 0) == 3
    for ticker in three:
        got = phase.results[ticker]
        assert got["newest_trend_nav"] == pytest.approx(float(daily.at[ticker, "nav"]), abs=0.005)
        assert 0 < got["trend_sessions"] <= 100  # one call, no paging, as the plan did
        assert got["constituents"] == len(sb.market.holdings(ticker, SESSION))


def test_a_refused_call_is_recorded_not_raised(
    sb: Sandbox, client: PlanKISClient, three: list[str]
) -> None:
    wrong = PlanKISClient(sb.url, client.app_key, "not-the-secret")
    wrong.token = client.token
    phase = run_aum_phase(wrong, three[:1], sleep=lambda _: None)
    assert phase.results == {}
    assert "EGW00105" in phase.errors[three[0]]
