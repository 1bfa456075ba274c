"""The sandbox's KRX wire: data service screens, login rules, Open API, faults and stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import requests

from etf_assets.errors import KRXLoginFailed
from etf_assets.partitions import KST
from etf_assets.resources.krx import KRXClient
from etf_sandbox.krx_routes import current_datetime
from etf_sandbox.server import Faults, Sandbox, SandboxConfig, start_sandbox

FROZEN = datetime(2026, 11, 20, 19, 0, tzinfo=KST)  # Friday, after the close and 18:00
DATA = "/comm/bldAttendant/getJsonData.cmd"
OPENAPI = "/svc/apis/etp/etf_bydd_trd"
KEY = {"AUTH_KEY": "sandbox-auth-key"}

# field order of the real captured samples (wire_samples/krx_*.json, openapi_*.json)
FIELDS_04601 = [
    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "ETF_OBJ_IDX_NM",
    "IDX_CALC_INST_NM1", "IDX_CALC_INST_NM2", "ETF_REPLICA_METHD_TP_CD", "IDX_MKT_CLSS_NM",
    "IDX_ASST_CLSS_NM", "LIST_SHRS", "COM_ABBRV", "CU_QTY", "ETF_TOT_FEE", "TAX_TP_CD",
]  # fmt: skip
FIELDS_04301 = [
    "ISU_SRT_CD", "ISU_CD", "SECUGRP_ID", "ISU_ABBRV", "TDD_CLSPRC", "CMPPREVDD_PRC",
    "FLUC_TP_CD", "FLUC_RT", "NAV", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL",
    "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT", "LIST_SHRS", "IDX_IND_NM",
    "OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_TP_CD1", "FLUC_RT1",
]  # fmt: skip
FIELDS_05001 = ["COMPST_ISU_CD", "COMPST_ISU_CD2", "MKT_ID", "SECUGRP_ID", "COMPST_ISU_NM",
                "COMPST_ISU_CU1_SHRS", "VALU_AMT", "COMPST_AMT", "COMPST_RTO"]  # fmt: skip
FIELDS_OPENAPI = sorted([
    "BAS_DD", "ISU_CD", "ISU_NM", "TDD_CLSPRC", "CMPPREVDD_PRC", "FLUC_RT", "NAV", "TDD_OPNPRC",
    "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT",
    "LIST_SHRS", "IDX_IND_NM", "OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_RT_IDX",
])  # fmt: skip


class Clock:
    """A settable sandbox clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(FROZEN)


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=clock)) as sb:
        yield sb


def bld(sb: Sandbox, screen: str, session: requests.Session | None = None,
        **form: str) -> requests.Response:  # fmt: skip
    post = (session or requests).post
    return post(sb.url + DATA, data={"bld": f"dbms/MDC/STAT/standard/{screen}", **form},
                timeout=10)  # fmt: skip


def rows(resp: requests.Response) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text[:200]
    return resp.json()["output"]


def login(sb: Sandbox, s: requests.Session, pw: str = "sandbox-pw", **extra: str) -> dict:
    s.get(sb.url + "/contents/MDC/COMS/client/MDCCOMS001.cmd", timeout=10)
    s.get(sb.url + "/contents/MDC/COMS/client/view/login.jsp", params={"site": "mdc"}, timeout=10)
    form = {"mbrNm": "", "telNo": "", "di": "", "certType": "", "mbrId": "sandbox", "pw": pw}
    r = s.post(sb.url + "/contents/MDC/COMS/client/MDCCOMS001D1.cmd", data={**form, **extra},
               timeout=10)  # fmt: skip
    return r.json()


# ---- data service ---------------------------------------------------------------------------


def test_same_seed_same_bytes(clock: Clock) -> None:
    with start_sandbox(SandboxConfig(now=clock)) as a, start_sandbox(SandboxConfig(now=clock)) as b:
        ra, rb = bld(a, "MDCSTAT04301", trdDd="20261119"), bld(b, "MDCSTAT04301", trdDd="20261119")
    assert ra.content == rb.content and len(ra.content) > 100_000


def test_master(sandbox: Sandbox) -> None:
    r = bld(sandbox, "MDCSTAT04601")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.json()["CURRENT_DATETIME"] == "2026.11.20 PM 07:00:00"
    out = rows(r)
    assert len(out) >= 1000 and all(list(row) == FIELDS_04601 for row in out)
    by = {row["ISU_SRT_CD"]: row for row in out}
    assert by["069500"]["ISU_CD"] == "KR7069500007" and by["069500"]["LIST_DD"] == "2002/10/14"
    assert by["069500"]["ISU_NM"] == "삼성 KODEX200 증권상장지수투자신탁[주식]"
    assert by["0000D0"]["ISU_CD"] == "KR70000D0009"
    assert by["122630"]["IDX_CALC_INST_NM2"] == "2X 레버리지"
    assert all(len(row["ETF_TOT_FEE"].split(".")[1]) == 6 for row in out)
    assert "," in by["069500"]["LIST_SHRS"]
    delisted = sandbox.market.special["delisted"]
    assert delisted not in by


def test_prices_trading_day(sandbox: Sandbox) -> None:
    m = sandbox.market
    out = rows(bld(sandbox, "MDCSTAT04301", trdDd="20261120"))
    assert len(out) == 1070 and all(list(row) == FIELDS_04301 for row in out)
    by = {row["ISU_SRT_CD"]: row for row in out}
    k = by["069500"]
    assert k["SECUGRP_ID"] == "EF" and "," in k["TDD_CLSPRC"] and "," in k["NAV"]
    close, change = int(k["TDD_CLSPRC"].replace(",", "")), int(k["CMPPREVDD_PRC"].replace(",", ""))
    assert k["FLUC_TP_CD"] == ("1" if change > 0 else "2" if change < 0 else "3")
    assert close == m.daily(date(2026, 11, 20)).set_index("ticker").loc["069500", "close"]
    assert k["INVSTASST_NETASST_TOTAMT"] != "0"
    ni = by[m.special["no_index"]]
    assert [ni[f] for f in ("OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_TP_CD1", "FLUC_RT1")] == [
        "-"] * 4  # fmt: skip
    assert any(row["CMPPREVDD_PRC"].startswith("-") for row in out)


def test_prices_no_trade_day_and_delisted_past(sandbox: Sandbox) -> None:
    m = sandbox.market
    t = m.special["no_trade_day"]
    d = m.ground_truth[t]["no_trade_dates"][0]
    row = {r["ISU_SRT_CD"]: r for r in rows(bld(sandbox, "MDCSTAT04301",
                                                trdDd=f"{d:%Y%m%d}"))}[t]  # fmt: skip
    assert (row["TDD_OPNPRC"], row["TDD_HGPRC"], row["TDD_LWPRC"], row["ACC_TRDVOL"]) == (
        "0", "0", "0", "0")  # fmt: skip
    assert row["CMPPREVDD_PRC"] == "0" and row["FLUC_TP_CD"] == "3"
    gone = m.special["delisted"]
    last = m.ground_truth[gone]["last_trade_date"]
    past = rows(bld(sandbox, "MDCSTAT04301", trdDd=f"{last:%Y%m%d}"))
    assert gone in {r["ISU_SRT_CD"] for r in past}


def test_prices_holiday_future_and_before_start(sandbox: Sandbox, clock: Clock) -> None:
    sunday = rows(bld(sandbox, "MDCSTAT04301", trdDd="20261122"))
    assert len(sunday) >= 1000
    for row in sunday:
        assert row["FLUC_TP_CD"] == "0" and row["TDD_CLSPRC"] == "-" and row["NAV"] == "-"
        assert row["LIST_SHRS"] != "-" and row["IDX_IND_NM"]
    future = rows(bld(sandbox, "MDCSTAT04301", trdDd="20261123"))
    assert future and all(r["TDD_CLSPRC"] == "-" for r in future)
    assert rows(bld(sandbox, "MDCSTAT04301", trdDd="20021011")) == []
    assert rows(bld(sandbox, "MDCSTAT04301", trdDd="2026-11-20")) == []
    clock.now = datetime(2026, 11, 20, 14, 0, tzinfo=KST)  # before the close
    assert all(r["TDD_CLSPRC"] == "-" for r in rows(bld(sandbox, "MDCSTAT04301",
                                                          trdDd="20261120")))  # fmt: skip
    clock.now = datetime(2026, 11, 20, 16, 0, tzinfo=KST)  # closed, net assets not final
    today = rows(bld(sandbox, "MDCSTAT04301", trdDd="20261120"))
    assert all(r["INVSTASST_NETASST_TOTAMT"] == "0" for r in today)
    assert all(r["TDD_CLSPRC"] != "-" for r in today)


def test_pdf_tracking_and_deviation_shapes(sandbox: Sandbox) -> None:
    m = sandbox.market
    pdf = rows(bld(sandbox, "MDCSTAT05001", trdDd="20261120", isuCd="KR7069500007"))
    assert 10 <= len(pdf) <= 200 and all(list(r) == FIELDS_05001 for r in pdf)
    assert pdf[0]["COMPST_ISU_CD"] == "005930" and pdf[0]["COMPST_ISU_CU1_SHRS"].endswith(".00")
    cash = next(r for r in pdf if r["COMPST_ISU_CD"] == "KRD010010001")
    assert (cash["MKT_ID"], cash["COMPST_ISU_CU1_SHRS"], cash["VALU_AMT"]) == ("", "-", "-")
    assert float(cash["COMPST_RTO"]) > 0  # in a stock basket the cash line is weighted (152100)
    inv = rows(bld(sandbox, "MDCSTAT05001", trdDd="20261120", isuCd="KR7114800006"))
    fut = next(r for r in inv if r["SECUGRP_ID"] == "FU")
    assert fut["MKT_ID"] == "DRV" and fut["COMPST_ISU_CU1_SHRS"].startswith("-")
    assert fut["COMPST_AMT"] == "-" and fut["VALU_AMT"].startswith("-")
    assert rows(bld(sandbox, "MDCSTAT05001", trdDd="20261120", isuCd="KR7000000000")) == []

    te_isin = m.etfs.set_index("ticker").loc[m.special["te_0_5"], "isin"]
    te = rows(bld(sandbox, "MDCSTAT05901", strtDd="20261001", endDd="20261130", isuCd=te_isin))
    assert list(te[0]) == ["TRD_DD", "LST_NAV", "NAV_CHG_RT", "OBJ_STKPRC_IDX", "IDX_CHG_RTO",
                           "TRACE_YD_MULT", "TRACE_ERR_RT"]  # fmt: skip
    assert te[0]["TRD_DD"] == "2026/11/20" and te[-1]["TRD_DD"] == "2026/10/01"
    assert len({r["TRACE_ERR_RT"] for r in te}) == 1
    assert float(te[0]["TRACE_ERR_RT"]) == pytest.approx(0.5, rel=0.15)

    dev = rows(bld(sandbox, "MDCSTAT06001", strtDd="20261101", endDd="20261130",
                   isuCd=te_isin))  # fmt: skip
    assert list(dev[0]) == ["TRD_DD", "FLUC_TP_CD", "CLSPRC", "LST_NAV", "DIVRG_RT"]
    assert dev[0]["TRD_DD"] < dev[-1]["TRD_DD"] == "2026/11/20"
    for r in dev:
        assert float(r["DIVRG_RT"]) == pytest.approx(0.3, abs=0.02)


def test_unknown_screen(sandbox: Sandbox) -> None:
    r = bld(sandbox, "MDCSTAT99999")
    assert r.status_code == 400 and r.text != "LOGOUT"


# ---- login ----------------------------------------------------------------------------------


def test_login_duplicate_and_skipdup(clock: Clock) -> None:
    with start_sandbox(SandboxConfig(now=clock, require_login=True)) as sb:
        assert bld(sb, "MDCSTAT04601").status_code == 400
        assert bld(sb, "MDCSTAT04601").text == "LOGOUT"
        first, second = requests.Session(), requests.Session()
        assert login(sb, first, pw="wrong")["_error_code"] == "CD002"
        assert login(sb, first)["_error_code"] == "CD001"
        assert "JSESSIONID" in first.cookies
        assert len(rows(bld(sb, "MDCSTAT04601", first))) >= 1000
        assert login(sb, second)["_error_code"] == "CD011"
        assert bld(sb, "MDCSTAT04601", second).text == "LOGOUT"
        assert login(sb, second, skipDup="Y")["_error_code"] == "CD001"
        assert rows(bld(sb, "MDCSTAT04601", second))
        kicked = bld(sb, "MDCSTAT04601", first)
        assert (kicked.status_code, kicked.text) == (400, "LOGOUT")
        clock.now = FROZEN + timedelta(hours=1, minutes=1)  # sessions live one hour
        assert bld(sb, "MDCSTAT04601", second).text == "LOGOUT"
        assert login(sb, second)["_error_code"] == "CD001"
        assert rows(bld(sb, "MDCSTAT04601", second))


def test_password_change_fault_answers_cd010(clock: Clock) -> None:
    """KRX makes members change the password every 3 months: the login answers CD010."""
    with start_sandbox(SandboxConfig(now=clock, require_login=True)) as sb:
        sb.set_faults("krx_data", krx_password_change=True)
        s = requests.Session()
        answer = login(sb, s)
        assert answer["_error_code"] == "CD010" and answer["_error_message"]
        assert bld(sb, "MDCSTAT04601", s).text == "LOGOUT"  # not logged in
        assert login(sb, s, pw="wrong")["_error_code"] == "CD002"  # the password comes first
        sb.clear_faults()
        assert login(sb, s)["_error_code"] == "CD001"
        sb.set_faults("krx_data", krx_password_change="someone-else")
        assert login(sb, requests.Session(), skipDup="Y")["_error_code"] == "CD001"
        r = requests.post(
            sb.url + "/_sandbox/faults",
            timeout=10,
            json={"service": "krx_data", "krx_password_change": ["sandbox"]},
        )
        assert r.json()["krx_data"]["krx_password_change"] == ["sandbox"]
        assert login(sb, requests.Session())["_error_code"] == "CD010"


def test_password_change_fails_the_real_client_login(clock: Clock) -> None:
    with start_sandbox(SandboxConfig(now=clock, require_login=True)) as sb:
        sb.set_faults(krx_password_change=True)
        client = KRXClient(data_url=sb.url, openapi_url=sb.url, krx_id="sandbox",
                           krx_pw="sandbox-pw", requests_per_second=40.0)  # fmt: skip
        with pytest.raises(KRXLoginFailed, match=r"CD010.*password change"):
            client.fetch_etf_master()


# ---- Open API -------------------------------------------------------------------------------


def test_openapi_rows_and_t_plus_1(sandbox: Sandbox, clock: Clock) -> None:
    url = sandbox.url + OPENAPI
    r = requests.get(url, params={"basDd": "20261119"}, headers=KEY, timeout=10)
    out = r.json()["OutBlock_1"]
    assert len(out) >= 1000 and all(list(row) == FIELDS_OPENAPI for row in out)
    assert all("," not in v for row in out for v in row.values() if v[:1].isdigit())
    kodex = {row["ISU_CD"]: row for row in out}["069500"]
    assert kodex["BAS_DD"] == "20261119" and kodex["ISU_NM"] == "KODEX 200"
    assert requests.get(url, params={"basDd": "20261120"}, headers=KEY,
                        timeout=10).json() == {"OutBlock_1": []}  # fmt: skip
    clock.now = datetime(2026, 11, 21, 8, 0, tzinfo=KST)
    assert requests.get(url, params={"basDd": "20261120"}, headers=KEY, timeout=10).json()[
        "OutBlock_1"]  # fmt: skip
    for bad in ("20261122", "2026-11-19", "", "20021011"):
        r = requests.get(url, params={"basDd": bad}, headers=KEY, timeout=10)
        assert (r.status_code, r.json()) == (200, {"OutBlock_1": []})
    posted = requests.post(url, json={"basDd": "20261119"}, headers=KEY, timeout=10)
    assert len(posted.json()["OutBlock_1"]) == len(out)
    form = requests.post(url, data="basDd=20261119", headers=KEY, timeout=10)
    assert (form.status_code, form.json()) == (200, {"OutBlock_1": []})


def test_openapi_keys_and_quota(clock: Clock) -> None:
    with start_sandbox(SandboxConfig(now=clock, openapi_daily_limit=3)) as sb:
        url = sb.url + OPENAPI
        for headers in ({}, {"AUTH_KEY": "nope"}):
            r = requests.get(url, params={"basDd": "20261119"}, headers=headers, timeout=10)
            assert r.status_code == 401
            assert r.json() == {"respMsg": "Unauthorized Key", "respCode": "401"}
        codes = [requests.get(url, params={"basDd": "20261122"}, headers=KEY,
                              timeout=10).status_code for _ in range(4)]  # fmt: skip
        assert codes == [200, 200, 200, 429]
        clock.now = FROZEN + timedelta(days=1)  # a new KST day, a new quota
        assert requests.get(url, params={"basDd": "20261122"}, headers=KEY,
                            timeout=10).status_code == 200  # fmt: skip


# ---- faults, admin, stats -------------------------------------------------------------------


def test_faults_5xx_logout_maintenance(sandbox: Sandbox) -> None:
    sandbox.set_faults(http_5xx_next_n=2)
    assert [bld(sandbox, "MDCSTAT04601").status_code for _ in range(3)] == [503, 503, 200]
    sandbox.set_faults("krx_data", logout_next_n=1, html_maintenance_next_n=1)
    r1, r2, r3 = (bld(sandbox, "MDCSTAT04601") for _ in range(3))
    assert (r1.status_code, r1.text) == (400, "LOGOUT")
    assert r2.status_code == 200 and "서비스 제공 불가능" in r2.text
    assert r3.json()["output"]
    sandbox.set_faults("krx_openapi", http_5xx_next_n=1)
    assert bld(sandbox, "MDCSTAT04601").status_code == 200  # other service unaffected


def test_faults_malformed_rows_and_drop_field(sandbox: Sandbox) -> None:
    sandbox.set_faults("krx_data", malformed_rows_n=2, drop_field="NAV")
    out = rows(bld(sandbox, "MDCSTAT04301", trdDd="20261120"))
    assert all("NAV" not in r for r in out)
    assert out[0]["TDD_CLSPRC"].endswith("x") and out[1]["LIST_SHRS"].endswith("x")
    assert not out[2]["TDD_CLSPRC"].endswith("x")
    sandbox.clear_faults()
    assert "NAV" in rows(bld(sandbox, "MDCSTAT04301", trdDd="20261120"))[0]


def test_faults_latency_and_timeout(sandbox: Sandbox) -> None:
    sandbox.set_faults("krx_openapi", latency_ms=300)
    t0 = time.perf_counter()
    requests.get(sandbox.url + OPENAPI, params={"basDd": "20261122"}, headers=KEY, timeout=10)
    assert time.perf_counter() - t0 >= 0.3
    assert sandbox.state.faults.get("krx_data", "latency_ms", 0) == 0  # latency is per service
    sandbox.set_faults("krx_data", timeout_every_n=2, timeout_s=3)
    bld(sandbox, "MDCSTAT04601")
    with pytest.raises(requests.Timeout):
        requests.post(sandbox.url + DATA, data={"bld": "x"}, timeout=0.5)


def test_krx_rate_block_page(clock: Clock) -> None:
    # A low limit, so even a slow loaded machine sends more than it within one second.
    with start_sandbox(SandboxConfig(now=clock, krx_rate_per_s=2)) as sb:
        answers = [bld(sb, "MDCSTAT99999") for _ in range(8)]
        blocked = [r for r in answers if r.status_code == 200]
        assert blocked and "차단" in blocked[-1].text
        assert answers[0].status_code == 400


def test_admin_endpoints_and_stats(sandbox: Sandbox) -> None:
    r = requests.post(
        sandbox.url + "/_sandbox/faults",
        json={"service": "krx_data", "http_5xx_next_n": 1},
        timeout=10,
    )
    assert r.json() == {"krx_data": {"http_5xx_next_n": 1}}
    assert requests.get(sandbox.url + "/_sandbox/faults", timeout=10).json() == r.json()
    assert requests.post(sandbox.url + "/_sandbox/faults", json={"bogus": 1},
                         timeout=10).status_code == 400  # fmt: skip
    assert bld(sandbox, "MDCSTAT04601").status_code == 503
    bld(sandbox, "MDCSTAT04601")
    requests.get(sandbox.url + OPENAPI, params={"basDd": "20261119"}, timeout=10)
    stats = sandbox.stats()
    assert stats["by_service"]["krx_data"] == 2 and stats["by_service"]["krx_openapi"] == 1
    assert stats["by_service_status"]["krx_data"] == {"503": 1, "200": 1}
    assert stats["by_path"][DATA] == 2 and len(stats["timestamps"]["krx_data"]) == 2
    assert stats["by_service"]["admin"] == 3
    http_stats = requests.get(sandbox.url + "/_sandbox/stats", timeout=10).json()
    assert http_stats["by_service"]["krx_openapi"] == 1
    requests.post(sandbox.url + "/_sandbox/reset", timeout=10)
    assert sandbox.stats()["by_service"] == {"admin": 1}
    sandbox.reset_stats()
    assert sandbox.stats()["total"] == 0


def test_fault_counters_scope_and_one_shot_flags() -> None:
    f = Faults()
    f.set("all", kis_egw00201_next_n=1, kis_expire_tokens=True)
    f.set("kis", kis_egw00201_next_n=1)
    assert f.take("kis", "kis_egw00201_next_n") and f.take("kis", "kis_egw00201_next_n")
    assert not f.take("kis", "kis_egw00201_next_n")
    assert f.take("kis", "kis_expire_tokens") and not f.take("kis", "kis_expire_tokens")
    with pytest.raises(ValueError):
        f.set("nowhere", latency_ms=1)


def test_current_datetime_format() -> None:
    assert current_datetime(datetime(2026, 1, 25, 20, 25, 4, tzinfo=KST)) == (
        "2026.01.25 PM 08:25:04")  # fmt: skip
    assert current_datetime(datetime(2026, 1, 25, 0, 5, 0, tzinfo=KST)) == "2026.01.25 AM 12:05:00"
