"""What an investor asks of a fund before buying it: its kind, how its gain is taxed, and
whether a 연금저축 or a 퇴직연금 (DC/IRP) account may hold it. Pure: pandas and SQL text only.

Everything is read from the KRX master as etf_details stores it (the fund-type label KRX prints
at the end of the full name, 합성/액티브 in the replication method, the leverage multiple, the
tax label) and, where a rule needs a fact the master does not carry (a bond-mixed fund's stock
limit is in its prospectus, which we do not hold), from the newest basket at or before the
session (etf_holdings). Every verdict carries a `*_rule` text naming the rule that decided it
and, where the basket stood in for the prospectus, the measured figure. The rules and their
legal sources are in docs/assets.md § Pension eligibility and tax class.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from etf_assets.metrics.sql import usable

# KRX's IDX_ASST_CLSS_NM → our asset class. 기타 holds the money-market funds (CD금리, KOFR),
# told apart by their names (MONEY_MARKET_WORDS); any label KRX adds later is `other`.
ASSET_CLASSES = {
    "주식": "equity", "채권": "bond", "혼합자산": "mixed", "원자재": "commodity",
    "통화": "currency", "부동산": "real_estate", "기타": "other",
}  # fmt: skip
ASSET_CLASS_VALUES = (
    "equity", "bond", "mixed", "commodity", "currency", "real_estate", "money_market", "other",
)  # fmt: skip
MONEY_MARKET_WORDS = ("CD금리", "KOFR", "SOFR", "머니마켓", "단기자금", "MMF", "콜금리")
# KRX's IDX_MKT_CLSS_NM → our region.
REGIONS = {"국내": "domestic", "해외": "foreign", "국내&해외": "domestic_and_foreign"}

# KRX's TAX_TP_CD (its five values in 2026) → what it means for a holder, and why.
_DIVIDEND_ON_GAINS = (
    "gains taxed as dividends (배당소득세 15.4 %) on the smaller of the trading gain and the "
    "rise of the tax-base price over the holding period (보유기간과세; 소득세법 시행령 §26조의2)"
)
TAX_CLASSES: dict[str, tuple[str, str]] = {
    "비과세": (
        "gains_tax_free",
        "비과세: trading gains tax-free, as for the domestic listed stocks the fund holds "
        "(소득세법 시행령 §26조의2 leaves them out of fund income); distributions "
        "배당소득세 15.4 %",
    ),
    "배당소득세(보유기간과세)": (
        "holding_period",
        f"배당소득세(보유기간과세): {_DIVIDEND_ON_GAINS}; distributions 15.4 %",
    ),
    "배당소득세(해외주식투자전용ETF)": (
        "foreign_equity_dedicated",
        f"해외주식투자전용ETF: in an ordinary account {_DIVIDEND_ON_GAINS}; held in a "
        "해외주식투자전용 저축 (opened 2016-02-29…2017-12-31, 조세특례제한법 §91조의17) its "
        "foreign-stock and currency gains are tax-free",
    ),
    "배당소득세(분리과세부동산ETF)": (
        "real_estate_separate",
        f"분리과세부동산ETF: {_DIVIDEND_ON_GAINS}; distributions may be taxed apart at 9 % "
        "(up to 5천만원 invested, 조세특례제한법 §87조의7)",
    ),
    "비과세(분리과세부동산ETF)": (
        "real_estate_separate_gains_tax_free",
        "비과세(분리과세부동산ETF): trading gains tax-free (domestic listed holdings); "
        "distributions may be taxed apart at 9 % (up to 5천만원 invested, 조세특례제한법 §87조의7)",
    ),
}
TAX_CLASS_VALUES = tuple(code for code, _ in TAX_CLASSES.values())

# 퇴직연금감독규정 as amended by the FSC on 2023-11-15: a bond-mixed fund is a safe asset
# when its stock limit is under 50 % (before: at most 40 %).
BOND_MIXED_AMENDMENT = date(2023, 11, 15)
BOND_MIXED_STOCK_LIMIT_PCT = 50.0
BOND_MIXED_STOCK_LIMIT_BEFORE_PCT = 40.0
# 파생형: derivatives risk exposure above 40 % of net assets.
DERIVATIVES_TYPE_PCT = 40.0

_SWAP_WORD = "합성"
_ACTIVE_WORD = "액티브"
_DERIVATIVES_WORD = "파생"
_TRUST_WORDS = re.compile(r"투자신탁|투자회사")
_LABEL = re.compile(r"[(\[]([^()\[\]]+)[)\]]")
# Labels after the fund type that are not a type: currency hedge and swap marks.
_NOT_A_TYPE = frozenset({"H", "UH", "합성", "합성 H", "합성H"})
_HEDGED = re.compile(r"\(H\)")
_COVERED_CALL = re.compile(r"커버드콜|covered\s*call|cvd\s*call", re.IGNORECASE)
# A target-maturity fund names its maturity as YY-MM (KODEX 25-12 …) or says 만기.
_TARGET_MATURITY = re.compile(r"(?<!\d)\d{2}-(0[1-9]|1[0-2])(?!\d)|만기")

COLUMNS: tuple[str, ...] = (
    "trade_date", "ticker", "asset_class", "region", "leverage_factor", "is_inverse",
    "is_leveraged", "is_synthetic", "is_active", "is_covered_call", "is_target_maturity",
    "is_currency_hedged", "fund_type", "tax_class", "tax_class_rule", "basket_as_of",
    "stock_weight_pct", "derivatives_weight_pct", "pension_savings_eligible",
    "pension_savings_rule", "retirement_eligible", "retirement_rule", "retirement_risk_asset",
    "retirement_risk_rule",
)  # fmt: skip


def fund_type(name_full: str | None) -> str | None:
    """The fund type KRX prints at the end of the full name: `…투자신탁[주식]` → 주식,
    `…투자신탁(채권혼합-파생재간접형)(합성)` → 채권혼합-파생재간접형; None when the name carries
    none. Labels before the legal form (`특수채(AAA이상)`) and the hedge and swap marks after
    it are not the type."""
    if not isinstance(name_full, str):
        return None
    trusts = list(_TRUST_WORDS.finditer(name_full))
    tail = name_full[trusts[-1].end() :] if trusts else ""
    labels = [m.group(1).strip() for m in _LABEL.finditer(tail)]
    types = [label for label in labels if label not in _NOT_A_TYPE]
    return types[0] if types else None


def _texts(frame: pd.DataFrame, *columns: str) -> pd.Series:
    """The columns' text joined, one string per row (missing → empty), to search names in."""
    joined = pd.Series("", index=frame.index)
    for column in columns:
        joined = joined + " " + frame[column].fillna("").astype(str)
    return joined


def _asset_class(frame: pd.DataFrame) -> pd.Series:
    label = frame["asset_class"].fillna("").str.strip()
    mapped = label.map(ASSET_CLASSES).fillna("other")
    names = _texts(frame, "name", "name_full", "tracking_index")
    money = names.str.contains("|".join(MONEY_MARKET_WORDS), regex=True)
    return mapped.mask((label == "기타") & money, "money_market")


def _tax(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    label = frame["tax_type"].fillna("").str.replace(" ", "", regex=False)
    known = label.map(lambda text: TAX_CLASSES.get(text, (None, None)))
    codes = known.map(lambda pair: pair[0])
    rules = known.map(lambda pair: pair[1])
    unknown = (
        "TAX_TP_CD "
        + frame["tax_type"].fillna("(none)").astype(str).map(repr)
        + " is none of the five labels KRX used in 2026: not classified (add it to "
        "metrics/classification.TAX_CLASSES)"
    )
    return codes.astype(object), rules.fillna(unknown)


def _stock_limit(trade_dates: pd.Series) -> tuple[pd.Series, str]:
    """Per row, the bond-mixed stock limit in force on its session, and its wording."""
    after = pd.to_datetime(trade_dates).dt.date >= BOND_MIXED_AMENDMENT
    return after, (
        f"under {BOND_MIXED_STOCK_LIMIT_PCT:g} % since the {BOND_MIXED_AMENDMENT} amendment, "
        f"at most {BOND_MIXED_STOCK_LIMIT_BEFORE_PCT:g} % before"
    )


def classify(details: pd.DataFrame) -> pd.DataFrame:
    """etf_classification rows from etf_details rows joined with their basket's measured
    weights (basket_as_of, stock_weight_pct, derivatives_weight_pct; NULL without a basket).

    Vectorised over the whole frame (any number of sessions): no loop over funds.
    """
    frame = details.reset_index(drop=True)
    out = pd.DataFrame({"trade_date": frame["trade_date"], "ticker": frame["ticker"]})
    names = _texts(frame, "name", "name_full")
    out["asset_class"] = _asset_class(frame)
    out["region"] = frame["market_region"].fillna("").str.strip().map(REGIONS).astype(object)
    factor = frame["leverage_factor"].astype("float64")
    out["leverage_factor"] = factor
    # A factor KRX left blank: the name says 레버리지 or 인버스 (never blank in the 2026 master).
    inverse = factor.lt(0).where(factor.notna(), names.str.contains("인버스"))
    leveraged = factor.abs().gt(1).where(factor.notna(), names.str.contains("레버리지"))
    out["is_inverse"] = inverse.astype(bool)
    out["is_leveraged"] = leveraged.astype(bool)
    replication = frame["replication_method"].fillna("")
    out["is_synthetic"] = replication.str.startswith(_SWAP_WORD) | names.str.contains(_SWAP_WORD)
    out["is_active"] = replication.str.contains(_ACTIVE_WORD)
    out["is_covered_call"] = _texts(frame, "name", "name_full", "name_eng", "tracking_index").map(
        lambda text: bool(_COVERED_CALL.search(text))
    )
    out["is_target_maturity"] = _texts(frame, "name").map(
        lambda text: bool(_TARGET_MATURITY.search(text))
    )
    out["is_currency_hedged"] = names.map(lambda text: bool(_HEDGED.search(text)))
    out["fund_type"] = frame["name_full"].map(fund_type).astype(object)
    out["tax_class"], out["tax_class_rule"] = _tax(frame)
    out["basket_as_of"] = frame["basket_as_of"]
    out["stock_weight_pct"] = frame["stock_weight_pct"].astype("float64")
    out["derivatives_weight_pct"] = frame["derivatives_weight_pct"].astype("float64")
    _pension_savings(out)
    _retirement(out)
    _risk_asset(out)
    return out[list(COLUMNS)]


def _decide(
    out: pd.DataFrame, rules: list[tuple[pd.Series, object, pd.Series]]
) -> tuple[np.ndarray, np.ndarray]:
    """A verdict and its rule text per row, from the first rule whose condition holds."""
    conditions = [condition.fillna(False).to_numpy(dtype=bool) for condition, _, _ in rules]
    verdicts = [np.full(len(out), verdict, dtype=object) for _, verdict, _ in rules]
    texts = [text.to_numpy(dtype=object) for _, _, text in rules]
    return np.select(conditions, verdicts, None), np.select(conditions, texts, None)


def _text(out: pd.DataFrame, text: str) -> pd.Series:
    return pd.Series(text, index=out.index, dtype=object)


def _pct(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "?" if pd.isna(v) else f"{v:.1f}")


def _pension_savings(out: pd.DataFrame) -> None:
    verdict, rule = _decide(out, [
        (out["is_leveraged"], False, _text(out, "leveraged ETF: 연금저축 may not hold "
                                                "leveraged or inverse ETFs")),
        (out["is_inverse"], False, _text(out, "inverse ETF: 연금저축 may not hold leveraged "
                                              "or inverse ETFs")),
        (pd.Series(True, index=out.index), True, _text(
            out, "neither leveraged nor inverse: a 연금저축 account may hold a listed ETF")),
    ])  # fmt: skip
    out["pension_savings_eligible"], out["pension_savings_rule"] = verdict, rule


def _retirement(out: pd.DataFrame) -> None:
    typed = out["fund_type"].notna()
    derivatives_type = out["fund_type"].fillna("").str.contains(_DERIVATIVES_WORD)
    measured = out["derivatives_weight_pct"]
    swap = out["is_synthetic"]
    over = measured > DERIVATIVES_TYPE_PCT
    verdict, rule = _decide(out, [
        (out["is_leveraged"], False, _text(out, "leveraged ETF: 퇴직연금 may not hold "
                                                "leveraged or inverse ETFs")),
        (out["is_inverse"], False, _text(out, "inverse ETF: 퇴직연금 may not hold leveraged "
                                              "or inverse ETFs")),
        (typed & derivatives_type & ~swap, False,
         "파생형 (" + out["fund_type"].fillna("") + ") and not 합성: 퇴직연금 may not hold a "
         "fund whose derivatives risk exposure exceeds 40 % of net assets"),
        (typed & derivatives_type & swap, True,
         "파생형 (" + out["fund_type"].fillna("") + ") but 합성 (swap-based): the exception "
         "퇴직연금 allows"),
        (~typed & over & ~swap, False,
         "the name carries no fund type; measured basket of " + out["basket_as_of"].astype(str)
         + ": derivatives exposure " + _pct(measured) + " % of net assets > 40 % and not 합성"),
        (~typed & measured.isna(), True, _text(
            out, "the name carries no fund type and no basket is held to measure derivatives "
                 "exposure: nothing we hold makes it 파생형 (unverified)")),
        (typed, True, "not 파생형 (" + out["fund_type"].fillna("") + "), neither leveraged nor "
                      "inverse: 퇴직연금 may hold it"),
        (pd.Series(True, index=out.index), True,
         "the name carries no fund type; measured basket of " + out["basket_as_of"].astype(str)
         + ": derivatives exposure " + _pct(measured) + " % of net assets, within 40 % or 합성"),
    ])  # fmt: skip
    out["retirement_eligible"], out["retirement_rule"] = verdict, rule


def _risk_asset(out: pd.DataFrame) -> None:
    """Only for funds 퇴직연금 may hold; NULL (with its rule) for the others."""
    kind = out["fund_type"].fillna("")
    eligible = out["retirement_eligible"].fillna(False).astype(bool)
    bond_mixed = kind.str.startswith("채권혼합") | ((kind == "") & (out["asset_class"] == "mixed"))
    stock = out["stock_weight_pct"]
    after, limit_text = _stock_limit(out["trade_date"])
    within = (
        (stock < BOND_MIXED_STOCK_LIMIT_PCT)
        .where(after, stock <= BOND_MIXED_STOCK_LIMIT_BEFORE_PCT)
        .where(stock.notna())
    )
    measured = (
        "measured basket of "
        + out["basket_as_of"].astype(str)
        + ": stocks "
        + _pct(stock)
        + " % of net assets (the prospectus's stock limit is not held; the bond-mixed limit is "
        + limit_text
        + ")"
    )
    verdict, rule = _decide(out, [
        (~eligible, None, _text(out, "not applicable: 퇴직연금 may not hold this fund")),
        (kind.str.startswith("주식"), True, "주식형 (" + kind + "): may invest 50 % or more in "
                                             "stocks, a risk asset (70 % limit)"),
        (out["asset_class"] == "money_market", False, _text(
            out, "money-market fund (CD금리/KOFR): no stocks, a safe asset")),
        (bond_mixed & within.eq(True), False, "bond-mixed, " + measured + ": a safe asset"),
        (bond_mixed & within.eq(False), True, "bond-mixed, " + measured + ": a risk asset "
                                              "(70 % limit)"),
        (bond_mixed, True, _text(out, "bond-mixed without a basket to measure its stocks: "
                                      "counted as a risk asset (70 % limit) until one is held")),
        (kind.str.startswith("채권") | ((kind == "") & (out["asset_class"] == "bond")), False,
         "채권형 (" + kind.mask(kind == "", "asset class bond") + "): no stocks, a safe asset"),
        (pd.Series(True, index=out.index), True,
         "neither a bond nor a bond-mixed fund (" + out["asset_class"] + "): a risk asset "
         "(70 % limit)"),
    ])  # fmt: skip
    out["retirement_risk_asset"], out["retirement_risk_rule"] = verdict, rule


# Per (session, fund): the newest basket at or before the session and what it holds in stocks
# and in derivatives, as % of net assets per creation unit (NAV × CU shares of the basket's
# session). Stock lines count at KRX's amount (COMPST_AMT; its valuation where it sends no
# amount), with the `other` lines: foreign stocks under KRX's internal codes (0724F1), so a
# bond-mixed fund's stocks are never undercounted; futures and options at the absolute value
# of their exposure (VALU_AMT). NULL where the basket's session has no usable NAV or CU.
BASKET_WEIGHTS_SQL = f"""
WITH wanted AS (
    SELECT trade_date, ticker FROM etf_details WHERE trade_date IN (SELECT unnest($dates::DATE[]))
),
baskets AS (
    SELECT as_of_date, etf_ticker AS ticker,
        sum(coalesce(amount_krw, value_krw)) FILTER (WHERE kind IN ('stock', 'other'))
            AS stock_krw,
        coalesce(sum(abs(coalesce(value_krw, amount_krw)))
            FILTER (WHERE kind IN ('future', 'option')), 0) AS derivatives_krw
    FROM etf_holdings
    WHERE as_of_date <= (SELECT max(trade_date) FROM wanted)
    GROUP BY ALL
),
per_cu AS (
    SELECT b.*, p.nav * d.cu_shares AS net_assets_per_cu_krw
    FROM baskets AS b
    LEFT JOIN etf_daily_prices AS p ON p.trade_date = b.as_of_date AND p.ticker = b.ticker
        AND {usable("p.nav")}
    ASOF LEFT JOIN etf_details AS d ON d.ticker = b.ticker AND b.as_of_date >= d.trade_date
)
SELECT w.trade_date, w.ticker, c.as_of_date AS basket_as_of,
    CASE WHEN c.net_assets_per_cu_krw > 0
        THEN coalesce(c.stock_krw, 0) / c.net_assets_per_cu_krw * 100 END AS stock_weight_pct,
    CASE WHEN c.net_assets_per_cu_krw > 0
        THEN c.derivatives_krw / c.net_assets_per_cu_krw * 100 END AS derivatives_weight_pct
FROM wanted AS w
ASOF LEFT JOIN per_cu AS c ON c.ticker = w.ticker AND w.trade_date >= c.as_of_date
"""


def classification_input_sql() -> str:
    """SQL (parameter $dates): etf_details rows of the dates with their basket's weights."""
    return f"""
SELECT d.*, b.basket_as_of, b.stock_weight_pct, b.derivatives_weight_pct
FROM etf_details AS d
JOIN ({BASKET_WEIGHTS_SQL}) AS b USING (trade_date, ticker)
WHERE d.trade_date IN (SELECT unnest($dates::DATE[]))
ORDER BY d.trade_date, d.ticker"""


def aum_by_class_and_pension(overview: pd.DataFrame) -> pd.DataFrame:
    """AUM per asset class × pension verdict (연금저축, 퇴직연금 risk or safe, neither), for the
    picture of where pension money may go: asset_class, pension, etfs, aum_krw."""

    def true(column: str) -> np.ndarray:  # nullable booleans: a missing verdict is not a yes
        return overview[column].eq(True).fillna(False).to_numpy(dtype=bool)

    retirement = np.select(
        [
            overview["pension_savings_eligible"].isna().to_numpy(dtype=bool),
            true("retirement_eligible")
            & overview["retirement_risk_asset"].eq(False).fillna(False).to_numpy(dtype=bool),
            true("retirement_eligible"),
            true("pension_savings_eligible"),
        ],
        ["(미분류)", "퇴직연금 안전자산", "퇴직연금 위험자산", "연금저축만"],
        "연금 불가",
    )
    keyed = overview.assign(
        asset_class=overview["asset_class"].fillna("(unknown)"), pension=retirement
    )
    return (
        keyed.groupby(["asset_class", "pension"], as_index=False)
        .agg(etfs=("ticker", "count"), aum_krw=("aum_krw", "sum"))
        .sort_values(["aum_krw", "asset_class", "pension"], ascending=[False, True, True])
        .reset_index(drop=True)
    )
