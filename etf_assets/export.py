"""`python -m etf_assets.export`: etf_overview and every table as Parquet or CSV files.

The writing itself is `etf_assets.warehouse.export` (Parquet via DuckDB's COPY; CSV with a
byte-order mark so Excel reads Korean names). `--date` exports one partition of each table (and the
overview snapshot of that session); without it, whole tables and the live overview.

    python -m etf_assets.export --format parquet --out exports/ [--date 2026-11-20] [--db PATH]

It reads the published read snapshot (ETF_ASSETS_READ_DUCKDB), never blocking a run; before the
first publish, the warehouse itself, with a note.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from etf_assets import settings
from etf_assets.metrics.overview import PREMIUM_OUTLIER_PCT, overview_sql, premium_outliers
from etf_assets.metrics.units import is_missing, krw_korean, number_text
from etf_assets.warehouse.export import FORMATS, connect_read_only, export_warehouse
from etf_assets.warehouse.publish import read_source

OUTLIERS_NAMED = 5


def default_db() -> tuple[Path, str | None]:
    """The read snapshot, else the warehouse with a note (etf_assets.warehouse.publish)."""
    return read_source(Path(settings.read_duckdb_path()), Path(settings.duckdb_path()))


def _width(text: str) -> int:
    """Terminal columns: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` cut (with …) and padded to exactly `width` terminal columns."""
    if _width(text) > width:
        while _width(text) > width - 1:
            text = text[:-1]
        text += "…"
    pad = " " * (width - _width(text))
    return pad + text if right else text + pad


def _number(value: object, fmt: str) -> str:
    return "" if is_missing(value) else number_text(value, fmt)


def _text(value: object) -> str:
    return "" if is_missing(value) else str(value)


def overview_summary(conn_or_path: duckdb.DuckDBPyConnection | str | Path, top: int = 15) -> str:
    """The top of etf_overview by AUM as plain text for a terminal, with the as-of dates and how
    many ETFs carry an older figure than the newest, so staleness shows at a glance, and the
    premium outliers, so a premium averaged over one is never read as a fund's own."""
    if isinstance(conn_or_path, (str, Path)):
        with connect_read_only(Path(conn_or_path)) as conn:
            return overview_summary(conn, top)
    conn = conn_or_path
    frame = conn.execute(overview_sql()).df()
    if frame.empty:
        return "etf_overview: no ETFs yet (materialize etf_details and etf_daily_prices first)"
    lines = [
        f"etf_overview: {len(frame):,} ETFs ({int(frame['is_active'].sum()):,} in the newest "
        f"master), total AUM (순자산총액) {krw_korean(frame['aum_krw'].sum())}",
    ]
    as_of = []
    for label, column in (
        ("details", "details_as_of"), ("prices", "prices_as_of"), ("AUM", "aum_as_of"),
        ("tracking", "tracking_as_of"), ("52w", "week52_as_of"), ("flows", "flows_as_of"),
        ("pensions", "classification_as_of"), ("creations", "creations_as_of"),
    ):  # fmt: skip
        newest = frame[column].max()
        if is_missing(newest):  # never computed
            as_of.append(f"{label} -")
            continue
        older = int((frame[column] < newest).sum() + frame[column].isna().sum())
        as_of.append(f"{label} {newest.date()}" + (f" ({older:,} older/missing)" if older else ""))
    lines.append("as of: " + " · ".join(as_of))
    outliers = premium_outliers(conn, overview_sql())["ticker"].tolist()
    if outliers:
        named = ", ".join(outliers[:OUTLIERS_NAMED]) + (", …" if outliers[OUTLIERS_NAMED:] else "")
        lines.append(
            f"premium outliers (* below): {len(outliers)} ETFs with a close more than "
            f"{PREMIUM_OUTLIER_PCT:g} % from NAV on their newest session or in their 20-session "
            f"premium: {named}"
        )

    def pension_cell(row: Any) -> str:
        """퇴직연금 위험/안전 where 퇴직연금 may hold it, else 연금저축만 or 불가."""
        if is_missing(row.retirement_eligible):
            return ""
        if row.retirement_eligible:
            return "퇴직위험" if row.retirement_risk_asset else "퇴직안전"
        return "저축만" if row.pension_savings_eligible else "불가"

    def premium_cell(row: Any) -> str:
        mark = "*" if row.ticker in outliers else ""
        return _number(row.premium_discount_20d_pct, "+.2f") + mark

    columns = (  # header, width, right-aligned, cell
        ("ticker", 6, False, lambda r: r.ticker),
        ("name", 30, False, lambda r: _text(r.name)),
        ("issuer", 16, False, lambda r: _text(r.issuer)),
        ("AUM 억원", 10, True, lambda r: _number(r.aum_krw / 1e8, ",.0f")),
        ("close", 9, True, lambda r: _number(r.close, ",.0f")),
        ("prem20d%", 9, True, premium_cell),
        ("TE250d%", 7, True, lambda r: _number(r.tracking_error_250d_pct, ".2f")),
        ("<52wH%", 6, True, lambda r: _number(r.pct_below_high, ".1f")),
        ("연금", 8, False, pension_cell),
        ("설정5d 억원", 11, True, lambda r: _number(r.net_creation_5d_krw / 1e8, "+,.0f")),
    )
    lines += ["", f"Top {min(top, len(frame))} by AUM"]
    lines.append("  ".join(_fit(h, w, right=right) for h, w, right, _ in columns).rstrip())
    for row in frame.head(top).itertuples(index=False):
        cells = (_fit(str(cell(row)), w, right=right) for _, w, right, cell in columns)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from error


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etf_assets.export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--date", type=_iso_date, help="one partition (session) only")
    parser.add_argument(
        "--db", type=Path, help="the DuckDB file to read (default: the read snapshot)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.db is None:
        args.db, note = default_db()
        if note:
            print(f"note: {note}", file=sys.stderr)
    try:
        with connect_read_only(args.db) as conn:
            written = export_warehouse(conn, args.out, args.format, args.date)
    except (FileNotFoundError, LookupError) as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    except duckdb.IOException as error:  # the file is locked by a running materialization
        print(f"export: cannot open {args.db} read-only: {error}", file=sys.stderr)
        return 2
    for item in written:
        note = f"  ({item.note})" if item.note else ""
        done = f"{item.rows:>9,} rows  {item.path}" if item.path else f"{'':>9}  skipped"
        print(f"{item.name:<22} {done}{note}")
    files = [w for w in written if w.path]
    rows = sum(w.rows for w in files)
    print(f"wrote {len(files)} files, {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
