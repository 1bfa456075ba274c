"""The ETF universe: every fund ever priced or in the newest master, listed or delisted.

Unpartitioned and rebuilt whole from what the warehouse stores (no request to KRX), so it is
as complete as the stored prices: a backfill of older sessions adds the funds that closed
then. The rules (listed, delisted, the inferred delisting date) are in
`etf_assets.metrics.universe`.

It depends on its partitioned upstreams without a partition mapping, which Dagster reads as
"all partitions" but does not enforce: materializing it needs no upstream partition to exist,
and above 100 upstream partitions Dagster 1.13 records the upstream's newest materialization
instead of querying a data version per partition, so a run stays cheap with 20 years of
sessions.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets.assets import LISTING
from etf_assets.assets.distributions import etf_distributions
from etf_assets.assets.listing import etf_details
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.utils import announce_warehouse, markdown_table, table_metadata
from etf_assets.metrics.universe import DELISTED, ISSUER_FROM_BRAND, LISTED, universe_frames
from etf_assets.warehouse.write import WAREHOUSE_POOL, newest_partition, replace_tables, warehouse

UNIVERSE = "etf_universe"
UNIVERSE_NAMES = "etf_universe_names"


def _delisted_by_year(universe: pd.DataFrame) -> pd.DataFrame:
    delisted = universe[universe["status"] == DELISTED]
    years = pd.to_datetime(delisted["delisted_date"]).dt.year
    counts = years.value_counts().sort_index()
    return pd.DataFrame({"year": counts.index.astype(int), "delisted": counts.to_numpy()})


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its date columns as dates (a markdown table would show midnight times)."""
    return frame.apply(
        lambda column: column.dt.date if pd.api.types.is_datetime64_any_dtype(column) else column
    )


def universe_metadata(universe: pd.DataFrame, names: pd.DataFrame) -> dict[str, object]:
    """What people look at: how many funds are listed and delisted, when they closed, which
    were renamed, and what had to be inferred."""
    delisted = universe[universe["status"] == DELISTED].sort_values(
        ["delisted_date", "ticker"], ascending=[False, True]
    )
    runs = names.groupby("ticker").size()
    renamed = runs[runs > 1].index
    newest_session = universe["last_session"].max()
    return {
        "dagster/row_count": len(universe),
        "etfs": len(universe),
        "listed": int((universe["status"] == LISTED).sum()),
        "delisted": len(delisted),
        "delisted_confirmed_by_liquidation": int(
            delisted["delisted_date_inferred"].eq(False).sum()
        ),
        "delisted_by_year": markdown_table(_delisted_by_year(universe), max_rows=40),
        "newest_delistings": markdown_table(
            _shown(delisted[["ticker", "name", "issuer", "last_session", "delisted_date"]]),
            max_rows=20,
        ),
        "etfs_renamed": len(renamed),
        "renames": markdown_table(
            _shown(names[names["ticker"].isin(renamed)].sort_values(["ticker", "first_session"])),
            max_rows=20,
        ),
        "newest_session": str(newest_session.date()) if pd.notna(newest_session) else None,
        "issuers_from_name_brand": int((universe["issuer_source"] == ISSUER_FROM_BRAND).sum()),
        "issuers_unknown": int(universe["issuer"].isna().sum()),
        "isins_derived": int((~universe["isin_from_master"]).sum()),
    }


@dg.multi_asset(
    pool=WAREHOUSE_POOL,
    specs=[
        dg.AssetSpec(
            UNIVERSE,
            group_name=LISTING,
            deps=[etf_details, etf_daily_prices, etf_distributions],
            kinds={"duckdb"},
            description="Every ETF ever priced or listed, one row each, with its status and "
            "delisting date: the survivorship-free universe.",
            metadata=table_metadata(UNIVERSE),
        ),
        dg.AssetSpec(
            UNIVERSE_NAMES,
            group_name=LISTING,
            deps=[etf_daily_prices],
            kinds={"duckdb"},
            description="Every name each ETF has had, with its first and last sessions.",
            metadata=table_metadata(UNIVERSE_NAMES),
        ),
    ],
)
def etf_universe(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> Iterator[dg.MaterializeResult]:
    where = announce_warehouse(context, duckdb)
    with warehouse(duckdb) as conn:
        universe, names = universe_frames(conn)
        # As of the newest session of prices it was built from (a closure's empty one counts).
        as_of = newest_partition(conn, etf_daily_prices.key.path[-1])
        replace_tables(conn, {UNIVERSE: universe, UNIVERSE_NAMES: names}, as_of)
    yield dg.MaterializeResult(
        asset_key=UNIVERSE, metadata={**where, **universe_metadata(universe, names)}
    )
    yield dg.MaterializeResult(
        asset_key=UNIVERSE_NAMES,
        metadata={
            **where,
            "dagster/row_count": len(names),
            "etfs": int(names["ticker"].nunique()),
            "names": int(names["name"].nunique()),
        },
    )
