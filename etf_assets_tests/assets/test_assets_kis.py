"""KIS enrichment at the asset level: etf_aum beside KRX, and the holdings fallback.

KIS quotes are live snapshots, so these run on the newest completed session by the real clock.
The sandbox here is a 150-ETF market allowing 200 KIS requests/s, so the suite stays fast.
"""

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.errors import KRXError
from etf_assets.partitions import KST, weekly_partitions
from etf_assets.resources.kis import KISClient
from etf_assets.resources.kofia import KOFIAClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets_tests.helpers import checks_for, krx_client, materialize
from etf_sandbox import kis_routes
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

# The session the sandbox's KIS quotes now; our clock is frozen to its evening so the test does
# not depend on the hour it runs (intraday, KIS enrichment is rightly skipped).
TODAY = kis_routes.last_session(datetime.now(KST))
EVENING = datetime(TODAY.year, TODAY.month, TODAY.day, 20, tzinfo=KST)


@pytest.fixture(scope="module", autouse=True)
def evening_of_today() -> Iterator[None]:
    """Also for the module's fixtures: from 15:30 to 15:45 KST, TODAY's prices are not final."""
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr(partitions, "now_kst", lambda: EVENING)
        yield


@pytest.fixture(scope="module")
def fast_kis_sandbox() -> Iterator[Sandbox]:
    # The sandbox keeps the same evening: KRX's net assets of the day arrive at 18:00 KST.
    config = SandboxConfig(
        n_etfs=150, kis_rate_per_s={"real": 200, "paper": 1}, now=lambda: EVENING
    )
    with start_sandbox(config) as server:
        yield server


@pytest.fixture(scope="module")
def token_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One token cache for the module, as processes share it: KIS issues 1 token a minute."""
    return tmp_path_factory.mktemp("kis_tokens")


def kis_client(sandbox: Sandbox, cache: Path) -> KISClient:
    app_key, (secret, _) = next(
        (k, v) for k, v in sandbox.config.kis_apps.items() if v[1] == "real"
    )
    return KISClient(
        app_key=app_key,
        app_secret=secret,
        base_url=sandbox.url,
        token_cache_dir=str(cache),
        requests_per_second=190,
    )


@pytest.fixture(scope="module")
def priced(fast_kis_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("kis") / "etf.duckdb"
    res = {
        "krx": krx_client(fast_kis_sandbox),
        "kis": KISClient(),
        "seibro": SEIBroClient(),
        "kofia": KOFIAClient(),
        "duckdb": DuckDBResource(database=str(db)),
    }
    for assets in ([krx_etf_list, etf_details], [etf_daily_prices]):
        assert materialize(assets, res, TODAY.isoformat()).success
    return db


def test_aum_with_kis_beside_krx(
    fast_kis_sandbox: Sandbox, priced: Path, token_cache: Path
) -> None:
    res = {
        "krx": krx_client(fast_kis_sandbox),
        "kis": kis_client(fast_kis_sandbox, token_cache),
        "seibro": SEIBroClient(),
        "kofia": KOFIAClient(),
        "duckdb": DuckDBResource(database=str(priced)),
    }
    result = dg.materialize(
        [krx_etf_list, etf_details, etf_daily_prices, etf_aum, *checks_for(etf_aum)],
        selection=[etf_aum.key],
        resources=res,
        partition_key=TODAY.isoformat(),
    )
    assert result.success
    frame = (
        duckdb.connect(str(priced), read_only=True)
        .execute("SELECT * FROM etf_aum WHERE trade_date = ?", [TODAY])
        .df()
    )
    assert frame["aum_krw_kis"].notna().all() and frame["nav_kis"].notna().all()
    both = frame[frame["aum_source"] == "krx_net_assets"]
    assert ((both["aum_krw_kis"] - both["aum_krw"]).abs() < 1e8).all()  # KIS counts in 억원
    assert (frame["close_kis"] == frame["close"]).all()
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    agree = checks["krx_kis_net_assets_agree"]
    assert agree.passed and agree.metadata["compared"].value > 0, agree.description
    metadata = result.asset_materializations_for_node("etf_aum")[0].metadata
    assert metadata["kis_requests"].value >= len(frame)


class PdfFailsFor(KRXClient):
    """A KRX client whose PDF screen fails for some ISINs, as KRX does for odd funds."""

    failing_isins: list[str]

    def fetch_pdf(self, trade_date: date, isin: str) -> list[dict[str, str]]:
        if isin in self.failing_isins:
            raise KRXError("krx", "PDF unavailable (test)", screen="MDCSTAT05001")
        return super().fetch_pdf(trade_date, isin)


def test_holdings_fall_back_to_kis_components(
    fast_kis_sandbox: Sandbox, priced: Path, token_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KIS only knows today's basket: freeze our clock to the evening of the week's last
    session, as the Sunday phase runs for it, so the fallback applies."""
    week = date.fromisoformat(str(weekly_partitions().get_last_partition_key()))
    listing = {"krx": krx_client(fast_kis_sandbox), "kis": KISClient(), "seibro": SEIBroClient(),
               "kofia": KOFIAClient(), "duckdb": DuckDBResource(database=str(priced))}  # fmt: skip
    assert materialize([krx_etf_list, etf_details], listing, week.isoformat()).success
    monkeypatch.setattr(
        partitions, "now_kst", lambda: datetime(week.year, week.month, week.day, 21, tzinfo=KST)
    )
    market = fast_kis_sandbox.market
    failing = market.etfs.set_index("ticker").loc[["069500", "0000D0"], "isin"].tolist()
    res = {
        "krx": PdfFailsFor(
            data_url=fast_kis_sandbox.url,
            openapi_url=fast_kis_sandbox.url,
            requests_per_second=45.0,
            failing_isins=failing,
        ),
        "kis": kis_client(fast_kis_sandbox, token_cache),
        "seibro": SEIBroClient(),
        "kofia": KOFIAClient(),
        "duckdb": DuckDBResource(database=str(priced)),
    }
    result = dg.materialize(
        [krx_etf_list, etf_details, etf_holdings],
        selection=[etf_holdings.key],
        resources=res,
        partition_key=week.isoformat(),
    )
    assert result.success
    sources = dict(
        duckdb.connect(str(priced), read_only=True)
        .execute(
            "SELECT etf_ticker, any_value(source) FROM etf_holdings WHERE as_of_date = ? "
            "AND etf_ticker IN ('069500', '0000D0', '102110') GROUP BY 1",
            [week],
        )
        .fetchall()
    )
    assert sources == {"069500": "kis_components", "0000D0": "kis_components", "102110": "krx_pdf"}
