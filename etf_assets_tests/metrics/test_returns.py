"""etf_returns' math on small histories: windows, month-end clamping, YTD, NULL before listing,
reinvestment, what counts as income, the payout frequency, and never NaN. Each history is
loaded into an in-memory DuckDB and computed by the asset's own statement (RETURNS_SQL)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from etf_assets.metrics.returns import RETURN_COLUMNS, TOTAL_RETURN_COLUMNS, window_start
from etf_assets_tests.metrics.returns_on_duckdb import payout_frequency, returns_frame

# Weekdays of 2023–2025, less two closures, as a small exchange calendar.
CLOSED = {date(2024, 12, 31), date(2025, 1, 1)}
SESSIONS = tuple(
    d
    for d in (date(2023, 1, 2) + timedelta(days=i) for i in range(3 * 365))
    if d.weekday() < 5 and d not in CLOSED
)


def prices(ticker: str, closes: dict[date, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"ticker": ticker, "trade_date": list(closes), "close": list(closes.values())}
    )


def flat(ticker: str, close: float, since: date = SESSIONS[0]) -> dict[date, float]:
    return {d: close for d in SESSIONS if d >= since}


def payouts(*rows: tuple[str, date, float, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ticker", "ex_date", "amount_per_share_krw", "kind"])


NO_PAYOUTS = payouts()


def one_row(frame: pd.DataFrame, ticker: str) -> pd.Series:
    rows = frame[frame["ticker"] == ticker]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("d", "window", "start"),
    [
        (date(2025, 3, 31), "1m", date(2025, 2, 28)),  # 02-31 does not exist: clamped
        (date(2024, 3, 29), "1m", date(2024, 2, 29)),  # leap year
        (date(2025, 5, 31), "3m", date(2025, 2, 28)),  # Saturday 05-31 − 3 months: 02-28 (Fri)
        (date(2025, 3, 3), "1m", date(2025, 2, 3)),
        (date(2025, 3, 10), "1w", date(2025, 3, 3)),
        (date(2025, 3, 9), "1w", date(2025, 2, 28)),  # 03-02 is a Sunday → Friday before
        (date(2025, 8, 29), "6m", date(2025, 2, 28)),
        (date(2025, 2, 28), "1y", date(2024, 2, 28)),
        (date(2024, 2, 29), "1y", date(2023, 2, 28)),  # 2023 has no 02-29
        (date(2025, 1, 2), "ytd", date(2024, 12, 30)),  # 12-31 closed
        (date(2024, 6, 14), "ytd", date(2023, 12, 29)),  # 12-31 a Sunday
        (date(2023, 1, 5), "1m", None),  # before the calendar
    ],
)
def test_window_starts_at_the_last_session_on_or_before_the_same_date(
    d: date, window: str, start: date | None
) -> None:
    assert window_start(d, window, SESSIONS) == start


def test_price_return_is_close_over_the_window_start_close() -> None:
    closes = {d: 100.0 + i for i, d in enumerate(SESSIONS)}
    d = date(2025, 3, 31)
    row = one_row(returns_frame(prices("A", closes), NO_PAYOUTS, [d], SESSIONS), "A")
    for window, column in zip(("1w", "1m", "3m", "6m", "1y", "ytd"), RETURN_COLUMNS, strict=True):
        start = window_start(d, window, SESSIONS)
        assert row[column] == pytest.approx((closes[d] / closes[start] - 1) * 100)
    # Without payouts total return is the price return.
    assert list(row[list(TOTAL_RETURN_COLUMNS)]) == pytest.approx(list(row[list(RETURN_COLUMNS)]))


def test_a_fund_listed_inside_a_window_has_no_return_for_it() -> None:
    listed = date(2025, 2, 10)
    d = date(2025, 3, 31)
    frame = returns_frame(prices("NEW", flat("NEW", 100.0, since=listed)), NO_PAYOUTS, [d],
                          SESSIONS)  # fmt: skip
    row = one_row(frame, "NEW")
    assert row["return_1w_pct"] == 0.0 and row["return_1m_pct"] == 0.0
    for w in ("3m", "6m", "1y", "ytd"):
        assert pd.isna(row[f"return_{w}_pct"]) and pd.isna(row[f"total_return_{w}_pct"])


def test_no_close_at_the_window_start_is_null_never_nan_or_inf() -> None:
    d = date(2025, 3, 31)
    closes = flat("Z", 100.0)
    closes[window_start(d, "1m", SESSIONS)] = 0.0  # a 0 close (a row before the absence rules)
    del closes[window_start(d, "1w", SESSIONS)]  # no price row at all
    row = one_row(returns_frame(prices("Z", closes), NO_PAYOUTS, [d], SESSIONS), "Z")
    assert pd.isna(row["return_1m_pct"]) and pd.isna(row["return_1w_pct"])
    assert row["return_3m_pct"] == 0.0
    numbers = row.drop(["trade_date", "ticker", "distribution_frequency"]).astype(float)
    assert not np.isinf(numbers).any()


def test_a_payout_reinvested_at_the_ex_date_close_makes_up_for_the_price_drop() -> None:
    """The close falls by the payout on the ex-date: price return −5 %, total return 0."""
    ex = date(2025, 3, 14)
    closes = {d: (100.0 if d < ex else 95.0) for d in SESSIONS}
    d = date(2025, 3, 31)
    frame = returns_frame(prices("P", closes), payouts(("P", ex, 5.0, "income")), [d], SESSIONS)
    row = one_row(frame, "P")
    assert row["return_1m_pct"] == pytest.approx(-5.0)
    assert row["total_return_1m_pct"] == pytest.approx(0.0, abs=1e-12)
    assert row["return_1w_pct"] == 0.0 and row["total_return_1w_pct"] == 0.0  # ex-date before


def test_reinvested_payouts_compound() -> None:
    """Two payouts at different closes: shares grow by 1 + D/close_ex each time."""
    ex1, ex2 = date(2025, 2, 14), date(2025, 3, 14)
    closes = {d: 100.0 for d in SESSIONS}
    closes.update({d: 110.0 for d in SESSIONS if d >= ex1})
    closes.update({d: 120.0 for d in SESSIONS if d >= ex2})
    rows = payouts(("C", ex1, 10.0, "income"), ("C", ex2, 6.0, "other"))
    d = date(2025, 3, 31)
    row = one_row(returns_frame(prices("C", closes), rows, [d], SESSIONS), "C")
    shares = (1 + 10 / 110) * (1 + 6 / 120)
    assert row["total_return_3m_pct"] == pytest.approx((120 * shares / 100 - 1) * 100)
    assert row["return_3m_pct"] == pytest.approx(20.0)


def test_a_payout_on_the_window_start_is_not_in_the_window() -> None:
    d = date(2025, 3, 31)
    start = window_start(d, "1m", SESSIONS)
    closes = {s: (100.0 if s < start else 90.0) for s in SESSIONS}
    rows = payouts(("S", start, 10.0, "income"))
    row = one_row(returns_frame(prices("S", closes), rows, [d], SESSIONS), "S")
    assert row["total_return_1m_pct"] == 0.0
    assert row["total_return_3m_pct"] == pytest.approx(0.0, abs=1e-12)  # inside: made up for


def test_a_liquidation_payout_is_never_reinvested_nor_income() -> None:
    d = date(2025, 3, 31)
    rows = payouts(("L", date(2025, 3, 20), 50.0, "liquidation"))
    row = one_row(returns_frame(prices("L", flat("L", 100.0)), rows, [d], SESSIONS), "L")
    assert row["total_return_1m_pct"] == 0.0
    assert row["distribution_ttm_krw"] == 0.0 and row["distributions_ttm"] == 0
    assert row["distribution_yield_ttm_pct"] == 0.0
    assert row["distribution_frequency"] == "none"


def test_yield_counts_income_with_ex_dates_in_the_trailing_365_days() -> None:
    d = date(2025, 3, 31)
    rows = payouts(
        ("Y", d - timedelta(days=364), 30.0, "income"),  # the first day of the 365
        ("Y", d - timedelta(days=365), 1000.0, "income"),  # one day too old
        ("Y", date(2024, 9, 30), 20.0, "income"),
        ("Y", date(2024, 12, 2), 7.0, "other"),  # a special payout: not income
        ("Y", d + timedelta(days=1), 500.0, "income"),  # after the trade date
    )
    # The ex-date 364 days back is a Monday (2024-04-01): a session, as an ex-date is.
    assert d - timedelta(days=364) in SESSIONS
    row = one_row(returns_frame(prices("Y", flat("Y", 1000.0)), rows, [d], SESSIONS), "Y")
    assert row["distribution_ttm_krw"] == 50.0 and row["distributions_ttm"] == 2
    assert row["distribution_yield_ttm_pct"] == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("gaps", "paid", "listed_a_year", "frequency"),
    [
        ([31, 28, 31, 30, 35, 27], True, True, "monthly"),
        ([91, 92, 90], True, True, "quarterly"),
        ([182], True, True, "semiannual"),
        ([365], True, True, "annual"),
        ([], True, True, "annual"),  # one payout in two years from a fund listed over a year
        ([], True, False, "irregular"),  # one payout of a young fund: too early to tell
        ([30, 30, 91], True, True, "irregular"),  # a monthly payer that skipped two months
        ([365], False, True, "none"),  # paid, but not in the trailing year
    ],
)
def test_frequency_of_gaps(
    gaps: list[int], paid: bool, listed_a_year: bool, frequency: str
) -> None:
    assert payout_frequency(gaps, paid, listed_a_year) == frequency


def test_frequency_from_payouts_of_every_rhythm() -> None:
    d = date(2025, 12, 31)
    month_ends = sorted({max(s for s in SESSIONS if (s.year, s.month) == (y, m))
                         for y in (2024, 2025) for m in range(1, 13)})  # fmt: skip
    rows = [("M", s, 10.0, "income") for s in month_ends]
    rows += [("Q", s, 10.0, "income") for s in month_ends if s.month in (3, 6, 9, 12)]
    rows += [("H", s, 10.0, "income") for s in month_ends if s.month in (6, 12)]
    rows += [("A", s, 10.0, "income") for s in month_ends if s.month == 4]
    closes = pd.concat([prices(t, flat(t, 100.0)) for t in ("M", "Q", "H", "A", "N")])
    frame = returns_frame(closes, payouts(*rows), [d], SESSIONS).set_index("ticker")
    assert frame["distribution_frequency"].to_dict() == {
        "A": "annual", "H": "semiannual", "M": "monthly", "N": "none", "Q": "quarterly",
    }  # fmt: skip
    assert frame.loc["M", "distributions_ttm"] == 12 and frame.loc["Q", "distributions_ttm"] == 4
    assert frame.loc["M", "distribution_yield_ttm_pct"] == pytest.approx(120.0)


def test_every_date_of_a_range_and_only_funds_priced_that_day() -> None:
    dates = [date(2025, 3, 27), date(2025, 3, 28), date(2025, 3, 31)]
    closes = pd.concat([prices("A", flat("A", 100.0)), prices("GONE", flat("GONE", 50.0))])
    closes = closes[~((closes["ticker"] == "GONE") & (closes["trade_date"] > dates[1]))]
    frame = returns_frame(closes, NO_PAYOUTS, dates, SESSIONS)
    assert frame.groupby("trade_date")["ticker"].apply(list).to_dict() == {
        dates[0]: ["A", "GONE"], dates[1]: ["A", "GONE"], dates[2]: ["A"],
    }  # fmt: skip


def test_reinvestment_follows_each_fund_whatever_the_row_order() -> None:
    """Rows of many funds in any order: each fund's payouts grow its own shares only."""
    ex = date(2025, 3, 14)
    closes = pd.concat(
        [prices(t, {d: (100.0 if d < ex or t != "P" else 95.0) for d in SESSIONS})
         for t in ("Z", "P", "A")]
    ).sample(frac=1.0, random_state=7)  # fmt: skip
    frame = returns_frame(closes, payouts(("P", ex, 5.0, "income")), [date(2025, 3, 31)],
                          SESSIONS).set_index("ticker")  # fmt: skip
    assert frame.loc["P", "total_return_1m_pct"] == pytest.approx(0.0, abs=1e-12)
    assert frame.loc["P", "return_1m_pct"] == pytest.approx(-5.0)
    assert (frame.loc[["A", "Z"], "total_return_1m_pct"] == 0.0).all()
