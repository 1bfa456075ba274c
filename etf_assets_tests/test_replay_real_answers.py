"""The assets against a server replaying real captured KRX answers (not the sandbox).

Whatever the sandbox gets wrong about KRX, these bodies are what KRX actually sent: every ETF
in them must land in the warehouse with exactly the values they hold.
"""

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets_tests.conftest import materialize
from etf_assets_tests.wire_samples import sample_body

MASTER = "krx_data_MDCSTAT04601_etf_basic_20260125.trimmed.json"
PRICES = {"20210325": "krx_data_MDCSTAT04301_etf_all_prices_20210325.trimmed.json"}
OPENAPI = {"20240104": "openapi_etf_bydd_trd_20240104.trimmed.json"}
AUTH_KEY = "replay-key"


class Replay(BaseHTTPRequestHandler):
    """Answers like KRX: JSON as text/html for the data service, 401 for a wrong Open API key."""

    def _send(self, status: int, body: object, content_type: str) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        bld = form["bld"][0].rsplit("/", 1)[-1]
        name = MASTER if bld == "MDCSTAT04601" else PRICES.get(form.get("trdDd", [""])[0])
        body = sample_body(name) if name else {"output": []}
        self._send(200, body, "text/html; charset=utf-8")

    def do_GET(self) -> None:
        if self.headers.get("AUTH_KEY") != AUTH_KEY:
            self._send(401, {"respMsg": "Unauthorized Key", "respCode": "401"}, "application/json")
            return
        name = OPENAPI.get(parse_qs(urlparse(self.path).query).get("basDd", [""])[0])
        self._send(200, sample_body(name) if name else {"OutBlock_1": []}, "application/json")

    def log_message(self, *args: object) -> None:
        """Quiet: pytest shows failures, not every request."""


@pytest.fixture(scope="module")
def replay_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def run(
    url: str, db: Path, assets: list, partition: str, **krx: object
) -> duckdb.DuckDBPyConnection:
    res = {
        "krx": KRXClient(data_url=url, openapi_url=url, **krx),
        "kis": KISClient(),
        "duckdb": DuckDBResource(database=str(db)),
    }
    result = materialize(assets, res, partition)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return duckdb.connect(str(db), read_only=True)


def test_real_master_is_stored_whole(replay_url: str, tmp_path: Path) -> None:
    rows = sample_body(MASTER)["output"]
    conn = run(replay_url, tmp_path / "w.duckdb", [krx_etf_list, etf_details], "2026-01-26")
    raw = conn.execute("SELECT * FROM krx_etf_list ORDER BY ticker").df().set_index("ticker")
    assert len(raw) == len(rows) == 18
    for row in rows:  # every field, as the string KRX sent
        for field, value in row.items():
            assert raw.loc[row["ISU_SRT_CD"], field] == value, (row["ISU_SRT_CD"], field)
    details = conn.execute("SELECT * FROM etf_details").df().set_index("ticker")
    assert set(details.index) == {r["ISU_SRT_CD"] for r in rows}
    tiger = details.loc["102110"]
    assert tiger["issuer"] == "미래에셋자산운용" and tiger["expense_ratio_pct"] == 0.05
    assert tiger["listed_shares"] == 76_050_000 and tiger["cu_shares"] == 50_000
    assert details.loc["0112X0", "listing_date"].date() == date(2025, 10, 28)
    assert details.loc["0112X0", "isin"] == "KR70112X0000"


def test_real_04301_prices_are_stored_exactly(replay_url: str, tmp_path: Path) -> None:
    conn = run(replay_url, tmp_path / "w.duckdb", [etf_daily_prices], "2021-03-25")
    prices = conn.execute("SELECT * FROM etf_daily_prices").df().set_index("ticker")
    rows = sample_body(PRICES["20210325"])["output"]
    assert len(prices) == len({r["ISU_SRT_CD"] for r in rows})  # 278420 repeats verbatim
    plus200 = prices.loc["152100"]
    assert (plus200["close"], plus200["nav"]) == (41835, 41887.33)
    assert plus200["net_assets_krw"] == 772_821_298_061
    assert plus200["market_cap_krw"] == 771_855_750_000
    assert plus200["index_close"] == 408.53 and plus200["source"] == "krx_data"
    no_index = [r["ISU_SRT_CD"] for r in sample_body(PRICES["20210325"])["output"]
                if r["OBJ_STKPRC_IDX"] == "-"]  # fmt: skip
    assert no_index and prices.loc[no_index, "index_close"].isna().all()


def test_real_open_api_answer_is_stored_exactly(replay_url: str, tmp_path: Path) -> None:
    conn = run(
        replay_url, tmp_path / "w.duckdb", [etf_daily_prices], "2024-01-04", auth_key=AUTH_KEY
    )
    prices = conn.execute("SELECT * FROM etf_daily_prices").df().set_index("ticker")
    rows = sample_body(OPENAPI["20240104"])["OutBlock_1"]
    assert len(prices) == len(rows)
    for row in rows:
        stored = prices.loc[row["ISU_CD"]]
        assert stored["close"] == float(row["TDD_CLSPRC"])
        assert stored["nav"] == float(row["NAV"])
        assert stored["net_assets_krw"] == int(row["INVSTASST_NETASST_TOTAMT"])
        if row["TDD_OPNPRC"] == "0":  # no trade that day: NULL, never a price of 0
            assert stored[["open", "high", "low"]].isna().all()
    assert (prices["source"] == "krx_openapi").all()
