"""What the tests share besides fixtures: paths, the fixed dates, resources pointed at a
sandbox, and `materialize` over the project's own asset and check lists.

Fixtures live in conftest.py (pytest finds them there); everything a test imports comes from
here, so no test imports conftest.
"""

import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets.checks import ALL_CHECKS
from etf_assets.definitions import all_assets
from etf_assets.parsing.seibro import kind_of
from etf_assets.partitions import sessions_back
from etf_assets.resources.kis import KISClient
from etf_assets.resources.kofia import KOFIAClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.warehouse.schema import TABLES
from etf_assets_tests.wire_samples import SAMPLES_DIR
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox

TESTS = Path(__file__).resolve().parent  # etf_assets_tests/
REPO = TESTS.parent
WIRE_SAMPLES = SAMPLES_DIR  # TESTS / "wire_samples": real captured answers, with their loaders

AS_OF = date(2026, 11, 20)  # a Friday: a session and its week's last session
HISTORY_SESSIONS = 260  # enough for 52w (365 days) and 250 returns
HISTORY_START = sessions_back(AS_OF, HISTORY_SESSIONS)[0]
DISTRIBUTION_MONTHS = (HISTORY_START.replace(day=1), AS_OF.replace(day=1))  # monthly keys

# Every asset of the one Definitions; `materialize` runs a selection of them, the rest sources.
ALL_ASSETS: list[dg.AssetsDefinition] = [
    a for a in all_assets if isinstance(a, dg.AssetsDefinition)
]


def copy_warehouse(src: Path, dst_dir: Path) -> Path:
    """A private copy of a closed warehouse file in `dst_dir` (its WAL too, should one be
    left), for tests that write: the copy's path."""
    dst = dst_dir / src.name
    shutil.copy(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copy(wal, dst.with_name(dst.name + ".wal"))
    return dst


def table_frame(table: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows for `table`, in its column order, with every column not given NULL."""
    frame = pd.DataFrame(rows)
    for column in TABLES[table].column_names:
        if column not in frame:
            frame[column] = None
    return frame[list(TABLES[table].column_names)]


def market_distributions(market: Market, start: date, end: date) -> pd.DataFrame:
    """The sandbox market's payouts with record dates in [start, end] as etf_distributions
    rows (what the SEIBro asset stores), for tests that need payouts without running it."""
    payouts = market.distributions(start, end)
    rows = payouts.rename(
        columns={"amount_krw": "amount_per_share_krw", "tax_base_price": "tax_base_price_krw"}
    ).assign(kind=[kind_of(r) for r in payouts["reason"]], source="sandbox")
    return table_frame("etf_distributions", rows.to_dict("records"))


def krx_client(sandbox: Sandbox, **overrides: object) -> KRXClient:
    config: dict[str, object] = {
        "data_url": sandbox.url,
        "openapi_url": sandbox.url,
        "requests_per_second": 45.0,  # the sandbox blocks above 50/s, like KRX blocks bursts
    }
    config.update(overrides)
    return KRXClient(**config)


def unconfigured_kis() -> KISClient:
    return KISClient(app_key=None, app_secret=None)


def resources(sandbox: Sandbox, db_path: Path, **overrides: object) -> dict[str, object]:
    return {
        "krx": krx_client(sandbox),
        "kis": unconfigured_kis(),
        "seibro": SEIBroClient(url=sandbox.url, requests_per_second=20.0),
        "kofia": KOFIAClient(url=sandbox.url, requests_per_second=10.0),
        "duckdb": DuckDBResource(database=str(db_path)),
        **overrides,
    }


def materialize(
    assets: list,
    res: dict[str, object],
    partition: str | None = None,
    *,
    span: tuple[date, date] | None = None,
    run_config: dict[str, object] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` (plus the others as sources) for one key or one single-run range."""
    tags = (
        {
            "dagster/asset_partition_range_start": span[0].isoformat(),
            "dagster/asset_partition_range_end": span[1].isoformat(),
        }
        if span
        else None
    )
    selection = [key for a in assets for key in a.keys]
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        resources=res,
        partition_key=partition,
        tags=tags,
        run_config=run_config,
        raise_on_error=False,
    )


def checks_for(*assets: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    """The project's checks on exactly these assets (blocking ones fail the run)."""
    keys = {key for a in assets for key in a.keys}
    return [c for c in ALL_CHECKS if {k.asset_key for k in c.check_keys} <= keys]


def materialize_with_checks(
    assets: list[dg.AssetsDefinition],
    res: dict[str, object],
    partition: str,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Like `dagster asset materialize` does: the assets and their checks in one run."""
    return dg.materialize(
        [*ALL_ASSETS, *checks_for(*assets)],
        selection=[key for a in assets for key in a.keys],
        resources=res,
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every failure message of a run, causes included, as one string to search."""
    parts: list[str] = []
    for event in result.all_events:
        if not event.is_failure:
            continue
        parts.append(event.message or "")
        error = getattr(event.event_specific_data, "error", None)
        while error is not None:
            parts.append(error.message)
            error = error.cause or error.context
    return "\n".join(parts)
