"""The sandbox's KIS wire, spoken to with plain requests: shapes, gateway errors, rounding."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import requests

from etf_assets.partitions import KST
from etf_assets_tests.wire_samples import sample_body
from etf_sandbox import kis_routes
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=KST)
KEY, SECRET = "PSsandboxAPPKEYreal0000000000000000", "sandbox-secret-real"
PAPER_KEY, PAPER_SECRET = "PSsandboxAPPKEYpaper000000000000000", "sandbox-secret-paper"
SAMPLE = "kis_etf_inquire_price.json"  # in etf_assets_tests/wire_samples/


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as server:
        yield server


@pytest.fixture(scope="module")
def token(sb: Sandbox) -> str:
    resp = requests.post(
        f"{sb.url}{kis_routes.PATH_TOKEN}",
        json={"grant_type": "client_credentials", "appkey": KEY, "appsecret": SECRET},
        timeout=5,
    )
    assert resp.status_code == 200
    return resp.json()["access_token"]


def get(sb: Sandbox, path: str, token: str, params: dict[str, str], **headers: str):
    base = {
        "authorization": f"Bearer {token}",
        "appkey": KEY,
        "appsecret": SECRET,
        "tr_id": kis_routes.TR_IDS[path],
        "custtype": "P",
    }
    return requests.get(f"{sb.url}{path}", params=params, headers={**base, **headers}, timeout=5)


def test_token_answer_shape(sb: Sandbox, token: str) -> None:
    # the module fixture issued it; a second issue within a minute is refused
    resp = requests.post(
        f"{sb.url}{kis_routes.PATH_TOKEN}",
        json={"grant_type": "client_credentials", "appkey": KEY, "appsecret": SECRET},
        timeout=5,
    )
    assert resp.status_code == 403
    assert resp.json()["error_code"] == resp.json()["msg_cd"] == "EGW00133"
    assert token.count(".") == 2  # JWT-shaped
    assert kis_routes._kis(sb.state).issued[KEY] == 1


def test_token_expiry_fields(sb: Sandbox) -> None:
    resp = requests.post(
        f"{sb.url}{kis_routes.PATH_TOKEN}",
        json={"grant_type": "client_credentials", "appkey": PAPER_KEY, "appsecret": PAPER_SECRET},
        timeout=5,
    )
    body = resp.json()
    assert set(body) == {"access_token", "access_token_token_expired", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert body["access_token_token_expired"] == "2026-11-21 18:00:00"


def test_wrong_secret_refused(sb: Sandbox) -> None:
    resp = requests.post(
        f"{sb.url}{kis_routes.PATH_TOKEN}",
        json={"grant_type": "client_credentials", "appkey": KEY, "appsecret": "nope"},
        timeout=5,
    )
    assert resp.status_code == 403
    assert resp.json()["error_code"] == "EGW00105"
    assert "access_token" not in resp.json()


def test_inquire_price_fields_match_the_sample(sb: Sandbox, token: str) -> None:
    resp = get(sb, kis_routes.PATH_PRICE, token, {"fid_cond_mrkt_div_code": "J",
                                                  "fid_input_iscd": "069500"})  # fmt: skip
    body = resp.json()
    assert resp.status_code == 200 and body["rt_cd"] == "0" and body["msg_cd"] == "MCA00000"
    sample = sample_body(SAMPLE)
    assert list(body["output"]) == list(sample)
    assert all(isinstance(v, str) for v in body["output"].values())
    row = sb.market.daily(date(2026, 11, 20))
    assert row is not None
    expected = row[row["ticker"] == "069500"].iloc[0]
    assert body["output"]["stck_prpr"] == str(expected["close"])
    assert body["output"]["nav"] == f"{expected['nav']:.2f}"


def test_unknown_ticker_zeroed_quote(sb: Sandbox, token: str) -> None:
    body = get(sb, kis_routes.PATH_PRICE, token, {"FID_INPUT_ISCD": "999999"}).json()
    assert body["rt_cd"] == "0"
    assert body["output"]["stck_prpr"] == "0" and body["output"]["nav"] == "0.00"


def test_nav_daily_trend_caps_at_100_newest_first(sb: Sandbox, token: str) -> None:
    params = {"FID_INPUT_ISCD": "069500", "FID_INPUT_DATE_1": "20250101",
              "FID_INPUT_DATE_2": "20261231"}  # fmt: skip
    rows = get(sb, kis_routes.PATH_NAV_DAILY, token, params).json()["output"]
    assert len(rows) == 100
    assert rows[0]["stck_bsop_date"] == "20261120"  # nothing after the last completed session
    dates = [r["stck_bsop_date"] for r in rows]
    assert dates == sorted(dates, reverse=True)
    assert rows[0]["cntg_vol"] == ""


@pytest.mark.parametrize(
    ("headers", "status", "msg_cd"),
    [
        ({"authorization": "Bearer nope"}, 500, "EGW00123"),
        ({"appsecret": "nope"}, 500, "EGW00105"),
        ({"appkey": "PSunknown"}, 500, "EGW00103"),
        ({"tr_id": "FHKST01010100"}, 200, "OPSQ0002"),
        ({"custtype": ""}, 200, "OPSQ1002"),
    ],
)
def test_gateway_errors(
    sb: Sandbox, token: str, headers: dict[str, str], status: int, msg_cd: str
) -> None:
    resp = get(sb, kis_routes.PATH_PRICE, token, {"FID_INPUT_ISCD": "069500"}, **headers)
    assert resp.status_code == status
    assert resp.json()["rt_cd"] == "1" and resp.json()["msg_cd"] == msg_cd


def test_rate_limit_enforced_per_key(
    sb: Sandbox, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """18 per window, then EGW00201. The window is stretched to a minute so 25 sequential
    requests land in one window however slow a loaded machine answers them."""
    kis_routes._kis(sb.state).hits.clear()  # no hits left from earlier tests
    monkeypatch.setattr(kis_routes, "RATE_WINDOW_S", 60.0)
    codes = [
        get(sb, kis_routes.PATH_PRICE, token, {"FID_INPUT_ISCD": "069500"}).json()["msg_cd"]
        for _ in range(25)
    ]
    assert codes[:18] == ["MCA00000"] * 18
    assert "EGW00201" in codes[18:]


def test_last_session_rule() -> None:
    assert kis_routes.last_session(datetime(2026, 11, 20, 15, 29, tzinfo=KST)) == date(2026, 11, 19)
    assert kis_routes.last_session(datetime(2026, 11, 20, 15, 30, tzinfo=KST)) == date(2026, 11, 20)
    assert kis_routes.last_session(datetime(2026, 11, 22, 12, 0, tzinfo=KST)) == date(2026, 11, 20)


def test_rounding_reproduces_the_sample() -> None:
    assert kis_routes._limits(19020) == (24725, 13315)
    assert kis_routes._eok(19028.18 * 62_400_000) == "11873"  # 억원, truncated


def test_net_assets_are_krx_figure_not_nav_times_shares(sb: Sandbox, token: str) -> None:
    """etf_ntas_ttam (억원) follows KRX's net assets, also where unsettled creations or
    redemptions make them differ from NAV × listed shares."""
    kis_routes._kis(sb.state).hits.clear()
    session = date(2026, 11, 20)
    daily = sb.market.daily(session).set_index("ticker")
    gap = sb.market.net_assets_gap(session)
    naive = daily["nav"] * daily["listed_shares"]
    apart = (daily["net_assets"] - naive).abs() > 2e8  # more than 억원 rounding can hide
    tickers = gap[apart].index[:4]
    assert len(tickers) == 4
    for ticker in tickers:
        out = get(sb, kis_routes.PATH_PRICE, token, {"FID_INPUT_ISCD": ticker}).json()["output"]
        net_assets = int(daily.at[ticker, "net_assets"])
        assert out["etf_ntas_ttam"] == str(math.floor(net_assets / 1e8))
        assert out["etf_ntas_ttam"] != str(math.floor(naive[ticker] / 1e8))


def test_components_of_a_derivative_basket(sb: Sandbox, token: str) -> None:
    kis_routes._kis(sb.state).hits.clear()
    body = get(sb, kis_routes.PATH_COMPONENTS, token, {"FID_INPUT_ISCD": "114800"}).json()
    codes = [r["stck_shrn_iscd"] for r in body["output2"]]
    holdings = sb.market.holdings("114800", date(2026, 11, 20))
    assert codes == list(holdings["code"]) and body["output1"]["etf_cnfg_issu_cnt"] == "4"
    future_code = holdings.loc[holdings["kind"] == "future", "code"].iloc[0]
    futures = body["output2"][codes.index(future_code)]
    assert int(futures["etf_cnfg_issu_avls"]) < 0  # the short leg's valuation
