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

from etf_assets.metrics.classification import ASSET_CLASS_VALUES, TAX_CLASS_VALUES
from etf_assets.metrics.overview import COLUMN_TYPES as OVERVIEW_COLUMN_TYPES
from etf_assets.metrics.overview import (
    OVERVIEW_CREATION_WINDOWS,
    OVERVIEW_FLOW_INVESTORS,
    OVERVIEW_FLOW_WINDOWS,
)
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
    "name": "short Korean name (KRX ISU_ABBRV), e.g. KODEX 200; in stock_sectors the stock's",
    "name_full": "full Korean fund name (KRX ISU_NM)",
    "name_eng": "English fund name (KRX ISU_ENG_NM)",
    "issuer": "asset manager's short name (운용사, KRX COM_ABBRV)",
    "tracking_index": "name of the underlying index (KRX ETF_OBJ_IDX_NM)",
    "index_provider": "index provider (KRX IDX_CALC_INST_NM1)",
    "market_region": "market of the underlying: 국내 or 해외 (KRX IDX_MKT_CLSS_NM)",
    "asset_class": "asset class of the underlying: KRX's label (IDX_ASST_CLSS_NM: 주식, 채권, "
    "원자재, …) in etf_details and etf_overview; in etf_classification our class of it: "
    + ", ".join(ASSET_CLASS_VALUES)
    + " (KRX's 기타 is money_market for CD금리/KOFR funds)",
    "replication_method": "replication method, e.g. 실물(패시브) (KRX ETF_REPLICA_METHD_TP_CD)",
    "leverage_factor": "signed daily multiple of the index, unitless: 1, 2, −1, −2 "
    "(decoded from KRX IDX_CALC_INST_NM2)",
    "expense_ratio_pct": "total fee (총보수) in % p.a., as KRX's ETF_TOT_FEE (0.15 = 0.15 %)",
    "listed_shares": "listed shares (상장좌수 of a fund; 상장주식수 of a stock in stock_shares), "
    "a count (KRX LIST_SHRS); NULL when KRX sends 0 or none",
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
    "KIS etf_cnfg_issu_avls); NULL where the source sends none (ETF and cash lines). In "
    "etf_exposure and etf_stock_holders the fund's whole position in KRW: the lines' "
    "amount_krw (else value_krw) × creation units, signed (short legs negative)",
    "amount_krw": "amount of the line per creation unit (구성금액) in KRW (KRX COMPST_AMT), the "
    "one figure of cash lines; NULL where KRX sends none (futures lines) and for KIS rows",
    "weight_pct": "weight in the basket, in % (KRX COMPST_RTO); NULL where KRX sends none "
    "(cash and derivative lines). In etf_exposure and etf_stock_holders: |line value| ÷ the "
    "basket's gross value Σ |line value| × 100, every line weighed (summing to 100 per fund)",
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
    "is_active": "in etf_overview: true when the ticker is in the newest ETF master "
    "(etf_details); in etf_classification: true for an actively managed fund (액티브 in KRX "
    "ETF_REPLICA_METHD_TP_CD)",
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
    # etf_classification: what the fund is, how it is taxed, which pension may hold it
    "region": "where the underlying trades: domestic, foreign or domestic_and_foreign (KRX "
    "IDX_MKT_CLSS_NM 국내, 해외, 국내&해외)",
    "is_inverse": "true when leverage_factor is negative (인버스)",
    "is_leveraged": "true when |leverage_factor| is above 1 (레버리지, 인버스2X); a blank factor "
    "is read from the name",
    "is_synthetic": "true for a swap-based fund (합성 in KRX ETF_REPLICA_METHD_TP_CD or the name)",
    "is_covered_call": "true when the name or index says 커버드콜 (covered call)",
    "is_target_maturity": "true when the short name gives a maturity as YY-MM (KODEX 25-12 …) "
    "or says 만기",
    "is_currency_hedged": "true when the name carries (H), KRX's mark of a currency-hedged fund",
    "fund_type": "the fund type printed at the end of the full name (KRX ISU_NM), e.g. 주식, "
    "주식-파생형, 채권혼합-파생재간접형; NULL when the name carries none",
    "tax_class": "what KRX's tax label (TAX_TP_CD) means for a holder: "
    + ", ".join(TAX_CLASS_VALUES)
    + " (tax_class_rule says what each means); NULL for a label we do not know",
    "tax_class_rule": "how the fund's gains and distributions are taxed for a holder, with the "
    "law (docs/assets.md § Pension eligibility and tax class)",
    "basket_as_of": "week (etf_holdings as_of_date) of the newest basket at or before trade_date, "
    "which stock_weight_pct and derivatives_weight_pct measure; NULL without one",
    "stock_weight_pct": "stocks in that basket as % of net assets per creation unit (NAV × CU of "
    "the basket's week): stock and other lines (foreign stocks under KRX's own codes) at KRX's "
    "amount (COMPST_AMT); NULL without a basket or NAV",
    "derivatives_weight_pct": "futures and options in that basket as % of net assets per "
    "creation unit: the absolute exposure KRX values them at (VALU_AMT); NULL as stock_weight_pct",
    "pension_savings_eligible": "true when a 연금저축 account may hold the fund (no leveraged or "
    "inverse ETF); see pension_savings_rule",
    "pension_savings_rule": "the rule that decided pension_savings_eligible",
    "retirement_eligible": "true when a 퇴직연금 DC/IRP account may hold the fund: neither "
    "leveraged nor inverse, and not 파생형 unless 합성; see retirement_rule",
    "retirement_rule": "the rule that decided retirement_eligible (and the measured basket where "
    "the name carries no fund type)",
    "retirement_risk_asset": "true when the fund counts against 퇴직연금's 70 % limit on risk "
    "assets (may invest 50 % or more in stocks), false for a safe asset; NULL where "
    "retirement_eligible is false",
    "retirement_risk_rule": "the rule that decided retirement_risk_asset (the measured basket "
    "where it stood in for the prospectus's stock limit)",
    # etf_creations: listed-unit changes × NAV
    "shares_change": "listed units minus the fund's previous stored session's (신규 설정 +, 환매 "
    "−), a signed count; the listing: every unit listed; a delisting: minus the last units; "
    "NULL when unknown (the stored history starts with the fund listed)",
    "net_creation_krw": "money in (+, 설정) or out (−, 환매) that session = shares_change × nav, "
    "in KRW",
    "cu_multiple": "shares_change ÷ cu_shares: creation units created (+) or redeemed (−), a "
    "whole number unless the data is wrong",
    "event": "listing (the fund's first session: every unit a creation), delisting (the first "
    "session without it: the last units redeemed at the last NAV) or NULL",
    **{
        f"net_creation_{n}d_krw": f"net creations (etf_creations.net_creation_krw) summed over "
        f"the last {n} sessions up to creations_as_of, in KRW; NULL unless the ETF has the "
        f"figure on all {n}"
        for n in OVERVIEW_CREATION_WINDOWS
    },
    "classification_as_of": "session of the pension and tax figures (etf_classification)",
    "creations_as_of": "session of the ETF's newest creations (etf_creations), where its "
    "net-creation windows end",
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
    # etf_costs (KOFIA 전자공시, 펀드별 보수비용비교): what a holder pays, per disclosure month
    "month": "disclosure month (its first day) the row describes: KOFIA's figures as of the "
    "month's last business day; the monthly partition key",
    "kofia_base_date": "KOFIA's 기준일: the month's last business day the figures are as of",
    "kofia_fund_code": "KOFIA's own fund code (표준코드 of the fund class, KR5…/K55…): not the "
    "ETF's ISIN",
    "kofia_fund_name": "the fund's legal name as KOFIA files it (펀드명), class label included",
    "kofia_fund_type": "KOFIA's fund type (펀드유형), e.g. 주식형, 파생형",
    "total_fee_pct": "total fee (보수합계) in % p.a. as KOFIA discloses it: management + sales + "
    "trustee + administration fees; comparable with KRX's headline fee (expense_ratio_pct)",
    "management_fee_pct": "management fee (운용보수) in % p.a. (KOFIA)",
    "sales_fee_pct": "sales fee (판매보수) in % p.a. (KOFIA)",
    "trustee_fee_pct": "trustee fee (수탁보수) in % p.a. (KOFIA)",
    "admin_fee_pct": "administration fee (사무관리보수) in % p.a. (KOFIA)",
    "other_expenses_pct": "other expenses (기타비용: index licences, listing, audit, …) in % p.a. "
    "over the trailing year, as KOFIA prints it (2 dp); moves month to month",
    "ter_pct": "total expense ratio (TER, 총보수·비용비율) = total fee + other expenses, in % p.a. "
    "(KOFIA prints it to 2 dp); NULL for a fund younger than a year",
    "trading_fee_pct": "trading and brokerage costs (매매·중개수수료율) in % p.a. over the "
    "trailing year (KOFIA); not in the TER",
    "all_in_cost_pct": "all-in cost (실부담비용) = ter_pct + trading_fee_pct, in % p.a.: what a "
    "holder bore; NULL when either is NULL",
    "front_load_pct": "front-end load (선취수수료) in % of the amount bought (KOFIA); 0 for ETFs",
    "back_load_pct": "back-end load (후취수수료) in % of the amount sold (KOFIA); 0 for ETFs",
    "category_average_fee_pct": "KOFIA's average total fee of the fund's type (유사유형 "
    "평균보수율), in % p.a.",
    "all_in_minus_headline_pct": "all_in_cost_pct − expense_ratio_pct, in %pt: what a holder "
    "pays above KRX's headline fee (etf_costs of costs_as_of against the newest master)",
    "costs_as_of": "disclosure month (its first day) of ter_pct, other_expenses_pct and "
    "all_in_cost_pct (etf_costs)",
    "match_method": "how the KOFIA fund was matched to the ticker: full_name, "
    "full_name_without_class or closest_name (docs/kofia.md § Matching)",
    # stock_sectors, stock_shares (KRX 업종분류 현황 MDCSTAT03901, 전종목 시세 MDCSTAT01501)
    "stock_code": "KRX short code of a listed stock (단축코드), text of 6 characters, some "
    "alphanumeric (00104K); the constituent_code of its basket lines",
    "market": "KRX market the stock is listed on: STK (KOSPI) or KSQ (KOSDAQ), the mktId asked",
    "sector": "KRX industry (업종, MDCSTAT03901 IDX_IND_NM), e.g. 전기전자; NULL when KRX gives "
    "none",
    # etf_exposure, etf_overlap, etf_stock_holders (look-through of etf_holdings)
    "dimension": "what a bucket groups the basket by: asset_kind (the line's kind), sector "
    "(KRX 업종 of a stock; other lines by kind) or country (ISIN prefix, KR for KRW cash)",
    "bucket": "one value of the dimension, e.g. stock, 전기전자, US; `unknown` where it cannot "
    "be told (a stock without sector, a foreign line without ISIN), never dropped",
    "ticker_a": "short code of the first fund of the pair (see ticker)",
    "ticker_b": "short code of the second fund of the pair (see ticker)",
    "overlap_pct": "overlap of the two baskets in %: Σ over holdings both hold on the same side "
    "of min(weight in a, weight in b), weights over each fund's securities and derivatives "
    "(cash left out), so overlap(a, a) = 100; stored for pairs of at least 10 %",
    "common_holdings": "holdings both funds hold on the same side, a count",
    "stock_name": "short Korean name of the stock (KRX ISU_ABBRV; the PDF's name when KRX's "
    "stock screen has none)",
    "shares": "shares of the stock the fund holds: shares_per_cu × creation units (listed "
    "shares ÷ CU shares of the week's last session), a count; NULL when either is unknown",
    "etf_owned_pct": "shares held by all ETFs (long positions) ÷ the stock's listed shares × "
    "100, in %, the same on every row of the stock; NULL without listed shares",
    "exposure_as_of": "week (as_of_date) of top_sectors and top_countries (etf_exposure)",
    "top_sectors": "the fund's three largest sector buckets with their weights, e.g. "
    "'전기전자 45.2%, 운수장비 10.1%, 기타금융 8.0%' (etf_exposure)",
    "top_countries": "the fund's three largest country buckets with their weights, e.g. "
    "'US 92.3%, KR 7.7%' (etf_exposure)",
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
            "etf_classification",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("asset_class", "VARCHAR"),
                ("region", "VARCHAR"),
                ("leverage_factor", "DOUBLE"),
                ("is_inverse", "BOOLEAN"),
                ("is_leveraged", "BOOLEAN"),
                ("is_synthetic", "BOOLEAN"),
                ("is_active", "BOOLEAN"),
                ("is_covered_call", "BOOLEAN"),
                ("is_target_maturity", "BOOLEAN"),
                ("is_currency_hedged", "BOOLEAN"),
                ("fund_type", "VARCHAR"),
                ("tax_class", "VARCHAR"),
                ("tax_class_rule", "VARCHAR"),
                ("basket_as_of", "DATE"),
                ("stock_weight_pct", "DOUBLE"),
                ("derivatives_weight_pct", "DOUBLE"),
                ("pension_savings_eligible", "BOOLEAN"),
                ("pension_savings_rule", "VARCHAR"),
                ("retirement_eligible", "BOOLEAN"),
                ("retirement_rule", "VARCHAR"),
                ("retirement_risk_asset", "BOOLEAN"),
                ("retirement_risk_rule", "VARCHAR"),
            ),
        ),
        Table(
            "etf_creations",
            "trade_date",
            ("trade_date", "ticker"),
            (
                ("trade_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("listed_shares", "BIGINT"),
                ("shares_change", "BIGINT"),
                ("nav", "DOUBLE"),
                ("net_creation_krw", "DOUBLE"),
                ("cu_shares", "BIGINT"),
                ("cu_multiple", "DOUBLE"),
                ("event", "VARCHAR"),
            ),
        ),
        Table(
            "etf_overview_snapshot",
            "trade_date",
            ("trade_date", "ticker"),
            (("trade_date", "DATE"), *OVERVIEW_COLUMN_TYPES),
        ),
        Table(
            "etf_costs",
            "month",
            ("month", "ticker"),
            (
                ("month", "DATE"),
                ("ticker", "VARCHAR"),
                ("kofia_base_date", "DATE"),
                ("kofia_fund_code", "VARCHAR"),
                ("kofia_fund_name", "VARCHAR"),
                ("kofia_fund_type", "VARCHAR"),
                ("total_fee_pct", "DOUBLE"),
                ("management_fee_pct", "DOUBLE"),
                ("sales_fee_pct", "DOUBLE"),
                ("trustee_fee_pct", "DOUBLE"),
                ("admin_fee_pct", "DOUBLE"),
                ("other_expenses_pct", "DOUBLE"),
                ("ter_pct", "DOUBLE"),
                ("trading_fee_pct", "DOUBLE"),
                ("all_in_cost_pct", "DOUBLE"),
                ("front_load_pct", "DOUBLE"),
                ("back_load_pct", "DOUBLE"),
                ("category_average_fee_pct", "DOUBLE"),
                ("match_method", "VARCHAR"),
            ),
            monthly=True,
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
            "stock_sectors",
            "trade_date",
            ("trade_date", "stock_code"),
            (
                ("trade_date", "DATE"),
                ("stock_code", "VARCHAR"),
                ("name", "VARCHAR"),
                ("market", "VARCHAR"),
                ("sector", "VARCHAR"),
            ),
        ),
        Table(
            "stock_shares",
            "trade_date",
            ("trade_date", "stock_code"),
            (
                ("trade_date", "DATE"),
                ("stock_code", "VARCHAR"),
                ("listed_shares", "BIGINT"),
                ("close", "DOUBLE"),
                ("market_cap_krw", "BIGINT"),
            ),
        ),
        Table(
            "etf_exposure",
            "as_of_date",
            ("as_of_date", "ticker", "dimension", "bucket"),
            (
                ("as_of_date", "DATE"),
                ("ticker", "VARCHAR"),
                ("dimension", "VARCHAR"),
                ("bucket", "VARCHAR"),
                ("weight_pct", "DOUBLE"),
                ("value_krw", "DOUBLE"),
            ),
        ),
        Table(
            "etf_overlap",
            "as_of_date",
            ("as_of_date", "ticker_a", "ticker_b"),
            (
                ("as_of_date", "DATE"),
                ("ticker_a", "VARCHAR"),
                ("ticker_b", "VARCHAR"),
                ("overlap_pct", "DOUBLE"),
                ("common_holdings", "INTEGER"),
            ),
        ),
        Table(
            "etf_stock_holders",
            "as_of_date",
            ("as_of_date", "stock_code", "etf_ticker"),
            (
                ("as_of_date", "DATE"),
                ("stock_code", "VARCHAR"),
                ("etf_ticker", "VARCHAR"),
                ("stock_name", "VARCHAR"),
                ("shares", "DOUBLE"),
                ("weight_pct", "DOUBLE"),
                ("value_krw", "DOUBLE"),
                ("etf_owned_pct", "DOUBLE"),
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
