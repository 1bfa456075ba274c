"""A deterministic generated Korean ETF market for the sandbox.

Why generated: tests, the demo and the benchmarks need ≥ 1,000 ETFs with years of daily data and
known ground truth (e.g. a fund built with exactly 0.5 % tracking error), offline and
reproducible. Everything derives from the seed (`draws.Draws`); paths are built with
whole-array operations (arrays are sessions × ETFs).

Conventions (documented because the wire depends on them):
- `ANCHOR` (2026-11-20) is the reference session: `n_etfs` ETFs are listed on it, about a
  third as many were delisted before it (they only exist in past daily data), ~9 % a year are
  listed and ~4 % delisted after it (visible once the sandbox clock passes the day); the
  market reaches the end of the calendar's last year (`market_end`) and its figures are
  calibrated to the real market's (docs/sandbox_calibration.md).
- close = NAV × (1 + premium) rounded to KRX's ETF tick (1 KRW below 2,000, else 5 KRW); the
  `te_0_5` fund is quoted on a 1-KRW grid so its premium is +0.3 % to within 0.5 / NAV.
- `published_tracking_error` is KRX's figure as the sandbox defines it (see its docstring).

The real answers' awkward shapes, at the real rates, each with its ground truth on `Market`:
- index levels KRX does not publish, per index and on every day: ~1.6 % of funds "zero"
  (Open API "0.00", data service "-"), ~3 % "dash" ("-" on both) — `index_status`,
  `unpublished_index()`;
- net assets ≠ NAV × listed shares on ~22 % of rows, because a creation or redemption reaches
  net assets 1-2 sessions after the listed shares (mostly small, a tail from about −90 % to
  +100 %) —
  `net_assets`, `settlement_lag`, `net_assets_gap(d)`;
- outliers: the `suspended` fund (no trade since before START, NAV ~44, close 9,590, fee 0)
  and one-session premium spikes of illiquid funds — `premium_spikes`, `outliers(d)`;
- PDFs in KRX's layout for stock, bond, foreign-stock, mixed, covered-call (options),
  leveraged, inverse (ETF line, futures, two cash lines) and futures baskets — the `basket`
  column, `holdings()` with the `kind` of every line and both amounts;
- messy text: index names padded with "(Price Return)" and tabs, English names in mixed case,
  28 issuers, brands renamed within the years (`BRAND_RENAMES`, `names_on(d, cols)`).

The package, by concern (each module imports only those above it; baskets and flows name
`Market` for type checking only):
- `reference`: dates (START, MIN_END, ANCHOR, ALNUM_FROM), column lists,
  issuers, themes, famous funds, per-class volatility and drift, `tick_round`;
- `universe`: listings and delistings, issuers, names, codes, former names (`Market.etfs`);
- `prices`: index paths and publication, the specials, units and premium spikes;
- `payouts`: payout policy, record dates, payouts, SEIBro categories;
- `flows`: investor types, groups and flows;
- `baskets`: instrument pools and PDFs (`basket_type`, `DERIVATIVE_BASKETS`);
- `core`: the `Market` class;
- `draws`: the random draws, per kind, calendar year and fund (`Draws`), so a market that
  reaches further (its end follows the calendar, `market_end`) keeps every earlier number;
- `build`: `build_market`, `market_end`, `generated_sessions`, `get_market`, the ground truth.
This module re-exports their public names, so `from etf_sandbox.market import X` works.
"""

from etf_assets.parsing.rules import etf_isin, isin_check_digit
from etf_sandbox.market.baskets import CREATION_CASH, DEPOSIT, DERIVATIVE_BASKETS, basket_type
from etf_sandbox.market.build import build_market, generated_sessions, get_market, market_end
from etf_sandbox.market.core import Market
from etf_sandbox.market.flows import (
    DAY_MIX_CONCENTRATION,
    FUND_MIX_CONCENTRATION,
    INVESTOR_GROUPS,
    INVESTOR_SHARES,
    INVESTOR_TYPES,
    PRICE_SPREAD_IN_DAY,
)
from etf_sandbox.market.payouts import (
    FIRST_PAYOUT_AFTER_SESSIONS,
    MID_MONTH_SHARE,
    MONTHLY_PAYER_TE_PCT,
    MONTHLY_PAYER_YIELD_PCT,
    PAYOUT_RECORD_MONTHS,
    SPECIAL_PAYOUT_SHARE,
)
from etf_sandbox.market.prices import (
    DASH_INDEX_SHARE,
    FLOW_DAY_P,
    LUMP_CREATION_P,
    SETTLEMENT_LAG_P,
    SPIKES_PER_SESSION,
    SUSPENDED_CLOSE,
    SUSPENDED_NAV,
    SUSPENSION_DAY,
    ZERO_INDEX_SHARE,
)
from etf_sandbox.market.reference import (
    ALNUM_FROM,
    ALNUM_LETTERS,
    ANCHOR,
    ANNUAL,
    BRAND_RENAMES,
    CLASS_DRIFT,
    CLASS_SHARE,
    CLASS_VOL,
    DAILY_COLUMNS,
    ENG_MODIFIERS,
    FAMOUS,
    FAMOUS_DELISTED,
    HOLDING_COLUMNS,
    ISSUERS,
    LEVERAGE_LABELS,
    LEVERAGE_THEMES,
    MIN_END,
    MODIFIERS,
    START,
    THEMES,
    TITLE_CASE_SHARE,
    tick_round,
)
from etf_sandbox.market.universe import (
    DELISTED_SHARE,
    FIRST_LISTING,
    HISTORY_DELISTED_SHARE,
    HISTORY_LIFETIME_YEARS,
    NEW_PER_YEAR_SHARE,
    PADDED_INDEX_SHARE,
    TARGET_MATURITY_COUNT,
    TARGET_MATURITY_YEARS,
)

__all__ = [
    "ALNUM_FROM",
    "ALNUM_LETTERS",
    "ANCHOR",
    "ANNUAL",
    "BRAND_RENAMES",
    "CLASS_DRIFT",
    "CLASS_SHARE",
    "CLASS_VOL",
    "CREATION_CASH",
    "DAILY_COLUMNS",
    "DASH_INDEX_SHARE",
    "DAY_MIX_CONCENTRATION",
    "DELISTED_SHARE",
    "DEPOSIT",
    "DERIVATIVE_BASKETS",
    "ENG_MODIFIERS",
    "FAMOUS",
    "FAMOUS_DELISTED",
    "FIRST_LISTING",
    "FIRST_PAYOUT_AFTER_SESSIONS",
    "FLOW_DAY_P",
    "FUND_MIX_CONCENTRATION",
    "HISTORY_DELISTED_SHARE",
    "HISTORY_LIFETIME_YEARS",
    "HOLDING_COLUMNS",
    "INVESTOR_GROUPS",
    "INVESTOR_SHARES",
    "INVESTOR_TYPES",
    "ISSUERS",
    "LEVERAGE_LABELS",
    "LEVERAGE_THEMES",
    "LUMP_CREATION_P",
    "MID_MONTH_SHARE",
    "MIN_END",
    "MODIFIERS",
    "MONTHLY_PAYER_TE_PCT",
    "MONTHLY_PAYER_YIELD_PCT",
    "NEW_PER_YEAR_SHARE",
    "PADDED_INDEX_SHARE",
    "PAYOUT_RECORD_MONTHS",
    "PRICE_SPREAD_IN_DAY",
    "SETTLEMENT_LAG_P",
    "SPECIAL_PAYOUT_SHARE",
    "SPIKES_PER_SESSION",
    "START",
    "SUSPENDED_CLOSE",
    "SUSPENDED_NAV",
    "SUSPENSION_DAY",
    "TARGET_MATURITY_COUNT",
    "TARGET_MATURITY_YEARS",
    "THEMES",
    "TITLE_CASE_SHARE",
    "ZERO_INDEX_SHARE",
    "Market",
    "basket_type",
    "build_market",
    "etf_isin",
    "generated_sessions",
    "get_market",
    "isin_check_digit",
    "market_end",
    "tick_round",
]
