"""KOFIA's fee answer parsed, and its funds matched to tickers: pure, no server."""

from datetime import date
from xml.etree import ElementTree

import pandas as pd
import pytest

from etf_assets.errors import KOFIABadAnswer, ParseError
from etf_assets.metrics.costs import match_funds, normalized_name, without_class
from etf_assets.parsing.kofia import costs_frame, parse_answer, percent, request_body
from etf_assets_tests.wire_samples import sample

REAL = "kofia_DISFundFeeCmsSO_tdf.trimmed.json"  # real rows, reconstructed envelope: its _note


def real_body(count: int | None = 4) -> str:
    """The captured answer; the trimming collector kept the full answer's count (20500), so
    `count` puts the rows kept in its place (None: as captured)."""
    body = sample(REAL)["_response_body"]
    return body if count is None else body.replace(">20500<", f">{count}<")


def test_the_request_is_the_message_collectors_send() -> None:
    root = ElementTree.fromstring(request_body(date(2026, 1, 30)))
    assert root.findtext("proframeHeader/pfmAppName") == "FS-DIS2"
    assert root.findtext("proframeHeader/pfmSvcName") == "DISFundFeeCmsSO"
    assert root.findtext("proframeHeader/pfmFnName") == "select"
    assert root.findtext("DISCondFuncDTO/tmpV30") == "20260130"
    assert root.findtext("DISCondFuncDTO/tmpV12") == "상장지수"


def test_a_real_answer_parses_with_its_exact_values() -> None:
    answer = parse_answer(real_body())
    assert answer.total == 4 and len(answer.rows) == 4
    assert answer.rows[0]["vGridBtn1"] == "" and "tmpV100" in answer.rows[0]  # unknown kept
    frame = costs_frame(answer.rows).set_index("kofia_fund_code")
    first = frame.loc["K55207CP5447"]
    assert first["kofia_issuer"] == "교보악사자산운용"
    assert first["kofia_fund_name"].endswith("(채권혼합-재간접형)ClassC")
    assert first["inception_date"] == date(2019, 5, 21)
    expected = {
        "management_fee_pct": 0.2, "sales_fee_pct": 0.54, "trustee_fee_pct": 0.03,
        "admin_fee_pct": 0.015, "total_fee_pct": 0.785, "category_average_fee_pct": 0.7126,
        "other_expenses_pct": 0.03, "ter_pct": 0.81, "front_load_pct": 0.0,
        "back_load_pct": 0.0, "trading_fee_pct": 0.4547,
    }  # fmt: skip
    assert {k: float(first[k]) for k in expected} == expected
    last = frame.loc["KR5309AB5642"]
    assert last["kofia_fund_name"] == "GB100년공모주증권자투자신탁 1[채권혼합]종류A1"
    assert (last["front_load_pct"], last["ter_pct"]) == (0.5, 0.95)
    # 보수합계 is the sum of the four fees in every real row (tmpV9, not a TER)
    parts = frame[["management_fee_pct", "sales_fee_pct", "trustee_fee_pct", "admin_fee_pct"]]
    assert (parts.sum(axis=1).round(6) == frame["total_fee_pct"]).all()


def test_an_answer_with_fewer_rows_than_its_count_is_cut_short() -> None:
    with pytest.raises(KOFIABadAnswer, match="4 rows of the 20500 it counts: cut short"):
        parse_answer(real_body(count=None))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<html><body>차단</body></html>", "an HTML page"),
        ("<root><message><DISCondFuncListDTO><selectMeta><tmpV1>x", "not XML"),
        (
            "<root><message><proframeHeader><pfmResponseCode>COMS0001</pfmResponseCode>"
            "<pfmResponseBasc>Unexpected element</pfmResponseBasc></proframeHeader>"
            "</message></root>",
            "error COMS0001: Unexpected element",
        ),
        ("<root><message></message></root>", "no DISCondFuncListDTO"),
    ],
)
def test_unusable_answers_say_what_they_are(text: str, message: str) -> None:
    with pytest.raises(KOFIABadAnswer, match=message):
        parse_answer(text)


@pytest.mark.parametrize(
    ("wire", "value"),
    [(".785", 0.785), ("0", 0.0), ("1.2", 1.2), ("", None), ("-", None), (" .05 ", 0.05)],
)
def test_rates_read_as_kofia_prints_them(wire: str, value: float | None) -> None:
    assert percent(wire, "tmpV12", "K55X") == value


def test_a_rate_that_is_no_number_names_field_and_fund() -> None:
    with pytest.raises(ParseError, match="field tmpV16 for ticker K55207CP5447"):
        percent("1.2.3", "tmpV16", "K55207CP5447")


def test_a_missing_ter_is_null_never_zero() -> None:
    rows = parse_answer(real_body()).rows
    rows[0]["tmpV12"] = ""
    assert pd.isna(costs_frame(rows)["ter_pct"].iloc[0])


def test_names_normalise_spacing_brackets_and_class_labels() -> None:
    krx = normalized_name("삼성 KODEX200 증권상장지수투자신탁[주식]")
    assert krx == normalized_name("삼성KODEX200증권상장지수투자신탁(주식)")
    assert without_class(normalized_name("삼성KODEX200증권상장지수투자신탁[주식]ClassE")) == krx
    assert without_class(normalized_name("X증권자투자신탁 1[채권혼합]종류A1")) == normalized_name(
        "X증권자투자신탁1(채권혼합)"
    )
    hedged = normalized_name("KB RISE 팔라듐선물인버스특별자산상장지수투자신탁(파생형)(H)")
    assert without_class(hedged) == hedged  # (H) is the hedge, never a class


def _listed(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(t, n, n, i, date(2020, 1, 6)) for t, n, i in rows],
        columns=["ticker", "name", "name_full", "issuer", "listing_date"],
    )


def _funds(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(c, n, i, date(2020, 1, 3)) for c, n, i in rows],
        columns=["kofia_fund_code", "kofia_fund_name", "kofia_issuer", "inception_date"],
    )


def test_matching_by_name_class_and_closest_name() -> None:
    listed = _listed(
        ("069500", "삼성 KODEX200 증권상장지수투자신탁[주식]", "삼성자산운용"),
        ("0000D0", "미래에셋 TIGER 미국S&P500증권상장지수투자신탁(주식)", "미래에셋자산운용"),
        ("122630", "삼성 KODEX 레버리지 증권상장지수투자신탁[주식-파생형]", "삼성자산운용"),
        ("999990", "삼성 KODEX 없는펀드 증권상장지수투자신탁[주식]", "삼성자산운용"),
    )
    funds = _funds(
        ("KR5105352888", "삼성KODEX200증권상장지수투자신탁[주식]", "삼성자산운용(주)"),
        (
            "K55101AAAAA1",
            "미래에셋TIGER미국S&P500증권상장지수투자신탁(주식)ClassE",
            "미래에셋자산운용",
        ),
        ("KR5105191153", "삼성KODEX레버리지증권상장지수투자신탁[주식파생형]", "삼성자산운용"),
        ("K55105ZZZZZ9", "삼성인덱스증권투자신탁[주식]ClassC", "삼성자산운용"),
    )
    matching = match_funds(funds, listed)
    methods = dict(zip(matching.matched["ticker"], matching.matched["match_method"], strict=True))
    assert methods == {
        "069500": "full_name", "0000D0": "full_name_without_class", "122630": "closest_name",
    }  # fmt: skip
    (left,) = matching.unmatched.itertuples(index=False)
    assert left.ticker == "999990"  # its candidates: the issuer's funds no ticker took
    assert [c.split(" (")[0] for c in left.closest_kofia_funds] == [
        "삼성KODEX레버리지증권상장지수투자신탁[주식파생형]", "삼성인덱스증권투자신탁[주식]ClassC",
    ]  # fmt: skip


def test_a_fund_two_tickers_share_matches_neither() -> None:
    listed = _listed(
        ("111110", "삼성 KODEX200 증권상장지수투자신탁[주식]", "삼성자산운용"),
        ("111120", "삼성KODEX200증권상장지수투자신탁(주식)", "삼성자산운용"),
    )
    funds = _funds(("KR5105352888", "삼성KODEX200증권상장지수투자신탁[주식]", "삼성자산운용"))
    matching = match_funds(funds, listed)
    assert matching.matched.empty
    assert set(matching.unmatched["ticker"]) == {"111110", "111120"}
