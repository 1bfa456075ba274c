"""etf_returns against the sandbox: KRX's 04401 wire and our parser, the asset's figures against
the generated market's closes and payouts, the KRX cross-check, and the checks."""

import itertools
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from etf_assets.assets.reports import etf_overview
from etf_assets.assets.returns import etf_returns, krx_period
from etf_assets.errors import ParseError
from etf_assets.metrics.returns import FREQUENCY_LOOKBACK_DAYS, window_start
from etf_assets.parsing.krx import period_change_frame
from etf_assets.partitions import sessions_back, xkrx_sessions
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partitions
from etf_assets_tests.helpers import (
    AS_OF,
    HISTORY_START,
    checks_for,
    copy_warehouse,
    krx_client,
    market_distributions,
    materialize,
    resources,
)
from etf_assets_tests.wire_samples import sample_body
from etf_sandbox.market import Market, get_market
from etf_sandbox.server import Sandbox

SAMPLE_04401 = "krx_data_MDCSTAT04401_etf_period_change_20210325_20210402.trimmed.json"
SAMPLE_04301 = "krx_data_MDCSTAT04301_etf_all_prices_20210325.trimmed.json"
LIQUIDATION_REASON = "청산분배"


def sample_rows(name: str) -> list[dict[str, str]]:
    return sample_body(name)["output"]


def test_period_change_parser_reads_the_real_answer() -> None:
    frame = period_change_frame(sample_rows(SAMPLE_04401)).set_index("ticker")
    assert list(frame.index) == ["152100", "295820", "253150", "253160", "278420"]
    row = frame.loc["152100"]
    assert (row.base_price, row.close, row.change, row.change_pct) == (41715, 43405, 1690, 4.05)
    assert row.volume == 1_002_296 and row.traded_value_krw == 42_802_174_550
    assert frame.loc["253160", "change"] == -365 and frame.loc["253160", "change_pct"] == -8.33
    # BAS_PRC is the close of the session before strtDd: 04301 of strtDd (2021-03-25) shows
    # close − change = 41,715 for 152100.
    prices = {r["ISU_SRT_CD"]: r for r in sample_rows(SAMPLE_04301)}
    close = float(prices["152100"]["TDD_CLSPRC"].replace(",", ""))
    change = float(prices["152100"]["CMPPREVDD_PRC"].replace(",", ""))
    assert close - change == row.base_price


def test_period_change_parser_names_a_broken_row() -> None:
    rows = sample_rows(SAMPLE_04401)
    broken = [*rows[:2], {**rows[2], "FLUC_RT": "n/a"}]
    with pytest.raises(ParseError, match="FLUC_RT") as raised:
        period_change_frame(broken)
    assert "253150" in str(raised.value)
    assert period_change_frame([]).empty


def test_sandbox_04401_speaks_the_wire_of_the_sample(sandbox: Sandbox) -> None:
    start, end = krx_period(AS_OF, xkrx_sessions())
    rows = krx_client(sandbox).fetch_period_change(start, end)
    assert list(rows[0]) == list(sample_rows(SAMPLE_04401)[0])  # the same fields, in order
    market = get_market()
    assert len(rows) == len(market.daily(AS_OF))
    frame = period_change_frame(rows).set_index("ticker")
    base = window_start(AS_OF, "1m", xkrx_sessions())
    kodex = market.special["kodex200"]
    closes = {d: market.daily(d).set_index("ticker").loc[kodex, "close"] for d in (base, AS_OF)}
    assert frame.loc[kodex, "base_price"] == closes[base]
    assert frame.loc[kodex, "close"] == closes[AS_OF]


def total_return_from_market(market: Market, ticker: str, start: date, end: date) -> float:
    """Ground truth from the generated market: hold one share from the close of `start`,
    buy more with every payout but a liquidation at the close of its ex-date."""
    path = market.history(ticker, start, end).set_index("date")["close"]
    paid = market.distributions(start, end + timedelta(days=10))
    paid = paid[(paid["ticker"] == ticker) & (paid["reason"] != LIQUIDATION_REASON)]
    amounts = paid.groupby("ex_date")["amount_krw"].sum()
    shares = 1.0
    for day, close in path.items():
        if start < day <= end and day in amounts.index:
            shares *= 1 + amounts[day] / close
    return (shares * path[end] / path[start] - 1) * 100


def nav_total_return_from_market(market: Market, ticker: str, start: date, end: date) -> float:
    """The fund's own return over the window: its NAV path with every payout added back."""
    path = market.history(ticker, start, end).set_index("date")
    paid = market.distributions(start, end + timedelta(days=10))
    paid = paid[(paid["ticker"] == ticker) & (paid["reason"] != LIQUIDATION_REASON)]
    amounts = paid.groupby("ex_date")["amount_krw"].sum()
    growth = 1.0
    days = list(path.index)
    for previous, day in itertools.pairwise(days):
        growth *= (path.at[day, "nav"] + amounts.get(day, 0.0)) / path.at[previous, "nav"]
    return (growth - 1) * 100


@pytest.fixture(scope="module")
def returns_run(
    sandbox: Sandbox, warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    """A copy of the shared warehouse with the market's payouts, and etf_returns of AS_OF run
    with its checks."""
    db = copy_warehouse(warehouse_path, tmp_path_factory.mktemp("returns"))
    payouts = market_distributions(
        get_market(), HISTORY_START - timedelta(days=FREQUENCY_LOOKBACK_DAYS), AS_OF
    )
    with duckdb.connect(str(db)) as conn:
        months = TABLES["etf_distributions"].partition_keys_of(payouts["record_date"])
        replace_partitions(conn, "etf_distributions", sorted(set(months)), payouts)
    result = dg.materialize(
        [*checks_for(etf_returns), etf_returns],
        selection=[etf_returns.key],
        resources=resources(sandbox, db),
        partition_key=AS_OF.isoformat(),
        raise_on_error=False,
    )
    return db, result


def stored(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("SELECT * FROM etf_returns ORDER BY ticker").df().set_index("ticker")


def test_returns_of_every_priced_fund_with_passing_checks(
    returns_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, result = returns_run
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    frame = stored(db)
    assert len(frame) == len(get_market().daily(AS_OF))
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in ("complete", "unique_keys", "finite", "coverage", "ranges",
                 "agrees_with_krx_period_change"):  # fmt: skip
        assert evaluations[name].passed, (name, evaluations[name].description)
    compared = evaluations["agrees_with_krx_period_change"].metadata["compared"].value
    assert compared >= 0.95 * len(frame)


def test_price_and_total_returns_match_the_generated_market(
    returns_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, _ = returns_run
    market, frame = get_market(), stored(db)
    payer = market.special["monthly_payer"]
    for window in ("1m", "3m", "1y", "ytd"):
        start = window_start(AS_OF, window, xkrx_sessions())
        path = market.history(payer, start, AS_OF).set_index("date")["close"]
        assert frame.loc[payer, f"return_{window}_pct"] == pytest.approx(
            (path[AS_OF] / path[start] - 1) * 100
        )
        expected = total_return_from_market(market, payer, start, AS_OF)
        assert frame.loc[payer, f"total_return_{window}_pct"] == pytest.approx(expected)
    # Twelve payouts of ~0.75 % a year: the price return misses them, the total return not.
    one_year = frame.loc[payer]
    assert one_year.total_return_1y_pct - one_year.return_1y_pct > 5
    # The total return is the fund's own (NAV with payouts) up to its premium at both ends.
    start = window_start(AS_OF, "1y", xkrx_sessions())
    premiums = market.history(payer, start, AS_OF).set_index("date")
    premium = (premiums["close"] / premiums["nav"] - 1) * 100
    gap = abs(premium[AS_OF] - premium[start]) * (1 + one_year.total_return_1y_pct / 100) + 0.05
    nav_total = nav_total_return_from_market(market, payer, start, AS_OF)
    assert one_year.total_return_1y_pct == pytest.approx(nav_total, abs=gap)


def test_distribution_yield_and_frequency_match_the_generated_market(
    returns_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, _ = returns_run
    market, frame = get_market(), stored(db)
    payer = market.special["monthly_payer"]
    paid = market.distributions(AS_OF - timedelta(days=380), AS_OF + timedelta(days=10))
    income = paid[(paid["ticker"] == payer) & (paid["reason"] == "이익분배")
                  & (paid["ex_date"] > AS_OF - timedelta(days=365))
                  & (paid["ex_date"] <= AS_OF)]  # fmt: skip
    row = frame.loc[payer]
    assert row.distributions_ttm == len(income) == 12
    assert row.distribution_ttm_krw == income["amount_krw"].sum()
    assert row.distribution_yield_ttm_pct == pytest.approx(income["amount_krw"].sum() / row.close
                                                            * 100)  # fmt: skip
    assert row.distribution_frequency == "monthly"
    truth = market.etfs.set_index("ticker")
    seasoned = truth[
        (truth["listing_date"] < AS_OF - timedelta(days=FREQUENCY_LOOKBACK_DAYS))
        & truth.index.isin(frame.index)
    ]
    inferred = frame.loc[seasoned.index, "distribution_frequency"]
    agree = (inferred == seasoned["payout_frequency"]).mean()
    assert agree >= 0.95, (inferred != seasoned["payout_frequency"]).sum()


def test_a_fund_listed_inside_the_year_has_no_1y_return(
    returns_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, _ = returns_run
    market, frame = get_market(), stored(db)
    young = market.special["new_listing"]
    listed = market.etfs.set_index("ticker").at[young, "listing_date"]
    assert listed > window_start(AS_OF, "1y", xkrx_sessions())
    assert pd.isna(frame.loc[young, "return_1y_pct"])
    assert pd.isna(frame.loc[young, "total_return_1y_pct"])


def test_a_range_is_one_run_writing_every_session(sandbox: Sandbox, db: Path) -> None:
    span = sessions_back(AS_OF, 3)
    result = materialize([etf_returns], resources(sandbox, db), span=(span[0], span[-1]))
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        counts = conn.execute(
            "SELECT trade_date, count(*), count(krx_return_1m_pct) FROM etf_returns "
            "GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert [c[0] for c in counts] == list(span)
    assert all(rows == len(get_market().daily(d)) for d, rows, _ in counts)
    # KRX's own 1-month change is fetched for the run's newest session only
    assert [krx > 0.95 * rows for _, rows, krx in counts] == [False, False, True]
    assert [krx for _, _, krx in counts[:-1]] == [0, 0]


def test_overview_shows_yields_and_charts_the_top_payer(
    sandbox: Sandbox, returns_run: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    db, _ = returns_run
    result = materialize([etf_overview], resources(sandbox, db), AS_OF.isoformat())
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        overview = conn.execute("SELECT * FROM etf_overview").df().set_index("ticker")
        returns = conn.execute("SELECT * FROM etf_returns").df().set_index("ticker")
    payer = get_market().special["monthly_payer"]
    for column in ("distribution_yield_ttm_pct", "distribution_frequency", "return_1y_pct",
                   "total_return_ytd_pct"):  # fmt: skip
        assert overview.loc[payer, column] == returns.loc[payer, column]
    assert (overview["returns_as_of"].dropna().dt.date == AS_OF).all()
    metadata = result.asset_materializations_for_node("etf_overview")[0].metadata
    top = returns.sort_values("distribution_yield_ttm_pct", ascending=False).index[0]
    assert metadata["top_payer"].value.endswith(f"({top})")
    for chart in ("highest_distribution_yields_chart", "top_payer_history_chart"):
        assert "data:image/png;base64," in metadata[chart].value
    assert Path(metadata["chart_top_payer_history"].value).read_bytes().startswith(b"\x89PNG")
