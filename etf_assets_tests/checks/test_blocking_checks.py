"""A NaN or an infinity written into a partition fails its run through the blocking `finite`
check, and the assets downstream of it in the same run are not materialized, like the other
blocking checks."""

from datetime import date
from pathlib import Path

import duckdb
import pytest

from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.reports import etf_overview
from etf_assets.warehouse import write as warehouse_write
from etf_assets_tests.helpers import AS_OF, materialize_with_checks, resources
from etf_sandbox.server import Sandbox

POISONED = "069500"


def test_a_nan_or_infinity_fails_the_run_and_stops_downstream(
    sandbox: Sandbox, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # etf_aum writes through warehouse.write.replace_partitions_by_query, batch by batch
    write = warehouse_write.replace_partitions_by_query

    def writing_infinity_and_nan(
        conn: duckdb.DuckDBPyConnection,
        table: str,
        dates: list[date],
        sql: str,
        params: dict[str, object],
    ) -> int:
        """An infinity and a NaN land in the written partition, as a division by zero would
        leave them."""
        written = write(conn, table, dates, sql, params)
        conn.execute(
            "UPDATE etf_aum SET market_cap_krw = 'inf', nav = 'nan' WHERE ticker = ?", [POISONED]
        )
        return written

    monkeypatch.setattr(warehouse_write, "replace_partitions_by_query", writing_infinity_and_nan)
    result = materialize_with_checks(
        [etf_aum, etf_overview], resources(sandbox, db), AS_OF.isoformat()
    )

    assert not result.success
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    finite = evaluations[("etf_aum", "finite")]
    assert not finite.passed and finite.blocking
    offender = {"trade_date": AS_OF.isoformat(), "ticker": POISONED}
    assert finite.metadata["non_finite"].value == {
        "market_cap_krw": {"count": 1, "offenders": [{**offender, "value": "inf"}]},
        "nav": {"count": 1, "offenders": [{**offender, "value": "nan"}]},
    }
    assert evaluations[("etf_aum", "complete")].passed  # finite alone failed the run
    assert [m.asset_key.to_user_string() for m in result.get_asset_materialization_events()] == [
        "etf_aum"
    ]
    with duckdb.connect(str(db), read_only=True) as conn:  # written, then flagged
        assert conn.execute(
            "SELECT isnan(nav), isinf(market_cap_krw) FROM etf_aum "
            "WHERE trade_date = ? AND ticker = ?",
            [AS_OF, POISONED],
        ).fetchone() == (True, True)
