"""Premium/discount (괴리율) and tracking error (추적오차율), correctly named and computed.

- premium/discount on a day = (close − NAV) / NAV × 100; the Nd figure is its mean over the
  ETF's last N sessions with both values.
- tracking error = annualised (×√250) sample standard deviation, over the ETF's last N daily
  returns, of (NAV return − leverage_factor × index return), in %. The NAV falls on an ex-date
  by the cash paid out, so the NAV return adds every payout but a liquidation back on its
  ex-date: (NAV_t + D_t) / NAV_{t−1} − 1. Without it a monthly payer shows twelve one-day
  "misses" of its index a year and a tracking error many times its true one
  (`UNADJUSTED_TRACKING_SQL` keeps that figure, for comparison only).
- the leverage factor is the fund's in the ETF master of the week (etf_details); a fund no
  longer in the master (delisted) takes it from the newest etf_details row that has it, else
  from the name KRX gave it (`factor_from_name_sql`); `leverage_source` says which.

Windows count sessions, not calendar days. A figure is NULL (never 0) when fewer than N
sessions qualify, or when the ETF has no index level or no leverage factor. A ratio is only
taken of levels that are positive and finite (`metrics.sql.usable`): a NULL or 0 NAV, close or
index level gives a NULL day, never NaN or infinity.

`constituent_count` counts the lines of the week's basket of the kinds in CONSTITUENT_KINDS:
securities held (stocks, ETFs, bonds, and `other`, which is mostly foreign stocks under
KRX-internal codes); cash and derivatives (futures, options) are positions, not constituents.
So a stored basket of futures and cash only counts 0; NULL means no basket is stored.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date

from etf_assets.metrics.sql import usable

WINDOWS = (20, 60, 120, 250)
HISTORY_SESSIONS = max(WINDOWS) + 1  # N returns need N + 1 prices
ANNUALISATION_SESSIONS = 250
CONSTITUENT_KINDS = ("stock", "etf", "bond", "other")
# KRX names leveraged and inverse funds with 레버리지 or 인버스 and, unless it is the usual one
# (2 for 레버리지, 1 for 인버스), the multiple: KODEX 200선물인버스2X, HANARO 200선물레버리지1.5X.
NAME_MULTIPLE_PATTERN = r"([0-9]+(\.[0-9]+)?)\s*(X|배)"
NAME_LEVERAGE_DEFAULTS = (("레버리지", 2.0), ("인버스", 1.0))
INVERSE = "인버스"
LEVERAGE_SOURCES = ("etf_details", "etf_details_newest", "name")
LIQUIDATION = "liquidation"


def factor_from_name_sql(name: str) -> str:
    """SQL: the leverage factor a fund's name says. A name with 레버리지 or 인버스 takes the
    multiple it writes (1.5X, 2X, 3 X, 2배), else the usual one of its word
    (NAME_LEVERAGE_DEFAULTS), negative for 인버스; any other name 1."""
    compact = f"upper(replace({name}, ' ', ''))"
    written = f"TRY_CAST(nullif(regexp_extract(upper({name}), '{NAME_MULTIPLE_PATTERN}', 1), '') "
    sign = f"CASE WHEN {compact} LIKE '%{INVERSE}%' THEN -1.0 ELSE 1.0 END"
    cases = " ".join(
        f"WHEN {compact} LIKE '%{word}%' THEN ({sign}) * coalesce({written}AS DOUBLE), {usual})"
        for word, usual in NAME_LEVERAGE_DEFAULTS
    )
    return f"CASE {cases} ELSE 1.0 END"


def _ratio_minus_one(level: str, previous: str) -> str:
    """SQL: level / previous − 1; NULL unless both are usable."""
    return f"CASE WHEN {usable(level)} AND {usable(previous)} THEN {level} / {previous} - 1 END"


def _last_n_columns(value: str, first_date: str) -> str:
    """SQL window columns over a fund's rows with `value` (ordered by date): for each N of
    WINDOWS the mean or standard deviation of its last N values, and `first_date` of the
    oldest of them (NULL with fewer than N rows)."""
    parts: list[str] = []
    for n in WINDOWS:
        frame = f"(w ROWS BETWEEN {n - 1} PRECEDING AND CURRENT ROW)"
        parts.append(f"{value} OVER {frame} AS value_{n}")
        parts.append(f"lag({first_date}, {n - 1}) OVER w AS from_{n}")
    return ",\n        ".join(parts)


def _figures(kind: str, source: str, scale: str = "") -> str:
    """SQL: the Nd columns of `kind`, each the last N values' figure (`source`.value_N) when
    all N lie within the week's history, else NULL."""
    return ",\n    ".join(
        f"CASE WHEN {source}.from_{n} >= l.history_start THEN {source}.value_{n}{scale} END "
        f"AS {kind}_{n}d_pct"
        for n in WINDOWS
    )


def tracking_sql(add_back_payouts: bool = True) -> str:
    """The etf_tracking_error rows of the weeks $as_of_dates, each from the prices since its
    own $history_starts (same order); NAV returns with payouts added back on their ex-dates
    unless `add_back_payouts` is False.

    Set-based over any number of weeks: every daily figure is computed once; a week's Nd
    figure is the window over the fund's last N days with a value up to the week's last
    session (an ASOF join), kept only when all N lie within the week's own history, exactly
    as a query over that history alone counts them. A fund whose leverage factor changed
    between weeks gets its excess returns once per factor.
    """
    paid = "coalesce(y.paid_krw, 0)" if add_back_payouts else "0"
    return f"""
WITH targets AS (
    SELECT unnest($as_of_dates::DATE[]) AS as_of_date,
        unnest($history_starts::DATE[]) AS history_start
),
snapshots AS (  -- the etf_details snapshot each week reads its leverage factors from
    SELECT t.*, s.snapshot_date
    FROM targets AS t
    ASOF LEFT JOIN (SELECT DISTINCT trade_date AS snapshot_date FROM etf_details) AS s
        ON t.as_of_date >= s.snapshot_date
),
newest_master AS (
    SELECT ticker, leverage_factor
    FROM etf_details
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY trade_date DESC) = 1
),
leverage AS (  -- one row per week and fund priced on its last session
    SELECT
        s.as_of_date,
        s.history_start,
        p.ticker,
        CASE WHEN w.ticker IS NOT NULL THEN w.leverage_factor
            WHEN n.ticker IS NOT NULL THEN n.leverage_factor
            ELSE {factor_from_name_sql("p.name")} END AS leverage_factor_used,
        CASE WHEN w.ticker IS NOT NULL THEN '{LEVERAGE_SOURCES[0]}'
            WHEN n.ticker IS NOT NULL THEN '{LEVERAGE_SOURCES[1]}'
            ELSE '{LEVERAGE_SOURCES[2]}' END AS leverage_source
    FROM snapshots AS s
    JOIN etf_daily_prices AS p ON p.trade_date = s.as_of_date
    LEFT JOIN etf_details AS w ON w.trade_date = s.snapshot_date AND w.ticker = p.ticker
    LEFT JOIN newest_master AS n ON n.ticker = p.ticker
),
payouts AS (
    SELECT ticker, ex_date AS trade_date, sum(amount_per_share_krw) AS paid_krw
    FROM etf_distributions
    WHERE ex_date BETWEEN $load_start AND $last_date
        AND coalesce(kind, '') <> '{LIQUIDATION}' AND isfinite(amount_per_share_krw)
    GROUP BY ticker, ex_date
),
history AS (
    SELECT
        p.ticker,
        p.trade_date,
        p.close,
        p.nav,
        p.nav + {paid} AS nav_with_payout,
        p.index_close,
        lag(p.nav) OVER w AS previous_nav,
        lag(p.index_close) OVER w AS previous_index_close,
        lag(p.trade_date) OVER w AS previous_date,
        row_number() OVER w AS row_in_history
    FROM etf_daily_prices AS p
    LEFT JOIN payouts AS y USING (ticker, trade_date)
    WHERE p.trade_date BETWEEN $load_start AND $last_date
    WINDOW w AS (PARTITION BY p.ticker ORDER BY p.trade_date)
),
daily AS (
    SELECT
        ticker,
        trade_date,
        previous_date,
        CASE WHEN {usable("close")} AND {usable("nav")}
            THEN (close - nav) / nav * 100 END AS premium_pct,
        CASE WHEN {usable("nav")} AND {usable("previous_nav")}
            THEN nav_with_payout / previous_nav - 1 END AS nav_return,
        {_ratio_minus_one("index_close", "previous_index_close")} AS index_return
    FROM history
),
premium_windows AS (
    SELECT ticker, trade_date, {_last_n_columns("avg(premium_pct)", "trade_date")}
    FROM daily
    WHERE premium_pct IS NOT NULL
    WINDOW w AS (PARTITION BY ticker ORDER BY trade_date)
),
factors AS (SELECT DISTINCT ticker, leverage_factor_used FROM leverage),
excess AS (  -- a return's excess needs the day before it within the week's history too
    SELECT
        d.ticker,
        f.leverage_factor_used,
        d.trade_date,
        d.previous_date,
        d.nav_return - f.leverage_factor_used * d.index_return AS excess_return
    FROM daily AS d
    JOIN factors AS f USING (ticker)
),
excess_windows AS (
    SELECT ticker, leverage_factor_used, trade_date,
        {_last_n_columns("stddev_samp(excess_return)", "previous_date")}
    FROM excess
    WHERE excess_return IS NOT NULL
    WINDOW w AS (PARTITION BY ticker, leverage_factor_used ORDER BY trade_date)
),
rows_in_week AS (  -- the fund's sessions within the week's history
    SELECT l.as_of_date, l.ticker,
        today.row_in_history - coalesce(before.row_in_history, 0) AS sessions_in_history
    FROM leverage AS l
    JOIN history AS today ON today.ticker = l.ticker AND today.trade_date = l.as_of_date
    ASOF LEFT JOIN history AS before
        ON before.ticker = l.ticker AND l.history_start > before.trade_date
),
constituents AS (  -- every stored basket, so one of futures and cash only counts 0
    SELECT as_of_date, etf_ticker AS ticker,
        count(*) FILTER (WHERE kind IN {CONSTITUENT_KINDS})::INTEGER AS constituent_count
    FROM etf_holdings
    WHERE as_of_date IN (SELECT as_of_date FROM targets)
    GROUP BY as_of_date, etf_ticker
)
SELECT
    l.as_of_date,
    l.ticker,
    {_figures("premium_discount", "pw")},
    {_figures("tracking_error", "ew", f" * sqrt({ANNUALISATION_SESSIONS}) * 100")},
    least(r.sessions_in_history, 250)::INTEGER AS sessions_used,
    c.constituent_count,
    l.leverage_factor_used,
    l.leverage_source
FROM leverage AS l
JOIN rows_in_week AS r USING (as_of_date, ticker)
ASOF LEFT JOIN premium_windows AS pw
    ON pw.ticker = l.ticker AND l.as_of_date >= pw.trade_date
ASOF LEFT JOIN excess_windows AS ew
    ON ew.ticker = l.ticker AND ew.leverage_factor_used = l.leverage_factor_used
    AND l.as_of_date >= ew.trade_date
LEFT JOIN constituents AS c USING (as_of_date, ticker)
ORDER BY l.as_of_date, l.ticker
"""


def tracking_params(as_of_dates: Sequence[date], sessions: Sequence[date]) -> dict[str, object]:
    """tracking_sql's parameters for the weeks `as_of_dates` (sorted): each week's history is
    its last HISTORY_SESSIONS of `sessions` (the sessions with prices: a day KRX had no data
    for takes no place in a window)."""
    starts = [sessions[max(0, bisect_right(sessions, d) - HISTORY_SESSIONS)] for d in as_of_dates]
    return {
        "as_of_dates": list(as_of_dates),
        "history_starts": starts,
        "load_start": min(starts),
        "last_date": as_of_dates[-1],
    }


TRACKING_SQL = tracking_sql()
UNADJUSTED_TRACKING_SQL = tracking_sql(add_back_payouts=False)
