"""Premium/discount (괴리율) and tracking error (추적오차율), correctly named and computed.

- premium/discount on a day = (close − NAV) / NAV × 100; the Nd figure is its mean over the
  ETF's last N sessions with both values.
- tracking error = annualised (×√250) sample standard deviation, over the ETF's last N daily
  returns, of (NAV return − leverage_factor × index return), in %.

Windows count sessions, not calendar days. A figure is NULL (never 0) when fewer than N
sessions qualify, or when the ETF has no index level or no leverage factor. A ratio is only
taken of levels that are positive and finite (`metrics.sql.usable`): a NULL or 0 NAV, close or
index level gives a NULL day, never NaN or infinity.

`constituent_count` counts the lines of the week's basket of the kinds in CONSTITUENT_KINDS:
securities held (stocks, ETFs, bonds, and `other`, which is mostly foreign stocks under
KRX-internal codes); cash and derivatives (futures, options) are positions, not constituents.
"""

from __future__ import annotations

from etf_assets.metrics.sql import usable

WINDOWS = (20, 60, 120, 250)
ANNUALISATION_SESSIONS = 250
CONSTITUENT_KINDS = ("stock", "etf", "bond", "other")


def _ratio_minus_one(level: str, previous: str) -> str:
    """SQL: level / previous − 1; NULL unless both are usable."""
    return f"CASE WHEN {usable(level)} AND {usable(previous)} THEN {level} / {previous} - 1 END"


def _window_columns() -> str:
    parts: list[str] = []
    for n in WINDOWS:
        parts.append(
            f"CASE WHEN count(*) FILTER (WHERE pd_rank <= {n}) >= {n} "
            f"THEN avg(premium_pct) FILTER (WHERE pd_rank <= {n}) END "
            f"AS premium_discount_{n}d_pct"
        )
    for n in WINDOWS:
        parts.append(
            f"CASE WHEN count(*) FILTER (WHERE te_rank <= {n}) >= {n} "
            f"THEN stddev_samp(excess_return) FILTER (WHERE te_rank <= {n}) "
            f"* sqrt({ANNUALISATION_SESSIONS}) * 100 END "
            f"AS tracking_error_{n}d_pct"
        )
    return ",\n        ".join(parts)


TRACKING_SQL = f"""
WITH leverage AS (
    SELECT ticker, leverage_factor
    FROM etf_details
    WHERE trade_date = (SELECT max(trade_date) FROM etf_details WHERE trade_date <= $as_of_date)
),
history AS (
    SELECT
        p.ticker,
        p.trade_date,
        p.close,
        p.nav,
        p.index_close,
        lag(p.nav) OVER w AS previous_nav,
        lag(p.index_close) OVER w AS previous_index_close
    FROM etf_daily_prices AS p
    WHERE p.trade_date BETWEEN $history_start AND $as_of_date
    WINDOW w AS (PARTITION BY p.ticker ORDER BY p.trade_date)
),
daily AS (
    SELECT
        ticker,
        trade_date,
        CASE WHEN {usable("close")} AND {usable("nav")}
            THEN (close - nav) / nav * 100 END AS premium_pct,
        {_ratio_minus_one("nav", "previous_nav")} AS nav_return,
        {_ratio_minus_one("index_close", "previous_index_close")} AS index_return
    FROM history
),
scored AS (
    SELECT
        d.*,
        d.nav_return - l.leverage_factor * d.index_return AS excess_return
    FROM daily AS d
    LEFT JOIN leverage AS l USING (ticker)
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY ticker ORDER BY trade_date DESC) AS session_rank,
        CASE WHEN premium_pct IS NOT NULL THEN row_number() OVER (
            PARTITION BY ticker, premium_pct IS NOT NULL ORDER BY trade_date DESC) END AS pd_rank,
        CASE WHEN excess_return IS NOT NULL THEN row_number() OVER (
            PARTITION BY ticker, excess_return IS NOT NULL ORDER BY trade_date DESC) END AS te_rank
    FROM scored
),
figures AS (
    SELECT
        ticker,
        {_window_columns()},
        count(*) FILTER (WHERE session_rank <= 250)::INTEGER AS sessions_used
    FROM ranked
    GROUP BY ticker
),
constituents AS (
    SELECT etf_ticker AS ticker, count(*)::INTEGER AS constituent_count
    FROM etf_holdings
    WHERE as_of_date = $as_of_date AND kind IN {CONSTITUENT_KINDS}
    GROUP BY etf_ticker
)
SELECT
    $as_of_date::DATE AS as_of_date,
    today.ticker,
    f.* EXCLUDE (ticker),
    c.constituent_count
FROM etf_daily_prices AS today
JOIN figures AS f USING (ticker)
LEFT JOIN constituents AS c USING (ticker)
WHERE today.trade_date = $as_of_date
ORDER BY today.ticker
"""
