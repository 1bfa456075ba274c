"""etf_investor_flows against the sandbox, compared with the market's ground truth, and its
checks, freshness and overview figures.

A 150-ETF market keeps this module fast: a month of flows costs four requests per fund, a
session one per fund that traded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from etf_assets import partitions
from etf_assets.assets.flows import RANGE_ANSWERS, etf_investor_flows
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.checks import partition_checks, rules
from etf_assets.parsing.krx import INVESTORS
from etf_assets.partitions import KST, at_kst, sessions_back
from etf_assets.phases import phase_of
from etf_assets_tests.helpers import materialize, materialize_with_checks, resources
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

AS_OF = date(2026, 11, 20)
MONTH = sessions_back(AS_OF, 21)  # 20 sessions of net buying need 20 sessions of flows
FLOWS = "etf_investor_flows"
GROUP = {"기관": "institution", "기타법인": "other_corporation", "개인": "individual",
         "외국인": "foreign"}  # fmt: skip
COLUMNS = {  # ours ← the sandbox's ground truth
    "buy_volume": "buy_volume", "sell_volume": "sell_volume", "net_volume": "net_volume",
    "buy_value_krw": "buy_value", "sell_value_krw": "sell_value", "net_value_krw": "net_value",
}  # fmt: skip


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(n_etfs=150)) as sb:
        yield sb


@pytest.fixture(scope="module")
def priced(small_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Listing of AS_OF and a month of prices, no flows."""
    db = tmp_path_factory.mktemp("flows") / "priced.duckdb"
    res = resources(small_sandbox, db)
    assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
    assert materialize([etf_daily_prices], res, span=(MONTH[0], AS_OF)).success
    return db


@pytest.fixture(scope="module")
def month(
    small_sandbox: Sandbox, priced: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    """A month of flows, backfilled as one run."""
    db = tmp_path_factory.mktemp("flows") / "month.duckdb"
    shutil.copy(priced, db)
    result = materialize([etf_investor_flows], resources(small_sandbox, db), span=(MONTH[0], AS_OF))
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return db, result


def copy_of(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "etf.duckdb"
    shutil.copy(db, target)
    return target


def query(db: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).df()


def metadata(result: dg.ExecuteInProcessResult, node: str = FLOWS) -> dict[str, object]:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def ground_truth(market: Market, tickers: list[str], start: date, end: date) -> pd.DataFrame:
    """The sandbox's flows of `tickers`, in the table's names."""
    truth = pd.concat(
        [market.investor_group_flows(t, start, end).assign(ticker=t) for t in tickers],
        ignore_index=True,
    )
    renamed = truth.rename(columns={"date": "trade_date", **{v: k for k, v in COLUMNS.items()}})
    renamed["investor"] = renamed["group"].map(GROUP)
    return renamed[["trade_date", "ticker", "investor", *COLUMNS]]


def stored_flows(db: Path, dates: list[date]) -> pd.DataFrame:
    return query(
        db,
        f"SELECT * FROM {FLOWS} WHERE trade_date IN (SELECT unnest(?::DATE[])) "
        "ORDER BY trade_date, ticker, investor",
        [dates],
    )


def traded(db: Path, dates: list[date]) -> pd.DataFrame:
    return query(
        db,
        "SELECT trade_date, ticker, volume FROM etf_daily_prices "
        "WHERE trade_date IN (SELECT unnest(?::DATE[]))",
        [dates],
    )


def assert_equals_ground_truth(db: Path, market: Market, dates: list[date]) -> None:
    """Every priced fund-session: KRX's figures where it traded, zeros where it did not."""
    stored = stored_flows(db, dates).assign(trade_date=lambda f: f["trade_date"].dt.date)
    prices = traded(db, dates).assign(trade_date=lambda f: f["trade_date"].dt.date)
    truth = ground_truth(market, sorted(set(prices["ticker"])), dates[0], dates[-1])
    keys = ["trade_date", "ticker", "investor"]
    merged = stored.merge(truth, on=keys, how="left", suffixes=("", "_truth"), indicator=True)
    in_truth = merged["_merge"] == "both"
    for column in COLUMNS:
        assert (merged.loc[in_truth, column] == merged.loc[in_truth, f"{column}_truth"]).all()
        assert (merged.loc[~in_truth, column] == 0).all(), column  # no trade: zeros
    idle = prices[prices["volume"] == 0]
    zeros = merged[~in_truth]
    assert set(zip(zeros["trade_date"], zeros["ticker"], strict=True)) == set(
        zip(idle["trade_date"], idle["ticker"], strict=True)
    )
    assert len(stored) == 4 * len(prices) and len(truth) <= len(stored)
    assert set(truth.set_index(keys).index) <= set(stored.set_index(keys).index)


def test_a_month_is_one_run_of_four_requests_per_fund(
    small_sandbox: Sandbox, month: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    db, result = month
    meta = metadata(result)
    prices = traded(db, list(MONTH))
    # sessions each fund traded: four or fewer (a fund listed in the month's last week) cost
    # one 04901 request each, more the range's four 04902 requests
    sessions = prices[prices["volume"] != 0].groupby("ticker").size()
    by_range = sessions > len(RANGE_ANSWERS)
    assert meta["sessions"] == len(MONTH) and meta["funds"] == prices["ticker"].nunique()
    assert meta["krx_requests"] == len(RANGE_ANSWERS) * by_range.sum() + sessions[~by_range].sum()
    assert meta["funds_by_screen"]["MDCSTAT04902 (four per range)"] == by_range.sum()
    assert meta["traded_without_flows"] == 0 and meta["isins_derived"] == []
    assert meta["zero_flow_fund_sessions"] == int((prices["volume"] == 0).sum()) > 0
    assert meta["range_row_count"] == 4 * len(prices)
    assert_equals_ground_truth(db, small_sandbox.market, list(MONTH))


def test_alphanumeric_ticker_stays_text(month: tuple[Path, dg.ExecuteInProcessResult]) -> None:
    db, _ = month
    rows = query(db, f"SELECT DISTINCT ticker FROM {FLOWS} WHERE ticker = '0069M0'")
    assert list(rows["ticker"]) == ["0069M0"]


def test_a_session_is_one_request_per_fund_that_traded_and_agrees_with_the_range(
    small_sandbox: Sandbox, priced: Path, month: tuple[Path, dg.ExecuteInProcessResult],
    tmp_path: Path,
) -> None:  # fmt: skip
    db = copy_of(priced, tmp_path)
    result = materialize([etf_investor_flows], resources(small_sandbox, db), AS_OF.isoformat())
    assert result.success
    prices = traded(db, [AS_OF])
    assert metadata(result)["krx_requests"] == int((prices["volume"] != 0).sum())
    assert metadata(result)["funds_by_screen"]["MDCSTAT04901 (a request per session)"] > 0
    pd.testing.assert_frame_equal(stored_flows(db, [AS_OF]), stored_flows(month[0], [AS_OF]))


def test_every_check_passes_on_the_sandbox(
    small_sandbox: Sandbox, priced: Path, tmp_path: Path
) -> None:
    db = copy_of(priced, tmp_path)
    result = materialize_with_checks(
        [etf_investor_flows], resources(small_sandbox, db), AS_OF.isoformat()
    )
    assert result.success
    outcomes = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(outcomes) == {c.name for c in partition_checks(FLOWS)} | {"fresh_in_sessions"}
    failing = {n for n, e in outcomes.items() if not e.passed} - {"fresh_in_sessions"}
    assert failing == set()
    zero_sum = outcomes["nets_sum_to_zero"]
    assert zero_sum.blocking and zero_sum.severity == dg.AssetCheckSeverity.ERROR
    fund_sessions = len(traded(db, [AS_OF]))
    assert zero_sum.metadata["measured_values"].value == fund_sessions
    assert zero_sum.metadata["measured_volumes"].value == fund_sessions
    volume = outcomes["bought_matches_volume"]
    assert not volume.blocking and volume.severity == dg.AssetCheckSeverity.WARN
    assert volume.metadata["exact"].value == volume.metadata["compared"].value > 100


def test_a_fund_no_master_lists_is_asked_by_its_derived_isin(
    small_sandbox: Sandbox, priced: Path, month: tuple[Path, dg.ExecuteInProcessResult],
    tmp_path: Path,
) -> None:  # fmt: skip
    db = copy_of(priced, tmp_path)
    with duckdb.connect(str(db)) as conn:  # as for a fund delisted before the warehouse began
        conn.execute("DELETE FROM etf_details WHERE ticker = '0069M0'")
    result = materialize([etf_investor_flows], resources(small_sandbox, db), AS_OF.isoformat())
    assert result.success and metadata(result)["isins_derived"] == ["0069M0"]
    pd.testing.assert_frame_equal(stored_flows(db, [AS_OF]), stored_flows(month[0], [AS_OF]))


def test_traded_without_flows_is_missing_never_zero(
    small_sandbox: Sandbox, priced: Path, tmp_path: Path
) -> None:
    """Prices say the suspended fund traded on every session of the month; KRX has no flows
    for it in a range: its rows are missing, the run says so and `complete` fails. For one
    session KRX's totals screen answers zeros: stored as sent, and the volume check warns."""
    suspended = small_sandbox.market.special["suspended"]
    db = copy_of(priced, tmp_path)
    with duckdb.connect(str(db)) as conn:  # two funds are enough, and quicker
        conn.execute("DELETE FROM etf_daily_prices WHERE ticker NOT IN (?, '069500')", [suspended])
        conn.execute("UPDATE etf_daily_prices SET volume = 100 WHERE ticker = ?", [suspended])
    res = resources(small_sandbox, db)
    result = materialize([etf_investor_flows], res, span=(MONTH[0], AS_OF))
    assert result.success and metadata(result)["traded_without_flows"] == len(MONTH)
    assert query(db, f"SELECT * FROM {FLOWS} WHERE ticker = ?", [suspended]).empty
    with duckdb.connect(str(db), read_only=True) as conn:
        complete = rules.completeness(conn, FLOWS, list(MONTH))
    assert not complete.passed and complete.metadata["missing_sample"] == [suspended]
    assert next(c for c in partition_checks(FLOWS) if c.name == "complete").blocking
    checked = materialize_with_checks([etf_investor_flows], res, AS_OF.isoformat())
    outcomes = {e.check_name: e for e in checked.get_asset_check_evaluations()}
    assert checked.success and outcomes["complete"].passed
    volume = outcomes["bought_matches_volume"]
    assert not volume.passed and volume.metadata["offenders"].value[0]["ticker"] == suspended


def test_an_answer_that_cannot_be_parsed_fails_the_run_without_retry(
    small_sandbox: Sandbox, priced: Path, tmp_path: Path
) -> None:
    db = copy_of(priced, tmp_path)
    with duckdb.connect(str(db)) as conn:
        conn.execute("DELETE FROM etf_daily_prices WHERE ticker NOT IN ('069500', '0069M0')")
    small_sandbox.set_faults("krx_data", malformed_rows_n=1)  # "1,234x": not a number
    try:
        res = resources(small_sandbox, db)
        with (
            dg.build_asset_context(partition_key=AS_OF.isoformat()) as context,
            pytest.raises(dg.Failure, match=r"2 of 2 funds failed.*not a KRX integer") as failure,
        ):
            etf_investor_flows(context, krx=res["krx"], duckdb=res["duckdb"])
    finally:
        small_sandbox.clear_faults()
    assert not failure.value.allow_retries  # the same answer would fail again
    assert failure.value.metadata["failed_tickers"].value == ["0069M0", "069500"]


def test_not_final_before_18_00_and_nothing_asked(
    small_sandbox: Sandbox, priced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure before any request that Dagster does not retry: before 18:00 KST no retry in
    5 minutes can find final flows; the message says when to run again."""
    monkeypatch.setattr(partitions, "now_kst", lambda: datetime(2026, 11, 20, 17, 59, tzinfo=KST))
    small_sandbox.reset_stats()
    res = resources(small_sandbox, priced)
    with (
        dg.build_asset_context(partition_key=AS_OF.isoformat()) as context,
        pytest.raises(dg.Failure, match="run it again after 2026-11-20 18:00 KST") as failure,
    ):
        etf_investor_flows(context, krx=res["krx"], duckdb=res["duckdb"])
    assert not failure.value.allow_retries
    assert small_sandbox.stats()["total"] == 0


def test_sessions_without_prices_fail_clearly(small_sandbox: Sandbox, priced: Path) -> None:
    before = MONTH[0].replace(day=1)
    res = resources(small_sandbox, priced)
    with (
        dg.build_asset_context(partition_key=before.isoformat()) as context,
        pytest.raises(dg.Failure, match=r"etf_daily_prices has no partition.*materialize it"),
    ):
        etf_investor_flows(context, krx=res["krx"], duckdb=res["duckdb"])


# ── the rules on broken data ──


def test_zero_sum_rule_names_the_fund_session_that_does_not_balance(
    month: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path
) -> None:
    db = copy_of(month[0], tmp_path)
    with duckdb.connect(str(db)) as conn:
        assert rules.flows_sum_to_zero(conn, FLOWS, [AS_OF]).passed
        conn.execute(  # as if two groups' columns were swapped for one fund
            f"UPDATE {FLOWS} SET net_value_krw = net_value_krw + 1000 WHERE trade_date = ? "
            "AND ticker = '069500' AND investor = 'foreign'",
            [AS_OF],
        )
        conn.execute(
            f"UPDATE {FLOWS} SET net_volume = NULL WHERE trade_date = ? AND ticker = '102110' "
            "AND investor = 'individual'",
            [AS_OF],
        )
        outcome = rules.flows_sum_to_zero(conn, FLOWS, [AS_OF])
    assert not outcome.passed
    assert outcome.metadata["not_summing_to_zero"] == 1
    assert outcome.metadata["measured_volumes"] == outcome.metadata["fund_sessions"] - 1  # NULL
    assert outcome.metadata["measured_values"] == outcome.metadata["fund_sessions"]
    (offender,) = outcome.metadata["offenders"]
    assert offender["ticker"] == "069500" and offender["net_value_sum_krw"] == 1000
    assert offender["net_volume_sum"] == 0 and offender["groups"] == 4


@pytest.mark.parametrize(("extra_pct", "passes"), [(0.5, True), (5.0, False)])
def test_bought_volume_rule_tolerates_krx_corrections_only(
    month: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path, extra_pct: float, passes: bool
) -> None:
    db = copy_of(month[0], tmp_path)
    with duckdb.connect(str(db)) as conn:
        volume = conn.execute(
            "SELECT volume FROM etf_daily_prices WHERE trade_date = ? AND ticker = '069500'",
            [AS_OF],
        ).fetchone()[0]
        conn.execute(
            f"UPDATE {FLOWS} SET buy_volume = buy_volume + ? WHERE trade_date = ? "
            "AND ticker = '069500' AND investor = 'individual'",
            [round(volume * extra_pct / 100), AS_OF],
        )
        outcome = rules.flows_match_volume(conn, FLOWS, [AS_OF])
    assert outcome.passed is passes
    assert outcome.metadata["beyond_tolerance"] == (0 if passes else 1)


def test_freshness_expects_today_once_the_flows_phase_is_due(
    month: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    """The flows phase plus GRACE (phases.py), minutes kept: a minute before, the previous
    session is still fresh enough; from then on, the day's."""
    due_at = at_kst(AS_OF, phase_of(FLOWS).due)
    with duckdb.connect(str(month[0]), read_only=True) as conn:
        early = rules.freshness(conn, FLOWS, due_at - timedelta(minutes=1))
        due = rules.freshness(conn, FLOWS, due_at)
    assert early.metadata["expected"] == str(MONTH[-2]) and early.passed
    assert due.metadata["expected"] == str(AS_OF) and due.passed


# ── the overview ──


@pytest.fixture(scope="module")
def overview(
    small_sandbox: Sandbox, month: tuple[Path, dg.ExecuteInProcessResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dg.ExecuteInProcessResult]:  # fmt: skip
    db = tmp_path_factory.mktemp("flows") / "overview.duckdb"
    shutil.copy(month[0], db)
    result = materialize([etf_overview], resources(small_sandbox, db), AS_OF.isoformat())
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return db, result


def test_overview_net_buying_is_the_sum_of_the_last_sessions(
    small_sandbox: Sandbox, overview: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    db, _ = overview
    snapshot = query(db, "SELECT * FROM etf_overview_snapshot WHERE trade_date = ?", [AS_OF])
    assert (snapshot["flows_as_of"].dt.date == AS_OF).all()
    view = query(db, "SELECT * FROM etf_overview")
    columns = [c for c in snapshot.columns if "_net_buy_" in c]
    assert sorted(columns) == sorted(
        f"{g}_net_buy_{n}d_krw" for g in ("foreign", "institution", "individual") for n in (5, 20)
    )
    pd.testing.assert_frame_equal(
        snapshot.set_index("ticker")[columns], view.set_index("ticker")[columns], check_like=True
    )
    market = small_sandbox.market
    row = snapshot.set_index("ticker").loc["069500"]
    for n in (5, 20):
        window = sessions_back(AS_OF, n)
        truth = market.investor_group_flows("069500", window[0], AS_OF)
        for group, investor in (
            ("외국인", "foreign"),
            ("기관", "institution"),
            ("개인", "individual"),
        ):
            expected = truth.loc[truth["group"] == group, "net_value"].sum()
            assert row[f"{investor}_net_buy_{n}d_krw"] == expected, (investor, n)
    # A fund without a trade in the month: zeros, not NULL.
    assert (snapshot.set_index("ticker").loc[market.special["suspended"], columns] == 0).all()


def test_overview_net_buying_is_null_over_a_gap(
    small_sandbox: Sandbox, overview: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path
) -> None:
    db = copy_of(overview[0], tmp_path)
    with duckdb.connect(str(db)) as conn:
        conn.execute(f"DELETE FROM {FLOWS} WHERE ticker = '069500' AND trade_date = ?", [MONTH[-3]])
        conn.execute(
            f"UPDATE {FLOWS} SET net_value_krw = NULL WHERE ticker = '102110' "
            "AND investor = 'foreign' AND trade_date = ?",
            [MONTH[-10]],
        )
        got = conn.execute(
            "SELECT ticker, foreign_net_buy_5d_krw, foreign_net_buy_20d_krw, "
            "individual_net_buy_20d_krw FROM etf_overview WHERE ticker IN ('069500', '102110') "
            "ORDER BY ticker"
        ).fetchall()
    assert got[0][:3] == ("069500", None, None)  # a session missing in both windows
    assert got[1][0] == "102110" and got[1][1] is not None and got[1][2] is None
    assert got[1][3] is not None  # another group of the same sessions is whole


def test_overview_charts_the_largest_net_buys_and_sells(
    overview: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    meta = metadata(overview[1], "etf_overview")
    assert meta["net_flows_session"] == str(AS_OF)
    assert Path(meta["chart_largest_net_flows"]).read_bytes().startswith(b"\x89PNG")
    assert meta["largest_net_flows_chart"].startswith("![투자자별 순매수·순매도 상위")
    table = meta["largest_net_flows"]
    assert "| ticker | name | investor | net_value_krw |" in table
    shown = {word for word in table.split() if word in INVESTORS}
    assert shown and shown <= {"foreign", "institution", "individual"}
