"""SEIBro's ETF distribution screen (분배금지급현황): request bodies and answers, pure.

The wire (docs/seibro.md): one XML `reqParam` element POSTed as `application/xml`; the answer
is XML whose `result` elements, wherever they sit, are the rows, each child element one field
with its value in a `value` attribute. So fields are read by name and unknown ones are kept;
nothing assumes the outer element names, a row count or digits-only tickers.

What can go wrong, and the error it raises:
* `<WARNING>서버오류2` (HTTP 200): SEIBro refused the body → `SEIBroServerWarning`.
* not XML at all (an HTML error page, a truncated body) → `SEIBroBadAnswer`.
* a count answer without `LIST_CNT` → `SEIBroBadAnswer`. A rows answer without `result` is
  an empty range, which SEIBro answers that way.
* a row whose ISIN, record date or amount is missing or unreadable → `ParseError` naming the
  field and the ISIN.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree import ElementTree

import pandas as pd

from etf_assets.errors import ParseError, SEIBroBadAnswer, SEIBroServerWarning

ACTION_ROWS = "exerInfoDtramtPayStatPlist"
ACTION_COUNT = "exerInfoDtramtPayStatPlistCnt"
TASK = "ksd.safe.bip.cnts.etf.process.EtfExerInfoPTask"
MENU_NO = "179"
SCREEN_XML = "/IPORTAL/user/etf/BIP_CNTS06030V.xml"
# An answer holds at most this many rows, whatever END_PAGE asks for.
PAGE_ROWS = 30

REASON_KINDS = {"이익분배": "income", "청산분배": "liquidation"}
KINDS = ("income", "liquidation", "other")

# Wire field → what it is (docs/seibro.md § Answer).
FIELD_ISIN = "ISIN"
FIELD_NAME = "KOR_SECN_NM"
FIELD_ISSUER = "REP_SECN_NM"
FIELD_CATEGORY = "ETF_SORT_NM"
FIELD_RECORD_DATE = "RGT_STD_DT"
FIELD_PAY_DATE = "TH1_PAY_TERM_BEGIN_DT"
FIELD_AMOUNT = "ESTM_STDPRC"  # the distribution per share in KRW, despite its name
FIELD_TAX_BASE = "TAXSTD"  # 결산과표기준가: a price, not the taxable part of the payout
FIELD_REASON = "RGT_RSN_DTAIL_NM"

DISTRIBUTION_COLUMNS = (
    "ticker",
    "isin",
    "record_date",
    "pay_date",
    "amount_per_share_krw",
    "kind",
    "reason",
    "tax_base_price_krw",
    "name",
    "issuer",
    "category",
)

_ISIN = re.compile(r"^[A-Z]{2}[0-9A-Z]{9}[0-9]$")
_YMD = re.compile(r"^\d{8}$")  # strptime alone reads 2026083 as 2026-08-03
_WARNING = re.compile(r"<\s*WARNING\b[^>]*>\s*([^<]*)", re.IGNORECASE)

Row = dict[str, str]


@dataclass(frozen=True)
class SEIBroAnswer:
    """One answer: its rows (every field as sent, unknown ones included) and its LIST_CNT."""

    rows: list[Row]
    count: int | None


def request_body(
    action: str,
    start: date,
    end: date,
    *,
    start_row: int = 1,
    isin: str = "",
) -> str:
    """The XML body of one request: rows from `start_row` (a 1-based row offset, not a page
    number) or, with ACTION_COUNT, the number of rows; record dates start…end, every fund
    unless `isin` names one."""
    if action not in (ACTION_ROWS, ACTION_COUNT):
        raise ValueError(f"unknown SEIBro action {action!r}")
    if start_row < 1:
        raise ValueError(f"start_row is a 1-based row offset, not {start_row}")
    fields = {
        "MENU_NO": MENU_NO,
        "CMM_BTN_ABBR_NM": "조회",
        "W2XPATH": SCREEN_XML,
        "etf_sort_level_cd": "",
        "etf_big_sort_cd": "",
        "etf_sort_cd": "",
        "isin": isin,
        "mngco_custno": "",
        "RGT_RSN_DTAIL_SORT_CD": "",
        "START_PAGE": str(start_row),
        "END_PAGE": str(start_row + PAGE_ROWS - 1),
        "fromRGT_STD_DT": start.strftime("%Y%m%d"),
        "toRGT_STD_DT": end.strftime("%Y%m%d"),
    }
    root = ElementTree.Element("reqParam", {"action": action, "task": TASK})
    for name, value in fields.items():
        ElementTree.SubElement(root, name, {"value": value})
    return ElementTree.tostring(root, encoding="unicode")


def parse_answer(text: str) -> SEIBroAnswer:
    """Rows and LIST_CNT of an answer; a `WARNING` or a body that is not XML raises."""
    warning = _WARNING.search(text)
    if warning:
        raise SEIBroServerWarning(
            f"SEIBro refused the request: {warning.group(1).strip() or 'WARNING'} (it answers "
            "this to a body not sent as application/xml, or one it cannot read)",
            body_excerpt=text[:160],
        )
    try:
        root = ElementTree.fromstring(text.strip())
    except ElementTree.ParseError as exc:
        raise SEIBroBadAnswer(f"the answer is not XML ({exc})", body_excerpt=text[:160]) from exc
    if root.tag.lower() == "html":
        raise SEIBroBadAnswer("an HTML page instead of XML", body_excerpt=text[:160])
    rows = [_fields(result) for result in root.iter("result")]
    counts = [element.get("value", "") for element in root.iter("LIST_CNT")]
    count = None
    if counts:
        try:
            count = int(counts[0].replace(",", "").strip())
        except ValueError:
            raise SEIBroBadAnswer(
                f"LIST_CNT is not a number: {counts[0]!r}", body_excerpt=text[:160]
            ) from None
    return SEIBroAnswer([row for row in rows if row], count)


def answer_count(text: str) -> int:
    """LIST_CNT of a count answer; one holding neither rows nor LIST_CNT raises."""
    answer = parse_answer(text)
    if answer.count is None:
        raise SEIBroBadAnswer(
            "the answer holds neither result rows nor LIST_CNT", body_excerpt=text[:160]
        )
    return answer.count


def _fields(result: ElementTree.Element) -> Row:
    """Each child's `value` attribute by its tag (its text when a child has no attribute)."""
    return {
        child.tag: child.get("value", child.text or "")
        for child in result
        if isinstance(child.tag, str)
    }


def ticker_from_isin(isin: str) -> str:
    """The 6-character short code: characters 4–9 of a Korean ISIN (KR70036D0007 → 0036D0)."""
    code = isin.strip().upper()
    if not _ISIN.match(code):
        raise ParseError("not an ISIN", field=FIELD_ISIN, value=isin)
    return code[3:9]


def kind_of(reason: str) -> str:
    """income (이익분배), liquidation (청산분배) or other (any other reason; kept as text)."""
    return REASON_KINDS.get(reason.strip(), "other")


def _text(row: Mapping[str, str], field: str) -> str | None:
    value = html.unescape(row.get(field) or "").strip()
    return value or None


def _date(row: Mapping[str, str], field: str, isin: str, *, required: bool) -> date | None:
    value = _text(row, field)
    if value is None:
        if required:
            raise ParseError("field missing from a SEIBro row", field=field, ticker=isin)
        return None
    digits = value.replace("-", "").replace("/", "")
    if _YMD.match(digits):
        try:
            return datetime.strptime(digits, "%Y%m%d").date()
        except ValueError:
            pass  # 8 digits that are no date, e.g. 20261340
    raise ParseError("not a SEIBro date", field=field, ticker=isin, value=value)


def _number(row: Mapping[str, str], field: str, isin: str, *, required: bool) -> float | None:
    value = _text(row, field)
    if value is None:
        if required:
            raise ParseError("field missing from a SEIBro row", field=field, ticker=isin)
        return None
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        raise ParseError("not a SEIBro number", field=field, ticker=isin, value=value) from None
    if not math.isfinite(number):
        raise ParseError("not a finite SEIBro number", field=field, ticker=isin, value=value)
    return number


def _distribution(row: Mapping[str, str]) -> dict[str, object]:
    isin = _text(row, FIELD_ISIN)
    if isin is None:
        raise ParseError("field missing from a SEIBro row", field=FIELD_ISIN, value=dict(row))
    reason = _text(row, FIELD_REASON) or ""
    return {
        "ticker": ticker_from_isin(isin),
        "isin": isin.upper(),
        "record_date": _date(row, FIELD_RECORD_DATE, isin, required=True),
        "pay_date": _date(row, FIELD_PAY_DATE, isin, required=False),
        "amount_per_share_krw": _number(row, FIELD_AMOUNT, isin, required=True),
        "kind": kind_of(reason),
        "reason": reason or None,
        "tax_base_price_krw": _number(row, FIELD_TAX_BASE, isin, required=False),
        "name": _text(row, FIELD_NAME),
        "issuer": _text(row, FIELD_ISSUER),
        "category": _text(row, FIELD_CATEGORY),
    }


def distributions_frame(rows: Sequence[Mapping[str, str]]) -> pd.DataFrame:
    """Typed rows (DISTRIBUTION_COLUMNS), one per (ISIN, record date): a row SEIBro served
    twice while paging is kept once (the later copy)."""
    frame = pd.DataFrame([_distribution(row) for row in rows], columns=list(DISTRIBUTION_COLUMNS))
    frame = frame.drop_duplicates(["isin", "record_date"], keep="last")
    frame = frame.astype({"amount_per_share_krw": "float64", "tax_base_price_krw": "float64"})
    return frame.sort_values(["record_date", "ticker"], ignore_index=True)
