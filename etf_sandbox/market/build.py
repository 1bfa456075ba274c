"""Building the market: `build_market` draws the universe, the paths, the payouts and the
ground truth, in a fixed order from one `numpy.random.default_rng(seed)`; `get_market` builds
it once per process."""

from __future__ import annotations

import bisect
import functools
from datetime import date, timedelta

import numpy as np
import pandas as pd

from etf_assets import partitions
from etf_assets.partitions import seed_calendar, weekday_sessions
from etf_sandbox.market.baskets import _build_pools, basket_type
from etf_sandbox.market.core import Market
from etf_sandbox.market.draws import Draws
from etf_sandbox.market.payouts import (
    MONTHLY_PAYER_TE_PCT,
    MONTHLY_PAYER_YIELD_PCT,
    _payout_policy,
    _payouts,
)
from etf_sandbox.market.prices import (
    _FAMOUS_AUM,
    FLOW_DAY_P,
    LUMP_CREATION_P,
    SETTLEMENT_LAG_P,
    SUSPENDED_CLOSE,
    SUSPENDED_NAV,
    SUSPENSION_DAY,
    _choose_specials,
    _choose_unindexed,
    _index_paths,
    _index_publication,
    _premium_spikes,
    _rows_of,
    _units_path,
)
from etf_sandbox.market.reference import (
    ANCHOR,
    ANNUAL,
    CLASS_VOL,
    FAMOUS,
    MIN_END,
    START,
    tick_round,
)
from etf_sandbox.market.universe import _build_universe, _extend_universe


def build_market(seed: int, n_etfs: int, sessions: tuple[date, ...]) -> Market:
    """Generate the universe, the index/NAV/price paths and the ground truth.

    One stream draws the funds listed up to ANCHOR and the choices made among them; everything
    else comes from `Draws` (per kind, calendar year and fund), so a market that reaches
    further agrees with a shorter one on every day they share.
    """
    rng = np.random.default_rng(seed)
    draws = Draws(seed, sessions)
    etfs = _build_universe(rng, n_etfs, sessions)
    suspended = _choose_unindexed(rng, etfs, suspended=True)
    etfs.loc[suspended, "expense_ratio_pct"] = 0.0  # 265690's master shows 0.000000
    no_index = _choose_unindexed(rng, etfs.drop(index=suspended), suspended=False)
    index_status = _index_publication(rng, etfs, (suspended, no_index))
    special = _choose_specials(etfs, sessions, index_status, no_index, suspended)
    status_of = dict(zip(etfs["tracking_index"], index_status, strict=True))
    etfs = _extend_universe(etfs, draws, n_etfs, sessions, set(special.values()))
    index_status = etfs["tracking_index"].map(status_of).fillna("published").to_numpy()
    etfs["basket"] = [basket_type(r) for r in etfs.itertuples(index=False)]
    n, t_rows = len(etfs), len(sessions) + 1
    pos = {t: i for i, t in enumerate(etfs["ticker"])}
    sp = {k: pos[v] for k, v in special.items()}

    levels, idx_r, names = _index_paths(draws, etfs, sessions)
    k_of = np.array([names.index(x) for x in etfs["tracking_index"]])
    factor = etfs["leverage_factor"].to_numpy(dtype=float)
    fee = etfs["expense_ratio_pct"].to_numpy(dtype=float)
    aclass = etfs["asset_class"].to_numpy()
    region = etfs["market_region"].to_numpy()
    domestic_eq = (aclass == "주식") & (region == "국내")

    # per-ETF parameters, then the ground-truth overrides
    te = np.exp(draws.fund("tracking_error", n, lambda g, s: g.normal(np.log(0.3), 0.8, s)))
    te = np.clip(te, 0.05, 2.0)
    te[etfs["replication"].str.contains("액티브").to_numpy()] *= 2.0
    te = np.clip(te, 0.05, 2.0)
    z = draws.fund("premium", n, lambda g, s: g.standard_normal(s), width=3)
    u = draws.fund("premium_spread", n, lambda g, s: g.random(s), width=2)
    prem_mu = 0.05 * z[:, 0] + np.where(domestic_eq, 0.0, 0.05 + 0.15 * z[:, 1])
    prem_sd = np.where(domestic_eq, 0.03 + 0.09 * u[:, 0], 0.08 + 0.32 * u[:, 0])
    liquidity = np.exp(np.log(15_000) + 2.0 * z[:, 2])
    illiquid = z[:, 2] < ILLIQUID_BELOW_Z
    p_no_trade = np.where(illiquid, 0.002 + 0.038 * u[:, 1], 0)
    for key, e in sp.items():
        if key not in ("no_trade_day", "no_index", "delisted"):
            p_no_trade[e] = 0.0
    te[sp["te_0_5"]], prem_mu[sp["te_0_5"]], prem_sd[sp["te_0_5"]] = 0.5, 0.3, 0.0
    te[sp["monthly_payer"]] = MONTHLY_PAYER_TE_PCT
    for key, value in (("leveraged_2x", 0.8), ("inverse_1x", 0.6), ("inverse_2x", 1.1)):
        te[sp[key]] = value
    p_no_trade[sp["no_trade_day"]] = 0.01
    for key in ("te_0_5", "monthly_payer"):  # keep 2-dp index rounding negligible
        if levels[0, k_of[sp[key]]] < 1000:
            levels[:, k_of[sp[key]]] *= 1000 / levels[0, k_of[sp[key]]]

    first_idx = _rows_of(etfs["listing_date"], sessions, 1)
    end_idx = _rows_of(etfs["delisting_date"], sessions, t_rows)
    anchor_session = bisect.bisect_right(sessions, ANCHOR)
    cols = np.arange(n)

    # NAV before payouts: NAV_t = NAV_{t-1} × (1 + L r_t − fee/250/100 + eps_t), from the base
    # NAV on the row before listing (KOSPI 200 funds at 100 × the index, like KODEX 200)
    eps = draws.rows("nav_noise", n, lambda g, s: g.standard_normal(s)) * (
        te / 100 / np.sqrt(ANNUAL))  # fmt: skip
    growth = 1 + factor * idx_r[:, k_of] - fee / 100 / ANNUAL + eps
    growth[0] = 1.0
    cum = np.cumprod(np.maximum(growth, 0.05), axis=0)
    base_nav = _base_nav(draws, etfs)
    kospi200 = (etfs["tracking_index"] == "코스피 200").to_numpy() & (factor == 1.0)
    base_nav[kospi200] = np.round(levels[first_idx[kospi200] - 1, k_of[kospi200]] * 100, -1)
    es = sp["suspended"]  # traded until SUSPENSION_DAY, then its assets were written off
    suspended_row = bisect.bisect_left(sessions, SUSPENSION_DAY) + 1
    base_nav[es] = SUSPENDED_CLOSE * cum[first_idx[es] - 1, es] / cum[suspended_row - 1, es]
    nav_before_payouts = base_nav * cum / cum[first_idx - 1, cols]
    nav_before_payouts[suspended_row:, es] = (
        SUSPENDED_NAV * cum[suspended_row:, es] / cum[anchor_session, es]
    )

    # payouts: the NAV falls by each one on its ex-date, NAV_t = NAV_{t-1} × g_t − D_t
    policy = _payout_policy(draws, etfs, sp, base_nav)
    payouts, after_payouts = _payouts(draws, etfs, sessions, nav_before_payouts, first_idx,
                                      end_idx, policy)  # fmt: skip
    nav = np.round(nav_before_payouts * after_payouts, 2)
    etfs["payout_frequency"] = policy["frequency"].to_numpy()

    # close = NAV × (1 + premium), KRX tick; no-trade days carry the previous close
    normal = functools.partial(_rows_normal, draws, n)
    prem = prem_mu + prem_sd * normal("premium")
    eligible = illiquid & ~np.isin(np.arange(n), list(sp.values()))
    eligible &= ~etfs["ticker"].isin({r[0] for r in FAMOUS}).to_numpy()
    spike_rows, spike_cols, spike_pct = _premium_spikes(draws, eligible, first_idx, end_idx,
                                                        anchor_session)  # fmt: skip
    prem[spike_rows, spike_cols] = spike_pct
    close = tick_round(nav * (1 + prem / 100))
    e5 = sp["te_0_5"]
    close[:, e5] = np.round(nav[:, e5] * 1.003)
    rows = np.arange(t_rows)[:, None]
    no_trade = draws.rows("no_trade", n, lambda g, s: g.random(s)) < p_no_trade
    no_trade &= rows > first_idx
    no_trade[spike_rows, spike_cols] = False
    ntd_row = anchor_session - 36
    no_trade[ntd_row, sp["no_trade_day"]] = True
    no_trade[suspended_row:, es] = True
    close[suspended_row - 1, es] = SUSPENDED_CLOSE
    close = pd.DataFrame(np.where(no_trade, np.nan, close)).ffill().fillna(0).to_numpy()
    base_price = tick_round(base_nav).astype(np.int64)
    prev_close = np.vstack([close[:1], close[:-1]])
    prev_close = np.where(rows == first_idx, base_price, prev_close)

    dv = np.maximum(np.abs(factor) * np.array([CLASS_VOL[c] for c in aclass]) / 16, 0.002)
    opn = tick_round(prev_close * (1 + 0.35 * normal("open") * dv))
    high = np.maximum(tick_round(np.maximum(opn, close) * (1 + np.abs(0.5 * normal("high")) * dv),
                                 "ceil"), np.maximum(opn, close))  # fmt: skip
    low = np.maximum(np.minimum(tick_round(np.minimum(opn, close)
                                           * (1 - np.abs(0.5 * normal("low")) * dv), "floor"),
                                np.minimum(opn, close)), 1)  # fmt: skip
    opn, high, low = (np.where(no_trade, 0, a).astype(np.int32) for a in (opn, high, low))
    volume = np.where(
        no_trade, 0, np.maximum(np.round(liquidity * np.exp(0.7 * normal("volume"))), 1)
    ).astype(np.int64)
    traded_value = np.round(volume * (opn + high + low + close) / 4).astype(np.int64)

    # listed shares: creations/redemptions in CU multiples; net assets follow after settlement
    cu = etfs["cu_shares"].to_numpy(dtype=np.int64)
    aum = np.exp(draws.fund("aum", n, lambda g, s: g.normal(np.log(1.2e10), 1.5, s)))
    ref_nav = nav[first_idx, cols]
    for ticker, v in _FAMOUS_AUM.items():  # their real size at ANCHOR, from the first units
        e = pos[ticker]
        aum[e], ref_nav[e] = v, nav[anchor_session, e]
    units0 = np.maximum(np.round(aum / ref_nav / cu), 2).astype(np.int64)
    flow_scale = np.maximum(units0 * 0.01, 1.0)
    flows = np.round((0.05 + normal("flows")) * flow_scale).astype(np.int64)
    events = draws.rows("flow_events", n, lambda g, s: g.random(s))  # < FLOW_DAY_P: a flow
    lump_p = FLOW_DAY_P * LUMP_CREATION_P  # on a flow day, an LP seeding a small fund at once
    lump = events < lump_p
    flows[lump] = np.round(units0 * (1 + 2 * events / lump_p))[lump]  # 1-3× the first units
    flows *= (events < FLOW_DAY_P) & (rows > np.maximum(first_idx, 1))
    flows[:, es] = 0
    shares = _units_path(units0, flows) * cu
    lags = np.array(list(SETTLEMENT_LAG_P))
    lag = draws.fund("settlement_lag", n, lambda g, s: g.choice(lags, s, p=list(
        SETTLEMENT_LAG_P.values())))  # fmt: skip
    settled = shares[np.maximum(rows - lag, 0), np.arange(n)]
    net_assets = np.round(nav * settled).astype(np.int64)

    index_level = np.round(levels[:, k_of], 2)
    index_level[:, index_status != "published"] = np.nan
    now_row = np.clip(np.minimum(np.maximum(first_idx, anchor_session), end_idx - 1), 0, t_rows - 1)
    etfs["listed_shares_now"] = shares[now_row, np.arange(n)]
    spikes = (
        pd.DataFrame(
            {
                "ticker": etfs["ticker"].to_numpy()[spike_cols],
                "date": [sessions[r - 1] for r in spike_rows],
                "premium_pct": spike_pct,
            }
        )
        .drop_duplicates(["ticker", "date"])
        .sort_values(["date", "ticker"], ignore_index=True)
    )

    market = Market(
        seed=seed, sessions=sessions, etfs=etfs, special=special, ground_truth={},
        first_idx=first_idx, end_idx=end_idx, opn=opn, high=high, low=low,
        close=close.astype(np.int32), nav=nav, volume=volume, traded_value=traded_value,
        shares=shares, net_assets=net_assets, settlement_lag=lag, index_level=index_level,
        index_status=index_status, index_paths=levels, index_of=k_of, premium_spikes=spikes,
        base_price=base_price, base_nav=base_nav, payouts=payouts,
        name_order=np.argsort(etfs["name"].to_numpy(dtype=object), kind="stable"),
        pools=_build_pools(np.random.default_rng(seed + 1), sessions),
    )  # fmt: skip
    market.ground_truth = _ground_truth(market, te, prem_mu, prem_sd, no_trade)
    return market


# A third of funds trade thinly: liquidity below its 30 % quantile (z of the normal's 0.3).
ILLIQUID_BELOW_Z = -0.5244
# Money-market, rate and bond-futures funds quoted near 1,000,000 KRW (real CD-rate funds:
# ~2,600 KRW a month on a ~1,020,000 KRW price).
MILLION_NAV_INDICES = ("CD금리", "KOFR", "머니마켓", "국채선물")
MILLION_NAV_SHARE = 0.1
HUNDRED_THOUSAND_NAV_SHARE = 0.35  # bond and money funds quoted near 100,000 KRW


def _rows_normal(draws: Draws, n: int, kind: str) -> np.ndarray:
    return draws.rows(kind, n, lambda g, s: g.standard_normal(s))


def _base_nav(draws: Draws, etfs: pd.DataFrame) -> np.ndarray:
    """NAV before the first session: 10,000 KRW; 100,000 for some bond and money funds,
    1,000,000 for MILLION_NAV_SHARE of the plain rate and bond-futures funds."""
    u = draws.fund("base_nav", len(etfs), lambda g, s: g.random(s))
    bondish = etfs["asset_class"].isin(["채권", "기타"]).to_numpy()
    rate = (etfs["tracking_index"].str.contains("|".join(MILLION_NAV_INDICES))
            & (etfs["leverage_factor"] == 1.0)).to_numpy()  # fmt: skip
    hundred_thousand = bondish & (u < HUNDRED_THOUSAND_NAV_SHARE)
    return np.where(rate & (u < MILLION_NAV_SHARE), 1_000_000.0,
                    np.where(hundred_thousand, 100_000.0, 10_000.0))  # fmt: skip


def _ground_truth(
    m: Market, te: np.ndarray, mu: np.ndarray, sd: np.ndarray, no_trade: np.ndarray
) -> dict[str, dict]:
    """What the specials were built with, keyed by ticker (tests compare against it)."""
    truth: dict[str, dict] = {}
    anchor_row = bisect.bisect_right(m.sessions, ANCHOR)
    year_ago = bisect.bisect_left(m.sessions, ANCHOR - timedelta(days=365)) + 1
    for key, ticker in m.special.items():
        e = m.position(ticker)
        row = m.etfs.loc[e]
        info: dict = {
            "special": key,
            "leverage_factor": float(row["leverage_factor"]),
            "tracking_error_pct": float(te[e]),
            "premium_mean_pct": float(mu[e]),
            "premium_sd_pct": float(sd[e]),
            "listing_date": row["listing_date"],
            "delisting_date": row["delisting_date"],
            "has_index": not np.isnan(m.index_level[anchor_row, e]),
            "anchor": ANCHOR,
        }
        if key == "te_0_5":
            info.update(premium_pct=0.3, close_tick_krw=1, note=(
                "eps ~ N(0, 0.5/sqrt(250) %) per day; close = round(nav_2dp * 1.003) to 1 KRW, "
                "so (close - nav)/nav*100 from the wire is 0.3 within 0.5/nav*100; never a "
                "no-trade day"))  # fmt: skip
        if key == "new_listing":
            info["sessions_listed_before_anchor"] = anchor_row - int(m.first_idx[e])
        if key == "no_trade_day":
            days = np.flatnonzero(no_trade[year_ago : anchor_row + 1, e]) + year_ago
            info["no_trade_dates"] = [m.sessions[r - 1] for r in days]
        if key == "delisted":
            info["last_trade_date"] = m.sessions[int(m.end_idx[e]) - 2]
        if key == "suspended":
            close, nav = int(m.close[anchor_row, e]), float(m.nav[anchor_row, e])
            info.update(close=close, nav=nav, premium_pct=(close - nav) / nav * 100,
                        suspended_since=SUSPENSION_DAY, note=(
                "no trade since SUSPENSION_DAY (O/H/L and volume 0, close carried at 9,590), "
                "NAV a few dozen KRW, fee 0, index fields '-'"))  # fmt: skip
        if key == "monthly_payer":
            info.update(payout_frequency="monthly", yield_pct=MONTHLY_PAYER_YIELD_PCT)
        truth[ticker] = info
    return truth


def market_end() -> date:
    """The market's last day: the end of the year the XKRX calendar reaches, MIN_END at the
    earliest, so `make demo` on any day the calendar covers has sessions to show. The market
    agrees with a shorter one on every day they share (`Draws`), so moving the end changes
    only the days it adds."""
    return max(MIN_END, date(partitions.calendar_end().year, 12, 31))


@functools.cache
def generated_sessions() -> tuple[date, ...]:
    """The market's sessions, START to `market_end()`, by the holidays of the calendar shipped
    in the package and the closures on top of it (partitions.closures).

    Not the self-extending calendar's holidays: a new exchange_calendars release must not
    change the market. Past the seed's end every weekday but a closure is a session; the
    product asks only for its own sessions there.
    """
    return weekday_sessions(seed_calendar(), START, market_end())


@functools.cache
def get_market(seed: int = 20260101, n_etfs: int = 1070) -> Market:
    """The market for (seed, n_etfs), built once per process (pure function of its args)."""
    return build_market(seed, n_etfs, generated_sessions())
