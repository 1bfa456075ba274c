"""etf_costs against the sandbox's KOFIA (a 150-fund market, clocks frozen on AS_OF's
evening) and against a replay of the one real KOFIA answer found; the costs phase's ticks."""

import threading
from collections.abc import Iterator
from datetime import date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.costs import etf_costs
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.metrics.costs import MATCH_METHODS
from etf_assets.partitions import KST
from etf_assets.phases import PHASE_BY_NAME
from etf_assets.resources.kofia import KOFIAClient, base_date
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.schedules import run_request
from etf_assets.warehouse.write import replace_partition, warehouse
from etf_assets_tests.helpers import (
    ALL_ASSETS,
    AS_OF,
    checks_for,
    failure_text,
    materialize,
    resources,
    table_frame,
    unconfigured_kis,
)
from etf_assets_tests.wire_samples import sample
from etf_sandbox.market.costs import etf_costs as sandbox_costs
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime.combine(AS_OF, time(18, 0), tzinfo=KST)
FIRST, NEWEST = date(2024, 10, 1), date(2026, 9, 1)  # 24 disclosed months


def run_costs(res: dict[str, object], span: tuple[date, date]) -> dg.ExecuteInProcessResult:
    """etf_costs and its checks over `span` in one run, as a backfill runs."""
    return dg.materialize(
        [*ALL_ASSETS, *checks_for(etf_costs)],
        selection=list(etf_costs.keys),
        resources=res,
        tags={
            "dagster/asset_partition_range_start": span[0].isoformat(),
            "dagster/asset_partition_range_end": span[1].isoformat(),
        },
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def kofia_sandbox() -> Iterator[Sandbox]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(partitions, "now_kst", lambda: NOW)
        with start_sandbox(SandboxConfig(n_etfs=150, now=lambda: NOW)) as server:
            yield server


@pytest.fixture(scope="module")
def backfill(
    kofia_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dg.ExecuteInProcessResult, Path, dict[str, object]]:
    db = tmp_path_factory.mktemp("costs") / "etf.duckdb"
    res = resources(
        kofia_sandbox, db, kofia=KOFIAClient(url=kofia_sandbox.url, requests_per_second=10.0)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(partitions, "now_kst", lambda: NOW)
        assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
        return run_costs(res, (FIRST, NEWEST)), db, res


def test_24_months_backfill_in_one_run_and_every_check_passes(backfill) -> None:
    result, db, _ = backfill
    assert result.success, failure_text(result)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == dict.fromkeys(checks, True) and len(checks) == 7
    (run,) = [m for m in result.asset_materializations_for_node("etf_costs")][-1:]
    assert run.metadata["kofia_requests"].value == 24
    with duckdb.connect(str(db), read_only=True) as conn:
        months = conn.execute("SELECT count(DISTINCT month) FROM etf_costs").fetchone()[0]
    assert months == 24


def test_every_listed_fund_has_its_fund_and_figures_for_the_newest_month(
    backfill, kofia_sandbox: Sandbox
) -> None:
    _, db, _ = backfill
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = conn.execute("SELECT * FROM etf_costs WHERE month = ?", [NEWEST]).df()
    truth = sandbox_costs(kofia_sandbox.market, NEWEST).set_index("ticker")
    assert set(stored["ticker"]) == set(truth.index)  # every ETF listed on the base date
    stored = stored.set_index("ticker")
    assert (stored["kofia_fund_code"] == truth.loc[stored.index, "fund_code"]).all()
    assert set(stored["match_method"]) <= set(MATCH_METHODS)
    assert (stored["kofia_base_date"].dt.date == base_date(NEWEST)).all()
    assert (stored["total_fee_pct"] == truth.loc[stored.index, "total_fee"]).all()
    young = truth["ter"].isna()
    assert stored.loc[young[young].index, ["ter_pct", "all_in_cost_pct"]].isna().all().all()
    older = stored.drop(index=young[young].index)
    assert older.drop(columns=["ter_pct", "all_in_cost_pct"]).notna().all().all()
    assert older[["ter_pct", "all_in_cost_pct"]].notna().all().all()
    renamed = truth.index[truth["naming"] == "class_label"]
    assert (stored.loc[renamed, "match_method"] == "full_name_without_class").all()


def test_the_overview_shows_what_a_fund_really_costs(backfill) -> None:
    _, db, _ = backfill
    with duckdb.connect(str(db), read_only=True) as conn:
        row = conn.execute(
            "SELECT o.expense_ratio_pct, o.ter_pct, o.all_in_cost_pct, "
            "o.all_in_minus_headline_pct, o.costs_as_of, c.all_in_cost_pct "
            "FROM etf_overview o JOIN etf_costs c ON c.ticker = o.ticker AND c.month = ? "
            "WHERE o.ticker = '069500'",
            [NEWEST],
        ).fetchone()
    headline, ter, all_in, gap, as_of, stored = row
    assert (all_in, as_of) == (stored, NEWEST) and ter is not None
    assert gap == pytest.approx(all_in - headline)


def test_a_month_kofia_has_not_disclosed_fails_naming_it(backfill) -> None:
    _, _, res = backfill
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(partitions, "now_kst", lambda: NOW)
        result = materialize([etf_costs], res, "2026-11-01")
    assert not result.success
    assert "KOFIA has not disclosed that month yet" in failure_text(result)


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (date(2026, 12, 1), "2026-10-01"),
        (date(2026, 12, 3), "2026-10-01"),
        (date(2027, 1, 4), "2026-11-01"),
    ],
)
def test_the_costs_phase_runs_the_month_before_last_on_a_months_first_sessions(
    day: date, key: str
) -> None:
    request = run_request(PHASE_BY_NAME["costs"], PHASE_BY_NAME["costs"].tick(day))
    assert isinstance(request, dg.RunRequest) and request.partition_key == key


def test_the_costs_phase_skips_the_rest_of_the_month() -> None:
    skip = run_request(PHASE_BY_NAME["costs"], PHASE_BY_NAME["costs"].tick(date(2026, 12, 4)))
    assert isinstance(skip, dg.SkipReason) and "first 3 sessions" in (skip.skip_message or "")


# The replay: the captured answer's four real rows (no ETF among them) and, reconstructed, two
# ETF rows named as KOFIA names ETFs (KODEX 200's real KOFIA code), served for 2026-04-30.
REAL = "kofia_DISFundFeeCmsSO_tdf.trimmed.json"
RECONSTRUCTED_ETF_ROWS = [  # values invented for the replay: not KOFIA's
    ("삼성자산운용", "삼성KODEX200증권상장지수투자신탁[주식]", "KR5105352888", "069500",
     (".12", ".01", ".01", ".01", ".15", ".8147", ".02", ".17", "0", "0", ".0311")),
    ("미래에셋자산운용", "미래에셋TIGER미국S&amp;P500증권상장지수투자신탁(주식)", "K55101BV1234",
     "360750",
     (".004", ".001", ".0005", ".0005", ".006", ".8147", ".05", ".06", "0", "0", ".0102")),
]  # fmt: skip
RATE_TAGS = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16)
REPLAY_MONTH = date(2026, 4, 1)


def replay_body() -> str:
    real = sample(REAL)["_response_body"]
    etf_rows = "".join(
        f"<selectMeta>\n<tmpV1>{issuer}</tmpV1>\n<tmpV2>{name}</tmpV2>\n<tmpV3>주식형</tmpV3>\n"
        f"<tmpV4>20100101</tmpV4>\n"
        + "".join(f"<tmpV{n}>{v}</tmpV{n}>\n" for n, v in zip(RATE_TAGS, rates, strict=True))
        + f"<tmpV15>{code}</tmpV15>\n</selectMeta>"
        for issuer, name, code, _, rates in RECONSTRUCTED_ETF_ROWS
    )  # fmt: skip
    return real.replace(">20500<", ">6<").replace(
        "</DISCondFuncListDTO>", etf_rows + "</DISCondFuncListDTO>"
    )


@pytest.fixture
def replay_url() -> Iterator[str]:
    body = replay_body().encode("utf-8")
    wanted = f"<tmpV30>{base_date(REPLAY_MONTH):%Y%m%d}</tmpV30>".encode()
    empty = b"<root><message><DISCondFuncListDTO><dbio_total_count_>0</dbio_total_count_>"
    empty += b"</DISCondFuncListDTO></message></root>"

    class Replay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = self.rfile.read(int(self.headers["Content-Length"]))
            answer = body if wanted in request else empty
            self.send_response(200)
            self.send_header("Content-Type", "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_replayed_kofia_answer_lands_with_its_exact_values(
    replay_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "etf.duckdb"
    master = table_frame("etf_details", [
        {"trade_date": date(2026, 4, 1), "ticker": ticker, "name": name.split("증권")[0],
         "name_full": full, "issuer": issuer, "listing_date": date(2010, 1, 4),
         "expense_ratio_pct": 0.15 if ticker == "069500" else 0.006, "leverage_factor": 1.0}
        for issuer, name, _, ticker, _ in RECONSTRUCTED_ETF_ROWS
        for full in [name.replace("&amp;", "&").replace("KODEX200", " KODEX200 ").replace(
            "삼성", "삼성", 1)]
    ])  # fmt: skip
    duck = DuckDBResource(database=str(db))
    with warehouse(duck) as conn:
        replace_partition(conn, "etf_details", date(2026, 4, 1), master)
    res = {  # only kofia and duckdb are used; the others are never asked
        "kofia": KOFIAClient(url=replay_url),
        "duckdb": duck,
        "krx": KRXClient(),
        "kis": unconfigured_kis(),
        "seibro": SEIBroClient(),
    }
    result = dg.materialize(
        ALL_ASSETS, selection=list(etf_costs.keys), resources=res,
        partition_key=REPLAY_MONTH.isoformat(), raise_on_error=False,
    )  # fmt: skip
    assert result.success, failure_text(result)
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT * FROM etf_costs ORDER BY ticker").df()
    assert list(rows["ticker"]) == ["069500", "360750"]  # the four TDF classes match no ETF
    kodex = rows.iloc[0]
    assert kodex["kofia_fund_code"] == "KR5105352888"
    assert kodex["match_method"] == "full_name"
    figures = ["management_fee_pct", "total_fee_pct", "other_expenses_pct", "ter_pct",
               "trading_fee_pct", "all_in_cost_pct", "category_average_fee_pct"]  # fmt: skip
    assert list(kodex[figures]) == [0.12, 0.15, 0.02, 0.17, 0.0311, 0.2011, 0.8147]
    assert rows.iloc[1]["kofia_fund_name"] == "미래에셋TIGER미국S&P500증권상장지수투자신탁(주식)"
