"""`etf_assets.read` against pykrx itself: the same KRX answers (the sandbox's, over HTTP, fed to
pykrx's own parsing by replacing only its transport) give the same column names, index and
dtypes, and the same values where both have them. Our read side reads the shared warehouse,
built from the same sandbox.

pykrx is installed by `make install` without its dependencies' pins (it pins pandas < 3; see
the Makefile); it makes no request here: its one transport method answers from the sandbox.
"""

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from etf_assets import read
from etf_assets.resources.krx import BLD_PREFIX
from etf_assets_tests.helpers import AS_OF, krx_client
from etf_assets_tests.wire_samples import sample_body
from etf_sandbox.server import Sandbox

DAY = AS_OF.strftime("%Y%m%d")
WEEK_AGO = "20261113"
TICKER = "069500"  # KODEX 200, listed on the first day
INSTALL = ".venv/bin/pip install --no-deps 'pykrx==1.2.9' (or `make install`)"
# KRX's 04501 (one fund's daily prices) is not a screen the sandbox serves: pykrx's parsing of
# it is fed the real captured answer, for its shape.
OHLCV_BY_DATE_SAMPLE = "krx_data_MDCSTAT04501_069500_20210104_20210108.json"


@pytest.fixture(scope="module")
def stock(sandbox: Sandbox, warehouse_path: Path) -> Iterator[ModuleType]:
    """pykrx.stock with its KRX transport answering from the sandbox, and etf_assets.read
    reading the shared warehouse."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("KRX_ID", "KRX_PW"):  # pykrx logs in to the real KRX at import if set
            patch.delenv(name, raising=False)
        patch.setenv("ETF_ASSETS_READ_DUCKDB", str(warehouse_path))
        try:
            pykrx_stock = importlib.import_module("pykrx.stock")
        except ImportError:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"pykrx is not installed: {INSTALL}")
        krxio = importlib.import_module("pykrx.website.krx.krxio")
        core = importlib.import_module("pykrx.website.krx.etx.core")
        client = krx_client(sandbox)

        def read_from_sandbox(self: object, **params: str) -> dict[str, object]:
            screen = self.bld.removeprefix(BLD_PREFIX)  # type: ignore[attr-defined]
            if screen == "MDCSTAT04501":
                return sample_body(OHLCV_BY_DATE_SAMPLE)
            return {"output": client._data_rows(screen, params)}

        def no_rows(self: object) -> pd.DataFrame:  # ETN and ELW masters: not ETFs
            return pd.DataFrame(columns=["ISU_CD", "ISU_SRT_CD", "ISU_ABBRV", "LIST_DD"])

        patch.setattr(krxio.KrxWebIo, "read", read_from_sandbox)
        patch.setattr(core.ETN_전종목기본종목, "fetch", no_rows)
        patch.setattr(core.ELW_전종목기본종목, "fetch", no_rows)
        yield pykrx_stock


def numpy_kind(dtype: object) -> np.dtype:
    """A nullable extension dtype (UInt32) as the numpy dtype it holds (uint32)."""
    return getattr(dtype, "numpy_dtype", dtype)  # type: ignore[return-value]


def assert_same_shape(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert not theirs.empty, "pykrx answered nothing (its decorator hides errors)"
    assert list(ours.columns) == list(theirs.columns)
    assert ours.index.name == theirs.index.name
    assert ours.index.dtype == theirs.index.dtype
    assert {c: numpy_kind(ours[c].dtype) for c in ours} == dict(theirs.dtypes)


def assert_same_where_present(ours: pd.Series, theirs: pd.Series) -> None:
    """Equal where we have a value; where we have none, pykrx has 0 (its word for missing)."""
    theirs = theirs.reindex(ours.index)
    present = ours.notna()
    assert np.allclose(ours[present].astype(float), theirs[present].astype(float)), ours.name
    assert (theirs[~present] == 0).all(), ours.name


def test_ohlcv_by_ticker_same_shape_and_values(stock: ModuleType) -> None:
    ours, theirs = read.get_etf_ohlcv_by_ticker(DAY), stock.get_etf_ohlcv_by_ticker(DAY)
    assert_same_shape(ours, theirs)
    assert set(ours.index) == set(theirs.index)
    for column in ours:
        assert_same_where_present(ours[column], theirs[column])
    assert ours["시가"].isna().any()  # a fund that did not trade: pykrx says its open was 0


def test_ohlcv_by_date_same_shape(stock: ModuleType) -> None:
    theirs = stock.get_etf_ohlcv_by_date("20210104", "20210108", TICKER)
    ours = read.get_etf_ohlcv_by_date(WEEK_AGO, DAY, TICKER)
    assert_same_shape(ours, theirs)
    assert len(ours) == 6 and ours.index.is_monotonic_increasing
    monthly = read.get_etf_ohlcv_by_date("20260101", DAY, TICKER, freq="m")
    assert_same_shape(monthly, stock.get_etf_ohlcv_by_date("20210104", "20210108", TICKER, "m"))
    assert len(monthly) == 11 and monthly["거래량"].sum() > ours["거래량"].sum()


def test_price_deviation_same_shape_and_values(stock: ModuleType) -> None:
    ours = read.get_etf_price_deviation(WEEK_AGO, DAY, TICKER)
    theirs = stock.get_etf_price_deviation(WEEK_AGO, DAY, TICKER)
    assert_same_shape(ours, theirs)
    assert (ours.index == theirs.index).all()
    assert (ours["종가"] == theirs["종가"]).all() and np.allclose(ours["NAV"], theirs["NAV"])
    assert np.allclose(ours["괴리율"], theirs["괴리율"], atol=0.006)  # KRX rounds to 0.01


def test_tracking_error_same_shape_our_definition(stock: ModuleType) -> None:
    ours = read.get_etf_tracking_error(WEEK_AGO, DAY, TICKER)
    theirs = stock.get_etf_tracking_error(WEEK_AGO, DAY, TICKER)
    assert_same_shape(ours, theirs)
    assert np.allclose(ours["NAV"], theirs["NAV"]) and np.allclose(ours["지수"], theirs["지수"])
    # Ours is the 250-session figure of the week's snapshot (NaN before the first one), KRX's
    # its own trailing figure (why they differ: docs/operations.md § Reading the data).
    assert ours["추적오차율"].iloc[-1] > 0 and ours["추적오차율"].iloc[:-1].isna().all()


def test_portfolio_deposit_file_same_shape_and_units(stock: ModuleType) -> None:
    ours = read.get_etf_portfolio_deposit_file(TICKER, DAY)
    theirs = stock.get_etf_portfolio_deposit_file(TICKER, DAY)
    assert_same_shape(ours, theirs)
    common = ours.index.intersection(theirs.index)
    assert len(common) > 0.9 * len(theirs)
    assert np.allclose(ours.loc[common, "계약수"], theirs.loc[common, "계약수"])


def test_trading_volume_and_value_both_forms(stock: ModuleType) -> None:
    ours = read.get_etf_trading_volume_and_value(DAY, DAY, TICKER)
    theirs = stock.get_etf_trading_volume_and_value(DAY, DAY, TICKER)
    assert_same_shape(ours, theirs)
    assert list(ours.index) == ["기관합계", "기타법인", "개인", "외국인", "전체"]
    for investor in ("기관합계", "기타법인", "개인", "전체"):
        assert (ours.loc[investor] == theirs.loc[investor]).all(), investor
    ours = read.get_etf_trading_volume_and_value(DAY, DAY, TICKER, "거래대금", "순매수")
    theirs = stock.get_etf_trading_volume_and_value(DAY, DAY, TICKER, "거래대금", "순매수")
    assert_same_shape(ours, theirs)
    assert (ours[["기관", "기타법인", "개인", "외국인"]] == theirs.drop(columns="전체")).all(None)
    market = read.get_etf_trading_volume_and_value(DAY, DAY)
    assert market.index.name is None and market.loc["전체", ("거래량", "순매수")] == 0


def test_ticker_list_and_names(stock: ModuleType) -> None:
    ours = read.get_etf_ticker_list(DAY)
    assert all(isinstance(t, str) and len(t) == 6 for t in ours) and "0000D0" in ours
    assert set(stock.get_etf_ticker_list(DAY)) <= set(ours) | set(read.get_etf_ticker_list())
    for ticker in [*ours[:5], TICKER]:
        assert read.get_etf_ticker_name(ticker) == stock.get_etf_ticker_name(ticker)
    with pytest.raises(KeyError, match="no ETF with ticker 'XXXXXX'"):
        read.get_etf_ticker_name("XXXXXX")


def test_what_pykrx_lacks(stock: ModuleType) -> None:
    delisted = read.get_etf_delisted_list()
    assert not delisted.empty and delisted.index.name == "티커"
    gone = delisted.index[0]
    assert gone not in stock.get_etf_ticker_list(DAY)  # pykrx cannot see a delisted fund
    assert read.get_etf_ticker_name(gone) == delisted.loc[gone, "종목명"]
    last = delisted.loc[gone, "최종거래일"].strftime("%Y%m%d")
    assert not read.get_etf_ohlcv_by_date("20020101", last, gone).empty
    payouts = read.get_etf_distributions("20260101", DAY, TICKER)
    assert payouts.index.name == "기준일" and set(payouts["구분"]) <= {
        "이익분배",
        "청산분배",
        "기타",
    }
    assert (payouts["배당락일"] < payouts.index).all()
    returns = read.get_etf_returns_by_ticker(DAY)
    assert {"1년 수익률", "1년 총수익률", "분배수익률(TTM)"} <= set(returns.columns)
    overview = read.get_etf_overview()
    assert overview.loc[TICKER, "종목명"] == "KODEX 200" and "순자산총액" in overview


def test_bad_arguments_are_one_line(stock: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"^fromdate='2026-13-01' is not a date: give YYYYMMDD"):
        read.get_etf_ohlcv_by_date("2026-13-01", DAY, TICKER)
    with pytest.raises(ValueError, match="is after todate"):
        read.get_etf_price_deviation(DAY, WEEK_AGO, TICKER)
    with pytest.raises(ValueError, match="choose 'd', 'm' or 'y'"):
        read.get_etf_ohlcv_by_date(WEEK_AGO, DAY, TICKER, freq="w")


def test_falls_back_to_the_warehouse_with_a_warning(
    warehouse_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ETF_ASSETS_READ_DUCKDB", str(tmp_path / "none.duckdb"))
    monkeypatch.setenv("ETF_ASSETS_DUCKDB", str(warehouse_path))
    with pytest.warns(UserWarning, match="no read snapshot at .*`make publish`"):
        assert read.get_etf_ticker_name(TICKER) == "KODEX 200"
