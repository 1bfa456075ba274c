"""KRX routes of the sandbox: data service (getJsonData.cmd), member login, Open API.

Wire formats follow docs/krx.md and the captured samples exactly. Where the real
behaviour is unknown the sandbox makes a documented choice:
- unknown or missing `bld` → HTTP 400 with a short HTML error page (not JSON, not `LOGOUT`);
  malformed/missing date or ISIN parameters → `{"output": []}`.
- 04301 for a non-session date, a future date, or today's session before 15:30 KST → every
  ETF listed on the newest published session with all values `-` (the Sunday sample's shape);
  dates before 2023-01-02 → `{"output": []}`. INVSTASST_NETASST_TOTAMT is `0` on the listing
  day and for today's session before 18:00 KST.
- 05001/05901/06001 only answer for published sessions; 06001 is oldest-first (as the
  docstring output), 05901 newest-first.
- login: wrong id or password → `{"_error_code": "CD002", ...}` (a guess); sessions live 1 h
  from login; a session kicked by a `skipDup=Y` login or expired gets 400 `LOGOUT` on its next
  data call (even without require_login); anonymous calls are served unless require_login.
  With the `krx_password_change` fault a right password answers `CD010` (the message text is
  the sandbox's).
- 05001 lines (see `market.baskets._holdings`): bonds carry MKT_ID and SECUGRP_ID `""` (docs/krx.md
  names no bond value), options SECUGRP_ID `OP` (a guess); futures and options have VALU_AMT
  only, ETF lines and cash COMPST_AMT only; foreign stocks VALU_AMT and COMPST_RTO `-`.
- Index levels KRX does not publish: `-` in 04301's four index fields, `0.00` in the Open
  API's three for the "zero" indices (`Market.index_status`), `-` for the others.
- 04401 (period change) answers every ETF listed on the last published session ≤ endDd, in
  KRX's name order; BAS_PRC is the close of the last session before strtDd (as the captured
  answer shows), or the listing-day 기준가 for a fund listed since (a guess); `[]` when the
  period holds no published session.
- Investor flows (04901, 04902) are published for a session from 18:00 KST. 04902 has a row
  for each session the fund traded on only (a session without a trade has none, as 04501
  leaves out days without data: a guess); 04901 answers its 13 rows, zeros included, when the
  fund was listed on a session of the period, else `[]`. An unknown `inqCondTpCd1` or
  `inqCondTpCd2` gives `[]`.
- Stock screens (01501 전종목 시세 under `OutBlock_1`, 03901 업종분류 현황 under `block1`, as
  KRX's own screen templates name them): the stocks of `etf_sandbox.market.stocks`; `mktId`
  STK, KSQ (01501 also ALL), anything else `[]`. A date that is no published session answers
  the stocks of the newest published one with every price `-` (01501's real holiday answer;
  for 03901 a guess).
- Open API: over `openapi_daily_limit` requests per key per KST day → HTTP 429
  `{"respMsg":"Exceeded Daily Limit","respCode":"429"}` (a guess: undocumented). The key is
  read from the `AUTH_KEY` header (or an `AUTH_KEY` query parameter, as some clients send it).
"""

from __future__ import annotations

import bisect
import math
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from etf_sandbox.market import INVESTOR_GROUPS, INVESTOR_TYPES, START, Market
from etf_sandbox.market.stocks import MARKET_NAMES, stock_quotes
from etf_sandbox.wire import (
    KRX_DATA_PATH,
    Handler,
    SandboxRequest,
    SandboxResponse,
    SandboxState,
    html_response,
    json_response,
)

DATA_PATH = KRX_DATA_PATH
LOGIN_PAGE_PATH = "/contents/MDC/COMS/client/MDCCOMS001.cmd"
LOGIN_JSP_PATH = "/contents/MDC/COMS/client/view/login.jsp"
LOGIN_POST_PATH = "/contents/MDC/COMS/client/MDCCOMS001D1.cmd"
OPENAPI_PATH = "/svc/apis/etp/etf_bydd_trd"
BLD_PREFIX = "dbms/MDC/STAT/standard/"
HTML = "text/html; charset=utf-8"
SESSION_TTL = timedelta(hours=1)
PASSWORD_CHANGE = ("CD010", "비밀번호를 변경한 지 3개월이 지났습니다. 비밀번호를 변경해 주세요.")
DATA_CLOSE = time(15, 30)  # the data service has today's rows after the close
NET_ASSETS_FINAL = time(18, 0)  # before this, today's 순자산총액 is "0"
FLOWS_FINAL = time(18, 0)  # investor flows of today's session are published from then on
OPENAPI_PUBLISH = time(8, 0)  # T+1: a date is published at 08:00 KST the next day
STATE_KEY = "krx_routes"

# 04902: inqCondTpCd1 picks the measure, inqCondTpCd2 the side; one column per group, in
# INVESTOR_GROUPS' order, then 전체 (their sum: the day's total bought or sold, 0 for net).
FLOW_MEASURES = {"1": "value", "2": "volume"}
FLOW_SIDES = {"1": "net", "2": "buy", "3": "sell"}
GROUP_FIELDS_04902 = ("NUM_ITM_VAL21", "NUM_ITM_VAL22", "NUM_ITM_VAL23", "NUM_ITM_VAL24")
TOTAL_FIELD_04902 = "NUM_ITM_VAL25"
# 04901's rows: the seven institution types, 기관합계, the other types, 전체 ("TS" = a total).
ROWS_04901 = (
    *((kind, "") for kind in INVESTOR_GROUPS["기관"]), ("기관합계", "TS"),
    *((kind, "") for kind in INVESTOR_TYPES[7:]), ("전체", "TS"),
)  # fmt: skip

# 01501's fields from the close to the market cap, in the real answer's order.
FIELDS_01501_PRICES = (
    "TDD_CLSPRC", "FLUC_TP_CD", "CMPPREVDD_PRC", "FLUC_RT", "TDD_OPNPRC", "TDD_HGPRC",
    "TDD_LWPRC", "ACC_TRDVOL", "ACC_TRDVAL", "MKTCAP",
)  # fmt: skip

FIELDS_04301 = [
    "ISU_SRT_CD", "ISU_CD", "SECUGRP_ID", "ISU_ABBRV", "TDD_CLSPRC", "CMPPREVDD_PRC",
    "FLUC_TP_CD", "FLUC_RT", "NAV", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "ACC_TRDVOL",
    "ACC_TRDVAL", "MKTCAP", "INVSTASST_NETASST_TOTAMT", "LIST_SHRS", "IDX_IND_NM",
    "OBJ_STKPRC_IDX", "CMPPREVDD_IDX", "FLUC_TP_CD1", "FLUC_RT1",
]  # fmt: skip


# ---- formatting (data.krx: thousands commas, "-" for missing; Open API: no commas) ----------


def _int(v: float | int) -> str:
    return f"{int(v):,}"


def _dec(v: float, commas: bool = True) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    v = round(float(v), 2) + 0.0  # no "-0.00"
    return f"{v:,.2f}" if commas else f"{v:.2f}"


def _pct(change: float, base: float) -> float:
    return round(change / base * 100, 2) + 0.0 if base else 0.0


def _updown(change: float) -> str:
    return "1" if change > 0 else "2" if change < 0 else "3"


def _ymd(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y%m%d").date()
    except ValueError:
        return None


def _slash(d: date) -> str:
    return d.strftime("%Y/%m/%d")


def current_datetime(now: datetime) -> str:
    """KRX's envelope clock, e.g. `2026.11.25 PM 08:24:51` (KST)."""
    return f"{now:%Y.%m.%d} {'AM' if now.hour < 12 else 'PM'} {now:%I:%M:%S}"


def _output(
    state: SandboxState, rows: list[dict[str, str]], key: str = "output"
) -> SandboxResponse:
    return json_response(
        {key: rows, "CURRENT_DATETIME": current_datetime(state.now())}, content_type=HTML
    )


# ---- publication clock ----------------------------------------------------------------------


def last_data_session(market: Market, now: datetime) -> date | None:
    """Newest session whose data-service rows exist as of now (today's only after 15:30 KST)."""
    today = now.date()
    cutoff = today if now.time() >= DATA_CLOSE else today - timedelta(days=1)
    i = bisect.bisect_right(market.sessions, cutoff)
    return market.sessions[i - 1] if i else None


def last_flows_session(market: Market, now: datetime) -> date | None:
    """Newest session whose investor flows are published as of now (today's from 18:00 KST)."""
    cutoff = now.date() if now.time() >= FLOWS_FINAL else now.date() - timedelta(days=1)
    i = bisect.bisect_right(market.sessions, cutoff)
    return market.sessions[i - 1] if i else None


def openapi_published(d: date, now: datetime) -> bool:
    return now >= datetime.combine(d + timedelta(days=1), OPENAPI_PUBLISH, tzinfo=now.tzinfo)


# ---- login sessions -------------------------------------------------------------------------


def _sessions(state: SandboxState) -> dict[str, dict[str, Any]]:
    return state.extra.setdefault(STATE_KEY, {}).setdefault("sessions", {})


def _new_session(state: SandboxState) -> str:
    jsid = secrets.token_hex(16).upper() + ".sandbox"
    with state.lock:
        _sessions(state)[jsid] = {"account": None, "login_at": None, "kicked": False}
    return jsid


def _cookie(jsid: str) -> dict[str, str]:
    return {"Set-Cookie": f"JSESSIONID={jsid}; Path=/; HttpOnly"}


def _alive(s: dict[str, Any], now: datetime) -> bool:
    return s["account"] is not None and not s["kicked"] and now - s["login_at"] < SESSION_TTL


def session_status(req: SandboxRequest, state: SandboxState) -> str:
    """ "live", "dead" (kicked or expired login) or "anonymous"."""
    with state.lock:
        s = _sessions(state).get(req.cookies.get("JSESSIONID", ""))
        if s is None or s["account"] is None:
            return "anonymous"
        return "live" if _alive(s, state.now()) else "dead"


def login_page(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """Steps 1 and 2: HTML pages that hand out a JSESSIONID when the client has none."""
    resp = html_response("<!DOCTYPE html><html><head><title>KRX Data Marketplace</title></head>"
                         "<body><form id=\"loginForm\"></form></body></html>")  # fmt: skip
    with state.lock:
        known = req.cookies.get("JSESSIONID", "") in _sessions(state)
    if not known:
        resp.headers.update(_cookie(_new_session(state)))
    return resp


def _password_change_due(state: SandboxState, member: str) -> bool:
    """The `krx_password_change` fault: True (every account), an account id, or a list of them."""
    due = state.faults.get("krx_data", "krx_password_change")
    if isinstance(due, str):
        return due == member
    if isinstance(due, (list, tuple)):
        return member in due
    return bool(due)


def login(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """Step 3: CD001 ok, CD011 duplicate login (unless skipDup=Y, which kicks the other), CD010
    when the `krx_password_change` fault says the account's 3-month password has expired."""
    jsid = req.cookies.get("JSESSIONID", "")
    headers: dict[str, str] = {}
    with state.lock:
        if jsid not in _sessions(state):
            jsid = _new_session(state)
            headers = _cookie(jsid)
        member, pw = req.form.get("mbrId", ""), req.form.get("pw", "")
        now = state.now()
        if not member or state.config.krx_accounts.get(member) != pw:
            code, msg = "CD002", "아이디 또는 비밀번호가 일치하지 않습니다."
        elif _password_change_due(state, member):
            code, msg = PASSWORD_CHANGE
        else:
            others = [s for k, s in _sessions(state).items()
                      if k != jsid and s["account"] == member and _alive(s, now)]  # fmt: skip
            if others and req.form.get("skipDup") != "Y":
                code, msg = "CD011", "이미 로그인된 세션이 있습니다. 기존 세션을 종료할까요?"
            else:
                for s in others:
                    s["kicked"] = True
                _sessions(state)[jsid] = {"account": member, "login_at": now, "kicked": False}
                code, msg = "CD001", "정상 처리되었습니다."
    resp = json_response({"_error_code": code, "_error_message": msg})
    resp.headers.update(headers)
    return resp


# ---- data service screens -------------------------------------------------------------------


def _master(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT04601: today's snapshot of listed ETFs (no date parameter)."""
    m = state.market
    i = bisect.bisect_right(m.sessions, state.now().date())
    if not i:
        return []
    ref = m.sessions[i - 1]
    cols = m.listed_on(ref)
    shares = m.shares[m.session_row(ref), cols]
    e = m.etfs.iloc[cols]
    names = m.names_on(ref, cols)
    rows = []
    for r, n, sh in zip(e.itertuples(index=False), names.itertuples(index=False), shares,
                        strict=True):  # fmt: skip
        rows.append({
            "ISU_CD": r.isin, "ISU_SRT_CD": r.ticker, "ISU_NM": n.name_full,
            "ISU_ABBRV": n.name, "ISU_ENG_NM": n.name_eng, "LIST_DD": _slash(r.listing_date),
            "ETF_OBJ_IDX_NM": r.tracking_index, "IDX_CALC_INST_NM1": r.index_provider,
            "IDX_CALC_INST_NM2": r.leverage_label, "ETF_REPLICA_METHD_TP_CD": r.replication,
            "IDX_MKT_CLSS_NM": r.market_region, "IDX_ASST_CLSS_NM": r.asset_class,
            "LIST_SHRS": _int(sh), "COM_ABBRV": r.issuer, "CU_QTY": _int(r.cu_shares),
            "ETF_TOT_FEE": f"{r.expense_ratio_pct:.6f}", "TAX_TP_CD": r.tax_type,
        })  # fmt: skip
    return rows


def _dash_rows(m: Market, ref: date) -> list[dict[str, str]]:
    """The non-trading-day answer: every listed ETF, all values "-" (LIST_SHRS of `ref`)."""
    cols = m.listed_on(ref)
    shares = m.shares[m.session_row(ref), cols]
    e = m.etfs.iloc[cols]
    names = m.names_on(ref, cols)["name"]
    rows = []
    for t, isin, name, idx, sh in zip(e["ticker"], e["isin"], names, e["tracking_index"],
                                      shares, strict=True):  # fmt: skip
        row = dict.fromkeys(FIELDS_04301, "-")
        row.update(ISU_SRT_CD=t, ISU_CD=isin, SECUGRP_ID="EF", ISU_ABBRV=name, FLUC_TP_CD="0",
                   LIST_SHRS=_int(sh), IDX_IND_NM=idx, FLUC_TP_CD1="0")  # fmt: skip
        rows.append(row)
    return rows


def _index_fields(close: float, change: float, pct: float, commas: bool) -> tuple[str, ...]:
    if math.isnan(close):
        return "-", "-", "-", "-"
    return _dec(close, commas), _dec(change, commas), _updown(change), _dec(pct, False)


def _openapi_index_fields(r: Any) -> tuple[str, str, str]:
    """OBJ_STKPRC_IDX, CMPPREVDD_IDX, FLUC_RT_IDX: "0.00" for a level KRX does not publish
    (where the data service shows "-"), "-" where neither does."""
    if r.index_status == "zero":
        return "0.00", "0.00", "0.00"
    close, change, _, pct = _index_fields(r.index_close, r.index_change, r.index_change_pct,
                                          False)  # fmt: skip
    return close, change, pct


def _closed_by_fault(state: SandboxState, d: date) -> bool:
    """The `krx_unscheduled_closures` fault: a session KRX answers as closed."""
    closed = state.faults.get("krx_data", "krx_unscheduled_closures") or ()
    return d.isoformat() in ({closed} if isinstance(closed, str) else set(closed))


def _prices(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT04301: all ETFs for one trdDd."""
    m, now = state.market, state.now()
    d = _ymd(req.form.get("trdDd"))
    if d is None or d < START:
        return []
    published = last_data_session(m, now)
    if published is None:
        return []
    daily = m.daily(d) if d <= published and not _closed_by_fault(state, d) else None
    if daily is None:
        ref = bisect.bisect_right(m.sessions, min(d, published))
        return _dash_rows(m, m.sessions[ref - 1])
    provisional = d == now.date() and now.time() < NET_ASSETS_FINAL
    rows = []
    for r in daily.itertuples(index=False):
        change = r.close - r.prev_close
        traded = r.open > 0
        rows.append(dict(zip(FIELDS_04301, (
            r.ticker, r.isin, "EF", r.name, _int(r.close), _int(change), _updown(change),
            _dec(_pct(change, r.prev_close), False), _dec(r.nav),
            _int(r.open if traded else 0), _int(r.high if traded else 0),
            _int(r.low if traded else 0), _int(r.volume), _int(r.traded_value),
            _int(r.market_cap), "0" if provisional else _int(r.net_assets),
            _int(r.listed_shares), r.index_name,
            *_index_fields(r.index_close, r.index_change, r.index_change_pct, True),
        ), strict=True)))  # fmt: skip
    return rows


def _period_change(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT04401: every ETF's change from the close before strtDd to the close of endDd,
    with the period's volume and traded value."""
    m = state.market
    start, end = _ymd(req.form.get("strtDd")), _ymd(req.form.get("endDd"))
    published = last_data_session(m, state.now())
    if start is None or end is None or published is None:
        return []
    base_row = bisect.bisect_left(m.sessions, start)  # path row of the session before strtDd
    end_row = bisect.bisect_right(m.sessions, min(end, published))
    if end_row <= base_row:
        return []
    cols = m.listed_on(m.sessions[end_row - 1])
    rows_in = np.arange(base_row + 1, end_row + 1)[:, None]
    traded = rows_in >= m.first_idx[cols][None, :]
    volume = np.where(traded, m.volume[base_row + 1 : end_row + 1, cols], 0).sum(axis=0)
    value = np.where(traded, m.traded_value[base_row + 1 : end_row + 1, cols], 0).sum(axis=0)
    listed_since = m.first_idx[cols] > base_row
    base = np.where(listed_since, m.base_price[cols], m.close[base_row, cols]).astype(np.int64)
    close = m.close[end_row, cols].astype(np.int64)
    names = m.names_on(m.sessions[end_row - 1], cols)["name"]
    rows = []
    for ticker, name, b, c, v, tv in zip(m.etfs["ticker"].to_numpy()[cols], names, base, close,
                                          volume, value, strict=True):  # fmt: skip
        rows.append({
            "ISU_SRT_CD": ticker, "ISU_ABBRV": name, "BAS_PRC": _int(b), "CLSPRC": _int(c),
            "FLUC_TP_CD": _updown(c - b), "CMP_PRC": _int(c - b),
            "FLUC_RT": _dec(_pct(c - b, b), False), "ACC_TRDVOL": _int(v), "ACC_TRDVAL": _int(tv),
        })  # fmt: skip
    return rows


def _etf_by_isin(m: Market, isin: str | None) -> str | None:
    hit = m.etfs.loc[m.etfs["isin"] == (isin or ""), "ticker"]
    return str(hit.iloc[0]) if len(hit) else None


def _pdf(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT05001: constituents per CU of one ETF (isuCd = ISIN) on trdDd."""
    m = state.market
    d, ticker = _ymd(req.form.get("trdDd")), _etf_by_isin(m, req.form.get("isuCd"))
    published = last_data_session(m, state.now())
    if d is None or ticker is None or published is None or d > published:
        return []
    h = m.holdings(ticker, d)
    rows = []
    for r in h.itertuples(index=False):
        rows.append({
            "COMPST_ISU_CD": r.code, "COMPST_ISU_CD2": r.isin, "MKT_ID": r.mkt_id,
            "SECUGRP_ID": r.secugrp, "COMPST_ISU_NM": r.name,
            "COMPST_ISU_CU1_SHRS": _dec(r.shares_per_cu),
            "VALU_AMT": "-" if r.value_krw is None else _int(r.value_krw),
            "COMPST_AMT": "-" if r.amount_krw is None else _int(r.amount_krw),
            "COMPST_RTO": "-" if r.weight_pct is None else _dec(r.weight_pct, False),
        })  # fmt: skip
    return rows


def _range(req: SandboxRequest, state: SandboxState) -> tuple[str, pd.DataFrame] | None:
    m = state.market
    start, end = _ymd(req.form.get("strtDd")), _ymd(req.form.get("endDd"))
    ticker = _etf_by_isin(m, req.form.get("isuCd"))
    published = last_data_session(m, state.now())
    if start is None or end is None or ticker is None or published is None:
        return None
    return ticker, m.history(ticker, start, min(end, published))


def _tracking(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT05901: NAV vs index per day, newest first; TRACE_ERR_RT repeated on each row."""
    found = _range(req, state)
    if found is None or found[1].empty:
        return []
    ticker, h = found
    m = state.market
    factor = float(m.etfs.at[m.position(ticker), "leverage_factor"])
    te = m.published_tracking_error(ticker, h["date"].iloc[-1])
    te_text = "-" if math.isnan(te) else _dec(te, False)
    rows = []
    for r in h.iloc[::-1].itertuples(index=False):
        no_index = math.isnan(r.index_close)
        rows.append({
            "TRD_DD": _slash(r.date), "LST_NAV": _dec(r.nav),
            "NAV_CHG_RT": _dec(_pct(r.nav - r.nav_prev, r.nav_prev), False),
            "OBJ_STKPRC_IDX": _dec(r.index_close),
            "IDX_CHG_RTO": "-" if no_index or math.isnan(r.index_prev)
            else _dec(_pct(r.index_close - r.index_prev, r.index_prev), False),
            "TRACE_YD_MULT": f"{factor:.1f}", "TRACE_ERR_RT": te_text,
        })  # fmt: skip
    return rows


def _deviation(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT06001: 괴리율 = (close − NAV) / NAV × 100 per day, oldest first."""
    found = _range(req, state)
    if found is None:
        return []
    return [
        {"TRD_DD": _slash(r.date), "FLUC_TP_CD": _updown(r.close - r.prev_close),
         "CLSPRC": _int(r.close), "LST_NAV": _dec(r.nav),
         "DIVRG_RT": _dec(_pct(r.close - r.nav, r.nav), False)}
        for r in found[1].itertuples(index=False)
    ]  # fmt: skip


def _flow_period(req: SandboxRequest, state: SandboxState) -> tuple[str, date, date] | None:
    """(ticker, start, end) of a flows request, the end cut to the newest published session."""
    m = state.market
    start, end = _ymd(req.form.get("strtDd")), _ymd(req.form.get("endDd"))
    ticker = _etf_by_isin(m, req.form.get("isuCd"))
    published = last_flows_session(m, state.now())
    if start is None or end is None or ticker is None or published is None:
        return None
    return ticker, start, min(end, published)


def _investors_daily(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT04902: one measure and side of the four investor groups per session the fund
    traded on, newest first."""
    measure = FLOW_MEASURES.get(req.form.get("inqCondTpCd1", ""))
    side = FLOW_SIDES.get(req.form.get("inqCondTpCd2", ""))
    found = _flow_period(req, state)
    if measure is None or side is None or found is None:
        return []
    flows = state.market.investor_group_flows(*found)
    wide = flows.pivot(index="date", columns="group", values=f"{side}_{measure}")
    wide = wide.reindex(columns=list(INVESTOR_GROUPS)).sort_index(ascending=False)
    return [
        {"TRD_DD": _slash(day), **{f: _int(v) for f, v in zip(GROUP_FIELDS_04902, values,
                                                               strict=True)},
         TOTAL_FIELD_04902: _int(sum(values))}
        for day, values in zip(wide.index, wide.to_numpy().tolist(), strict=True)
    ]  # fmt: skip


def _investors_period(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT04901: the period's totals per investor type, 13 rows in KRX's order, zeros
    included; `[]` when the fund was listed on no session of the period."""
    found = _flow_period(req, state)
    if found is None or state.market.history(*found).empty:
        return []
    flows = state.market.investor_flows(*found)
    by_type = flows.groupby("investor")[["buy_volume", "sell_volume", "buy_value",
                                         "sell_value"]].sum()  # fmt: skip
    by_type = by_type.reindex(list(INVESTOR_TYPES), fill_value=0)
    totals = {
        "기관합계": by_type.loc[list(INVESTOR_GROUPS["기관"])].sum(),
        "전체": by_type.sum(),
        **{kind: by_type.loc[kind] for kind in INVESTOR_TYPES},
    }
    rows = []
    for name, code in ROWS_04901:
        t = totals[name]
        rows.append({
            "CONV_OBJ_TP_CD": code, "INVST_NM": name,
            "ASK_TRDVOL": _int(t["sell_volume"]), "BID_TRDVOL": _int(t["buy_volume"]),
            "NETBID_TRDVOL": _int(t["buy_volume"] - t["sell_volume"]),
            "ASK_TRDVAL": _int(t["sell_value"]), "BID_TRDVAL": _int(t["buy_value"]),
            "NETBID_TRDVAL": _int(t["buy_value"] - t["sell_value"]),
        })  # fmt: skip
    return rows


def _stock_quotes(
    req: SandboxRequest, state: SandboxState, markets: tuple[str, ...]
) -> pd.DataFrame:
    """The stocks of `mktId` (one of `markets`, else none) on trdDd, with `traded` False
    (every price "-") for a date that is no published session, as 04301 answers it."""
    m = state.market
    d, mkt = _ymd(req.form.get("trdDd")), req.form.get("mktId", "")
    published = last_data_session(m, state.now())
    if d is None or d < START or published is None or mkt not in markets:
        return stock_quotes(m, START).iloc[:0]
    session = d <= published and m.session_row(d) is not None and not _closed_by_fault(state, d)
    quotes = stock_quotes(m, d if session else published).assign(traded=session)
    return quotes if mkt == "ALL" else quotes[quotes["mkt_id"] == mkt]


def _stock_prices(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT01501 전종목 시세: every stock of mktId (STK, KSQ, ALL) on trdDd; on a day
    without trading every price "-", FLUC_TP_CD "3" and LIST_SHRS kept (the real 2021-01-23)."""
    rows = []
    for r in _stock_quotes(req, state, ("STK", "KSQ", "ALL")).itertuples(index=False):
        change = r.close - r.prev_close
        prices = (
            (_int(r.close), _updown(change), _int(change), _dec(_pct(change, r.prev_close), False),
             _int(r.open), _int(r.high), _int(r.low), _int(r.volume), _int(r.traded_value),
             _int(r.market_cap))
            if r.traded else ("-", "3", *("-",) * 8)
        )  # fmt: skip
        rows.append({
            "ISU_SRT_CD": r.code, "ISU_CD": r.isin, "ISU_ABBRV": r.name,
            "MKT_NM": MARKET_NAMES[r.mkt_id], "SECT_TP_NM": r.section,
            **dict(zip(FIELDS_01501_PRICES, prices, strict=True)),
            "LIST_SHRS": _int(r.listed_shares), "MKT_ID": r.mkt_id,
        })  # fmt: skip
    return rows


def _stock_sectors(req: SandboxRequest, state: SandboxState) -> list[dict[str, str]]:
    """MDCSTAT03901 업종분류 현황: every stock of mktId (STK or KSQ only, as the screen offers)
    with its industry on trdDd; prices "-" on a day without trading (a guess: no capture)."""
    rows = []
    for r in _stock_quotes(req, state, ("STK", "KSQ")).itertuples(index=False):
        change = r.close - r.prev_close
        rows.append({
            "ISU_SRT_CD": r.code, "ISU_ABBRV": r.name, "MKT_TP_NM": MARKET_NAMES[r.mkt_id],
            "IDX_IND_NM": r.sector,
            "TDD_CLSPRC": _int(r.close) if r.traded else "-",
            "CMPPREVDD_PRC": _int(change) if r.traded else "-",
            "FLUC_RT": _dec(_pct(change, r.prev_close), False) if r.traded else "-",
            "MKTCAP": _int(r.market_cap) if r.traded else "-",
            "FLUC_TP_CD": _updown(change) if r.traded else "3",
        })  # fmt: skip
    return rows


SCREENS: dict[str, Callable[[SandboxRequest, SandboxState], list[dict[str, str]]]] = {
    "MDCSTAT04601": _master,
    "MDCSTAT04301": _prices,
    "MDCSTAT04401": _period_change,
    "MDCSTAT05001": _pdf,
    "MDCSTAT05901": _tracking,
    "MDCSTAT06001": _deviation,
    "MDCSTAT04901": _investors_period,
    "MDCSTAT04902": _investors_daily,
    "MDCSTAT01501": _stock_prices,
    "MDCSTAT03901": _stock_sectors,
}
# The row list's key where a screen does not use "output" (KRX's grid templates name it).
ENVELOPES = {"MDCSTAT01501": "OutBlock_1", "MDCSTAT03901": "block1"}


def data(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """POST getJsonData.cmd: login check, then the screen named by `bld`."""
    status = session_status(req, state)
    if status == "dead" or (status == "anonymous" and state.config.require_login):
        return html_response("LOGOUT", 400)
    bld = req.form.get("bld", "")
    name = bld.removeprefix(BLD_PREFIX) if bld.startswith(BLD_PREFIX) else ""
    screen = SCREENS.get(name)
    if screen is None:
        return html_response("<html><body><h1>잘못된 요청입니다.</h1></body></html>", 400)
    return _output(state, screen(req, state), ENVELOPES.get(name, "output"))


# ---- Open API -------------------------------------------------------------------------------


def _openapi_rows(m: Market, d: date) -> list[dict[str, str]]:
    daily = m.daily(d)
    if daily is None:
        return []
    bas = d.strftime("%Y%m%d")
    rows = []
    for r in daily.itertuples(index=False):
        change = r.close - r.prev_close
        idx_close, idx_change, idx_pct = _openapi_index_fields(r)
        rows.append({
            "ACC_TRDVAL": str(r.traded_value), "ACC_TRDVOL": str(r.volume), "BAS_DD": bas,
            "CMPPREVDD_IDX": idx_change, "CMPPREVDD_PRC": str(change),
            "FLUC_RT": _dec(_pct(change, r.prev_close), False), "FLUC_RT_IDX": idx_pct,
            "IDX_IND_NM": r.index_name, "INVSTASST_NETASST_TOTAMT": str(r.net_assets),
            "ISU_CD": r.ticker, "ISU_NM": r.name, "LIST_SHRS": str(r.listed_shares),
            "MKTCAP": str(r.market_cap), "NAV": _dec(r.nav, False), "OBJ_STKPRC_IDX": idx_close,
            "TDD_CLSPRC": str(r.close), "TDD_HGPRC": str(r.high), "TDD_LWPRC": str(r.low),
            "TDD_OPNPRC": str(r.open),
        })  # fmt: skip
    return rows


def openapi(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """etf_bydd_trd: AUTH_KEY, daily quota, T+1 publication, `{"OutBlock_1": [...]}`."""
    key = req.headers.get("auth_key") or req.query.get("AUTH_KEY", "")
    if key not in state.config.openapi_keys:
        return json_response({"respMsg": "Unauthorized Key", "respCode": "401"}, 401)
    now = state.now()
    with state.lock:
        quota = state.extra.setdefault(STATE_KEY, {}).setdefault("openapi_quota", {})
        used = quota[(key, now.date())] = quota.get((key, now.date()), 0) + 1
    if used > state.config.openapi_daily_limit:
        return json_response({"respMsg": "Exceeded Daily Limit", "respCode": "429"}, 429)
    if req.method == "POST":
        if "application/json" not in req.headers.get("content-type", ""):
            return json_response({"OutBlock_1": []})
        bas = req.json.get("basDd") if isinstance(req.json, dict) else None
    else:
        bas = req.query.get("basDd")
    d = _ymd(bas if isinstance(bas, str) else None)
    if d is None or d < START or not openapi_published(d, now):
        return json_response({"OutBlock_1": []})
    rows = [] if _closed_by_fault(state, d) else _openapi_rows(state.market, d)
    return json_response({"OutBlock_1": rows})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", DATA_PATH): data,
    ("GET", LOGIN_PAGE_PATH): login_page,
    ("GET", LOGIN_JSP_PATH): login_page,
    ("POST", LOGIN_POST_PATH): login,
    ("GET", OPENAPI_PATH): openapi,
    ("POST", OPENAPI_PATH): openapi,
}
