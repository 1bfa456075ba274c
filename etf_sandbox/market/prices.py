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

from etf_sandbox.market.draws import Draws
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
_INDEX_LEVEL0 = {"코스피 200": 80.0, "코스피 200 선물지수": 430.0, "코스피 200 TR": 590.0,
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


# Real KOSPI 200 closes the generated one passes through (its level before START is
# _INDEX_LEVEL0's): the 2007 peak, the 2008 trough, the January 2021 high, 2024-01-04.
KOSPI200_ANCHORS = {date(2007, 10, 31): 260.0, date(2008, 10, 24): 120.0,
                    date(2021, 1, 8): 430.22, date(2024, 1, 4): 348.07}  # fmt: skip


def _index_paths(
    draws: Draws, etfs: pd.DataFrame, sessions: tuple[date, ...]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """GBM levels [row, index] of every distinct index (correlated through factor groups), the
    KOSPI 200 bridged through KOSPI200_ANCHORS and its futures index following it."""
    names = list(dict.fromkeys(etfs["tracking_index"]))
    first = etfs.drop_duplicates("tracking_index").set_index("tracking_index")
    aclass = first.loc[names, "asset_class"].to_numpy()
    region = first.loc[names, "market_region"].to_numpy()
    k = len(names)
    u = draws.fund("index", k, lambda g, s: g.random(s), width=2)
    vol = np.array([CLASS_VOL[c] for c in aclass]) * (0.8 + 0.6 * u[:, 0])
    mu = np.array([CLASS_DRIFT[c] for c in aclass])
    group = np.array([_FACTOR_GROUP[c] + (1 if c == "주식" and r != "국내" else 0)
                      for c, r in zip(aclass, region, strict=True)])  # fmt: skip
    rho = np.where(group <= 1, 0.8, 0.6)
    factors = draws.rows("index_factors", 5, lambda g, s: g.standard_normal(s))
    z = draws.rows("index_noise", k, lambda g, s: g.standard_normal(s))
    r = mu / ANNUAL + vol / np.sqrt(ANNUAL) * (rho * factors[:, group] + np.sqrt(1 - rho**2) * z)
    r[0] = 0.0
    level0 = np.where(np.isin(aclass, ["채권", "기타"]), 100 + 200 * u[:, 1],
                      np.exp(np.log(300) + np.log(5000 / 300) * u[:, 1]))  # fmt: skip
    pos = {n: i for i, n in enumerate(names)}
    for n, lv in _INDEX_LEVEL0.items():
        if n in pos:
            level0[pos[n]] = lv
    if "코스피 200" in pos:
        spot = pos["코스피 200"]
        _bridge(r[:, spot], level0[spot], sessions)
        if "코스피 200 선물지수" in pos:  # futures follow the spot index
            basis = draws.rows("futures_basis", 1, lambda g, s: g.normal(0, 2e-4, s))[:, 0]
            r[1:, pos["코스피 200 선물지수"]] = r[1:, spot] + basis[1:]
    levels = level0 * np.cumprod(1 + r, axis=0)
    return levels, r, names


def _bridge(r: np.ndarray, level0: float, sessions: tuple[date, ...]) -> None:
    """Scale the returns between consecutive anchors (in place) so the path closes at each
    anchor's level; the returns after the last anchor are left as drawn."""
    row, level = 0, level0
    for day, target in KOSPI200_ANCHORS.items():
        end = bisect.bisect_right(sessions, day)  # path row of the session on or before day
        if end >= len(r) or end <= row:
            break
        drawn = np.prod(1 + r[row + 1 : end + 1])
        r[row + 1 : end + 1] = (1 + r[row + 1 : end + 1]) * (target / level / drawn) ** (
            1 / (end - row)) - 1  # fmt: skip
        row, level = end, target


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
    covered_call = plain["name"].str.contains("커버드콜")  # its PDF has no weights (KRX's "-")
    te_fund = plain[  # a plain stock basket (`baskets.basket_type`) on an index build may
        (plain["leverage_factor"] == 1.0)  # rescale (never one with a real starting level)
        & (plain["asset_class"] == "주식")
        & (plain["market_region"] == "국내")
        & ~covered_call
        & ~plain["tracking_index"].isin(_INDEX_LEVEL0)
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
    # Covered-call funds stay out of the other roles too, as they were while one was te_0_5.
    others = plain[~plain["ticker"].isin([te_fund]) & ~covered_call]
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
    draws: Draws, eligible: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    anchor_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(rows, ETF positions, premium %) of one-session closes far from NAV on thin trading,
    SPIKES_PER_SESSION of them per session, drawn a calendar year at a time: each on a drawn
    session, in a fund drawn among the eligible ones trading then (a session without one has
    none; the pool's funds are those listed at ANCHOR, most of them listed in recent years).

    The first event is on ANCHOR, so the shape shows on the reference session.
    """
    pool = np.flatnonzero(eligible & (first_idx < anchor_row) & (end_idx > anchor_row))
    anchor_rng = draws.stream("spikes", "anchor")
    rows, cols = [anchor_row], [int(pool[anchor_rng.integers(len(pool))])]
    for year, start, end in draws.years:
        rng = draws.stream("spikes", year)
        n_events = round(SPIKES_PER_SESSION * (end - start))
        for row, u in zip(rng.integers(start, end, n_events), rng.random(n_events), strict=True):
            trading = pool[(first_idx[pool] < row) & (end_idx[pool] > row)]
            if len(trading):
                rows.append(int(row))
                cols.append(int(trading[int(u * len(trading))]))
    row_all, col_all = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)
    u = draws.uniform_at("spike_size", col_all, row_all)
    sign = np.where(draws.uniform_at("spike_sign", col_all, row_all) < 0.7, 1.0, -1.0)
    sign[0] = 1.0
    return row_all, col_all, np.round(sign * (8 + 17 * u), 2)
