"""etf_creations on a hand-made market of five sessions, whose every figure is known: a fund
already listed when the history starts, a listing, a delisting, a session KRX sent no units
for, a change of half a creation unit; and the check rules over the table it writes."""

from collections.abc import Iterator
from datetime import date

import duckdb
import pandas as pd
import pytest

from etf_assets.checks.classification_rules import creations_match_prices, whole_creation_units
from etf_assets.metrics.creations import creations_frame, largest_net_creations
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import replace_partitions

D1, D2, D3, D4, D5 = (date(2026, 11, d) for d in (16, 17, 18, 19, 20))
SESSIONS = [D1, D2, D3, D4, D5]
# ticker: (listing date in the master or None: in no master, CU, {session: (units, NAV)})
MARKET: dict[str, tuple[date | None, int | None, dict[date, tuple[int | None, float]]]] = {
    "069500": (date(2002, 10, 14), 50_000, {
        D1: (100_000, 10_000.0), D2: (100_000, 10_000.0), D3: (150_000, 10_100.0),
        D4: (None, 10_050.0), D5: (200_000, 10_200.0),
    }),
    "0112X0": (D3, 50_000, {D3: (50_000, 9_000.0), D4: (50_000, 9_010.0), D5: (50_000, 9_020.0)}),
    "0000D0": (date(2024, 12, 17), 10_000, {D1: (40_000, 5_100.0), D2: (30_000, 5_000.0)}),
    "0043Y0": (date(2010, 1, 4), None, {D2: (70_000, 12_000.0), D3: (70_000, 12_100.0),
                                         D4: (70_000, 12_000.0), D5: (70_000, 12_000.0)}),
    "152100": (date(2012, 1, 10), 50_000, {
        D1: (500_000, 30_000.0), D2: (500_000, 30_000.0), D3: (500_000, 30_000.0),
        D4: (500_000, 30_000.0), D5: (525_000, 30_500.0),
    }),
    "0069M0": (None, None, {D4: (100_000, 10_000.0), D5: (100_000, 10_000.0)}),
}  # fmt: skip


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        ensure_schema(connection)
        for ticker, (listing, cu, days) in MARKET.items():
            for day, (units, nav) in days.items():
                connection.execute(
                    "INSERT INTO etf_daily_prices (trade_date, ticker, listed_shares, nav) "
                    "VALUES (?, ?, ?, ?)",
                    [day, ticker, units, nav],
                )
            if listing is not None:
                connection.execute(
                    "INSERT INTO etf_details (trade_date, ticker, cu_shares, listing_date) "
                    "VALUES (?, ?, ?, ?)",
                    [D5, ticker, cu, listing],
                )
        yield connection


def rows(frame: pd.DataFrame) -> dict[tuple[date, str], dict[str, object]]:
    keyed = frame.assign(trade_date=pd.to_datetime(frame["trade_date"]).dt.date)
    return {
        (r["trade_date"], r["ticker"]): {k: None if pd.isna(v) else v for k, v in r.items()}
        for r in keyed.to_dict("records")
    }


def test_every_change_is_the_units_difference_times_nav(conn: duckdb.DuckDBPyConnection) -> None:
    got = rows(creations_frame(conn, D1, D5))
    # The history starts with these funds listed: their first change is unknown, not their size.
    assert got[D1, "069500"]["shares_change"] is None and got[D1, "069500"]["event"] is None
    assert got[D2, "069500"]["shares_change"] == 0
    assert got[D3, "069500"]["shares_change"] == 50_000
    assert got[D3, "069500"]["net_creation_krw"] == 50_000 * 10_100.0
    assert got[D3, "069500"]["cu_multiple"] == 1.0
    # No units sent on D4: unknown there, and D5 is measured from the last units known.
    assert got[D4, "069500"]["shares_change"] is None
    assert got[D5, "069500"]["shares_change"] == 50_000
    assert got[D5, "069500"]["net_creation_krw"] == 50_000 * 10_200.0


def test_a_listing_is_a_creation_and_a_delisting_a_redemption(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    got = rows(creations_frame(conn, D1, D5))
    listing = got[D3, "0112X0"]
    assert listing["event"] == "listing"
    assert listing["shares_change"] == 50_000
    assert listing["net_creation_krw"] == 50_000 * 9_000.0
    delisting = got[D3, "0000D0"]
    assert delisting == {
        "trade_date": D3, "ticker": "0000D0", "listed_shares": 0, "shares_change": -30_000,
        "nav": 5_000.0, "net_creation_krw": -30_000 * 5_000.0, "cu_shares": 10_000,
        "cu_multiple": -3.0, "event": "delisting",
    }  # fmt: skip
    assert (D4, "0000D0") not in got  # redeemed once
    # First priced on D2, but its master says it was listed in 2010: history, not a listing.
    assert got[D2, "0043Y0"]["shares_change"] is None
    assert got[D2, "0043Y0"]["cu_shares"] is None and got[D3, "0043Y0"]["cu_multiple"] is None
    # In no master, first priced on D4 after a market priced without it: a listing.
    assert got[D4, "0069M0"]["event"] == "listing"
    assert got[D4, "0069M0"]["net_creation_krw"] == 100_000 * 10_000.0
    assert len(got) == sum(len(days) for _, _, days in MARKET.values()) + 1


def test_a_range_in_one_statement_equals_it_in_pieces(conn: duckdb.DuckDBPyConnection) -> None:
    whole = creations_frame(conn, D1, D5)
    pieces = pd.concat(
        [creations_frame(conn, D1, D2), creations_frame(conn, D3, D5)], ignore_index=True
    )
    assert rows(whole) == rows(pieces)


def test_the_checks_recompute_the_table_and_name_a_wrong_row(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    replace_partitions(conn, "etf_creations", SESSIONS, creations_frame(conn, D1, D5))
    assert creations_match_prices(conn, "etf_creations", SESSIONS).passed
    conn.execute(
        "UPDATE etf_creations SET net_creation_krw = net_creation_krw + 1e6 "
        "WHERE ticker = '069500' AND trade_date = ?",
        [D5],
    )
    broken = creations_match_prices(conn, "etf_creations", SESSIONS)
    assert not broken.passed
    assert [(o["trade_date"], o["ticker"]) for o in broken.metadata["offenders"]] == [
        (str(D5), "069500")
    ]
    fractions = whole_creation_units(conn, "etf_creations", SESSIONS)
    assert not fractions.passed  # 152100 grew by half a creation unit on D5
    assert [o["ticker"] for o in fractions.metadata["offenders"]] == ["152100"]


def test_largest_net_creations_sums_per_fund_and_ranks_both_ways() -> None:
    frame = pd.DataFrame(
        {
            "ticker": ["A", "A", "B", "C", "D"],
            "net_creation_krw": [5e9, 1e9, -2e9, 0.0, None],
        }
    )
    ranked = largest_net_creations(frame, 5)
    assert ranked.to_dict("list") == {"ticker": ["A", "B"], "net_creation_krw": [6e9, -2e9]}
