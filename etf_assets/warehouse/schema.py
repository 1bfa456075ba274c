"""The DuckDB contract: every table's columns and types, and one description per column name.

A column name means one thing in every table and view, so its description (with its unit) is
written once, in `COLUMN_DESCRIPTIONS`, the etf_overview columns (listed in metrics/overview.py)
included; `Table.column_schema` turns the contract into the `dg.TableSchema` each asset shows in
the UI before anything is materialized.

Naming rule: an asset is named for the relation people query; its `dagster/table_name` names the
table that stores its partitions. Every asset writes the table of its own name, except
`etf_overview`, whose partitions are stored in `etf_overview_snapshot` behind the live
`etf_overview` view.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from etf_assets.metrics.overview import COLUMN_TYPES as OVERVIEW_COLUMN_TYPES
from etf_assets.metrics.overview import OVERVIEW_FLOW_INVESTORS, OVERVIEW_FLOW_WINDOWS
from etf_assets.metrics.returns import FREQUENCIES, TTM_DAYS, WINDOW_NAMES
from etf_assets.metrics.tracking import LEVERAGE_SOURCES, WINDOWS
from etf_assets.parsing.krx import MASTER_FIELDS

_ZERO_MEANS_NO_TRADE = "NULL when KRX sends 0 (no trade that session)"
_WEEK52_WINDOW = "over the sessions within the 365 calendar days ending on trade_date"
_RETURN_WINDOWS = {
    "1w": "1 week", "1m": "1 month", "3m": "3 months", "6m": "6 months", "1y": "12 months",
}  # fmt: skip
_WINDOW_START = (
    "from the close of the last session on or before the same calendar date {} earlier "
    "(month-end clamped: 03-31 minus 1 month is 02-28/29)"
)
_YTD_START = "from the close of the previous year's last session"


def _return_start(window: str) -> str:
    return _YTD_START if window == "ytd" else _WINDOW_START.format(_RETURN_WINDOWS[window])


# One description per column name, with its unit; every table and view uses the same one.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    # keys
    "trade_date": "KRX session (trading day, KST) the row describes; the partition key",
    "as_of_date": "last session of the week the row describes; the weekly partition key",
    "ticker": "KRX short code (단축코드), text of 6 characters, some alphanumeric (0000D0)",
    "etf_ticker": "short code of the ETF whose basket holds the constituent (see ticker)",
    # krx_etf_list: the raw master (MDCSTAT04601), every field the string KRX sent
    "ISU_CD": "ISIN (표준코드), e.g. KR7069500007",
    "ISU_SRT_CD": "short code (단축코드), e.g. 069500; the same as ticker",
    "ISU_NM": "full Korean fund name (종목명)",
    "ISU_ABBRV": "short Korean name (종목약명), e.g. KODEX 200",
    "ISU_ENG_NM": "English fund name",
    "LIST_DD": "listing date (상장일) as text YYYY/MM/DD",
    "ETF_OBJ_IDX_NM": "name of the underlying index (기초지수명)",
    "IDX_CALC_INST_NM1": "index provider (지수산출기관), e.g. KRX, S&P",
    "IDX_CALC_INST_NM2": "tracking multiple label (추적배수): 일반, 2X 레버리지, 1X 인버스, …",
    "ETF_REPLICA_METHD_TP_CD": "replication method (복제방법), e.g. 실물(패시브), 합성(액티브)",
    "IDX_MKT_CLSS_NM": "market of the underlying (기초시장): 국내 (domestic) or 해외 (overseas)",
    "IDX_ASST_CLSS_NM": "asset class of the underlying (기초자산): 주식, 채권, 원자재, 통화, …",
    "LIST_SHRS": "listed shares (상장좌수), a count as text with thousands commas",
    "COM_ABBRV": "issuer: the asset manager's short name (운용사)",
    "CU_QTY": "creation unit size (CU): ETF shares per creation unit, a count as text",
    "ETF_TOT_FEE": "total fee (총보수) in % p.a. as KRX sends it: 0.150000 = 0.15 %",
    "TAX_TP_CD": "tax type label (과세유형), e.g. 비과세, 배당소득세(보유기간과세)",
    "snapshot_date": "KST date the master was fetched on (KRX publishes only today's master)",
    "fetched_at": "when the master was fetched, KST wall-clock time (no time zone stored)",
    # etf_details: the master typed
    "isin": "ISIN (KRX ISU_CD)",
    "name": "short Korean name (KRX ISU_ABBRV), e.g. KODEX 200",
    "name_full": "full Korean fund name (KRX ISU_NM)",
    "name_eng": "English fund name (KRX ISU_ENG_NM)",
    "issuer": "asset manager's short name (운용사, KRX COM_ABBRV)",
    "tracking_index": "name of the underlying index (KRX ETF_OBJ_IDX_NM)",
    "index_provider": "index provider (KRX IDX_CALC_INST_NM1)",
    "market_region": "market of the underlying: 국내 or 해외 (KRX IDX_MKT_CLSS_NM)",
    "asset_class": "asset class of the underlying: 주식, 채권, 원자재, … (KRX IDX_ASST_CLSS_NM)",
    "replication_method": "replication method, e.g. 실물(패시브) (KRX ETF_REPLICA_METHD_TP_CD)",
    "leverage_factor": "signed daily multiple of the index, unitless: 1, 2, −1, −2 "
    "(decoded from KRX IDX_CALC_INST_NM2)",
    "expense_ratio_pct": "total fee (총보수) in % p.a., as KRX's ETF_TOT_FEE (0.15 = 0.15 %)",
    "listed_shares": "listed shares (상장좌수), a count (KRX LIST_SHRS); NULL when KRX sends 0 "
    "or none",
    "cu_shares": "creation unit size: ETF shares per creation unit, a count (KRX CU_QTY)",
    "tax_type": "tax type label (KRX TAX_TP_CD), e.g. 비과세",
    "listing_date": "listing date (KRX LIST_DD)",
    # etf_daily_prices
    "open": f"opening price in KRW (KRX TDD_OPNPRC); {_ZERO_MEANS_NO_TRADE}",
    "high": f"daily high in KRW (KRX TDD_HGPRC); {_ZERO_MEANS_NO_TRADE}",
    "low": f"daily low in KRW (KRX TDD_LWPRC); {_ZERO_MEANS_NO_TRADE}",
    "close": "closing price (종가) in KRW (KRX TDD_CLSPRC); on a no-trade day the carried last "
    "close; NULL when KRX sends 0 or none",
    "volume": "shares traded (거래량), a count (KRX ACC_TRDVOL)",
    "traded_value_krw": "value traded (거래대금) in KRW (KRX ACC_TRDVAL)",
    "market_cap_krw": "market cap (시가총액) = close × listed shares, in KRW; KRX's MKTCAP "
    "(0 or none: NULL in etf_daily_prices, close × listed shares in etf_aum); never AUM",
    "nav": "net asset value per share (NAV) in KRW, as KRX publishes it; NULL when KRX sends "
    "0 or none (a NAV is never 0)",
    "net_assets_krw": "net assets (순자산총액) in KRW as KRX publishes INVSTASST_NETASST_TOTAMT; "
    "NULL when KRX sends 0 (not published yet: the day itself, new listings) or none",
    "index_name": "name of the tracked index in the price answer (KRX IDX_IND_NM)",
    "index_close": "closing level of the tracked index, in index points (KRX OBJ_STKPRC_IDX); "
    "NULL when KRX sends 0.00 (a level it does not publish) or none",
    "source": "upstream of the row: krx_openapi or krx_data (prices), krx_pdf or "
    "kis_components (holdings), seibro (distributions)",
    # etf_holdings (KRX PDF, MDCSTAT05001)
    "constituent_code": "constituent's code kept whole (KRX COMPST_ISU_CD): 6-character "
    "ticker, 12-character cash/futures code such as KRD010010001, or KRX's foreign code",
    "constituent_name": "constituent's Korean name (KRX COMPST_ISU_NM)",
    "constituent_isin": "constituent's ISIN (KRX COMPST_ISU_CD2); NULL when none is sent",
    "kind": "stock, etf, bond, future, option, cash or other: KRX SECUGRP_ID (ST, EF, FU), "
    "else the code (cash codes KRD…/CASH…, Korean bond/futures/option ISINs), else MKT_ID DRV "
    "→ future; guessed from code and name for kis_components rows. In etf_distributions the "
    "kind of payout: income (이익분배), liquidation (청산분배, a delisting fund's remaining "
    "value) or other (특별분배 and the rest)",
    "shares_per_cu": "quantity held per creation unit, in shares or contracts, negative for a "
    "short leg (KRX COMPST_ISU_CU1_SHRS); NULL where KRX sends none (cash lines)",
    "value_krw": "valuation of the quantity per creation unit (평가금액) in KRW (KRX VALU_AMT; "
    "KIS etf_cnfg_issu_avls); NULL where the source sends none (ETF and cash lines)",
    "amount_krw": "amount of the line per creation unit (구성금액) in KRW (KRX COMPST_AMT), the "
    "one figure of cash lines; NULL where KRX sends none (futures lines) and for KIS rows",
    "weight_pct": "weight in the basket, in % (KRX COMPST_RTO); NULL where KRX sends none "
    "(cash and derivative lines)",
    # etf_aum
    "aum_krw": "net assets (순자산총액) in KRW as KRX publishes INVSTASST_NETASST_TOTAMT; "
    "NAV × listed shares when KRX publishes none (0 on the wire), KIS's net assets when KRX "
    "has neither (see aum_source); never market cap",
    "aum_source": "where aum_krw comes from: krx_net_assets, nav_x_shares or kis",
    "aum_krw_kis": "net assets in KRW per KIS inquire-price (etf_ntas_ttam, 억원 × 10^8); "
    "newest session only, NULL without KIS",
    "nav_kis": "NAV in KRW per share per KIS inquire-price (nav); NULL without KIS",
    "close_kis": "price in KRW per share per KIS inquire-price after the close (stck_prpr); "
    "NULL without KIS",
    "listed_shares_kis": "listed shares per KIS inquire-price (lstn_stcn), a count; "
    "NULL without KIS",
    # etf_tracking_error
    **{
        f"premium_discount_{n}d_pct": f"premium (+) or discount (−) to NAV (괴리율): mean of "
        f"daily (close − NAV)/NAV × 100 over the last {n} sessions with both, in percent; "
        f"NULL with fewer than {n}"
        for n in WINDOWS
    },
    **{
        f"tracking_error_{n}d_pct": "tracking error (추적오차율): annualised (×√250) sample "
        f"std over the last {n} sessions of (NAV daily return − leverage_factor × index daily "
        "return), in percent; the NAV return adds back every payout but a liquidation on its "
        f"ex-date, (NAV_t + D_t)/NAV_t−1 − 1; NULL with fewer than {n} sessions or no index level"
        for n in WINDOWS
    },
    "leverage_factor_used": "signed multiple of the index the tracking error is taken against, "
    "unitless (1, 1.5, 2, −1, −2 …); see leverage_source",
    "leverage_source": f"where leverage_factor_used comes from: {LEVERAGE_SOURCES[0]} (the "
    f"master of the week), {LEVERAGE_SOURCES[1]} (a fund no longer listed: its newest master "
    f"row), {LEVERAGE_SOURCES[2]} (never in a master held: read from the name KRX gave it: "
    "the multiple it writes after 레버리지 or 인버스, such as 1.5X or 2X, else 2 for 레버리지 "
    "and 1 for 인버스, negative for 인버스; else 1)",
    "constituent_count": "securities in the ETF's basket of the same week (etf_holdings lines "
    "of kind stock, etf, bond or other), a count; cash, futures and options excluded; NULL "
    "without holdings",
    "sessions_used": "price sessions behind the figures: the ETF's newest rows, at most 250, "
    "a count",
    "krx_tracking_error_pct": "KRX's own published tracking error in % (MDCSTAT05901 "
    "TRACE_ERR_RT), for a weekly sample of 20 ETFs; NULL for the others",
    # etf_52w
    "high_52w": f"52-week high: highest daily high in KRW {_WEEK52_WINDOW}",
    "high_52w_date": "session of high_52w (ties: the most recent)",
    "low_52w": f"52-week low: lowest daily low in KRW {_WEEK52_WINDOW}; a low of 0 (no trade) "
    "never counts",
    "low_52w_date": "session of low_52w (ties: the most recent)",
    "pct_below_high": "(high_52w − close)/high_52w × 100, in percent: 0 at the high",
    "sessions_in_window": "the ETF's price rows within the 52-week window, a count",
    "has_full_year": "true when listed before the window and priced on every session of it; "
    "false: the figures are since listing or over the history held",
    # etf_distributions (SEIBro): one row per payout
    "record_date": "record date of the payout (배당기준일, KST); holders at its start are paid",
    "ex_date": "ex-date: the session before record_date, when NAV and price fall by the payout",
    "pay_date": "date the cash is paid (지급일)",
    "amount_per_share_krw": "payout per share (분배금) in KRW",
    "reason": "SEIBro's reason text for the payout, e.g. 이익분배, 청산분배, 특별분배",
    "tax_base_price_krw": "settlement tax-base price (결산과표기준가) in KRW per share: a price, "
    "not the taxable part of the payout; NULL where SEIBro sends none",
    # etf_returns: price and total returns, distribution yield
    **{
        f"return_{w}_pct": f"price return in percent: close of trade_date {_return_start(w)}; "
        "NULL when the fund had no close there (not listed yet)"
        for w in WINDOW_NAMES
    },
    **{
        f"total_return_{w}_pct": f"total return in percent {_return_start(w)}, every payout "
        "but a liquidation reinvested at its ex-date close; NULL as return_" + w + "_pct"
        for w in WINDOW_NAMES
    },
    "krx_return_1m_pct": "KRX's own change over the 1-month window in percent (MDCSTAT04401 "
    "FLUC_RT from the window's start close BAS_PRC), for the cross-check; NULL where KRX "
    "sends none",
    "distribution_ttm_krw": f"income payouts (kind income) per share with ex-dates in the "
    f"{TTM_DAYS} calendar days ending on trade_date, in KRW; 0 when none",
    "distribution_yield_ttm_pct": "distribution_ttm_krw / close × 100, in percent; liquidation "
    "and special payouts never count",
    "distributions_ttm": f"income payouts with ex-dates in the {TTM_DAYS} calendar days ending "
    "on trade_date, a count",
    "distribution_frequency": "how often the fund pays income, read from the gaps between its "
    "ex-dates over two years: " + ", ".join(FREQUENCIES),
    # etf_investor_flows (KRX MDCSTAT04902 / MDCSTAT04901): who bought and sold the ETF
    "investor": "investor group as KRX's per-fund flows (MDCSTAT04902) count them: institution "
    "(기관: 금융투자, 보험, 투신, 사모, 은행, 기타금융, 연기금 등), other_corporation (기타법인), "
    "individual (개인), foreign (외국인, 기타외국인 included)",
    "buy_volume": "units of the ETF the group bought that session (매수 거래량), a count; the "
    "four groups' sum is the session's volume; 0 when the ETF did not trade",
    "sell_volume": "units of the ETF the group sold that session (매도 거래량), a count; the four "
    "groups' sum is the session's volume",
    "net_volume": "units bought − units sold (순매수 거래량), a signed count; the four groups' "
    "nets sum to 0",
    "buy_value_krw": "KRW the group paid for the units it bought that session (매수 거래대금); "
    "the four groups' sum is the session's traded value",
    "sell_value_krw": "KRW the group received for the units it sold that session (매도 거래대금)",
    "net_value_krw": "net buying in KRW (순매수 거래대금) = buy_value_krw − sell_value_krw, "
    "signed; the four groups' nets sum to 0",
    # etf_overview (and its snapshot): each group of figures is the ETF's newest, dated
    "is_active": "true when the ticker is in the newest ETF master (etf_details)",
    "details_as_of": "trade_date of the etf_details row the static attributes come from",
    "prices_as_of": "session of close and nav (etf_daily_prices)",
    "aum_as_of": "session of aum_krw, aum_source and market_cap_krw (etf_aum)",
    "tracking_as_of": "week (as_of_date) of the premium/discount, tracking error and "
    "constituent figures (etf_tracking_error)",
    "week52_as_of": "session of the 52-week figures (etf_52w)",
    "returns_as_of": "session of the returns and distribution figures (etf_returns)",
    **{
        f"{investor}_net_buy_{n}d_krw": f"net buying by {who} (etf_investor_flows."
        f"net_value_krw) summed over the last {n} sessions up to flows_as_of, in KRW; NULL "
        f"unless the ETF has that figure on all {n}"
        for investor, who in OVERVIEW_FLOW_INVESTORS.items()
        for n in OVERVIEW_FLOW_WINDOWS
    },
    "flows_as_of": "session of the ETF's newest investor flows (etf_investor_flows), where its "
    "net-buying windows end",
    # etf_universe and etf_universe_names: every fund ever priced or in the newest master
    "isin_from_master": "true when isin comes from a master row (KRX ISU_CD); false: derived "
    "from the ticker by KRX's ISIN rule (a fund no stored master lists)",
    "issuer_source": "where issuer comes from: master (the newest master row that had the fund) "
    "or name_brand (the first word of its names, where every fund of that brand with a known "
    "issuer has the same one); NULL: unknown",
    "first_session": "first session the fund was priced in etf_daily_prices (etf_universe), or "
    "first session of a run of one name (etf_universe_names)",
    "last_session": "last session the fund was priced in etf_daily_prices (etf_universe), or "
    "last session of a run of one name (etf_universe_names)",
    "delisted_date": "first session the fund was no longer listed: the first stored session "
    "after last_session, always a session (see delisted_date_inferred); NULL while listed",
    "delisted_date_inferred": "true when delisted_date is inferred from the prices alone, "
    "false when a liquidation payout confirms it; NULL while listed",
    "status": "listed (in the newest master, or priced on the newest stored session) or "
    "delisted (every other fund the prices name)",
    "liquidation_record_date": "record date of the fund's liquidation payout (청산분배, "
    "etf_distributions kind liquidation) recorded after last_session: when the trust was "
    "wound up, not when it left the exchange (often a Sunday); NULL without one",
    "liquidation_per_share_krw": "that liquidation payout, KRW per share (with decimals); "
    "NULL without one",
    "liquidation_pay_date": "pay date of that liquidation payout; NULL without one",
}


@dataclass(frozen=True)
class Table:
    name: str
    key_column: str | None  # the partition column (a DATE); None: rewritten whole
    id_columns: tuple[str, ...]  # the full key, for uniqueness
    columns: tuple[tuple[str, str], ...]
    open_columns: bool = False  # raw tables keep unknown upstream fields as extra VARCHARs
    monthly: bool = False  # a partition is the calendar month of key_column, keyed by its 1st

    def partition_key_sql(self) -> str:
        """The partition a row belongs to, as SQL over the key column."""
        if self.monthly:
            return f"CAST(date_trunc('month', {self.key_column}) AS DATE)"
        return str(self.key_column)

    def partition_keys_of(self, values: pd.Series) -> pd.Series:
        """The partition of each key-column value (a date; a month's first day if monthly)."""
        days = pd.to_datetime(values)
        return (days.dt.to_period("M").dt.start_time if self.monthly else days).dt.date

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def column_schema(self) -> dg.TableSchema:
        """The contract as Dagster shows it; a column without a description shows it blank
        (and fails test_storage) rather than break loading Definitions."""
        return dg.TableSchema(
            columns=[
                dg.TableColumn(name, sql_type, description=COLUMN_DESCRIPTIONS.get(name, ""))
                for name, sql_type in self.columns
            ]
        )


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "krx_etf_list",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                *((field, "VARCHAR") for field in MASTER_FIELDS),
                ("snapshot_date", "DATE"),
                ("fetched_at", "TIMESTAMP"),
            ),
            open_columns=True,
        ),
        Table(
            "etf_details",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("isin", "VARCHAR"),
                ("name", "VARCHAR"),
                ("name_full", "VARCHAR"),
                ("name_eng", "VARCHAR"),
                ("issuer", "VARCHAR"),
                ("tracking_index", "VARCHAR"),
                ("index_provider", "VARCHAR"),
                ("market_region", "VARCHAR"),
                ("asset_class", "VARCHAR"),
                ("replication_method", "VARCHAR"),
                ("leverage_factor", "DOUBLE"),
                ("expense_ratio_pct", "DOUBLE"),
                ("listed_shares", "BIGINT"),
                ("cu_shares", "BIGINT"),
                ("tax_type", "VARCHAR"),
                ("listing_date", "DATE"),
            ),
        ),
        Table(
            "etf_daily_prices",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("name", "VARCHAR"),
                ("open", "DOUBLE"),
                ("high", "DOUBLE"),
                ("low", "DOUBLE"),
                ("close", "DOUBLE"),
                ("volume", "BIGINT"),
                ("traded_value_krw", "BIGINT"),
                ("market_cap_krw", "BIGINT"),
                ("nav", "DOUBLE"),
                ("net_assets_krw", "BIGINT"),
                ("listed_shares", "BIGINT"),
                ("index_name", "VARCHAR"),
                ("index_close", "DOUBLE"),
                ("source", "VARCHAR"),
            ),
        ),
        Table(
            "etf_holdings",
            "as_of_date",
            ("as_of_date", "etf_ticker", "constituent_code"),
            (
                ("as_of_date", "DATE"),
                ("etf_ticker", "VARCHAR"),
                ("constituent_code", "VARCHAR"),
                ("constituent_name", "VARCHAR"),
                ("constituent_isin", "VARCHAR"),
                ("kind", "VARCHAR"),
                ("shares_per_cu", "DOUBLE"),
                ("value_krw", "DOUBLE"),
                ("amount_krw", "DOUBLE"),
                ("weight_pct", "DOUBLE"),
                ("source", "VARCHAR"),
            ),
        ),
        Table(
            "etf_aum",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("aum_krw", "DOUBLE"),
                ("aum_source", "VARCHAR"),
                ("market_cap_krw", "DOUBLE"),
                ("nav", "DOUBLE"),
                ("close", "DOUBLE"),
                ("listed_shares", "BIGINT"),
                ("aum_krw_kis", "DOUBLE"),
                ("nav_kis", "DOUBLE"),
                ("close_kis", "DOUBLE"),
                ("listed_shares_kis", "BIGINT"),
            ),
        ),
        Table(
            "etf_tracking_error",
            "as_of_date",
            ("as_of_date", "ticker"),
            (
                ("as_of_date", "DATE"),
                ("ticker", "VARCHAR"),
                *((f"premium_discount_{n}d_pct", "DOUBLE") for n in WINDOWS),
                *((f"tracking_error_{n}d_pct", "DOUBLE") for n in WINDOWS),
                ("constituent_count", "INTEGER"),
                ("sessions_used", "INTEGER"),
                ("krx_tracking_error_pct", "DOUBLE"),
                ("leverage_factor_used", "DOUBLE"),
                ("leverage_source", "VARCHAR"),
            ),
        ),
        Table(
            "etf_52w",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("high_52w", "DOUBLE"),
                ("high_52w_date", "DATE"),
                ("low_52w", "DOUBLE"),
                ("low_52w_date", "DATE"),
                ("close", "DOUBLE"),
                ("pct_below_high", "DOUBLE"),
                ("sessions_in_window", "INTEGER"),
                ("has_full_year", "BOOLEAN"),
            ),
        ),
        Table(
            "etf_distributions",
            "record_date",
            ("ticker", "record_date"),
            (
                ("ticker", "VARCHAR"),
                ("record_date", "DATE"),
                ("isin", "VARCHAR"),
                ("ex_date", "DATE"),
                ("pay_date", "DATE"),
                ("amount_per_share_krw", "DOUBLE"),
                ("kind", "VARCHAR"),
                ("reason", "VARCHAR"),
                ("tax_base_price_krw", "DOUBLE"),
                ("source", "VARCHAR"),
            ),
            monthly=True,
        ),
        Table(
            "etf_returns",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("close", "DOUBLE"),
                *((f"return_{w}_pct", "DOUBLE") for w in WINDOW_NAMES),
                *((f"total_return_{w}_pct", "DOUBLE") for w in WINDOW_NAMES),
                ("krx_return_1m_pct", "DOUBLE"),
                ("distribution_ttm_krw", "DOUBLE"),
                ("distribution_yield_ttm_pct", "DOUBLE"),
                ("distributions_ttm", "INTEGER"),
                ("distribution_frequency", "VARCHAR"),
            ),
        ),
        Table(
            "etf_investor_flows",
            "trade_date",
            ("trade_date", "ticker", "investor"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("investor", "VARCHAR"),
                ("buy_volume", "BIGINT"),
                ("sell_volume", "BIGINT"),
                ("net_volume", "BIGINT"),
                ("buy_value_krw", "BIGINT"),
                ("sell_value_krw", "BIGINT"),
                ("net_value_krw", "BIGINT"),
            ),
        ),
        Table(
            "etf_overview_snapshot",
            "trade_date",
            ("trade_date", "ticker"),
            (("trade_date", "DATE"), *OVERVIEW_COLUMN_TYPES),
        ),
        Table(
            "etf_universe",
            None,
            ("ticker",),
            (
                ("ticker", "VARCHAR"),
                ("isin", "VARCHAR"),
                ("isin_from_master", "BOOLEAN"),
                ("name", "VARCHAR"),
                ("issuer", "VARCHAR"),
                ("issuer_source", "VARCHAR"),
                ("listing_date", "DATE"),
                ("first_session", "DATE"),
                ("last_session", "DATE"),
                ("delisted_date", "DATE"),
                ("delisted_date_inferred", "BOOLEAN"),
                ("status", "VARCHAR"),
                ("liquidation_record_date", "DATE"),
                ("liquidation_per_share_krw", "DOUBLE"),
                ("liquidation_pay_date", "DATE"),
            ),
        ),
        Table(
            "etf_universe_names",
            None,
            ("ticker", "first_session"),
            (
                ("ticker", "VARCHAR"),
                ("name", "VARCHAR"),
                ("first_session", "DATE"),
                ("last_session", "DATE"),
            ),
        ),
    )
}


class SchemaMismatch(ValueError):
    """A frame does not carry the columns its table needs."""
