"""Distributions (분배금): each fund's payout policy, record dates, the payouts with the
factor that takes them out of the NAV path, and SEIBro's category of each fund."""

from __future__ import annotations

import bisect
from datetime import date, timedelta

import numpy as np
import pandas as pd

from etf_sandbox.market.draws import Draws
from etf_sandbox.market.reference import FAMOUS_DELISTED

# How often funds pay, by SEIBro category (ETF_SORT_NM), calibrated to a year of real records
# (2025-08-28…2026-08-31): 88.5 % of the funds listed all year paid, 3.16 times on average;
# domestic equity mostly once (36 %) or quarterly (15 %), 8 % monthly; foreign equity 3.8 a
# year (15 % monthly); bonds 3.5 (21 % monthly); derivative funds 1.9; "other" 6.6 (42 %
# monthly). Shares of funds by policy; a fund's draw picks one.
FREQUENCIES = ("none", "annual", "semiannual", "quarterly", "monthly")
FREQUENCY_SHARES = {  # in FREQUENCIES' order
    "국내주식": (0.13, 0.38, 0.20, 0.265, 0.025),  # + covered-call funds, always monthly
    "해외주식": (0.06, 0.34, 0.16, 0.34, 0.10),
    "채권": (0.10, 0.56, 0.04, 0.06, 0.24),
    "파생상품": (0.27, 0.55, 0.08, 0.07, 0.03),
    "기타": (0.15, 0.34, 0.07, 0.10, 0.34),
}
# Yearly income as % of NAV (low, high) by category; covered-call funds pay more.
YIELD_PCT = {"국내주식": (0.8, 2.6), "해외주식": (0.8, 3.0), "채권": (3.0, 4.5),
             "파생상품": (0.1, 1.5), "기타": (2.5, 4.5)}  # fmt: skip
COVERED_CALL_YIELD_PCT = (8.0, 13.0)
RATE_FUND_YIELD_PCT = 3.06  # 2,600 KRW a month on a ~1,020,000 KRW price
PAYOUT_RECORD_MONTHS = {
    "monthly": tuple(range(1, 13)), "quarterly": (1, 4, 7, 10), "semiannual": (4, 10),
    "annual": (12,), "none": (),
}  # fmt: skip
# Domestic equity's quarterly payouts follow the dividends of its stocks: the April one, after
# the companies' December-year dividends, is the largest (KODEX 200). Relative sizes, mean 1.
QUARTER_WEIGHTS = {1: 0.7, 4: 1.9, 7: 0.8, 10: 0.6}
MID_MONTH_SHARE = 0.3  # monthly payers with a record date mid-month (49 of 193 in 2026-08)
MID_MONTH_DAY = 15  # or the last session before it when the 15th is not a session
SKIP_P = {"quarterly": 0.08, "monthly": 0.03}  # a payout a payer leaves out
# Sessions from record date to pay date, drawn per fund; weighted by payouts (monthly payers
# count 12 times) the real shares are 10 / 88 / 2 %.
PAY_LAG_P = {1: 0.10, 2: 0.883, 3: 0.017}
LIQUIDATION_SUNDAY_SHARE = 0.37  # liquidations recorded on a Sunday, paid the next day
SPECIAL_PAYOUT_SHARE = 0.003  # payouts SEIBro lists with another reason (특별분배)
MONTHLY_PAYER_TE_PCT = 0.3
MONTHLY_PAYER_YIELD_PCT = 9.0
KODEX200_YIELD_PCT = 1.8
FIRST_PAYOUT_AFTER_SESSIONS = 20  # a fund pays only after its first month


def _payout_policy(
    draws: Draws, etfs: pd.DataFrame, specials: dict[str, int], base_nav: np.ndarray
) -> pd.DataFrame:
    """Per fund: frequency, yearly yield in % of NAV, whether record dates fall mid-month, the
    chance of skipping a payout (SKIP_P) and the sessions from record to pay date.

    By SEIBro category (FREQUENCY_SHARES, YIELD_PCT), except: target-maturity funds pay
    yearly, covered-call funds monthly and more, rate and bond-futures funds quoted near a
    million KRW monthly. The specials pay nothing (their ground truth predates payouts), but
    `monthly_payer` (monthly) and `kodex200` (quarterly). `base_nav`: each fund's NAV before
    its first session.
    """
    u = draws.fund("payout_policy", len(etfs), lambda g, s: g.random(s), width=4)
    category = _seibro_category(etfs)
    frequency, yield_pct = [], []
    for i, etf in enumerate(etfs.itertuples(index=False)):
        cumulative = np.cumsum(FREQUENCY_SHARES[category[i]])
        freq = FREQUENCIES[int(np.searchsorted(cumulative, u[i, 0] * cumulative[-1]))]
        low, high = YIELD_PCT[category[i]]
        if "-12 " in etf.name and etf.asset_class == "채권":  # target maturity
            freq, low, high = "annual", 3.0, 4.0
        elif etf.basket == "covered_call" or "커버드콜" in etf.name:
            freq, (low, high) = "monthly", COVERED_CALL_YIELD_PCT
        elif base_nav[i] >= 1_000_000:
            freq, low, high = "monthly", RATE_FUND_YIELD_PCT, RATE_FUND_YIELD_PCT
        frequency.append(freq)
        yield_pct.append(low + (high - low) * u[i, 1])
    out = pd.DataFrame({"frequency": frequency, "yield_pct": yield_pct})
    out["mid_month"] = (out["frequency"] == "monthly") & (u[:, 2] < MID_MONTH_SHARE)
    out["skip_p"] = out["frequency"].map(SKIP_P).fillna(0.0)
    lags = np.cumsum(list(PAY_LAG_P.values()))
    out["pay_lag"] = np.array(list(PAY_LAG_P))[np.searchsorted(lags, u[:, 3] * lags[-1])]
    for key, e in specials.items():
        out.loc[e, ["frequency", "yield_pct", "mid_month", "skip_p"]] = (
            ("monthly", MONTHLY_PAYER_YIELD_PCT, False, 0.0) if key == "monthly_payer"
            else ("quarterly", KODEX200_YIELD_PCT, False, 0.0) if key == "kodex200"
            else ("none", 0.0, False, 0.0))  # fmt: skip
    return out


def _record_rows(
    sessions: tuple[date, ...], months: tuple[int, ...], mid_month: bool
) -> np.ndarray:
    """Path rows of the record dates: each listed month's last session, or its last session on
    or before the 15th."""
    first, last = sessions[0], sessions[-1]
    rows = []
    for year in range(first.year, last.year + 1):
        for month in months:
            if mid_month:
                i = bisect.bisect_right(sessions, date(year, month, MID_MONTH_DAY)) - 1
            else:
                nxt = date(year + month // 12, month % 12 + 1, 1)
                i = bisect.bisect_left(sessions, nxt) - 1
            if 0 <= i < len(sessions) and (sessions[i].year, sessions[i].month) == (year, month):
                rows.append(i + 1)
    return np.array(rows, dtype=np.int64)


def _payouts(
    draws: Draws, etfs: pd.DataFrame, sessions: tuple[date, ...],
    nav_before_payouts: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    policy: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Every payout and the factor [row, etf] that takes the payouts out of the NAV path.

    An income payout is a whole number of KRW, yield / payouts a year × the NAV of its ex-date
    (the session before the record date) before the payout (× QUARTER_WEIGHTS for domestic
    equity's quarters); the NAV falls by exactly that on the ex-date; it is paid `pay_lag`
    sessions after the record date. A delisted fund pays its whole last NAV per share as a
    liquidation (청산분배, with decimals), recorded on its delisting day or, for
    LIQUIDATION_SUNDAY_SHARE of them, on the Sunday after, and paid on the next session; it
    moves no NAV. A famous fund (FAMOUS_DELISTED) keeps its real record date, the delisting
    day. Every draw is a hash of (fund, row), so payouts never depend on the
    market's length.
    """
    t_rows, n = nav_before_payouts.shape
    last_row = len(sessions)
    step = np.ones((t_rows, n))
    events: list[tuple[int, int, int, float, str]] = []  # etf, ex row, record row, amount, reason
    record_rows = {
        (months, mid): _record_rows(sessions, months, mid)
        for months in PAYOUT_RECORD_MONTHS.values() if months for mid in (False, True)
    }  # fmt: skip
    domestic_eq = _seibro_category(etfs) == "국내주식"
    for e, (freq, yield_pct, mid, skip_p, _lag) in enumerate(policy.itertuples(index=False)):
        months = PAYOUT_RECORD_MONTHS[freq]
        if not months:
            continue
        rec = record_rows[(months, bool(mid))]
        rec = rec[(rec > first_idx[e] + FIRST_PAYOUT_AFTER_SESSIONS) & (rec < end_idx[e])
                  & (rec <= last_row - 3)]  # fmt: skip
        rec = rec[draws.uniform_at("skip", np.full(len(rec), e), rec) >= skip_p]
        weight = np.ones(len(rec))
        if freq == "quarterly" and domestic_eq[e]:
            weight = np.array([QUARTER_WEIGHTS[sessions[r - 1].month] for r in rec])
        kept = 1.0
        for r, w in zip(rec, weight, strict=True):
            before = nav_before_payouts[r - 1, e] * kept
            amount = round(yield_pct / 100 / len(months) * w * before)
            if amount < 1:
                continue
            step[r - 1, e] = 1 - amount / before
            kept *= step[r - 1, e]
            events.append((e, r - 1, r, float(amount), "이익분배"))
    after_payouts = np.cumprod(step, axis=0)
    gone = np.flatnonzero(end_idx <= last_row)
    haircut = 0.997 + 0.003 * draws.uniform_at("liquidation", gone)  # the costs of winding up
    for e, cut in zip(gone, haircut, strict=True):
        last_nav = nav_before_payouts[end_idx[e] - 1, e] * after_payouts[end_idx[e] - 1, e]
        events.append((int(e), int(end_idx[e]) - 1, int(end_idx[e]), float(last_nav * cut),
                       "청산분배"))  # fmt: skip
    frame = pd.DataFrame(events, columns=["etf", "ex_row", "record_row", "amount_krw", "reason"])
    etf, record = frame["etf"].to_numpy(), frame["record_row"].to_numpy()
    special = draws.uniform_at("special", etf, record) < SPECIAL_PAYOUT_SHARE
    frame.loc[special & (frame["reason"] == "이익분배").to_numpy(), "reason"] = "특별분배"
    frame["record_date"] = [sessions[r - 1] for r in record]
    pay_row = np.minimum(record + policy["pay_lag"].to_numpy()[etf], last_row)
    frame["pay_date"] = [sessions[r - 1] for r in pay_row]
    liquidation = np.flatnonzero((frame["reason"] == "청산분배").to_numpy())
    sunday = draws.uniform_at("sunday", etf[liquidation]) < LIQUIDATION_SUNDAY_SHARE
    sunday &= ~etfs["ticker"].isin(FAMOUS_DELISTED).to_numpy()[etf[liquidation]]
    for i, on_sunday in zip(liquidation, sunday, strict=True):
        day = frame.at[i, "record_date"]
        next_sunday = day + timedelta(days=6 - day.weekday())
        if on_sunday and next_sunday < sessions[-1]:  # within the market: paid the next day
            day = next_sunday
        frame.at[i, "record_date"] = day
        nxt = bisect.bisect_right(sessions, day)
        frame.at[i, "pay_date"] = sessions[min(nxt, last_row - 1)]
    before = nav_before_payouts[frame["ex_row"], etf] * after_payouts[frame["ex_row"] - 1, etf]
    tax_discount = 0.93 + 0.07 * draws.uniform_at("tax_base", etf, record)
    frame["tax_base_price"] = np.round(before * tax_discount, 2)
    frame = frame.sort_values(["record_date", "etf"], ignore_index=True)
    return frame, after_payouts


def _seibro_category(etfs: pd.DataFrame) -> np.ndarray:
    """SEIBro's ETF_SORT_NM for each fund (a rate fund, asset class 기타, is 합성 but 기타)."""
    swap = etfs["replication"].str.startswith("합성") & (etfs["asset_class"] != "기타")
    derived = (etfs["leverage_factor"] != 1.0) | swap | etfs["asset_class"].isin(["원자재", "통화"])
    stock = etfs["asset_class"] == "주식"
    return np.select(
        [derived, etfs["asset_class"] == "채권", stock & (etfs["market_region"] == "국내"), stock],
        ["파생상품", "채권", "국내주식", "해외주식"],
        "기타",
    )
