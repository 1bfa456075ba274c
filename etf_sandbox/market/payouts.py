"""Distributions (분배금): each fund's payout policy, record dates, the payouts with the
factor that takes them out of the NAV path, and SEIBro's category of each fund."""

from __future__ import annotations

import bisect
from datetime import date

import numpy as np
import pandas as pd

# What funds pay, per year as % of NAV, by what they hold (2025-26: ~1,000 of 1,070 paid within
# 12 months; covered-call, dividend and bond-mixed funds monthly; domestic equity quarterly;
# derivative funds a small year-end payout or nothing).
PAYOUT_RECORD_MONTHS = {
    "monthly": tuple(range(1, 13)), "quarterly": (1, 4, 7, 10), "semiannual": (4, 10),
    "annual": (12,), "none": (),
}  # fmt: skip
MID_MONTH_SHARE = 0.25  # monthly payers with a record date on the 15th (49 of 193 in 2026-08)
SPECIAL_PAYOUT_SHARE = 0.003  # payouts SEIBro lists with another reason (특별분배)
MONTHLY_PAYER_TE_PCT = 0.3
MONTHLY_PAYER_YIELD_PCT = 9.0
FIRST_PAYOUT_AFTER_SESSIONS = 20  # a fund pays only after its first month


def _payout_policy(
    rng: np.random.Generator, etfs: pd.DataFrame, specials: dict[str, int]
) -> pd.DataFrame:
    """Per fund: frequency, yearly yield in % of NAV, and whether record dates fall mid-month.

    The specials pay nothing (their ground truth predates payouts), except `monthly_payer`.
    """
    frequency, yield_pct = [], []
    for etf in etfs.itertuples(index=False):
        u, name = rng.random(), etf.name
        derived = etf.leverage_factor != 1.0 or etf.replication.startswith("합성")
        if "-12 " in name and etf.asset_class == "채권":  # target maturity
            policy = ("annual", rng.uniform(3.0, 4.0))
        elif etf.basket == "covered_call" or "커버드콜" in name:
            policy = ("monthly", rng.uniform(8.0, 13.0))
        elif "배당" in name or "인컴" in name or etf.asset_class == "부동산":
            policy = ("monthly", rng.uniform(3.0, 6.5))
        elif derived or etf.asset_class in ("원자재", "통화"):
            policy = ("annual", rng.uniform(0.05, 0.8)) if u < 0.8 else ("none", 0.0)
        elif etf.asset_class == "혼합자산":
            policy = ("monthly", rng.uniform(3.0, 6.0))
        elif etf.asset_class == "주식" and etf.market_region == "국내":
            policy = (
                ("quarterly", rng.uniform(0.8, 2.5))
                if u < 0.9
                else ("semiannual", rng.uniform(0.8, 2.0))
            )
        elif etf.asset_class == "주식":
            policy = (("quarterly", rng.uniform(0.4, 1.5)) if u < 0.5 else
                      ("annual", rng.uniform(0.2, 1.0)) if u < 0.8 else
                      ("monthly", rng.uniform(1.0, 3.0)))  # fmt: skip
        elif etf.asset_class == "채권":
            policy = (
                ("monthly", rng.uniform(2.5, 4.0))
                if u < 0.45
                else ("annual", rng.uniform(2.5, 4.0))
            )
        else:  # 기타: money-market and rate funds mostly accumulate
            policy = ("annual", rng.uniform(2.0, 3.5)) if u < 0.4 else ("none", 0.0)
        frequency.append(policy[0])
        yield_pct.append(policy[1])
    out = pd.DataFrame({"frequency": frequency, "yield_pct": yield_pct})
    out["mid_month"] = (out["frequency"] == "monthly") & (rng.random(len(out)) < MID_MONTH_SHARE)
    for key, e in specials.items():
        out.loc[e, ["frequency", "yield_pct", "mid_month"]] = (
            ("monthly", MONTHLY_PAYER_YIELD_PCT, False) if key == "monthly_payer"
            else ("none", 0.0, False))  # fmt: skip
    return out


def _record_rows(
    sessions: tuple[date, ...], months: tuple[int, ...], mid_month: bool
) -> np.ndarray:
    """Path rows of the record dates: each listed month's last session, or its first session on
    or after the 15th."""
    first, last = sessions[0], sessions[-1]
    rows = []
    for year in range(first.year, last.year + 1):
        for month in months:
            if mid_month:
                i = bisect.bisect_left(sessions, date(year, month, 15))
            else:
                nxt = date(year + month // 12, month % 12 + 1, 1)
                i = bisect.bisect_left(sessions, nxt) - 1
            if 0 <= i < len(sessions) and (sessions[i].year, sessions[i].month) == (year, month):
                rows.append(i + 1)
    return np.array(rows, dtype=np.int64)


def _payouts(
    rng: np.random.Generator, etfs: pd.DataFrame, sessions: tuple[date, ...],
    nav_before_payouts: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    policy: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Every payout and the factor [row, etf] that takes the payouts out of the NAV path.

    An income payout is a whole number of KRW, yield / payouts a year × the NAV of its ex-date
    (the session before the record date) before the payout; the NAV falls by exactly that on
    the ex-date. A delisted fund pays its whole last NAV per share as a liquidation
    (청산분배, with decimals), recorded on its delisting day; it moves no NAV.
    """
    t_rows, n = nav_before_payouts.shape
    last_row = len(sessions)
    step = np.ones((t_rows, n))
    events: list[tuple[int, int, int, float, str]] = []  # etf, ex row, record row, amount, reason
    record_rows = {
        (months, mid): _record_rows(sessions, months, mid)
        for months in PAYOUT_RECORD_MONTHS.values() if months for mid in (False, True)
    }  # fmt: skip
    for e, (freq, yield_pct, mid) in enumerate(policy.itertuples(index=False)):
        months = PAYOUT_RECORD_MONTHS[freq]
        if not months:
            continue
        rec = record_rows[(months, bool(mid))]
        rec = rec[(rec > first_idx[e] + FIRST_PAYOUT_AFTER_SESSIONS) & (rec < end_idx[e])
                  & (rec <= last_row - 3)]  # fmt: skip
        kept = 1.0
        for r in rec:
            before = nav_before_payouts[r - 1, e] * kept
            amount = round(yield_pct / 100 / len(months) * before)
            if amount < 1:
                continue
            step[r - 1, e] = 1 - amount / before
            kept *= step[r - 1, e]
            special = rng.random() < SPECIAL_PAYOUT_SHARE
            events.append((e, r - 1, r, float(amount), "특별분배" if special else "이익분배"))
    after_payouts = np.cumprod(step, axis=0)
    for e in np.flatnonzero(end_idx <= last_row):
        last_nav = nav_before_payouts[end_idx[e] - 1, e] * after_payouts[end_idx[e] - 1, e]
        amount = float(last_nav * rng.uniform(0.997, 1.0))  # less the costs of winding up
        events.append((int(e), int(end_idx[e]) - 1, int(end_idx[e]), amount, "청산분배"))
    frame = pd.DataFrame(events, columns=["etf", "ex_row", "record_row", "amount_krw", "reason"])
    frame["pay_row"] = np.minimum(frame["record_row"] + rng.integers(1, 4, len(frame)), last_row)
    before = nav_before_payouts[frame["ex_row"], frame["etf"]] * after_payouts[
        frame["ex_row"] - 1, frame["etf"]]  # fmt: skip
    frame["tax_base_price"] = np.round(before * rng.uniform(0.93, 1.0, len(frame)), 2)
    frame = frame.sort_values(["record_row", "etf"], ignore_index=True)
    return frame, after_payouts


def _seibro_category(etfs: pd.DataFrame) -> np.ndarray:
    """SEIBro's ETF_SORT_NM for each fund."""
    derived = (etfs["leverage_factor"] != 1.0) | etfs["replication"].str.startswith("합성") | (
        etfs["asset_class"].isin(["원자재", "통화"]))  # fmt: skip
    stock = etfs["asset_class"] == "주식"
    return np.select(
        [derived, etfs["asset_class"] == "채권", stock & (etfs["market_region"] == "국내"), stock],
        ["파생상품", "채권", "국내주식", "해외주식"],
        "기타",
    )
