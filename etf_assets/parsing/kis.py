"""Pure parsers of KIS Open API ETF answers (wire strings → typed values and frames).

KIS sends every value as a string, space-padded or empty when missing, with implicit units
(docs/kis.md § Envelope, § Units). This module turns them into typed values once, so the
resource and the assets never see wire strings. No HTTP and no Dagster here: the functions are
tested on the captured samples directly.

Conventions: every field read is declared in a field table (`KISField`: our column, wire
field, converter, absence rule, whether the answer must carry it, one-line why). "" / "-" /
blanks → None for every field, and 0 too where 0 cannot be the field's value (a price, a NAV,
net assets, a date); never a 0 for "not published". KRW amounts are ints; rates in percent are
floats; `etf_ntas_ttam` (억원) becomes `net_assets_krw` (× 10^8). Fields this module does not
know are kept, cleaned, under `extra` (dicts) or as extra string columns (frames), so a new KIS
field is never silently lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

import pandas as pd

from etf_assets.errors import ParseError
from etf_assets.parsing.rules import NULL_TOKENS, Absence, kind_from_code

EOK_KRW = 100_000_000  # 1 억원: the unit of etf_ntas_ttam
MANWON_KRW = 10_000  # 1 만원: the unit of component output1 etf_cnfg_issu_avls [inferred]


def clean(value: object) -> str | None:
    """Strip a wire value; empty, blank and "-" mean missing (KIS pads with spaces)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in NULL_TOKENS else text


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
    """A `YYYYMMDD` wire date. KIS's "0"/"00000000" for none is the fields' absence rule."""
    text = clean(value)
    if text is None:
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


Converter = Callable[[object, str, str | None], Any]


class Need(Enum):
    """What an answer must carry of a field."""

    OPTIONAL = "may be left out"
    PRESENT = "must be in the answer; its value may be absent"  # a missing key = broken answer
    VALUE = "must be in the answer with a value"  # the record is unusable without it


@dataclass(frozen=True)
class KISField:
    """One typed field: our column, the wire field, its converter and its one absence rule."""

    column: str
    wire: str
    convert: Converter
    absent: Absence
    why: str
    need: Need = Need.OPTIONAL


def _is_zero(text: str) -> bool:
    try:
        return Decimal(text.replace(",", "")) == 0
    except InvalidOperation:
        return False


def _value(raw: object, spec: KISField, ticker: str | None) -> Any:
    """The typed value of one wire value, None where the field's absence rule says so."""
    text = clean(raw)
    if text is None or (spec.absent is Absence.MARKED_OR_ZERO and _is_zero(text)):
        return None
    return spec.convert(text, spec.wire, ticker)


_FACT = "0 is a fact (nothing traded, unchanged, at NAV)"
_PRICE = "a price is never 0: 0 = none (a zeroed or pre-open quote)"
_NAV = "a NAV is never 0"
_DATE = "KIS sends 0 or 00000000 for none"
_TEXT = "text as sent"
_COUNT = "a listed fund always has units: 0 = none"
_NET_ASSETS = "a listed fund's net assets are never 0: 0 = not published"
_CU = "a creation unit is never 0 units"
_BASKET = "a basket is never empty"
_MARKED, _ZERO_TOO = Absence.MARKED, Absence.MARKED_OR_ZERO

PRICE_FIELDS: tuple[KISField, ...] = (
    KISField("close", "stck_prpr", to_int, _ZERO_TOO, _PRICE, Need.VALUE),
    KISField("change", "prdy_vrss", to_int, _MARKED, _FACT),
    KISField("change_sign", "prdy_vrss_sign", to_text, _MARKED, _TEXT),
    KISField("change_pct", "prdy_ctrt", to_float, _MARKED, _FACT),
    KISField("volume", "acml_vol", to_int, _MARKED, _FACT),
    KISField("prev_volume", "prdy_vol", to_int, _MARKED, _FACT),
    KISField("upper_limit", "stck_mxpr", to_int, _ZERO_TOO, _PRICE),
    KISField("lower_limit", "stck_llam", to_int, _ZERO_TOO, _PRICE),
    KISField("prev_close", "stck_prdy_clpr", to_int, _ZERO_TOO, _PRICE),
    KISField("open", "stck_oprc", to_int, _ZERO_TOO, "0 = no trade yet (pre-open snapshot)"),
    KISField("high", "stck_hgpr", to_int, _ZERO_TOO, "0 = no trade yet (pre-open snapshot)"),
    KISField("low", "stck_lwpr", to_int, _ZERO_TOO, "0 = no trade yet (pre-open snapshot)"),
    KISField("prev_nav", "prdy_last_nav", to_float, _ZERO_TOO, _NAV),
    KISField("nav", "nav", to_float, _ZERO_TOO, _NAV, Need.PRESENT),
    KISField("nav_change", "nav_prdy_vrss", to_float, _MARKED, _FACT),
    KISField("nav_change_sign", "nav_prdy_vrss_sign", to_text, _MARKED, _TEXT),
    KISField("nav_change_pct", "nav_prdy_ctrt", to_float, _MARKED, _FACT),
    KISField("tracking_error_pct", "trc_errt", to_float, _MARKED, "a statistic; 0 is a value"),
    KISField("base_price", "stck_sdpr", to_int, _ZERO_TOO, _PRICE),
    KISField("collateral_price", "stck_sspr", to_int, _MARKED, "0 = worth nothing as collateral"),
    KISField("circulating_shares", "etf_crcl_stcn", to_int, _ZERO_TOO, _COUNT),
    KISField("net_assets_krw", "etf_ntas_ttam", eok_to_krw, _ZERO_TOO, _NET_ASSETS, Need.PRESENT),
    KISField("cu_shares", "etf_cu_unit_scrt_cnt", to_int, _ZERO_TOO, _CU),
    KISField("constituent_count", "etf_cnfg_issu_cnt", to_int, _ZERO_TOO, _BASKET),
    KISField("currency", "crcd", to_text, _MARKED, _TEXT),
    KISField("year_high", "stck_dryy_hgpr", to_int, _ZERO_TOO, _PRICE),
    KISField("year_high_date", "dryy_hgpr_date", to_date, _ZERO_TOO, _DATE),
    KISField("year_low", "stck_dryy_lwpr", to_int, _ZERO_TOO, _PRICE),
    KISField("year_low_date", "dryy_lwpr_date", to_date, _ZERO_TOO, _DATE),
    KISField("listed_shares", "lstn_stcn", to_int, _ZERO_TOO, _COUNT, Need.VALUE),
    KISField("leverage_factor", "etf_trc_ert_mltp", to_float, _ZERO_TOO, "a multiple is never 0"),
    KISField("premium_discount_pct", "dprt", to_float, _MARKED, _FACT),
    KISField("issuer", "mbcr_name", to_text, _MARKED, _TEXT),
    KISField("listing_date", "stck_lstn_date", to_date, _ZERO_TOO, _DATE),
    KISField("index_name", "etf_rprs_bstp_kor_isnm", to_text, _MARKED, _TEXT),
    KISField("etf_kind", "etf_div_name", to_text, _MARKED, _TEXT),
)


def _convert(
    row: Mapping[str, Any], fields: Iterable[KISField], ticker: str | None
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Typed known fields plus the cleaned unknown ones (the `extra` part)."""
    out: dict[str, Any] = {}
    known: set[str] = set()
    for spec in fields:
        known.add(spec.wire)
        if spec.wire not in row:
            if spec.need is not Need.OPTIONAL:
                raise ParseError("required field missing", field=spec.wire, ticker=ticker)
            out[spec.column] = None
            continue
        value = _value(row[spec.wire], spec, ticker)
        if value is None and spec.need is Need.VALUE:
            raise ParseError(
                "required field empty", field=spec.wire, ticker=ticker, value=row[spec.wire]
            )
        out[spec.column] = value
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
    record, extra = _convert(output, PRICE_FIELDS, ticker)
    return {"ticker": ticker, **record, "extra": extra}


def inquire_price_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records of `parse_inquire_price` → one row each; `extra` fields become string columns."""
    rows = [{**{k: v for k, v in r.items() if k != "extra"}, **r.get("extra", {})} for r in records]
    columns = ["ticker", *(spec.column for spec in PRICE_FIELDS)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    extras = [c for c in frame.columns if c not in columns]
    return frame[columns + extras]


NAV_DAILY_FIELDS: tuple[KISField, ...] = (
    KISField("trade_date", "stck_bsop_date", to_date, _ZERO_TOO, "the row's key", Need.VALUE),
    KISField("close", "stck_clpr", to_int, _ZERO_TOO, _PRICE, Need.VALUE),
    KISField("change", "prdy_vrss", to_int, _MARKED, _FACT),
    KISField("change_sign", "prdy_vrss_sign", to_text, _MARKED, _TEXT),
    KISField("change_pct", "prdy_ctrt", to_float, _MARKED, _FACT),
    KISField("volume", "acml_vol", to_int, _MARKED, _FACT),
    KISField("contract_volume", "cntg_vol", to_int, _MARKED, _FACT),
    KISField("premium_discount_pct", "dprt", to_float, _MARKED, _FACT),
    KISField("close_minus_nav", "nav_vrss_prpr", to_float, _MARKED, _FACT),
    KISField("nav", "nav", to_float, _ZERO_TOO, _NAV, Need.PRESENT),
    KISField("nav_change_sign", "nav_prdy_vrss_sign", to_text, _MARKED, _TEXT),
    KISField("nav_change", "nav_prdy_vrss", to_float, _MARKED, _FACT),
    KISField("nav_change_pct", "nav_prdy_ctrt", to_float, _MARKED, _FACT),
)
NAV_DAILY_COLUMNS = ["ticker", *(spec.column for spec in NAV_DAILY_FIELDS)]


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
        record, extra = _convert(raw, NAV_DAILY_FIELDS, ticker)
        rows.append({"ticker": ticker, **record, **extra})
    if not rows:
        return pd.DataFrame(columns=NAV_DAILY_COLUMNS)
    frame = pd.DataFrame(rows)
    extras = [c for c in frame.columns if c not in NAV_DAILY_COLUMNS]
    frame = frame[NAV_DAILY_COLUMNS + extras]
    frame = frame.drop_duplicates(subset=["trade_date"], keep="first")
    return frame.sort_values("trade_date", kind="stable").reset_index(drop=True)


COMPONENT_ETF_FIELDS: tuple[KISField, ...] = (
    KISField("close", "stck_prpr", to_int, _ZERO_TOO, _PRICE, Need.VALUE),
    KISField("nav", "nav", to_float, _ZERO_TOO, _NAV),
    KISField("net_assets_krw", "etf_ntas_ttam", eok_to_krw, _ZERO_TOO, _NET_ASSETS),
    KISField("cu_shares", "etf_cu_unit_scrt_cnt", to_int, _ZERO_TOO, _CU),
    KISField("constituent_count", "etf_cnfg_issu_cnt", to_int, _ZERO_TOO, _BASKET),
    KISField(
        "cu_value_manwon", "etf_cnfg_issu_avls", to_int, _ZERO_TOO, "a basket is never worth 0"
    ),
)

COMPONENT_ROW_FIELDS: tuple[KISField, ...] = (
    KISField("constituent_code", "stck_shrn_iscd", to_text, _MARKED, "blank rows are dropped"),
    KISField("constituent_name", "hts_kor_isnm", to_text, _MARKED, _TEXT),
    KISField("price", "stck_prpr", to_int, _ZERO_TOO, "0 on cash lines: no price"),
    KISField("price_change", "prdy_vrss", to_int, _MARKED, _FACT),
    KISField("value_krw", "etf_cnfg_issu_avls", to_int, _MARKED, "the line's value in one CU"),
    KISField("weight_pct", "etf_cnfg_issu_rlim", to_float, _MARKED, "a rounded 0.00 % is a weight"),
    KISField(
        "prev_value_krw", "etf_vltn_amt", to_int, _MARKED, "the line's value at the last close"
    ),
    KISField(
        "market_cap_krw", "hts_avls", eok_to_krw, _ZERO_TOO, "a listed security is never worth 0"
    ),
)
# The etf_holdings columns KIS can fill, plus what it adds; amount_krw (KRX's COMPST_AMT) has
# no KIS counterpart and stays NULL.
HOLDINGS_COLUMNS = [
    "etf_ticker",
    "constituent_code",
    "constituent_name",
    "kind",
    "shares_per_cu",
    "value_krw",
    "amount_krw",
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
    """One of KINDS from code and name (KIS sends no type field); never NULL.

    A heuristic: KRX's PDF screen carries the security group, KIS does not. First what the
    code says (cash codes, Korean bond, futures and option ISINs: `kind_from_code`, shared
    with the KRX parser); then the usual cash labels and futures names; a 6-character code
    whose name starts with an ETF brand is an ETF, any other 6-character code a stock.
    """
    code = code or ""
    label = (name or "").upper()
    by_code = kind_from_code(code)
    if by_code is not None:
        return by_code
    if any(label.startswith(c.upper()) for c in _CASH_NAMES):
        return "cash"
    if "선물" in label or " F " in f" {label} ":
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
    without a price. KIS has nothing like KRX's COMPST_AMT, so `amount_krw` is NULL. Rows
    with a blank code are dropped. output1 etf_cnfg_issu_avls is in 만원 [inferred]; it is
    returned as `cu_value_krw` too.
    """
    if not isinstance(output1, Mapping):
        raise ParseError("output1 is not an object", field="output1", ticker=ticker, value=output1)
    etf, etf_extra = _convert(output1, COMPONENT_ETF_FIELDS, ticker)
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
        record, extra = _convert(raw, COMPONENT_ROW_FIELDS, ticker)
        price, value = record["price"], record["value_krw"]
        shares = value / price if price and value is not None else None
        kind = classify_kind(record["constituent_code"], record["constituent_name"])
        rows.append(
            {
                "etf_ticker": ticker,
                **record,
                "kind": kind,
                "shares_per_cu": shares,
                "amount_krw": None,
                **extra,
            }
        )
    if not rows:
        return etf_record, pd.DataFrame(columns=HOLDINGS_COLUMNS)
    frame = pd.DataFrame(rows).astype({"amount_krw": "float64"})
    extras = [c for c in frame.columns if c not in HOLDINGS_COLUMNS]
    return etf_record, frame[HOLDINGS_COLUMNS + extras].reset_index(drop=True)
