"""The market object: the generated paths and the views the routes serve from them
(daily rows, histories, tracking error, distributions, holdings, investor flows).

How the market is generated is described in the package docstring (`etf_sandbox.market`);
`build_market` (build.py) creates it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from etf_sandbox.market.baskets import _holdings
from etf_sandbox.market.flows import _FLOW_PATHS, INVESTOR_GROUPS, INVESTOR_TYPES, _investor_paths
from etf_sandbox.market.payouts import _seibro_category
from etf_sandbox.market.reference import ANNUAL, HOLDING_COLUMNS


@dataclass
class Market:
    """The generated market; path arrays are indexed [row, etf], row = session position + 1.

    Row 0 is the hidden session before START, so START has a previous close and index level.
    Public methods only expose the sessions of `sessions` (START to `market_end()`).
    """

    seed: int
    sessions: tuple[date, ...]
    etfs: pd.DataFrame
    special: dict[str, str]
    ground_truth: dict[str, dict]
    first_idx: np.ndarray  # row of each ETF's first public day (listing day, or 1)
    end_idx: np.ndarray  # first row no longer listed (delisting day), or len(sessions) + 1
    opn: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    nav: np.ndarray
    volume: np.ndarray
    traded_value: np.ndarray
    shares: np.ndarray
    net_assets: np.ndarray  # KRX's 순자산총액: NAV × the listed shares of `settlement_lag` ago
    settlement_lag: np.ndarray  # sessions until a creation/redemption reaches net assets
    index_level: np.ndarray  # published index level (2 dp) per ETF, NaN where not published
    index_status: np.ndarray  # per ETF: "published", "zero" (Open API 0.00) or "dash" ("-")
    index_paths: np.ndarray  # true levels [row, index] (also of unpublished indices)
    index_of: np.ndarray  # column of index_paths each ETF tracks
    premium_spikes: pd.DataFrame  # ticker, date, premium_pct of one-session outlier closes
    base_price: np.ndarray  # 기준가 on the listing day (tick-rounded base NAV)
    base_nav: np.ndarray
    # etf, ex_row, record_row, amount_krw, reason, record_date, pay_date, tax_base_price
    payouts: pd.DataFrame
    name_order: np.ndarray  # ETF positions sorted by display name: KRX's row order
    pools: dict[str, tuple[pd.DataFrame, np.ndarray]]  # instruments, weekly prices
    _pos: dict[str, int] = field(default_factory=dict, repr=False)
    _row: dict[date, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._pos = {t: i for i, t in enumerate(self.etfs["ticker"])}
        self._row = {d: i + 1 for i, d in enumerate(self.sessions)}
        self._listing_ord = np.array([d.toordinal() for d in self.etfs["listing_date"]])
        self._delisting_ord = np.array(
            [np.iinfo(np.int64).max if d is None or pd.isna(d) else d.toordinal()
             for d in self.etfs["delisting_date"]]
        )  # fmt: skip
        renamed = self.etfs["renamed_on"]
        self._renamed_ord = np.array(
            [0 if d is None or pd.isna(d) else d.toordinal() for d in renamed]
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Market(seed={self.seed}, etfs={len(self.etfs)}, sessions={len(self.sessions)})"

    def position(self, ticker: str) -> int | None:
        return self._pos.get(ticker)

    def session_row(self, d: date) -> int | None:
        """Path row of a generated session; None for any other date."""
        return self._row.get(d)

    def listed_on(self, d: date) -> np.ndarray:
        """Positions (in KRX name order) of ETFs listed on any date d."""
        o = d.toordinal()
        order = self.name_order
        keep = (self._listing_ord[order] <= o) & (o < self._delisting_ord[order])
        return order[keep]

    def names_on(self, d: date, cols: np.ndarray) -> pd.DataFrame:
        """name, name_full, name_eng of the ETFs at `cols` as KRX showed them on d: the former
        brand before the issuer's rename."""
        etfs = self.etfs.iloc[cols]
        before = d.toordinal() < self._renamed_ord[cols]
        return pd.DataFrame({
            column: np.where(before, etfs[f"former_{column}"], etfs[column])
            for column in ("name", "name_full", "name_eng")
        })  # fmt: skip

    def daily(self, d: date) -> pd.DataFrame | None:
        """Every ETF listed on session d (KRX name order); None if d is not a generated session."""
        t = self._row.get(d)
        if t is None:
            return None
        cols = self.listed_on(d)
        close = self.close[t, cols].astype(np.int64)
        listing_day = self._listing_ord[cols] == d.toordinal()
        prev_close = np.where(listing_day, self.base_price[cols], self.close[t - 1, cols])
        nav = self.nav[t, cols]
        shares = self.shares[t, cols]
        idx = self.index_level[t, cols]
        idx_prev = self.index_level[t - 1, cols]
        idx_change = np.round(idx - idx_prev, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            idx_pct = np.round(idx_change / idx_prev * 100, 2)
        etfs = self.etfs
        return pd.DataFrame(
            {
                "ticker": etfs["ticker"].to_numpy()[cols],
                "isin": etfs["isin"].to_numpy()[cols],
                "name": self.names_on(d, cols)["name"].to_numpy(),
                "open": self.opn[t, cols].astype(np.int64),
                "high": self.high[t, cols].astype(np.int64),
                "low": self.low[t, cols].astype(np.int64),
                "close": close,
                "prev_close": prev_close.astype(np.int64),
                "volume": self.volume[t, cols],
                "traded_value": self.traded_value[t, cols],
                "market_cap": close * shares,
                "nav": nav,
                "net_assets": np.where(listing_day, 0, self.net_assets[t, cols]),
                "listed_shares": shares,
                "index_name": etfs["tracking_index"].to_numpy()[cols],
                "index_close": idx,
                "index_change": idx_change,
                "index_change_pct": idx_pct,
                "index_status": self.index_status[cols],
            }
        )

    def unpublished_index(self) -> dict[str, str]:
        """Ticker → "zero" or "dash" for every ETF whose index level KRX does not publish."""
        hidden = self.index_status != "published"
        return dict(zip(self.etfs["ticker"][hidden], self.index_status[hidden], strict=True))

    def net_assets_gap(self, d: date) -> pd.Series | None:
        """Per ticker listed on session d: net assets / (NAV × listed shares) − 1, NaN on the
        listing day (net assets 0). Non-zero where a creation or redemption has not settled."""
        daily = self.daily(d)
        if daily is None:
            return None
        gap = daily["net_assets"] / (daily["nav"] * daily["listed_shares"]) - 1
        return pd.Series(np.where(daily["net_assets"] > 0, gap, np.nan), index=daily["ticker"])

    def outliers(self, d: date) -> pd.DataFrame:
        """The outlier rows of session d: ticker, kind ("suspended" or "premium_spike"), close,
        nav and premium_pct = (close − NAV) / NAV × 100 as the wire shows them."""
        daily = self.daily(d)
        columns = ["ticker", "kind", "close", "nav", "premium_pct"]
        if daily is None:
            return pd.DataFrame(columns=columns)
        spikes = set(self.premium_spikes.loc[self.premium_spikes["date"] == d, "ticker"])
        kind = np.where(daily["ticker"] == self.special["suspended"], "suspended",
                        np.where(daily["ticker"].isin(spikes), "premium_spike", ""))  # fmt: skip
        out = daily.assign(kind=kind, premium_pct=(daily["close"] - daily["nav"]) / daily["nav"]
                           * 100)  # fmt: skip
        return out.loc[out["kind"] != "", columns].reset_index(drop=True)

    def history(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """One ETF's sessions in [start, end], oldest first (basis of 05901 and 06001)."""
        e = self._pos[ticker]
        lo = max(bisect.bisect_left(self.sessions, start) + 1, int(self.first_idx[e]))
        hi = min(bisect.bisect_right(self.sessions, end) + 1, int(self.end_idx[e]))
        rows = np.arange(lo, max(hi, lo))
        listing_day = np.array([self.sessions[r - 1] for r in rows]) == self.etfs.at[
            e, "listing_date"] if len(rows) else np.zeros(0, dtype=bool)  # fmt: skip
        return pd.DataFrame(
            {
                "date": [self.sessions[r - 1] for r in rows],
                "close": self.close[rows, e].astype(np.int64),
                "prev_close": np.where(listing_day, self.base_price[e], self.close[rows - 1, e]),
                "nav": self.nav[rows, e],
                "nav_prev": np.where(listing_day, self.base_nav[e], self.nav[rows - 1, e]),
                "index_close": self.index_level[rows, e],
                "index_prev": self.index_level[rows - 1, e],
            }
        )

    def published_tracking_error(self, ticker: str, end: date) -> float:
        """KRX's 추적오차율 (05901 TRACE_ERR_RT) as the sandbox defines it, in %.

        Sample std (ddof=1) × √250 × 100 of (NAV return with the payouts of its ex-dates added
        back − multiple × index return), from the
        published 2-dp NAV and index levels, over the returns dated within the 365 calendar
        days ending on `end`. Deliberately not our 250-session window (a calendar year holds
        ~245-248 sessions), as KRX's own figure is not. NaN without an index level or with
        fewer than 20 returns.
        """
        e = self._pos[ticker]
        factor = float(self.etfs.at[e, "leverage_factor"])
        lo = bisect.bisect_right(self.sessions, end - timedelta(days=365)) + 1
        hi = bisect.bisect_right(self.sessions, end) + 1
        lo = max(lo, int(self.first_idx[e]) + 1)
        hi = min(hi, int(self.end_idx[e]))
        if hi - lo < 20:
            return float("nan")
        nav = self.nav[lo - 1 : hi, e]
        idx = self.index_level[lo - 1 : hi, e]
        if np.isnan(idx).any():
            return float("nan")
        paid = self.cash_paid(e, np.arange(lo, hi))
        excess = ((nav[1:] + paid) / nav[:-1] - 1) - factor * (idx[1:] / idx[:-1] - 1)
        return float(np.std(excess, ddof=1) * np.sqrt(ANNUAL) * 100)

    def distributions(self, start: date, end: date) -> pd.DataFrame:
        """Every payout with a record date in [start, end], as SEIBro lists it: ticker, isin,
        name (as KRX showed it on the record date), issuer, category, record_date, ex_date,
        pay_date, amount_krw, reason (이익분배, 청산분배, 특별분배), tax_base_price."""
        p = self.payouts[(self.payouts["record_date"] >= start)
                         & (self.payouts["record_date"] <= end)]  # fmt: skip
        e = p["etf"].to_numpy()
        etfs = self.etfs.iloc[e]
        record = p["record_date"].tolist()
        renamed = np.array([d.toordinal() for d in record], dtype=np.int64) < self._renamed_ord[e]
        return pd.DataFrame({
            "ticker": etfs["ticker"].to_numpy(),
            "isin": etfs["isin"].to_numpy(),
            "name": np.where(renamed, etfs["former_name"], etfs["name"]),
            "issuer": etfs["issuer"].to_numpy(),
            "category": _seibro_category(etfs),
            "record_date": record,
            # the session before the record date, as the warehouse derives it (a liquidation
            # recorded on a Sunday: the Friday, not the session before the delisting day)
            "ex_date": [self.sessions[bisect.bisect_left(self.sessions, d) - 1] for d in record],
            "pay_date": p["pay_date"].to_numpy(),
            "amount_krw": p["amount_krw"].to_numpy(),
            "reason": p["reason"].to_numpy(),
            "tax_base_price": p["tax_base_price"].to_numpy(),
        })  # fmt: skip

    def cash_paid(self, e: int, rows: np.ndarray) -> np.ndarray:
        """KRW per share paid out of fund `e`'s NAV on each of `rows` (income and other payouts
        on their ex-dates; 0 elsewhere)."""
        p = self.payouts[(self.payouts["etf"] == e) & (self.payouts["reason"] != "청산분배")]
        paid = dict(zip(p["ex_row"], p["amount_krw"], strict=True))
        return np.array([paid.get(int(r), 0.0) for r in rows])

    def holdings(self, ticker: str, d: date) -> pd.DataFrame:
        """PDF constituents per 1 CU on session d, deterministic per (ticker, week).

        One row per wire line, in KRX's order, with the ground truth: `kind` (stock,
        foreign_stock, bond, etf, future, option, cash), `value_krw` (VALU_AMT) and
        `amount_krw` (COMPST_AMT), each None where KRX sends "-". Empty when d is not a session
        or the ETF is not listed on d.
        """
        e, t = self._pos.get(ticker), self._row.get(d)
        if e is None or t is None or not (self.first_idx[e] <= t < self.end_idx[e]):
            return pd.DataFrame(columns=HOLDING_COLUMNS)
        return _holdings(self, e, d)

    def _traded_rows(self, ticker: str, start: date, end: date) -> tuple[int, np.ndarray]:
        """(ETF position, path rows of the sessions in [start, end] it was listed and traded)."""
        e = self._pos[ticker]
        lo = max(bisect.bisect_left(self.sessions, start) + 1, int(self.first_idx[e]))
        hi = min(bisect.bisect_right(self.sessions, end) + 1, int(self.end_idx[e]))
        rows = np.arange(lo, max(hi, lo))
        return e, rows[self.volume[rows, e] > 0]

    def investor_flows(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """What each of KRX's 11 investor types (`INVESTOR_TYPES`) bought and sold of the fund
        on every session of [start, end] it traded on, oldest first: date, investor, buy_volume,
        sell_volume (units), buy_value, sell_value (KRW). Deterministic per fund.

        Every trade has a buyer and a seller, so on each session the types' purchases and
        their sales each add up to the session's volume and traded value exactly (`daily`),
        and their net volumes and values sum to zero. A session without a trade has no rows.
        """
        e, rows = self._traded_rows(ticker, start, end)
        paths = _investor_paths(self, e)
        n_types = len(INVESTOR_TYPES)
        return pd.DataFrame({
            "date": np.repeat([self.sessions[r - 1] for r in rows], n_types),
            "investor": np.tile(INVESTOR_TYPES, len(rows)),
            **{name: path[rows].ravel() for name, path in paths.items()},
        })  # fmt: skip

    def investor_group_flows(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """`investor_flows` in 04902's four groups (`INVESTOR_GROUPS`: 기관, 기타법인, 개인,
        외국인), with net = bought − sold: date, group, buy_volume, sell_volume, net_volume,
        buy_value, sell_value, net_value; oldest first, groups in 04902's column order."""
        flows = self.investor_flows(ticker, start, end)
        group_of = {kind: group for group, kinds in INVESTOR_GROUPS.items() for kind in kinds}
        grouped = (
            flows.assign(group=flows["investor"].map(group_of))
            .groupby(["date", "group"], sort=False, as_index=False)[list(_FLOW_PATHS)]
            .sum()
        )
        grouped["group"] = pd.Categorical(grouped["group"], categories=list(INVESTOR_GROUPS))
        grouped = grouped.sort_values(["date", "group"], ignore_index=True)
        grouped["group"] = grouped["group"].astype(str)
        for measure in ("volume", "value"):
            grouped[f"net_{measure}"] = grouped[f"buy_{measure}"] - grouped[f"sell_{measure}"]
        return grouped
