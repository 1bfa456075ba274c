"""Fund fees and costs as KOFIA 전자공시 files them (펀드별 보수비용비교): every public fund's
monthly breakdown, the market's ETFs among them (etf_sandbox.kofia_routes serves it).

The real answer's shapes, each with its ground truth:
- the ETFs are ~5 % of the ~20,000 public fund classes KOFIA lists (`NON_ETF_PER_ETF` others
  per listed ETF, generated as whole arrays: they only need to be there and look like funds);
- KOFIA's name is KRX's full name (`ISU_NM`) without its spaces; `BRACKET_SWAP_SHARE` of the
  ETFs with the other brackets (`[주식]` ↔ `(주식)`), `CLASS_LABEL_SHARE` with a class label
  after it (`ClassE`, `종류E`), `LEGAL_FORM_SHARE` with the legal form written without its
  hyphen (`(주식파생형)`), which only a closest-name match finds — `kofia_names(d)`;
- 보수합계 is KRX's headline fee, except `FEE_CUT_SHARE` of the ETFs whose fee was cut on
  `FEE_CUT_ON` (KRX shows today's fee; KOFIA's months before the cut the old one, higher by
  `FEE_CUT_PCTPT`);
- 기타비용 and 매매·중개수수료율 move month to month around a level per fund;
- a fund younger than a year at the base date has no TER (an empty element);
- TER = 보수합계 + 기타비용 before 기타비용 is rounded, printed to 2 dp, as in the one real answer
  found (docs/kofia.md § Units).
Every draw depends on the market's seed, the fund and the month only (`_stable_seed`).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from etf_assets.parsing.rules import isin_check_digit
from etf_sandbox.market.core import Market
from etf_sandbox.market.reference import ANCHOR, ISSUERS, _stable_seed
from etf_sandbox.market.universe import holds_physical_gold

NON_ETF_PER_ETF = 18  # 20,233 classes on 2026-01-30 beside ~1,066 ETFs
BRACKET_SWAP_SHARE = 0.10
CLASS_LABEL_SHARE = 0.02
LEGAL_FORM_SHARE = 0.01
FEE_CUT_SHARE = 0.02
FEE_CUT_ON = date(2024, 7, 1)
FEE_CUT_PCTPT = 0.05
YOUNG_DAYS = 365
# The day of the following month from which KOFIA answers a month (the real lag: January 2026
# was there on 17 February, May 2026 not yet on 4 June; docs/kofia.md § Disclosure).
DISCLOSED_ON_DAY = 15

COLUMNS = (
    "ticker", "issuer", "name", "fund_type", "inception_date", "management_fee",
    "sales_fee", "trustee_fee", "admin_fee", "total_fee", "category_average_fee",
    "other_expenses", "ter", "front_load", "back_load", "fund_code", "trading_fee",
)  # fmt: skip
_OTHER_MANAGERS = (
    "신영자산운용", "한국밸류자산운용", "베어링자산운용", "피델리티자산운용",
    "이스트스프링자산운용", "교보악사자산운용", "골든브릿지자산운용", "메리츠자산운용",
    "라자드자산운용", "얼라이언스번스틴자산운용",
)  # fmt: skip
_OTHER_THEMES = (
    "밸류고배당", "글로벌헬스케어", "단기채", "국공채", "TDF2040", "TDF2050", "중소형주", "코리아",
    "중국본토", "미국배당", "글로벌리츠", "하이일드", "공모주", "MMF", "인도", "베트남",
)  # fmt: skip
_OTHER_FORMS = (
    ("증권투자신탁[주식]", "주식형"), ("증권자투자신탁(채권)", "채권형"),
    ("증권자투자신탁(채권혼합)", "혼합채권형"), ("증권투자신탁(주식혼합)", "혼합주식형"),
    ("투자신탁(재간접형)", "재간접형"), ("단기금융투자신탁", "MMF"),
)  # fmt: skip
_CLASSES = ("ClassA", "ClassC", "ClassC-e", "ClassC-P(연금)", "종류A1", "종류C-Pe", "(A)", "(C)")


def _fund_type(asset_class: str, factor: float, replication: str, index: str) -> str:
    """KOFIA's 펀드유형 of an ETF (the sandbox's mapping of KRX's asset class): 파생형 when its
    ISU_NM says 파생 (`universe._fund_kind`: geared, 합성 — every rate fund —, or a futures
    commodity or currency fund); a gold-spot fund (금-실물) is 특별자산."""
    futures = asset_class in ("원자재", "통화") and not holds_physical_gold(index)
    if factor != 1.0 or replication.startswith("합성") or futures:
        return "파생형"
    return {"주식": "주식형", "채권": "채권형", "혼합자산": "혼합채권형", "기타": "특별자산",
            "원자재": "특별자산", "부동산": "부동산"}.get(asset_class, "기타")  # fmt: skip


def fund_code(prefix: str, company: int, serial: str) -> str:
    """A KOFIA fund code: KR5 (older) or K55, the manager's 3 digits, 5 characters and the ISIN
    check digit (KR5105352888 is 삼성KODEX200증권상장지수투자신탁[주식])."""
    body = f"{prefix}{company:03d}{serial}"
    return body + str(isin_check_digit(body))


def base_date(market: Market, month: date) -> date:
    """The month's KOFIA business day: its last session, or 31 December on a weekday."""
    last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    if last.month == 12 and last.weekday() < 5:
        return last
    sessions = [d for d in market.sessions if month <= d <= last]
    return sessions[-1] if sessions else last


def disclosed(day: date, today: date) -> bool:
    """KOFIA answers the month of `day` once `today` is past its DISCLOSED_ON_DAY of the next."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return today >= following.replace(day=DISCLOSED_ON_DAY)


def _codes(market: Market) -> np.ndarray:
    """Each ETF's KOFIA fund code, fixed per fund."""
    companies = {row[0]: 101 + 3 * i for i, row in enumerate(ISSUERS)}
    codes = []
    for etf in market.etfs.itertuples(index=False):
        serial = _stable_seed(market.seed, "kofia", etf.ticker) % 36**5
        text = np.base_repr(serial, 36).rjust(5, "0")
        old = etf.listing_date < date(2012, 1, 1)
        digits = str(serial % 100_000).rjust(5, "0")
        codes.append(fund_code("KR5" if old else "K55", companies[etf.issuer], digits if old
                               else text))  # fmt: skip
    return np.array(codes)


def kofia_names(market: Market, d: date, cols: np.ndarray) -> pd.DataFrame:
    """name and naming (exact, brackets, class_label, legal_form) of the ETFs at `cols` as
    KOFIA files them on `d`: KRX's full name of that day without its spaces, and the ETF's
    fixed variant."""
    full = market.names_on(d, cols)["name_full"].str.replace(r"\s+", "", regex=True)
    draw = np.array(
        [_stable_seed(market.seed, "kofia-name", t) % 1000 / 1000 for t in
         market.etfs["ticker"].to_numpy()[cols]]
    )  # fmt: skip
    naming = np.select(
        [draw < LEGAL_FORM_SHARE, draw < LEGAL_FORM_SHARE + CLASS_LABEL_SHARE,
         draw < LEGAL_FORM_SHARE + CLASS_LABEL_SHARE + BRACKET_SWAP_SHARE],
        ["legal_form", "class_label", "brackets"], "exact",
    )  # fmt: skip
    names = full.to_numpy().astype(object)
    for i, kind in enumerate(naming):
        name = names[i]
        if kind == "brackets":
            name = name.translate(str.maketrans("[]()", "()[]"))
        elif kind == "class_label":
            name += "ClassE" if draw[i] < LEGAL_FORM_SHARE + CLASS_LABEL_SHARE / 2 else "종류E"
        elif kind == "legal_form":
            name = name.replace("-", "", 1) if "-" in name else name.replace("투자신탁", "투신", 1)
        names[i] = name
    return pd.DataFrame({"name": names, "naming": naming})


def _split(total: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """운용, 판매, 수탁, 사무관리 that add up to `total` exactly at 4 dp."""
    sales = np.round(total * rng.uniform(0.03, 0.10, len(total)), 4)
    trustee = np.round(total * rng.uniform(0.03, 0.08, len(total)), 4)
    admin = np.round(total * rng.uniform(0.02, 0.06, len(total)), 4)
    management = np.round(total - sales - trustee - admin, 4)
    return management, sales, trustee, admin


def etf_costs(market: Market, month: date) -> pd.DataFrame:
    """The `COLUMNS` of every ETF listed on the month's base date, in KRX name order."""
    day = base_date(market, month)
    cols = market.listed_on(day)
    etfs = market.etfs.iloc[cols]
    rng = np.random.default_rng(_stable_seed(market.seed, "kofia-month", month))
    level = np.random.default_rng(_stable_seed(market.seed, "kofia-level"))
    n_all = len(market.etfs)
    other_level = np.exp(level.normal(np.log(0.02), 0.8, n_all))[cols]
    trade_level = np.exp(level.normal(np.log(0.06), 0.9, n_all))[cols]
    cut = (level.random(n_all) < FEE_CUT_SHARE)[cols] & (month < FEE_CUT_ON)
    total = np.round(etfs["expense_ratio_pct"].to_numpy(float) + np.where(cut, FEE_CUT_PCTPT, 0), 4)
    management, sales, trustee, admin = _split(total, rng)
    other_exact = other_level * rng.lognormal(0.0, 0.3, len(cols))
    listing = pd.to_datetime(etfs["listing_date"]).dt.date.to_numpy()
    young = np.array([(day - d).days < YOUNG_DAYS for d in listing])
    inception = [d - timedelta(days=int(k)) for d, k in zip(listing, rng.integers(0, 4, len(cols)),
                                                            strict=True)]  # fmt: skip
    names = kofia_names(market, day, cols)
    return pd.DataFrame({
        "ticker": etfs["ticker"].to_numpy(),
        "issuer": etfs["issuer"].to_numpy(),
        "name": names["name"].to_numpy(),
        "naming": names["naming"].to_numpy(),
        "fund_type": [_fund_type(a, f, r, i) for a, f, r, i in zip(
            etfs["asset_class"], etfs["leverage_factor"], etfs["replication"],
            etfs["tracking_index"], strict=True)],
        "inception_date": inception,
        "management_fee": management, "sales_fee": sales, "trustee_fee": trustee,
        "admin_fee": admin, "total_fee": total,
        "other_expenses": np.round(other_exact, 2),
        "ter": np.where(young, np.nan, np.round(total + other_exact, 2)),
        "front_load": 0.0, "back_load": 0.0,
        "fund_code": _codes(market)[cols],
        "trading_fee": np.round(trade_level * rng.lognormal(0.0, 0.35, len(cols)), 4),
    })  # fmt: skip


def other_funds(market: Market, month: date) -> pd.DataFrame:
    """`NON_ETF_PER_ETF` public fund classes that are no ETF per ETF listed at ANCHOR, the same
    funds every month, as whole arrays."""
    n = NON_ETF_PER_ETF * len(market.listed_on(ANCHOR))
    fixed = np.random.default_rng(_stable_seed(market.seed, "kofia-others"))
    rng = np.random.default_rng(_stable_seed(market.seed, "kofia-others", month))
    managers = np.array([r[0] for r in ISSUERS] + list(_OTHER_MANAGERS))
    manager = fixed.integers(0, len(managers), n)
    theme = fixed.integers(0, len(_OTHER_THEMES), n)
    form = fixed.integers(0, len(_OTHER_FORMS), n)
    klass = fixed.integers(0, len(_CLASSES), n)
    number = fixed.integers(1, 9, n)
    prefixes = np.array([r[2] for r in ISSUERS] + [m.removesuffix("자산운용") for m in
                                                   _OTHER_MANAGERS])  # fmt: skip
    names = [
        prefixes[m]
        + _OTHER_THEMES[t]
        + _OTHER_FORMS[f][0].replace("투자신탁", f"투자신탁 {k}호", 1)
        + _CLASSES[c]
        for m, t, f, k, c in zip(manager, theme, form, number, klass, strict=True)
    ]
    total = np.round(np.exp(fixed.normal(np.log(0.8), 0.5, n)), 4)
    management, sales, trustee, admin = _split(total, fixed)
    other_exact = np.exp(fixed.normal(np.log(0.03), 0.7, n)) * rng.lognormal(0.0, 0.3, n)
    serial = np.arange(n) + _stable_seed(market.seed, "kofia-serial") % 1000
    codes = [fund_code("K55", 300 + int(m), np.base_repr(int(s), 36).rjust(5, "0")[-5:])
             for m, s in zip(manager, serial, strict=True)]  # fmt: skip
    start = date(2005, 1, 3).toordinal()
    return pd.DataFrame({
        "ticker": None,
        "issuer": managers[manager],
        "name": names,
        "naming": None,
        "fund_type": [_OTHER_FORMS[f][1] for f in form],
        "inception_date": [date.fromordinal(start + int(k)) for k in fixed.integers(0, 7000, n)],
        "management_fee": management, "sales_fee": sales, "trustee_fee": trustee,
        "admin_fee": admin, "total_fee": total,
        "other_expenses": np.round(other_exact, 2),
        "ter": np.round(total + other_exact, 2),
        "front_load": np.where(fixed.random(n) < 0.3, 1.0, 0.0), "back_load": 0.0,
        "fund_code": codes,
        "trading_fee": np.round(np.exp(fixed.normal(np.log(0.1), 0.8, n)) * rng.lognormal(
            0.0, 0.3, n), 4),
    })  # fmt: skip


def fund_costs(market: Market, month: date) -> pd.DataFrame:
    """Every public fund class KOFIA lists for `month`: the ETFs then the others, with the
    fund-type average fee (유사유형 평균보수율) over all of them."""
    etfs = etf_costs(market, month)
    funds = pd.concat([etfs, other_funds(market, month)], ignore_index=True)
    funds["category_average_fee"] = (
        funds.groupby("fund_type")["total_fee"].transform("mean").round(4)
    )
    return funds
