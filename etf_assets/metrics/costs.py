"""etf_costs' figures: KOFIA's fund classes matched to KRX tickers, and the monthly rows.

KOFIA files a fund under its own code (KR5…/K55…, not the ETF's ISIN) and its legal name,
which is KRX's full name (`ISU_NM`, etf_details.name_full) written its own way: without the
spaces KRX puts after the manager and the brand (`삼성KODEX200증권상장지수투자신탁[주식]` for
`삼성 KODEX200 증권상장지수투자신탁[주식]`), with other brackets, and at times with a class label
(`ClassE`, `종류A`, `(A)`). The match (docs/kofia.md § Matching), in order, each step over what
the earlier ones left:

1. `full_name`: the normalised names and the normalised issuers are equal. Normalising
   (`normalized_name`): Unicode NFKC (full-width letters and brackets as ASCII), every
   bracket as a round one, no white space, Latin letters upper-case; issuers also lose
   `(주)`/`주식회사`.
2. `full_name_without_class`: the same with a trailing class label removed from both names
   (never `(H)`, the hedge in many ETF names, nor `(합성)`).
3. `closest_name`: the one fund of the same issuer whose normalised name is at least
   `CLOSEST_NAME_MIN_RATIO` alike (difflib's ratio), well ahead of the runner-up, and set up
   within `INCEPTION_TOLERANCE_DAYS` of the ETF's listing.
A key that two tickers or two funds share is ambiguous and matches nothing in that step, so
no fund is ever given two tickers nor a ticker two funds. Every listed ETF left over is
reported with its `CANDIDATES` closest funds of the issuer that no ticker took.

`all_in_cost_pct` (실부담비용) = TER + 매매·중개수수료율: what a holder bore over the year,
NULL when either is (a fund younger than a year has no TER).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import pandas as pd

MATCH_METHODS = ("full_name", "full_name_without_class", "closest_name")
CLOSEST_NAME_MIN_RATIO = 0.9
# The best candidate's ratio must beat the runner-up's by this much to count as one fund.
CLOSEST_NAME_MARGIN = 0.03
INCEPTION_TOLERANCE_DAYS = 31
CANDIDATES = 3
# KRX's headline fee (ETF_TOT_FEE) and KOFIA's 보수합계 describe the same fee: both are printed
# to 4 dp of a percent, so a gap above a hundredth of a point is a fee that changed or a match
# gone wrong.
HEADLINE_TOLERANCE_PCTPT = 0.01
# Share of the listed ETFs that must have a row (a few young or renamed funds may wait).
MIN_COVERAGE_PCT = 98.0
ALL_IN_DECIMALS = 6

_BRACKETS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")", "<": "(", ">": ")"})
_SPACE = re.compile(r"\s+")
_CLASS_LABEL = re.compile(
    r"(?:(?:CLASS|종류)[A-Z0-9]*(?:-[A-Z0-9]+)*(?:\([^()]*\))?|\((?!H\))[A-Z]\d?\))$"
)
_COMPANY_FORM = re.compile(r"\(주\)|주식회사")


def normalized_name(name: str | None) -> str:
    """A legal fund name as both sources write it alike (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name or "").translate(_BRACKETS)
    return _SPACE.sub("", text).upper()


def without_class(name: str) -> str:
    """A normalised name without its trailing class label (`…[주식]CLASSE` → `…(주식)`)."""
    return _CLASS_LABEL.sub("", name)


def normalized_issuer(issuer: str | None) -> str:
    return _COMPANY_FORM.sub("", normalized_name(issuer))


@dataclass(frozen=True)
class Matching:
    """`matched`: ticker, kofia_fund_code, match_method (one row per ticker, codes unique);
    `unmatched`: the listed ETFs without a fund, with their closest candidates."""

    matched: pd.DataFrame
    unmatched: pd.DataFrame


def _unique_pairs(listed: pd.DataFrame, funds: pd.DataFrame, key: str) -> pd.DataFrame:
    """ticker ↔ fund pairs whose `key` exactly one ticker and exactly one fund share."""
    tickers = listed.groupby(key)["ticker"].agg(["first", "size"])
    codes = funds.groupby(key)["kofia_fund_code"].agg(["first", "size"])
    both = tickers.merge(codes, left_index=True, right_index=True, suffixes=("_t", "_f"))
    both = both[(both["size_t"] == 1) & (both["size_f"] == 1)]
    return pd.DataFrame({"ticker": both["first_t"], "kofia_fund_code": both["first_f"]})


def _closest(
    listed: pd.DataFrame, funds: pd.DataFrame
) -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
    """Pairs by the closest name (step 3) and, for every ticker, its best candidates."""
    pairs: list[tuple[str, str]] = []
    candidates: dict[str, list[str]] = {}
    by_issuer = {issuer: group for issuer, group in funds.groupby("issuer_key")}
    for etf in listed.itertuples(index=False):
        pool = by_issuer.get(etf.issuer_key, funds)
        scored = sorted(
            (
                (difflib.SequenceMatcher(None, etf.name_key, fund.name_key).ratio(), fund)
                for fund in pool.itertuples(index=False)
            ),
            key=lambda pair: (-pair[0], pair[1].kofia_fund_code),
        )
        candidates[etf.ticker] = [
            f"{fund.kofia_fund_name} ({fund.kofia_fund_code}, {ratio:.2f})"
            for ratio, fund in scored[:CANDIDATES]
        ]
        if not scored:
            continue
        ratio, best = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        inception = best.inception_date
        close_in_time = (
            inception is not None
            and not pd.isna(inception)
            and etf.listing_date is not None
            and not pd.isna(etf.listing_date)
            and abs((pd.Timestamp(inception) - pd.Timestamp(etf.listing_date)).days)
            <= INCEPTION_TOLERANCE_DAYS
        )
        if (
            ratio >= CLOSEST_NAME_MIN_RATIO
            and ratio - runner_up >= CLOSEST_NAME_MARGIN
            and close_in_time
        ):
            pairs.append((etf.ticker, best.kofia_fund_code))
    return pairs, candidates


def match_funds(funds: pd.DataFrame, listed: pd.DataFrame) -> Matching:
    """Match KOFIA's fund classes (`funds`: kofia_fund_code, kofia_fund_name, kofia_issuer,
    inception_date) to the listed ETFs (`listed`: ticker, name, name_full, issuer,
    listing_date), step by step as the module docstring says."""
    funds = funds.assign(
        name_key=funds["kofia_fund_name"].map(normalized_name),
        issuer_key=funds["kofia_issuer"].map(normalized_issuer),
    )
    funds["class_key"] = funds["name_key"].map(without_class)
    listed = listed.assign(
        name_key=listed["name_full"].map(normalized_name),
        issuer_key=listed["issuer"].map(normalized_issuer),
    )
    listed["class_key"] = listed["name_key"].map(without_class)
    found: list[pd.DataFrame] = []
    for method, name_column in zip(MATCH_METHODS[:2], ("name_key", "class_key"), strict=True):
        key = f"{method}_key"
        open_listed = listed[~listed["ticker"].isin(_taken(found, "ticker"))]
        open_funds = funds[~funds["kofia_fund_code"].isin(_taken(found, "kofia_fund_code"))]
        pairs = _unique_pairs(
            open_listed.assign(**{key: open_listed["issuer_key"] + "|" + open_listed[name_column]}),
            open_funds.assign(**{key: open_funds["issuer_key"] + "|" + open_funds[name_column]}),
            key,
        )
        found.append(pairs.assign(match_method=method))
    open_listed = listed[~listed["ticker"].isin(_taken(found, "ticker"))]
    open_funds = funds[~funds["kofia_fund_code"].isin(_taken(found, "kofia_fund_code"))]
    pairs, candidates = _closest(open_listed, open_funds)
    closest = pd.DataFrame(pairs, columns=["ticker", "kofia_fund_code"])
    closest = closest[~closest["kofia_fund_code"].duplicated(keep=False)]
    found.append(closest.assign(match_method=MATCH_METHODS[2]))
    matched = pd.concat(found, ignore_index=True)[["ticker", "kofia_fund_code", "match_method"]]
    left = listed[~listed["ticker"].isin(matched["ticker"])]
    unmatched = pd.DataFrame(
        {
            "ticker": left["ticker"],
            "name": left["name"],
            "name_full": left["name_full"],
            "issuer": left["issuer"],
            "closest_kofia_funds": [candidates.get(t, []) for t in left["ticker"]],
        }
    ).reset_index(drop=True)
    return Matching(matched.sort_values("ticker", ignore_index=True), unmatched)


def _taken(found: list[pd.DataFrame], column: str) -> set[str]:
    return {value for frame in found for value in frame[column]}


def cost_rows(
    month: date, base_date: date, funds: pd.DataFrame, matched: pd.DataFrame
) -> pd.DataFrame:
    """etf_costs rows of one month: each matched ticker with its fund's figures and
    all_in_cost_pct = ter_pct + trading_fee_pct (NULL when either is)."""
    rows = matched.merge(funds, on="kofia_fund_code", how="left", validate="one_to_one")
    all_in = (rows["ter_pct"] + rows["trading_fee_pct"]).round(ALL_IN_DECIMALS)
    return rows.assign(month=month, kofia_base_date=base_date, all_in_cost_pct=all_in)


def index_key(index_name: str | None) -> str:
    """An index name as funds of different issuers write it alike: KRX pads some with
    "(Price Return)" and tabs."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", index_name or "")).strip()
    return text.removesuffix("(Price Return)").strip()


def cheapest_per_index(costs: pd.DataFrame, min_issuers: int = 2) -> pd.DataFrame:
    """Per index that plain (1×) funds of at least `min_issuers` issuers track, its cheapest
    fund by all-in cost: index, issuers, funds, then that fund's ticker, name, issuer,
    all_in_cost_pct and expense_ratio_pct; the most contested indices first.

    `costs`: ticker, name, issuer, tracking_index, leverage_factor, all_in_cost_pct,
    expense_ratio_pct. Leveraged and inverse funds track the same indices but are other
    products, so they are left out.
    """
    plain = costs[(costs["leverage_factor"] == 1) & costs["all_in_cost_pct"].notna()]
    plain = plain.assign(index=plain["tracking_index"].map(index_key))
    plain = plain[plain["index"] != ""]
    spread = plain.groupby("index").agg(issuers=("issuer", "nunique"), funds=("ticker", "size"))
    contested = spread[spread["issuers"] >= min_issuers]
    ranked = plain[plain["index"].isin(contested.index)].sort_values(
        ["index", "all_in_cost_pct", "ticker"]
    )
    cheapest = ranked.drop_duplicates("index").set_index("index")
    out = contested.join(
        cheapest[["ticker", "name", "issuer", "all_in_cost_pct", "expense_ratio_pct"]]
    ).reset_index()
    return out.sort_values(["funds", "index"], ascending=[False, True], ignore_index=True)


def all_in_above_headline(costs: pd.DataFrame, count: int) -> pd.DataFrame:
    """The `count` largest funds by AUM with their all-in cost beside KRX's headline fee and
    the gap between them (all_in_minus_headline_pct), largest first."""
    known = costs.dropna(subset=["all_in_cost_pct", "expense_ratio_pct", "aum_krw"])
    largest = known.sort_values(["aum_krw", "ticker"], ascending=[False, True]).head(count)
    gap = (largest["all_in_cost_pct"] - largest["expense_ratio_pct"]).round(ALL_IN_DECIMALS)
    return largest.assign(all_in_minus_headline_pct=gap).reset_index(drop=True)
