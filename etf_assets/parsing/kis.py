"""Pure parsers of KIS Open API ETF answers (wire strings → typed values and frames).

KIS sends every value as a string, space-padded or empty when missing, with implicit units
(docs/kis.md § Envelope, § Units). This module turns them into typed values once, so the
resource and the assets never see wire strings. No HTTP and no Dagster here: the functions are
tested on the captured samples directly.

Conventions: "" / "-" / blanks → None (never 0); KRW amounts are ints; rates in percent are
floats; `etf_ntas_ttam` (억원) becomes `net_assets_krw` (× 10^8). Fields this module does not
know are kept, cleaned, under `extra` (dicts) or as extra string columns (frames), so a new KIS
field is never silently lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from etf_assets.errors import ParseError

EOK_KRW = 100_000_000  # 1 억원: the unit of etf_ntas_ttam
MANWON_KRW = 10_000  # 1 만원: the unit of component output1 etf_cnfg_issu_avls [inferred]

_MISSING = {"", "-"}


def clean(value: object) -> str | None:
    """Strip a wire value; empty, blank and "-" mean missing (KIS pads with spaces)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in _MISSING else text


def _decimal(value: object, field: str, ticker: str | None) -> Decimal | None:
    text = clean(value)
    if text is None:
        return None
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation as exc:
        raise ParseError("not a number", field=field, ticker=ticker, value=value) from exc
    if not number.is_finite():
        raise ParseError("not a finite number", field=field, ticker=ticker, value=value)
    return number


def to_int(value: object, field: str, ticker: str | None = None) -> int | None:
    """An integer wire value (KRW, shares). "12.0" is accepted; "12.5" is an error."""
    number = _decimal(value, field, ticker)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise ParseError("not an integer", field=field, ticker=ticker, value=value)
    return int(number)


def to_float(value: object, field: str, ticker: str | None = None) -> float | None:
    """A decimal wire value (NAV, percent rates)."""
    number = _decimal(value, field, ticker)
    return None if number is None else float(number)


def to_date(value: object, field: str, ticker: str | None = None) -> date | None:
    """A `YYYYMMDD` wire date; "0" and "00000000" mean none (e.g. `mtrt_date` of an ETF)."""
    text = clean(value)
    if text is None or set(text) == {"0"}:
        return None
    if len(text) != 8 or not text.isdigit():
        raise ParseError("not a YYYYMMDD date", field=field, ticker=ticker, value=value)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise ParseError("not a calendar date", field=field, ticker=ticker, value=value) from exc


def eok_to_krw(value: object, field: str, ticker: str | None = None) -> int | None:
    """억원 → KRW, exact (Decimal), so 11873 억원 is 1,187,300,000,000 KRW."""
    number = _decimal(value, field, ticker)
    return None if number is None else int(number * EOK_KRW)


def to_text(value: object, field: str, ticker: str | None = None) -> str | None:
    """A text wire value, stripped; the converter signature for `clean`."""
    return clean(value)


def to_traded_price(value: object, field: str, ticker: str | None = None) -> int | None:
    """An O/H/L price: 0 means "no trade yet" (pre-open snapshot), which is missing, not 0."""
    price = to_int(value, field, ticker)
    return None if price == 0 else price


Converter = Callable[[object, str, str | None], Any]

# (our column, wire field, converter, required). Required fields missing → ParseError.
_PRICE_FIELDS: tuple[tuple[str, str, Converter, bool], ...] = (
    ("close", "stck_prpr", to_int, True),
    ("change", "prdy_vrss", to_int, False),
    ("change_sign", "prdy_vrss_sign", to_text, False),
    ("change_pct", "prdy_ctrt", to_float, False),
    ("volume", "acml_vol", to_int, False),
    ("prev_volume", "prdy_vol", to_int, False),
    ("upper_limit", "stck_mxpr", to_int, False),
    ("lower_limit", "stck_llam", to_int, False),
    ("prev_close", "stck_prdy_clpr", to_int, False),
    ("open", "stck_oprc", to_traded_price, False),
    ("high", "stck_hgpr", to_traded_price, False),
    ("low", "stck_lwpr", to_traded_price, False),
    ("prev_nav", "prdy_last_nav", to_float, False),
    ("nav", "nav", to_float, True),
    ("nav_change", "nav_prdy_vrss", to_float, False),
    ("nav_change_sign", "nav_prdy_vrss_sign", to_text, False),
    ("nav_change_pct", "nav_prdy_ctrt", to_float, False),
    ("tracking_error_pct", "trc_errt", to_float, False),
    ("base_price", "stck_sdpr", to_int, False),
    ("collateral_price", "stck_sspr", to_int, False),
    ("circulating_shares", "etf_crcl_stcn", to_int, False),
    ("net_assets_krw", "etf_ntas_ttam", eok_to_krw, True),
    ("cu_shares", "etf_cu_unit_scrt_cnt", to_int, False),
    ("constituent_count", "etf_cnfg_issu_cnt", to_int, False),
    ("currency", "crcd", to_text, False),
    ("year_high", "stck_dryy_hgpr", to_int, False),
    ("year_high_date", "dryy_hgpr_date", to_date, False),
    ("year_low", "stck_dryy_lwpr", to_int, False),
    ("year_low_date", "dryy_lwpr_date", to_date, False),
    ("listed_shares", "lstn_stcn", to_int, True),
    ("leverage_factor", "etf_trc_ert_mltp", to_float, False),
    ("premium_discount_pct", "dprt", to_float, False),
    ("issuer", "mbcr_name", to_text, False),
    ("listing_date", "stck_lstn_date", to_date, False),
    ("index_name", "etf_rprs_bstp_kor_isnm", to_text, False),
    ("etf_kind", "etf_div_name", to_text, False),
)


def _convert(
    row: Mapping[str, Any],
    fields: Iterable[tuple[str, str, Converter, bool]],
    ticker: str | None,
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Typed known fields plus the cleaned unknown ones (the `extra` part)."""
    out: dict[str, Any] = {}
    known: set[str] = set()
    for column, wire, convert, required in fields:
        known.add(wire)
        if wire not in row:
            if required:
                raise ParseError("required field missing", field=wire, ticker=ticker)
            out[column] = None
            continue
        value = convert(row[wire], wire, ticker)
        if value is None and required:
            raise ParseError("required field empty", field=wire, ticker=ticker, value=row[wire])
        out[column] = value
    extra = {str(k).strip(): clean(v) for k, v in row.items() if k not in known}
    return out, extra


def is_zeroed_quote(output: Mapping[str, Any]) -> bool:
    """KIS answers an unknown or delisted code with rt_cd 0 and a zeroed quote.

    See docs/kis.md § Quirks.
    """
    return clean(output.get("stck_prpr")) in (None, "0") and clean(output.get("nav")) in (
        None,
        "0",
        "0.00",
    )


def parse_inquire_price(output: Mapping[str, Any], ticker: str) -> dict[str, Any]:
    """ETF/ETN 현재가 (FHPST02400000) `output` → one typed record with `ticker` and `extra`."""
    if not isinstance(output, Mapping):
        raise ParseError("output is not an object", field="output", ticker=ticker, value=output)
    record, extra = _convert(output, _PRICE_FIELDS, ticker)
    return {"ticker": ticker, **record, "extra": extra}


def inquire_price_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records of `parse_inquire_price` → one row each; `extra` fields become string columns."""
    rows = [{**{k: v for k, v in r.items() if k != "extra"}, **r.get("extra", {})} for r in records]
    columns = ["ticker", *(c for c, _, _, _ in _PRICE_FIELDS)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    extras = [c for c in frame.columns if c not in columns]
    return frame[columns + extras]


_NAV_DAILY_FIELDS: tuple[tuple[str, str, Converter, bool], ...] = (
    ("trade_date", "stck_bsop_date", to_date, True),
    ("close", "stck_clpr", to_int, True),
    ("change", "prdy_vrss", to_int, False),
    ("change_sign", "prdy_vrss_sign", to_text, False),
    ("change_pct", "prdy_ctrt", to_float, False),
    ("volume", "acml_vol", to_int, False),
    ("contract_volume", "cntg_vol", to_int, False),
    ("premium_discount_pct", "dprt", to_float, False),
    ("close_minus_nav", "nav_vrss_prpr", to_float, False),
    ("nav", "nav", to_float, True),
    ("nav_change_sign", "nav_prdy_vrss_sign", to_text, False),
    ("nav_change", "nav_prdy_vrss", to_float, False),
    ("nav_change_pct", "nav_prdy_ctrt", to_float, False),
)
NAV_DAILY_COLUMNS = ["ticker", *(c for c, _, _, _ in _NAV_DAILY_FIELDS)]


def parse_nav_daily_trend(output: Iterable[Mapping[str, Any]], ticker: str) -> pd.DataFrame:
    """NAV 비교추이(일) (FHPST02440200) rows → one row per date, oldest first, no duplicates.

    The wire is newest-first and callers page by moving the end date back, so pages may
    overlap: de-duplicate on trade_date. `dprt` is kept as KIS reports it
    (docs/kis.md § NAV daily trend). Empty dicts (placeholder rows) are dropped.
    """
    rows = []
    for raw in output:
        if not raw:
            continue
        record, extra = _convert(raw, _NAV_DAILY_FIELDS, ticker)
        rows.append({"ticker": ticker, **record, **extra})
    if not rows:
        return pd.DataFrame(columns=NAV_DAILY_COLUMNS)
    frame = pd.DataFrame(rows)
    extras = [c for c in frame.columns if c not in NAV_DAILY_COLUMNS]
    frame = frame[NAV_DAILY_COLUMNS + extras]
    frame = frame.drop_duplicates(subset=["trade_date"], keep="first")
    return frame.sort_values("trade_date", kind="stable").reset_index(drop=True)


_COMPONENT_ETF_FIELDS: tuple[tuple[str, str, Converter, bool], ...] = (
    ("close", "stck_prpr", to_int, True),
    ("nav", "nav", to_float, False),
    ("net_assets_krw", "etf_ntas_ttam", eok_to_krw, False),
    ("cu_shares", "etf_cu_unit_scrt_cnt", to_int, False),
    ("constituent_count", "etf_cnfg_issu_cnt", to_int, False),
    ("cu_value_manwon", "etf_cnfg_issu_avls", to_int, False),
)

_COMPONENT_ROW_FIELDS: tuple[tuple[str, str, Converter, bool], ...] = (
    ("constituent_code", "stck_shrn_iscd", to_text, False),
    ("constituent_name", "hts_kor_isnm", to_text, False),
    ("price", "stck_prpr", to_int, False),
    ("price_change", "prdy_vrss", to_int, False),
    ("value_krw", "etf_cnfg_issu_avls", to_int, False),
    ("weight_pct", "etf_cnfg_issu_rlim", to_float, False),
    ("prev_value_krw", "etf_vltn_amt", to_int, False),
    ("market_cap_krw", "hts_avls", eok_to_krw, False),
)
HOLDINGS_COLUMNS = [
    "etf_ticker",
    "constituent_code",
    "constituent_name",
    "kind",
    "shares_per_cu",
    "value_krw",
    "weight_pct",
    "price",
    "price_change",
    "prev_value_krw",
    "market_cap_krw",
]

_CASH_NAMES = ("원화예금", "원화현금", "현금", "설정현금액", "예금", "CASH")
_ETF_BRANDS = (
    "KODEX", "TIGER", "ACE", "RISE", "KBSTAR", "SOL", "HANARO", "PLUS", "KOSEF", "ARIRANG",
    "TIMEFOLIO", "KIWOOM", "1Q", "WON", "BNK", "HK", "ITF", "FOCUS", "TRUSTON", "UNICORN",
    "VITA", "KCGI", "TREX", "SMART", "MASTER", "KOACT", "WOORI", "마이다스", "에셋플러스",
    "마이티", "파워", "히어로즈", "DAISHIN343",
)  # fmt: skip


def classify_kind(code: str | None, name: str | None) -> str:
    """stock / etf / future / cash / other from code and name (KIS sends no type field).

    A heuristic: KRX's PDF screen carries the security group, KIS does not. 12-character codes
    of cash (KRD…) and futures (KR4…) and the usual cash labels are recognised; a 6-character
    code whose name starts with an ETF brand is an ETF; any other 6-character code a stock.
    """
    code = code or ""
    label = (name or "").upper()
    if code.startswith("KRD") or any(label.startswith(c.upper()) for c in _CASH_NAMES):
        return "cash"
    if code.startswith(("KR4", "KRA")) or "선물" in label or " F " in f" {label} ":
        return "future"
    if len(code) == 6:
        return "etf" if label.startswith(tuple(b.upper() for b in _ETF_BRANDS)) else "stock"
    return "other"


def parse_components(
    output1: Mapping[str, Any], output2: Iterable[Mapping[str, Any]], ticker: str
) -> tuple[dict[str, Any], pd.DataFrame]:
    """ETF 구성종목시세 (FHKST121600C0) → (ETF-level record, holdings per 1 CU).

    KIS has no quantity field, so shares per CU are derived as etf_cnfg_issu_avls / stck_prpr
    (docs/kis.md § Components; exact in the sample: 570,011,400 / 79,800 = 7,143); None
    without a price. Rows with a blank code are dropped. output1 etf_cnfg_issu_avls is in
    만원 [inferred]; it is returned as `cu_value_krw` too.
    """
    if not isinstance(output1, Mapping):
        raise ParseError("output1 is not an object", field="output1", ticker=ticker, value=output1)
    etf, etf_extra = _convert(output1, _COMPONENT_ETF_FIELDS, ticker)
    manwon = etf["cu_value_manwon"]
    etf_record = {
        "ticker": ticker,
        **etf,
        "cu_value_krw": None if manwon is None else manwon * MANWON_KRW,
        "extra": etf_extra,
    }
    rows = []
    for raw in output2:
        if not raw or clean(raw.get("stck_shrn_iscd")) is None:
            continue
        record, extra = _convert(raw, _COMPONENT_ROW_FIELDS, ticker)
        price, value = record["price"], record["value_krw"]
        shares = value / price if price and value is not None else None
        kind = classify_kind(record["constituent_code"], record["constituent_name"])
        rows.append(
            {"etf_ticker": ticker, **record, "kind": kind, "shares_per_cu": shares, **extra}
        )
    if not rows:
        return etf_record, pd.DataFrame(columns=HOLDINGS_COLUMNS)
    frame = pd.DataFrame(rows)
    extras = [c for c in frame.columns if c not in HOLDINGS_COLUMNS]
    return etf_record, frame[HOLDINGS_COLUMNS + extras].reset_index(drop=True)
