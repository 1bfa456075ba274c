"""The real market's awkward shapes in the generated market: rates on the reference session,
ground truth on `Market`, and the exact strings both KRX services send for them.

The reference counts come from real answers (docs/krx.md § Formats; the Open API of 2024-01-04:
812 rows, 14 with index fields "0.00", 26 with "-"; 19-27 % of rows with net assets more than
0.1 % away from NAV × listed shares).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import requests

from etf_assets.partitions import KST
from etf_sandbox.market import ANCHOR, BRAND_RENAMES, ISSUERS, Market, get_market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=KST)  # ANCHOR is final on both KRX services
DATA = "/comm/bldAttendant/getJsonData.cmd"
OPENAPI = "/svc/apis/etp/etf_bydd_trd"
KEY = {"AUTH_KEY": "sandbox-auth-key"}
INT = re.compile(r"^-?\d{1,3}(,\d{3})*$")  # data service integers: "-13,946,580"
DEC2 = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d\d$")  # "8,140.00", "-3.58"


@pytest.fixture(scope="module")
def market() -> Market:
    return get_market()


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as server:
        yield server


def screen(sb: Sandbox, bld: str, **form: str) -> list[dict[str, str]]:
    resp = requests.post(sb.url + DATA, data={"bld": f"dbms/MDC/STAT/standard/{bld}", **form},
                         timeout=30)  # fmt: skip
    assert resp.status_code == 200, resp.text[:200]
    return resp.json()["output"]


def openapi(sb: Sandbox, day: date) -> dict[str, dict[str, str]]:
    resp = requests.get(sb.url + OPENAPI, params={"basDd": f"{day:%Y%m%d}"}, headers=KEY,
                        timeout=30)  # fmt: skip
    return {row["ISU_CD"]: row for row in resp.json()["OutBlock_1"]}


def prices(sb: Sandbox, day: date) -> dict[str, dict[str, str]]:
    return {row["ISU_SRT_CD"]: row for row in screen(sb, "MDCSTAT04301", trdDd=f"{day:%Y%m%d}")}


def pdf(sb: Sandbox, market: Market, ticker: str) -> list[dict[str, str]]:
    isin = market.etfs.set_index("ticker").at[ticker, "isin"]
    return screen(sb, "MDCSTAT05001", trdDd=f"{ANCHOR:%Y%m%d}", isuCd=isin)


def number(text: str) -> float:
    return float(text.replace(",", ""))


# ---- unpublished index levels ---------------------------------------------------------------


def test_unpublished_index_rates_per_index_and_every_day(market: Market) -> None:
    daily = market.daily(ANCHOR)
    share = daily["index_status"].value_counts(normalize=True)
    assert 0.015 <= share["zero"] <= 0.02
    assert 0.028 <= share["dash"] <= 0.035
    per_index = market.etfs.assign(status=market.index_status).groupby("tracking_index")
    assert (per_index["status"].nunique() == 1).all()  # one index, one answer
    hidden = market.index_status != "published"
    assert np.isnan(market.index_level[:, hidden]).all()  # on every session
    assert not np.isnan(market.index_level[:, ~hidden]).any()
    truth = market.unpublished_index()
    assert set(truth.values()) == {"zero", "dash"} and len(truth) == hidden.sum()
    zero = market.etfs[market.index_status == "zero"]
    assert (zero["index_provider"] == "S&P").all()
    assert (zero["asset_class"].eq("원자재") | zero["tracking_index"].str.contains(
        "Futures|GSCI")).all()  # fmt: skip
    assert truth[market.special["no_index"]] == truth[market.special["suspended"]] == "dash"


def test_unpublished_index_on_the_wire(sb: Sandbox, market: Market) -> None:
    api, data = openapi(sb, ANCHOR), prices(sb, ANCHOR)
    status = market.daily(ANCHOR).set_index("ticker")["index_status"]
    api_fields = ("OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_RT_IDX")
    data_fields = ("OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_TP_CD1", "FLUC_RT1")
    zero_rows = [t for t, row in api.items() if all(row[f] == "0.00" for f in api_fields)]
    assert sorted(zero_rows) == sorted(status[status == "zero"].index)
    for ticker, kind in status[status != "published"].items():
        assert [data[ticker][f] for f in data_fields] == ["-"] * 4, ticker
        expected = ["0.00"] * 3 if kind == "zero" else ["-"] * 3
        assert [api[ticker][f] for f in api_fields] == expected, ticker
        assert data[ticker]["IDX_IND_NM"] == api[ticker]["IDX_IND_NM"] != ""
    kodex = api["069500"]
    assert re.fullmatch(r"\d+\.\d\d", kodex["OBJ_STKPRC_IDX"]) and kodex["OBJ_STKPRC_IDX"] != "0.00"


# ---- net assets ≠ NAV × listed shares -------------------------------------------------------


def test_net_assets_diverge_at_the_real_rate(market: Market) -> None:
    gap = market.net_assets_gap(ANCHOR)
    diverging = gap[gap.abs() > 0.001]
    assert 0.2 <= len(diverging) / len(gap) <= 0.27
    assert diverging.abs().median() < 0.05  # mostly small
    rows = np.arange(len(market.sessions) + 1)[:, None]
    live = (rows > market.first_idx) & (rows < market.end_idx)
    every = (market.net_assets / (market.nav * market.shares) - 1)[live]
    assert 0.2 <= (np.abs(every) > 0.001).mean() <= 0.25
    assert every.min() < -0.8 and 0.8 < every.max() <= 1.1  # the tail, like −84 % … +103 %


def test_net_assets_ground_truth_is_the_settled_shares(market: Market) -> None:
    t = market.session_row(ANCHOR)
    e = np.arange(len(market.etfs))
    settled = market.shares[t - market.settlement_lag, e]
    assert (market.net_assets[t] == np.round(market.nav[t] * settled)).all()
    assert set(np.unique(market.settlement_lag)) == {1, 2}


def test_net_assets_agree_between_data_service_and_open_api(sb: Sandbox, market: Market) -> None:
    api, data = openapi(sb, ANCHOR), prices(sb, ANCHOR)
    truth = market.daily(ANCHOR).set_index("ticker")
    gap = market.net_assets_gap(ANCHOR)
    for ticker in gap[gap.abs() > 0.01].index:
        expected = int(truth.at[ticker, "net_assets"])
        assert api[ticker]["INVSTASST_NETASST_TOTAMT"] == str(expected)
        assert data[ticker]["INVSTASST_NETASST_TOTAMT"] == f"{expected:,}"
        shares, nav = int(api[ticker]["LIST_SHRS"]), float(api[ticker]["NAV"])
        assert abs(expected / (nav * shares) - 1) > 0.009, ticker


# ---- outliers -------------------------------------------------------------------------------


def test_outliers_ground_truth(market: Market) -> None:
    out = market.outliers(ANCHOR).set_index("ticker")
    suspended = market.special["suspended"]
    assert out.at[suspended, "kind"] == "suspended"
    assert out.at[suspended, "premium_pct"] > 10_000
    assert (out["kind"] == "premium_spike").sum() >= 1
    spikes = out[out["kind"] == "premium_spike"]
    assert spikes["premium_pct"].abs().between(7.9, 25.1).all()
    per_session = len(market.premium_spikes) / len(market.sessions)
    assert 0.05 <= per_session <= 0.15  # a few funds on some sessions
    e = market.position(suspended)
    since = market.session_row(market.ground_truth[suspended]["suspended_since"])
    assert (market.volume[since:, e] == 0).all() and (market.opn[since:, e] == 0).all()
    assert (market.volume[market.first_idx[e] : since, e] > 0).any()  # it traded before
    assert market.etfs.at[e, "expense_ratio_pct"] == 0.0


def test_outliers_on_the_wire(sb: Sandbox, market: Market) -> None:
    api = openapi(sb, ANCHOR)
    suspended = market.special["suspended"]
    row = api[suspended]
    assert (row["TDD_OPNPRC"], row["TDD_HGPRC"], row["TDD_LWPRC"], row["ACC_TRDVOL"]) == (
        "0", "0", "0", "0")  # fmt: skip
    assert (row["TDD_CLSPRC"], row["NAV"], row["CMPPREVDD_PRC"]) == ("9590", "44.20", "0")
    assert row["OBJ_STKPRC_IDX"] == row["FLUC_RT_IDX"] == "-"
    assert row["INVSTASST_NETASST_TOTAMT"] == str(round(44.20 * int(row["LIST_SHRS"])))
    master = {r["ISU_SRT_CD"]: r for r in screen(sb, "MDCSTAT04601")}
    assert master[suspended]["ETF_TOT_FEE"] == "0.000000"
    for spike in market.outliers(ANCHOR).itertuples():
        wire = api[spike.ticker]
        premium = (int(wire["TDD_CLSPRC"]) - float(wire["NAV"])) / float(wire["NAV"]) * 100
        assert premium == pytest.approx(spike.premium_pct)
        low, close, high = (int(wire[f]) for f in ("TDD_LWPRC", "TDD_CLSPRC", "TDD_HGPRC"))
        assert spike.kind == "suspended" or low <= close <= high


# ---- PDF baskets ----------------------------------------------------------------------------


def test_basket_types_follow_the_funds(market: Market) -> None:
    listed = market.etfs.iloc[market.listed_on(ANCHOR)]
    kinds = listed["basket"].value_counts()
    assert kinds["inverse"] == (listed["leverage_factor"] < 0).sum()
    assert kinds["leveraged"] == (listed["leverage_factor"] > 1).sum()
    others = {"stock", "bond", "foreign_stock", "mixed", "futures", "covered_call"}
    assert others <= set(kinds.index)


def test_inverse_basket_is_krx_layout(sb: Sandbox, market: Market) -> None:
    """114800 on 2021-04-02: ETF line, futures leg, 원화예금 and 설정현금액, no weights."""
    lines = pdf(sb, market, "114800")
    assert [r["SECUGRP_ID"] for r in lines] == ["EF", "FU", "", ""]
    etf, fut, deposit, creation = lines
    assert (etf["COMPST_ISU_CD"], etf["COMPST_ISU_CD2"], etf["MKT_ID"]) == (
        "069500", "KR7069500007", "STK")  # fmt: skip
    assert DEC2.match(etf["COMPST_ISU_CU1_SHRS"]) and etf["COMPST_ISU_CU1_SHRS"].startswith("-")
    assert etf["VALU_AMT"] == "-" and INT.match(etf["COMPST_AMT"]) and etf["COMPST_AMT"][0] == "-"
    assert re.fullmatch(r"KR4101[A-Z][1-9ABC]000\d", fut["COMPST_ISU_CD"])
    assert fut["COMPST_ISU_CD2"] == fut["COMPST_ISU_CD"] and fut["MKT_ID"] == "DRV"
    assert DEC2.match(fut["COMPST_ISU_CU1_SHRS"]) and fut["COMPST_ISU_CU1_SHRS"].startswith("-")
    assert INT.match(fut["VALU_AMT"]) and fut["VALU_AMT"][0] == "-" and fut["COMPST_AMT"] == "-"
    assert (deposit["COMPST_ISU_CD"], deposit["COMPST_ISU_NM"]) == ("KRD010010001", "원화예금")
    assert (creation["COMPST_ISU_CD"], creation["COMPST_ISU_NM"]) == ("CASH00000001", "설정현금액")
    assert deposit["COMPST_AMT"] == creation["COMPST_AMT"] and INT.match(deposit["COMPST_AMT"])
    for cash in (deposit, creation):
        assert (cash["MKT_ID"], cash["COMPST_ISU_CU1_SHRS"], cash["VALU_AMT"]) == ("", "-", "-")
    assert all(r["COMPST_RTO"] == "-" for r in lines)
    # the ETF short and the cash make one creation unit's NAV, the futures the exposure
    monday = next(s for s in market.sessions if s >= ANCHOR - timedelta(days=ANCHOR.weekday()))
    total = market.nav[market.session_row(monday), market.position("114800")] * 100_000
    assert number(deposit["COMPST_AMT"]) + number(etf["COMPST_AMT"]) == pytest.approx(total, 1e-6)
    # ... to a hundredth of a contract (KRX's quantities have 2 decimals): within half of one
    contract_krw = number(fut["VALU_AMT"]) / number(fut["COMPST_ISU_CU1_SHRS"])
    assert abs(-number(fut["VALU_AMT"]) - total) <= 0.005 * contract_krw + 1


def test_stock_basket_has_both_amounts_and_one_weighted_cash_line(
    sb: Sandbox, market: Market
) -> None:
    lines = pdf(sb, market, "069500")
    top = lines[0]
    assert (top["COMPST_ISU_CD"], top["COMPST_ISU_CD2"], top["COMPST_ISU_NM"]) == (
        "005930", "KR7005930003", "삼성전자")  # fmt: skip
    assert 20 < float(top["COMPST_RTO"]) < 36  # 152100 on 2021-04-02: 31.74
    stocks, cash = lines[:-1], lines[-1]
    assert all(r["SECUGRP_ID"] == "ST" and r["MKT_ID"] in ("STK", "KSQ") for r in stocks)
    assert all(re.fullmatch(r"[\d,]+\.00", r["COMPST_ISU_CU1_SHRS"]) for r in stocks)
    assert all(INT.match(r["VALU_AMT"]) and INT.match(r["COMPST_AMT"]) for r in stocks)
    assert sum(r["VALU_AMT"] != r["COMPST_AMT"] for r in stocks) > 0.9 * len(stocks)
    assert (cash["COMPST_ISU_CD"], cash["COMPST_ISU_CU1_SHRS"], cash["VALU_AMT"]) == (
        "KRD010010001", "-", "-")  # fmt: skip
    assert 0 < float(cash["COMPST_RTO"]) < 2.5
    assert sum(float(r["COMPST_RTO"]) for r in lines) == pytest.approx(100, abs=0.1)
    truth = market.holdings("069500", ANCHOR)
    assert list(truth["kind"]) == ["stock"] * len(stocks) + ["cash"]
    assert (truth["value_krw"].iloc[:-1] != truth["amount_krw"].iloc[:-1]).mean() > 0.9


def test_leveraged_bond_foreign_and_covered_call_baskets(sb: Sandbox, market: Market) -> None:
    lev = pdf(sb, market, "122630")
    assert lev[0]["SECUGRP_ID"] == "FU" and not lev[0]["COMPST_ISU_CU1_SHRS"].startswith("-")
    assert [r["COMPST_ISU_CD"] for r in lev[-2:]] == ["KRD010010001", "CASH00000001"]
    assert {r["SECUGRP_ID"] for r in lev[1:-2]} == {"ST"} and all(
        r["COMPST_RTO"] == "-" for r in lev)  # fmt: skip

    listed = market.etfs.iloc[market.listed_on(ANCHOR)].set_index("ticker")
    bond = pdf(sb, market, listed.index[listed["basket"] == "bond"][0])
    bonds = bond[:-1]
    assert all(re.fullmatch(r"KR[16][0-9A-Z]{8}\d", r["COMPST_ISU_CD"]) for r in bonds)
    assert all(r["COMPST_ISU_CD2"] == r["COMPST_ISU_CD"] for r in bonds)
    assert all((r["MKT_ID"], r["SECUGRP_ID"]) == ("", "") for r in bonds)
    assert all(INT.match(r["VALU_AMT"]) and INT.match(r["COMPST_AMT"]) for r in bonds)
    assert sum(float(r["COMPST_RTO"]) for r in bond) == pytest.approx(100, abs=0.1)

    foreign = pdf(sb, market, "133690")
    stocks = foreign[:-1]
    assert all(r["COMPST_ISU_CD2"].startswith("US") for r in stocks)
    assert all(r["COMPST_ISU_CD"] == r["COMPST_ISU_CD2"][3:9] for r in stocks)
    assert all((r["VALU_AMT"], r["COMPST_RTO"]) == ("-", "-") for r in foreign)
    assert all(INT.match(r["COMPST_AMT"]) and DEC2.match(r["COMPST_ISU_CU1_SHRS"]) for r in stocks)
    assert any(not r["COMPST_ISU_CU1_SHRS"].endswith(".00") for r in stocks)  # fractional

    covered = listed.index[listed["basket"] == "covered_call"][0]
    option = pdf(sb, market, covered)[0]
    assert (option["MKT_ID"], option["SECUGRP_ID"]) == ("DRV", "OP")
    assert re.fullmatch(r"KR4201[A-Z][1-9ABC]\d{3}\d", option["COMPST_ISU_CD"])
    assert option["COMPST_ISU_CU1_SHRS"].startswith("-") and option["COMPST_AMT"] == "-"


def test_every_basket_line_kind_and_amounts(market: Market) -> None:
    """Ground truth per line: which amount KRX sends follows from the kind."""
    listed = market.etfs.iloc[market.listed_on(ANCHOR)]
    frames = [market.holdings(t, ANCHOR) for t in listed["ticker"]]
    lines = pd.concat(frames, ignore_index=True)
    kinds = set(lines["kind"])
    assert kinds == {"stock", "foreign_stock", "bond", "etf", "future", "option", "cash"}
    only_value = lines["kind"].isin(["future", "option"])
    only_amount = lines["kind"].isin(["etf", "cash", "foreign_stock"])
    assert lines.loc[only_value, "amount_krw"].isna().all()
    assert lines.loc[only_value, "value_krw"].notna().all()
    assert lines.loc[only_amount, "value_krw"].isna().all()
    assert lines.loc[~only_value, "amount_krw"].notna().all()
    both = lines[~only_value & ~only_amount]
    assert both["value_krw"].notna().all()
    per_fund = pd.Series([len(f) for f in frames], index=listed["ticker"])
    assert (per_fund >= 2).all()


# ---- messy text -----------------------------------------------------------------------------


def test_issuers_casing_and_padded_index_names(sb: Sandbox, market: Market) -> None:
    master = screen(sb, "MDCSTAT04601")
    assert len({r["COM_ABBRV"] for r in master}) == len(ISSUERS) == 28
    samsung = [r["ISU_ENG_NM"].split()[0] for r in master if r["COM_ABBRV"] == "삼성자산운용"]
    title = samsung.count("Samsung") / len(samsung)
    assert samsung.count("SAMSUNG") > samsung.count("Samsung") > 0 and 0.08 < title < 0.3
    padded = {r["ETF_OBJ_IDX_NM"] for r in master if r["ETF_OBJ_IDX_NM"].endswith("\t")}
    assert padded and all(n.endswith("(Price Return)\t\t\t") for n in padded)
    funds = [r["ISU_SRT_CD"] for r in master if r["ETF_OBJ_IDX_NM"] in padded]
    assert 0.005 <= len(funds) / len(master) <= 0.015
    api, data = openapi(sb, ANCHOR), prices(sb, ANCHOR)
    for ticker in funds:
        assert api[ticker]["IDX_IND_NM"] == data[ticker]["IDX_IND_NM"] in padded


def test_brand_renames_change_names_over_time(sb: Sandbox, market: Market) -> None:
    before, after = date(2024, 1, 4), ANCHOR
    assert BRAND_RENAMES["한화자산운용"][1] > before
    old_api, old_data = openapi(sb, before), prices(sb, before)
    assert old_api["152100"]["ISU_NM"] == old_data["152100"]["ISU_ABBRV"] == "ARIRANG 200"
    assert old_api["252400"]["ISU_NM"] == "KBSTAR 200선물레버리지"
    assert openapi(sb, after)["152100"]["ISU_NM"] == "PLUS 200"
    master = {r["ISU_SRT_CD"]: r for r in screen(sb, "MDCSTAT04601")}
    assert master["152100"]["ISU_NM"] == "한화 PLUS 200 증권상장지수투자신탁(주식)"
    renamed = market.etfs[market.etfs["renamed_on"].notna()]
    assert len(renamed) > 50
    for issuer, (old_brand, day) in BRAND_RENAMES.items():
        funds = renamed[renamed["issuer"] == issuer].index.to_numpy()
        assert len(funds) and (market.etfs.loc[funds, "renamed_on"] == day).all()
        names = market.names_on(day - timedelta(days=1), funds)
        assert names["name"].str.split().str[0].eq(old_brand).all()
    assert market.names_on(before + timedelta(days=1000), renamed.index.to_numpy())[
        "name"].tolist() == renamed["name"].tolist()  # fmt: skip


def test_counts_on_the_reference_session(market: Market) -> None:
    """How many rows of each shape 2026-11-20 holds (printed with -s)."""
    daily = market.daily(ANCHOR)
    gap = market.net_assets_gap(ANCHOR)
    listed = market.etfs.iloc[market.listed_on(ANCHOR)]
    lines = pd.concat([market.holdings(t, ANCHOR) for t in listed["ticker"]])
    counts = {
        "rows": len(daily),
        "index 0.00 (Open API) / - (data service)": int((daily["index_status"] == "zero").sum()),
        "index - on both": int((daily["index_status"] == "dash").sum()),
        "net assets off NAV x shares by > 0.1 %": int((gap.abs() > 0.001).sum()),
        "outliers": market.outliers(ANCHOR)["kind"].value_counts().to_dict(),
        "baskets": listed["basket"].value_counts().to_dict(),
        "PDF lines": lines["kind"].value_counts().to_dict(),
        "padded index names": int(listed["tracking_index"].str.endswith("\t").sum()),
        "issuers": listed["issuer"].nunique(),
    }
    print(counts)
    assert counts["rows"] == 1070
