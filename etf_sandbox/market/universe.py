"""The universe: every generated fund's static attributes (`Market.etfs`).

Listings and delistings (survivors at ANCHOR, funds delisted before and after 2023,
target-maturity bond funds; the years after ANCHOR in `_extend_universe`), issuers and brands,
themes, leverage and replication, display names, codes (numeric, then alphanumeric from
ALNUM_FROM), former names under a renamed brand, and KRX's padded index names.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from etf_assets.parsing.rules import etf_isin
from etf_sandbox.market.draws import Draws
from etf_sandbox.market.reference import (
    ALNUM_FROM,
    ALNUM_LETTERS,
    ANCHOR,
    BRAND_RENAMES,
    CLASS_SHARE,
    ENG_MODIFIERS,
    FAMOUS,
    FAMOUS_DELISTED,
    ISSUERS,
    LEVERAGE_LABELS,
    LEVERAGE_THEMES,
    MODIFIERS,
    THEMES,
    TITLE_CASE_SHARE,
)

# Survivors at ANCHOR by listing period, chosen so that with the funds delisted since the
# year-end counts follow the real ones (64 ETFs in 2010, 256 in 2016, 467 in 2020, 666 in
# 2022, 935 in 2024, 1,066 on 2026-01-25); the last period (alphanumeric codes) holds ~17 % of
# the funds listed on 2026-01-25 (the real master: 186 of 1,066) and ~25 % at ANCHOR.
_YEAR_WEIGHTS = [4, 2, 2, 3, 3, 4, 8, 12, 20, 15, 15, 15, 15, 15, 24, 35, 50, 30, 25]  # 2002..2020
_PERIODS: list[tuple[date, date, int]] = [
    (date(2002, 10, 14), date(2002, 12, 31), _YEAR_WEIGHTS[0]),
    *((date(2002 + i, 1, 1), date(2002 + i, 12, 31), w) for i, w in enumerate(_YEAR_WEIGHTS) if i),
    (date(2021, 1, 1), date(2021, 12, 31), 55),
    (date(2022, 1, 1), date(2022, 12, 31), 125),
    (date(2023, 1, 1), date(2023, 12, 31), 170),
    (date(2024, 1, 1), ALNUM_FROM - timedelta(days=1), 160),
    (ALNUM_FROM, ANCHOR, 270),
]
FIRST_LISTING = date(2002, 10, 14)  # the first four ETFs, KODEX 200 among them
# Delisted between 2023-03 and 2026-10, listed from 2016 on: with the target-maturity funds
# ~46 a year, as the real market's recent years (92 of the funds listed on 2024-01-04 were
# gone by 2026-01-25).
DELISTED_SHARE = 0.137
# Funds closed before 2023 (small funds wound up 1-9 years after listing): the real market
# delisted a few hundred ETFs from 2009 on, so today's master holds only the survivors.
HISTORY_DELISTED_SHARE = 0.18
HISTORY_LIFETIME_YEARS = (1.0, 6.0)
# Target-maturity bond funds: listed 2022-06 … 2025-06, delisted in December of their year.
TARGET_MATURITY_COUNT = 24
TARGET_MATURITY_YEARS = (2024, 2025, 2026, 2027)
NEW_PER_YEAR_SHARE = 0.09  # listings a year after ANCHOR, per fund listed at ANCHOR
LATER_DELISTED_SHARE = 0.043  # delistings a year after ANCHOR's year (real: ~46 a year)
# `Market.etfs.attrs` key, from `_build_universe` to `_extend_universe` only: every fund's
# name as drawn, before a rate fund was made 합성 (`_draft_funds`).
_DRAWN_NAMES = "drawn_names"
# The domestic gold-spot theme's index: its funds hold physical gold (ISU_NM "(금-실물)").
GOLD_SPOT_INDEX = "KRX 금현물지수"


def _trading_days(a: date, b: date, sessions: frozenset[date], cal_start: date) -> list[date]:
    """Sessions in [a, b] (weekdays before the cached calendar starts)."""
    days = (a + timedelta(days=i) for i in range((b - a).days + 1))
    return [d for d in days if (d in sessions if d >= cal_start else d.weekday() < 5)] or [a]


def _largest_remainder(weights: list[float], total: int) -> list[int]:
    raw = np.array(weights, dtype=float) / sum(weights) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts))[: total - counts.sum()]:
        counts[i] += 1
    return counts.tolist()


def _numeric_code(listing: date, rng: np.random.Generator) -> int:
    """Numeric ETF codes grew with time (069500 in 2002 … 495710 in 2024-12)."""
    xs = [date(2002, 10, 1), date(2008, 4, 1), date(2012, 1, 1), date(2016, 9, 1),
          date(2020, 8, 1), date(2023, 9, 1), date(2024, 12, 16)]  # fmt: skip
    ys = [69_000, 102_000, 152_000, 252_000, 360_000, 465_000, 497_000]
    x = np.interp(listing.toordinal(), [d.toordinal() for d in xs], ys)
    return int(x + rng.integers(-2_000, 2_000)) // 10 * 10


def _assign_codes(listings: list[date], fixed: set[str], rng: np.random.Generator) -> list[str]:
    """Unique codes: numeric before ALNUM_FROM, else 4 digits + letter + digit in time order."""
    used = set(fixed)
    codes: list[str] = []
    alnum_days = 0.36  # codes per day seen in 2025 (0000D0 on 2024-12-17 … 0112X0 on 2025-10-28)
    for d in listings:
        if d < ALNUM_FROM:
            n = _numeric_code(d, rng)
            while f"{n:06d}" in used:
                n += 10
            code = f"{n:06d}"
        else:
            base = int((d - ALNUM_FROM).days * alnum_days)
            while True:
                code = f"{base:04d}{ALNUM_LETTERS[rng.integers(len(ALNUM_LETTERS))]}0"
                if code not in used:
                    break
                base += 1
        used.add(code)
        codes.append(code)
    return codes


def holds_physical_gold(index: str) -> bool:
    """A fund on the KRX 금현물지수 (plain or a variant): it holds gold bars on the KRX gold
    market, so unlike the futures-based 원자재 funds it is no 파생형."""
    return index.startswith(GOLD_SPOT_INDEX)


def _fund_kind(asset_class: str, factor: float, synthetic: bool, index: str) -> str:
    """The trailing legal-form text of ISU_NM (`index`: the fund's tracking index)."""
    derived = factor != 1.0 or synthetic
    if asset_class == "원자재" and not derived and holds_physical_gold(index):
        return "특별자산상장지수투자신탁(금-실물)"
    kinds = {
        "주식": "증권상장지수투자신탁(주식-파생형)" if derived else "증권상장지수투자신탁(주식)",
        "채권": "증권상장지수투자신탁(채권-파생형)" if derived else "증권상장지수투자신탁(채권)",
        "혼합자산": "증권상장지수투자신탁(채권혼합)",
        "기타": "특별자산상장지수투자신탁(금리-파생형)",
        "원자재": "특별자산상장지수투자신탁(일반상품-파생형)",
        "통화": "특별자산상장지수투자신탁(미국달러-파생형)",
        "부동산": "부동산상장지수투자신탁(재간접형)",
    }
    return kinds[asset_class] + ("(합성)" if synthetic else "")


def _tax_type(region: str, asset_class: str, factor: float, synthetic: bool, u: float) -> str:
    if asset_class == "부동산":
        return (
            "비과세(분리과세부동산ETF)"
            if region == "국내" and u < 0.25
            else ("배당소득세(분리과세부동산ETF)")
        )
    if asset_class == "주식" and region == "국내" and factor == 1.0 and not synthetic:
        return "비과세"
    if asset_class == "주식" and region == "해외" and u < 0.06:
        return "배당소득세(해외주식투자전용ETF)"
    return "배당소득세(보유기간과세)"


@dataclass(frozen=True)
class _Listing:
    """One generated fund's life: listing day, delisting day (None while listed) and, for a
    target-maturity bond fund, the year it matures."""

    listing: date
    delisting: date | None = None
    maturity_year: int | None = None


@dataclass
class _Draft:
    """One generated fund's static attributes before codes are assigned."""

    name: str
    issuer: str
    brand: str
    prefix: str
    eng_prefix: str
    theme: str
    eng: str
    index: str
    provider: str
    region: str
    asset_class: str
    factor: float
    replication: str
    listing: date
    delisting: date | None = None


def _issuer_sequence(rng: np.random.Generator, listings: list[_Listing]) -> list[int]:
    """The ISSUERS row of each listing: the funds listed at ANCHOR get the real shares exactly,
    every issuer at least one (so the master names all of them); the others are drawn."""
    weights = np.array([float(r[4]) for r in ISSUERS])
    survivor = np.array(
        [x.listing <= ANCHOR and (x.delisting is None or x.delisting > ANCHOR) for x in listings]
    )
    counts = np.maximum(_largest_remainder(weights.tolist(), int(survivor.sum())), 1)
    counts[np.argmax(counts)] -= counts.sum() - survivor.sum()
    kept = rng.permutation(np.repeat(np.arange(len(ISSUERS)), counts))
    drawn = rng.choice(len(ISSUERS), int((~survivor).sum()), p=weights / weights.sum())
    sequence = np.empty(len(listings), dtype=np.int64)
    sequence[survivor], sequence[~survivor] = kept, drawn
    return sequence.tolist()


def _unused_name(name: str, names: set[str]) -> str:
    """`name` if no fund has it yet, else (a rate fund made 합성 under an earlier fund's name)
    the name with 플러스 or 투자 (words that leave the index alone, as in the real TIGER
    CD금리투자KIS(합성)) before 액티브/(합성), else numbered."""
    if name not in names:
        return name
    stem, active, rest = name.removesuffix("(합성)").partition("액티브")
    for word in ("플러스", "투자") if name.endswith("(합성)") else ():
        other = f"{stem}{word}{active}{rest}(합성)"
        if word not in stem and other not in names:
            return other
    return next(f"{name} {k}" for k in itertools.count(2) if f"{name} {k}" not in names)


def _draft_funds(
    rng: np.random.Generator,
    listings: list[_Listing],
    taken: set[str],
    issuers: list[int],
    names: set[str],
) -> list[_Draft]:
    """Theme, leverage, replication and a unique display name for each listing, under the
    ISSUERS row `issuers` gives it.

    A rate fund (asset class 기타: CD금리, KOFR, 머니마켓) is always 합성, as the real ones
    (swap-based) are. Its name is retried only when its name as drawn (`synthetic` as the `r`
    draw says) is in `taken`, the names as drawn so far, so forcing 합성 moves no draw and no
    other fund. `names`: the display names so far (`_unused_name` keeps them unique). Both
    sets are updated."""
    classes = list(CLASS_SHARE)
    class_w = np.array(list(CLASS_SHARE.values()))
    class_w /= class_w.sum()
    region_p = {"주식": {"국내": 0.5, "해외": 0.44, "국내&해외": 0.06},
                "채권": {"국내": 0.75, "해외": 0.25}, "혼합자산": {"국내": 0.2, "해외": 0.5,
                "국내&해외": 0.3}, "기타": {"국내": 1.0}, "원자재": {"국내": 0.15, "해외": 0.85},
                "통화": {"국내": 0.8, "해외": 0.2},
                "부동산": {"국내": 0.5, "해외": 0.5}}  # fmt: skip
    drafts: list[_Draft] = []
    for plan, which in zip(listings, issuers, strict=True):
        issuer, brand, prefix, eng_prefix, _ = ISSUERS[which]
        if plan.maturity_year is not None:
            drafts.append(_target_maturity_draft(rng, plan, ISSUERS[which], taken))
            names.add(drafts[-1].name)
            continue
        u = rng.random()
        factor = 2.0 if u < 0.045 else -1.0 if u < 0.075 else -2.0 if u < 0.083 else 1.0
        r = rng.random()
        first = plan.listing == FIRST_LISTING  # 2002's four: plain KOSPI funds
        active = not first and (0.65 <= r < 0.902 or r >= 0.983)
        synthetic = not first and r >= 0.902
        factor = 1.0 if first else factor
        for _attempt in range(60):
            if factor != 1.0:
                theme, index, provider, region, aclass, eng = LEVERAGE_THEMES[
                    rng.integers(len(LEVERAGE_THEMES))
                ]
                suffix = {2.0: "레버리지", -1.0: "인버스", -2.0: "인버스2X"}[factor]
                eng_suffix = {2.0: " Leverage", -1.0: " Inverse", -2.0: " Inverse 2X"}[factor]
                synthetic_here = synthetic
                drawn = name = f"{brand} {theme}{suffix}" + ("(합성)" if synthetic else "")
                eng = eng + eng_suffix
                active_here = False
            else:
                aclass = classes[rng.choice(len(classes), p=class_w)]
                regions = region_p[aclass]
                region = list(regions)[rng.choice(len(regions), p=list(regions.values()))]
                pool = [t for t in THEMES if t[4] == aclass and t[3] == region] or [
                    t for t in THEMES if t[4] == aclass
                ]
                if first:
                    pool = [t for t in THEMES if t[1].startswith("코스피") and t[4] == "주식"]
                w = np.array([float(t[6]) for t in pool])
                theme, index, provider, region, aclass, eng, _ = pool[
                    rng.choice(len(pool), p=w / w.sum())
                ]
                mods = MODIFIERS.get(aclass, MODIFIERS["기타"])
                mod = mods[rng.integers(len(mods))] if _attempt else ""
                mod = "" if mod in theme else mod
                if mod and mod not in ("(H)", "플러스", "핵심", "선택"):
                    index = f"{index} {mod}"
                active_here = active
                synthetic_here = synthetic or aclass == "기타"  # rate funds: always 합성
                base = f"{brand} {theme}{mod}" + ("액티브" if active else "")
                drawn = base + ("(합성)" if synthetic else "")
                name = base + ("(합성)" if synthetic_here else "")
                eng = f"{eng} {ENG_MODIFIERS.get(mod, '')}".strip() + (" Active" if active else "")
            if drawn not in taken:
                break
        else:
            drawn, name = f"{drawn} {len(drafts)}", f"{name} {len(drafts)}"
        taken.add(drawn)
        name = _unused_name(name, names)
        names.add(name)
        style = "(액티브)" if active_here else "(패시브)"
        replication = ("합성" if synthetic_here else "실물") + style
        drafts.append(_Draft(name, issuer, brand, prefix, eng_prefix, theme, eng, index, provider,
                             region, aclass, factor, replication, plan.listing,
                             plan.delisting))  # fmt: skip
    return drafts


_MATURITY_BONDS = (
    "회사채(AA-이상)", "은행채(AA+이상)", "국고채", "특수채(AAA이상)", "금융채(AA-이상)",
)  # fmt: skip


def _target_maturity_draft(
    rng: np.random.Generator, plan: _Listing, issuer_row: list[str], taken: set[str]
) -> _Draft:
    """A bond fund that matures in December of `plan.maturity_year` (e.g. "KODEX 25-12
    은행채(AA+이상)액티브"): it pays yearly and a liquidation payout when it is delisted."""
    issuer, brand, prefix, eng_prefix, _ = issuer_row
    yy = (plan.maturity_year or 0) % 100
    for kind in rng.permutation(_MATURITY_BONDS):
        name = f"{brand} {yy:02d}-12 {kind}액티브"
        if name not in taken:
            break
    taken.add(name)
    bond = kind.split("(")[0]
    return _Draft(
        name, issuer, brand, prefix, eng_prefix, f"{yy:02d}-12 {kind}",
        f"{yy:02d}-12 Target Maturity {bond} Bond Active", f"KAP {yy:02d}-12 {bond} 총수익 지수",
        "한국자산평가(KAP)", "국내", "채권", 1.0, "실물(액티브)", plan.listing, plan.delisting,
    )  # fmt: skip


def _maturity_delisting(year: int) -> date:
    """A target-maturity fund is delisted from the first session on or after this day."""
    return date(year, 12, 11)


def _listing_plan(
    rng: np.random.Generator, n_etfs: int, sessions: tuple[date, ...], famous: list[date]
) -> list[_Listing]:
    """Every generated fund's life: survivors, funds delisted before and after 2023,
    target-maturity funds (listings after ANCHOR: `_extend_universe`)."""
    cal_start = sessions[0]
    sset = frozenset(sessions)
    counts = _largest_remainder([p[2] for p in _PERIODS], n_etfs)
    maturities = [TARGET_MATURITY_YEARS[i % len(TARGET_MATURITY_YEARS)]
                  for i in range(TARGET_MATURITY_COUNT)]  # fmt: skip
    counts[-2] -= sum(_maturity_delisting(y) > ANCHOR for y in maturities)  # listed at ANCHOR
    for d in famous:
        p = next(i for i, (a, b, _) in enumerate(_PERIODS) if a <= d <= b)
        counts[p] = max(0, counts[p] - 1)
    plan: list[_Listing] = []
    for (a, b, _), k in zip(_PERIODS, counts, strict=True):
        days = [FIRST_LISTING] if a == FIRST_LISTING else _trading_days(a, b, sset, cal_start)
        plan += [_Listing(days[i]) for i in rng.integers(0, len(days), k)]
    delist_days = [d for d in sessions if date(2023, 3, 2) <= d <= date(2026, 10, 30)]
    old_days = _trading_days(date(2016, 1, 1), date(2022, 12, 31), sset, cal_start)
    for _ in range(round(DELISTED_SHARE * n_etfs)):
        dl = delist_days[rng.integers(len(delist_days))]
        plan.append(_Listing(old_days[rng.integers(len(old_days))], dl))
    history_days = _trading_days(date(2011, 1, 3), date(2021, 12, 30), sset, cal_start)
    last_history_day = sessions[bisect.bisect_left(sessions, date(2023, 1, 1)) - 1]
    while len(plan) < (1 + DELISTED_SHARE + HISTORY_DELISTED_SHARE) * n_etfs:
        listing = history_days[rng.integers(len(history_days))]
        life = timedelta(days=round(365 * rng.uniform(*HISTORY_LIFETIME_YEARS)))
        if listing + life <= last_history_day:
            plan.append(_Listing(listing, sessions[bisect.bisect_left(sessions, listing + life)]))
    tmf_days = _trading_days(date(2022, 6, 1), date(2025, 6, 30), sset, cal_start)
    for year in maturities:
        listing = tmf_days[rng.integers(len(tmf_days))]
        while listing >= date(year - 1, 12, 1):
            listing = tmf_days[rng.integers(len(tmf_days))]
        gone = sessions[bisect.bisect_left(sessions, _maturity_delisting(year))]
        plan.append(_Listing(listing, gone, year))
    plan.sort(key=lambda x: x.listing)
    return plan


def _build_universe(
    rng: np.random.Generator, n_etfs: int, sessions: tuple[date, ...]
) -> pd.DataFrame:
    """The funds listed up to ANCHOR (famous funds verbatim, then generated ones): the part of
    `Market.etfs` that never depends on how far the market reaches (`_extend_universe` adds the
    later years)."""
    brands = {r[0]: r[1] for r in ISSUERS}
    fam_dates = [date.fromisoformat(r[3]) for r in FAMOUS if r[0] not in FAMOUS_DELISTED]
    plan = _listing_plan(rng, n_etfs, sessions, fam_dates)
    taken = {r[1] for r in FAMOUS}
    drafts = _draft_funds(rng, plan, taken, _issuer_sequence(rng, plan), set(taken))
    codes = _assign_codes([d.listing for d in drafts], {r[0] for r in FAMOUS}, rng)
    rows: list[dict] = []
    for r in FAMOUS:
        ticker, name, issuer, listing, index, provider, lev, repl, region, aclass = r[:10]
        factor = next(k for k, v in LEVERAGE_LABELS.items() if v == lev)
        rows.append(dict(ticker=ticker, name=name, name_full=r[13], name_eng=r[14],
                         issuer=issuer, brand=brands[issuer], tracking_index=index,
                         index_provider=provider, leverage_label=lev, leverage_factor=factor,
                         replication=repl, market_region=region, asset_class=aclass,
                         listing_date=date.fromisoformat(listing),
                         delisting_date=FAMOUS_DELISTED.get(ticker),
                         cu_shares=int(r[10]), expense_ratio_pct=float(r[11]),
                         tax_type=r[12]))  # fmt: skip
    etfs = pd.DataFrame(rows + _generated_rows(rng, drafts, codes))
    etfs.insert(1, "isin", [etf_isin(t) for t in etfs["ticker"]])
    _add_former_names(etfs)
    _pad_index_names(rng, etfs)
    etfs.attrs[_DRAWN_NAMES] = taken
    return etfs


def _generated_rows(rng: np.random.Generator, drafts: list[_Draft], codes: list[str]) -> list[dict]:
    """Rows of `Market.etfs` for drafted funds: names, fee, CU and tax type."""
    cu_choices = np.array([1_000, 2_000, 10_000, 20_000, 25_000, 50_000, 100_000])
    cu_p = np.array([0.03, 0.04, 0.12, 0.06, 0.03, 0.6, 0.12])
    rows: list[dict] = []
    for code, d in zip(codes, drafts, strict=True):
        synthetic = d.replication.startswith("합성")
        body = d.name.removeprefix(d.brand + " ").replace("(합성)", "")
        if d.factor != 1.0:
            fee = float(rng.choice([0.45, 0.5, 0.6, 0.64]))
        else:
            fee = float(np.clip(np.exp(rng.normal(np.log(0.22), 0.9)), 0.0099, 0.99))
            fee = round(fee, 4 if fee < 0.1 else 3)
        kind = _fund_kind(d.asset_class, d.factor, synthetic, d.index)
        eng_prefix = d.eng_prefix
        if len(eng_prefix) > 3 and eng_prefix.isupper() and rng.random() < TITLE_CASE_SHARE:
            eng_prefix = eng_prefix.title()
        rows.append(dict(
            ticker=code, name=d.name, name_full=f"{d.prefix} {d.brand} {body}{kind}",
            name_eng=f"{eng_prefix} {d.brand} {d.eng} ETF" + ("(SYNTH)" if synthetic else ""),
            issuer=d.issuer, brand=d.brand, tracking_index=d.index, index_provider=d.provider,
            leverage_label=LEVERAGE_LABELS[d.factor], leverage_factor=d.factor,
            replication=d.replication, market_region=d.region, asset_class=d.asset_class,
            listing_date=d.listing, delisting_date=d.delisting,
            cu_shares=int(rng.choice(cu_choices, p=cu_p)), expense_ratio_pct=fee,
            tax_type=_tax_type(d.region, d.asset_class, d.factor, synthetic, rng.random()),
        ))  # fmt: skip
    return rows


def _extend_universe(
    etfs: pd.DataFrame, draws: Draws, n_etfs: int, sessions: tuple[date, ...], keep: set[str]
) -> pd.DataFrame:
    """Add the years after ANCHOR one calendar year at a time, each from its own stream: the
    funds listed after ANCHOR (appended, so no earlier fund moves) and, from the year after
    ANCHOR's on, LATER_DELISTED_SHARE of the funds delisted on a session of the year (never
    one of `keep`, a famous fund or a target-maturity fund, which has its own date)."""
    weights = np.array([float(r[4]) for r in ISSUERS])
    taken = set(etfs.attrs.pop(_DRAWN_NAMES, etfs["name"]))
    padded = {x.removesuffix(_PADDING): x for x in etfs["tracking_index"] if x.endswith(_PADDING)}
    protected = etfs["ticker"].isin(keep | {r[0] for r in FAMOUS}) | etfs["name"].str.contains(
        r" \d\d-12 ", regex=True)  # fmt: skip
    for year in range(ANCHOR.year, sessions[-1].year + 1):
        rng = draws.stream("universe", year)
        days = [d for d in sessions if d.year == year]
        if year > ANCHOR.year:
            gone = etfs["delisting_date"].map(lambda d: d is not None and not pd.isna(d))
            live = (etfs["listing_date"] < date(year, 1, 1)) & ~gone & ~protected
            count = min(round(LATER_DELISTED_SHARE * n_etfs), int(live.sum()))
            picked = rng.choice(np.flatnonzero(live.to_numpy()), count, replace=False)
            etfs.loc[picked, "delisting_date"] = pd.Series(
                [days[i] for i in rng.integers(0, len(days), count)], index=picked, dtype=object
            )
        new_days = [d for d in days if d > ANCHOR]
        count = round(NEW_PER_YEAR_SHARE * n_etfs * len(new_days) / len(days))
        plan = sorted((_Listing(new_days[i]) for i in rng.integers(0, len(new_days), count)),
                      key=lambda x: x.listing)  # fmt: skip
        issuers = rng.choice(len(ISSUERS), count, p=weights / weights.sum()).tolist()
        drafts = _draft_funds(rng, plan, taken, issuers, set(etfs["name"]))
        codes = _assign_codes([d.listing for d in drafts], set(etfs["ticker"]), rng)
        new = pd.DataFrame(_generated_rows(rng, drafts, codes), columns=etfs.columns.drop("isin"))
        new.insert(1, "isin", [etf_isin(t) for t in new["ticker"]])
        new["tracking_index"] = new["tracking_index"].map(lambda x: padded.get(x, x))
        protected = pd.concat([protected, pd.Series(False, index=new.index)], ignore_index=True)
        etfs = pd.concat([etfs, new], ignore_index=True)
    return etfs


def _add_former_names(etfs: pd.DataFrame) -> None:
    """Names under the old brand for funds listed before their issuer's rename (else None)."""
    etfs["renamed_on"] = None
    for column in ("former_name", "former_name_full", "former_name_eng"):
        etfs[column] = None
    for issuer, (old, day) in BRAND_RENAMES.items():
        brand = next(r[1] for r in ISSUERS if r[0] == issuer)
        hit = (etfs["issuer"] == issuer) & (etfs["listing_date"] < day)
        etfs.loc[hit, "renamed_on"] = day
        etfs.loc[hit, "former_name"] = etfs.loc[hit, "name"].str.replace(brand, old, n=1)
        for column in ("name_full", "name_eng"):
            etfs.loc[hit, f"former_{column}"] = etfs.loc[hit, column].str.replace(
                f" {brand} ", f" {old} ", n=1, regex=False)  # fmt: skip


def _live_at_anchor(etfs: pd.DataFrame) -> np.ndarray:
    gone = etfs["delisting_date"].map(lambda d: d is not None and not pd.isna(d) and d <= ANCHOR)
    return ((etfs["listing_date"] <= ANCHOR) & ~gone.astype(bool)).to_numpy()


PADDED_INDEX_SHARE = 0.01  # funds whose index name KRX sends as "…(Price Return)\t\t\t"
_PADDING = "(Price Return)\t\t\t"


def _pad_index_names(rng: np.random.Generator, etfs: pd.DataFrame) -> None:
    """Give a few foreign equity indices KRX's trailing "(Price Return)" and tabs, everywhere."""
    live = _live_at_anchor(etfs)
    famous = {r[4] for r in FAMOUS}
    foreign = etfs[(etfs["market_region"] == "해외") & (etfs["asset_class"] == "주식")]
    names = sorted({x for x in foreign["tracking_index"]
                    if x.endswith("Index") and x not in famous})  # fmt: skip
    budget = round(PADDED_INDEX_SHARE * live.sum())
    for name in rng.permutation(names):
        size = int((live & (etfs["tracking_index"] == name)).sum())
        if 0 < size <= budget:
            etfs.loc[etfs["tracking_index"] == name, "tracking_index"] = f"{name}{_PADDING}"
            budget -= size
