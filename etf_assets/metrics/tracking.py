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

from etf_assets.metrics.sql import usable

WINDOWS = (20, 60, 120, 250)
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


def tracking_sql(add_back_payouts: bool = True) -> str:
    """The etf_tracking_error rows of $as_of_date from prices since $history_start; NAV returns
    with payouts added back on their ex-dates unless `add_back_payouts` is False."""
    paid = "coalesce(y.paid_krw, 0)" if add_back_payouts else "0"
    return f"""
WITH week_master AS (
    SELECT ticker, leverage_factor
    FROM etf_details
    WHERE trade_date = (SELECT max(trade_date) FROM etf_details WHERE trade_date <= $as_of_date)
),
newest_master AS (
    SELECT ticker, leverage_factor
    FROM etf_details
    QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY trade_date DESC) = 1
),
leverage AS (
    SELECT
        p.ticker,
        CASE WHEN w.ticker IS NOT NULL THEN w.leverage_factor
            WHEN n.ticker IS NOT NULL THEN n.leverage_factor
            ELSE {factor_from_name_sql("p.name")} END AS leverage_factor_used,
        CASE WHEN w.ticker IS NOT NULL THEN '{LEVERAGE_SOURCES[0]}'
            WHEN n.ticker IS NOT NULL THEN '{LEVERAGE_SOURCES[1]}'
            ELSE '{LEVERAGE_SOURCES[2]}' END AS leverage_source
    FROM etf_daily_prices AS p
    LEFT JOIN week_master AS w USING (ticker)
    LEFT JOIN newest_master AS n USING (ticker)
    WHERE p.trade_date = $as_of_date
),
payouts AS (
    SELECT ticker, ex_date AS trade_date, sum(amount_per_share_krw) AS paid_krw
    FROM etf_distributions
    WHERE ex_date BETWEEN $history_start AND $as_of_date
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
        lag(p.index_close) OVER w AS previous_index_close
    FROM etf_daily_prices AS p
    LEFT JOIN payouts AS y USING (ticker, trade_date)
    WHERE p.trade_date BETWEEN $history_start AND $as_of_date
    WINDOW w AS (PARTITION BY p.ticker ORDER BY p.trade_date)
),
daily AS (
    SELECT
        ticker,
        trade_date,
        CASE WHEN {usable("close")} AND {usable("nav")}
            THEN (close - nav) / nav * 100 END AS premium_pct,
        CASE WHEN {usable("nav")} AND {usable("previous_nav")}
            THEN nav_with_payout / previous_nav - 1 END AS nav_return,
        {_ratio_minus_one("index_close", "previous_index_close")} AS index_return
    FROM history
),
scored AS (
    SELECT
        d.*,
        d.nav_return - l.leverage_factor_used * d.index_return AS excess_return
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
constituents AS (  -- every stored basket, so one of futures and cash only counts 0
    SELECT etf_ticker AS ticker,
        count(*) FILTER (WHERE kind IN {CONSTITUENT_KINDS})::INTEGER AS constituent_count
    FROM etf_holdings
    WHERE as_of_date = $as_of_date
    GROUP BY etf_ticker
)
SELECT
    $as_of_date::DATE AS as_of_date,
    today.ticker,
    f.* EXCLUDE (ticker),
    c.constituent_count,
    l.leverage_factor_used,
    l.leverage_source
FROM etf_daily_prices AS today
JOIN figures AS f USING (ticker)
JOIN leverage AS l USING (ticker)
LEFT JOIN constituents AS c USING (ticker)
WHERE today.trade_date = $as_of_date
ORDER BY today.ticker
"""


TRACKING_SQL = tracking_sql()
UNADJUSTED_TRACKING_SQL = tracking_sql(add_back_payouts=False)
