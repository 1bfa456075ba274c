"""KOFIA routes of the sandbox: 전자공시's fund fees and costs (`DISFundFeeCmsSO`).

`POST /proframeWeb/XMLSERVICES/` with a ProFrame XML `message`, as docs/kofia.md describes,
answered from `etf_sandbox.market.costs`. What public collectors show is served as they show
it: the `root/message/DISCondFuncListDTO` envelope with `dbio_total_count_`, one `selectMeta`
per fund class with `tmpV1` … `tmpV100` (the unused ones empty, the same gaps as the real
answer), rates in percent printed without a leading zero (`.785`), an empty answer on a day
that is no month's base date. Where the real behaviour is unknown the sandbox makes a
documented choice:
- a month is answered from `DISCLOSED_ON_DAY` of the following month on (sandbox clock);
  before that, and for any other day, the answer holds no row (`dbio_total_count_` 0);
- `tmpV12` filters by a substring of the fund name (spaces ignored), `tmpV11`, `tmpV3`,
  `tmpV4` and `tmpV5` are read and ignored;
- a body that is not XML, another service or function, or no `DISCondFuncDTO` → HTTP 200 with
  a `pfmResponseCode` `COMS0001` and the reason in `pfmResponseBasc` (the real code's text is
  unknown; collectors test for `COMS`);
- fault `reset_next_n` (server-wide) resets the connection, `http_5xx_next_n` answers 503.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import pandas as pd

from etf_sandbox.market.costs import base_date, disclosed, fund_costs
from etf_sandbox.wire import Handler, SandboxRequest, SandboxResponse, SandboxState

PATH = "/proframeWeb/XMLSERVICES/"
SERVICE_NAME = "DISFundFeeCmsSO"
XML = "text/xml;charset=UTF-8"
STATE_KEY = "kofia_routes"
# The fields of a row, in the real answer's order: market.costs column → tmpV tag.
FIELDS = (
    ("issuer", "tmpV1"), ("name", "tmpV2"), ("fund_type", "tmpV3"), ("inception_date", "tmpV4"),
    ("management_fee", "tmpV5"), ("sales_fee", "tmpV6"), ("trustee_fee", "tmpV7"),
    ("admin_fee", "tmpV8"), ("total_fee", "tmpV9"), ("category_average_fee", "tmpV10"),
    ("other_expenses", "tmpV11"), ("ter", "tmpV12"), ("front_load", "tmpV13"),
    ("back_load", "tmpV14"), ("fund_code", "tmpV15"), ("trading_fee", "tmpV16"),
)  # fmt: skip
# The empty elements after them, as the real answer lists them (no tmpV21, 48, 55, 57, 59,
# 72 or 86).
_UNUSED = [n for n in range(17, 101) if n not in (21, 48, 55, 57, 59, 72, 86)]
_TAIL = "".join(f"<tmpV{n} />\n" for n in _UNUSED) + "<serviceDesc />\n<messageOccuDesc />\n"
_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><root><message><proframeHeader>'
    "<pfmAppName>FS-DIS2</pfmAppName><pfmSvcName>{service}</pfmSvcName>"
    "<pfmFnName>select</pfmFnName></proframeHeader><systemHeader></systemHeader>"
)


def rate_text(value: float) -> str:
    """A rate as KOFIA prints it: `.785`, `0`, `1.2` (no leading zero, no trailing zeros);
    empty when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    if text in ("0", "-0", ""):
        return "0"
    return text.removeprefix("0") if text.startswith("0.") else text


def _value(column: str, value: object) -> str:
    if column == "inception_date":
        return value.strftime("%Y%m%d") if isinstance(value, date) else ""
    if column.endswith(("_fee", "expenses", "ter", "_load")):
        return rate_text(value)  # type: ignore[arg-type]
    return escape(str(value))


def _row(row: tuple) -> str:
    fields = "".join(
        f"<{tag}>{text}</{tag}>\n" if (text := _value(column, value)) else f"<{tag} />\n"
        for (column, tag), value in zip(FIELDS, row, strict=True)
    )
    return f"<selectMeta>\n<vGridChgImg1 />\n<vGridBtn1 />\n{fields}{_TAIL}</selectMeta>"


def _answer(service: str, rows: pd.DataFrame) -> SandboxResponse:
    body = "".join(_row(r) for r in rows[[c for c, _ in FIELDS]].itertuples(index=False))
    text = (
        _HEAD.format(service=service)
        + f"<DISCondFuncListDTO><dbio_total_count_>{len(rows)}</dbio_total_count_>"
        + body
        + "</DISCondFuncListDTO></message></root>"
    )
    return SandboxResponse(200, text.encode("utf-8"), XML)


def _error(reason: str) -> SandboxResponse:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?><root><message><proframeHeader>'
        "<pfmResponseCode>COMS0001</pfmResponseCode>"
        f"<pfmResponseBasc>{escape(reason)}</pfmResponseBasc></proframeHeader>"
        "<systemHeader></systemHeader></message></root>"
    )
    return SandboxResponse(200, text.encode("utf-8"), XML)


def _month_rows(state: SandboxState, day: date) -> pd.DataFrame:
    """The fund classes of the month whose base date is `day`, cached per month."""
    month = day.replace(day=1)
    with state.lock:
        cache: dict[date, pd.DataFrame] = state.extra.setdefault(STATE_KEY, {})
        rows = cache.get(month)
    if rows is None:
        rows = fund_costs(state.market, month)
        with state.lock:
            cache[month] = rows
    return rows


def fees(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    try:
        root = ElementTree.fromstring(req.body)
    except ElementTree.ParseError:
        return _error("Invalid XML message")
    service = (root.findtext("proframeHeader/pfmSvcName") or "").strip()
    conditions = root.find("DISCondFuncDTO")
    if service != SERVICE_NAME or (root.findtext("proframeHeader/pfmFnName") or "") != "select":
        return _error(f"Unknown service {service!r}")
    if conditions is None:
        return _error("Unexpected element: DISCondFuncDTO expected")
    try:
        day = datetime.strptime((conditions.findtext("tmpV30") or "").strip(), "%Y%m%d").date()
    except ValueError:
        return _answer(service, pd.DataFrame(columns=[c for c, _ in FIELDS]))
    market = state.market
    known = market.sessions[0] <= day <= market.sessions[-1]
    month = day.replace(day=1)
    if not (known and day == base_date(market, month) and disclosed(day, state.now().date())):
        return _answer(service, pd.DataFrame(columns=[c for c, _ in FIELDS]))
    rows = _month_rows(state, day)
    wanted = "".join((conditions.findtext("tmpV12") or "").split())
    if wanted:
        rows = rows[rows["name"].str.replace(r"\s+", "", regex=True).str.contains(
            wanted, regex=False)]  # fmt: skip
    return _answer(service, rows)


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", PATH): fees,
}
