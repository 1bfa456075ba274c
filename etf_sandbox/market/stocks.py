"""Stock reference data of the sandbox: every KOSPI/KOSDAQ stock the baskets hold (the `kr`
pool of `baskets`), plus two listed stocks no basket holds (one with an alphanumeric code, as
KRX has had since 2024), with a KRX industry (업종), listed shares and a close per session.

It feeds the two stock screens (업종분류 현황 MDCSTAT03901, 전종목 시세 MDCSTAT01501) and is
consistent with the PDFs: a stock's close on a session is the pool price its basket lines are
valued at that week (amount_krw = shares per CU × close, to KRX's tick), so a fund's holding
read through these screens is worth what its PDF says.

Ground truth kept here: listed shares are fixed per stock (on ANCHOR its market cap is the
pool's `cap` × 15조원, 삼성전자 450조원), so ETF ownership (shares held by all ETFs ÷ listed
shares) is known exactly.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from etf_assets.parsing.rules import etf_isin
from etf_sandbox.market.baskets import _prices_of, _week
from etf_sandbox.market.reference import ANCHOR, _stable_seed

if TYPE_CHECKING:
    from etf_sandbox.market.core import Market

# KRX's KOSPI industries (업종) of the real stocks in the pool, as 업종분류 현황 names them.
REAL_SECTORS = {
    "005930": "전기전자", "000660": "전기전자", "373220": "전기전자", "207940": "의약품",
    "005380": "운수장비", "000270": "운수장비", "068270": "의약품", "035420": "서비스업",
    "005490": "철강금속", "105560": "기타금융", "055550": "기타금융", "012330": "운수장비",
    "028260": "유통업", "051910": "화학", "006400": "전기전자", "035720": "서비스업",
    "066570": "전기전자", "003550": "기타금융", "017670": "통신업", "096770": "화학",
    "034730": "기타금융", "015760": "전기가스업", "032830": "보험", "086790": "기타금융",
    "316140": "기타금융", "009150": "전기전자", "018260": "서비스업", "011200": "운수창고업",
    "010130": "철강금속", "033780": "음식료품", "030200": "통신업", "003670": "비금속광물",
    "012450": "기계", "042660": "운수장비", "329180": "운수장비", "009540": "운수장비",
    "010140": "운수장비", "034020": "기계", "000810": "보험", "011170": "화학",
    "024110": "은행", "138040": "기타금융", "323410": "은행", "259960": "서비스업",
    "036570": "서비스업", "251270": "서비스업", "352820": "서비스업", "090430": "화학",
    "097950": "음식료품", "271560": "음식료품", "004020": "철강금속", "047050": "유통업",
    "010950": "화학", "267260": "전기전자", "064350": "운수장비", "047810": "운수장비",
    "000100": "의약품", "128940": "의약품", "326030": "의약품", "011790": "화학",
    "000880": "화학", "009830": "화학", "006800": "증권", "005940": "증권", "016360": "증권",
    "071050": "기타금융", "039490": "증권", "029780": "기타금융", "004990": "기타금융",
    "139480": "유통업", "021240": "서비스업", "161390": "운수장비", "011070": "전기전자",
    "034220": "전기전자", "032640": "통신업", "051900": "화학", "003490": "운수창고업",
    "000720": "건설업", "078930": "기타금융", "036460": "전기가스업", "042700": "기계",
    "005830": "보험", "001450": "보험", "000120": "운수창고업", "282330": "유통업",
    # KOSDAQ industries
    "247540": "일반전기전자", "086520": "금융", "196170": "제약", "028300": "제약",
    "293490": "디지털컨텐츠", "263750": "디지털컨텐츠", "035900": "오락·문화",
    "041510": "오락·문화", "058470": "반도체", "039030": "반도체", "240810": "반도체",
    "357780": "화학",
}  # fmt: skip
# The generated names (prefix + suffix in baskets) get their industry from the suffix.
SECTOR_BY_SUFFIX = {
    "전자": "전기전자", "화학": "화학", "제약": "의약품", "산업": "기계", "건설": "건설업",
    "중공업": "운수장비", "정밀": "의료정밀", "바이오": "의약품", "에너지": "전기가스업",
    "소재": "비금속광물", "테크": "서비스업", "홀딩스": "기타금융", "물산": "유통업",
    "식품": "음식료품", "반도체": "전기전자", "로보틱스": "기계",
}  # fmt: skip
# Listed stocks that no basket holds: code, ISIN, name, market, industry, close, listed
# shares (00104K as in KRX's real 전종목 시세 of 2021-01-22).
UNHELD = (
    ("00104K", "KR700104K010", "CJ4우(전환)", "STK", "기타금융", 68_000, 1_327_433),
    ("0126Z0", etf_isin("0126Z0"), "삼성에피스홀딩스", "STK", "기타금융", 420_000, 24_000_000),
)
MARKET_NAMES = {"STK": "KOSPI", "KSQ": "KOSDAQ"}
# KOSDAQ's 소속부 (SECT_TP_NM in 전종목 시세); KOSPI stocks have "".
KOSDAQ_SECTIONS = ("우량기업부", "벤처기업부", "중견기업부", "기술성장기업부")
# Market cap per unit of the pool's `cap` weight: 삼성전자 (cap 30) ≈ 450조원.
MARKET_CAP_PER_CAP_KRW = 15e12
# No stock is smaller than this on ANCHOR: the pool's smallest would otherwise be mostly ETF-owned.
MIN_MARKET_CAP_KRW = 1.5e12
# KRX's price ticks for stocks since 2023: (price below, tick).
TICKS = ((2_000, 1), (5_000, 5), (20_000, 10), (50_000, 50), (200_000, 100), (500_000, 500))


def tick_round(price: np.ndarray) -> np.ndarray:
    """Stock prices on KRX's tick grid (1 KRW below 2,000 … 1,000 KRW from 500,000)."""
    tick = np.full(price.shape, 1_000.0)
    for below, size in reversed(TICKS):
        tick = np.where(price < below, size, tick)
    return np.maximum(np.round(price / tick) * tick, tick).astype(np.int64)


def _sector(code: str, name: str) -> str:
    if code in REAL_SECTORS:
        return REAL_SECTORS[code]
    return next((s for suffix, s in SECTOR_BY_SUFFIX.items() if name.endswith(suffix)), "기타제조")


def stock_list(m: Market) -> pd.DataFrame:
    """Every listed stock: code, isin, name, mkt_id, section, sector, listed_shares and
    `pool_row` (its row in the basket pool; -1 for the unheld ones), in KRX's name order."""
    kr = m.pools["kr"][0]
    cap_krw = np.maximum(kr["cap"].to_numpy() * MARKET_CAP_PER_CAP_KRW, MIN_MARKET_CAP_KRW)
    anchor_prices = _prices_of(m, kr, _week(m, ANCHOR))
    held = pd.DataFrame({
        "code": kr["code"], "isin": kr["isin"], "name": kr["name"], "mkt_id": kr["mkt_id"],
        "sector": [_sector(c, n) for c, n in zip(kr["code"], kr["name"], strict=True)],
        "listed_shares": np.maximum(np.round(cap_krw / anchor_prices), 1_000).astype(np.int64),
        "pool_row": np.arange(len(kr)),
    })  # fmt: skip
    unheld = pd.DataFrame(
        [(code, isin, name, mkt, sector, shares, -1)
         for code, isin, name, mkt, sector, _, shares in UNHELD],
        columns=held.columns,
    )  # fmt: skip
    out = pd.concat([held, unheld], ignore_index=True)
    out["section"] = [
        "" if mk == "STK" else KOSDAQ_SECTIONS[_stable_seed(c) % len(KOSDAQ_SECTIONS)]
        for c, mk in zip(out["code"], out["mkt_id"], strict=True)
    ]
    return out.sort_values("name", ignore_index=True)


def stock_quotes(m: Market, d: date) -> pd.DataFrame:
    """Every listed stock on session d: stock_list's columns plus close, prev_close, open,
    high, low, volume and traded_value (KRW), market_cap (KRW). The close of a held stock is
    its pool price of d's week on KRX's tick grid; the previous close that of the session
    before (the same within a week: pool prices move weekly)."""
    stocks = stock_list(m)
    kr = m.pools["kr"][0]
    rows = stocks["pool_row"].to_numpy()
    held = rows >= 0
    week = _week(m, d)
    row = m.session_row(d)
    prev = m.sessions[row - 2] if row and row > 1 else d
    fixed = {code: close for code, _, _, _, _, close, _ in UNHELD}
    close = np.array([float(fixed.get(c, 0)) for c in stocks["code"]])
    prev_close = close.copy()
    pool = kr.iloc[rows[held]]
    close[held] = _prices_of(m, pool, week)
    prev_close[held] = _prices_of(m, pool, _week(m, prev))
    close, prev_close = tick_round(close), tick_round(prev_close)
    rng = np.random.default_rng(_stable_seed(m.seed, "stocks", d.isoformat()))
    swing = rng.uniform(0.0, 0.03, len(stocks))
    high = tick_round(np.maximum(close, prev_close) * (1 + swing))
    low = tick_round(np.minimum(close, prev_close) * (1 - swing))
    volume = np.round(stocks["listed_shares"] * rng.uniform(0.0005, 0.01, len(stocks)))
    return stocks.assign(
        close=close, prev_close=prev_close, open=prev_close, high=high, low=low,
        volume=volume.astype(np.int64),
        traded_value=np.round(volume * (close + prev_close) / 2).astype(np.int64),
        market_cap=close * stocks["listed_shares"].to_numpy(),
    )  # fmt: skip
