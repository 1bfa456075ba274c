"""`python -m etf_assets.export`: etf_overview and every table as Parquet or CSV files.

Parquet is written by DuckDB's `COPY … (FORMAT parquet)`: typed, compressed, no pandas round
trip. CSV is UTF-8 *with* a byte-order mark, because Excel reads a BOM-less CSV in the system
code page and garbles Korean names. `--date` exports one partition of each table (and the
overview snapshot of that session); without it, whole tables and the live overview.

    python -m etf_assets.export --format parquet --out exports/ [--date 2026-11-20] [--db PATH]
"""

from __future__ import annotations

import argparse
import codecs
import shutil
import sys
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from etf_assets import settings
from etf_assets.metrics.overview import PREMIUM_OUTLIER_PCT, overview_sql, premium_outliers
from etf_assets.resources.storage import TABLES

FORMATS = ("parquet", "csv")
OVERVIEW = "etf_overview"
SNAPSHOT = "etf_overview_snapshot"
OUTLIERS_NAMED = 5
_COPY_OPTIONS = {"parquet": "FORMAT parquet, COMPRESSION zstd", "csv": "FORMAT csv, HEADER true"}


@dataclass(frozen=True)
class Written:
    """One exported object: its file (None when skipped), rows, and why it looks the way it does."""

    name: str
    path: Path | None
    rows: int
    note: str = ""


def default_db() -> Path:
    return Path(settings.duckdb_path())


def connect_read_only(db: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection, or a FileNotFoundError saying how to get a warehouse.

    duckdb.connect would silently create an empty database at a mistyped path.
    """
    if not db.is_file():
        raise FileNotFoundError(
            f"no warehouse at {db}: pass --db or set ETF_ASSETS_DUCKDB, or run `make demo`"
        )
    return duckdb.connect(str(db), read_only=True)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_query(conn: duckdb.DuckDBPyConnection, sql: str, path: Path, fmt: str) -> int:
    """COPY the result of `sql` to `path` in `fmt`; returns the rows written.

    CSV goes to a side file first and is then streamed behind the BOM, since DuckDB's CSV
    writer cannot emit one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(path.name + ".part") if fmt == "csv" else path
    rows = conn.execute(
        f"COPY ({sql}) TO {_sql_string(str(target))} ({_COPY_OPTIONS[fmt]})"
    ).fetchone()[0]
    if fmt == "csv":
        with path.open("wb") as out, target.open("rb") as body:
            out.write(codecs.BOM_UTF8)
            shutil.copyfileobj(body, out)
        target.unlink()
    return int(rows)


def _partitions_on(conn: duckdb.DuckDBPyConnection, on: date) -> set[str]:
    """Tables with a partition written for `on` (an empty closure counts: it was written)."""
    rows = conn.execute(
        "SELECT DISTINCT table_name FROM etf_partition_log WHERE partition_date = ?", [on]
    ).fetchall()
    return {r[0] for r in rows}


def _unknown_date(conn: duckdb.DuckDBPyConnection, on: date) -> LookupError:
    first, last = conn.execute(
        "SELECT min(partition_date), max(partition_date) FROM etf_partition_log"
    ).fetchone()
    if last is None:
        return LookupError("the warehouse holds no partitions yet: materialize assets first")
    return LookupError(f"no table has a partition for {on}; partitions run from {first} to {last}")


def export_warehouse(
    conn: duckdb.DuckDBPyConnection, out: Path, fmt: str, on: date | None = None
) -> list[Written]:
    """Write etf_overview and every table to `out`; with `on`, only that partition of each.

    With `on`, a table without that partition is skipped with a note (weekly tables have one
    per week), the overview is its stored snapshot, or, never snapshotted, computed from the
    partitions on or before `on` the same way; a date no table knows is a LookupError.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {FORMATS}")
    suffix = f"_{on.isoformat()}.{fmt}" if on else f".{fmt}"
    written: list[Written] = []
    if on is None:
        present = set(TABLES)
        overview, overview_note = overview_sql(), "the live view"
    else:
        present = _partitions_on(conn, on)
        if not present:
            raise _unknown_date(conn, on)
        day = f"DATE '{on.isoformat()}'"
        if SNAPSHOT in present:
            overview = f"SELECT * FROM {SNAPSHOT} WHERE trade_date = {day}"
            overview_note = f"snapshot of {on}"
        else:
            overview = f"SELECT {day} AS trade_date, * FROM ({overview_sql(on)})"
            overview_note = f"no snapshot stored for {on}: computed from partitions up to it"
    path = out / f"{OVERVIEW}{suffix}"
    written.append(Written(OVERVIEW, path, write_query(conn, overview, path, fmt), overview_note))
    for table in TABLES.values():
        if table.name == SNAPSHOT:
            continue  # exported as etf_overview
        if on and table.key_column is None:
            # Rebuilt whole as of the newest session (its log row is for freshness only).
            written.append(Written(table.name, None, 0, "not by date: export without a date"))
            continue
        if table.name not in present:
            written.append(Written(table.name, None, 0, f"no partition for {on}"))
            continue
        where = f" WHERE {table.key_column} = DATE '{on.isoformat()}'" if on else ""
        sql = f"SELECT * FROM {table.name}{where} ORDER BY {', '.join(table.id_columns)}"
        path = out / f"{table.name}{suffix}"
        written.append(Written(table.name, path, write_query(conn, sql, path, fmt)))
    return written


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


def _missing(value: object) -> bool:
    return value is None or value != value  # NaN and NaT are not equal to themselves


def _number(value: object, fmt: str) -> str:
    return "" if _missing(value) else format(value, fmt)


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


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
        f"master), total AUM {frame['aum_krw'].sum() / 1e12:,.1f} trillion KRW",
    ]
    as_of = []
    for label, column in (
        ("details", "details_as_of"), ("prices", "prices_as_of"), ("AUM", "aum_as_of"),
        ("tracking", "tracking_as_of"), ("52w", "week52_as_of"), ("flows", "flows_as_of"),
    ):  # fmt: skip
        newest = frame[column].max()
        if _missing(newest):  # never computed
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
    parser.add_argument("--db", type=Path, default=default_db(), help="the DuckDB warehouse")
    args = parser.parse_args(argv)
    started = time.perf_counter()
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
