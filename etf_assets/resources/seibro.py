"""SEIBroClient: every ETF distribution (분배금) from SEIBro, the Korea Securities Depository's
portal (docs/seibro.md). No login, no key.

Transport rules that come from the wire:
* The body is XML and must be sent as `application/xml`: a form-encoded one gets HTTP 200 with
  `<WARNING>서버오류2`, so success is decided by the body, never by the status.
* An answer holds at most 30 rows and `START_PAGE` is a row offset. A range is fetched as its
  count, then pages at offsets 1, 31, 61, … until an answer brings no row not already held (the
  count is not trusted to end the loop: rows shift between pages, so a row can come twice);
  rows are deduplicated by (ISIN, record date), and fewer distinct rows than the count is an
  error (`SEIBroIncomplete`), never a silent gap.
* Long ranges are split into calendar months, so no request asks for more than a month of
  record dates and a backfill since 2002 is a few requests per month.
* SEIBro's firewall resets connections; urllib3 retries resets, timeouts and 5xx with backoff.
  Its limit is unpublished (collectors run at 4–20 requests a second): one process-wide pace,
  default `settings.SEIBRO_REQUESTS_PER_SECOND`.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
from pydantic import Field, PrivateAttr

from etf_assets import settings
from etf_assets.errors import SEIBroError, SEIBroIncomplete
from etf_assets.parsing.seibro import (
    ACTION_COUNT,
    ACTION_ROWS,
    FIELD_ISIN,
    FIELD_RECORD_DATE,
    PAGE_ROWS,
    Row,
    answer_count,
    parse_answer,
    request_body,
)
from etf_assets.partitions import month_windows
from etf_assets.resources.http import (
    RequestCounter,
    XMLService,
    get_rate_limiter,
    post_xml,
    shared_session,
)

SERVICE = "seibro"
PATH = "/websquare/engine/proworks/callServletService.jsp"
REFERER_PATH = "/websquare/control.jsp?w2xPath=/IPORTAL/user/etf/BIP_CNTS06030V.xml&menuNo=179"
SCREEN = "분배금지급현황"
XML_SERVICE = XMLService("SEIBro", "SEIBRO_URL", PATH, REFERER_PATH, SCREEN, SEIBroError)


class SEIBroClient(dg.ConfigurableResource):
    """Client of SEIBro's ETF distribution screen: raw rows, every field as SEIBro sent it;
    `etf_assets.parsing.seibro.distributions_frame` types them."""

    url: str = Field(default=settings.SEIBRO_URL, description="SEIBro base URL (SEIBRO_URL).")
    requests_per_second: float = Field(
        default=settings.SEIBRO_REQUESTS_PER_SECOND,
        description="Process-wide pace of SEIBro requests, per second.",
    )
    max_workers: int = Field(
        default=4, description="Months fetched concurrently (the pace still bounds the rate)."
    )
    timeout_s: float = Field(default=20.0, description="Connect and read timeout per request.")
    max_retries: int = Field(
        default=4, description="urllib3 retries on connection resets, timeouts and 502/503/504."
    )

    _requests: RequestCounter = PrivateAttr(default_factory=RequestCounter)

    @property
    def request_count(self) -> int:
        """HTTP requests this client sent (urllib3 retries not counted)."""
        return self._requests.value

    def fetch_distributions(self, start: date, end: date, *, isin: str = "") -> list[Row]:
        """Every payout with a record date in [start, end], of every fund unless `isin` names
        one: one row per (ISIN, record date), month by month."""
        rows: list[Row] = []
        for window_start, window_end in month_windows(start, end):
            rows.extend(self.fetch_window(window_start, window_end, isin=isin))
        return rows

    def fetch_window(self, start: date, end: date, *, isin: str = "") -> list[Row]:
        """One range: its count, then pages by row offset until one brings no new row, or a
        short page once the count is reached (the end, without asking past it)."""
        when = f"record dates {start}…{end}" + (f", ISIN {isin}" if isin else "")
        expected = answer_count(self._post(request_body(ACTION_COUNT, start, end, isin=isin), when))
        held: dict[tuple[str, str], Row] = {}
        offset = 1
        while True:
            body = request_body(ACTION_ROWS, start, end, start_row=offset, isin=isin)
            page = parse_answer(self._post(body, when)).rows
            new = {_key(row): row for row in page if _key(row) not in held}
            held.update(new)
            if not new or (len(held) >= expected and len(page) < PAGE_ROWS):
                break
            offset += len(page)
        if len(held) < expected:
            raise SEIBroIncomplete(
                f"paging {when} brought {len(held)} distinct rows, SEIBro counts {expected}: "
                "rows changed while paging; run it again",
                screen=SCREEN,
            )
        return list(held.values())

    def _post(self, body: str, when: str) -> str:
        """One paced POST; transport failures (after urllib3's retries) → SEIBroError."""
        get_rate_limiter(SERVICE, self.requests_per_second).acquire()
        self._requests.add()
        session = shared_session(self.url, self.max_retries, self.max_workers)
        return post_xml(
            XML_SERVICE, session, self.url, body, when,
            timeout_s=self.timeout_s, max_retries=self.max_retries,
        )  # fmt: skip


def _key(row: Row) -> tuple[str, str]:
    """A payout's identity: (ISIN, record date)."""
    return (row.get(FIELD_ISIN, "").strip().upper(), row.get(FIELD_RECORD_DATE, "").strip())
