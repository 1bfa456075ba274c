"""The sandbox's investor flows: the market's ground truth and the 04901/04902 wire.

Ground truth: every unit traded has a buyer and a seller, so per session and fund the
investor types' purchases and sales each add up to the session's volume and traded value, and
their nets sum to zero, as in KRX's real answer. The wire is checked against the real answers'
shape (field names and order, commas, signs, newest first, 13 rows in KRX's order).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import requests

from etf_assets.partitions import KST, sessions_back, sessions_between
from etf_assets_tests.wire_samples import sample_body
from etf_sandbox.market import ANCHOR, INVESTOR_GROUPS, INVESTOR_TYPES, Market, get_market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

DATA = "/comm/bldAttendant/getJsonData.cmd"
DAILY = "krx_data_MDCSTAT04902_investor_daily_0069M0_20260116_20260123.json"
TOTALS = "krx_data_MDCSTAT04901_investor_0069M0_20260116_20260123.json"
WEEK = sessions_back(ANCHOR, 5)
FUNDS = ("069500", "0069M0", "122630", "114800")


@pytest.fixture(scope="module")
def market() -> Market:
    return get_market()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(datetime(2026, 11, 20, 19, 0, tzinfo=KST))


@pytest.fixture(scope="module")
def sandbox(clock: Clock) -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=clock)) as sb:
        yield sb


def post(sb: Sandbox, screen: str, **form: str) -> list[dict[str, str]]:
    resp = requests.post(
        sb.url + DATA, data={"bld": f"dbms/MDC/STAT/standard/{screen}", **form}, timeout=10
    )
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    return resp.json()["output"]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def isin(market: Market, ticker: str) -> str:
    return str(market.etfs.loc[market.position(ticker), "isin"])


@pytest.mark.parametrize("ticker", FUNDS)
def test_types_buy_and_sell_exactly_what_traded(market: Market, ticker: str) -> None:
    flows = market.investor_flows(ticker, WEEK[0], WEEK[-1])
    assert set(flows["investor"]) == set(INVESTOR_TYPES)
    assert (flows[["buy_volume", "sell_volume", "buy_value", "sell_value"]] >= 0).all().all()
    per_day = flows.groupby("date")[["buy_volume", "sell_volume", "buy_value", "sell_value"]].sum()
    for day, sums in per_day.iterrows():
        daily = market.daily(day).set_index("ticker").loc[ticker]
        assert sums["buy_volume"] == sums["sell_volume"] == daily["volume"]
        assert sums["buy_value"] == sums["sell_value"] == daily["traded_value"]
    assert list(per_day.index) == list(WEEK)
    pd.testing.assert_frame_equal(flows, market.investor_flows(ticker, WEEK[0], WEEK[-1]))


def test_groups_are_the_types_summed_and_nets_sum_to_zero(market: Market) -> None:
    types = market.investor_flows("069500", WEEK[0], WEEK[-1])
    groups = market.investor_group_flows("069500", WEEK[0], WEEK[-1])
    assert list(INVESTOR_GROUPS) == ["기관", "기타법인", "개인", "외국인"]  # 04902's columns
    assert list(groups["group"].unique()) == list(INVESTOR_GROUPS)
    institution = types[types["investor"].isin(INVESTOR_GROUPS["기관"])].groupby("date").sum()
    got = groups[groups["group"] == "기관"].set_index("date")
    assert (got["buy_value"] == institution["buy_value"]).all()
    assert (got["net_volume"] == got["buy_volume"] - got["sell_volume"]).all()
    assert (groups.groupby("date")[["net_volume", "net_value"]].sum() == 0).all().all()
    assert (groups["net_value"] != 0).any()  # not zero because nothing moved


def test_a_session_without_a_trade_has_no_flows(market: Market) -> None:
    ticker = market.special["no_trade_day"]
    idle_days = market.ground_truth[ticker]["no_trade_dates"]
    start, end = idle_days[0] - timedelta(days=7), idle_days[0] + timedelta(days=7)
    around = market.investor_flows(ticker, start, end)
    assert set(around["date"]) == set(sessions_between(start, end)) - set(idle_days)
    suspended = market.special["suspended"]
    assert market.investor_flows(suspended, WEEK[0], WEEK[-1]).empty


def test_04902_wire_matches_the_real_answer_shape(market: Market, sandbox: Sandbox) -> None:
    real = sample_body(DAILY)["output"]
    got = post(sandbox, "MDCSTAT04902", inqCondTpCd1="1", inqCondTpCd2="1",
               isuCd=isin(market, "0069M0"), strtDd=ymd(WEEK[0]), endDd=ymd(WEEK[-1]))  # fmt: skip
    assert [list(r) for r in got] == [list(real[0])] * len(WEEK)
    assert [r["TRD_DD"] for r in got] == [d.strftime("%Y/%m/%d") for d in reversed(WEEK)]
    truth = market.investor_group_flows("0069M0", WEEK[0], WEEK[-1])
    for row in got:
        day = datetime.strptime(row["TRD_DD"], "%Y/%m/%d").date()
        nets = truth[truth["date"] == day].set_index("group")["net_value"]
        assert [number(row[f"NUM_ITM_VAL2{i}"]) for i in range(1, 5)] == list(nets)
        assert row["NUM_ITM_VAL25"] == "0"
    assert any(v.startswith("-") and "," in v for r in got for v in r.values())


@pytest.mark.parametrize(("measure", "column"), [("1", "traded_value"), ("2", "volume")])
def test_04902_bought_and_sold_add_up_to_the_session(
    market: Market, sandbox: Sandbox, measure: str, column: str
) -> None:
    day = WEEK[-1]
    traded = int(market.daily(day).set_index("ticker").at["069500", column])
    for side in ("2", "3"):  # bought, sold
        (row,) = post(sandbox, "MDCSTAT04902", inqCondTpCd1=measure, inqCondTpCd2=side,
                      isuCd=isin(market, "069500"), strtDd=ymd(day), endDd=ymd(day))  # fmt: skip
        groups = [number(row[f"NUM_ITM_VAL2{i}"]) for i in range(1, 5)]
        assert sum(groups) == number(row["NUM_ITM_VAL25"]) == traded
        assert min(groups) >= 0


def test_04901_wire_matches_the_real_answer_shape(market: Market, sandbox: Sandbox) -> None:
    real = sample_body(TOTALS)["output"]
    got = post(sandbox, "MDCSTAT04901", isuCd=isin(market, "0069M0"), strtDd=ymd(WEEK[0]),
               endDd=ymd(WEEK[-1]))  # fmt: skip
    assert [list(r) for r in got] == [list(r) for r in real]
    assert [(r["INVST_NM"], r["CONV_OBJ_TP_CD"]) for r in got] == [
        (r["INVST_NM"], r["CONV_OBJ_TP_CD"]) for r in real
    ]
    by_name = {r["INVST_NM"]: r for r in got}
    for row in got:
        for unit in ("VOL", "VAL"):
            assert number(row[f"NETBID_TRD{unit}"]) == number(row[f"BID_TRD{unit}"]) - number(
                row[f"ASK_TRD{unit}"]
            )
    week = market.investor_flows("0069M0", WEEK[0], WEEK[-1])
    assert (
        number(by_name["전체"]["BID_TRDVOL"])
        == number(by_name["전체"]["ASK_TRDVOL"])
        == int(week["buy_volume"].sum())
    )
    assert number(by_name["기관합계"]["BID_TRDVAL"]) == sum(
        number(by_name[k]["BID_TRDVAL"]) for k in INVESTOR_GROUPS["기관"]
    )
    assert by_name["전체"]["NETBID_TRDVAL"] == "0"


def test_04901_answers_zeros_for_a_listed_fund_and_nothing_for_an_unlisted_one(
    market: Market, sandbox: Sandbox
) -> None:
    idle = post(sandbox, "MDCSTAT04901", isuCd=isin(market, market.special["suspended"]),
                strtDd=ymd(WEEK[0]), endDd=ymd(WEEK[-1]))  # fmt: skip
    assert len(idle) == 13
    assert {v for r in idle for k, v in r.items() if k.endswith(("VOL", "VAL"))} == {"0"}
    new = market.special["new_listing"]
    before = market.etfs.loc[market.position(new), "listing_date"] - timedelta(days=10)
    assert post(sandbox, "MDCSTAT04901", isuCd=isin(market, new), strtDd=ymd(before),
                endDd=ymd(before + timedelta(days=3))) == []  # fmt: skip


def test_flows_are_published_from_18_00(market: Market, sandbox: Sandbox, clock: Clock) -> None:
    day = WEEK[-1]
    form = dict(inqCondTpCd1="2", inqCondTpCd2="1", isuCd=isin(market, "069500"),
                strtDd=ymd(WEEK[0]), endDd=ymd(day))  # fmt: skip
    newest = {}
    try:
        for hour, minute in ((17, 59), (18, 0)):
            clock.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST)
            newest[hour] = post(sandbox, "MDCSTAT04902", **form)[0]["TRD_DD"]
    finally:
        clock.now = datetime(2026, 11, 20, 19, 0, tzinfo=KST)
    assert newest == {17: WEEK[-2].strftime("%Y/%m/%d"), 18: day.strftime("%Y/%m/%d")}


@pytest.mark.parametrize(("measure", "side"), [("3", "1"), ("1", "4"), ("", "1")])
def test_04902_unknown_selector_answers_no_rows(
    market: Market, sandbox: Sandbox, measure: str, side: str
) -> None:
    form = dict(isuCd=isin(market, "069500"), strtDd=ymd(WEEK[0]), endDd=ymd(WEEK[-1]))
    assert post(sandbox, "MDCSTAT04902", inqCondTpCd1=measure, inqCondTpCd2=side, **form) == []
