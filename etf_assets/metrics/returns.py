"""Price and total returns over calendar windows, and the trailing-year distribution yield.

Pure pandas over three frames (no Dagster, no I/O), so every rule is tested on small frames:
prices (ticker, trade_date, close), payouts (ticker, ex_date, amount_per_share_krw, kind) and
the exchange's sessions.

- A window of a session d starts at the last session on or before the same calendar date one
  week, or 1, 3, 6, 12 months earlier; a month with no such day clamps to its last day
  (03-31 minus one month is 02-28, or 02-29 in a leap year). YTD starts at the previous year's
  last session. The return is close_d / close_start − 1, in %; NULL when the fund has no usable
  close on the start session (it was not listed yet) or on d.
- Total return reinvests every payout that is not a liquidation at the close of its ex-date:
  on an ex-date the holding grows by (close + D) / close, so the growth of one share held over
  the window is close_d·F_d / (close_start·F_start), F being the product of those factors.
  A payout on the start session itself is already out of close_start and does not count.
- A liquidation payout (청산분배) returns what is left of a delisting fund: the fund has
  stopped trading, so it is the end of the holding, never income or a reinvested payout.
- distribution_ttm_krw sums the income payouts (kind income) with ex-dates in the 365 calendar
  days ending on d (d − 364 … d); distribution_yield_ttm_pct = that sum / close_d × 100.
- distribution_frequency is read from the gaps between consecutive income ex-dates within the
  last `FREQUENCY_LOOKBACK_DAYS` (`frequency_of_gaps`): `none` without an income payout in
  the trailing year. A rhythm tolerates what real payers do: a record day moved within its
  month (month end → the 15th) and one skipped payout a year (a quarterly payer that skips
  January pays three times a year). Special payouts (kind other) are extras, not a rhythm.

Nothing here yields NaN or infinity: a ratio is taken only of positive, finite closes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

# Window name → how far back its start lies (calendar arithmetic, month-end clamped).
WINDOWS: dict[str, relativedelta] = {
    "1w": relativedelta(weeks=1),
    "1m": relativedelta(months=1),
    "3m": relativedelta(months=3),
    "6m": relativedelta(months=6),
    "1y": relativedelta(months=12),
}
YTD = "ytd"
WINDOW_NAMES: tuple[str, ...] = (*WINDOWS, YTD)
TTM_DAYS = 365
# Two years of ex-dates show an annual payer's rhythm (one gap) and a monthly one's (20+).
FREQUENCY_LOOKBACK_DAYS = 730
# Calendar days a loaded price history must reach back before the first session computed:
# the longest window (12 months, or the previous year-end) plus the days to its session.
HISTORY_DAYS = 366 + 14
INCOME = "income"
LIQUIDATION = "liquidation"
FREQUENCIES = ("monthly", "quarterly", "semiannual", "annual", "irregular", "none")
YEAR_DAYS = 365.25
# Each rhythm's period in days: a gap between ex-dates is a whole number of periods.
RHYTHM_DAYS = {"monthly": YEAR_DAYS / 12, "quarterly": YEAR_DAYS / 4,
               "semiannual": YEAR_DAYS / 2, "annual": YEAR_DAYS}  # fmt: skip
# How far a gap may miss its whole number of periods: half a month (a record day moved from
# the month end to the 15th, or back) and a few days of holidays.
MOVED_RECORD_DAY_TOLERANCE_DAYS = 18
# Payouts a rhythm may skip per year of gaps (a gap of two periods skips one).
SKIPPED_PAYOUTS_PER_YEAR = 1

RETURN_COLUMNS: tuple[str, ...] = tuple(f"return_{w}_pct" for w in WINDOW_NAMES)
TOTAL_RETURN_COLUMNS: tuple[str, ...] = tuple(f"total_return_{w}_pct" for w in WINDOW_NAMES)
COLUMNS: tuple[str, ...] = (
    "trade_date", "ticker", "close", *RETURN_COLUMNS, *TOTAL_RETURN_COLUMNS,
    "distribution_ttm_krw", "distribution_yield_ttm_pct", "distributions_ttm",
    "distribution_frequency",
)  # fmt: skip


def window_start(d: date, window: str, sessions: Sequence[date]) -> date | None:
    """The session a window of `d` starts on: the last session on or before d minus the window
    (YTD: the previous year's last session); None before the first session."""
    target = date(d.year - 1, 12, 31) if window == YTD else d - WINDOWS[window]
    i = bisect.bisect_right(sessions, target)
    return sessions[i - 1] if i else None


def window_starts(dates: Sequence[date], sessions: Sequence[date]) -> pd.DataFrame:
    """One row per (trade_date, window) with its start session (NaT before the calendar)."""
    rows = [(d, w, window_start(d, w, sessions)) for d in dates for w in WINDOW_NAMES]
    frame = pd.DataFrame(rows, columns=["trade_date", "window", "start_date"])
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame["start_date"] = pd.to_datetime(frame["start_date"])
    return frame


def _usable(values: pd.Series) -> pd.Series:
    """The values where positive and finite, else NaN (a ratio of them is never inf or NaN)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return numbers.where(np.isfinite(numbers) & (numbers > 0))


def _cash_payouts(payouts: pd.DataFrame) -> pd.DataFrame:
    """Per (ticker, ex_date): the KRW per share paid out of a going fund (every kind but a
    liquidation) and the income part of it."""
    paid = payouts[payouts["kind"] != LIQUIDATION].assign(
        ex_date=lambda f: pd.to_datetime(f["ex_date"]),
        amount=lambda f: pd.to_numeric(f["amount_per_share_krw"], errors="coerce"),
    )
    paid = paid.assign(income=paid["amount"].where(paid["kind"] == INCOME, 0.0))
    return paid.groupby(["ticker", "ex_date"], as_index=False)[["amount", "income"]].sum()


def reinvestment_index(prices: pd.DataFrame, payouts: pd.DataFrame) -> pd.DataFrame:
    """prices with `close` made usable, `paid_krw` (cash paid per share with that ex-date) and
    `reinvested` = the running product, per fund, of (close + paid) / close on its sessions:
    the shares one share bought at the start of the history has become."""
    frame = prices[["ticker", "trade_date", "close"]].assign(
        trade_date=lambda f: pd.to_datetime(f["trade_date"]), close=lambda f: _usable(f["close"])
    )
    cash = _cash_payouts(payouts).rename(columns={"ex_date": "trade_date", "amount": "paid_krw"})
    frame = frame.merge(cash[["ticker", "trade_date", "paid_krw"]], how="left")
    frame = frame.sort_values(["ticker", "trade_date"], ignore_index=True)
    frame["paid_krw"] = frame["paid_krw"].fillna(0.0)
    growth = (1 + frame["paid_krw"] / frame["close"]).fillna(1.0)
    frame["reinvested"] = growth.groupby(frame["ticker"]).cumprod()
    return frame


def skipped_payouts(gaps_days: Sequence[float], period_days: float) -> int | None:
    """The payouts a rhythm of `period_days` skipped over `gaps_days`: each gap is the fewest
    whole periods (at least one) it lies within MOVED_RECORD_DAY_TOLERANCE_DAYS of, and every
    period past the first is a skipped payout; None when a gap fits no whole number."""
    skipped = 0
    for gap in gaps_days:
        fits = [k for k in (max(1, math.floor(gap / period_days)), math.ceil(gap / period_days))
                if abs(gap - k * period_days) <= MOVED_RECORD_DAY_TOLERANCE_DAYS]  # fmt: skip
        if not fits:
            return None
        skipped += min(fits) - 1
    return skipped


def frequency_of_gaps(gaps_days: Sequence[float], paid_in_ttm: bool, listed_a_year: bool) -> str:
    """How often a fund pays income, from the gaps (days) between its consecutive income
    ex-dates within `FREQUENCY_LOOKBACK_DAYS`.

    `none` without an income payout in the trailing year. One payout and no gap: `annual` when
    the fund was listed a year ago (it had the time to pay again and did not), else `irregular`
    (too young to tell). Otherwise the rhythm (RHYTHM_DAYS) whose periods every gap is a whole
    number of, within MOVED_RECORD_DAY_TOLERANCE_DAYS, skipping the fewest payouts and at most
    SKIPPED_PAYOUTS_PER_YEAR per year the gaps span (at least one); `irregular` when none is.
    """
    if not paid_in_ttm:
        return "none"
    if len(gaps_days) == 0:
        return "annual" if listed_a_year else "irregular"
    allowed = SKIPPED_PAYOUTS_PER_YEAR * max(1, round(sum(gaps_days) / YEAR_DAYS))
    fitting = [(skipped, name) for name, period in RHYTHM_DAYS.items()
               if (skipped := skipped_payouts(gaps_days, period)) is not None
               and skipped <= allowed]  # fmt: skip
    return min(fitting)[1] if fitting else "irregular"


def distribution_figures(payouts: pd.DataFrame, funds: pd.DataFrame) -> pd.DataFrame:
    """Per (trade_date, ticker) of `funds` (which also says `listed_a_year`):
    distribution_ttm_krw, distributions_ttm and distribution_frequency from the income payouts
    with ex-dates up to the trade date."""
    income = payouts[payouts["kind"] == INCOME].assign(
        ex_date=lambda f: pd.to_datetime(f["ex_date"]),
        amount=lambda f: pd.to_numeric(f["amount_per_share_krw"], errors="coerce"),
    )[["ticker", "ex_date", "amount"]]
    rows = funds[["trade_date", "ticker", "listed_a_year"]].assign(
        trade_date=lambda f: pd.to_datetime(f["trade_date"])
    )
    pairs = rows.merge(income, on="ticker", how="inner")
    age = (pairs["trade_date"] - pairs["ex_date"]).dt.days
    pairs = pairs[(age >= 0) & (age < FREQUENCY_LOOKBACK_DAYS)].assign(in_ttm=age < TTM_DAYS)
    pairs = pairs.sort_values(["trade_date", "ticker", "ex_date"], ignore_index=True)
    gap = pairs.groupby(["trade_date", "ticker"])["ex_date"].diff().dt.days
    pairs["gap"] = gap
    ttm = (
        pairs[pairs["in_ttm"]]
        .groupby(["trade_date", "ticker"], as_index=False)
        .agg(distribution_ttm_krw=("amount", "sum"), distributions_ttm=("amount", "size"))
    )
    gaps = pairs.groupby(["trade_date", "ticker"])["gap"].agg(lambda g: list(g.dropna()))
    out = rows.merge(ttm, how="left")
    out["distributions_ttm"] = out["distributions_ttm"].fillna(0).astype("int64")
    keyed = pd.MultiIndex.from_frame(out[["trade_date", "ticker"]])
    gap_lists = gaps.reindex(keyed)
    out["distribution_frequency"] = [
        frequency_of_gaps(g if isinstance(g, list) else [], n > 0, bool(year))
        for g, n, year in zip(
            gap_lists, out["distributions_ttm"], out["listed_a_year"], strict=True
        )
    ]
    return out.drop(columns="listed_a_year")


def returns_frame(
    prices: pd.DataFrame,
    payouts: pd.DataFrame,
    dates: Sequence[date],
    sessions: Sequence[date],
) -> pd.DataFrame:
    """etf_returns rows for `dates`: one per fund priced on the date (COLUMNS, close included).

    `prices` must reach `HISTORY_DAYS` before the first date for the longest window to have a
    start; `payouts` should hold every payout with an ex-date in that history (and the
    `FREQUENCY_LOOKBACK_DAYS` before the date for the frequency).
    """
    index = reinvestment_index(prices, payouts)
    wanted = pd.to_datetime(pd.Series(list(dates), dtype="object"))
    today = index[index["trade_date"].isin(wanted)][["trade_date", "ticker", "close", "reinvested"]]
    starts = window_starts(dates, sessions).merge(today[["trade_date", "ticker"]])
    at_start = index.rename(
        columns={"trade_date": "start_date", "close": "start_close", "reinvested": "start_f"}
    )[["start_date", "ticker", "start_close", "start_f"]]
    spans = starts.merge(at_start, how="left").merge(today, how="left")
    spans["price"] = (spans["close"] / spans["start_close"] - 1) * 100
    spans["total"] = (
        spans["close"] * spans["reinvested"] / (spans["start_close"] * spans["start_f"]) - 1
    ) * 100
    wide = spans.pivot(index=["trade_date", "ticker"], columns="window", values=["price", "total"])
    out = today[["trade_date", "ticker", "close"]].set_index(["trade_date", "ticker"])
    for w in WINDOW_NAMES:
        for kind, prefix in (("price", "return"), ("total", "total_return")):
            column = wide[(kind, w)] if (kind, w) in wide.columns else np.nan
            out[f"{prefix}_{w}_pct"] = column
    out = out.reset_index()
    funds = out.assign(listed_a_year=out["return_1y_pct"].notna())
    out = out.merge(distribution_figures(payouts, funds), how="left")
    out["distribution_ttm_krw"] = out["distribution_ttm_krw"].fillna(0.0)
    out["distribution_yield_ttm_pct"] = out["distribution_ttm_krw"] / out["close"] * 100
    out["trade_date"] = out["trade_date"].dt.date
    out = out.sort_values(["trade_date", "ticker"], ignore_index=True)
    return out[list(COLUMNS)]


def history_start(first: date) -> date:
    """The first calendar day of prices `returns_frame` needs for sessions from `first` on."""
    return first - timedelta(days=HISTORY_DAYS)
