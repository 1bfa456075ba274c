"""The sandbox's stock screens over HTTP: KRX's field names, order, envelopes and number
formats, and stocks consistent with the baskets the sandbox serves."""

from collections.abc import Iterator
from datetime import date, datetime

import pytest
import requests

from etf_assets.partitions import KST
from etf_assets.resources.krx import KRXClient
from etf_assets_tests.helpers import krx_client
from etf_assets_tests.wire_samples import sample_body
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

SESSION = date(2026, 11, 20)
SATURDAY = date(2026, 11, 21)


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[Sandbox]:
    frozen = datetime(2026, 11, 22, 21, 0, tzinfo=KST)
    with start_sandbox(SandboxConfig(n_etfs=150, now=lambda: frozen)) as server:
        yield server


@pytest.fixture(scope="module")
def client(small_sandbox: Sandbox) -> KRXClient:
    return krx_client(small_sandbox)


def _post(sandbox: Sandbox, screen: str, **form: str) -> requests.Response:
    form = {"bld": f"dbms/MDC/STAT/standard/{screen}", **form}
    return requests.post(f"{sandbox.url}/comm/bldAttendant/getJsonData.cmd", data=form, timeout=10)


def test_envelopes_and_content_type_are_krxs(small_sandbox: Sandbox) -> None:
    for screen, key in (("MDCSTAT01501", "OutBlock_1"), ("MDCSTAT03901", "block1")):
        resp = _post(small_sandbox, screen, mktId="STK", trdDd="20261120")
        assert resp.headers["Content-Type"].startswith("text/html")
        assert set(resp.json()) == {key, "CURRENT_DATETIME"}


def test_field_names_and_order_match_krx(client: KRXClient) -> None:
    real_prices = sample_body("krx_data_MDCSTAT01501_stock_prices_KSQ_20210122.trimmed.json")
    real_sectors = sample_body(
        "krx_data_MDCSTAT03901_stock_sectors_STK_20220902.reconstructed.json"
    )
    prices = client.fetch_stock_prices(SESSION, "KSQ")
    sectors = client.fetch_stock_sectors(SESSION, "STK")
    assert list(prices[0]) == list(real_prices["OutBlock_1"][0])
    assert list(sectors[0]) == list(real_sectors["block1"][0])
    assert {r["MKT_ID"] for r in prices} == {"KSQ"} and {r["MKT_TP_NM"] for r in sectors} == {
        "KOSPI"
    }
    big = next(r for r in client.fetch_stock_prices(SESSION, "STK") if r["ISU_SRT_CD"] == "005930")
    assert "," in big["LIST_SHRS"] and "," in big["MKTCAP"]


def test_saturday_answers_every_stock_without_prices(client: KRXClient) -> None:
    rows = client.fetch_stock_prices(SATURDAY, "STK")
    assert rows and all(r["TDD_CLSPRC"] == "-" and r["LIST_SHRS"] != "-" for r in rows)
    assert any(r["ISU_SRT_CD"] == "00104K" for r in rows)  # alphanumeric codes, as KRX's


def test_every_stock_a_basket_holds_is_listed_at_the_price_it_is_valued_at(
    small_sandbox: Sandbox, client: KRXClient
) -> None:
    quotes = {
        r["ISU_SRT_CD"]: r
        for market in ("STK", "KSQ")
        for r in client.fetch_stock_prices(SESSION, market)
    }
    market = small_sandbox.market
    held = 0
    for ticker in market.etfs["ticker"][:40]:
        for line in market.holdings(ticker, SESSION).itertuples(index=False):
            if line.kind != "stock":
                continue
            held += 1
            close = float(quotes[line.code]["TDD_CLSPRC"].replace(",", ""))
            assert line.amount_krw == pytest.approx(line.shares_per_cu * close, rel=0.01)
    assert held > 100
