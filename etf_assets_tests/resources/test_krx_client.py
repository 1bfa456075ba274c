"""KRXClient over real HTTP against the sandbox (and a scripted server for broken answers).

Each test module starts its own sandboxes (one open, one requiring login) with a frozen clock,
so faults, sessions and stats never leak into other test modules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
import requests

from etf_assets.errors import (
    KRXAuthKeyRejected,
    KRXBadResponse,
    KRXError,
    KRXLoginFailed,
    KRXLoginRequired,
    KRXMaintenance,
    ParseError,
)
from etf_assets.parsing.krx import (
    daily_prices_from_data_service,
    daily_prices_from_openapi,
    etf_details_frame,
    holdings_frame,
    investor_flows_from_daily,
    investor_flows_from_totals,
    is_no_data_answer,
    master_raw_frame,
    premium_discount_rows,
    tracking_error_rows,
)
from etf_assets.partitions import KST
from etf_assets.resources.http import fan_out
from etf_assets.resources.krx import (
    LOGIN_PAGE_PATH,
    LOGIN_POST_PATH,
    KRXClient,
)
from etf_assets_tests.resources.test_http import max_in_window, record_sends, scripted_server
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=KST)
SESSION = date(2026, 11, 20)  # a Friday session, published by both services at NOW
SUNDAY = date(2026, 11, 22)
CLOSURE = date(2026, 6, 3)  # local elections: a weekday closure exchange_calendars misses
ACCOUNT, PASSWORD = "sandbox", "sandbox-pw"
AUTH_KEY = "sandbox-auth-key"
RATE = 40.0  # below the sandbox's 50 req/s block threshold


@pytest.fixture(scope="module")
def open_sb() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as sb:
        yield sb


@pytest.fixture(scope="module")
def login_sb() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW, require_login=True)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """No fault or stat of one test leaks into the next."""
    sandboxes = [request.getfixturevalue(n) for n in ("open_sb", "login_sb")
                 if n in request.fixturenames]  # fmt: skip
    for sb in sandboxes:
        sb.clear_faults()
        sb.reset_stats()
    yield
    for sb in sandboxes:
        sb.clear_faults()


def client(sb: Sandbox, **overrides: Any) -> KRXClient:
    config: dict[str, Any] = {
        "data_url": sb.url,
        "openapi_url": sb.url,
        "requests_per_second": RATE,
        "timeout_s": 5.0,
    }
    config.update(overrides)
    return KRXClient(**config)


def member(sb: Sandbox, **overrides: Any) -> KRXClient:
    return client(sb, **{"krx_id": ACCOUNT, "krx_pw": PASSWORD, **overrides})


def isin_of(sb: Sandbox, ticker: str) -> str:
    etfs = sb.market.etfs
    return str(etfs.loc[etfs["ticker"] == ticker, "isin"].iloc[0])


def path_count(sb: Sandbox, path: str) -> int:
    return int(sb.stats()["by_path"].get(path, 0))


def take_over_session(sb: Sandbox) -> None:
    """Another process logs in with the same account (CD011 → skipDup=Y): ours is kicked."""
    other = requests.Session()
    other.get(sb.url + LOGIN_PAGE_PATH, timeout=5)
    form = {"mbrId": ACCOUNT, "pw": PASSWORD}
    answer = other.post(sb.url + LOGIN_POST_PATH, data=form, timeout=5).json()
    if answer["_error_code"] == "CD011":
        answer = other.post(sb.url + LOGIN_POST_PATH, data={**form, "skipDup": "Y"}).json()
    assert answer["_error_code"] == "CD001"


# ── data service, anonymous ──


def test_master_and_daily_prices_parse(open_sb: Sandbox) -> None:
    krx = client(open_sb)
    assert not krx.has_login and not krx.has_openapi
    master = krx.fetch_etf_master()
    details = etf_details_frame(master_raw_frame(master, SESSION, NOW.date(), NOW))
    assert len(details) >= 1000
    assert open_sb.market.special["alnum"] in set(details["ticker"])
    assert set(details["leverage_factor"]) >= {1.0, 2.0, -1.0, -2.0}
    prices = daily_prices_from_data_service(krx.fetch_daily_prices(SESSION), SESSION)
    truth = open_sb.market.daily(SESSION).set_index("ticker")
    assert len(prices) == len(truth)
    kodex = prices.set_index("ticker").loc["069500"]
    assert kodex["close"] == truth.at["069500", "close"]
    assert kodex["nav"] == pytest.approx(truth.at["069500", "nav"])
    assert kodex["net_assets_krw"] == truth.at["069500", "net_assets"]
    assert krx.request_count == 2


@pytest.mark.parametrize("day", [SUNDAY, CLOSURE])
def test_holiday_is_a_no_data_answer(open_sb: Sandbox, day: date) -> None:
    rows = client(open_sb).fetch_daily_prices(day)
    assert rows and is_no_data_answer(rows)
    assert daily_prices_from_data_service(rows, day).empty


def test_5xx_then_success(open_sb: Sandbox) -> None:
    open_sb.set_faults("krx_data", http_5xx_next_n=2)
    rows = client(open_sb).fetch_daily_prices(SESSION)
    assert len(rows) > 1000
    assert open_sb.stats()["by_service_status"]["krx_data"] == {"503": 2, "200": 1}


def test_5xx_persisting_is_a_krx_error_with_status() -> None:
    unavailable = (503, {"Content-Type": "text/html"}, b"<html>503</html>", 0.0)
    with scripted_server(lambda n: unavailable) as (url, hits):
        krx = KRXClient(data_url=url, max_retries=1, requests_per_second=RATE)
        with pytest.raises(KRXError) as err:
            krx.fetch_daily_prices(SESSION)
    assert err.value.status == 503 and err.value.screen == "MDCSTAT04301"
    assert "trdDd=20261120" in str(err.value)
    assert len(hits) == 2 and type(err.value) is KRXError


def test_anonymous_clients_keep_their_own_retry_settings() -> None:
    """Without a login there is no one-session-per-account rule: a second client on the same
    URL with more retries gets its own transport rather than the first client's."""
    unavailable = (503, {"Content-Type": "text/html"}, b"<html>503</html>", 0.0)
    with scripted_server(lambda n: unavailable) as (url, hits):
        for max_retries, expected_hits in ((1, 2), (3, 4 + 2)):
            krx = KRXClient(data_url=url, max_retries=max_retries, requests_per_second=RATE)
            with pytest.raises(KRXError):
                krx.fetch_daily_prices(SESSION)
            assert len(hits) == expected_hits


def test_timeout_is_retried_then_reported() -> None:
    slow = (200, {}, b'{"output": []}', 2.0)
    with scripted_server(lambda n: slow) as (url, hits):
        krx = KRXClient(data_url=url, max_retries=1, timeout_s=0.3, requests_per_second=RATE)
        with pytest.raises(KRXError, match="did not answer trdDd=20261120 after 1 retries"):
            krx.fetch_daily_prices(SESSION)
    assert len(hits) == 2


def test_html_maintenance_page(open_sb: Sandbox) -> None:
    open_sb.set_faults("krx_data", html_maintenance_next_n=1)
    with pytest.raises(KRXMaintenance) as err:
        client(open_sb).fetch_etf_master()
    assert err.value.screen == "MDCSTAT04601" and "서비스 제공 불가능" in str(err.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a JSON object"),
        (b'{"OutBlock_1": []}', "envelope key 'output' missing"),
        (b'{"output": "oops"}', "envelope key 'output' missing"),
        (b'{"output": [1, 2]}', "not a list of rows"),
    ],
)
def test_bad_answers_name_screen_and_date(body: bytes, message: str) -> None:
    answer = (200, {"Content-Type": "text/html; charset=utf-8"}, body, 0.0)
    with scripted_server(lambda n: answer) as (url, _), pytest.raises(KRXBadResponse) as err:
        KRXClient(data_url=url, requests_per_second=RATE).fetch_pdf(SESSION, "KR7069500007")
    text = str(err.value)
    assert message in text and "MDCSTAT05001" in text and "trdDd=20261120" in text


def test_malformed_rows_and_dropped_field_fail_parsing(open_sb: Sandbox) -> None:
    krx = client(open_sb)
    open_sb.set_faults("krx_data", malformed_rows_n=1)
    rows = krx.fetch_daily_prices(SESSION)
    with pytest.raises(ParseError) as err:
        daily_prices_from_data_service(rows, SESSION)
    assert err.value.ticker == rows[0]["ISU_SRT_CD"]
    open_sb.clear_faults()
    open_sb.set_faults("krx_data", drop_field="INVSTASST_NETASST_TOTAMT")
    with pytest.raises(ParseError) as err:
        daily_prices_from_data_service(krx.fetch_daily_prices(SESSION), SESSION)
    assert err.value.field == "INVSTASST_NETASST_TOTAMT"


def test_pdf_tracking_error_and_premium_discount(open_sb: Sandbox) -> None:
    krx = client(open_sb)
    ticker = open_sb.market.special["te_0_5"]
    isin = isin_of(open_sb, ticker)
    holdings = holdings_frame(krx.fetch_pdf(SESSION, isin), ticker, SESSION)
    assert len(holdings) > 0 and set(holdings["etf_ticker"]) == {ticker}
    assert holdings["weight_pct"].sum() == pytest.approx(100, abs=1.5)
    before = krx.request_count
    start = date(2023, 11, 1)  # > 730 days before SESSION: two chunked requests
    te = tracking_error_rows(krx.fetch_tracking_error(isin, start, SESSION), ticker=ticker)
    assert krx.request_count - before == 2
    assert te["trade_date"].is_monotonic_increasing and te["trade_date"].is_unique
    assert te["trade_date"].iloc[-1] == SESSION and te["trade_date"].iloc[0] >= start
    assert te["tracking_error_pct"].notna().all()
    pd_rows = premium_discount_rows(krx.fetch_premium_discount(isin, start, SESSION))
    assert pd_rows["trade_date"].is_monotonic_increasing and len(pd_rows) == len(te)
    assert pd_rows["premium_discount_pct"].mean() == pytest.approx(0.3, abs=0.1)


def test_investor_flows_by_day_in_chunks_and_one_session_totals(open_sb: Sandbox) -> None:
    krx = client(open_sb)
    isin = isin_of(open_sb, "069500")
    start = date(2023, 11, 1)  # > 730 days before SESSION: two chunked requests
    answers = {}
    for side in ("buy", "net"):
        rows = krx.fetch_investor_daily(isin, start, SESSION, measure="volume", side=side)
        answers[side] = investor_flows_from_daily({("volume", side): rows}, "069500")
    assert krx.request_count == 4
    bought = answers["buy"].groupby("trade_date")["buy_volume"].sum()
    assert bought.index[0] >= start and bought.index[-1] == SESSION and bought.index.is_unique
    truth = open_sb.market.daily(SESSION).set_index("ticker").at["069500", "volume"]
    assert bought[SESSION] == truth
    assert (answers["net"].groupby("trade_date")["net_volume"].sum() == 0).all()
    totals = investor_flows_from_totals(krx.fetch_investor_totals(isin, SESSION, SESSION),
                                        "069500", SESSION)  # fmt: skip
    one_day = answers["buy"][answers["buy"]["trade_date"] == SESSION]
    assert list(totals["buy_volume"]) == list(one_day["buy_volume"])
    assert krx.request_count == 5
    with pytest.raises(ValueError, match="730 days"):
        krx.fetch_investor_totals(isin, start, SESSION)  # a total cannot be chunked


def test_rate_limit_holds_under_fan_out(open_sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    krx = client(open_sb, requests_per_second=20.0)
    sends = record_sends(monkeypatch)
    etfs = open_sb.market.daily(SESSION)["isin"].head(30).tolist()
    result = fan_out(lambda isin: krx.fetch_pdf(SESSION, isin), etfs, max_workers=8)
    assert not result.failures and len(result.results) == 30
    assert len(open_sb.stats()["timestamps"]["krx_data"]) == len(sends) == 30
    # Eight workers, one limiter: at the moment of sending never more than 20 in a second,
    # however the threads were scheduled, and so at least a second for the 21st.
    assert max_in_window(sends, 1.0) <= 20
    assert result.wall_s >= 29 / 20 * 0.95


# ── login ──


def test_logout_without_credentials_explains(login_sb: Sandbox) -> None:
    with pytest.raises(KRXLoginRequired) as err:
        client(login_sb).fetch_etf_master()
    text = str(err.value)
    assert "KRX_ID" in text and "KRX_PW" in text and "KRX_AUTH_KEY" in text
    assert err.value.status == 400


def test_logout_fault_without_credentials(open_sb: Sandbox) -> None:
    open_sb.set_faults("krx_data", logout_next_n=1)
    with pytest.raises(KRXLoginRequired):
        client(open_sb).fetch_daily_prices(SESSION)


def test_login_then_fetch(login_sb: Sandbox) -> None:
    krx = member(login_sb)
    assert krx.has_login
    assert len(krx.fetch_etf_master()) > 1000
    assert len(krx.fetch_daily_prices(SESSION)) > 1000


def test_relogin_once_after_session_taken_over(login_sb: Sandbox) -> None:
    krx = member(login_sb)
    krx.fetch_etf_master()  # logged in (or reusing this process's session)
    take_over_session(login_sb)
    logins = path_count(login_sb, LOGIN_PAGE_PATH)
    assert len(krx.fetch_daily_prices(SESSION)) > 1000
    assert path_count(login_sb, LOGIN_PAGE_PATH) - logins == 1
    assert login_sb.stats()["by_service_status"]["krx_data"]["400"] == 1


def test_concurrent_threads_relogin_once(login_sb: Sandbox) -> None:
    krx = member(login_sb)
    krx.fetch_etf_master()
    take_over_session(login_sb)
    logins = path_count(login_sb, LOGIN_PAGE_PATH)
    isins = login_sb.market.daily(SESSION)["isin"].head(24).tolist()
    result = fan_out(lambda isin: krx.fetch_pdf(SESSION, isin), isins, max_workers=8)
    assert not result.failures, result.failures
    assert path_count(login_sb, LOGIN_PAGE_PATH) - logins == 1  # one login, not eight


def test_a_second_client_shares_the_session(login_sb: Sandbox) -> None:
    first, second = member(login_sb), member(login_sb, max_workers=2)
    first.fetch_etf_master()
    logins = path_count(login_sb, LOGIN_PAGE_PATH)
    second.fetch_etf_master()
    first.fetch_etf_master()
    assert path_count(login_sb, LOGIN_PAGE_PATH) == logins  # never two sessions per account


def test_logout_fault_with_credentials_relogs_in(login_sb: Sandbox) -> None:
    krx = member(login_sb)
    krx.fetch_etf_master()
    login_sb.set_faults("krx_data", logout_next_n=1)
    assert len(krx.fetch_daily_prices(SESSION)) > 1000


def test_logout_right_after_login_gives_up(login_sb: Sandbox) -> None:
    krx = member(login_sb)
    krx.fetch_etf_master()
    login_sb.set_faults("krx_data", logout_next_n=2)
    with pytest.raises(KRXLoginFailed, match="one session per account"):
        krx.fetch_daily_prices(SESSION)


def test_wrong_password(login_sb: Sandbox) -> None:
    secret = "wrong-pw-hunter2"
    krx = client(login_sb, krx_id="nobody", krx_pw=secret)
    with pytest.raises(KRXLoginFailed) as err:
        krx.fetch_etf_master()
    assert "CD002" in str(err.value) and "KRX_PW" in str(err.value)
    assert secret not in str(err.value) and secret not in repr(err.value)


# ── Open API ──


def test_openapi_with_valid_key_agrees_with_data_service(open_sb: Sandbox) -> None:
    krx = client(open_sb, auth_key=AUTH_KEY)
    assert krx.has_openapi
    openapi = daily_prices_from_openapi(krx.fetch_openapi_daily(SESSION))
    data = daily_prices_from_data_service(krx.fetch_daily_prices(SESSION), SESSION)
    assert set(openapi["trade_date"]) == {SESSION}
    merged = openapi.merge(data, on="ticker", suffixes=("_api", "_data"))
    assert len(merged) == len(openapi) == len(data)
    for column in ("close", "nav", "net_assets_krw", "volume", "index_close"):
        a, b = merged[f"{column}_api"], merged[f"{column}_data"]
        assert ((a == b) | (a.isna() & b.isna())).all(), column


def test_openapi_holiday_and_unpublished_are_empty(open_sb: Sandbox) -> None:
    krx = client(open_sb, auth_key=AUTH_KEY)
    assert krx.fetch_openapi_daily(SUNDAY) == []
    assert krx.fetch_openapi_daily(NOW.date()) == []  # T+1: today is not published yet


def test_openapi_rejected_key(open_sb: Sandbox) -> None:
    secret = "not-the-key-0123456789"
    with pytest.raises(KRXAuthKeyRejected) as err:
        client(open_sb, auth_key=secret).fetch_openapi_daily(SESSION)
    assert err.value.status == 401 and "Unauthorized Key" in str(err.value)
    assert secret not in str(err.value)


def test_openapi_without_key(open_sb: Sandbox) -> None:
    with pytest.raises(KRXAuthKeyRejected, match="KRX_AUTH_KEY"):
        client(open_sb).fetch_openapi_daily(SESSION)
    assert open_sb.stats()["total"] == 0  # nothing sent


# ── secrets ──


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


def test_secrets_never_in_repr_logs_or_errors(login_sb: Sandbox) -> None:
    krx = member(login_sb, auth_key=AUTH_KEY)
    for text in (repr(krx), str(krx)):
        assert PASSWORD not in text and AUTH_KEY not in text
        assert ACCOUNT in text  # the id is not a secret, and shows which account is used
    collect = _Collect()
    loggers = [logging.getLogger(), logging.getLogger("dagster"), logging.getLogger("urllib3")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(collect)
        lg.setLevel(logging.DEBUG)
    errors: list[str] = []
    try:
        take_over_session(login_sb)  # forces a login and a re-login with the password
        krx.fetch_etf_master()
        take_over_session(login_sb)
        krx.fetch_daily_prices(SESSION)
        krx.fetch_openapi_daily(SESSION)
        login_sb.set_faults("krx_data", logout_next_n=2)
        with pytest.raises(KRXLoginFailed) as failed:
            krx.fetch_etf_master()
        errors.append(f"{failed.value!s} {failed.value!r}")
        login_sb.set_faults("krx_data", html_maintenance_next_n=1)
        with pytest.raises(KRXMaintenance) as maintenance:
            krx.fetch_etf_master()
        errors.append(str(maintenance.value))
        with pytest.raises(KRXLoginFailed) as refused:
            member(login_sb, krx_id="nobody").fetch_etf_master()
        errors.append(str(refused.value))
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(collect)
            lg.setLevel(level)
    assert any("logged in" in line for line in collect.lines), collect.lines
    assert any("etf_bydd_trd" in line for line in collect.lines)  # urllib3 logged the URL
    for text in [*collect.lines, *errors]:
        assert PASSWORD not in text and AUTH_KEY not in text, text
