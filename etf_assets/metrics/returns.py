"""Price and total returns over calendar windows, and the trailing-year distribution yield.

One set-based statement (`RETURNS_SQL`) computes any set of sessions from the warehouse's
closes (etf_daily_prices) and payouts (etf_distributions): the windows' start sessions come
from the calendar (`returns_params`, pure Python), the rest is joins and window functions over
the sessions and their look-back, so a day and the whole history are the same query.

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
  last `FREQUENCY_LOOKBACK_DAYS`: `none` without an income payout in the trailing year. One
  payout and no gap: `annual` when the fund was listed a year ago (its 1-year return exists:
  it had the time to pay again and did not), else `irregular` (too young to tell). Otherwise
  the rhythm (RHYTHM_DAYS) whose periods every gap is a whole number of (the fewest, at least
  one, within MOVED_RECORD_DAY_TOLERANCE_DAYS), skipping the fewest payouts (periods − 1 per
  gap) and at most SKIPPED_PAYOUTS_PER_YEAR per year the gaps span (at least one); ties go by
  name; `irregular` when none fits. A rhythm tolerates what real payers do: a record day
  moved within its month (month end → the 15th) and one skipped payout a year (a quarterly
  payer that skips January pays three times a year). Special payouts (kind other) are
  extras, not a rhythm. The gaps' sums are running sums over a fund's payouts, so a window's
  are a difference of two, exact in whole days.

Nothing here yields NaN or infinity: a ratio is taken only of positive, finite closes.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from etf_assets.metrics.sql import usable

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


# Alphabetical, as the rule breaks a tie of skipped payouts between two rhythms by name.
_RHYTHMS = sorted(RHYTHM_DAYS)


def _fewest_periods(gap: str, period_days: float) -> str:
    """SQL: the fewest whole periods (at least one) the gap lies within
    MOVED_RECORD_DAY_TOLERANCE_DAYS of, trying floor and ceil of gap / period; NULL if none."""
    low = f"greatest(1, floor({gap} / {period_days}))"
    high = f"ceil({gap} / {period_days})"
    fits = [
        f"abs({gap} - {k} * {period_days}) <= {MOVED_RECORD_DAY_TOLERANCE_DAYS}"
        for k in (low, high)
    ]
    return (
        f"CASE WHEN {fits[0]} AND {fits[1]} THEN least({low}, {high}) "
        f"WHEN {fits[0]} THEN {low} WHEN {fits[1]} THEN {high} END"
    )


def _rhythm_running_sums() -> str:
    """SQL columns: per rhythm, the running sums over a fund's income payouts of the payouts
    each gap skipped (periods − 1) and of the gaps that fit no whole number of periods."""
    parts = []
    for name in _RHYTHMS:
        periods = _fewest_periods("gap_days", RHYTHM_DAYS[name])
        parts.append(f"sum(coalesce(({periods}) - 1, 0)) OVER running AS skipped_{name}")
        parts.append(
            f"sum(CASE WHEN gap_days IS NOT NULL AND ({periods}) IS NULL THEN 1 ELSE 0 END) "
            f"OVER running AS unfit_{name}"
        )
    return ",\n        ".join(parts)


def _best_rhythm() -> str:
    """SQL: the rhythm every gap of the window fits, skipping the fewest payouts and no more
    than allowed (ties: by name); NULL when none does. Each candidate is keyed
    skipped × 10 + its place in _RHYTHMS, so the least key is the rule's choice."""
    allowed = (
        f"{SKIPPED_PAYOUTS_PER_YEAR} * greatest(1, round_even((last_ex.ex_date - first_ex.ex_date)"
        f" / {YEAR_DAYS}, 0))"
    )
    keys = ", ".join(
        f"CASE WHEN last_ex.unfit_{name} - first_ex.unfit_{name} = 0 AND "
        f"last_ex.skipped_{name} - first_ex.skipped_{name} <= {allowed} THEN "
        f"(last_ex.skipped_{name} - first_ex.skipped_{name}) * 10 + {i} END"
        for i, name in enumerate(_RHYTHMS)
    )
    names = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(_RHYTHMS))
    return f"CASE ((least({keys}) % 10) + 10) % 10 {names} END"


def returns_sql() -> str:
    """The etf_returns rows (COLUMNS and KRX's 1-month change, from the relation KRX_CHANGES)
    of the sessions $dates; see the module's docstring for every rule."""
    starts = ",\n        ".join(f"unnest($start_{w}::DATE[]) AS start_{w}" for w in WINDOW_NAMES)
    figures = ",\n        ".join(
        f"(t.close / s_{w}.close - 1) * 100 AS return_{w}_pct,\n        "
        f"(t.close * t.reinvested / (s_{w}.close * s_{w}.reinvested) - 1) * 100 "
        f"AS total_return_{w}_pct"
        for w in WINDOW_NAMES
    )
    at_starts = "\n    ".join(
        f"LEFT JOIN indexed AS s_{w} ON s_{w}.ticker = t.ticker AND s_{w}.trade_date = t.start_{w}"
        for w in WINDOW_NAMES
    )
    return f"""
WITH targets AS (
    SELECT unnest($dates::DATE[]) AS trade_date,
        {starts}
),
paid AS (  -- cash per share paid out of a going fund (every kind but a liquidation)
    SELECT ticker, ex_date AS trade_date, coalesce(sum(amount_per_share_krw), 0) AS paid_krw
    FROM etf_distributions
    WHERE kind IS DISTINCT FROM '{LIQUIDATION}' AND ex_date BETWEEN $history_start AND $last_date
    GROUP BY ticker, ex_date
),
closes AS (
    SELECT ticker, trade_date, CASE WHEN {usable("close")} THEN close END AS close
    FROM etf_daily_prices
    WHERE trade_date BETWEEN $history_start AND $last_date
),
indexed AS (  -- reinvested: the shares one share held since the history's start has become
    SELECT c.ticker, c.trade_date, c.close,
        product(coalesce(1 + coalesce(y.paid_krw, 0) / c.close, 1.0)) OVER (
            PARTITION BY c.ticker ORDER BY c.trade_date ROWS UNBOUNDED PRECEDING) AS reinvested
    FROM closes AS c
    LEFT JOIN paid AS y USING (ticker, trade_date)
),
today AS (SELECT * FROM indexed JOIN targets USING (trade_date)),
period_returns AS (
    SELECT t.trade_date, t.ticker, t.close,
        {figures}
    FROM today AS t
    {at_starts}
),
income AS (  -- each income payout, with the gap (days) since the fund's one before
    SELECT ticker, ex_date, amount_per_share_krw AS amount,
        row_number() OVER by_date AS seq,
        ex_date - lag(ex_date) OVER by_date AS gap_days
    FROM etf_distributions
    WHERE kind = '{INCOME}' AND ex_date BETWEEN $lookback_start AND $last_date
    WINDOW by_date AS (PARTITION BY ticker ORDER BY ex_date)
),
running AS (  -- running sums through each payout, in payout order
    SELECT ticker, ex_date, seq,
        sum(coalesce(amount, 0)) OVER running AS amount_krw,
        {_rhythm_running_sums()}
    FROM income
    WINDOW running AS (PARTITION BY ticker ORDER BY seq ROWS UNBOUNDED PRECEDING)
),
through_date AS (  -- the sums through an ex-date's last payout
    SELECT * FROM running QUALIFY seq = max(seq) OVER (PARTITION BY ticker, ex_date)
),
from_date AS (  -- the sums through an ex-date's first payout
    SELECT * FROM running QUALIFY seq = min(seq) OVER (PARTITION BY ticker, ex_date)
),
payers AS (  -- the sessions of funds that ever paid income: the others pay nothing
    SELECT trade_date, ticker, return_1y_pct IS NOT NULL AS listed_a_year
    FROM period_returns
    WHERE ticker IN (SELECT ticker FROM income)
),
payouts AS (
    SELECT r.trade_date, r.ticker,
        coalesce(last_ex.seq, 0) - coalesce(before_ttm.seq, 0) AS distributions_ttm,
        coalesce(last_ex.amount_krw, 0) - coalesce(before_ttm.amount_krw, 0)
            AS distribution_ttm_krw,
        last_ex.seq - first_ex.seq AS gaps,
        {_best_rhythm()} AS rhythm,
        r.listed_a_year
    FROM payers AS r
    ASOF LEFT JOIN through_date AS last_ex
        ON last_ex.ticker = r.ticker AND r.trade_date >= last_ex.ex_date
    ASOF LEFT JOIN through_date AS before_ttm
        ON before_ttm.ticker = r.ticker AND r.trade_date - {TTM_DAYS} >= before_ttm.ex_date
    ASOF LEFT JOIN from_date AS first_ex
        ON first_ex.ticker = r.ticker
        AND r.trade_date - {FREQUENCY_LOOKBACK_DAYS - 1} <= first_ex.ex_date
)
SELECT
    r.*,
    coalesce(p.distribution_ttm_krw, 0) AS distribution_ttm_krw,
    coalesce(p.distribution_ttm_krw, 0) / r.close * 100 AS distribution_yield_ttm_pct,
    coalesce(p.distributions_ttm, 0)::INTEGER AS distributions_ttm,
    CASE WHEN coalesce(p.distributions_ttm, 0) = 0 THEN 'none'
        WHEN p.gaps = 0 THEN CASE WHEN p.listed_a_year THEN 'annual' ELSE 'irregular' END
        ELSE coalesce(p.rhythm, 'irregular') END AS distribution_frequency,
    k.krx_return_1m_pct
FROM period_returns AS r
LEFT JOIN payouts AS p USING (trade_date, ticker)
LEFT JOIN {KRX_CHANGES} AS k USING (trade_date, ticker)
ORDER BY r.trade_date, r.ticker
"""


# The relation RETURNS_SQL reads KRX's own 1-month change from (trade_date, ticker,
# krx_return_1m_pct): the asset registers what KRX answered, a test an empty one.
KRX_CHANGES = "etf_returns_krx_changes"
RETURNS_SQL = returns_sql()


def returns_params(dates: Sequence[date], sessions: Sequence[date]) -> dict[str, object]:
    """RETURNS_SQL's parameters for `dates` (sorted): every window's start session from
    `sessions` (the sessions with prices), and how far back closes and payouts are read."""
    return {
        "dates": list(dates),
        **{f"start_{w}": [window_start(d, w, sessions) for d in dates] for w in WINDOW_NAMES},
        "history_start": history_start(dates[0]),
        "lookback_start": dates[0] - timedelta(days=FREQUENCY_LOOKBACK_DAYS - 1),
        "last_date": dates[-1],
    }


def history_start(first: date) -> date:
    """The first calendar day of prices RETURNS_SQL needs for sessions from `first` on."""
    return first - timedelta(days=HISTORY_DAYS)
