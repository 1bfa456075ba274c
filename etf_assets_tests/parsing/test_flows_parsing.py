"""Investor-flow parsers (04902 by day, 04901 totals) against KRX's real answers and bad input.

The real answers are one fund, 0069M0 (ISIN KR70069M0006, an alphanumeric code), over
2026-01-16…23: 04902 with value and net selected, and 04901's totals of the same period. The
expected numbers below are the wire text, read here, not by the parser under test.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pandas as pd
import pytest

from etf_assets.errors import ParseError
from etf_assets.parsing.krx import (
    INVESTOR_FLOW_COLUMNS,
    INVESTORS,
    investor_flows_from_daily,
    investor_flows_from_totals,
)
from etf_assets.parsing.rules import etf_isin
from etf_assets_tests.wire_samples import sample_body

DAILY = "krx_data_MDCSTAT04902_investor_daily_0069M0_20260116_20260123.json"
TOTALS = "krx_data_MDCSTAT04901_investor_0069M0_20260116_20260123.json"
MASTER = "krx_data_MDCSTAT04601_etf_basic_20260125.trimmed.json"
TICKER = "0069M0"
SESSIONS = [date(2026, 1, d) for d in (16, 19, 20, 21, 22, 23)]
VALUE_NET = ("value", "net")


def rows(name: str) -> list[dict[str, Any]]:
    return sample_body(name)["output"]


def by_key(frame: pd.DataFrame) -> dict[tuple[date, str], dict[str, Any]]:
    return {(r["trade_date"], r["investor"]): r for r in frame.to_dict("records")}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_real_daily_answer_exact_values() -> None:
    flows = investor_flows_from_daily({VALUE_NET: rows(DAILY)}, TICKER)
    assert list(flows.columns) == list(INVESTOR_FLOW_COLUMNS)
    assert len(flows) == 6 * 4
    assert sorted(set(flows["trade_date"])) == SESSIONS  # sorted, though KRX sends newest first
    assert set(flows["ticker"]) == {"0069M0"}
    got = by_key(flows)
    newest = date(2026, 1, 23)
    assert [got[(newest, i)]["net_value_krw"] for i in INVESTORS] == [
        -506_208_289, -13_171_320, 495_750_489, 23_629_120,
    ]  # fmt: skip
    assert got[(date(2026, 1, 19), "institution")]["net_value_krw"] == -1_610_960_700
    assert got[(date(2026, 1, 20), "other_corporation")]["net_value_krw"] == 0  # "0": a value
    assert got[(date(2026, 1, 16), "individual")]["net_value_krw"] == -1_591_435
    for row in rows(DAILY):  # every number of every row
        day = date.fromisoformat(row["TRD_DD"].replace("/", "-"))
        for i, investor in enumerate(INVESTORS, start=1):
            assert got[(day, investor)]["net_value_krw"] == number(row[f"NUM_ITM_VAL2{i}"])
    # Nothing was asked about volume or what was bought: missing, never 0.
    for column in ("buy_volume", "sell_volume", "net_volume", "buy_value_krw", "sell_value_krw"):
        assert flows[column].isna().all(), column


def test_real_daily_nets_sum_to_zero_like_krx_total() -> None:
    flows = investor_flows_from_daily({VALUE_NET: rows(DAILY)}, TICKER)
    assert (flows.groupby("trade_date")["net_value_krw"].sum() == 0).all()
    assert {row["NUM_ITM_VAL25"] for row in rows(DAILY)} == {"0"}


def test_real_totals_answer_exact_values() -> None:
    flows = investor_flows_from_totals(rows(TOTALS), TICKER, date(2026, 1, 23))
    assert list(flows.columns) == list(INVESTOR_FLOW_COLUMNS)
    assert list(flows["investor"]) == list(INVESTORS)
    got = {r["investor"]: r for r in flows.to_dict("records")}
    assert {k: v for k, v in got["institution"].items() if k.endswith(("volume", "krw"))} == {
        "buy_volume": 937_638, "sell_volume": 1_236_665, "net_volume": -299_027,
        "buy_value_krw": 11_612_329_704, "sell_value_krw": 15_304_824_084,
        "net_value_krw": -3_692_494_380,
    }  # fmt: skip
    assert (got["other_corporation"]["buy_volume"], got["other_corporation"]["sell_volume"]) == (
        1_317, 2_280
    )  # fmt: skip
    assert got["individual"]["net_value_krw"] == 3_677_713_509
    # 외국인 + 기타외국인, as 04902's 외국인 counts them
    assert got["foreign"]["buy_volume"] == 28_173 + 1_779
    assert got["foreign"]["sell_value_krw"] == 328_099_673 + 15_704_225
    assert got["foreign"]["net_value_krw"] == 20_387_554 + 6_421_712
    assert sum(r["net_value_krw"] for r in got.values()) == 0
    assert sum(r["net_volume"] for r in got.values()) == 0
    assert sum(r["buy_volume"] for r in got.values()) == 1_627_742  # 전체: the period's volume


def test_real_answers_agree_so_the_groups_map_as_documented() -> None:
    """Each group's daily nets over the period add up to its 04901 total, to the won."""
    daily = investor_flows_from_daily({VALUE_NET: rows(DAILY)}, TICKER)
    totals = investor_flows_from_totals(rows(TOTALS), TICKER, date(2026, 1, 23))
    summed = daily.groupby("investor")["net_value_krw"].sum()
    assert summed.to_dict() == totals.set_index("investor")["net_value_krw"].to_dict()


def test_daily_row_order_does_not_matter() -> None:
    shuffled = rows(DAILY)
    random.Random(7).shuffle(shuffled)
    pd.testing.assert_frame_equal(
        investor_flows_from_daily({VALUE_NET: shuffled}, TICKER),
        investor_flows_from_daily({VALUE_NET: rows(DAILY)}, TICKER),
    )


def day_row(day: str, values: tuple[str, str, str, str]) -> dict[str, str]:
    total = sum(number(v) for v in values if v != "-")
    return {
        "TRD_DD": day,
        **{f"NUM_ITM_VAL2{i}": v for i, v in enumerate(values, start=1)},
        "NUM_ITM_VAL25": f"{total:,}",
    }


@pytest.mark.parametrize(
    ("given", "derived"),
    [({"net", "buy"}, "sell"), ({"buy", "sell"}, "net"), ({"net", "sell"}, "buy")],
)
def test_two_sides_of_a_measure_give_the_third(given: set[str], derived: str) -> None:
    wire = {
        "buy": ("1,000", "0", "3,000", "500"),
        "sell": ("2,500", "100", "1,400", "500"),
        "net": ("-1,500", "-100", "1,600", "0"),
    }
    answers = {("volume", side): [day_row("2026/01/23", wire[side])] for side in given}
    flows = investor_flows_from_daily(answers, TICKER).set_index("investor")
    expected = [number(v) for v in wire[derived]]
    assert list(flows[f"{derived}_volume"]) == expected
    assert flows["buy_value_krw"].isna().all()  # value was not asked


def test_daily_dash_is_null_and_zero_a_value() -> None:
    answer = [day_row("2026/01/23", ("-", "0", "1,234", "-1,234"))]
    flows = investor_flows_from_daily({VALUE_NET: answer}, TICKER).set_index("investor")
    assert pd.isna(flows.at["institution", "net_value_krw"])
    assert flows.at["other_corporation", "net_value_krw"] == 0
    assert flows.at["foreign", "net_value_krw"] == -1_234


def test_a_date_one_answer_lacks_is_null_there() -> None:
    answers = {
        ("value", "net"): [day_row("2026/01/23", ("-5", "0", "5", "0")),
                           day_row("2026/01/22", ("7", "0", "-7", "0"))],
        ("value", "buy"): [day_row("2026/01/23", ("10", "0", "20", "0"))],
    }  # fmt: skip
    flows = investor_flows_from_daily(answers, TICKER)
    older = flows[flows["trade_date"] == date(2026, 1, 22)]
    assert list(older["net_value_krw"]) == [7, 0, -7, 0]
    assert older["buy_value_krw"].isna().all() and older["sell_value_krw"].isna().all()
    newer = flows[flows["trade_date"] == date(2026, 1, 23)].set_index("investor")
    assert newer.at["institution", "sell_value_krw"] == 15  # 10 bought, −5 net


def test_daily_garbage_names_field_and_ticker() -> None:
    answer = [day_row("2026/01/23", ("1", "2", "3", "4")) | {"NUM_ITM_VAL23": "3x"}]
    with pytest.raises(ParseError, match=r"NUM_ITM_VAL23.*0069M0"):
        investor_flows_from_daily({VALUE_NET: answer}, TICKER)


def test_daily_missing_group_field_is_a_broken_answer() -> None:
    answer = [{k: v for k, v in rows(DAILY)[0].items() if k != "NUM_ITM_VAL24"}]
    with pytest.raises(ParseError, match="NUM_ITM_VAL24"):
        investor_flows_from_daily({VALUE_NET: answer}, TICKER)


def test_daily_repeated_date() -> None:
    verbatim = rows(DAILY) + rows(DAILY)[:1]
    assert len(investor_flows_from_daily({VALUE_NET: verbatim}, TICKER)) == 24
    conflicting = [*rows(DAILY), rows(DAILY)[0] | {"NUM_ITM_VAL21": "1"}]
    with pytest.raises(ParseError, match="TRD_DD"):
        investor_flows_from_daily({VALUE_NET: conflicting}, TICKER)


def test_empty_answers_give_no_rows() -> None:
    assert investor_flows_from_daily({VALUE_NET: [], ("value", "buy"): []}, TICKER).empty
    assert investor_flows_from_totals([], TICKER, date(2026, 1, 23)).empty


def test_totals_row_contradicting_itself_is_an_error() -> None:
    broken = [r | {"NETBID_TRDVAL": "1"} if r["INVST_NM"] == "개인" else r for r in rows(TOTALS)]
    with pytest.raises(ParseError, match=r"net is not bought − sold.*NETBID_TRDVAL.*0069M0"):
        investor_flows_from_totals(broken, TICKER, date(2026, 1, 23))


def test_totals_without_a_needed_investor_type_is_an_error() -> None:
    answer = [r for r in rows(TOTALS) if r["INVST_NM"] != "기타외국인"]
    with pytest.raises(ParseError, match="기타외국인"):
        investor_flows_from_totals(answer, TICKER, date(2026, 1, 23))


def test_totals_dash_is_null_for_its_group() -> None:
    answer = [
        r | {"BID_TRDVOL": "-", "NETBID_TRDVOL": "-"} if r["INVST_NM"] == "기타외국인" else r
        for r in rows(TOTALS)
    ]
    got = investor_flows_from_totals(answer, TICKER, date(2026, 1, 23)).set_index("investor")
    assert pd.isna(got.at["foreign", "buy_volume"]) and pd.isna(got.at["foreign", "net_volume"])
    assert got.at["foreign", "sell_volume"] == 26_520 + 1_269
    assert got.at["individual", "buy_volume"] == 658_835


def test_isin_rule_matches_every_real_master_row() -> None:
    """The derived ISIN, used only for funds no master lists, is KRX's own for every fund of
    the real master sample (alphanumeric codes included)."""
    master = rows(MASTER)
    assert any(not r["ISU_SRT_CD"].isdigit() for r in master)
    for row in master:
        assert etf_isin(row["ISU_SRT_CD"]) == row["ISU_CD"]
    assert etf_isin(TICKER) == "KR70069M0006"
