"""KOFIA 전자공시's fund fees and costs (펀드별 보수비용비교, `DISFundFeeCmsSO`): request bodies
and answers, pure.

The wire (docs/kofia.md): one ProFrame XML `message` POSTed to `/proframeWeb/XMLSERVICES/`,
conditions in `DISCondFuncDTO/tmpV*`; the answer's `DISCondFuncListDTO` holds
`dbio_total_count_` and one `selectMeta` element per fund class, each child one field
(`tmpV1` … `tmpV100`, most of them empty). Fields are read by tag name wherever the elements
sit, unknown ones are kept, and nothing assumes a row count, a row order or a code's shape.

Numbers are percent per year as KOFIA's Java side prints them: `.785` (no leading zero), `0`,
`1.2`. An empty element is "no value" (NULL), never 0: a fund younger than a year has no TER.

What can go wrong, and the error it raises:
* a body that is not XML (an HTML page, an answer cut short) → `KOFIABadAnswer`;
* a ProFrame error code (`pfmResponseCode` other than zeros) → `KOFIABadAnswer` with its text;
* fewer `selectMeta` rows than `dbio_total_count_` says → `KOFIABadAnswer` (cut short);
* a row without fund code or name, or a number that is no number → `ParseError` naming the
  field and the fund code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import pandas as pd

from etf_assets.errors import KOFIABadAnswer, ParseError

APP_NAME = "FS-DIS2"
SERVICE_FEES = "DISFundFeeCmsSO"
FUNCTION = "select"
# Every ETF's legal name holds 상장지수(투자신탁): KOFIA's fund-name filter with it answers the
# ~1,100 ETF classes (~1.6 MB) instead of all ~20,000 public funds (~30 MB).
ETF_NAME_FILTER = "상장지수"

# Wire field → column (docs/kofia.md § Fields). Rates are percent per year.
FIELD_ISSUER = "tmpV1"  # 운용회사
FIELD_NAME = "tmpV2"  # 펀드명, the fund's legal name with its class
FIELD_TYPE = "tmpV3"  # 펀드유형
FIELD_INCEPTION = "tmpV4"  # 설정일, YYYYMMDD
FIELD_CODE = "tmpV15"  # KOFIA's fund code (KR5…/K55…), not the ETF's ISIN
RATE_FIELDS: dict[str, str] = {
    "tmpV5": "management_fee_pct",  # 운용보수
    "tmpV6": "sales_fee_pct",  # 판매보수
    "tmpV7": "trustee_fee_pct",  # 수탁보수
    "tmpV8": "admin_fee_pct",  # 사무관리보수
    "tmpV9": "total_fee_pct",  # 보수합계
    "tmpV10": "category_average_fee_pct",  # 유사유형 평균보수율
    "tmpV11": "other_expenses_pct",  # 기타비용
    "tmpV12": "ter_pct",  # TER (총보수·비용비율)
    "tmpV13": "front_load_pct",  # 선취수수료
    "tmpV14": "back_load_pct",  # 후취수수료
    "tmpV16": "trading_fee_pct",  # 매매·중개수수료율
}
COST_COLUMNS = (
    "kofia_fund_code",
    "kofia_fund_name",
    "kofia_issuer",
    "kofia_fund_type",
    "inception_date",
    *RATE_FIELDS.values(),
)
_NO_VALUE = ("", "-")
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*)?(\.\d+)?$")
_YMD = re.compile(r"^\d{8}$")

Row = dict[str, str]


@dataclass(frozen=True)
class KOFIAAnswer:
    """One answer: its rows (every field as sent, unknown ones included) and its count."""

    rows: list[Row]
    total: int | None


def request_body(base_date: date, name_filter: str = ETF_NAME_FILTER) -> str:
    """The XML message asking for every fund class's fees and costs on `base_date` (a month's
    last business day), whose name contains `name_filter` ("" for all funds)."""
    conditions = {
        "tmpV30": base_date.strftime("%Y%m%d"),
        "tmpV11": "",  # 운용사 code: every manager
        "tmpV12": escape(name_filter),
        "tmpV3": "",
        "tmpV5": "",
        "tmpV4": "",
    }
    fields = "".join(f"<{tag}>{value}</{tag}>" for tag, value in conditions.items())
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<message><proframeHeader>'
        f"<pfmAppName>{APP_NAME}</pfmAppName><pfmSvcName>{SERVICE_FEES}</pfmSvcName>"
        f"<pfmFnName>{FUNCTION}</pfmFnName></proframeHeader><systemHeader></systemHeader>"
        f"<DISCondFuncDTO>{fields}</DISCondFuncDTO></message>"
    )


def parse_answer(text: str) -> KOFIAAnswer:
    """Rows and count of an answer; an error code, a body that is not XML or an answer with
    fewer rows than its count raises `KOFIABadAnswer`."""
    try:
        root = ElementTree.fromstring(text.strip())
    except ElementTree.ParseError as exc:
        raise KOFIABadAnswer(
            f"the answer is not XML ({exc}); a long answer cut short reads so: run it again",
            body_excerpt=text[:160],
        ) from exc
    if root.tag.lower() == "html":
        raise KOFIABadAnswer("an HTML page instead of XML", body_excerpt=text[:160])
    code = (root.findtext(".//pfmResponseCode") or "").strip()
    if code.strip("0"):
        message = (root.findtext(".//pfmResponseBasc") or "").strip()
        raise KOFIABadAnswer(
            f"KOFIA answered error {code}: {message or 'no message'}", body_excerpt=text[:160]
        )
    if root.find(".//DISCondFuncListDTO") is None:
        raise KOFIABadAnswer("the answer holds no DISCondFuncListDTO", body_excerpt=text[:160])
    rows = [
        {child.tag: (child.text or "").strip() for child in meta}
        for meta in root.iter("selectMeta")
    ]
    raw_total = (root.findtext(".//dbio_total_count_") or "").strip()
    try:
        total = int(raw_total.replace(",", "")) if raw_total else None
    except ValueError:
        raise KOFIABadAnswer(
            f"dbio_total_count_ is not a number: {raw_total!r}", body_excerpt=text[:160]
        ) from None
    if total is not None and len(rows) < total:
        raise KOFIABadAnswer(
            f"the answer holds {len(rows)} rows of the {total} it counts: cut short, run it again",
            body_excerpt=text[:160],
        )
    return KOFIAAnswer(rows, total)


def percent(value: str | None, field: str, code: str) -> float | None:
    """A rate as KOFIA prints it (`.785`, `0`, `1.2`), in percent; empty or `-` is None."""
    text = (value or "").strip()
    if text in _NO_VALUE:
        return None
    if not _NUMBER.match(text) or not any(ch.isdigit() for ch in text):
        raise ParseError("not a number", field=field, ticker=code, value=value)
    number = float(text.replace(",", ""))
    if not math.isfinite(number):
        raise ParseError("not a finite number", field=field, ticker=code, value=value)
    return number


def _inception(value: str | None, code: str) -> date | None:
    text = (value or "").strip()
    if text in _NO_VALUE:
        return None
    if not _YMD.match(text):
        raise ParseError("not a YYYYMMDD date", field=FIELD_INCEPTION, ticker=code, value=value)
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ParseError(
            "not a calendar date", field=FIELD_INCEPTION, ticker=code, value=value
        ) from None


def _cost(row: Mapping[str, str]) -> dict[str, object]:
    code = (row.get(FIELD_CODE) or "").strip()
    name = (row.get(FIELD_NAME) or "").strip()
    if not code:
        raise ParseError("fund code missing", field=FIELD_CODE, value=row.get(FIELD_CODE))
    if not name:
        raise ParseError("fund name missing", field=FIELD_NAME, ticker=code, value=name)
    return {
        "kofia_fund_code": code,
        "kofia_fund_name": name,
        "kofia_issuer": (row.get(FIELD_ISSUER) or "").strip() or None,
        "kofia_fund_type": (row.get(FIELD_TYPE) or "").strip() or None,
        "inception_date": _inception(row.get(FIELD_INCEPTION), code),
        **{column: percent(row.get(field), field, code) for field, column in RATE_FIELDS.items()},
    }


def costs_frame(rows: Sequence[Mapping[str, str]]) -> pd.DataFrame:
    """Typed rows, one per fund class (`COST_COLUMNS`); a row repeated verbatim counts once, one
    fund code with two different rows raises `KOFIABadAnswer` (which is the fund's figure?)."""
    frame = pd.DataFrame([_cost(row) for row in rows], columns=list(COST_COLUMNS))
    frame = frame.drop_duplicates(ignore_index=True)
    repeated = frame.loc[frame["kofia_fund_code"].duplicated(), "kofia_fund_code"]
    if len(repeated):
        raise KOFIABadAnswer(
            f"fund code {repeated.iloc[0]} comes with two different rows ({len(repeated)} codes so)"
        )
    rates = list(RATE_FIELDS.values())
    frame[rates] = frame[rates].astype("Float64")
    return frame
