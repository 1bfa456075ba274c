"""The generated market: realistic shape, internal consistency and the ground-truth funds."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from etf_assets.metrics.classification import classify
from etf_assets.parsing.krx import etf_details_frame, master_raw_frame
from etf_assets.partitions import KST
from etf_sandbox.krx_routes import _master
from etf_sandbox.market import (
    ALNUM_FROM,
    ALNUM_LETTERS,
    ANCHOR,
    FAMOUS_DELISTED,
    HOLDING_COLUMNS,
    START,
    Market,
    build_market,
    etf_isin,
    generated_sessions,
    get_market,
    isin_check_digit,
)
from etf_sandbox.market.costs import etf_costs
from etf_sandbox.wire import SandboxConfig, SandboxRequest, SandboxState


@pytest.fixture(scope="module")
def market() -> Market:
    return get_market()


@pytest.fixture(scope="module")
def listed(market: Market) -> pd.DataFrame:
    """The master as of ANCHOR."""
    return market.etfs.iloc[market.listed_on(ANCHOR)]


def _realised_te(market: Market, ticker: str, end: date, n: int = 250) -> float:
    """docs/assets.md § Definitions: std of NAV return (payouts added back on their ex-dates)
    − L × index return over n sessions."""
    e = market.position(ticker)
    t = market.session_row(end)
    nav = market.nav[t - n : t + 1, e]
    idx = market.index_level[t - n : t + 1, e]
    factor = market.etfs.at[e, "leverage_factor"]
    paid = market.cash_paid(e, np.arange(t - n + 1, t + 1))
    excess = ((nav[1:] + paid) / nav[:-1] - 1) - factor * (idx[1:] / idx[:-1] - 1)
    return float(np.std(excess, ddof=1) * np.sqrt(250) * 100)


def test_build_is_deterministic() -> None:
    sessions = generated_sessions()
    a = build_market(7, 300, sessions)
    b = build_market(7, 300, sessions)
    c = build_market(8, 300, sessions)
    pd.testing.assert_frame_equal(a.daily(ANCHOR), b.daily(ANCHOR))
    pd.testing.assert_frame_equal(a.etfs, b.etfs)
    assert not a.daily(ANCHOR)["close"].equals(c.daily(ANCHOR)["close"])


def test_daily_is_none_off_session(market: Market) -> None:
    assert market.daily(date(2026, 11, 22)) is None  # Sunday
    assert market.daily(date(2002, 10, 11)) is None  # before START, the first listing day


def test_universe_size_codes_and_isins(market: Market, listed: pd.DataFrame) -> None:
    assert len(listed) == 1070
    assert market.etfs["ticker"].is_unique and market.etfs["name"].is_unique
    alnum = listed[~listed["ticker"].str.fullmatch(r"\d{6}")]
    # the real master of 2026-01-25: 186 of 1,066 codes alphanumeric (17.4 %); every listing
    # since 2024-12-17 has one, so the share grows through 2026 (~25 % by ANCHOR)
    master = market.etfs.iloc[market.listed_on(date(2026, 1, 25))]
    assert 0.15 <= (~master["ticker"].str.fullmatch(r"\d{6}")).mean() <= 0.19
    shape = re.compile(rf"^\d{{4}}[{ALNUM_LETTERS}]\d$")
    assert alnum["ticker"].map(lambda t: bool(shape.match(t))).all()
    assert (alnum["listing_date"] >= ALNUM_FROM).all()
    assert (listed.loc[listed["listing_date"] >= ALNUM_FROM, "ticker"].isin(alnum["ticker"])).all()
    for real in ("KR7069500007", "KR70000D0009", "KR70069M0006", "KR70112X0000"):
        assert etf_isin(real[3:9]) == real
    assert (market.etfs["isin"] == market.etfs["ticker"].map(etf_isin)).all()
    assert all(isin_check_digit(i[:11]) == i[11] for i in market.etfs["isin"])


def test_realistic_distributions(market: Market, listed: pd.DataFrame) -> None:
    share = listed["issuer"].value_counts(normalize=True)
    assert 0.17 < share["삼성자산운용"] < 0.25 and 0.17 < share["미래에셋자산운용"] < 0.25
    assert 0.09 < share["케이비자산운용"] < 0.16 and 0.07 < share["한국투자신탁운용"] < 0.13
    assert listed["issuer"].nunique() == 28
    lev = listed["leverage_label"].value_counts(normalize=True)
    assert 0.03 < lev["2X 레버리지"] < 0.065 and 0.015 < lev["1X 인버스"] < 0.05
    assert 0.002 < lev["2X 인버스"] < 0.02
    assert set(listed["leverage_factor"]) == {1.0, 2.0, -1.0, -2.0}
    classes = listed["asset_class"].value_counts(normalize=True)
    assert 0.62 < classes["주식"] < 0.8 and 0.1 < classes["채권"] < 0.2
    regions = listed["market_region"].value_counts(normalize=True)
    assert 0.45 < regions["국내"] < 0.62 and 0.33 < regions["해외"] < 0.5
    repl = set(listed["replication"])
    assert repl == {"실물(패시브)", "실물(액티브)", "합성(패시브)", "합성(액티브)"}
    assert listed.loc[listed["replication"].str.contains("액티브"), "name"].str.contains(
        "액티브").all()  # fmt: skip
    fees = listed.set_index("ticker")["expense_ratio_pct"]
    assert fees.drop(market.special["suspended"]).between(0.005, 0.99).all()
    assert listed["cu_shares"].between(1_000, 100_000).all()
    years = pd.to_datetime(listed["listing_date"]).dt.year
    assert years.min() == 2002 and years.max() == 2026
    # real listings in 2025: 1,058 − 935 listed at the year ends + ~46 liquidations ≈ 169
    assert 135 <= (years == 2025).sum() <= 203


def test_famous_funds(market: Market) -> None:
    e = market.etfs.set_index("ticker")
    k = e.loc["069500"]
    assert (k["name"], k["issuer"], k["listing_date"], k["tracking_index"]) == (
        "KODEX 200",
        "삼성자산운용",
        date(2002, 10, 14),
        "코스피 200",
    )
    assert k["name_full"] == "삼성 KODEX200 증권상장지수투자신탁[주식]"
    assert e.loc["102110", "listing_date"] == date(2008, 4, 3)
    assert e.loc["152100", ["name", "issuer"]].tolist() == ["PLUS 200", "한화자산운용"]
    assert e.loc["114800", "leverage_factor"] == -1.0
    assert e.loc["122630", "leverage_label"] == "2X 레버리지"
    assert e.loc["252670", "leverage_label"] == "2X 인버스"
    assert e.loc["0000D0", "listing_date"] == date(2024, 12, 17)
    assert e.loc["0069M0", "name"] == "1Q 미국나스닥100"
    close = market.daily(ANCHOR).set_index("ticker").loc["069500", "close"]
    assert 20_000 < close < 80_000  # about 100 × the generated KOSPI 200


def test_rate_funds_are_synthetic_and_gold_spot_funds_no_derivatives(market: Market) -> None:
    """Every rate fund (asset class 기타: CD금리, KOFR, 머니마켓) is swap-based as the real ones
    are, in name, replication and ISU_NM; a KRX금현물 fund holds gold (금-실물, no 파생형); and
    etf_assets' own rules, on the master the sandbox serves, let 퇴직연금 hold both."""
    etfs = market.etfs
    rate = etfs[etfs["asset_class"] == "기타"]
    assert len(rate) > 20
    assert rate["name"].str.contains("(합성)", regex=False).all()
    assert rate["replication"].str.startswith("합성").all()
    assert rate["name_full"].str.endswith("(합성)").all()
    assert rate["name_eng"].str.contains("SYNTH").all()
    gold = etfs[
        etfs["tracking_index"].str.startswith("KRX 금현물지수")
        & etfs["replication"].str.startswith("실물")
    ]
    assert len(gold) > 2 and (gold["asset_class"] == "원자재").all()
    assert not gold["name_full"].str.contains("파생").any()
    assert gold["name_full"].str.endswith("특별자산상장지수투자신탁(금-실물)").all()
    assert etfs.loc[~etfs.index.isin(gold.index) & (etfs["asset_class"] == "원자재"),
                    "name_full"].str.contains("파생").all()  # fmt: skip
    kofia = etf_costs(market, date(2026, 10, 1)).set_index("ticker")["fund_type"]
    assert (kofia.reindex(gold["ticker"]).dropna() == "특별자산").all()
    assert (kofia.reindex(rate["ticker"]).dropna() == "파생형").all()

    now = datetime.combine(ANCHOR, time(18), KST)
    state = SandboxState(SandboxConfig(now=lambda: now), market)
    rows = _master(SandboxRequest("POST", "/", {}, {}, None, {}, {}, b""), state)
    raw = master_raw_frame(rows, ANCHOR, ANCHOR, now)
    verdicts = classify(etf_details_frame(raw).assign(
        basket_as_of=None, stock_weight_pct=None, derivatives_weight_pct=None,
    )).set_index("ticker")  # fmt: skip
    listed_rate = verdicts[verdicts["asset_class"] == "money_market"]
    names = etfs.set_index("ticker")["name"].reindex(listed_rate.index)
    assert names.str.contains("KOFR").any() and names.str.contains("CD금리").any()
    assert listed_rate["is_synthetic"].all() and listed_rate["retirement_eligible"].all()
    assert listed_rate["retirement_rule"].str.contains("but 합성").all()
    listed_gold = verdicts.loc[verdicts.index.intersection(gold["ticker"])]
    assert len(listed_gold) > 2
    assert (listed_gold["fund_type"] == "금-실물").all()
    assert listed_gold["retirement_eligible"].all()
    assert listed_gold["retirement_rule"].str.startswith("not 파생형").all()


def test_history_grows_from_four_funds_with_delistings(
    market: Market, listed: pd.DataFrame
) -> None:
    first = market.daily(START)
    assert date(2002, 10, 14) == START and len(first) == 4 and "069500" in set(first["ticker"])
    gone = market.etfs[market.etfs["delisting_date"].notna()]
    before_anchor = gone[gone["delisting_date"] <= ANCHOR]
    assert 0.25 < len(before_anchor) / len(listed) < 0.4  # a few hundred closed since 2009
    assert not before_anchor["ticker"].isin(listed["ticker"]).any()
    assert gone["delisting_date"].between(START, market.sessions[-1]).all()
    maturity = gone[gone["name"].str.contains(r" \d\d-12 ", regex=True)]
    assert len(maturity) >= 20  # target-maturity funds, delisted in December of their year
    assert (maturity["delisting_date"].map(lambda d: d.month) == 12).all()
    t = market.special["delisted"]
    last = market.ground_truth[t]["last_trade_date"]
    assert t in set(market.daily(last)["ticker"])
    after = market.ground_truth[t]["delisting_date"]
    assert t not in set(market.daily(after)["ticker"])


def test_ohlc_and_money_consistency_over_the_whole_market(market: Market) -> None:
    rows = np.arange(1, len(market.sessions) + 1)[:, None]
    live = (rows >= market.first_idx) & (rows < market.end_idx)
    o, h, lo, c = (a[1:].astype(np.int64) for a in (market.opn, market.high, market.low,
                                                    market.close))  # fmt: skip
    traded = live & (o > 0)
    assert ((lo <= o) & (lo <= c) & (o <= h) & (c <= h) & (lo > 0))[traded].all()
    idle = live & (o == 0)
    assert idle.any() and ((h == 0) & (lo == 0) & (market.volume[1:] == 0))[idle].all()
    prev = market.close[:-1].astype(np.int64)
    assert (c == prev)[idle].all()
    tick_ok = np.where(c >= 2000, c % 5 == 0, True)
    te5 = market.position(market.special["te_0_5"])
    tick_ok[:, te5] = True
    assert tick_ok[live].all()
    cu = market.etfs["cu_shares"].to_numpy()
    assert (market.shares[1:] % cu == 0)[live].all() and (market.shares[1:] > 0)[live].all()
    assert (market.nav[1:] > 0)[live].all()


def test_daily_money_fields(market: Market) -> None:
    d = market.daily(ANCHOR)
    assert list(d.columns)[:3] == ["ticker", "isin", "name"]
    assert (d["market_cap"] == d["close"] * d["listed_shares"]).all()
    listing_day = market.etfs.set_index("ticker").loc[d["ticker"], "listing_date"].to_numpy()
    fresh = listing_day == ANCHOR
    t = market.session_row(ANCHOR)
    e = d["ticker"].map(market.position).to_numpy()
    settled = market.shares[t - market.settlement_lag[e], e]
    expect = np.round(d["nav"] * settled).astype(np.int64)
    assert (d.loc[~fresh, "net_assets"] == expect[~fresh]).all()
    assert (d.loc[fresh, "net_assets"] == 0).all()
    assert (d["index_close"].isna() == (d["index_status"] != "published")).all()
    assert 0.04 < d["index_close"].isna().mean() < 0.06


def test_listing_day_uses_the_base_price(market: Market) -> None:
    t = market.special["new_listing"]
    day = market.ground_truth[t]["listing_date"]
    row = market.daily(day).set_index("ticker").loc[t]
    assert row["prev_close"] in (10_000, 100_000) and row["net_assets"] == 0
    assert market.ground_truth[t]["sessions_listed_before_anchor"] == 100


def test_te_0_5_ground_truth(market: Market) -> None:
    t = market.special["te_0_5"]
    truth = market.ground_truth[t]
    assert truth["tracking_error_pct"] == 0.5 and truth["premium_pct"] == 0.3
    # 250 daily draws: the sample std is within ~4.5 % (1σ) of the true value
    assert _realised_te(market, t, ANCHOR) == pytest.approx(0.5, rel=0.15)
    assert market.published_tracking_error(t, ANCHOR) == pytest.approx(0.5, rel=0.15)
    frames = [market.daily(d).set_index("ticker").loc[t] for d in market.sessions[-300:-240]]
    for row in frames:
        premium = (row["close"] - row["nav"]) / row["nav"] * 100
        assert premium == pytest.approx(0.3, abs=0.5 / row["nav"] * 100 + 1e-9)
        assert row["open"] > 0


@pytest.mark.parametrize("key", ["leveraged_2x", "inverse_1x", "inverse_2x", "kodex200"])
def test_leveraged_and_inverse_track_their_multiple(market: Market, key: str) -> None:
    t = market.special[key]
    truth = market.ground_truth[t]
    assert market.etfs.set_index("ticker").loc[t, "leverage_factor"] == truth["leverage_factor"]
    assert _realised_te(market, t, ANCHOR) == pytest.approx(truth["tracking_error_pct"], rel=0.2)


def test_no_trade_no_index_and_alnum_specials(market: Market) -> None:
    t = market.special["no_trade_day"]
    days = market.ground_truth[t]["no_trade_dates"]
    assert days and all(ANCHOR - timedelta(days=365) <= d <= ANCHOR for d in days)
    row = market.daily(days[0]).set_index("ticker").loc[t]
    assert (row["open"], row["high"], row["low"], row["volume"]) == (0, 0, 0, 0)
    assert row["close"] == row["prev_close"]
    ni = market.special["no_index"]
    assert np.isnan(market.daily(ANCHOR).set_index("ticker").loc[ni, "index_close"])
    assert np.isnan(market.published_tracking_error(ni, ANCHOR))
    assert not re.fullmatch(r"\d{6}", market.special["alnum"])


def test_holdings_shapes(market: Market) -> None:
    d = ANCHOR
    for ticker in ("069500", "122630", "114800", "133690", "0000D0", "477080", "375270"):
        h = market.holdings(ticker, d)
        assert 4 <= len(h) <= 201, ticker
        assert list(h.columns) == HOLDING_COLUMNS
        cash = h[h["kind"] == "cash"]
        assert list(cash["code"]) in (["KRD010010001"], ["KRD010010001", "CASH00000001"])
        assert h[["value_krw", "amount_krw"]].notna().any(axis=1).all(), ticker
        weighted = h["weight_pct"].dropna()
        assert weighted.empty or weighted.sum() == pytest.approx(100, abs=0.1), ticker
    kodex = market.holdings("069500", d)
    top = kodex.iloc[0]
    assert (top["code"], top["isin"], top["name"]) == ("005930", "KR7005930003", "삼성전자")
    inverse = market.holdings("114800", d)
    fut = inverse[inverse["secugrp"] == "FU"].iloc[0]
    assert fut["code"].startswith("KR4101") and fut["mkt_id"] == "DRV" and fut["shares_per_cu"] < 0
    assert fut["amount_krw"] is None and fut["value_krw"] < 0
    foreign = market.holdings("133690", d)
    stocks = foreign[foreign["isin"].str.startswith("US")]
    assert (stocks["code"] == stocks["isin"].str[3:9]).all()
    assert (stocks["kind"] == "foreign_stock").all()
    assert market.holdings("069500", d).equals(market.holdings("069500", d - timedelta(days=1)))
    assert market.holdings("069500", date(2026, 11, 22)).empty
    assert market.holdings(market.special["delisted"], d).empty


# ---- distributions ---------------------------------------------------------------------------


def test_payouts_at_real_rates_with_the_nav_falling_on_the_ex_date(market: Market) -> None:
    """~88 % of the funds listed the whole year paid (real: 88.5 %); an income payout leaves
    the NAV on its ex-date (the session before the record date) lower by exactly the amount."""
    start = ANCHOR - timedelta(days=365)
    year = market.distributions(start, ANCHOR)
    whole_year = market.etfs.iloc[np.intersect1d(market.listed_on(start),
                                                 market.listed_on(ANCHOR))]  # fmt: skip
    paid = year.loc[year["reason"] != "청산분배", "ticker"]
    assert 0.85 < whole_year["ticker"].isin(paid).mean() < 0.97
    payer = market.special["monthly_payer"]
    own = year[year["ticker"] == payer]
    assert len(own) == 12 and (own["reason"] == "이익분배").all()
    e = market.position(payer)
    for row in own.itertuples(index=False):
        assert market.sessions.index(row.ex_date) + 1 == market.sessions.index(row.record_date)
        t = market.session_row(row.ex_date)
        total = (market.nav[t, e] + row.amount_krw) / market.nav[t - 1, e] - 1
        index = market.index_level[t, e] / market.index_level[t - 1, e] - 1
        assert abs(total - index) < 0.002  # the payout is back: only tracking noise is left
        assert row.amount_krw == round(row.amount_krw) > 0


def test_every_delisted_fund_pays_its_last_nav_as_a_liquidation(market: Market) -> None:
    everything = market.distributions(START, market.sessions[-1])
    liquidations = everything[everything["reason"] == "청산분배"].set_index("ticker")
    gone = market.etfs[market.etfs["delisting_date"].notna()]
    assert set(liquidations.index) == set(gone["ticker"])
    for etf in gone.itertuples(index=False):
        row = liquidations.loc[etf.ticker]
        sunday_after = etf.delisting_date + timedelta(days=6 - etf.delisting_date.weekday())
        if etf.ticker in FAMOUS_DELISTED:  # the real record date (486780: 2025-09-17)
            assert row["record_date"] == etf.delisting_date == FAMOUS_DELISTED[etf.ticker]
        else:  # recorded on the delisting day or the Sunday after it
            assert row["record_date"] in (etf.delisting_date, sunday_after)
        e = market.position(etf.ticker)
        last_nav = market.nav[market.end_idx[e] - 1, e]  # on the fund's last trading day
        assert 0.996 * last_nav <= row["amount_krw"] <= last_nav
