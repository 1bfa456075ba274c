"""The assets against a server replaying real captured KRX and KIS answers (not the sandbox).

Whatever the sandbox gets wrong about KRX, these bodies are what KRX actually sent: every ETF
in them must land in the warehouse with exactly the values they hold, and NULL where they hold
none. Every body in `wire_samples/` that an asset consumes goes through that asset here:
04601 (listing), 04301 and the Open API (prices, the Sunday answer included), 05001 (holdings:
the 152100 capture and the reconstructed 114800 inverse basket), 04902 (investor flows: the
0069M0 week, value and net, with its checks), and KIS's inquire-price (etf_aum) and components
(the etf_holdings fallback). Expected values are derived from the
wire text by this file's own reading of the absence rules (docs/assets.md § Absent values), not by
the parser under test.
"""

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.flows import etf_investor_flows
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.partitions import KST
from etf_assets.resources.kis import KISClient
from etf_assets.resources.kofia import KOFIAClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.warehouse.write import replace_partition, warehouse
from etf_assets_tests.helpers import ALL_ASSETS, checks_for, materialize, table_frame
from etf_assets_tests.wire_samples import sample_body

MASTER = "krx_data_MDCSTAT04601_etf_basic_20260125.trimmed.json"
PRICES = "krx_data_MDCSTAT04301_etf_all_prices_20210325.trimmed.json"
SUNDAY = "krx_data_MDCSTAT04301_etf_all_prices_20210321_sunday.trimmed.json"
OPENAPI = "openapi_etf_bydd_trd_20240104.trimmed.json"
OPENAPI_UNPUBLISHED_INDEX = (  # reconstructed, see its _note
    "openapi_etf_bydd_trd_20240104_unpublished_index.reconstructed.json"
)
PDF_152100 = "krx_data_MDCSTAT05001_pdf_152100_20210402.trimmed.json"
PDF_114800 = "krx_data_MDCSTAT05001_pdf_114800_20210402.json"  # reconstructed: see its _note
KIS_TOKEN = "kis_oauth2_tokenP.json"
KIS_PRICE = "kis_etf_inquire_price.json"  # 305720, `output` only (envelope stripped)
KIS_COMPONENTS = "kis_etf_component_stock_price.json"  # 069500

# What the replay server answers, by request. A session KRX closed answers 04301 exactly like
# the captured Sunday (every ETF, every figure "-"): served for 2021-03-22, a session by the
# calendar, it must become an empty partition with a note.
DAILY_BY_DATE = {"20210325": [PRICES], "20210322": [SUNDAY]}
OPENAPI_BY_DATE = {"20240104": [OPENAPI, OPENAPI_UNPUBLISHED_INDEX]}
PDF_BY_REQUEST = {
    ("20210402", "KR7152100004"): PDF_152100,
    ("20210402", "KR7114800006"): PDF_114800,
}
PDF_FAILS = ("20240105", "KR7069500007")  # 069500's PDF is broken that day: KIS stands in
KIS_PRICE_TICKER, KIS_COMPONENTS_TICKER = "305720", "069500"
FLOWS_DAILY = "krx_data_MDCSTAT04902_investor_daily_0069M0_20260116_20260123.json"
# The captured 04902 request: value (inqCondTpCd1=1) and net (inqCondTpCd2=1) of 0069M0 over
# 2026-01-16…23. Other selectors of it were not captured: answered with no rows.
FLOWS_REQUEST = {"isuCd": "KR70069M0006", "strtDd": "20260116", "endDd": "20260123",
                 "inqCondTpCd1": "1", "inqCondTpCd2": "1"}  # fmt: skip
FLOWS_SESSIONS = [date(2026, 1, d) for d in (16, 19, 20, 21, 22, 23)]
FLOW_GROUP_FIELDS = {"institution": "NUM_ITM_VAL21", "other_corporation": "NUM_ITM_VAL22",
                     "individual": "NUM_ITM_VAL23", "foreign": "NUM_ITM_VAL24"}  # fmt: skip
AUTH_KEY = "replay-key"
KIS_OK = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}

# The absence rules, read independently of the parser: "-"/"" is no value for every field;
# 0 is no value for these fields, whose value cannot be 0.
ZERO_MEANS_NONE = {
    "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "TDD_CLSPRC", "NAV", "MKTCAP",
    "INVSTASST_NETASST_TOTAMT", "LIST_SHRS", "OBJ_STKPRC_IDX",
}  # fmt: skip
PRICE_COLUMNS = {
    "open": "TDD_OPNPRC", "high": "TDD_HGPRC", "low": "TDD_LWPRC", "close": "TDD_CLSPRC",
    "volume": "ACC_TRDVOL", "traded_value_krw": "ACC_TRDVAL", "market_cap_krw": "MKTCAP",
    "nav": "NAV", "net_assets_krw": "INVSTASST_NETASST_TOTAMT", "listed_shares": "LIST_SHRS",
    "index_name": "IDX_IND_NM", "index_close": "OBJ_STKPRC_IDX",
}  # fmt: skip
PDF_COLUMNS = {
    "constituent_name": "COMPST_ISU_NM", "constituent_isin": "COMPST_ISU_CD2",
    "shares_per_cu": "COMPST_ISU_CU1_SHRS", "value_krw": "VALU_AMT",
    "amount_krw": "COMPST_AMT", "weight_pct": "COMPST_RTO",
}  # fmt: skip
TEXT_FIELDS = {"IDX_IND_NM", "COMPST_ISU_NM", "COMPST_ISU_CD2", "ISU_ABBRV", "ISU_NM"}


def expected(field: str, text: str) -> object:
    """What the warehouse must hold for one wire value of `field`."""
    value = text.replace(",", "").strip() if field not in TEXT_FIELDS else text.strip()
    if value in ("-", ""):
        return None
    if field in TEXT_FIELDS:
        return value
    number = float(value)
    return None if number == 0 and field in ZERO_MEANS_NONE else number


def rows_of(name: str) -> list[dict[str, str]]:
    body = sample_body(name)
    return body["OutBlock_1"] if "OutBlock_1" in body else body["output"]


class Replay(BaseHTTPRequestHandler):
    """Answers like KRX (JSON as text/html, 401 for a wrong Open API key) and like KIS."""

    def _send(self, status: int, body: object, content_type: str) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers["Content-Length"]))

    def do_POST(self) -> None:
        if urlparse(self.path).path == "/oauth2/tokenP":
            self._body()
            self._send(200, sample_body(KIS_TOKEN), "application/json; charset=utf-8")
            return
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        self._send(200, self._krx_data(form), "text/html; charset=utf-8")

    @staticmethod
    def _krx_data(form: dict[str, str]) -> object:
        screen = form["bld"].rsplit("/", 1)[-1]
        day = form.get("trdDd", "")
        if screen == "MDCSTAT04601":
            return sample_body(MASTER)
        if screen == "MDCSTAT04301":
            return {"output": [r for n in DAILY_BY_DATE.get(day, []) for r in rows_of(n)]}
        if screen == "MDCSTAT05001" and (day, form["isuCd"]) == PDF_FAILS:
            return {"output": "broken"}  # not a list of rows: KRXBadResponse
        if screen == "MDCSTAT05001":
            name = PDF_BY_REQUEST.get((day, form["isuCd"]))
            return {"output": rows_of(name) if name else []}
        if screen == "MDCSTAT04902" and all(form.get(k) == v for k, v in FLOWS_REQUEST.items()):
            return sample_body(FLOWS_DAILY)
        return {"output": []}

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/uapi/"):
            self._send(200, self._kis(url.path, query), "application/json; charset=utf-8")
            return
        if self.headers.get("AUTH_KEY") != AUTH_KEY:
            self._send(401, {"respMsg": "Unauthorized Key", "respCode": "401"}, "application/json")
            return
        names = OPENAPI_BY_DATE.get(query.get("basDd", ""), [])
        self._send(200, {"OutBlock_1": [r for n in names for r in rows_of(n)]}, "application/json")

    @staticmethod
    def _kis(path: str, query: dict[str, str]) -> object:
        ticker = query.get("FID_INPUT_ISCD")
        if path.endswith("/inquire-price") and ticker == KIS_PRICE_TICKER:
            return {"output": sample_body(KIS_PRICE), **KIS_OK}
        if path.endswith("/inquire-component-stock-price") and ticker == KIS_COMPONENTS_TICKER:
            return sample_body(KIS_COMPONENTS)
        return {"rt_cd": "1", "msg_cd": "REPLAY404", "msg1": "no captured answer"}

    def log_message(self, *args: object) -> None:
        """Quiet: pytest shows failures, not every request."""


@pytest.fixture(scope="module")
def replay_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def replay_kis(url: str, cache: Path) -> KISClient:
    return KISClient(
        app_key="replay-app",
        app_secret="replay-secret",
        base_url=url,
        token_cache_dir=str(cache),
        requests_per_second=100,
    )


def run(
    url: str,
    db: Path,
    assets: list,
    partition: str,
    *,
    kis: KISClient | None = None,
    **krx: object,
) -> dg.ExecuteInProcessResult:
    res = {
        "krx": KRXClient(data_url=url, openapi_url=url, **krx),
        "kis": kis or KISClient(),
        "seibro": SEIBroClient(url=url),
        "kofia": KOFIAClient(),
        "duckdb": DuckDBResource(database=str(db)),
    }
    result = materialize(assets, res, partition)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def table_rows(db: Path, sql: str) -> list[dict[str, Any]]:
    """Rows as DuckDB holds them (NULL → None; a NaN would stay NaN and fail equality)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stored(db: Path, sql: str, key: str) -> dict[str, dict[str, Any]]:
    return {row[key]: row for row in table_rows(db, sql)}


def seed(db: Path, table: str, partition: date, rows: list[dict[str, object]]) -> None:
    """Scaffolding rows an asset reads (not under test): the universe or a price row."""
    with warehouse(DuckDBResource(database=str(db))) as conn:
        replace_partition(conn, table, partition, table_frame(table, rows))


def test_real_master_is_stored_whole(replay_url: str, tmp_path: Path) -> None:
    rows = sample_body(MASTER)["output"]
    db = tmp_path / "w.duckdb"
    run(replay_url, db, [krx_etf_list, etf_details], "2026-01-26")
    raw = stored(db, "SELECT * FROM krx_etf_list", "ticker")
    assert len(raw) == len(rows) == 18
    for row in rows:  # every field, as the string KRX sent
        for field, value in row.items():
            assert raw[row["ISU_SRT_CD"]][field] == value, (row["ISU_SRT_CD"], field)
    details = stored(db, "SELECT * FROM etf_details", "ticker")
    assert set(details) == {r["ISU_SRT_CD"] for r in rows}
    for row in rows:
        got = details[row["ISU_SRT_CD"]]
        assert (got["isin"], got["name"], got["issuer"]) == (
            row["ISU_CD"], row["ISU_ABBRV"], row["COM_ABBRV"]
        )  # fmt: skip
        assert got["listed_shares"] == int(row["LIST_SHRS"].replace(",", ""))
        assert got["cu_shares"] == int(row["CU_QTY"].replace(",", ""))
        assert got["expense_ratio_pct"] == float(row["ETF_TOT_FEE"])
        assert got["listing_date"] == datetime.strptime(row["LIST_DD"], "%Y/%m/%d").date()
    tiger = details["102110"]
    assert tiger["issuer"] == "미래에셋자산운용" and tiger["expense_ratio_pct"] == 0.05
    assert tiger["listed_shares"] == 76_050_000 and tiger["cu_shares"] == 50_000
    assert details["0112X0"]["isin"] == "KR70112X0000"
    assert details["252420"]["leverage_factor"] == -2.0


def assert_prices_as_sent(
    prices: dict[str, dict[str, Any]], rows: list[dict[str, str]], ticker: str, name: str
) -> None:
    """Every stored figure equals its wire value, NULL where KRX sent none."""
    for row in rows:
        got = prices[row[ticker]]
        assert got["name"] == row[name]
        for column, field in PRICE_COLUMNS.items():
            assert got[column] == expected(field, row[field]), (row[ticker], column)


def test_real_04301_prices_are_stored_exactly(replay_url: str, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(replay_url, db, [etf_daily_prices], "2021-03-25")
    prices = stored(db, "SELECT * FROM etf_daily_prices", "ticker")
    rows = sample_body(PRICES)["output"]
    assert len(prices) == len({r["ISU_SRT_CD"] for r in rows}) == 9  # 278420 repeats verbatim
    assert_prices_as_sent(prices, rows, "ISU_SRT_CD", "ISU_ABBRV")
    plus200 = prices["152100"]
    assert (plus200["close"], plus200["nav"]) == (41835, 41887.33)
    assert plus200["net_assets_krw"] == 772_821_298_061
    assert plus200["market_cap_krw"] == 771_855_750_000
    assert plus200["index_close"] == 408.53 and plus200["source"] == "krx_data"
    assert plus200["trade_date"] == date(2021, 3, 25)
    # KRX publishes no level for these two indices ("-"): NULL, the rest of the row kept.
    for ticker in ("278420", "333940"):
        assert prices[ticker]["index_close"] is None and prices[ticker]["close"] > 0


def test_real_closed_day_answer_is_an_empty_partition_with_a_note(
    replay_url: str, tmp_path: Path
) -> None:
    """KRX's answer for a day without a session (the captured Sunday: every figure "-")."""
    db = tmp_path / "w.duckdb"
    result = run(replay_url, db, [etf_daily_prices], "2021-03-22")
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM etf_daily_prices").fetchone() == (0,)
        log = conn.execute(
            "SELECT partition_date, row_count, note FROM etf_partition_log_latest "
            "WHERE table_name = 'etf_daily_prices'"
        ).fetchall()
    assert len(log) == 1 and log[0][:2] == (date(2021, 3, 22), 0)
    assert "no data for session 2021-03-22" in log[0][2] and "closure" in log[0][2]
    metadata = result.asset_materializations_for_node("etf_daily_prices")[0].metadata
    assert list(metadata["empty_sessions"].value) == ["2021-03-22"]


def test_real_open_api_answer_is_stored_exactly(replay_url: str, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(replay_url, db, [etf_daily_prices], "2024-01-04", auth_key=AUTH_KEY)
    prices = stored(db, "SELECT * FROM etf_daily_prices", "ticker")
    rows = rows_of(OPENAPI) + rows_of(OPENAPI_UNPUBLISHED_INDEX)
    assert len(prices) == len(rows) == 15
    assert_prices_as_sent(prices, rows, "ISU_CD", "ISU_NM")
    assert {p["source"] for p in prices.values()} == {"krx_openapi"}
    assert {p["trade_date"] for p in prices.values()} == {date(2024, 1, 4)}
    # Indices whose level KRX does not publish: "0.00" on the wire, NULL here, never 0.
    unpublished = {r["ISU_CD"] for r in rows_of(OPENAPI_UNPUBLISHED_INDEX)}
    assert len(unpublished) == 6
    assert all(prices[t]["index_close"] is None for t in unpublished)
    assert prices["132030"]["index_name"] == "S&P GSCI Gold Index(TR)"
    assert prices["132030"]["nav"] == 12861.24
    assert prices["265690"]["index_close"] is None  # "-"
    no_trade = prices["299080"]  # O/H/L "0": no trade that day; close and volume 0 are facts
    assert (no_trade["open"], no_trade["high"], no_trade["low"]) == (None, None, None)
    assert (no_trade["close"], no_trade["volume"], no_trade["traded_value_krw"]) == (108030, 0, 0)
    assert sum(p["index_close"] is None for p in prices.values()) == 8


def test_real_pdfs_keep_every_number_of_every_line(replay_url: str, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    as_of = date(2021, 4, 2)
    seed(db, "etf_details", as_of, [
        dict(trade_date=as_of, ticker="152100", isin="KR7152100004"),
        dict(trade_date=as_of, ticker="114800", isin="KR7114800006"),
    ])  # fmt: skip
    result = run(replay_url, db, [etf_holdings], as_of.isoformat())
    holdings = table_rows(db, "SELECT * FROM etf_holdings")
    by_line = {(h["etf_ticker"], h["constituent_code"]): h for h in holdings}
    wire = {"152100": rows_of(PDF_152100), "114800": rows_of(PDF_114800)}
    assert len(holdings) == sum(len(r) for r in wire.values()) == 13
    for etf, lines in wire.items():
        for line in lines:
            got = by_line[(etf, line["COMPST_ISU_CD"])]
            assert got["as_of_date"] == as_of and got["source"] == "krx_pdf"
            for column, field in PDF_COLUMNS.items():
                assert got[column] == expected(field, line[field]), (etf, line, column)
    inverse = {code: h for (etf, code), h in by_line.items() if etf == "114800"}
    assert {c: h["kind"] for c, h in inverse.items()} == {
        "069500": "etf", "KR4101R60000": "future", "KRD010010001": "cash", "CASH00000001": "cash",
    }  # fmt: skip
    assert (inverse["069500"]["value_krw"], inverse["069500"]["amount_krw"]) == (None, -13_946_580)
    future = inverse["KR4101R60000"]
    assert (future["shares_per_cu"], future["value_krw"], future["amount_krw"]) == (
        -3.58, -375_184_000, None
    )  # fmt: skip
    assert inverse["CASH00000001"]["amount_krw"] == 388_739_133
    assert all(h["weight_pct"] is None for h in inverse.values())
    samsung = by_line[("152100", "005930")]
    assert (samsung["value_krw"], samsung["amount_krw"], samsung["weight_pct"]) == (
        674_806_000, 690_272_000, 31.74
    )  # fmt: skip
    assert by_line[("152100", "KRD010010001")]["amount_krw"] == 14_159_974
    metadata = result.asset_materializations_for_node("etf_holdings")[0].metadata
    assert metadata["lines_by_kind"].value == {"stock": 8, "cash": 3, "etf": 1, "future": 1}


def evening(day: date) -> datetime:
    """After the close: KIS quotes then show `day`'s closing figures."""
    return datetime(day.year, day.month, day.day, 20, tzinfo=KST)


def test_real_kis_quote_lands_beside_krx_in_etf_aum(
    replay_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = date(2024, 1, 4)
    monkeypatch.setattr(partitions, "now_kst", lambda: evening(day))
    db = tmp_path / "w.duckdb"
    # KRX's row without NAV or net assets: the AUM must then come from KIS's real quote.
    seed(db, "etf_daily_prices", day, [
        dict(trade_date=day, ticker="305720", close=19020.0, listed_shares=62_400_000,
             source="krx_openapi"),
    ])  # fmt: skip
    run(replay_url, db, [etf_aum], day.isoformat(), kis=replay_kis(replay_url, tmp_path))
    row = stored(db, "SELECT * FROM etf_aum", "ticker")["305720"]
    quote = sample_body(KIS_PRICE)
    assert quote["etf_ntas_ttam"] == "11873"  # 억원
    assert row["aum_krw_kis"] == 1_187_300_000_000 == row["aum_krw"]
    assert row["aum_source"] == "kis"
    assert (row["nav_kis"], row["close_kis"], row["listed_shares_kis"]) == (
        19028.18, 19020, 62_400_000
    )  # fmt: skip
    assert row["nav"] is None and row["market_cap_krw"] == 19020 * 62_400_000


def test_real_kis_components_stand_in_for_a_failed_pdf(
    replay_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_of = date(2024, 1, 5)
    monkeypatch.setattr(partitions, "now_kst", lambda: evening(as_of))
    db = tmp_path / "w.duckdb"
    seed(db, "etf_details", as_of, [dict(trade_date=as_of, ticker="069500", isin="KR7069500007")])
    result = run(
        replay_url, db, [etf_holdings], as_of.isoformat(), kis=replay_kis(replay_url, tmp_path)
    )
    holdings = stored(db, "SELECT * FROM etf_holdings", "constituent_code")
    component = sample_body(KIS_COMPONENTS)["output2"][0]
    assert list(holdings) == [component["stck_shrn_iscd"]] == ["005930"]
    samsung = holdings["005930"]
    assert samsung["etf_ticker"] == "069500" and samsung["source"] == "kis_components"
    assert samsung["constituent_name"] == "삼성전자" and samsung["kind"] == "stock"
    assert samsung["value_krw"] == 570_011_400 and samsung["weight_pct"] == 30.08
    assert samsung["shares_per_cu"] == 7143  # 570,011,400 / 79,800: KIS sends no quantity
    assert samsung["amount_krw"] is None and samsung["constituent_isin"] is None  # KIS has none
    metadata = result.asset_materializations_for_node("etf_holdings")[0].metadata
    assert metadata["failed_count"].value == 0
    assert "1 ETFs from KIS components" in metadata["kis_fallback"].value


def test_real_investor_flows_are_stored_exactly_and_sum_to_zero(
    replay_url: str, tmp_path: Path
) -> None:
    """The captured week of 0069M0 through etf_investor_flows and its checks: every net value
    as sent, what was not captured NULL (never 0), and the zero-sum check passes."""
    db = tmp_path / "w.duckdb"
    for day in FLOWS_SESSIONS:  # the priced universe; volume unknown, so KRX is asked
        seed(db, "etf_daily_prices", day, [dict(trade_date=day, ticker="0069M0")])
    res = {
        "krx": KRXClient(data_url=replay_url, openapi_url=replay_url),
        "kis": KISClient(),
        "seibro": SEIBroClient(url=replay_url),
        "kofia": KOFIAClient(),
        "duckdb": DuckDBResource(database=str(db)),
    }
    result = dg.materialize(
        [*ALL_ASSETS, *checks_for(etf_investor_flows)],
        selection=[etf_investor_flows.key],
        resources=res,
        tags={
            "dagster/asset_partition_range_start": FLOWS_SESSIONS[0].isoformat(),
            "dagster/asset_partition_range_end": FLOWS_SESSIONS[-1].isoformat(),
        },
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    metadata = result.asset_materializations_for_node("etf_investor_flows")[0].metadata
    assert metadata["krx_requests"].value == 4  # one fund, a range: four answers
    assert metadata["isins_derived"].value == ["0069M0"]  # no master: KR70069M0006 by the rule
    flows = {
        (row["trade_date"], row["investor"]): row
        for row in table_rows(db, "SELECT * FROM etf_investor_flows")
    }
    wire = rows_of(FLOWS_DAILY)
    assert len(flows) == 4 * len(wire) == 24
    for line in wire:
        day = datetime.strptime(line["TRD_DD"], "%Y/%m/%d").date()
        for investor, field in FLOW_GROUP_FIELDS.items():
            got = flows[(day, investor)]
            assert got["ticker"] == "0069M0"
            assert got["net_value_krw"] == expected(field, line[field]), (day, investor)
            assert got["buy_value_krw"] is got["sell_value_krw"] is got["net_volume"] is None
    assert flows[(date(2026, 1, 23), "institution")]["net_value_krw"] == -506_208_289
    assert flows[(date(2026, 1, 20), "other_corporation")]["net_value_krw"] == 0  # "0" is a value
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    zero_sum = checks["nets_sum_to_zero"]
    assert zero_sum.passed and zero_sum.blocking
    # The nets balance to the won; with no volume captured, the volume nets are not measured.
    assert zero_sum.metadata["measured_values"].value == 6
    assert zero_sum.metadata["measured_volumes"].value == 0
    assert checks["complete"].passed and checks["unique_keys"].passed
    assert not checks["coverage"].passed  # bought and volume were not captured: NULL, a warning
