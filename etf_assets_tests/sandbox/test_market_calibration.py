"""The generated market against the real one: each figure of issue #22's list, measured on the
sandbox's default market, within ±20 % of the real value (docs/sandbox_calibration.md).

The real figures come from a year of SEIBro records (record dates 2025-08-28…2026-08-31), the
KRX listing counts and the KOSPI 200's closes. The market is built once per process (it is the
one every sandbox test serves), so the module costs a few seconds at most.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from etf_assets.partitions import seed_calendar, weekday_sessions
from etf_sandbox.market import START, Market, build_market, get_market
from etf_sandbox.market.payouts import _seibro_category
from etf_sandbox.market.prices import KOSPI200_ANCHORS

REAL_YEAR = (date(2025, 8, 28), date(2026, 8, 31))
TOLERANCE = 0.2
LIQUIDATION = "청산분배"


def near(measured: float, real: float) -> bool:
    return abs(measured / real - 1) <= TOLERANCE


def is_month_end(sessions: tuple[date, ...], d: date) -> bool:
    """d is its month's last session."""
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return sessions[bisect.bisect_left(sessions, nxt) - 1] == d


@pytest.fixture(scope="module")
def market() -> Market:
    return get_market()


@pytest.fixture(scope="module")
def income(market: Market) -> pd.DataFrame:
    """The income payouts (every reason but a liquidation) recorded in the real year."""
    paid = market.distributions(*REAL_YEAR)
    return paid[paid["reason"] != LIQUIDATION].reset_index(drop=True)


@pytest.fixture(scope="module")
def payouts_a_year(market: Market, income: pd.DataFrame) -> pd.DataFrame:
    """Per fund listed the whole real year: its SEIBro category and payouts in the year."""
    etfs = market.etfs
    start, end = REAL_YEAR
    whole = market.listed_on(start)
    whole = whole[np.isin(whole, market.listed_on(end))]
    funds = etfs.iloc[whole]
    counts = income.groupby("ticker").size()
    return pd.DataFrame({
        "payouts": counts.reindex(funds["ticker"], fill_value=0).to_numpy(),
        "category": _seibro_category(funds),
    }, index=funds["ticker"])  # fmt: skip


def test_share_of_funds_paying_and_payouts_a_year(payouts_a_year: pd.DataFrame) -> None:
    """88.5 % of the funds listed all year paid; 3.16 payouts a year per paying fund."""
    paid = payouts_a_year.loc[payouts_a_year["payouts"] > 0, "payouts"]
    assert near(len(paid) / len(payouts_a_year), 0.885)
    assert near(paid.mean(), 3.16)


# category → payouts a year per paying fund, shares paying once, 4 times, monthly (≥ 11)
BY_CATEGORY = {
    "국내주식": {"once": 0.36, "quarterly": 0.15, "monthly": 0.08},
    "해외주식": {"mean": 3.8, "monthly": 0.15},
    "채권": {"mean": 3.5, "monthly": 0.21},
    "파생상품": {"mean": 1.9},
    "기타": {"mean": 6.6, "monthly": 0.42},
}


@pytest.mark.parametrize("category", list(BY_CATEGORY))
def test_payout_rhythm_by_category(payouts_a_year: pd.DataFrame, category: str) -> None:
    counts = payouts_a_year.loc[payouts_a_year["category"] == category, "payouts"]
    measured = {
        "mean": counts[counts > 0].mean(),
        "once": (counts == 1).mean(),
        "quarterly": (counts == 4).mean(),
        "monthly": (counts >= 11).mean(),
    }
    for figure, real in BY_CATEGORY[category].items():
        assert near(measured[figure], real), (category, figure, measured[figure], real)


def test_income_per_share(income: pd.DataFrame) -> None:
    """Median 58 KRW, p95 470, p99 2,380; median 0.43 % of the price."""
    amount = income["amount_krw"]
    for q, real in ((0.5, 58), (0.95, 470), (0.99, 2_380)):
        assert near(amount.quantile(q), real), (q, amount.quantile(q))
    assert near((amount / income["tax_base_price"] * 100).median(), 0.43)


def test_pay_dates_follow_record_dates_by_sessions(market: Market, income: pd.DataFrame) -> None:
    """2 sessions after the record date for 89 %, 1 for 10 %, 3 for 2 %."""
    row = {d: i for i, d in enumerate(market.sessions)}
    lag = pd.Series([row[p] - row[r] for r, p in zip(income["record_date"], income["pay_date"],
                                                     strict=True)])  # fmt: skip
    shares = lag.value_counts(normalize=True)
    for sessions, real in ((2, 0.89), (1, 0.10), (3, 0.02)):
        assert near(shares.get(sessions, 0.0), real), (sessions, shares.get(sessions))


def test_record_dates_at_month_end_or_the_15th_moved_earlier(
    market: Market, income: pd.DataFrame
) -> None:
    """82 % at the month's last session; the others on the 15th, or the last session before
    it when the 15th is not a session."""
    sessions = market.sessions
    record = income["record_date"].drop_duplicates()

    def mid_month(d: date) -> date:
        return sessions[bisect.bisect_right(sessions, d.replace(day=15)) - 1]

    at_end = income["record_date"].map(lambda d: is_month_end(sessions, d))
    assert near(at_end.mean(), 0.82)
    others = record[~record.map(lambda d: is_month_end(sessions, d))]
    assert (others.map(mid_month) == others).all()
    assert (others.map(lambda d: d.day) < 15).any()  # a 15th that was not a session


def test_liquidations(market: Market) -> None:
    """About 46 a year recently, 37 % recorded on a Sunday and paid the next day; the fund
    left the exchange on a session."""
    paid = market.distributions(date(2024, 1, 1), date(2025, 12, 31))
    liquidations = paid[paid["reason"] == LIQUIDATION]
    for year in (2024, 2025):
        assert near((liquidations["record_date"].map(lambda d: d.year) == year).sum(), 46)
    sunday = liquidations["record_date"].map(lambda d: d.weekday() == 6)
    assert near(sunday.mean(), 0.37)
    next_day = liquidations["record_date"] + timedelta(days=1)
    assert (liquidations.loc[sunday, "pay_date"] == next_day[sunday]).mean() > 0.9
    gone = market.etfs["delisting_date"].dropna()
    assert gone.isin(set(market.sessions)).all()


def test_rate_funds_pay_large_monthly_income(market: Market, income: pd.DataFrame) -> None:
    """CD/KOFR-rate and bond-futures funds near 1,020,000 KRW pay about 2,600 KRW a month."""
    by_fund = income.groupby("ticker").agg(n=("amount_krw", "size"),
                                           amount=("amount_krw", "median"),
                                           price=("tax_base_price", "median"))  # fmt: skip
    index = market.etfs.set_index("ticker")["tracking_index"].reindex(by_fund.index)
    rate = by_fund[index.str.contains("CD금리|KOFR|국채선물") & (by_fund["n"] >= 11)]
    large = rate[rate["price"].map(lambda p: near(p, 1_020_000))]
    assert len(large) and large["amount"].map(lambda a: near(a, 2_600)).all(), rate


def test_kodex200_pays_quarterly_april_largest_samsung_its_top_weight(market: Market) -> None:
    paid = market.distributions(date(2025, 1, 1), date(2025, 12, 31))
    kodex = paid[paid["ticker"] == "069500"].set_index("record_date")["amount_krw"]
    assert [d.month for d in kodex.index] == [1, 4, 7, 10]
    assert all(is_month_end(market.sessions, d) for d in kodex.index)
    assert kodex.idxmax().month == 4
    basket = market.holdings("069500", date(2026, 11, 20))
    stocks = basket[basket["kind"] == "stock"]
    assert stocks.loc[stocks["amount_krw"].astype(float).idxmax(), "name"] == "삼성전자"


LISTED_AT_YEAR_END = {2002: 4, 2010: 64, 2012: 135, 2015: 198, 2016: 256, 2017: 325, 2018: 413,
                      2019: 450, 2020: 467, 2021: 533, 2022: 666, 2023: 812, 2024: 935,
                      2025: 1_058}  # fmt: skip


def test_listed_funds_grow_as_the_real_market(market: Market) -> None:
    for year, real in LISTED_AT_YEAR_END.items():
        assert near(len(market.listed_on(date(year, 12, 31))), real), year
    assert near(len(market.listed_on(date(2026, 1, 25))), 1_066)
    assert near(len(market.listed_on(date(2026, 9, 15))), 1_168)
    before = set(market.listed_on(date(2024, 1, 4)))
    assert near(len(before - set(market.listed_on(date(2026, 1, 25)))), 92)


def test_kospi200_passes_through_its_real_levels(market: Market) -> None:
    """About 80 in October 2002, then each anchor's real close."""
    e = market.position("069500")
    level = market.index_paths[:, market.index_of[e]]
    assert near(level[market.session_row(START)], 80)
    for day, real in KOSPI200_ANCHORS.items():
        row = bisect.bisect_right(market.sessions, day)
        assert level[row] == pytest.approx(real, rel=1e-9)


def test_a_market_that_reaches_further_keeps_every_earlier_day() -> None:
    """Built to 2027 and to 2028: the same funds, paths, payouts, baskets and flows on every
    day they share (so moving the end with the calendar changes no answer a test expects)."""
    calendar = seed_calendar()
    short = build_market(20260101, 150, weekday_sessions(calendar, START, date(2027, 12, 31)))
    long = build_market(20260101, 150, weekday_sessions(calendar, START, date(2028, 12, 31)))
    n, t = len(short.etfs), bisect.bisect_right(short.sessions, date(2027, 12, 20)) + 1
    assert long.sessions[: len(short.sessions)] == short.sessions and len(long.etfs) > n
    same = short.etfs.drop(columns=["delisting_date", "listed_shares_now"])
    pd.testing.assert_frame_equal(long.etfs.iloc[:n][same.columns], same)
    for name in ("close", "nav", "volume", "shares", "net_assets", "index_level", "opn"):
        np.testing.assert_array_equal(getattr(long, name)[:t, :n], getattr(short, name)[:t])
    day = date(2027, 6, 30)
    pd.testing.assert_frame_equal(long.daily(day), short.daily(day))
    pd.testing.assert_frame_equal(long.distributions(START, date(2027, 11, 30)),
                                  short.distributions(START, date(2027, 11, 30)))  # fmt: skip
    pd.testing.assert_frame_equal(long.holdings("069500", day), short.holdings("069500", day))
    pd.testing.assert_frame_equal(long.investor_flows("069500", day, day),
                                  short.investor_flows("069500", day, day))  # fmt: skip
