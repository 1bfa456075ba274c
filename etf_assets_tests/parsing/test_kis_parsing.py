"""Pure tests of etf_assets.parsing.kis on the captured KIS samples (wire_samples/kis_*.json)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import pytest

from etf_assets.errors import ParseError
from etf_assets.parsing.kis import (
    COMPONENT_ETF_FIELDS,
    COMPONENT_ROW_FIELDS,
    NAV_DAILY_FIELDS,
    PRICE_FIELDS,
    classify_kind,
    clean,
    eok_to_krw,
    inquire_price_frame,
    is_zeroed_quote,
    parse_components,
    parse_inquire_price,
    parse_nav_daily_trend,
    to_date,
    to_float,
    to_int,
)
from etf_assets.parsing.rules import Absence
from etf_assets_tests.helpers import WIRE_SAMPLES as SAMPLES


def _body(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    body = data["body"]
    return json.loads(body) if isinstance(body, str) else body


@pytest.fixture(scope="module")
def price_output() -> dict[str, Any]:
    return _body("kis_etf_inquire_price.json")


def test_inquire_price_sample_values(price_output: dict[str, Any]) -> None:
    rec = parse_inquire_price(price_output, "305720")
    assert rec["ticker"] == "305720"
    assert rec["close"] == 19020
    assert rec["prev_close"] == 19020
    assert rec["nav"] == 19028.18
    assert rec["prev_nav"] == 19028.18
    assert rec["listed_shares"] == 62_400_000
    assert rec["circulating_shares"] == 62_400_000
    # 11873 억원 → KRW, exact; the sample's NAV × shares (1.1874e12) confirms the unit
    assert rec["net_assets_krw"] == 1_187_300_000_000
    assert abs(rec["net_assets_krw"] - rec["nav"] * rec["listed_shares"]) < 1e8
    assert rec["premium_discount_pct"] == -0.04
    assert rec["tracking_error_pct"] == 0.44
    assert rec["leverage_factor"] == 1.0
    assert rec["cu_shares"] == 100_000
    assert rec["constituent_count"] == 26
    assert rec["upper_limit"] == 24725 and rec["lower_limit"] == 13315
    assert rec["year_high"] == 23523 and rec["year_high_date"] == date(2024, 1, 2)
    assert rec["year_low"] == 17910 and rec["year_low_date"] == date(2024, 5, 30)
    assert rec["listing_date"] == date(2018, 9, 12)
    assert rec["issuer"] == "삼성자산운용(ETF)"
    assert rec["index_name"] == "FnGuide 2차전지 산업 지수"
    # pre-open snapshot: O/H/L "0" mean no trade yet → None, never 0
    assert rec["open"] is None and rec["high"] is None and rec["low"] is None
    assert rec["volume"] == 0


def test_inquire_price_keeps_unknown_fields_cleaned(price_output: dict[str, Any]) -> None:
    extra = parse_inquire_price(price_output, "305720")["extra"]
    assert extra["frgn_limt_rate"] == "100.0000"
    assert extra["shrg_type_code"] is None  # "  " is missing, not a value
    assert extra["mtrt_date"] == "0"
    known = {"stck_prpr", "nav", "lstn_stcn", "etf_ntas_ttam", "dprt"}
    assert not known & set(extra)


def test_inquire_price_frame_one_row(price_output: dict[str, Any]) -> None:
    frame = inquire_price_frame([parse_inquire_price(price_output, "305720")])
    assert len(frame) == 1
    assert frame.loc[0, "ticker"] == "305720"
    assert frame.loc[0, "net_assets_krw"] == 1_187_300_000_000
    assert "frgn_limt_rate" in frame.columns
    assert list(inquire_price_frame([]).columns)[:3] == ["ticker", "close", "change"]


@pytest.mark.parametrize("field", ["stck_prpr", "nav", "lstn_stcn", "etf_ntas_ttam"])
def test_inquire_price_missing_required_field(price_output: dict[str, Any], field: str) -> None:
    broken = {k: v for k, v in price_output.items() if k != field}
    with pytest.raises(ParseError) as info:
        parse_inquire_price(broken, "305720")
    assert info.value.field == field and info.value.ticker == "305720"
    assert field in str(info.value) and "305720" in str(info.value)


def test_inquire_price_bad_number_names_field(price_output: dict[str, Any]) -> None:
    with pytest.raises(ParseError, match=r"dprt.*305720"):
        parse_inquire_price({**price_output, "dprt": "abc"}, "305720")


def test_zero_is_none_only_where_zero_cannot_be_a_value(price_output: dict[str, Any]) -> None:
    """KIS's 0 for "not published" (NAV, net assets, dates, prices) is NULL; 0 traded is 0."""
    rec = parse_inquire_price(
        {**price_output, "nav": "0.00", "etf_ntas_ttam": "0", "dryy_hgpr_date": "00000000",
         "stck_lstn_date": "0", "prdy_last_nav": "0", "stck_dryy_lwpr": "0"},
        "305720",
    )  # fmt: skip
    assert rec["nav"] is None and rec["net_assets_krw"] is None and rec["prev_nav"] is None
    assert rec["year_high_date"] is None and rec["listing_date"] is None
    assert rec["year_low"] is None
    assert rec["volume"] == 0 and rec["change"] == 0 and rec["nav_change"] == 0.0
    assert rec["close"] == 19020  # still a quote: only a zeroed price makes it unusable


@pytest.mark.parametrize("field", ["stck_prpr", "lstn_stcn"])
def test_a_quote_without_price_or_units_is_an_error(
    price_output: dict[str, Any], field: str
) -> None:
    with pytest.raises(ParseError, match="required field empty") as info:
        parse_inquire_price({**price_output, field: "0"}, "305720")
    assert info.value.field == field


def test_kis_fields_have_one_rule_and_a_reason() -> None:
    for fields in (PRICE_FIELDS, NAV_DAILY_FIELDS, COMPONENT_ETF_FIELDS, COMPONENT_ROW_FIELDS):
        for spec in fields:
            assert spec.why and isinstance(spec.absent, Absence), spec
    nav_rules = {s.absent for s in (*PRICE_FIELDS, *NAV_DAILY_FIELDS) if s.wire == "nav"}
    assert nav_rules == {Absence.MARKED_OR_ZERO}


def test_zeroed_quote_detected(price_output: dict[str, Any]) -> None:
    assert not is_zeroed_quote(price_output)
    assert is_zeroed_quote({**price_output, "stck_prpr": "0", "nav": "0.00"})


def test_nav_daily_trend_sample() -> None:
    rows = _body("kis_etf_nav_comparison_daily_trend.json")["output"]
    frame = parse_nav_daily_trend(rows, "069500")
    assert list(frame["trade_date"]) == [date(2021, 6, 14), date(2021, 6, 15)]  # oldest first
    last = frame.iloc[-1]
    assert last["close"] == 40751
    assert last["nav"] == 43422.04
    assert last["premium_discount_pct"] == -0.22  # dprt kept as reported (docs/kis.md)
    assert last["close_minus_nav"] == -2671.04
    assert last["nav_change"] == 90.07
    assert last["volume"] == 3267790
    assert last["contract_volume"] is None  # "" → None
    assert (frame["ticker"] == "069500").all()


def test_nav_daily_trend_dedupes_overlapping_pages_and_drops_empty_rows() -> None:
    rows = _body("kis_etf_nav_comparison_daily_trend.json")["output"]
    frame = parse_nav_daily_trend([*rows, rows[0], {}], "069500")
    assert len(frame) == 2
    assert parse_nav_daily_trend([], "069500").empty


def test_nav_daily_trend_missing_date_is_an_error() -> None:
    row = dict(_body("kis_etf_nav_comparison_daily_trend.json")["output"][0])
    del row["stck_bsop_date"]
    with pytest.raises(ParseError, match="stck_bsop_date"):
        parse_nav_daily_trend([row], "069500")


def test_components_sample() -> None:
    body = _body("kis_etf_component_stock_price.json")
    etf, holdings = parse_components(body["output1"], body["output2"], "069500")
    assert etf["close"] == 37845 and etf["nav"] == 37922.77
    assert etf["net_assets_krw"] == 6_172_400_000_000
    assert etf["cu_shares"] == 50_000 and etf["constituent_count"] == 201
    assert etf["cu_value_krw"] == 1_895_140_000  # 189514 만원
    row = holdings.iloc[0]
    assert row["etf_ticker"] == "069500"
    assert row["constituent_code"] == "005930"
    assert row["constituent_name"] == "삼성전자"
    assert row["kind"] == "stock"
    assert row["shares_per_cu"] == 7143.0  # 570,011,400 / 79,800 exactly
    assert row["value_krw"] == 570_011_400
    assert row["weight_pct"] == 30.08
    assert row["prev_value_krw"] == 557_868_300
    assert pd.isna(row["amount_krw"])  # KIS has no COMPST_AMT: NULL, never 0
    assert row["tday_rsfl_rate"] == "2.05"  # unknown fields kept raw


def test_components_skip_blank_codes_and_missing_price() -> None:
    body = _body("kis_etf_component_stock_price.json")
    cash = {"stck_shrn_iscd": "KRD010010001", "hts_kor_isnm": "원화예금", "stck_prpr": "0",
            "etf_cnfg_issu_avls": "1500000", "etf_cnfg_issu_rlim": ""}  # fmt: skip
    blank = {"stck_shrn_iscd": "  ", "hts_kor_isnm": "", "stck_prpr": "0"}
    _, holdings = parse_components(body["output1"], [*body["output2"], cash, blank], "069500")
    assert list(holdings["constituent_code"]) == ["005930", "KRD010010001"]
    cash_row = holdings.iloc[1]
    assert cash_row["kind"] == "cash"
    assert pd.isna(cash_row["shares_per_cu"])  # no price, no share count
    assert pd.isna(cash_row["price"])  # "0" is no price
    assert pd.isna(cash_row["weight_pct"])
    assert cash_row["value_krw"] == 1_500_000
    assert holdings["amount_krw"].dtype == "float64" and holdings["amount_krw"].isna().all()


@pytest.mark.parametrize(
    ("code", "name", "kind"),
    [
        ("005930", "삼성전자", "stock"),
        ("069500", "KODEX 200", "etf"),
        ("KRD010010001", "원화예금", "cash"),
        ("KR4101W30001", "코스피200 F 202603", "future"),
        ("KR4201W32555", "코스피200 C 202603 350.0", "option"),
        ("KR103501GB31", "국고01500-2603(16-1)", "bond"),
        ("CASH00000001", "설정현금액", "cash"),
        ("", "설정현금액", "cash"),
        ("", "미니코스피200 선물", "future"),
        ("US0378331005", "APPLE INC", "other"),
    ],
)
def test_classify_kind(code: str, name: str, kind: str) -> None:
    assert classify_kind(code, name) == kind


@pytest.mark.parametrize(
    ("raw", "expected"), [("  ", None), ("", None), ("-", None), (None, None), (" 12 ", "12")]
)
def test_clean(raw: object, expected: str | None) -> None:
    assert clean(raw) == expected


def test_scalar_converters() -> None:
    assert to_int("62400000", "f") == 62_400_000
    assert to_int("-1600", "f") == -1600
    assert to_int("", "f") is None
    assert to_float("100.0000", "f") == 100.0
    assert to_date("20240102", "f") == date(2024, 1, 2)
    assert to_date(" ", "f") is None
    assert eok_to_krw("61724", "f") == 6_172_400_000_000
    with pytest.raises(ParseError):
        to_int("12.5", "lstn_stcn", "069500")
    with pytest.raises(ParseError):
        to_date("20241399", "dryy_hgpr_date", "069500")
