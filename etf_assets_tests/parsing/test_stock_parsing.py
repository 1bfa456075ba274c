"""KRX's stock screens parsed: the real 전종목 시세 answers (a KOSDAQ session and a Saturday)
and the reconstructed 업종분류 현황 rows, plus the broken answers that must fail by name."""

from datetime import date

import pandas as pd
import pytest

from etf_assets.errors import ParseError
from etf_assets.parsing.stocks import (
    STOCK_SECTOR_COLUMNS,
    STOCK_SHARE_COLUMNS,
    stock_sectors_frame,
    stock_shares_frame,
)
from etf_assets_tests.wire_samples import sample_body

PRICES_KSQ = "krx_data_MDCSTAT01501_stock_prices_KSQ_20210122.trimmed.json"
PRICES_SATURDAY = "krx_data_MDCSTAT01501_stock_prices_STK_20210123_saturday.trimmed.json"
SECTORS_STK = "krx_data_MDCSTAT03901_stock_sectors_STK_20220902.reconstructed.json"


def test_real_session_answer_gives_listed_shares_close_and_market_cap() -> None:
    rows = sample_body(PRICES_KSQ)["OutBlock_1"]
    frame = stock_shares_frame(rows, date(2021, 1, 22))
    assert list(frame.columns) == list(STOCK_SHARE_COLUMNS)
    first = frame.iloc[0]  # 060310 3S: 2,255 KRW × 44,802,511 shares = 101,029,662,305
    assert (first["stock_code"], first["listed_shares"], first["close"]) == (
        "060310",
        44_802_511,
        2_255.0,
    )
    assert first["market_cap_krw"] == 101_029_662_305 == first["close"] * first["listed_shares"]
    assert len(frame) == len(rows)


def test_real_saturday_answer_is_no_trading_not_zero_prices() -> None:
    """On 2021-01-23 KRX listed every stock with LIST_SHRS but every price `-`."""
    rows = sample_body(PRICES_SATURDAY)["OutBlock_1"]
    assert "00104K" in {r["ISU_SRT_CD"] for r in rows}
    assert stock_shares_frame(rows, date(2021, 1, 23)).empty


def test_sectors_keep_codes_whole_and_stamp_the_market_asked() -> None:
    rows = sample_body(SECTORS_STK)["block1"]
    frame = stock_sectors_frame(rows, date(2022, 9, 2), "STK")
    assert list(frame.columns) == list(STOCK_SECTOR_COLUMNS)
    assert dict(zip(frame["stock_code"], frame["sector"], strict=True))["282330"] == "유통업"
    assert set(frame["market"]) == {"STK"}
    alnum = stock_sectors_frame([{**rows[0], "ISU_SRT_CD": "00104K"}], date(2022, 9, 2), "STK")
    assert alnum["stock_code"].tolist() == ["00104K"]


def test_a_sector_krx_leaves_out_is_null() -> None:
    rows = [{**sample_body(SECTORS_STK)["block1"][0], "IDX_IND_NM": "-"}]
    assert pd.isna(stock_sectors_frame(rows, date(2022, 9, 2), "STK")["sector"].iloc[0])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("LIST_SHRS", None, "LIST_SHRS"), ("LIST_SHRS", "1.5", "not a KRX integer")],
)
def test_a_broken_stock_row_fails_naming_the_field(
    field: str, value: str | None, message: str
) -> None:
    row = dict(sample_body(PRICES_KSQ)["OutBlock_1"][0])
    if value is None:
        del row[field]
    else:
        row[field] = value
    with pytest.raises(ParseError, match=message):
        stock_shares_frame([row], date(2021, 1, 22))
