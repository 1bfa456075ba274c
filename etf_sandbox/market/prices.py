"""The paths: index levels, which indices KRX publishes, the specials (funds with a known
ground truth), path rows of dates, creation units outstanding and one-session premium spikes.

`build_market` (build.py) turns these into the NAV, price, volume, listed-share and net-asset
arrays of `Market`.
"""

from __future__ import annotations

import bisect
from datetime import date

import numpy as np
import pandas as pd

from etf_sandbox.market.reference import (
    ALNUM_FROM,
    ANCHOR,
    ANNUAL,
    CLASS_DRIFT,
    CLASS_VOL,
    FAMOUS,
)
from etf_sandbox.market.universe import _live_at_anchor

# Levels on 2002-10-11, the session before the first ETFs listed (코스닥 150 starts at its base).
_INDEX_LEVEL0 = {"코스피 200": 85.0, "코스피 200 선물지수": 430.0, "코스피 200 TR": 590.0,
                 "NASDAQ 100": 880.0, "S&P 500": 835.0, "코스닥 150": 1_000.0}  # fmt: skip
_FACTOR_GROUP = {"주식": 0, "채권": 2, "기타": 2, "원자재": 3, "통화": 3, "부동산": 4,
                 "혼합자산": 4}  # fmt: skip
_FAMOUS_AUM = {
    "069500": 6.5e12,
    "102110": 2.1e12,
    "105190": 0.43e12,
    "152100": 0.64e12,
    "122630": 2.0e12,
    "114800": 0.6e12,
    "252670": 1.5e12,
    "360750": 5.0e12,
}


def _index_paths(
    rng: np.random.Generator, etfs: pd.DataFrame, n_rows: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """GBM levels [row, index] of every distinct index (correlated through factor groups)."""
    names = list(dict.fromkeys(etfs["tracking_index"]))
    first = etfs.drop_duplicates("tracking_index").set_index("tracking_index")
    aclass = first.loc[names, "asset_class"].to_numpy()
    region = first.loc[names, "market_region"].to_numpy()
    k = len(names)
    vol = np.array([CLASS_VOL[c] for c in aclass]) * rng.uniform(0.8, 1.4, k)
    mu = np.array([CLASS_DRIFT[c] for c in aclass])
    group = np.array([_FACTOR_GROUP[c] + (1 if c == "주식" and r != "국내" else 0)
                      for c, r in zip(aclass, region, strict=True)])  # fmt: skip
    rho = np.where(group <= 1, 0.8, 0.6)
    factors = rng.standard_normal((n_rows, 5))
    z = rng.standard_normal((n_rows, k))
    r = mu / ANNUAL + vol / np.sqrt(ANNUAL) * (rho * factors[:, group] + np.sqrt(1 - rho**2) * z)
    pos = {n: i for i, n in enumerate(names)}
    if "코스피 200" in pos and "코스피 200 선물지수" in pos:  # futures follow the spot index
        r[:, pos["코스피 200 선물지수"]] = r[:, pos["코스피 200"]] + rng.normal(0, 2e-4, n_rows)
    r[0] = 0.0
    level0 = np.where(
        np.isin(aclass, ["채권", "기타"]),
        rng.uniform(100, 300, k),
        np.exp(rng.uniform(np.log(300), np.log(5000), k)),
    )
    for n, lv in _INDEX_LEVEL0.items():
        if n in pos:
            level0[pos[n]] = lv
    levels = level0 * np.cumprod(1 + r, axis=0)
    return levels, r, names


# The real market's shapes, at the real rates (Open API 2024-01-04 had 812 rows: 14 with index
# fields "0.00", 26 with "-"; days with net assets ≠ NAV × listed shares on 19-27 % of rows).
ZERO_INDEX_SHARE = (0.015, 0.02)  # funds whose index level KRX publishes as "0.00"
DASH_INDEX_SHARE = (0.03, 0.034)  # funds whose index fields are "-" on both services
SETTLEMENT_LAG_P = {1: 0.25, 2: 0.75}  # sessions between a listed-share change and net assets
FLOW_DAY_P = 0.2  # chance of a creation/redemption on a session
LUMP_CREATION_P = 0.0005  # chance of a creation of 1-3× the first units (net assets −50…−85 %)
SPIKES_PER_SESSION = 0.1  # illiquid funds closing 8-25 % away from NAV (one-session outliers)
SUSPENDED_CLOSE, SUSPENDED_NAV = 9_590, 44.20  # 265690 on 2024-01-04: +21,597 % premium
SUSPENSION_DAY = date(2022, 3, 2)  # trading in Russian-equity ETFs stopped in March 2022
# Tickers the tests elsewhere use through `special`, kept on published indices.
_PUBLISHED_TICKERS = ("069500", "122630", "114800", "252670", "0000D0")


def _plain(etfs: pd.DataFrame) -> pd.Series:
    """Generated funds listed before 2022 and never delisted: free for a special role."""
    return (
        ~etfs["ticker"].isin({r[0] for r in FAMOUS})
        & etfs["delisting_date"].isna()
        & (etfs["listing_date"] < date(2022, 1, 1))
    )


def _choose_unindexed(rng: np.random.Generator, etfs: pd.DataFrame, suspended: bool) -> int:
    """A plain fund on one of the least-tracked non-KRX indices, to have its index unpublished:
    the `no_index` special, or (suspended=True) a foreign equity fund listed before 2020 that
    stopped trading before START and whose NAV collapsed, like 265690."""
    pool = etfs[_plain(etfs) & (etfs["index_provider"] != "KRX")
                & (etfs["leverage_factor"] == 1.0)]  # fmt: skip
    if suspended:
        pool = pool[(pool["market_region"] == "해외") & (pool["asset_class"] == "주식")
                    & (pool["listing_date"] < date(2020, 1, 1))]  # fmt: skip
    size = pool["tracking_index"].map(etfs["tracking_index"].value_counts())
    pool = pool[size == size.min()]
    return int(pool.index[rng.integers(len(pool))])


def _pick_indices(
    rng: np.random.Generator, sizes: pd.Series, pool: list[str], share: tuple[float, float],
    forced: tuple[str, ...] = (),
) -> set[str]:  # fmt: skip
    """Indices from `pool` (random order) until their funds at ANCHOR reach `share`."""
    low, high = (round(s * sizes.sum()) for s in share)
    chosen, count = set(forced), int(sizes.reindex(list(forced)).fillna(0).sum())
    for index in rng.permutation(sorted(pool)):
        if count >= low:
            break
        if count + sizes[index] <= high:
            chosen.add(index)
            count += int(sizes[index])
    return chosen


def _index_publication(
    rng: np.random.Generator, etfs: pd.DataFrame, unindexed: tuple[int, ...]
) -> np.ndarray:
    """Per ETF "published", "zero" or "dash", decided per index and kept on every day, so every
    fund on one index shows the same.

    "zero": KRX does not publish the level (S&P futures and commodity indices, e.g. 132030,
    219480, 138910 on 2024-01-04): the Open API sends "0.00" in all three index fields, the data
    service "-". "dash": "-" on both (e.g. WISE, FnGuide, MSCI Russia indices), among them the
    indices of the `unindexed` funds.
    """
    live = _live_at_anchor(etfs)
    sizes = etfs.loc[live, "tracking_index"].value_counts()
    first = etfs.drop_duplicates("tracking_index").set_index("tracking_index")
    protected = set(etfs.loc[etfs["ticker"].isin(_PUBLISHED_TICKERS), "tracking_index"])
    forced = tuple(dict.fromkeys(etfs.loc[list(unindexed), "tracking_index"]))
    protected -= set(forced)
    free = [f for f in sizes.index if f not in protected]
    zero_pool = [f for f in free if first.at[f, "index_provider"] == "S&P" and (
        first.at[f, "asset_class"] == "원자재" or "Futures" in f or "GSCI" in f)]  # fmt: skip
    zero = _pick_indices(rng, sizes, zero_pool, ZERO_INDEX_SHARE)
    zero -= set(forced)
    dash_pool = [f for f in free if f not in zero and first.at[f, "index_provider"] != "KRX"]
    dash = _pick_indices(rng, sizes, dash_pool, DASH_INDEX_SHARE, forced)
    index = etfs["tracking_index"]
    return np.where(index.isin(zero), "zero", np.where(index.isin(dash), "dash", "published"))


def _choose_specials(
    etfs: pd.DataFrame, sessions: tuple[date, ...], index_status: np.ndarray, no_index: int,
    suspended: int,
) -> dict[str, str]:  # fmt: skip
    """Pick (and where needed adjust) the funds whose ground truth tests rely on."""
    famous = {r[0] for r in FAMOUS}
    published = index_status == "published"
    plain = etfs[_plain(etfs) & published]
    te_fund = plain[
        (plain["leverage_factor"] == 1.0)
        & (plain["asset_class"] == "주식")
        & (plain["market_region"] == "국내")
    ].iloc[0]["ticker"]
    anchor_row = bisect.bisect_right(sessions, ANCHOR) - 1
    new_day = sessions[anchor_row - 100]
    recent = etfs[
        ~etfs["ticker"].isin(famous)
        & published
        & (etfs["listing_date"] >= ALNUM_FROM)
        & (etfs["listing_date"] <= ANCHOR)
    ]
    gap = recent["listing_date"].map(lambda d: abs((d - new_day).days))
    new_fund = recent.loc[gap.idxmin(), "ticker"]
    etfs.loc[etfs["ticker"] == new_fund, "listing_date"] = new_day
    others = plain[~plain["ticker"].isin([te_fund])]
    payers = others[(others["leverage_factor"] == 1.0) & (others["asset_class"] == "주식")
                    & (others.index != others.index[1])]  # fmt: skip
    dividend = payers["name"].str.contains("배당|커버드콜|인컴")
    monthly_payer = (payers[dividend] if dividend.any() else payers).iloc[0]["ticker"]
    return {
        "monthly_payer": monthly_payer,
        "te_0_5": te_fund,
        "leveraged_2x": "122630",
        "inverse_1x": "114800",
        "inverse_2x": "252670",
        "new_listing": new_fund,
        "no_trade_day": others.iloc[1]["ticker"],
        "delisted": etfs[etfs["delisting_date"].notna() & ~etfs["ticker"].isin(famous)].iloc[0][
            "ticker"
        ],
        "no_index": etfs.at[no_index, "ticker"],
        "kodex200": "069500",
        "alnum": "0000D0",
        "suspended": etfs.at[suspended, "ticker"],
    }


def _rows_of(dates: pd.Series, sessions: tuple[date, ...], missing: int) -> np.ndarray:
    """Path row (1-based session position) of each date on or after it; `missing` for None."""
    return np.array(
        [missing if d is None or pd.isna(d) else bisect.bisect_left(sessions, d) + 1
         for d in dates],
        dtype=np.int64,
    )  # fmt: skip


def _units_path(units0: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """Creation units outstanding per row: a session redeems at most a third of them (so an
    unsettled redemption leaves net assets at most about twice NAV × listed shares, as the
    real +103 %), and at least one unit stays."""
    units = np.empty_like(flows)
    held = units0.copy()
    for t, flow in enumerate(flows):
        held = np.maximum(held + np.maximum(flow, -(held // 3)), 1)
        units[t] = held
    return units


def _premium_spikes(
    rng: np.random.Generator, eligible: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    anchor_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(rows, ETF positions, premium %) of one-session closes far from NAV on thin trading.

    The first event is on ANCHOR, so the shape shows on the reference session.
    """
    pool = np.flatnonzero(eligible & (first_idx < anchor_row) & (end_idx > anchor_row))
    n_events = round(SPIKES_PER_SESSION * (int(end_idx.max()) - 1))
    anchor_fund = pool[rng.integers(len(pool))]
    cols = pool[rng.integers(len(pool), size=n_events)]
    lo, hi = first_idx[cols] + 1, end_idx[cols]
    rows = lo + (rng.random(n_events) * (hi - lo)).astype(np.int64)
    sign = np.where(rng.random(n_events + 1) < 0.7, 1.0, -1.0)
    sign[0] = 1.0
    premium = np.round(sign * rng.uniform(8, 25, n_events + 1), 2)
    return np.r_[anchor_row, rows], np.r_[anchor_fund, cols], premium
