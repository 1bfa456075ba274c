"""SEIBro's distribution answers and request bodies, parsed without a server.

The fixture is reconstructed (no captured body exists): the answer shape collectors' parsers
read, filled with real payouts from a public ledger built from SEIBro (see its comment).
"""

from __future__ import annotations

import math
from datetime import date
from xml.etree import ElementTree

import pytest

from etf_assets.errors import ParseError, SEIBroBadAnswer, SEIBroServerWarning
from etf_assets.parsing.seibro import (
    ACTION_COUNT,
    ACTION_ROWS,
    PAGE_ROWS,
    answer_count,
    distributions_frame,
    kind_of,
    parse_answer,
    request_body,
    ticker_from_isin,
)
from etf_assets_tests.helpers import WIRE_SAMPLES

FIXTURE = (WIRE_SAMPLES / "seibro_distributions_reconstructed.xml").read_text(encoding="utf-8")
# The real payouts the fixture carries: (ticker, record date, pay date, KRW per share, kind).
REAL = {
    ("0036D0", date(2026, 7, 15)): (date(2026, 7, 20), 66.0, "income"),
    ("0036D0", date(2026, 8, 20)): (date(2026, 8, 21), 12998.650125252525, "liquidation"),
    ("0008S0", date(2026, 8, 14)): (date(2026, 8, 19), 103.0, "income"),
    ("0015E0", date(2026, 8, 31)): (date(2026, 9, 2), 20.0, "income"),
    ("0004G0", date(2026, 8, 31)): (date(2026, 9, 1), 26.0, "income"),
    ("483290", date(2026, 8, 31)): (date(2026, 9, 2), 108.0, "income"),
}


def _doc(*results: str) -> str:
    data = "".join(
        f'<data vectorkey="{i}"><result>{r}</result></data>' for i, r in enumerate(results)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><vector result="{len(results)}">{data}</vector>'


ROW = (
    '<ISIN value="KR7483290003"/><KOR_SECN_NM value="{name}"/><RGT_STD_DT value="20260831"/>'
    '<TH1_PAY_TERM_BEGIN_DT value="20260902"/><ESTM_STDPRC value="{amount}"/>'
    '<TAXSTD value="9876.54"/><RGT_RSN_DTAIL_NM value="{reason}"/>'
)


def row(name: str = "KODEX 미국배당", amount: str = "108", reason: str = "이익분배") -> str:
    return ROW.format(name=name, amount=amount, reason=reason)


def test_fixture_rows_by_field_name_with_unknown_fields_kept() -> None:
    answer = parse_answer(FIXTURE)
    assert len(answer.rows) == len(REAL) and answer.count is None
    assert answer.rows[0]["BUNBE"] == "0.66"  # a field we do not use stays in the raw row
    frame = distributions_frame(answer.rows)
    got = {
        (r.ticker, r.record_date): (r.pay_date, r.amount_per_share_krw, r.kind)
        for r in frame.itertuples()
    }
    assert got == REAL
    liquidation = frame[frame["kind"] == "liquidation"].iloc[0]
    assert liquidation["reason"] == "청산분배" and liquidation["isin"] == "KR70036D0007"
    assert frame["tax_base_price_krw"].notna().all()


def test_field_order_and_outer_elements_do_not_matter() -> None:
    reordered = ElementTree.fromstring(FIXTURE)
    for result in reordered.iter("result"):
        children = list(result)
        for child in children:
            result.remove(child)
        result.extend(reversed(children))
    flat = (
        "<root>"
        + "".join(ElementTree.tostring(r, encoding="unicode") for r in reordered.iter("result"))
        + "</root>"
    )
    expected = distributions_frame(parse_answer(FIXTURE).rows)
    assert distributions_frame(parse_answer(flat).rows).equals(expected)


@pytest.mark.parametrize("wire", ["S&amp;P500", "S&amp;amp;P500"])
def test_names_are_unescaped(wire: str) -> None:
    frame = distributions_frame(parse_answer(_doc(row(name=f"KIWOOM 미국{wire}"))).rows)
    assert frame.loc[0, "name"] == "KIWOOM 미국S&P500"


def test_kinds_and_the_reason_text() -> None:
    assert (kind_of("이익분배"), kind_of("청산분배"), kind_of("특별분배")) == (
        "income", "liquidation", "other",
    )  # fmt: skip
    frame = distributions_frame(parse_answer(_doc(row(reason="특별분배"))).rows)
    assert frame.loc[0, "kind"] == "other" and frame.loc[0, "reason"] == "특별분배"


def test_decimals_and_thousands_separators_are_kept() -> None:
    frame = distributions_frame(parse_answer(_doc(row(amount="1,234.5678901"))).rows)
    assert math.isclose(frame.loc[0, "amount_per_share_krw"], 1234.5678901, rel_tol=0, abs_tol=0)


def test_ticker_from_isin_keeps_alphanumeric_codes() -> None:
    assert ticker_from_isin("KR70036D0007") == "0036D0"
    assert ticker_from_isin("KR7069500007") == "069500"
    with pytest.raises(ParseError, match="ISIN"):
        ticker_from_isin("0036D0")


def test_a_row_served_twice_is_kept_once() -> None:
    answer = parse_answer(_doc(row(), row()))
    assert len(answer.rows) == 2 and len(distributions_frame(answer.rows)) == 1


def test_missing_or_bad_values_name_the_field() -> None:
    with pytest.raises(ParseError, match="ESTM_STDPRC"):
        distributions_frame(parse_answer(_doc(row(amount=""))).rows)
    with pytest.raises(ParseError, match="ESTM_STDPRC"):
        distributions_frame(parse_answer(_doc(row(amount="1O8"))).rows)
    with pytest.raises(ParseError, match="RGT_STD_DT"):
        distributions_frame(parse_answer(_doc(row().replace("20260831", "2026083"))).rows)


def test_optional_fields_missing_are_null() -> None:
    bare = '<ISIN value="KR7483290003"/><RGT_STD_DT value="20260831"/><ESTM_STDPRC value="1"/>'
    frame = distributions_frame(parse_answer(_doc(bare)).rows)
    assert frame.loc[0, "pay_date"] is None and math.isnan(frame.loc[0, "tax_base_price_krw"])
    assert frame.loc[0, "kind"] == "other" and frame.loc[0, "reason"] is None


def test_count_and_empty_answers() -> None:
    count = '<vector result="1"><data vectorkey="0"><LIST_CNT value="193"/></data></vector>'
    assert answer_count(count) == 193
    empty = parse_answer('<?xml version="1.0" encoding="UTF-8"?>\n<vector result="0"/>')
    assert empty.rows == [] and empty.count is None
    assert distributions_frame(empty.rows).empty


def test_refusals_and_pages_that_are_not_xml_raise_typed_errors() -> None:
    with pytest.raises(SEIBroServerWarning, match="서버오류2"):
        parse_answer("<WARNING>서버오류2")
    with pytest.raises(SEIBroBadAnswer, match="not XML"):
        parse_answer("<html><body><p>점검 중<br></body></html>")
    with pytest.raises(SEIBroBadAnswer, match="HTML"):
        parse_answer("<html><body>점검 중</body></html>")
    with pytest.raises(SEIBroBadAnswer, match="neither result rows nor LIST_CNT"):
        answer_count('<vector result="0"/>')


def test_request_body_speaks_row_offsets() -> None:
    body = ElementTree.fromstring(
        request_body(ACTION_ROWS, date(2026, 8, 1), date(2026, 9, 2), start_row=31)
    )
    values = {child.tag: child.get("value") for child in body}
    assert body.tag == "reqParam" and body.get("action") == ACTION_ROWS
    assert values["START_PAGE"] == "31" and values["END_PAGE"] == str(30 + PAGE_ROWS)
    assert (values["fromRGT_STD_DT"], values["toRGT_STD_DT"]) == ("20260801", "20260902")
    assert values["isin"] == "" and values["MENU_NO"] == "179"
    count = ElementTree.fromstring(
        request_body(ACTION_COUNT, date(2026, 8, 1), date(2026, 8, 31), isin="KR7483290003")
    )
    assert count.get("action") == ACTION_COUNT
    assert {c.tag: c.get("value") for c in count}["isin"] == "KR7483290003"
    with pytest.raises(ValueError, match="row offset"):
        request_body(ACTION_ROWS, date(2026, 8, 1), date(2026, 8, 31), start_row=0)
