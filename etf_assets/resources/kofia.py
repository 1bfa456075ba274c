"""KOFIAClient: every public fund's monthly fees and costs from KOFIA 전자공시 (dis.kofia.or.kr,
the Korea Financial Investment Association's disclosure system; docs/kofia.md). No login, no key.

Transport rules that come from the wire:
* One POST of a ProFrame XML message per month, sent as `application/xml`; success is decided
  by the body (an error comes as HTTP 200 with a `pfmResponseCode`), never by the status.
* A month is asked for by its last business day (`base_date`): KOFIA has figures on that day
  only, and answers any other day, or a month it has not disclosed yet, with no row.
* The answer is one document of every matching fund (no paging). The ETF name filter keeps it
  at ~1.6 MB; collectors report long answers cut short, which urllib3 cannot see, so a body
  that does not parse is an error Dagster's retry policy retries.
* KOFIA publishes no limit: one process-wide pace, default `settings.KOFIA_REQUESTS_PER_SECOND`;
  urllib3 retries resets, timeouts and 502/503/504 with backoff.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
from pydantic import Field, PrivateAttr

from etf_assets import partitions, settings
from etf_assets.errors import KOFIAError, KOFIANotYetDisclosed
from etf_assets.parsing.kofia import ETF_NAME_FILTER, Row, parse_answer, request_body
from etf_assets.resources.http import (
    RequestCounter,
    XMLService,
    get_rate_limiter,
    post_xml,
    shared_session,
)

SERVICE = "kofia"
PATH = "/proframeWeb/XMLSERVICES/"
REFERER_PATH = "/websquare/index.jsp?w2xPath=/wq/fundann/DISFundFeeCMS.xml"
SCREEN = "펀드별 보수비용비교"
XML_SERVICE = XMLService("KOFIA", "KOFIA_URL", PATH, REFERER_PATH, SCREEN, KOFIAError)


def base_date(month: date) -> date:
    """The business day KOFIA files `month`'s figures under: its last XKRX session, or 31
    December when that is a weekday (KRX's year-end closure is a business day for funds:
    KOFIA has figures on 2025-12-31)."""
    last = partitions.month_days(month)[-1]
    if last.month == 12 and last.weekday() < 5:
        return last
    return partitions.session_on_or_before(last)


class KOFIAClient(dg.ConfigurableResource):
    """Client of KOFIA's fund fee and cost screen: raw rows, every field as KOFIA sent it;
    `etf_assets.parsing.kofia.costs_frame` types them."""

    url: str = Field(default=settings.KOFIA_URL, description="KOFIA base URL (KOFIA_URL).")
    requests_per_second: float = Field(
        default=settings.KOFIA_REQUESTS_PER_SECOND,
        description="Process-wide pace of KOFIA requests, per second.",
    )
    max_workers: int = Field(
        default=2, description="Months fetched concurrently (the pace still bounds the rate)."
    )
    timeout_s: float = Field(
        default=60.0, description="Connect and read timeout per request (an answer is ~1.6 MB)."
    )
    max_retries: int = Field(
        default=3, description="urllib3 retries on connection resets, timeouts and 502/503/504."
    )
    name_filter: str = Field(
        default=ETF_NAME_FILTER,
        description="KOFIA's fund-name filter: 상장지수 (every ETF's legal name holds it) or "
        "empty for all ~20,000 public funds.",
    )

    _requests: RequestCounter = PrivateAttr(default_factory=RequestCounter)

    @property
    def request_count(self) -> int:
        """HTTP requests this client sent (urllib3 retries not counted)."""
        return self._requests.value

    def fetch_month(self, month: date) -> tuple[date, list[Row]]:
        """`month`'s base date and every fund class's row; a month KOFIA answers with no row
        raises `KOFIANotYetDisclosed`."""
        day = base_date(month)
        when = f"{month:%Y-%m} (base date {day:%Y%m%d})"
        answer = parse_answer(self._post(request_body(day, self.name_filter), when))
        if not answer.rows:
            disclosed_by = (month + timedelta(days=62)).replace(day=1)
            raise KOFIANotYetDisclosed(
                f"no fund for {when}: KOFIA has not disclosed that month yet (it does within "
                f"the following month); run it again before {disclosed_by:%Y-%m-%d}",
                screen=SCREEN,
            )
        return day, answer.rows

    def _post(self, body: str, when: str) -> str:
        """One paced POST; transport failures (after urllib3's retries) → KOFIAError."""
        get_rate_limiter(SERVICE, self.requests_per_second).acquire()
        self._requests.add()
        session = shared_session(self.url, self.max_retries, self.max_workers)
        return post_xml(
            XML_SERVICE, session, self.url, body, when,
            timeout_s=self.timeout_s, max_retries=self.max_retries,
        )  # fmt: skip
