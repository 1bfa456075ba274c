"""Look-through figures of the weekly baskets, as SQL text: exposure by asset kind, sector and
country, overlap between two funds, and who holds a stock (docs/assets.md § Exposure).

One rule values every basket line, so the three answers agree:
* a line's value is its 구성금액 (amount_krw), else its 평가금액 (value_krw): futures and options
  carry only the latter, their notional; a line with neither has no weight;
* 설정현금액 (CASH00000001) is not counted where the basket also lists 원화예금 (KRD…): it is the
  cash part of a creation unit, the same money (equal amounts in KRX's real 114800 basket);
* a line's weight is |value| ÷ the basket's gross value Σ |value| × 100, so every fund's
  weights sum to 100 and a short leg (inverse funds) weighs by its size; its sign stays in
  value_krw;
* KRW figures are per creation unit × the fund's creation units (listed shares ÷ CU shares of
  the session), i.e. the fund's whole position; NULL when either count is unknown.
"""

from __future__ import annotations

import duckdb
import pandas as pd

DIMENSIONS = ("asset_kind", "sector", "country")
UNKNOWN = "unknown"
OVERLAP_MIN_PCT = 10.0
OWNED_WARN_PCT = 30.0
TOP_BUCKETS = 3
WEIGHT_TOLERANCE_PCTPT = 0.5
# Korean labels of the buckets charts show that are no KRX industry (업종 are Korean already):
# a line's kind, and the countries of the ISIN prefixes Korean funds hold most.
KIND_LABELS = {
    "stock": "주식", "etf": "ETF", "bond": "채권", "future": "선물", "option": "옵션",
    "cash": "현금", "other": "기타", UNKNOWN: "미상",
}  # fmt: skip
COUNTRY_LABELS = {
    "KR": "한국", "US": "미국", "JP": "일본", "CN": "중국", "HK": "홍콩", "TW": "대만",
    "IN": "인도", "VN": "베트남", "DE": "독일", "FR": "프랑스", "GB": "영국", "NL": "네덜란드",
    "IE": "아일랜드", "LU": "룩셈부르크", "CH": "스위스", "CA": "캐나다", "AU": "호주",
    "KY": "케이맨 제도", "BM": "버뮤다",
}  # fmt: skip
# Where the week's stock reference is read: the newest partition on or before the basket's week.
_STOCK_DATE = "(SELECT max(trade_date) FROM {table} WHERE trade_date <= l.as_of_date)"
# A 12-character ISIN: country, 9 characters, check digit.
_ISIN_RE = "[A-Z]{2}[A-Z0-9]{9}[0-9]"


def lines_sql(week: str = "TRUE") -> str:
    """Every valued basket line of the weeks `week` (SQL over h.as_of_date): ticker, code,
    name, kind, ISIN, shares_per_cu, line_krw, gross_krw (the basket's Σ |line_krw|) and
    weight_pct."""
    return f"""
SELECT h.as_of_date, h.etf_ticker AS ticker, h.constituent_code, h.constituent_name,
    h.constituent_isin, h.kind, h.shares_per_cu, coalesce(h.amount_krw, h.value_krw) AS line_krw,
    sum(abs(line_krw)) OVER (PARTITION BY h.as_of_date, h.etf_ticker) AS gross_krw,
    abs(line_krw) / gross_krw * 100 AS weight_pct
FROM etf_holdings AS h
WHERE {week} AND coalesce(h.amount_krw, h.value_krw) IS NOT NULL
    AND NOT (h.constituent_code LIKE 'CASH%' AND EXISTS (
        SELECT 1 FROM etf_holdings AS d WHERE d.as_of_date = h.as_of_date
            AND d.etf_ticker = h.etf_ticker AND d.constituent_code LIKE 'KRD%'))
QUALIFY gross_krw > 0"""


# Creation units outstanding per fund and session: listed shares ÷ CU shares (newest master).
UNITS_SQL = """
SELECT p.trade_date AS as_of_date, p.ticker, p.listed_shares / d.cu_shares AS creation_units
FROM etf_daily_prices AS p
JOIN etf_details AS d ON d.ticker = p.ticker AND d.trade_date <= p.trade_date
WHERE p.trade_date = $as_of AND d.cu_shares > 0
QUALIFY row_number() OVER (PARTITION BY p.ticker ORDER BY d.trade_date DESC) = 1"""

COUNTRY_SQL = f"""CASE
    WHEN l.kind = 'cash' AND (l.constituent_code LIKE 'KRD%' OR l.constituent_code LIKE 'CASH%')
        THEN 'KR'
    WHEN regexp_full_match(coalesce(l.constituent_isin, ''), '{_ISIN_RE}')
        THEN left(l.constituent_isin, 2)
    WHEN regexp_full_match(l.constituent_code, '{_ISIN_RE}') THEN left(l.constituent_code, 2)
    WHEN l.kind IN ('stock', 'etf') AND length(l.constituent_code) = 6 THEN 'KR'
    ELSE '{UNKNOWN}' END"""

SECTOR_SQL = f"""CASE
    WHEN s.sector IS NOT NULL THEN s.sector
    WHEN l.kind IN ('etf', 'bond', 'future', 'option', 'cash') THEN l.kind
    ELSE '{UNKNOWN}' END"""


def exposure_sql() -> str:
    """etf_exposure rows of the week `$as_of`: per fund and dimension, the buckets' weights
    (summing to 100) and KRW values. Sectors of stocks from stock_sectors (KRX 업종); a line
    that is no stock is its kind in that dimension; a stock without a sector is `unknown`.
    Countries from the line's ISIN prefix; KRW cash (원화예금, 설정현금액) is KR; a 6-character
    KRX code of a stock or ETF without ISIN is KR; anything else is `unknown`."""
    return f"""
WITH l AS ({lines_sql("h.as_of_date = $as_of")}),
u AS ({UNITS_SQL}),
classified AS (
    SELECT l.as_of_date, l.ticker, l.weight_pct, l.line_krw * u.creation_units AS value_krw,
        l.kind AS asset_kind, {SECTOR_SQL} AS sector, {COUNTRY_SQL} AS country
    FROM l
    LEFT JOIN u USING (ticker)
    LEFT JOIN stock_sectors AS s ON s.stock_code = l.constituent_code AND l.kind = 'stock'
        AND s.trade_date = {_STOCK_DATE.format(table="stock_sectors")}
)
SELECT as_of_date, ticker, dimension, bucket, sum(weight_pct) AS weight_pct,
    sum(value_krw) AS value_krw
FROM classified UNPIVOT (bucket FOR dimension IN ({", ".join(DIMENSIONS)}))
GROUP BY ALL
ORDER BY ticker, dimension, weight_pct DESC, bucket"""


# Per fund and week the weights overlap is measured on: securities and derivatives (not cash,
# which is each fund's own money), as a share of their gross value, with the position's side.
OVERLAP_WEIGHTS_SQL = f"""
SELECT as_of_date, ticker, constituent_code, sign(line_krw) AS direction,
    abs(line_krw) / sum(abs(line_krw)) OVER (PARTITION BY as_of_date, ticker) * 100 AS weight_pct
FROM ({lines_sql()})
WHERE kind <> 'cash' AND line_krw <> 0"""


def overlap_sql(min_pct: float = OVERLAP_MIN_PCT) -> str:
    """etf_overlap rows of the week `$as_of`: every ordered pair of different funds whose
    overlap = Σ over common holdings (same code, same side) of min(weight_a, weight_b) is at
    least `min_pct`, both (a, b) and (b, a), with the count of common holdings."""
    return f"""
WITH w AS (SELECT * FROM etf_overlap_weights WHERE as_of_date = $as_of),
pairs AS (
    SELECT a.as_of_date, a.ticker AS ticker_a, b.ticker AS ticker_b,
        sum(least(a.weight_pct, b.weight_pct)) AS overlap_pct, count(*) AS common_holdings
    FROM w AS a JOIN w AS b USING (as_of_date, constituent_code, direction)
    WHERE a.ticker < b.ticker
    GROUP BY ALL
    HAVING overlap_pct >= {min_pct}
)
SELECT as_of_date, ticker_a, ticker_b, overlap_pct, common_holdings FROM pairs
UNION ALL
SELECT as_of_date, ticker_b, ticker_a, overlap_pct, common_holdings FROM pairs
ORDER BY ticker_a, overlap_pct DESC, ticker_b"""


OVERLAP_MACRO_SQL = """
CREATE OR REPLACE MACRO etf_overlap_of(a, b, as_of) AS (
    SELECT CASE WHEN count(*) FILTER (WHERE ticker = a) > 0
        AND count(*) FILTER (WHERE ticker = b) > 0 THEN coalesce((
            SELECT sum(least(x.weight_pct, y.weight_pct))
            FROM etf_overlap_weights AS x
            JOIN etf_overlap_weights AS y USING (as_of_date, constituent_code, direction)
            WHERE x.as_of_date = as_of AND x.ticker = a AND y.ticker = b), 0) END
    FROM etf_overlap_weights WHERE as_of_date = as_of AND ticker IN (a, b)
)"""


def stock_holders_sql() -> str:
    """etf_stock_holders rows of the week `$as_of`: every stock line of every basket, with the
    fund's shares (per CU × creation units), the line's weight, its KRW value and etf_owned_pct
    = the long shares of all funds ÷ the stock's listed shares × 100 (NULL without listed
    shares); the stock's name from stock_sectors, else the PDF's."""
    return f"""
WITH l AS (SELECT * FROM ({lines_sql("h.as_of_date = $as_of")}) WHERE kind = 'stock'),
u AS ({UNITS_SQL}),
positions AS (
    SELECT l.as_of_date, l.constituent_code AS stock_code, l.ticker AS etf_ticker,
        coalesce(n.name, l.constituent_name) AS stock_name,
        l.shares_per_cu * u.creation_units AS shares, l.weight_pct,
        l.line_krw * u.creation_units AS value_krw
    FROM l
    LEFT JOIN u USING (ticker)
    LEFT JOIN stock_sectors AS n ON n.stock_code = l.constituent_code
        AND n.trade_date = {_STOCK_DATE.format(table="stock_sectors")}
)
SELECT p.*, sum(p.shares) FILTER (WHERE p.shares > 0) OVER (PARTITION BY p.stock_code)
    / s.listed_shares * 100 AS etf_owned_pct
FROM positions AS p
LEFT JOIN stock_shares AS s ON s.stock_code = p.stock_code AND s.trade_date = (
    SELECT max(trade_date) FROM stock_shares WHERE trade_date <= p.as_of_date)
ORDER BY p.stock_code, p.shares DESC NULLS LAST, p.etf_ticker"""


def top_buckets_sql(bound: str) -> str:
    """CTE `x`: per fund its newest week of etf_exposure within `bound` (SQL over as_of_date),
    `top_sectors` and `top_countries` as text of its largest three buckets
    (`전기전자 45.2%, 운수장비 10.1%, …`) and `exposure_as_of`."""
    tops = ",\n        ".join(
        f"string_agg(bucket || ' ' || printf('%.1f%%', weight_pct), ', ' "
        f"ORDER BY weight_pct DESC, bucket) FILTER (WHERE dimension = '{dimension}') "
        f"AS top_{plural}"
        for dimension, plural in (("sector", "sectors"), ("country", "countries"))
    )
    return f"""x_newest AS (
    SELECT * FROM etf_exposure WHERE {bound}
    QUALIFY as_of_date = max(as_of_date) OVER (PARTITION BY ticker)
),
x_ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY ticker, dimension ORDER BY weight_pct DESC, bucket) AS rank_no
    FROM x_newest
),
x AS (
    SELECT ticker, max(as_of_date) AS exposure_as_of,
        {tops}
    FROM x_ranked WHERE rank_no <= {TOP_BUCKETS}
    GROUP BY ticker
)"""


def create_exposure_views(conn: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the `etf_overlap_weights` view and the `etf_overlap_of(a, b, as_of)` macro:
    the overlap of any two funds on any week (NULL when either has no basket that week)."""
    conn.execute(f"CREATE OR REPLACE VIEW etf_overlap_weights AS {OVERLAP_WEIGHTS_SQL}")
    conn.execute(OVERLAP_MACRO_SQL)


def bucket_label(dimension: str, bucket: str) -> str:
    """A bucket as a Korean reader reads it: `미국 (US)` for a known country, `채권` for a
    kind, a KRX industry as it is."""
    if dimension == "country" and bucket in COUNTRY_LABELS:
        return f"{COUNTRY_LABELS[bucket]} ({bucket})"
    return KIND_LABELS.get(bucket, bucket)


def ownership_per_stock(holders: pd.DataFrame) -> pd.DataFrame:
    """etf_stock_holders rows of a week per stock: code, name, the count of funds holding it,
    their KRW value (NULL when none is known) and etf_owned_pct, most ETF-owned first (NULL
    last)."""
    per_stock = (
        holders.groupby(["stock_code", "stock_name"], as_index=False, dropna=False)
        .agg(etfs=("etf_ticker", "count"), value_krw=("value_krw", lambda v: v.sum(min_count=1)))
        .merge(holders[["stock_code", "etf_owned_pct"]].drop_duplicates("stock_code"))
    )
    return per_stock.sort_values(
        ["etf_owned_pct", "stock_code"], ascending=[False, True], na_position="last",
        ignore_index=True,
    )  # fmt: skip


def most_similar(overlap: pd.DataFrame, ticker: str, count: int) -> pd.DataFrame:
    """The `count` funds whose baskets overlap `ticker`'s most, from etf_overlap rows of a week
    (ticker_b, overlap_pct, common_holdings), largest overlap first."""
    pairs = overlap[overlap["ticker_a"] == ticker]
    return pairs.sort_values(
        ["overlap_pct", "ticker_b"], ascending=[False, True], ignore_index=True
    ).head(count)
