"""The ETF universe: every fund the warehouse has seen, listed or delisted, one row each.

KRX's master (MDCSTAT04601) lists only the funds listed today, and KRX documents no delisting
screen for ETFs, so a universe built from the master alone loses every fund that ever closed
(survivorship bias). The price screen (MDCSTAT04301) names every listed fund on every session,
so a fund's price rows say when it existed:

- **Listed**: in the newest master, or priced on the newest stored session. A fund priced on the
  newest session but missing from the master is a master lag (a fund KRX lists a day late or
  drops early), not a delisting: it stays listed.
- **Delisted**: every other fund the prices name. Its `delisted_date` is the first stored
  session after its last one, the first session on which KRX priced the market without it:
  always a session (with contiguous prices, the session after the last it traded). A
  liquidation payout (청산분배, `etf_distributions.kind = 'liquidation'`) recorded after its
  last session confirms it (`delisted_date_inferred` false, else true), and its record date,
  KRW per share and pay date fill `liquidation_record_date`, `liquidation_per_share_krw` and
  `liquidation_pay_date`. The record date is not the delisting day: the trust is wound up
  after the fund has left the exchange, and 17 of 46 real liquidations of a year were recorded
  on a Sunday.

Absence is only ever read from prices: a master partition for a past date is today's snapshot
filtered by listing date, so it lacks funds that were listed then and closed since.

Attributes come from the newest master row that had the fund (isin, issuer, listing_date). A
fund no stored master lists gets its issuer from the brand, the first word of its names
(KODEX → 삼성자산운용), where every fund of that brand with a known issuer has the same one
(`issuer_source = 'name_brand'`), and its ISIN from KRX's rule on its code (`isin_from_master`
false). `name` is the newest name either source shows.

Names over time are runs of consecutive sessions with the same price-screen name: a brand rename
(KBSTAR → RISE) is two runs of one ticker.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from etf_assets.parsing.rules import etf_isin
from etf_assets.parsing.seibro import REASON_KINDS

LISTED = "listed"
DELISTED = "delisted"
LIQUIDATION_KIND = REASON_KINDS["청산분배"]
ISSUER_FROM_MASTER = "master"
ISSUER_FROM_BRAND = "name_brand"

# A run of one name: row_number over the fund's sessions minus row_number over the fund's
# sessions under that name is constant along consecutive sessions with the name.
NAME_RUNS_SQL = """
SELECT ticker, name, min(trade_date) AS first_session, max(trade_date) AS last_session
FROM (
    SELECT ticker, name, trade_date,
        row_number() OVER (PARTITION BY ticker ORDER BY trade_date)
        - row_number() OVER (PARTITION BY ticker, name ORDER BY trade_date) AS run
    FROM etf_daily_prices
    WHERE name IS NOT NULL
)
GROUP BY ticker, name, run
"""

# One row per fund (ISINs no master gives are derived in `universe_frames`).
UNIVERSE_SQL = f"""
WITH
sessions AS (
    SELECT trade_date, lead(trade_date) OVER (ORDER BY trade_date) AS next_session
    FROM (SELECT DISTINCT trade_date FROM etf_daily_prices)
),
newest_master AS (
    SELECT ticker FROM etf_details
    WHERE trade_date = (SELECT max(trade_date) FROM etf_details)
),
priced AS (
    SELECT ticker, min(trade_date) AS first_session, max(trade_date) AS last_session,
        arg_max(name, trade_date) AS name
    FROM etf_daily_prices GROUP BY ticker
),
mastered AS (  -- the newest non-NULL value any master row had
    SELECT ticker, arg_max(isin, trade_date) AS isin, arg_max(name, trade_date) AS name,
        arg_max(issuer, trade_date) AS issuer, arg_max(listing_date, trade_date) AS listing_date,
        max(trade_date) AS master_date
    FROM etf_details GROUP BY ticker
),
name_runs AS ({NAME_RUNS_SQL}),
brands AS (  -- first word of a name → issuer, where every fund of that brand agrees
    SELECT brand, any_value(issuer) AS issuer
    FROM (
        SELECT DISTINCT split_part(n.name, ' ', 1) AS brand, m.issuer
        FROM (SELECT ticker, name FROM name_runs UNION SELECT ticker, name FROM mastered) AS n
        JOIN mastered AS m USING (ticker)
        WHERE m.issuer IS NOT NULL
    )
    GROUP BY brand HAVING count(*) = 1
),
liquidations AS (  -- the first payout recorded after the fund's last session ends it
    SELECT l.ticker, l.record_date, l.amount_per_share_krw, l.pay_date
    FROM etf_distributions AS l JOIN priced AS p USING (ticker)
    WHERE l.kind = '{LIQUIDATION_KIND}' AND l.record_date > p.last_session
    QUALIFY row_number() OVER (PARTITION BY l.ticker ORDER BY l.record_date) = 1
),
funds AS (
    SELECT f.ticker, m.isin,
        CASE WHEN p.last_session >= m.master_date OR m.name IS NULL THEN p.name
            ELSE m.name END AS name,
        m.issuer AS master_issuer, m.listing_date, p.first_session, p.last_session,
        f.ticker IN (SELECT ticker FROM newest_master)
            OR p.last_session = (SELECT max(trade_date) FROM sessions) AS is_listed,
        l.record_date AS liquidation_record_date,
        l.amount_per_share_krw AS liquidation_per_share_krw, l.pay_date AS liquidation_pay_date,
        s.next_session
    FROM (SELECT ticker FROM priced UNION SELECT ticker FROM newest_master) AS f
    LEFT JOIN priced AS p USING (ticker)
    LEFT JOIN mastered AS m USING (ticker)
    LEFT JOIN liquidations AS l USING (ticker)
    LEFT JOIN sessions AS s ON s.trade_date = p.last_session
)
SELECT f.ticker, f.isin, f.name,
    coalesce(f.master_issuer, b.issuer) AS issuer,
    CASE WHEN f.master_issuer IS NOT NULL THEN '{ISSUER_FROM_MASTER}'
        WHEN b.issuer IS NOT NULL THEN '{ISSUER_FROM_BRAND}' END AS issuer_source,
    f.listing_date, f.first_session, f.last_session,
    CASE WHEN NOT f.is_listed THEN f.next_session END AS delisted_date,
    CASE WHEN NOT f.is_listed THEN f.liquidation_record_date IS NULL END
        AS delisted_date_inferred,
    CASE WHEN f.is_listed THEN '{LISTED}' ELSE '{DELISTED}' END AS status,
    f.liquidation_record_date, f.liquidation_per_share_krw, f.liquidation_pay_date
FROM funds AS f
LEFT JOIN brands AS b ON b.brand = split_part(f.name, ' ', 1)
ORDER BY f.ticker
"""


def universe_frames(conn: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(etf_universe, etf_universe_names) rebuilt from what the warehouse stores."""
    universe = conn.execute(UNIVERSE_SQL).df()
    universe["isin_from_master"] = universe["isin"].notna()
    universe["isin"] = universe["isin"].where(
        universe["isin_from_master"], universe["ticker"].map(etf_isin)
    )
    names = conn.execute(f"{NAME_RUNS_SQL} ORDER BY ticker, first_session").df()
    return universe, names
