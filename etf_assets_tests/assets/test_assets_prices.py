"""etf_daily_prices paths and guarantees, each on its own temporary warehouse."""

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.checks import ALL_CHECKS
from etf_assets.partitions import sessions_back
from etf_assets_tests.helpers import (
    AS_OF,
    checks_for,
    krx_client,
    materialize,
    resources,
    unconfigured_kis,
)
from etf_sandbox.localrun import REPO, sandbox_env
from etf_sandbox.server import Sandbox


def table(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).df()


def digest(db: Path, name: str) -> str:
    frame = table(db, f"SELECT * FROM {name} ORDER BY ALL")
    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).values.tobytes()
    ).hexdigest()


def test_open_api_and_data_service_store_the_same_values(sandbox: Sandbox, tmp_path: Path) -> None:
    day = sessions_back(AS_OF, 3)[0]
    via_data, via_openapi = tmp_path / "data.duckdb", tmp_path / "openapi.duckdb"
    assert materialize([etf_daily_prices], resources(sandbox, via_data), day.isoformat()).success
    openapi = resources(
        sandbox, via_openapi, krx=krx_client(sandbox, auth_key=sandbox.config.openapi_keys[0])
    )
    assert materialize([etf_daily_prices], openapi, day.isoformat()).success
    a = table(via_data, "SELECT * EXCLUDE (source, name) FROM etf_daily_prices ORDER BY ticker")
    b = table(via_openapi, "SELECT * EXCLUDE (source, name) FROM etf_daily_prices ORDER BY ticker")
    pd.testing.assert_frame_equal(a, b)
    assert set(table(via_openapi, "SELECT DISTINCT source FROM etf_daily_prices")["source"]) == {
        "krx_openapi"
    }


def test_a_session_krx_answers_empty_is_an_empty_partition_with_a_note(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A session KRX answers with no data (the calendar did not know the closure)."""
    closed = date(2022, 12, 29)
    sandbox.set_faults("all", krx_unscheduled_closures=[closed.isoformat()])
    try:
        result = materialize(
            [etf_daily_prices], resources(sandbox, tmp_path / "w.duckdb"), "2022-12-29"
        )
    finally:
        sandbox.clear_faults()
    assert result.success
    log = table(tmp_path / "w.duckdb", "SELECT * FROM etf_partition_log")
    assert log["partition_date"].dt.date.tolist() == [closed] and log["row_count"].tolist() == [0]
    assert "no data" in log["note"][0] and "closure" in log["note"][0]
    metadata = result.asset_materializations_for_node("etf_daily_prices")[0].metadata
    assert "2022-12-29" in metadata["empty_sessions"].value


def test_rerunning_a_range_is_idempotent(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    span = (sessions_back(AS_OF, 5)[0], AS_OF)
    assert materialize([etf_daily_prices], resources(sandbox, db), span=span).success
    first = digest(db, "etf_daily_prices")
    assert materialize([etf_daily_prices], resources(sandbox, db), span=span).success
    assert digest(db, "etf_daily_prices") == first
    assert len(table(db, "SELECT DISTINCT trade_date FROM etf_daily_prices")) == 5


def test_relisting_leaves_the_same_rows(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    res = resources(sandbox, db)
    assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
    before = digest(db, "etf_details")
    assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
    assert digest(db, "etf_details") == before


def test_incomplete_partition_fails_the_cli_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """A blocking completeness check makes `dagster asset materialize` exit non-zero, and the
    asset downstream in the same run (etf_aum) is not materialized."""
    db = tmp_path / "w.duckdb"
    res = resources(sandbox, db)
    assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
    with duckdb.connect(str(db)) as conn:  # 60 listed funds (> 3 %) the price screen lacks
        conn.execute(
            "INSERT INTO krx_etf_list SELECT l.* REPLACE ('ZZ' || lpad(i::VARCHAR, 4, '0') "
            "AS ticker) FROM krx_etf_list l, range(60) t(i) WHERE ticker = '069500'"
        )
    env = {
        **os.environ,
        **sandbox_env(sandbox.url, with_kis=False),
        "ETF_ASSETS_DUCKDB": str(db),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    (tmp_path / "home").mkdir()
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "etf_assets.definitions",
         "--select", "etf_daily_prices,etf_aum", "--partition", AS_OF.isoformat()],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "blocking asset check failed" in completed.stdout + completed.stderr
    assert "etf_daily_prices: complete" in completed.stdout + completed.stderr
    written = table(db, "SELECT DISTINCT table_name FROM etf_partition_log")["table_name"]
    assert "etf_daily_prices" in set(written) and "etf_aum" not in set(written)


def test_checks_pass_on_a_good_partition(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    res = resources(sandbox, db, kis=unconfigured_kis())
    result = dg.materialize(
        [krx_etf_list, etf_details, etf_daily_prices, *ALL_CHECKS],
        selection=[krx_etf_list.key, etf_details.key, etf_daily_prices.key],
        resources=res,
        partition_key=AS_OF.isoformat(),
    )
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()
                   if e.asset_key.to_user_string() == "etf_daily_prices"}  # fmt: skip
    assert {"complete", "unique_keys", "coverage", "ranges"} <= set(evaluations)
    for name in ("complete", "unique_keys", "coverage", "ranges"):
        assert evaluations[name].passed, evaluations[name].description


def test_checks_of_a_range_run_look_at_every_partition_written(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A single-run backfill: the checks take the whole range from the run's context."""
    span = sessions_back(AS_OF, 3)
    result = dg.materialize(
        [krx_etf_list, etf_details, etf_daily_prices, *checks_for(etf_daily_prices)],
        selection=[etf_daily_prices.key],
        resources=resources(sandbox, tmp_path / "w.duckdb"),
        tags={
            "dagster/asset_partition_range_start": span[0].isoformat(),
            "dagster/asset_partition_range_end": span[-1].isoformat(),
        },
    )
    assert result.success
    checked = {
        e.check_name: e.metadata["checked_partitions"].value
        for e in result.get_asset_check_evaluations()
        if e.check_name != "fresh_in_sessions"
    }
    assert set(checked) == {
        "complete", "unique_keys", "coverage", "ranges", "finite", "premium_discount_outliers"
    }  # fmt: skip
    assert set(checked.values()) == {f"{span[0]}…{span[-1]} (3)"}
