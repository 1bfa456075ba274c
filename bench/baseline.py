"""The plan's approach, re-implemented faithfully: the baseline `make bench` measures against.

The plan fetched its figures from KIS one ETF at a time with plain `requests`: one access token
issued up front, then, for every ETF in turn,
- AUM phase: inquire-price, then a fixed 50 ms sleep;
- tracking phase: inquire-price, nav-comparison-daily-trend and inquire-component-stock-price,
  then a fixed 150 ms sleep.
No connection reuse, no retries, no limiter beyond the sleeps. It estimated ~173 s for 1,029
ETFs. The universe comes from one KRX master request (MDCSTAT04601), as pykrx fetches it.
Nothing in etf_assets uses this module; it exists to be measured (and its wire is tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests

from etf_assets.resources.kis import (
    PATH_COMPONENTS,
    PATH_NAV_DAILY,
    PATH_PRICE,
    PATH_TOKEN,
    TR_COMPONENTS,
    TR_NAV_DAILY,
    TR_PRICE,
)

PLAN_ESTIMATE_S = 173.0
PLAN_ESTIMATE_ETFS = 1029
AUM_SLEEP_S = 0.05  # per ETF, after its one call
TRACKING_SLEEP_S = 0.15  # per ETF, after its three calls
EOK_KRW = 100_000_000  # etf_ntas_ttam is in 억원

KRX_DATA_PATH = "/comm/bldAttendant/getJsonData.cmd"
KRX_MASTER_BLD = "dbms/MDC/STAT/standard/MDCSTAT04601"


class PlanCallFailed(RuntimeError):
    """One baseline call got no usable answer (transport error, non-JSON, or rt_cd != "0")."""


@dataclass
class PlanPhase:
    """What one baseline phase did: per-ETF figures, per-ETF failures, calls sent, wall time."""

    name: str
    etfs: int
    calls: int = 0
    wall_s: float = 0.0
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def fetch_universe(data_url: str, timeout_s: float = 20.0) -> list[str]:
    """Every listed ETF's short code from the KRX master screen, sorted (one POST)."""
    resp = requests.post(
        data_url.rstrip("/") + KRX_DATA_PATH,
        data={"bld": KRX_MASTER_BLD},
        headers={"Referer": data_url.rstrip("/") + "/contents/MDC/MDI/outerLoader/index.cmd"},
        timeout=timeout_s,
    )
    resp.raise_for_status()
    return sorted(row["ISU_SRT_CD"] for row in resp.json()["output"])


class PlanKISClient:
    """The plan's KIS calls: module-level `requests` functions, a token held in memory."""

    def __init__(
        self, base_url: str, app_key: str, app_secret: str, timeout_s: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.timeout_s = timeout_s
        self.token: str | None = None
        self.calls = 0

    def __repr__(self) -> str:
        return f"PlanKISClient(base_url={self.base_url!r})"

    def issue_token(self) -> None:
        """POST /oauth2/tokenP once; the token is used for every later call."""
        resp = requests.post(
            self.base_url + PATH_TOKEN,
            json={
                "grant_type": "client_credentials",
                "appkey": self.app_key,
                "appsecret": self.app_secret,
            },
            timeout=self.timeout_s,
        )
        body = resp.json()
        if "access_token" not in body:
            raise PlanCallFailed(f"token issue refused: {body.get('error_code')}")
        self.token = str(body["access_token"])

    def _get(self, path: str, tr_id: str, params: dict[str, str]) -> dict[str, Any]:
        self.calls += 1
        try:
            resp = requests.get(
                self.base_url + path,
                params=params,
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "authorization": f"Bearer {self.token}",
                    "appkey": self.app_key,
                    "appsecret": self.app_secret,
                    "tr_id": tr_id,
                    "custtype": "P",
                },
                timeout=self.timeout_s,
            )
            body = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise PlanCallFailed(f"{tr_id}: {type(exc).__name__}") from exc
        if str(body.get("rt_cd")) != "0":
            raise PlanCallFailed(f"{tr_id}: {body.get('msg_cd')} {body.get('msg1')}")
        return body

    def inquire_price(self, ticker: str) -> dict[str, str]:
        """ETF/ETN 현재가: the raw `output` (price, NAV, shares, net assets in 억원)."""
        params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": ticker}
        return self._get(PATH_PRICE, TR_PRICE, params)["output"]

    def nav_daily_trend(self, ticker: str, start: date, end: date) -> list[dict[str, str]]:
        """NAV 비교추이(일): one call, at most 100 rows, newest first (the plan did not page)."""
        params = {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": ticker,
            "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
            "FID_INPUT_DATE_2": end.strftime("%Y%m%d"),
        }
        return list(self._get(PATH_NAV_DAILY, TR_NAV_DAILY, params)["output"] or [])

    def components(self, ticker: str) -> list[dict[str, str]]:
        """ETF 구성종목시세: the constituents (`output2`) of one creation unit."""
        params = {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": ticker,
            "FID_COND_SCR_DIV_CODE": "11216",
        }
        return list(self._get(PATH_COMPONENTS, TR_COMPONENTS, params)["output2"] or [])


def _run(
    name: str,
    client: PlanKISClient,
    tickers: Iterable[str],
    per_etf: Callable[[str], dict[str, Any]],
    sleep_s: float,
    sleep: Callable[[float], None],
) -> PlanPhase:
    todo = list(tickers)
    phase = PlanPhase(name=name, etfs=len(todo))
    calls_before = client.calls
    started = time.monotonic()
    for ticker in todo:
        try:
            phase.results[ticker] = per_etf(ticker)
        except PlanCallFailed as exc:
            phase.errors[ticker] = str(exc)
        sleep(sleep_s)
    phase.wall_s = time.monotonic() - started
    phase.calls = client.calls - calls_before
    return phase


def run_aum_phase(
    client: PlanKISClient, tickers: Iterable[str], sleep: Callable[[float], None] = time.sleep
) -> PlanPhase:
    """AUM as the plan did it: inquire-price per ETF, 50 ms apart."""

    def per_etf(ticker: str) -> dict[str, Any]:
        out = client.inquire_price(ticker)
        return {
            "net_assets_krw": int(out["etf_ntas_ttam"]) * EOK_KRW,
            "nav": float(out["nav"]),
            "close": int(out["stck_prpr"]),
            "listed_shares": int(out["etf_crcl_stcn"]),
        }

    return _run("aum", client, tickers, per_etf, AUM_SLEEP_S, sleep)


def run_tracking_phase(
    client: PlanKISClient,
    tickers: Iterable[str],
    session: date,
    sleep: Callable[[float], None] = time.sleep,
) -> PlanPhase:
    """Tracking as the plan did it: three KIS calls per ETF, then 150 ms."""

    def per_etf(ticker: str) -> dict[str, Any]:
        quote = client.inquire_price(ticker)
        trend = client.nav_daily_trend(ticker, session - timedelta(days=365), session)
        constituents = client.components(ticker)
        return {
            "nav": float(quote["nav"]),
            "trend_sessions": len(trend),
            "newest_trend_nav": float(trend[0]["nav"]) if trend else None,
            "constituents": len(constituents),
        }

    return _run("tracking", client, tickers, per_etf, TRACKING_SLEEP_S, sleep)
