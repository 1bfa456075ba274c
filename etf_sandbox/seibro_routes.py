"""SEIBro routes of the sandbox: the ETF distribution screen (분배금지급현황).

`POST /websquare/engine/proworks/callServletService.jsp` with an XML `reqParam` body, as
docs/seibro.md describes, answered from `Market.distributions`. Where the real behaviour is
unknown the sandbox makes a documented choice:
- only a body sent as `application/xml` (or `text/xml`) is read; any other content type, a
  body that is not XML, an unknown action or a missing date filter → HTTP 200 with only
  `<WARNING>서버오류2` (the answer SEIBro gives a form-encoded body).
- rows are in record-date then ticker order; `START_PAGE` is a 1-based row offset and an
  answer holds at most 30 rows from it, whatever `END_PAGE` says.
- the count (`exerInfoDtramtPayStatPlistCnt`) is `<LIST_CNT value="N"/>` inside the `data`
  element, not in a `result` (so a rows parser never reads it as a row).
- an empty range → `<vector result="0"/>`, a document with no `result`.
- fault `seibro_shift_rows` (persistent): every page after the first starts one row earlier,
  re-serving the previous page's last row, as if a payout was added above while paging.
- fault `reset_next_n` (server-wide): the connection is reset without an answer, as SEIBro's
  firewall does (errno 104).
- a payout is listed from a week before its record date (`ANNOUNCED_AHEAD`, by the sandbox
  clock): SEIBro lists announced payouts; how early is a guess.
- pace: above `SandboxConfig.seibro_rate_per_s` requests in any second (default 25: the real
  limit is unknown; collectors run at 4–20 a second) the connection is reset, too.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import date, datetime, timedelta
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import pandas as pd

from etf_sandbox.wire import Handler, SandboxRequest, SandboxResponse, SandboxState

PATH = "/websquare/engine/proworks/callServletService.jsp"
ACTION_ROWS = "exerInfoDtramtPayStatPlist"
ACTION_COUNT = "exerInfoDtramtPayStatPlistCnt"
PAGE_ROWS = 30
XML = "application/xml; charset=UTF-8"
WARNING = "<WARNING>서버오류2"
STATE_KEY = "seibro_routes"
SERVICE = "seibro"
ANNOUNCED_AHEAD = timedelta(days=7)

# Market.distributions column → SEIBro field, in the order SEIBro lists them.
FIELDS = (
    ("isin", "ISIN"),
    ("name", "KOR_SECN_NM"),
    ("issuer", "REP_SECN_NM"),
    ("category", "ETF_SORT_NM"),
    ("record_date", "RGT_STD_DT"),
    ("pay_date", "TH1_PAY_TERM_BEGIN_DT"),
    ("amount_krw", "ESTM_STDPRC"),
    ("tax_base_price", "TAXSTD"),
    ("reason", "RGT_RSN_DTAIL_NM"),
)


def _warning() -> SandboxResponse:
    return SandboxResponse(200, WARNING.encode("utf-8"), "text/html; charset=UTF-8")


def _xml(body: str) -> SandboxResponse:
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return SandboxResponse(200, text.encode("utf-8"), XML)


def _too_fast(state: SandboxState) -> bool:
    """More than seibro_rate_per_s requests within the last second."""
    with state.lock:
        window: deque[float] = state.extra.setdefault(STATE_KEY, deque())
        now = time.monotonic()
        while window and window[0] <= now - 1.0:
            window.popleft()
        window.append(now)
        return len(window) > state.config.seibro_rate_per_s


def _ymd(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _wire_value(column: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if column == "amount_krw":  # whole payouts as 108, others with every decimal (round trip)
        text = repr(float(value))
        return text.removesuffix(".0")
    if column == "tax_base_price":
        return f"{float(value):.2f}"
    return str(value)


def _result(row: pd.Series) -> str:
    """One `result` element; quoteattr escapes & as &amp; like SEIBro does."""
    fields = "".join(
        f"<{field} value={quoteattr(_wire_value(column, row[column]))}/>"
        for column, field in FIELDS
    )
    return f"<result>{fields}</result>"


def _rows(state: SandboxState, params: dict[str, str]) -> pd.DataFrame | None:
    start, end = _ymd(params.get("fromRGT_STD_DT", "")), _ymd(params.get("toRGT_STD_DT", ""))
    if start is None or end is None:
        return None
    if start > end:
        return pd.DataFrame(columns=[column for column, _ in FIELDS])
    rows = state.market.distributions(start, min(end, state.now().date() + ANNOUNCED_AHEAD))
    isin = params.get("isin", "").strip()
    return rows[rows["isin"] == isin] if isin else rows


def distributions(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    if _too_fast(state):
        return SandboxResponse(status=0, reset=True)
    if not req.headers.get("content-type", "").lower().startswith(("application/xml", "text/xml")):
        return _warning()
    try:
        root = ElementTree.fromstring(req.body)
    except ElementTree.ParseError:
        return _warning()
    action = root.get("action")
    params = {child.tag: child.get("value", "") for child in root}
    rows = _rows(state, params) if root.tag == "reqParam" else None
    if rows is None or action not in (ACTION_ROWS, ACTION_COUNT):
        return _warning()
    if action == ACTION_COUNT:
        return _xml(
            f'<vector result="1"><data vectorkey="0"><LIST_CNT value="{len(rows)}"/>'
            "</data></vector>"
        )
    try:
        offset = max(int(params.get("START_PAGE", "1")), 1) - 1
    except ValueError:
        return _warning()
    if offset and state.faults.get(SERVICE, "seibro_shift_rows"):
        offset -= 1
    page = rows.iloc[offset : offset + PAGE_ROWS]
    if page.empty:
        return _xml('<vector result="0"/>')
    data = "".join(
        f'<data vectorkey="{i}">{_result(row)}</data>' for i, (_, row) in enumerate(page.iterrows())
    )
    return _xml(f'<vector result="{len(page)}">{data}</vector>')


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", PATH): distributions,
}
