"""The derived assets compute a range of years in one set-based pass, written in batches, and
every session's figures are the ones that session computed alone gets (the daily run): the
same statement with one date. A recorded closure (an empty price partition) lies inside the
range, so every window must skip it; batches are small so their edges fall inside windows.

Before the set-based statements replaced the per-session loops, a range of 3.4 years
computed by the loops (the code of 2026-12-06) was compared with them: every figure equal,
floating point sums within 1e-9 relative. This test keeps the property that made that
comparison hold: a session's figures do not depend on the range or batch it is computed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.assets.metrics import KRX_PUBLISHED, PUBLISHED_TRACKING_SQL
from etf_assets.assets.prices import price_sessions
from etf_assets.assets.returns import krx_changes_registered
from etf_assets.metrics.aum import AUM_SQL, kis_quotes
from etf_assets.metrics.returns import RETURNS_SQL, returns_params
from etf_assets.metrics.tracking import tracking_params
from etf_assets.metrics.week52 import WEEK52_SQL, week52_params
from etf_assets.warehouse import write
from etf_assets.warehouse.schema import TABLES
from etf_assets_tests.assets.derived_history import (
    EMPTY_SESSION,
    RANGE,
    WEEKS,
    build_history,
    fast_sandbox_config,
)
from etf_sandbox.server import start_sandbox

BATCH_SESSIONS = 97  # batch edges inside every window
Query = Callable[[list[date]], tuple[str, dict[str, object]]]


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The multi-year history, every derived table written over RANGE (WEEKS) in batches."""
    db = tmp_path_factory.mktemp("derived_ranges") / "etf.duckdb"
    with start_sandbox(fast_sandbox_config()) as sandbox:
        build_history(sandbox, db)
    connection = duckdb.connect(str(db))
    write.set_query_options(connection)
    no_krx = pd.DataFrame(columns=["trade_date", "ticker", "krx_return_1m_pct"])
    connection.register(
        KRX_PUBLISHED,
        pd.DataFrame(
            {
                "as_of_date": pd.Series(dtype="datetime64[us]"),
                "ticker": pd.Series(dtype="object"),
                "krx_tracking_error_pct": pd.Series(dtype="float64"),
            }
        ),
    )
    with kis_quotes(connection, None, None), krx_changes_registered(connection, no_krx):
        yield connection
    connection.close()


def queries(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[tuple[date, ...], Query]]:
    """Each derived table's partitions and the assets' query of a batch of them."""
    sessions = price_sessions(conn)
    return {
        "etf_aum": (RANGE, lambda b: (AUM_SQL, {"dates": b})),
        "etf_52w": (RANGE, lambda b: (WEEK52_SQL, week52_params(b, sessions))),
        "etf_returns": (RANGE, lambda b: (RETURNS_SQL, returns_params(b, sessions))),
        "etf_tracking_error": (
            WEEKS,
            lambda b: (PUBLISHED_TRACKING_SQL, tracking_params(b, sessions)),
        ),
    }


def same_rows(ranged: pd.DataFrame, alone: pd.DataFrame) -> None:
    """Equal frames: every value, NULL where NULL; floats within 1e-9 relative."""
    assert list(ranged["ticker"]) == list(alone["ticker"]) and len(alone) > 0
    for column in alone.columns:
        a, b = ranged[column].reset_index(drop=True), alone[column].reset_index(drop=True)
        assert (a.isna() == b.isna()).all(), column
        if pd.api.types.is_float_dtype(b):
            assert np.allclose(a[b.notna()], b[b.notna()], rtol=1e-9, atol=0), column
        else:
            assert (a[b.notna()] == b[b.notna()]).all(), column


@pytest.mark.parametrize("table", ["etf_aum", "etf_52w", "etf_returns", "etf_tracking_error"])
def test_a_range_in_batches_gives_each_session_its_own_figures(
    conn: duckdb.DuckDBPyConnection, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, query = queries(conn)[table]
    monkeypatch.setattr(write, "QUERY_WRITE_BATCH_PARTITIONS", BATCH_SESSIONS)
    written = write.replace_partitions_in_batches(conn, table, keys, query)
    key = TABLES[table].key_column
    stored = conn.execute(f"SELECT {key}, count(*) FROM {table} GROUP BY 1 ORDER BY 1").fetchall()
    assert written == sum(n for _, n in stored)
    assert [d for d, _ in stored] == [k for k in keys if k != EMPTY_SESSION]
    after_closure = min(k for k in keys if k > EMPTY_SESSION)
    samples = {keys[0], keys[BATCH_SESSIONS - 1], keys[BATCH_SESSIONS], after_closure, keys[-1]}
    samples |= {keys[i] for i in range(0, len(keys), len(keys) // 6)}
    for d in sorted(samples):
        sql, params = query([d])
        alone = conn.execute(sql, params).df()
        ranged = conn.execute(f"SELECT * FROM {table} WHERE {key} = ? ORDER BY ticker", [d]).df()[
            list(alone.columns)
        ]
        same_rows(ranged, alone)
