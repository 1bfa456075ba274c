"""Investor flows (MDCSTAT04901 / 04902): what each of KRX's investor types bought and sold
of a fund on each session, summing exactly to the session's volume and traded value."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from etf_sandbox.market.reference import _stable_seed

if TYPE_CHECKING:
    from etf_sandbox.market.core import Market

# KRX's investor types, in 04901's row order, and each one's share of an ETF's volume on an
# average day: liquidity providers trade as 금융투자, retail as 개인 (in the real week of
# 0069M0, 2026-01-16…23, 금융투자 bought 54 % and sold 75 % of the units, 개인 bought 40 %).
INVESTOR_TYPES = (
    "금융투자", "보험", "투신", "사모", "은행", "기타금융", "연기금 등", "기타법인", "개인",
    "외국인", "기타외국인",
)  # fmt: skip
INVESTOR_SHARES = (0.55, 0.004, 0.01, 0.003, 0.012, 0.002, 0.004, 0.01, 0.37, 0.026, 0.009)
# 04902's four groups: 기관 sums the seven institution types (04901's 기관합계), 외국인 holds
# 기타외국인 too; the four net values of a day then sum to zero, as in the real answer.
INVESTOR_GROUPS = {
    "기관": INVESTOR_TYPES[:7], "기타법인": ("기타법인",), "개인": ("개인",),
    "외국인": ("외국인", "기타외국인"),
}  # fmt: skip
FUND_MIX_CONCENTRATION = 200.0  # how far a fund's mix strays from INVESTOR_SHARES
DAY_MIX_CONCENTRATION = 30.0  # how far a day's buyers (or sellers) stray from the fund's mix
PRICE_SPREAD_IN_DAY = 0.003  # relative spread of the average prices the types dealt at
_FLOW_PATHS = ("buy_volume", "sell_volume", "buy_value", "sell_value")


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integers per row summing exactly to `totals`, proportional to `weights` (largest
    remainder); a zero weight gets nothing. Rows with no weight get nothing."""
    weight_sums = weights.sum(axis=1, keepdims=True)
    raw = np.divide(totals[:, None] * weights, weight_sums, out=np.zeros_like(weights),
                    where=weight_sums > 0)  # fmt: skip
    base = np.floor(raw)
    short = np.round(totals - base.sum(axis=1)).astype(np.int64)
    short[weight_sums[:, 0] == 0] = 0
    rank = np.argsort(np.argsort(-(raw - base), axis=1, kind="stable"), axis=1)
    return (base + (rank < short[:, None])).astype(np.int64)


def _investor_paths(m: Market, e: int) -> dict[str, np.ndarray]:
    """Per path row and investor type: units and KRW bought and sold of ETF `e` (every row,
    listed or not; callers keep the rows the fund traded on)."""
    ticker = m.etfs.at[e, "ticker"]

    def rng(*kind: str) -> np.random.Generator:
        """One stream per kind of draw, filled session after session: a longer market
        leaves the flows of the sessions it shares with a shorter one as they were."""
        return np.random.default_rng(_stable_seed(m.seed, ticker, "investors", *kind))

    mix = rng().dirichlet(np.array(INVESTOR_SHARES) * FUND_MIX_CONCENTRATION)
    volume, value = m.volume[:, e], m.traded_value[:, e].astype(float)
    paths: dict[str, np.ndarray] = {}
    for side in ("buy", "sell"):
        day_mix = rng(side, "mix").gamma(
            np.maximum(mix * DAY_MIX_CONCENTRATION, 1e-3), size=(len(volume), len(mix))
        )
        day_mix /= day_mix.sum(axis=1, keepdims=True)
        units = rng(side, "units").multinomial(volume, day_mix)
        prices = 1 + rng(side, "prices").normal(0, PRICE_SPREAD_IN_DAY, units.shape)
        paths[f"{side}_volume"] = units
        paths[f"{side}_value"] = _allocate(value, units * prices)
    return {name: paths[name] for name in _FLOW_PATHS}
