"""The sandbox's SEIBro distribution screen against its wire rules and the market's payouts.

Rules (docs/seibro.md): only an `application/xml` body is answered; START_PAGE is a row
offset and an answer holds at most 30 rows; the count action answers LIST_CNT; names with `&`
travel as `&amp;`; an empty range has no `result`; rows may shift between pages; the firewall
resets connections. The client's paging is checked against the same ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pandas as pd
import pytest
import requests

from etf_assets.errors import SEIBroIncomplete
from etf_assets.parsing.seibro import (
    ACTION_COUNT,
    ACTION_ROWS,
    PAGE_ROWS,
    answer_count,
    distributions_frame,
    parse_answer,
    request_body,
)
from etf_assets.partitions import KST, month_windows
from etf_assets.resources.seibro import PATH, SEIBroClient
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 20, 19, 0, tzinfo=KST)
AUGUST = (date(2026, 8, 1), date(2026, 8, 31))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _fresh(sandbox: Sandbox) -> None:
    sandbox.reset()


@pytest.fixture(scope="module")
def market(sandbox: Sandbox) -> Market:
    return sandbox.market


def post(sb: Sandbox, body: str, content_type: str = "application/xml; charset=UTF-8") -> str:
    resp = requests.post(
        sb.url + PATH, data=body.encode("utf-8"), headers={"Content-Type": content_type}, timeout=10
    )
    assert resp.status_code == 200
    return resp.content.decode("utf-8")


def page(sb: Sandbox, start: date, end: date, offset: int, **extra: str) -> list[dict[str, str]]:
    return parse_answer(
        post(sb, request_body(ACTION_ROWS, start, end, start_row=offset, **extra))
    ).rows


def client(sb: Sandbox) -> SEIBroClient:
    return SEIBroClient(url=sb.url, requests_per_second=24.0)


def keys(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(r["ISIN"], r["RGT_STD_DT"]) for r in rows]


def truth_keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return [
        (i, d.strftime("%Y%m%d")) for i, d in zip(frame["isin"], frame["record_date"], strict=True)
    ]


def test_only_xml_bodies_are_answered(sandbox: Sandbox) -> None:
    body = request_body(ACTION_ROWS, *AUGUST)
    assert post(sandbox, body, "application/x-www-form-urlencoded") == "<WARNING>서버오류2"
    assert post(sandbox, "not xml") == "<WARNING>서버오류2"
    assert post(sandbox, body.replace(ACTION_ROWS, "noSuchAction")) == "<WARNING>서버오류2"


def test_count_and_pages_by_row_offset(sandbox: Sandbox, market: Market) -> None:
    truth = market.distributions(*AUGUST)
    assert len(truth) > 2 * PAGE_ROWS
    assert answer_count(post(sandbox, request_body(ACTION_COUNT, *AUGUST))) == len(truth)
    first, second = page(sandbox, *AUGUST, 1), page(sandbox, *AUGUST, 31)
    assert keys(first) == truth_keys(truth.iloc[:30]) and keys(second) == truth_keys(
        truth.iloc[30:60]
    )
    assert keys(page(sandbox, *AUGUST, 2)) == truth_keys(truth.iloc[1:31])  # an offset, not a page
    big = request_body(ACTION_ROWS, *AUGUST).replace('END_PAGE value="30"', 'END_PAGE value="999"')
    assert len(parse_answer(post(sandbox, big)).rows) == PAGE_ROWS  # 30 whatever END_PAGE says
    assert page(sandbox, *AUGUST, len(truth) + 1) == []


def test_filters_and_values_match_the_market(sandbox: Sandbox, market: Market) -> None:
    truth = market.distributions(*AUGUST)
    fund = truth.iloc[0]
    rows = page(sandbox, *AUGUST, 1, isin=fund["isin"])
    assert keys(rows) == truth_keys(truth[truth["isin"] == fund["isin"]])
    typed = distributions_frame(rows).iloc[0]
    assert typed["amount_per_share_krw"] == fund["amount_krw"] and typed["name"] == fund["name"]
    assert (
        typed["pay_date"] == fund["pay_date"]
        and typed["tax_base_price_krw"] == fund["tax_base_price"]
    )


def test_empty_range_has_no_result(sandbox: Sandbox) -> None:
    body = post(sandbox, request_body(ACTION_ROWS, date(2002, 10, 1), date(2002, 10, 13)))
    assert "<result" not in body and parse_answer(body).rows == []
    future = request_body(ACTION_COUNT, date(2027, 6, 1), date(2027, 6, 30))
    assert answer_count(post(sandbox, future)) == 0  # not announced yet by the sandbox clock


def test_ampersands_travel_escaped(sandbox: Sandbox, market: Market) -> None:
    truth = market.distributions(date(2026, 1, 1), date(2026, 10, 31))
    fund = truth[truth["name"].str.contains("&")].iloc[0]
    raw = post(
        sandbox,
        request_body(ACTION_ROWS, fund["record_date"], fund["record_date"], isin=fund["isin"]),
    )
    assert fund["name"].replace("&", "&amp;") in raw
    assert distributions_frame(parse_answer(raw).rows).loc[0, "name"] == fund["name"]


def test_shifting_rows_re_serve_the_previous_last_row(sandbox: Sandbox) -> None:
    sandbox.set_faults("seibro", seibro_shift_rows=True)
    first, second = page(sandbox, *AUGUST, 1), page(sandbox, *AUGUST, 31)
    assert keys(second)[0] == keys(first)[-1]


def test_resets_fail_a_bare_request_and_are_retried_by_the_client(
    sandbox: Sandbox, market: Market
) -> None:
    sandbox.set_faults("seibro", reset_next_n=1)
    with pytest.raises(requests.ConnectionError):
        post(sandbox, request_body(ACTION_COUNT, *AUGUST))
    sandbox.set_faults("seibro", reset_next_n=3)
    rows = client(sandbox).fetch_window(*AUGUST)
    assert sorted(keys(rows)) == sorted(truth_keys(market.distributions(*AUGUST)))
    assert sandbox.stats()["by_status"]["0"] == 4


def test_client_pages_until_no_new_row(sandbox: Sandbox, market: Market) -> None:
    truth = market.distributions(*AUGUST)
    seibro = client(sandbox)
    rows = seibro.fetch_window(*AUGUST)
    assert keys(rows) == truth_keys(truth)
    pages = -(-len(truth) // PAGE_ROWS) + (len(truth) % PAGE_ROWS == 0)
    assert seibro.request_count == 1 + pages  # the count, then the pages; none past a short one


def test_client_deduplicates_shifted_rows(sandbox: Sandbox, market: Market) -> None:
    sandbox.set_faults("seibro", seibro_shift_rows=True)
    rows = client(sandbox).fetch_window(*AUGUST)
    assert sorted(keys(rows)) == sorted(truth_keys(market.distributions(*AUGUST)))


def test_client_splits_long_ranges_into_months(sandbox: Sandbox, market: Market) -> None:
    start, end = date(2026, 3, 15), date(2026, 6, 10)
    assert list(month_windows(start, end)) == [
        (date(2026, 3, 15), date(2026, 3, 31)), (date(2026, 4, 1), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 5, 31)), (date(2026, 6, 1), date(2026, 6, 10)),
    ]  # fmt: skip
    rows = client(sandbox).fetch_distributions(start, end)
    assert sorted(keys(rows)) == sorted(truth_keys(market.distributions(start, end)))


def test_fewer_rows_than_the_count_is_an_error(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seibro = client(sandbox)
    post_for_real = SEIBroClient._post

    def count_one_more(self: SEIBroClient, body: str, when: str) -> str:
        text = post_for_real(self, body, when)
        if ACTION_COUNT in body:
            return text.replace(
                f'value="{answer_count(text)}"', f'value="{answer_count(text) + 1}"'
            )
        return text

    monkeypatch.setattr(SEIBroClient, "_post", count_one_more)
    with pytest.raises(SEIBroIncomplete, match="SEIBro counts"):
        seibro.fetch_window(*AUGUST)
