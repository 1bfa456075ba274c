"""KRX parsers against the real captured samples (wire_samples/krx_*.json) and bad input.

The samples are the verbatim bodies recorded by pykrx's cassettes and the krx-rs spec, kept in
`etf_assets_tests/wire_samples/`.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest

from etf_assets.errors import ParseError
from etf_assets.parsing.krx import (
    DAILY_FLOW_FIELDS,
    DAILY_PRICE_COLUMNS,
    DAILY_PRICE_FIELDS,
    ETF_DETAIL_FIELDS,
    ETF_DETAILS_COLUMNS,
    HOLDING_FIELDS,
    HOLDINGS_COLUMNS,
    MASTER_FIELDS,
    PREMIUM_DISCOUNT_FIELDS,
    TOTALS_FLOW_FIELDS,
    TRACKING_ERROR_FIELDS,
    constituent_kind,
    daily_prices_from_data_service,
    daily_prices_from_openapi,
    etf_details_frame,
    holdings_frame,
    is_no_data_answer,
    leverage_factor_from_label,
    master_raw_frame,
    merge_repeated_constituents,
    parse_krx_date,
    parse_krx_int,
    parse_krx_number,
    premium_discount_rows,
    tracking_error_rows,
)
from etf_assets.parsing.rules import KINDS, Absence, kind_from_code
from etf_assets_tests.wire_samples import sample_body


def sample_rows(name: str, envelope: str = "output") -> list[dict[str, Any]]:
    """The verbatim rows of a sample."""
    return sample_body(name)[envelope]


MASTER = "krx_data_MDCSTAT04601_etf_basic_20260125.trimmed.json"
PRICES = "krx_data_MDCSTAT04301_etf_all_prices_20210325.trimmed.json"
SUNDAY = "krx_data_MDCSTAT04301_etf_all_prices_20210321_sunday.trimmed.json"
OPENAPI = "openapi_etf_bydd_trd_20240104.trimmed.json"
OPENAPI_UNPUBLISHED_INDEX = (  # reconstructed, see its _note
    "openapi_etf_bydd_trd_20240104_unpublished_index.reconstructed.json"
)
PDF = "krx_data_MDCSTAT05001_pdf_152100_20210402.trimmed.json"
INVERSE_PDF = "krx_data_MDCSTAT05001_pdf_114800_20210402.json"  # reconstructed, see its _note

SNAPSHOT = date(2026, 1, 25)
FETCHED = datetime(2026, 1, 25, 20, 24, 51)


def by_ticker(frame: pd.DataFrame, column: str = "ticker") -> dict[str, dict[str, Any]]:
    return {row[column]: row for row in frame.to_dict("records")}


# ── scalar helpers ──


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234", 1234.0),
        ("41,887.33", 41887.33),
        ("-13,946,580", -13946580.0),
        ("-0.91", -0.91),
        ("0.150000", 0.15),
        ("0", 0.0),
        (" 1,000 ", 1000.0),
        ("-", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_parse_krx_number(text: str | None, expected: float | None) -> None:
    assert parse_krx_number(text) == expected


@pytest.mark.parametrize("garbage", ["abc", "1.2.3", "12a", "--5", "1 2", "N/A", "nan"])
def test_parse_krx_number_garbage_names_field_and_ticker(garbage: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_krx_number(garbage, field="NAV", ticker="0000D0")
    assert err.value.field == "NAV" and err.value.ticker == "0000D0"
    assert "NAV" in str(err.value) and "0000D0" in str(err.value)


def test_parse_krx_int() -> None:
    assert parse_krx_int("188,600,000") == 188_600_000
    assert parse_krx_int("8,140.00") == 8140
    assert parse_krx_int("-324") == -324
    assert parse_krx_int("-") is None
    with pytest.raises(ParseError):
        parse_krx_int("1.5", field="LIST_SHRS")


def test_parse_krx_date() -> None:
    assert parse_krx_date("2002/10/14") == date(2002, 10, 14)
    assert parse_krx_date("20240104") == date(2024, 1, 4)
    assert parse_krx_date("-") is None
    for bad in ("2024/13/01", "2024/1/4", "yesterday"):
        with pytest.raises(ParseError) as err:
            parse_krx_date(bad, field="LIST_DD", ticker="069500")
        assert err.value.field == "LIST_DD" and err.value.ticker == "069500"


@pytest.mark.parametrize(
    ("label", "factor"),
    [
        ("일반", 1.0),
        ("2X 레버리지", 2.0),
        ("1X 인버스", -1.0),
        ("2X 인버스", -2.0),
        ("일반 (1)", 1.0),
        ("2X 레버리지 (2)", 2.0),
        ("1X 인버스 (-1)", -1.0),
        ("2X 인버스 (-2)", -2.0),
        ("3X 레버리지", 3.0),
        ("3x 인버스", -3.0),
        (" 2X 레버리지 ", 2.0),
    ],
)
def test_leverage_factor_from_label(label: str, factor: float) -> None:
    assert leverage_factor_from_label(label) == factor


@pytest.mark.parametrize("label", ["레버리지", "커버드콜", "2배"])
def test_leverage_factor_unknown_label_raises(label: str) -> None:
    with pytest.raises(ParseError) as err:
        leverage_factor_from_label(label, ticker="252400")
    assert err.value.field == "IDX_CALC_INST_NM2" and err.value.ticker == "252400"


@pytest.mark.parametrize("label", ["", "-", " ", None])
def test_leverage_factor_not_sent_is_none(label: str | None) -> None:
    """KRX's "no value" is NULL, never a guessed 1: the fund's tracking error is then NULL."""
    assert leverage_factor_from_label(label, ticker="252400") is None


def test_etf_details_dash_leverage_label_is_null() -> None:
    rows = sample_rows(MASTER)[:2]
    rows[1] = dict(rows[1], IDX_CALC_INST_NM2="-", CU_QTY="0", ETF_TOT_FEE="-")
    got = by_ticker(etf_details_frame(master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED)))
    odd = got[rows[1]["ISU_SRT_CD"]]
    assert math.isnan(odd["leverage_factor"]) and math.isnan(odd["expense_ratio_pct"])
    assert pd.isna(odd["cu_shares"])  # a creation unit of 0 units is none
    assert got[rows[0]["ISU_SRT_CD"]]["leverage_factor"] == 1.0


# ── one absence rule per field ──

ALL_FIELD_TABLES = {
    "etf_details": ETF_DETAIL_FIELDS,
    "etf_daily_prices": DAILY_PRICE_FIELDS,
    "etf_holdings": HOLDING_FIELDS,
    "05901": TRACKING_ERROR_FIELDS,
    "06001": PREMIUM_DISCOUNT_FIELDS,
    "04902": DAILY_FLOW_FIELDS,
    "04901": TOTALS_FLOW_FIELDS,
}


def test_a_wire_field_has_one_absence_rule_everywhere() -> None:
    rules: dict[str, set[Absence]] = {}
    for fields in ALL_FIELD_TABLES.values():
        for spec in fields:
            rules.setdefault(spec.wire, set()).add(spec.absent)
            assert spec.why, spec
    assert {wire: r for wire, r in rules.items() if len(r) > 1} == {}


def test_zero_is_absent_exactly_where_zero_cannot_be_a_value() -> None:
    """The zero rules of docs/assets.md § Absent values, checked against the parsers' tables."""
    zero_is_absent = {
        spec.wire
        for fields in ALL_FIELD_TABLES.values()
        for spec in fields
        if spec.absent is Absence.MARKED_OR_ZERO
    }
    assert zero_is_absent == {
        "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "TDD_CLSPRC", "CLSPRC", "NAV", "LST_NAV",
        "MKTCAP", "INVSTASST_NETASST_TOTAMT", "LIST_SHRS", "CU_QTY", "OBJ_STKPRC_IDX",
        "TRACE_YD_MULT",
    }  # fmt: skip


def test_field_tables_fill_the_frames() -> None:
    assert {s.column for s in ETF_DETAIL_FIELDS} <= set(ETF_DETAILS_COLUMNS)
    assert {s.column for s in DAILY_PRICE_FIELDS} <= set(DAILY_PRICE_COLUMNS)
    assert {s.column for s in HOLDING_FIELDS} <= set(HOLDINGS_COLUMNS)


# ── krx_etf_list and etf_details (04601) ──


def test_master_raw_frame_keeps_every_field_as_sent() -> None:
    rows = sample_rows(MASTER)
    raw = master_raw_frame(rows, date(2026, 1, 23), SNAPSHOT, FETCHED)
    assert list(raw.columns) == [
        "trade_date", "ticker", *MASTER_FIELDS, "snapshot_date", "fetched_at"
    ]  # fmt: skip
    assert len(raw) == len(rows)
    for row, got in zip(rows, raw.to_dict("records"), strict=True):
        assert got["ticker"] == row["ISU_SRT_CD"]
        assert {k: got[k] for k in row} == row  # every field, the exact string
        assert got["trade_date"] == date(2026, 1, 23)
        assert got["snapshot_date"] == SNAPSHOT
        assert got["fetched_at"] == pd.Timestamp(FETCHED)
    assert {"0000D0", "0112X0", "0069M0", "0013R0"} <= set(raw["ticker"])


def test_master_raw_frame_keeps_unknown_fields() -> None:
    rows = [dict(r, NEW_KRX_FIELD=f"x{i}") for i, r in enumerate(sample_rows(MASTER)[:3])]
    raw = master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED)
    assert raw["NEW_KRX_FIELD"].tolist() == ["x0", "x1", "x2"]


def test_master_raw_frame_rejects_a_bad_listing_date() -> None:
    rows = sample_rows(MASTER)[:2]
    rows[1] = dict(rows[1], LIST_DD="2025/02/30")
    with pytest.raises(ParseError) as err:
        master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED)
    assert err.value.field == "LIST_DD" and err.value.ticker == rows[1]["ISU_SRT_CD"]


def details() -> pd.DataFrame:
    return etf_details_frame(
        master_raw_frame(sample_rows(MASTER), date(2026, 1, 23), SNAPSHOT, FETCHED)
    )


def test_etf_details_columns_and_dtypes() -> None:
    frame = details()
    assert list(frame.columns) == list(ETF_DETAILS_COLUMNS)
    assert frame["leverage_factor"].dtype == "float64"
    assert frame["expense_ratio_pct"].dtype == "float64"
    assert frame["listed_shares"].dtype == "Int64" and frame["cu_shares"].dtype == "Int64"
    assert all(isinstance(d, date) for d in frame["listing_date"])


def test_etf_details_every_field_of_every_seed_row() -> None:
    rows = {r["ISU_SRT_CD"]: r for r in sample_rows(MASTER)}
    got = by_ticker(details())
    assert set(got) == set(rows)
    for ticker, row in rows.items():
        d = got[ticker]
        assert d["trade_date"] == date(2026, 1, 23)
        assert d["isin"] == row["ISU_CD"]
        assert d["name"] == row["ISU_ABBRV"]
        assert d["name_full"] == row["ISU_NM"]
        assert d["name_eng"] == row["ISU_ENG_NM"]
        assert d["issuer"] == row["COM_ABBRV"]
        assert d["tracking_index"] == row["ETF_OBJ_IDX_NM"]
        assert d["index_provider"] == row["IDX_CALC_INST_NM1"]
        assert d["market_region"] == row["IDX_MKT_CLSS_NM"]
        assert d["asset_class"] == row["IDX_ASST_CLSS_NM"]
        assert d["replication_method"] == row["ETF_REPLICA_METHD_TP_CD"]
        assert d["tax_type"] == row["TAX_TP_CD"]
        assert d["listed_shares"] == int(row["LIST_SHRS"].replace(",", ""))
        assert d["cu_shares"] == int(row["CU_QTY"].replace(",", ""))
        assert d["expense_ratio_pct"] == pytest.approx(float(row["ETF_TOT_FEE"]))
        assert d["listing_date"] == datetime.strptime(row["LIST_DD"], "%Y/%m/%d").date()


def test_etf_details_known_rows_exactly() -> None:
    got = by_ticker(details())
    kodex = got["069500"]
    assert kodex["isin"] == "KR7069500007"
    assert kodex["name"] == "KODEX 200"
    assert kodex["issuer"] == "삼성자산운용"
    assert kodex["listing_date"] == date(2002, 10, 14)
    assert kodex["expense_ratio_pct"] == pytest.approx(0.15)  # already a percent on the wire
    assert kodex["listed_shares"] == 188_600_000 and kodex["cu_shares"] == 50_000
    assert kodex["leverage_factor"] == 1.0 and kodex["tax_type"] == "비과세"
    nvda = got["0000D0"]
    assert nvda["isin"] == "KR70000D0009" and nvda["listing_date"] == date(2024, 12, 17)
    assert nvda["replication_method"] == "합성(패시브)" and nvda["asset_class"] == "혼합자산"
    assert nvda["expense_ratio_pct"] == pytest.approx(0.39)
    mighty = got["0112X0"]
    assert mighty["isin"] == "KR70112X0000" and mighty["name"] == "마이티 200TR"
    assert mighty["issuer"] == "디비자산운용" and mighty["listed_shares"] == 1_300_000
    assert got["252400"]["leverage_factor"] == 2.0
    assert got["252410"]["leverage_factor"] == -1.0
    assert got["252420"]["leverage_factor"] == -2.0
    assert got["465350"]["leverage_factor"] == -1.0  # synthetic inverse
    assert got["360750"]["expense_ratio_pct"] == pytest.approx(0.006)


def test_etf_details_reads_back_from_duckdb_shapes() -> None:
    """The asset reads krx_etf_list back from DuckDB: trade_date arrives as datetime64."""
    raw = master_raw_frame(sample_rows(MASTER), date(2026, 1, 23), SNAPSHOT, FETCHED)
    raw["trade_date"] = pd.to_datetime(raw["trade_date"])
    raw = raw.astype({c: object for c in MASTER_FIELDS})
    frame = etf_details_frame(raw.sample(frac=1, random_state=1))  # order never matters
    assert set(frame["trade_date"]) == {date(2026, 1, 23)}
    assert by_ticker(frame)["0112X0"]["cu_shares"] == 50_000


def test_etf_details_empty() -> None:
    frame = etf_details_frame(master_raw_frame([], SNAPSHOT, SNAPSHOT, FETCHED))
    assert frame.empty and list(frame.columns) == list(ETF_DETAILS_COLUMNS)


def test_etf_details_2021_leverage_spellings() -> None:
    rows = sample_rows(MASTER)[:4]
    labels = ["일반 (1)", "2X 레버리지 (2)", "1X 인버스 (-1)", "2X 인버스 (-2)"]
    rows = [dict(r, IDX_CALC_INST_NM2=label) for r, label in zip(rows, labels, strict=True)]
    frame = etf_details_frame(master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED))
    assert frame["leverage_factor"].tolist() == [1.0, 2.0, -1.0, -2.0]


def test_etf_details_missing_field_names_it() -> None:
    rows = [{k: v for k, v in r.items() if k != "ETF_TOT_FEE"} for r in sample_rows(MASTER)]
    with pytest.raises(ParseError) as err:
        etf_details_frame(master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED))
    assert err.value.field == "ETF_TOT_FEE"


def test_etf_details_field_missing_in_one_row_names_ticker() -> None:
    rows = sample_rows(MASTER)
    rows[3] = {k: v for k, v in rows[3].items() if k != "CU_QTY"}
    with pytest.raises(ParseError) as err:
        etf_details_frame(master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED))
    assert err.value.field == "CU_QTY" and err.value.ticker == rows[3]["ISU_SRT_CD"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("ETF_TOT_FEE", "0.15%"), ("LIST_SHRS", "1,000.5"), ("IDX_CALC_INST_NM2", "4배 뭔가")],
)
def test_etf_details_garbage_names_field_and_ticker(field: str, value: str) -> None:
    rows = sample_rows(MASTER)
    rows[5] = dict(rows[5], **{field: value})
    with pytest.raises(ParseError) as err:
        etf_details_frame(master_raw_frame(rows, SNAPSHOT, SNAPSHOT, FETCHED))
    assert err.value.field == field and err.value.ticker == rows[5]["ISU_SRT_CD"]
    assert field in str(err.value) and rows[5]["ISU_SRT_CD"] in str(err.value)


# ── etf_daily_prices: data service 04301 ──


def test_data_service_prices_exact_values() -> None:
    frame = daily_prices_from_data_service(sample_rows(PRICES), date(2021, 3, 25))
    assert list(frame.columns) == list(DAILY_PRICE_COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == DAILY_PRICE_COLUMNS
    assert len(frame) == 9  # the trimmed capture repeats 278420 verbatim; stored once
    got = by_ticker(frame)
    arirang = got["152100"]
    assert arirang["trade_date"] == date(2021, 3, 25)
    assert arirang["name"] == "ARIRANG 200"
    assert (arirang["open"], arirang["high"], arirang["low"]) == (41705.0, 42145.0, 41585.0)
    assert arirang["close"] == 41835.0
    assert arirang["nav"] == pytest.approx(41887.33)
    assert arirang["net_assets_krw"] == 772_821_298_061
    assert arirang["market_cap_krw"] == 771_855_750_000
    assert arirang["volume"] == 59_317 and arirang["traded_value_krw"] == 2_479_398_465
    assert arirang["listed_shares"] == 18_450_000
    assert arirang["index_name"] == "코스피 200" and arirang["index_close"] == 408.53
    assert arirang["source"] == "krx_data"
    assert got["295820"]["index_close"] == 2364.03
    assert got["069500"]["nav"] == pytest.approx(41532.10)
    assert got["069500"]["net_assets_krw"] == 4_726_352_841_826
    assert got["253160"]["close"] == 4340.0  # an inverse 2X row, FLUC_TP_CD=2


@pytest.mark.parametrize("ticker", ["278420", "333940"])
def test_data_service_dash_index_fields_are_null(ticker: str) -> None:
    row = by_ticker(daily_prices_from_data_service(sample_rows(PRICES), date(2021, 3, 25)))[ticker]
    assert math.isnan(row["index_close"])
    assert row["index_name"]  # the index still has a name
    assert not math.isnan(row["close"])


def test_sunday_answer_is_no_data() -> None:
    rows = sample_rows(SUNDAY)
    assert len(rows) == 3  # not an empty list: every ETF, every value "-"
    assert is_no_data_answer(rows)
    frame = daily_prices_from_data_service(rows, date(2021, 3, 21))
    assert frame.empty and list(frame.columns) == list(DAILY_PRICE_COLUMNS)


def test_is_no_data_answer() -> None:
    assert is_no_data_answer([])
    assert not is_no_data_answer(sample_rows(PRICES))
    assert not is_no_data_answer(sample_rows(OPENAPI, "OutBlock_1"))
    assert not is_no_data_answer([{"ISU_SRT_CD": "069500"}])  # broken, not a holiday
    mixed = sample_rows(SUNDAY) + sample_rows(PRICES)[:1]
    assert not is_no_data_answer(mixed)


def test_data_service_drops_rows_without_close_and_nav() -> None:
    rows = sample_rows(PRICES)[:2] + sample_rows(SUNDAY)[2:]
    frame = daily_prices_from_data_service(rows, date(2021, 3, 25))
    assert frame["ticker"].tolist() == ["152100", "295820"]


def test_data_service_zero_is_none_only_where_zero_cannot_be_a_value() -> None:
    row = dict(sample_rows(PRICES)[0], TDD_OPNPRC="0", TDD_HGPRC="0", TDD_LWPRC="0")
    row.update(INVSTASST_NETASST_TOTAMT="0", OBJ_STKPRC_IDX="0.00", MKTCAP="0")
    row.update(ACC_TRDVOL="0", ACC_TRDVAL="0")
    got = daily_prices_from_data_service([row], date(2021, 3, 25)).iloc[0]
    assert got[["open", "high", "low"]].isna().all()  # no trade
    assert pd.isna(got["net_assets_krw"])  # not published yet: etf_aum uses NAV × units
    assert pd.isna(got["market_cap_krw"]) and math.isnan(got["index_close"])
    assert got["close"] == 41835.0 and got["nav"] == pytest.approx(41887.33)
    assert got["volume"] == 0 and got["traded_value_krw"] == 0  # nothing traded is a fact


def test_data_service_zero_nav_and_close_are_none_and_no_row() -> None:
    rows = sample_rows(PRICES)[:2]
    rows[0] = dict(rows[0], NAV="0.00")
    rows[1] = dict(rows[1], NAV="0", TDD_CLSPRC="0")
    got = by_ticker(daily_prices_from_data_service(rows, date(2021, 3, 25)))
    assert math.isnan(got["152100"]["nav"]) and got["152100"]["close"] == 41835.0
    assert "295820" not in got  # neither close nor NAV: no trading record that day


def test_data_service_malformed_number_names_field_and_ticker() -> None:
    rows = sample_rows(PRICES)
    rows[6] = dict(rows[6], NAV="41,5x2.10")
    with pytest.raises(ParseError) as err:
        daily_prices_from_data_service(rows, date(2021, 3, 25))
    assert err.value.field == "NAV" and err.value.ticker == rows[6]["ISU_SRT_CD"]


def test_data_service_dropped_field_names_it() -> None:
    rows = [{k: v for k, v in r.items() if k != "MKTCAP"} for r in sample_rows(PRICES)]
    with pytest.raises(ParseError) as err:
        daily_prices_from_data_service(rows, date(2021, 3, 25))
    assert err.value.field == "MKTCAP"


def test_data_service_field_order_does_not_matter() -> None:
    rows = [dict(reversed(list(r.items()))) for r in reversed(sample_rows(PRICES))]
    frame = daily_prices_from_data_service(rows, date(2021, 3, 25))
    assert by_ticker(frame)["152100"]["nav"] == pytest.approx(41887.33)


# ── etf_daily_prices: Open API etf_bydd_trd ──


def test_openapi_prices_exact_values() -> None:
    frame = daily_prices_from_openapi(sample_rows(OPENAPI, "OutBlock_1"))
    assert list(frame.columns) == list(DAILY_PRICE_COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == DAILY_PRICE_COLUMNS
    assert len(frame) == 9
    got = by_ticker(frame)
    kodex = got["069500"]
    assert kodex["trade_date"] == date(2024, 1, 4)
    assert kodex["name"] == "KODEX 200"
    assert (kodex["open"], kodex["high"], kodex["low"], kodex["close"]) == (
        35110.0,
        35350.0,
        34975.0,
        35070.0,
    )
    assert kodex["nav"] == pytest.approx(35171.44)
    assert kodex["net_assets_krw"] == 6_948_118_641_895
    assert kodex["market_cap_krw"] == 6_821_115_000_000
    assert kodex["volume"] == 8_879_926 and kodex["traded_value_krw"] == 311_747_674_820
    assert kodex["listed_shares"] == 194_500_000
    assert kodex["index_close"] == 348.07 and kodex["source"] == "krx_openapi"
    assert got["152100"]["name"] == "ARIRANG 200" and got["152100"]["nav"] == 35796.0


def test_openapi_zero_volume_row_has_null_ohlc() -> None:
    row = by_ticker(daily_prices_from_openapi(sample_rows(OPENAPI, "OutBlock_1")))["299080"]
    assert math.isnan(row["open"]) and math.isnan(row["high"]) and math.isnan(row["low"])
    assert row["close"] == 108030.0 and row["volume"] == 0 and row["traded_value_krw"] == 0
    assert row["nav"] == pytest.approx(108023.28) and row["index_close"] == 1230.54


@pytest.mark.parametrize("ticker", ["265690", "391590"])
def test_openapi_dash_index_is_null(ticker: str) -> None:
    row = by_ticker(daily_prices_from_openapi(sample_rows(OPENAPI, "OutBlock_1")))[ticker]
    assert math.isnan(row["index_close"])


def test_openapi_unpublished_index_level_is_null_not_zero() -> None:
    """14 of 812 real rows on 2024-01-04 send level, change and change % all "0.00"."""
    rows = sample_rows(OPENAPI_UNPUBLISHED_INDEX, "OutBlock_1")
    assert len(rows) == 6
    assert all(r[f] == "0.00" for r in rows for f in ("OBJ_STKPRC_IDX", "CMPPREVDD_IDX"))
    frame = daily_prices_from_openapi(rows)
    assert len(frame) == 6 and frame["index_close"].isna().all()
    assert frame["index_name"].notna().all()  # the index has a name, not a published level
    gold = by_ticker(frame)["132030"]
    assert gold["index_name"] == "S&P GSCI Gold Index(TR)"
    assert (gold["close"], gold["nav"]) == (12925.0, 12861.24)
    assert gold["net_assets_krw"] == 169_768_368_663


def test_openapi_empty_answer() -> None:
    assert is_no_data_answer([])
    frame = daily_prices_from_openapi([])
    assert frame.empty and list(frame.columns) == list(DAILY_PRICE_COLUMNS)


def test_openapi_bad_date_names_field_and_ticker() -> None:
    rows = sample_rows(OPENAPI, "OutBlock_1")
    rows[2] = dict(rows[2], BAS_DD="2024-01-4")
    with pytest.raises(ParseError) as err:
        daily_prices_from_openapi(rows)
    assert err.value.field == "BAS_DD" and err.value.ticker == rows[2]["ISU_CD"]


def test_both_price_sources_agree_on_shape() -> None:
    a = daily_prices_from_data_service(sample_rows(PRICES), date(2021, 3, 25))
    b = daily_prices_from_openapi(sample_rows(OPENAPI, "OutBlock_1"))
    assert list(a.columns) == list(b.columns)
    assert a.dtypes.to_dict() == b.dtypes.to_dict()


# ── etf_holdings: PDF 05001 ──


def pdf() -> pd.DataFrame:
    return holdings_frame(sample_rows(PDF), "152100", date(2021, 4, 2))


def test_holdings_sample_values() -> None:
    frame = pdf()
    assert list(frame.columns) == list(HOLDINGS_COLUMNS)
    assert len(frame) == 9
    got = by_ticker(frame, "constituent_code")
    samsung = got["005930"]
    assert samsung["as_of_date"] == date(2021, 4, 2) and samsung["etf_ticker"] == "152100"
    assert samsung["constituent_name"] == "삼성전자"
    assert samsung["constituent_isin"] == "KR7005930003"
    assert samsung["kind"] == "stock"
    assert samsung["shares_per_cu"] == 8140.0
    assert samsung["value_krw"] == 674_806_000.0
    assert samsung["amount_krw"] == 690_272_000.0
    assert samsung["weight_pct"] == 31.74
    assert samsung["source"] == "krx_pdf"
    assert set(frame["kind"]) == {"stock", "cash"}
    assert frame["amount_krw"].notna().all()  # every line of this basket has a COMPST_AMT


def test_holdings_cash_row_kept_whole() -> None:
    cash = by_ticker(pdf(), "constituent_code")["KRD010010001"]
    assert cash["kind"] == "cash"
    assert cash["constituent_name"] == "원화예금"
    assert cash["constituent_isin"] == "KRD010010001"
    assert math.isnan(cash["shares_per_cu"]) and math.isnan(cash["value_krw"])
    assert cash["amount_krw"] == 14_159_974.0  # the one amount KRX gives a cash line
    assert cash["weight_pct"] == 0.65  # this real capture publishes a weight for cash


def test_inverse_basket_keeps_every_number_krx_sends() -> None:
    """114800 on 2021-04-02: each kind of line leaves a different number out; none is lost."""
    frame = holdings_frame(sample_rows(INVERSE_PDF), "114800", date(2021, 4, 2))
    got = by_ticker(frame, "constituent_code")
    assert list(got) == ["069500", "KR4101R60000", "KRD010010001", "CASH00000001"]
    cols = ["kind", "shares_per_cu", "value_krw", "amount_krw"]
    nan = float("nan")
    expected = {
        "069500": ["etf", -324.0, nan, -13_946_580.0],
        "KR4101R60000": ["future", -3.58, -375_184_000.0, nan],
        "KRD010010001": ["cash", nan, nan, 388_739_133.0],
        "CASH00000001": ["cash", nan, nan, 388_739_133.0],
    }
    for code, values in expected.items():
        row = [got[code][c] for c in cols]
        assert row[0] == values[0], code
        for value, want in zip(row[1:], values[1:], strict=True):
            assert (math.isnan(value) and math.isnan(want)) or value == want, (code, row)
    assert frame["weight_pct"].isna().all()  # KRX sends "-" for every weight of this basket
    assert got["069500"]["constituent_isin"] == "KR7069500007"
    assert pd.isna(got["CASH00000001"]["constituent_isin"])  # "" is no ISIN
    assert frame["source"].eq("krx_pdf").all() and frame["etf_ticker"].eq("114800").all()


@pytest.mark.parametrize(
    ("group", "market", "code", "kind"),
    [
        ("ST", "STK", "005930", "stock"),
        ("ST", "KSQ", "247540", "stock"),
        ("EF", "STK", "069500", "etf"),
        ("FU", "DRV", "KR4101R60000", "future"),
        ("", "DRV", "KR4201R62555", "option"),  # a call: KR42…
        ("", "DRV", "KR4301R62551", "option"),  # a put: KR43…
        ("", "DRV", "ESM21", "future"),  # a derivatives line without a Korean ISIN
        ("", "", "KRD010010001", "cash"),
        ("", "", "CASH00000001", "cash"),
        ("", "", "KR103501GB31", "bond"),  # 국고채: KR1…
        ("", "", "KR6000001A12", "bond"),  # a corporate bond: KR6…
        ("", "", "0724F1", "other"),  # KRX-internal foreign code
        ("RT", "STK", "395400", "other"),  # a group we do not map
    ],
)
def test_constituent_kind(group: str, market: str, code: str, kind: str) -> None:
    assert constituent_kind(group, market, code) == kind


def test_kind_from_code_says_nothing_of_tickers() -> None:
    assert kind_from_code("005930") is None and kind_from_code("0000D0") is None
    assert kind_from_code("US0378331005") is None


@pytest.mark.parametrize("missing", [None, float("nan"), "absent"])
def test_kind_is_never_the_string_nan(missing: object) -> None:
    """pandas 2.2 once turned the cash lines' missing group into the kind 'nan' (a string)."""
    rows = [dict(r) for r in sample_rows(INVERSE_PDF)]
    for row in rows[2:]:  # the cash lines
        for field in ("SECUGRP_ID", "MKT_ID"):
            if missing == "absent":
                del row[field]
            else:
                row[field] = missing
    frame = holdings_frame(rows, "114800", date(2021, 4, 2))
    assert frame["kind"].tolist() == ["etf", "future", "cash", "cash"]
    assert frame["kind"].notna().all() and set(frame["kind"]) <= set(KINDS)
    assert "nan" not in set(frame["kind"].astype(object))


def test_holdings_kinds_negative_quantities_and_dash_weight() -> None:
    base = sample_rows(PDF)[0]
    rows = [
        dict(base, COMPST_ISU_CD="KR4101R60000", COMPST_ISU_CD2="KR4101R60000", MKT_ID="DRV",
             SECUGRP_ID="FU", COMPST_ISU_NM="코스피200 F 202106",
             COMPST_ISU_CU1_SHRS="-324.00", VALU_AMT="-", COMPST_RTO="-"),
        dict(base, COMPST_ISU_CD="069500", SECUGRP_ID="EF", COMPST_ISU_NM="KODEX 200"),
        dict(base, COMPST_ISU_CD="CASH00000001", COMPST_ISU_CD2="", MKT_ID="", SECUGRP_ID="",
             COMPST_ISU_NM="설정현금액", COMPST_RTO="-"),
        dict(base, COMPST_ISU_CD="0724F1", COMPST_ISU_CD2="", MKT_ID="", SECUGRP_ID="",
             COMPST_ISU_NM="APPLE INC"),
    ]  # fmt: skip
    got = by_ticker(holdings_frame(rows, "0000D0", date(2026, 1, 23)), "constituent_code")
    future = got["KR4101R60000"]
    assert future["kind"] == "future" and future["shares_per_cu"] == -324.0
    assert math.isnan(future["weight_pct"]) and math.isnan(future["value_krw"])
    assert got["069500"]["kind"] == "etf"
    assert got["CASH00000001"]["kind"] == "cash"
    assert got["CASH00000001"]["constituent_isin"] is None or pd.isna(
        got["CASH00000001"]["constituent_isin"]
    )
    assert got["0724F1"]["kind"] == "other"  # KRX-internal foreign code, not a ticker
    assert {r["etf_ticker"] for r in got.values()} == {"0000D0"}


def test_repeated_constituent_lines_become_one_position() -> None:
    rows = sample_rows(PDF)
    samsung = next(r for r in rows if r["COMPST_ISU_CD"] == "005930")
    second_lot = dict(
        samsung,
        COMPST_ISU_CU1_SHRS="60.00",
        VALU_AMT="4,974,000",
        COMPST_AMT="5,088,000",
        COMPST_RTO="0.23",
    )
    wire = [*rows, dict(rows[1]), second_lot]  # a verbatim echo of line 2 and a second lot
    lines = holdings_frame(wire, "152100", date(2021, 4, 2))
    assert len(lines) == len(rows) + 2  # the parser keeps every wire line
    merged = merge_repeated_constituents(lines)
    assert merged.attrs["merged_lines"] == 2
    assert len(merged) == len(rows) and not merged.duplicated(["constituent_code"]).any()
    assert merged.dtypes.to_dict() == lines.dtypes.to_dict()
    got = by_ticker(merged, "constituent_code")
    assert got["005930"]["shares_per_cu"] == 8140.0 + 60.0
    assert got["005930"]["value_krw"] == 674_806_000.0 + 4_974_000.0
    assert got["005930"]["amount_krw"] == 690_272_000.0 + 5_088_000.0
    assert got["005930"]["weight_pct"] == pytest.approx(31.74 + 0.23)
    assert got["005930"]["constituent_name"] == "삼성전자" and got["005930"]["kind"] == "stock"
    # Amounts NULL on every line (cash has no shares or value) stay NULL, not 0.
    cash_line = next(r for r in rows if r["COMPST_ISU_CD"] == "KRD010010001")
    wire = [*rows, dict(cash_line, COMPST_RTO="0.10")]
    cash = by_ticker(
        merge_repeated_constituents(holdings_frame(wire, "152100", date(2021, 4, 2))),
        "constituent_code",
    )["KRD010010001"]
    assert math.isnan(cash["shares_per_cu"]) and math.isnan(cash["value_krw"])
    assert cash["weight_pct"] == pytest.approx(0.65 + 0.10)


def test_no_repeats_is_unchanged() -> None:
    frame = pdf()
    merged = merge_repeated_constituents(frame)
    assert merged.attrs["merged_lines"] == 0
    pd.testing.assert_frame_equal(merged, frame)


def test_holdings_without_isin_field() -> None:
    rows = [{k: v for k, v in r.items() if k != "COMPST_ISU_CD2"} for r in sample_rows(PDF)]
    frame = holdings_frame(rows, "152100", date(2021, 4, 2))
    assert frame["constituent_isin"].isna().all()
    assert by_ticker(frame, "constituent_code")["KRD010010001"]["kind"] == "cash"


def test_holdings_empty_and_garbage() -> None:
    assert list(holdings_frame([], "152100", date(2021, 4, 2)).columns) == list(HOLDINGS_COLUMNS)
    rows = sample_rows(PDF)
    rows[1] = dict(rows[1], COMPST_RTO="6..28")
    with pytest.raises(ParseError) as err:
        holdings_frame(rows, "152100", date(2021, 4, 2))
    assert err.value.field == "COMPST_RTO" and err.value.ticker == "152100"


# ── 05901 tracking error and 06001 premium/discount (no capture; fields: docs/krx.md) ──


def test_tracking_error_rows_sorted_oldest_first() -> None:
    rows = [  # newest-first, as KRX sends 05901
        {"TRD_DD": "2025/11/04", "LST_NAV": "43,651.13", "NAV_CHG_RT": "-0.42",
         "OBJ_STKPRC_IDX": "425.11", "IDX_CHG_RTO": "-0.40", "TRACE_YD_MULT": "1.0",
         "TRACE_ERR_RT": "0.15"},
        {"TRD_DD": "2025/11/03", "LST_NAV": "43,835.00", "NAV_CHG_RT": "1.02",
         "OBJ_STKPRC_IDX": "426.82", "IDX_CHG_RTO": "1.00", "TRACE_YD_MULT": "1.0",
         "TRACE_ERR_RT": "0.15"},
    ]  # fmt: skip
    frame = tracking_error_rows(rows, ticker="069500")
    assert frame["trade_date"].tolist() == [date(2025, 11, 3), date(2025, 11, 4)]
    assert frame["nav"].tolist() == [43835.0, 43651.13]
    assert frame["nav_change_pct"].tolist() == [1.02, -0.42]
    assert frame["index_close"].tolist() == [426.82, 425.11]
    assert frame["index_change_pct"].tolist() == [1.0, -0.4]
    assert frame["tracking_multiple"].tolist() == [1.0, 1.0]
    assert frame["tracking_error_pct"].tolist() == [0.15, 0.15]
    assert tracking_error_rows([]).empty
    unpublished = dict(rows[0], OBJ_STKPRC_IDX="0.00", IDX_CHG_RTO="0.00", LST_NAV="0")
    newest = tracking_error_rows([unpublished], ticker="132030").iloc[0]
    assert math.isnan(newest["index_close"]) and math.isnan(newest["nav"])
    with pytest.raises(ParseError) as err:
        tracking_error_rows([{k: v for k, v in rows[0].items() if k != "TRACE_ERR_RT"}])
    assert err.value.field == "TRACE_ERR_RT"


def test_premium_discount_rows_sorted_oldest_first() -> None:
    rows = [
        {"TRD_DD": "2025/11/04", "FLUC_TP_CD": "2", "CLSPRC": "43,545", "LST_NAV": "43,651.13",
         "DIVRG_RT": "-0.24"},
        {"TRD_DD": "2025/10/31", "FLUC_TP_CD": "1", "CLSPRC": "41,700", "LST_NAV": "41,650.00",
         "DIVRG_RT": "0.12"},
    ]  # fmt: skip
    frame = premium_discount_rows(rows, ticker="069500")
    assert list(frame.columns) == ["trade_date", "close", "nav", "premium_discount_pct"]
    assert frame["trade_date"].tolist() == [date(2025, 10, 31), date(2025, 11, 4)]
    assert frame["close"].tolist() == [41700.0, 43545.0]
    assert frame["premium_discount_pct"].tolist() == [0.12, -0.24]
    rows[0]["DIVRG_RT"] = "abc"
    with pytest.raises(ParseError) as err:
        premium_discount_rows(rows, ticker="069500")
    assert err.value.field == "DIVRG_RT" and err.value.ticker == "069500"


def test_a_fund_repeated_verbatim_is_stored_once() -> None:
    rows = sample_rows(PRICES)
    frame = daily_prices_from_data_service([*rows, rows[0]], date(2021, 3, 25))
    distinct = {r["ISU_SRT_CD"] for r in rows}  # the capture itself repeats 278420 verbatim
    assert len(frame) == len(distinct) and frame["ticker"].is_unique
    master = sample_rows(MASTER)
    day = date(2026, 1, 26)
    assert len(master_raw_frame([*master, master[3]], day, day, datetime(2026, 1, 25))) == len(
        master
    )


def test_a_fund_repeated_with_other_values_is_an_error() -> None:
    rows = sample_rows(PRICES)
    changed = {**rows[0], "TDD_CLSPRC": "1"}
    with pytest.raises(ParseError, match="same key twice") as error:
        daily_prices_from_data_service([*rows, changed], date(2021, 3, 25))
    assert error.value.ticker == rows[0]["ISU_SRT_CD"]
