"""Reports group: etf_overview, one row per ETF for people, snapshotted per session.

The `etf_overview` view always shows the newest figures; this asset (re)creates it (through
`ensure_schema`) and stores what it shows as of each session in `etf_overview_snapshot`, then
writes the session's overview files and charts next to the warehouse and puts the pictures
people ask for (AUM by issuer and asset class, widest premiums, new 52-week highs, the
largest net buys and sells by investor group, the highest distribution yields and the payout
history of the highest-yielding fund, the largest net creations and redemptions of the last
five sessions, AUM by asset class × pension verdict) in the UI.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from dateutil.relativedelta import relativedelta

from etf_assets import charts
from etf_assets.assets import REPORTS
from etf_assets.assets.classification import (
    creation_pictures,
    etf_classification,
    etf_creations,
    pension_pictures,
    recent_creations,
)
from etf_assets.assets.exposure import etf_exposure
from etf_assets.assets.flows import etf_investor_flows
from etf_assets.assets.listing import etf_details
from etf_assets.assets.metrics import etf_52w, etf_aum, etf_tracking_error
from etf_assets.assets.returns import etf_returns
from etf_assets.assets.utils import (
    announce_warehouse,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
)
from etf_assets.metrics.overview import (
    INVESTOR_LABELS,
    OVERVIEW_FLOW_INVESTORS,
    PREMIUM_OUTLIER_PCT,
    aum_by,
    largest_net_flows,
    new_52w_highs,
    overview_sql,
    premium_outliers,
    widest_premiums,
)
from etf_assets.metrics.units import krw_korean, krw_unit
from etf_assets.partitions import session_partitions
from etf_assets.warehouse.export import FORMATS, write_query
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse

CHART_MAX_BARS = 15
NET_FLOW_BARS = 10  # net buys, and as many net sells
PAYOUT_HISTORY_YEARS = 3
WIDEST_COLUMNS = [
    "ticker", "name", "premium_discount_20d_pct", "premium_discount_60d_pct", "aum_krw",
    "tracking_as_of",
]  # fmt: skip
OUTLIER_COLUMNS = [
    "ticker", "name", "close", "nav", "premium_pct", "premium_discount_20d_pct",
    "outlier_sessions_20d", "worst_session", "worst_session_premium_pct",
]  # fmt: skip
OUTLIER_NOTE = (
    f"A close more than {PREMIUM_OUTLIER_PCT:g} % from NAV is an outlier session. ETFs whose "
    "newest session is one, or whose 20-session premium/discount is a mean over one, are listed "
    "in premium_outliers and left out of widest_premium_discount_20d; a new 52-week high set "
    "on an outlier close is left out of new_52w_highs. AUM totals and charts count every ETF: "
    "AUM is net assets, which a price does not enter."
)
SNAPSHOT = "etf_overview_snapshot"


def snapshot_frame(conn: duckdb.DuckDBPyConnection, session: date) -> pd.DataFrame:
    """The overview as it stood on `session`: every table read up to that partition only."""
    frame = conn.execute(overview_sql(session)).df()
    frame.insert(0, "trade_date", session)
    return frame


def reports_dir(database: str, session: date) -> Path:
    """Where a session's report files go: `reports/<session>/` beside the DuckDB file."""
    return Path(database).resolve().parent / "reports" / session.isoformat()


def trimmed_names(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its Korean names (fund, issuer, asset class) as KRX publishes them, less the
    padding some of its text fields carry, so a label or a group never differs by whitespace."""
    names = [c for c in ("name", "issuer", "asset_class") if c in frame]
    return frame.assign(**{c: frame[c].str.strip() for c in names})


def aum_pictures(overview: pd.DataFrame, session: date, out: Path) -> dict[str, object]:
    """AUM by issuer and by asset class: markdown tables, PNG files in `out`, inline charts.

    AUM is net assets, NAV-based: a premium outlier's price does not enter it, so every ETF
    counts.
    """
    metadata: dict[str, object] = {}
    for key, name in (("issuer", "운용사별 순자산총액"), ("asset_class", "자산군별 순자산총액")):
        table = aum_by(overview, key)
        bars = min(CHART_MAX_BARS, len(table))
        title = f"{name}{f' 상위 {bars}' if bars < len(table) else ''} ({session})"
        shown = pd.DataFrame(
            {
                key: table[key],
                "ETFs": table["etfs"],
                "AUM": table["aum_krw"],
                "share %": table["share_pct"],
            }
        )
        unit = krw_unit(table["aum_krw"].head(bars))
        png = charts.bar_chart_png(
            list(table[key].head(bars)),
            list(table["aum_krw"].head(bars) / unit.krw),
            title=title,
            value_label=f"순자산총액 ({unit.name})",
        )
        path = out / f"aum_by_{key}.png"
        path.write_bytes(png)
        metadata[f"aum_by_{key}"] = markdown_table(shown, max_rows=30, money=("AUM",))
        metadata[f"aum_by_{key}_chart"] = dg.MetadataValue.md(charts.markdown_image(png, title))
        metadata[f"chart_aum_by_{key}"] = dg.MetadataValue.path(str(path))
    metadata["chart_font"] = f"{charts.korean_font()}, shipped in {charts.KOREAN_FONT_PACKAGE}"
    return metadata


def session_net_flows(
    conn: duckdb.DuckDBPyConnection, session: date
) -> tuple[date | None, pd.DataFrame]:
    """The newest flows session up to `session` and its net values of the overview's groups
    (ticker, investor, net_value_krw); (None, empty) before any flows."""
    newest = conn.execute(
        "SELECT max(trade_date) FROM etf_investor_flows WHERE trade_date <= ?", [session]
    ).fetchone()[0]
    flows = conn.execute(
        "SELECT ticker, investor, net_value_krw FROM etf_investor_flows WHERE trade_date = ? "
        "AND net_value_krw IS NOT NULL AND investor IN (SELECT unnest(?::VARCHAR[]))",
        [newest, list(OVERVIEW_FLOW_INVESTORS)],
    ).df()
    return newest, flows


def net_flow_pictures(
    flows: pd.DataFrame, flows_session: date | None, overview: pd.DataFrame, out: Path
) -> dict[str, object]:
    """The largest net buys and sells of one session by foreigners, institutions and
    individuals: a markdown table, a PNG in `out` and an inline chart, labelled in Korean."""
    if flows_session is None:
        return {"largest_net_flows": "no investor flows yet (etf_investor_flows)"}
    names = overview.set_index("ticker")["name"]
    ranked = largest_net_flows(flows, NET_FLOW_BARS)
    ranked = ranked.assign(
        name=ranked["ticker"].map(names).fillna(ranked["ticker"]),
        group=ranked["investor"].map(INVESTOR_LABELS),
    )
    title = f"투자자별 순매수·순매도 상위 ({flows_session})"
    unit = krw_unit(ranked["net_value_krw"])
    png = charts.bar_chart_png(
        [f"{name} · {group}" for name, group in zip(ranked["name"], ranked["group"], strict=True)],
        list(ranked["net_value_krw"] / unit.krw),
        title=title,
        value_label=f"순매수 ({unit.name})",
    )
    path = out / "largest_net_flows.png"
    path.write_bytes(png)
    return {
        "net_flows_session": str(flows_session),
        "largest_net_flows": markdown_table(
            ranked[["ticker", "name", "investor", "net_value_krw"]],
            max_rows=2 * NET_FLOW_BARS,
            money=("net_value_krw",),
        ),
        "largest_net_flows_chart": dg.MetadataValue.md(charts.markdown_image(png, title)),
        "chart_largest_net_flows": dg.MetadataValue.path(str(path)),
    }


def highest_yields(overview: pd.DataFrame, count: int = CHART_MAX_BARS) -> pd.DataFrame:
    """The `count` funds with the highest trailing-year distribution yield (income only),
    highest first; ties by ticker."""
    payers = overview[overview["distribution_ttm_krw"] > 0].dropna(
        subset=["distribution_yield_ttm_pct"]
    )
    return payers.sort_values(
        ["distribution_yield_ttm_pct", "ticker"], ascending=[False, True], ignore_index=True
    ).head(count)


def payout_history(conn: duckdb.DuckDBPyConnection, ticker: str, session: date) -> pd.DataFrame:
    """One fund's payouts with ex-dates in the `PAYOUT_HISTORY_YEARS` years up to `session`,
    oldest first: ex_date, amount_per_share_krw, kind."""
    return conn.execute(
        "SELECT ex_date, amount_per_share_krw, kind FROM etf_distributions "
        "WHERE ticker = ? AND ex_date BETWEEN ? AND ? ORDER BY ex_date",
        [ticker, session - relativedelta(years=PAYOUT_HISTORY_YEARS), session],
    ).df()


def yield_pictures(
    overview: pd.DataFrame, history: pd.DataFrame | None, session: date, out: Path
) -> dict[str, object]:
    """The highest distribution yields and the payout history of the first of them: markdown
    tables, PNG files in `out`, inline charts."""
    top = highest_yields(overview)
    if top.empty or history is None:
        return {"highest_distribution_yields": "no fund paid income in the trailing year"}
    title = f"분배수익률 상위, 최근 12개월 ({session})"
    png = charts.bar_chart_png(
        list(top["name"]), list(top["distribution_yield_ttm_pct"]), title=title,
        value_label="분배수익률 (%)",
    )  # fmt: skip
    (out / "highest_distribution_yields.png").write_bytes(png)
    payer = top.iloc[0]
    payer_title = f"{payer['name']} ({payer['ticker']}) 주당 분배금, 분배락일별"
    payer_png = charts.column_chart_png(
        list(pd.to_datetime(history["ex_date"]).dt.strftime("%Y-%m-%d")),
        list(history["amount_per_share_krw"]),
        title=payer_title,
        value_label="주당 분배금 (원)",
    )
    (out / "top_payer_history.png").write_bytes(payer_png)
    shown = top[["ticker", "name", "close", "distribution_ttm_krw", "distribution_yield_ttm_pct",
                 "distribution_frequency", "total_return_1y_pct", "returns_as_of"]]  # fmt: skip
    return {
        "highest_distribution_yields": markdown_table(
            shown.assign(returns_as_of=shown["returns_as_of"].astype(str)), max_rows=CHART_MAX_BARS
        ),
        "highest_distribution_yields_chart": dg.MetadataValue.md(charts.markdown_image(png, title)),
        "chart_highest_distribution_yields": dg.MetadataValue.path(
            str(out / "highest_distribution_yields.png")
        ),
        "top_payer": f"{payer['name']} ({payer['ticker']})",
        "top_payer_history_chart": dg.MetadataValue.md(
            charts.markdown_image(payer_png, payer_title)
        ),
        "chart_top_payer_history": dg.MetadataValue.path(str(out / "top_payer_history.png")),
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=REPORTS,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        etf_details,
        etf_classification,
        etf_creations,
        etf_aum,
        etf_52w,
        etf_investor_flows,
        etf_returns,
        # The weekly snapshot in force on a session is among its last five sessions.
        *(
            dg.AssetDep(weekly, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-4))
            for weekly in (etf_tracking_error, etf_exposure)
        ),
    ],
    kinds={"duckdb"},
    description="One row per ETF with the newest figure of every metric and its as-of date; "
    "snapshotted per session, exported, charted.",
    metadata=table_metadata(SNAPSHOT),
)
def etf_overview(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    session = dates[-1]
    out = reports_dir(duckdb.database, session)
    with warehouse(duckdb) as conn:
        frames = [snapshot_frame(conn, d) for d in dates]
        if frames[-1].empty:
            raise dg.Failure(
                f"no ETF in etf_details or etf_daily_prices up to {session}: materialize them first"
            )
        replace_partitions(conn, SNAPSHOT, dates, pd.concat(frames, ignore_index=True))
        row_counts = stored_row_counts(conn, SNAPSHOT, dates)
        snapshot_sql = f"SELECT * FROM {SNAPSHOT} WHERE trade_date = DATE '{session.isoformat()}'"
        exports = {fmt: out / f"etf_overview.{fmt}" for fmt in FORMATS}
        for fmt, path in exports.items():
            write_query(conn, snapshot_sql, path, fmt)
        outliers = trimmed_names(premium_outliers(conn, snapshot_sql))
        flows_session, flows = session_net_flows(conn, session)
        creation_days, creations = recent_creations(conn, session)
        overview = trimmed_names(frames[-1])
        top = highest_yields(overview, 1)
        history = payout_history(conn, top["ticker"].iloc[0], session) if len(top) else None

    outlier_closes = outliers.loc[outliers["premium_pct"].abs() > PREMIUM_OUTLIER_PCT, "ticker"]
    premiums = widest_premiums(overview, outliers["ticker"]).assign(
        tracking_as_of=lambda f: f["tracking_as_of"].dt.date
    )
    highs = new_52w_highs(overview, session, outlier_closes)
    stale_aum = overview["aum_as_of"].notna() & (overview["aum_as_of"] < overview["prices_as_of"])
    total_aum_krw = float(overview["aum_krw"].sum())
    session_figures = {
        "etfs": len(overview),
        "etfs_in_newest_master": int(overview["is_active"].sum()),
        "total_aum": krw_korean(total_aum_krw),
        "total_aum_trillion_krw": round(total_aum_krw / 1e12, 3),
        "etfs_with_aum_older_than_price": int(stale_aum.sum()),
        **aum_pictures(overview, session, out),
        **net_flow_pictures(flows, flows_session, overview, out),
        **creation_pictures(creation_days, creations, overview, out),
        **pension_pictures(overview, session, out),
        **yield_pictures(overview, history, session, out),
        "premium_outlier_note": OUTLIER_NOTE,
        "premium_outliers_count": len(outliers),
        "premium_outliers": markdown_table(
            outliers.assign(worst_session=outliers["worst_session"].dt.date)[OUTLIER_COLUMNS],
            max_rows=30,
        ),
        "widest_premium_discount_20d": markdown_table(
            premiums[WIDEST_COLUMNS], max_rows=20, money=("aum_krw",)
        ),
        "etfs_at_new_52w_high": len(highs),
        "new_52w_highs": markdown_table(
            highs[["ticker", "name", "close", "high_52w", "aum_krw"]],
            max_rows=30,
            money=("aum_krw",),
        ),
        "reports_dir": dg.MetadataValue.path(str(out)),
        **{f"export_{fmt}": dg.MetadataValue.path(str(p)) for fmt, p in exports.items()},
        "preview": markdown_table(
            overview[["ticker", "name", "issuer", "aum_krw", "close", "pct_below_high"]],
            money=("aum_krw",),
        ),
    }
    return dg.MaterializeResult(
        metadata={**where, **partition_metadata(context, row_counts, {session: session_figures})}
    )
