"""PDF (holdings): the instruments funds hold (stock, foreign-stock and bond pools with
weekly prices) and one PDF per fund and week in KRX's layout, with its futures, option, ETF
and cash lines."""

from __future__ import annotations

import bisect
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from etf_assets.parsing.rules import isin_check_digit
from etf_sandbox.market.reference import ALNUM_LETTERS, HOLDING_COLUMNS, _stable_seed
from etf_sandbox.market.universe import _largest_remainder

if TYPE_CHECKING:
    from etf_sandbox.market.core import Market

# code | name | market (real KOSPI/KOSDAQ stocks; ISINs follow the KR7 + code + 00 rule)
_KR_STOCKS = [
    row.split("|")
    for row in """005930|삼성전자|STK
000660|SK하이닉스|STK
373220|LG에너지솔루션|STK
207940|삼성바이오로직스|STK
005380|현대차|STK
000270|기아|STK
068270|셀트리온|STK
035420|NAVER|STK
005490|POSCO홀딩스|STK
105560|KB금융|STK
055550|신한지주|STK
012330|현대모비스|STK
028260|삼성물산|STK
051910|LG화학|STK
006400|삼성SDI|STK
035720|카카오|STK
066570|LG전자|STK
003550|LG|STK
017670|SK텔레콤|STK
096770|SK이노베이션|STK
034730|SK|STK
015760|한국전력|STK
032830|삼성생명|STK
086790|하나금융지주|STK
316140|우리금융지주|STK
009150|삼성전기|STK
018260|삼성에스디에스|STK
011200|HMM|STK
010130|고려아연|STK
033780|KT&G|STK
030200|KT|STK
003670|포스코퓨처엠|STK
012450|한화에어로스페이스|STK
042660|한화오션|STK
329180|HD현대중공업|STK
009540|HD한국조선해양|STK
010140|삼성중공업|STK
034020|두산에너빌리티|STK
000810|삼성화재|STK
011170|롯데케미칼|STK
024110|기업은행|STK
138040|메리츠금융지주|STK
323410|카카오뱅크|STK
259960|크래프톤|STK
036570|엔씨소프트|STK
251270|넷마블|STK
352820|하이브|STK
090430|아모레퍼시픽|STK
097950|CJ제일제당|STK
271560|오리온|STK
004020|현대제철|STK
047050|포스코인터내셔널|STK
010950|S-Oil|STK
267260|HD현대일렉트릭|STK
064350|현대로템|STK
047810|한국항공우주|STK
000100|유한양행|STK
128940|한미약품|STK
326030|SK바이오팜|STK
011790|SKC|STK
000880|한화|STK
009830|한화솔루션|STK
006800|미래에셋증권|STK
005940|NH투자증권|STK
016360|삼성증권|STK
071050|한국금융지주|STK
039490|키움증권|STK
029780|삼성카드|STK
004990|롯데지주|STK
139480|이마트|STK
021240|코웨이|STK
161390|한국타이어앤테크놀로지|STK
011070|LG이노텍|STK
034220|LG디스플레이|STK
032640|LG유플러스|STK
051900|LG생활건강|STK
003490|대한항공|STK
000720|현대건설|STK
078930|GS|STK
036460|한국가스공사|STK
042700|한미반도체|STK
005830|DB손해보험|STK
001450|현대해상|STK
000120|CJ대한통운|STK
282330|BGF리테일|STK
247540|에코프로비엠|KSQ
086520|에코프로|KSQ
196170|알테오젠|KSQ
028300|HLB|KSQ
293490|카카오게임즈|KSQ
263750|펄어비스|KSQ
035900|JYP Ent.|KSQ
041510|에스엠|KSQ
058470|리노공업|KSQ
039030|이오테크닉스|KSQ
240810|원익IPS|KSQ
357780|솔브레인|KSQ""".splitlines()
]
_KR_PREFIX = ["대한", "한국", "동양", "신성", "세아", "태영", "한일", "삼화", "동원", "대성",
              "우진", "성호"]  # fmt: skip
_KR_SUFFIX = ["전자", "화학", "제약", "산업", "건설", "중공업", "정밀", "바이오", "에너지", "소재",
              "테크", "홀딩스", "물산", "식품", "반도체", "로보틱스"]  # fmt: skip
# first 11 characters of the ISIN | name (the check digit is computed)
_FOREIGN = [
    row.split("|")
    for row in """US037833100|APPLE INC
US594918104|MICROSOFT CORP
US67066G104|NVIDIA CORP
US023135106|AMAZON.COM INC
US02079K305|ALPHABET INC-CL A
US02079K107|ALPHABET INC-CL C
US30303M102|META PLATFORMS INC-CLASS A
US88160R101|TESLA INC
US11135F101|BROADCOM INC
US00724F101|ADOBE INC
US64110L106|NETFLIX INC
US22160K105|COSTCO WHOLESALE CORP
US007903107|ADVANCED MICRO DEVICES
US713448108|PEPSICO INC
US17275R102|CISCO SYSTEMS INC
US458140100|INTEL CORP
US747525103|QUALCOMM INC
US882508104|TEXAS INSTRUMENTS INC
US084670702|BERKSHIRE HATHAWAY INC-CL B
US46625H100|JPMORGAN CHASE & CO
US92826C839|VISA INC-CLASS A SHARES
US532457108|ELI LILLY & CO
US91324P102|UNITEDHEALTH GROUP INC
US30231G102|EXXON MOBIL CORP
US478160104|JOHNSON & JOHNSON
US931142103|WALMART INC
US57636Q104|MASTERCARD INC - A
US742718109|PROCTER & GAMBLE CO/THE
US437076102|HOME DEPOT INC
US68389X105|ORACLE CORP
US79466L302|SALESFORCE INC
US69608A108|PALANTIR TECHNOLOGIES INC-A""".splitlines()
]
_BOND_ISSUERS = ["한국전력공사", "한국도로공사", "한국토지주택공사", "현대캐피탈", "KB국민카드",
                 "신한카드", "SK텔레콤", "LG화학", "중소기업은행", "한국산업은행"]  # fmt: skip
# underlying index → (product code, name, multiplier, index whose level prices the contract)
_FUTURES = {
    "코스피 200": ("101", "코스피200 F", 250_000, "코스피 200"),
    "코스피 200 선물지수": ("101", "코스피200 F", 250_000, "코스피 200"),
    "코스닥 150": ("106", "코스닥150 F", 10_000, "코스닥 150"),
    "코스닥 150 선물지수": ("106", "코스닥150 F", 10_000, "코스닥 150"),
    "미국달러선물지수": ("175", "미국달러 F", 10_000, "미국달러선물지수"),
    "10년국채선물지수": ("167", "10년국채 F", 1_000_000, "10년국채선물지수"),
}
_OTHER_FUTURES_MULTIPLIER = 50_000
_OPTION_MULTIPLIER = 250_000  # KOSPI 200 options, written by domestic covered-call funds
_SPOT_OF = {"코스피 200 선물지수": "코스피 200", "코스닥 150 선물지수": "코스닥 150"}
# The year character of KRX derivative codes: 2006 A … 2023 T, 2024 V … 2028 Z (no I, O, U);
# the sandbox writes the year's last digit before 2006.
_YEAR_CODE = {2006 + i: letter for i, letter in enumerate(ALNUM_LETTERS)} | {
    y: str(y % 10) for y in range(2002, 2006)
}
DEPOSIT = ("KRD010010001", "KRD010010001", "원화예금")  # code, ISIN, name
CREATION_CASH = ("CASH00000001", "", "설정현금액")
# Basket types whose PDF carries derivative legs: no line has a weight (COMPST_RTO "-"), and
# both cash lines appear, with the same amount (114800 on 2021-04-02).
DERIVATIVE_BASKETS = ("inverse", "leveraged", "futures", "covered_call")


def basket_type(etf: Any) -> str:
    """What the fund's PDF holds, from its static attributes (a row of `Market.etfs`, as a
    named tuple or a Series)."""
    factor, aclass, region = etf.leverage_factor, etf.asset_class, etf.market_region
    if factor < 0:
        return "inverse"
    if factor > 1:
        return "leveraged"
    if aclass in ("원자재", "통화"):
        return "futures"
    if aclass == "주식" and region == "국내":
        return "covered_call" if "커버드콜" in etf.name else "stock"
    if aclass == "주식":
        return "foreign_stock"
    return "bond" if aclass in ("채권", "기타") else "mixed"


def _with_check(body: str) -> str:
    return body + isin_check_digit(body)


def _build_pools(
    rng: np.random.Generator, sessions: tuple[date, ...]
) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """Instruments ETFs hold, with weekly price paths (shared by every ETF holding them)."""
    names = {r[1] for r in _KR_STOCKS}
    kr = [(c, _with_check(f"KR7{c}00"), n, m, "ST") for c, n, m in _KR_STOCKS]
    codes = {r[0] for r in _KR_STOCKS}
    for i, (p, s) in enumerate((p, s) for p in _KR_PREFIX for s in _KR_SUFFIX):
        code = f"{(100_000 + i * 1_370) % 990_000:06d}"
        if code in codes or p + s in names:
            continue
        kr.append((code, _with_check(f"KR7{code}00"), p + s, "KSQ" if i % 3 else "STK", "ST"))
    foreign = [(_with_check(b)[3:9], _with_check(b), n, "", "") for b, n in _FOREIGN]
    bonds = []
    for i in range(40):
        if i < 20:
            coupon, mat = rng.integers(1500, 4500) // 25 * 25, 2026 + i % 20
            body = f"KR10350{ALNUM_LETTERS[i % 23]}{i % 10}{(i * 7) % 100:02d}"[:11]
            yy = mat % 100
            name = f"국고{coupon:05d}-{yy:02d}{3 * (1 + i % 4):02d}({yy - 10}-{1 + i % 9})"
        else:
            issuer = _BOND_ISSUERS[i % len(_BOND_ISSUERS)]
            body = f"KR6{(100_000 + i * 4_321) % 999_999:06d}{ALNUM_LETTERS[i % 23]}{i % 10}"
            name = f"{issuer}{400 + i * 3}"
        bonds.append((_with_check(body), _with_check(body), name, "", ""))
    pools = {}
    n_weeks = (sessions[-1] - sessions[0]).days // 7 + 2
    for key, rows, lo, hi, vol in (("kr", kr, 3_000, 300_000, 0.045),
                                   ("foreign", foreign, 60_000, 1_200_000, 0.04),
                                   ("bond", bonds, 9_600, 10_400, 0.004)):  # fmt: skip
        df = pd.DataFrame(rows, columns=["code", "isin", "name", "mkt_id", "secugrp"])
        base = np.exp(rng.uniform(np.log(lo), np.log(hi), len(df)))
        if key == "kr":  # the large caps near their real prices (삼성전자 84,800 on 2021-04-02)
            base[:8] = [70_000, 150_000, 380_000, 800_000, 230_000, 95_000, 180_000, 200_000]
        if key == "bond":
            base = base / 10_000  # KRW per 1 KRW of face value
        walk_rng = np.random.default_rng(rng.integers(2**63))  # weeks added leave these
        walk = np.exp(np.cumsum(walk_rng.normal(0, vol, (n_weeks, len(df))), axis=0))
        prices = base * walk
        df["cap"] = np.exp(rng.normal(np.log(0.25), 1.0, len(df)))
        df["pool"] = key
        if key == "kr":  # KOSPI 200 weights of the real large caps (삼성전자 ~31 %, 152100)
            df.loc[df.index < 8, "cap"] = [30.0, 9.0, 4.0, 3.0, 2.6, 2.2, 2.0, 1.8]
            df.loc[df.index >= len(_KR_STOCKS), "cap"] *= 0.2
        pools[key] = (df, prices)
    return pools


def _week(m: Market, d: date) -> int:
    return (d - m.sessions[0]).days // 7 + 1


def _pick(pool: pd.DataFrame, rng: np.random.Generator, n: int, top: bool) -> pd.DataFrame:
    n = min(n, len(pool))
    if top:
        return pool.nlargest(n, "cap")
    return pool.iloc[np.sort(rng.choice(len(pool), n, replace=False))]


def _pick_domestic(kr: pd.DataFrame, index: str, rng: np.random.Generator) -> pd.DataFrame:
    """KOSPI-wide indices hold the 198 largest stocks, themes 10 to 50 drawn ones."""
    broad = index.startswith(("코스피 200", "KRX 300", "코스피"))
    return _pick(kr, rng, 198 if broad else int(rng.integers(10, 51)), broad)


def _line(code: str, isin: str, name: str, mkt_id: str, secugrp: str, kind: str,
          shares: float, value: int | None, amount: int | None) -> dict:  # fmt: skip
    return dict(code=code, isin=isin, name=name, mkt_id=mkt_id, secugrp=secugrp,
                shares_per_cu=shares, value_krw=value, amount_krw=amount, weight_pct=None,
                kind=kind)  # fmt: skip


def _securities(m: Market, frames: list[pd.DataFrame], target: float, week: int,
                rng: np.random.Generator) -> list[dict]:  # fmt: skip
    """Stocks and bonds worth `target` KRW per CU, largest first.

    Domestic lines: VALU_AMT at last week's price, COMPST_AMT at this week's (they differ, as
    in 152100's PDF). Foreign stocks: fractional quantities and VALU_AMT "-" (KRX sends neither
    a valuation nor a weight for them: pykrx issue #237 shows 0 for both).
    """
    held = pd.concat(frames)
    prices = np.concatenate([_prices_of(m, f, week) for f in frames])
    prev_prices = np.concatenate([_prices_of(m, f, week - 1) for f in frames])
    weights = held["cap"].to_numpy() * np.exp(rng.normal(0, 0.1, len(held)))
    foreign = (held["pool"] == "foreign").to_numpy()
    bond = (held["pool"] == "bond").to_numpy()
    raw = target * weights / weights.sum() / prices
    qty = np.where(foreign, np.maximum(np.round(raw, 2), 0.01), np.maximum(np.round(raw), 1.0))
    qty = np.where(bond, np.maximum(np.round(raw, -3), 1_000.0), qty)  # face amount, KRW
    amount = np.round(qty * prices).astype(np.int64)
    value = np.round(qty * prev_prices).astype(np.int64)
    kinds = np.where(foreign, "foreign_stock", np.where(bond, "bond", "stock")).tolist()
    lines = [
        _line(r.code, r.isin, r.name, r.mkt_id, r.secugrp, k, float(q),
              None if f else int(v), int(a))
        for r, k, q, v, a, f in zip(held.itertuples(index=False), kinds, qty, value, amount,
                                    foreign, strict=True)
    ]  # fmt: skip
    return sorted(lines, key=lambda line: -line["amount_krw"])


def _futures_line(m: Market, e: int, d: date, row: int, notional: float) -> dict:
    """One futures leg of `notional` KRW (negative = short): VALU_AMT only, like KR4101R60000."""
    index = m.etfs.at[e, "tracking_index"]
    year, month = d.year, ((d.month - 1) // 3 + 1) * 3
    known = _FUTURES.get(index)
    if known is None:
        code = _with_check(f"KRZ{_stable_seed(index) % 10**8:08d}")
        name, mult, level = f"{index.strip()[:20]} F", _OTHER_FUTURES_MULTIPLIER, None
    else:
        product, name, mult, source = known
        code = _with_check(f"KR4{product}{_YEAR_CODE[year]}{month % 12 or 'C'}000")
        level = _level_of(m, source, row)
    price = (level or float(m.index_paths[row, m.index_of[e]])) * mult
    qty = round(notional / price, 2) or float(np.sign(notional)) * 0.01
    return _line(code, code, f"{name} {year}{month:02d}", "DRV", "FU", "future", qty,
                 round(qty * price), None)  # fmt: skip


def _option_line(m: Market, d: date, row: int, total: float, rng: np.random.Generator) -> dict:
    """Short KOSPI 200 calls (covered call): VALU_AMT at the premium, COMPST_AMT "-"."""
    level = _level_of(m, "코스피 200", row) or 350.0
    strike = int(round(level * 1.02 / 2.5) * 2.5)
    month = d.month
    code = _with_check(f"KR4201{_YEAR_CODE[d.year]}{'ABC'[month - 10] if month > 9 else month}"
                       f"{strike % 1000:03d}")  # fmt: skip
    qty = -round(total * rng.uniform(0.3, 1.0) / (level * _OPTION_MULTIPLIER), 2) or -0.01
    premium = level * rng.uniform(0.003, 0.015)
    return _line(code, code, f"코스피200 C {d.year}{month:02d} {strike:.1f}", "DRV", "OP",
                 "option", qty, round(qty * premium * _OPTION_MULTIPLIER), None)  # fmt: skip


def _level_of(m: Market, index: str, row: int) -> float | None:
    """The true level of a named index on a row, if some ETF tracks it."""
    hit = np.flatnonzero(m.etfs["tracking_index"].to_numpy() == index)
    return float(m.index_paths[row, m.index_of[hit[0]]]) if len(hit) else None


def _etf_line(m: Market, e: int, d: date, row: int, amount: float) -> dict | None:
    """The spot ETF an inverse fund holds short (114800 holds −324 of 069500), if one exists:
    its issuer's own, else any, the largest by net assets that day (KODEX 200 for KODEX's)."""
    spot = _SPOT_OF.get(m.etfs.at[e, "tracking_index"])
    etfs = m.etfs
    live = m.listed_on(d)
    hit = [i for i in live if etfs.at[i, "tracking_index"] == spot
           and etfs.at[i, "leverage_factor"] == 1.0 and i != e]  # fmt: skip
    if not hit:
        return None
    issuer = etfs.at[e, "issuer"]
    held = min(hit, key=lambda i: (etfs.at[i, "issuer"] != issuer, -int(m.net_assets[row, i]),
                                   etfs.at[i, "ticker"]))  # fmt: skip
    price = float(m.close[row, held])
    qty = float(round(amount / price)) or -1.0
    name = m.names_on(d, np.array([held]))["name"].iloc[0]
    return _line(etfs.at[held, "ticker"], etfs.at[held, "isin"], name, "STK", "EF", "etf", qty,
                 None, round(qty * price))  # fmt: skip


def _cash_lines(amount: float, creation: bool) -> list[dict]:
    """원화예금 (COMPST_AMT only), and for derivative baskets 설정현금액 of the same amount."""
    cash = [DEPOSIT, CREATION_CASH] if creation else [DEPOSIT]
    return [_line(code, isin, name, "", "", "cash", float("nan"), None, round(amount))
            for code, isin, name in cash]  # fmt: skip


def _holdings(m: Market, e: int, d: date) -> pd.DataFrame:
    """One PDF in KRX's layout: securities sized to NAV × CU, ETF and derivative legs, cash."""
    etf = m.etfs.loc[e]
    basket = etf["basket"]
    week = _week(m, d)
    rng = np.random.default_rng(_stable_seed(m.seed, etf["ticker"], week))
    monday_row = bisect.bisect_left(m.sessions, d - timedelta(days=d.weekday())) + 1
    row = max(monday_row, int(m.first_idx[e]))  # the week's first session: one PDF a week
    total = float(m.nav[row, e]) * int(etf["cu_shares"])
    factor, aclass, region = float(etf["leverage_factor"]), etf["asset_class"], etf["market_region"]
    kr, foreign, bonds = (m.pools[k][0] for k in ("kr", "foreign", "bond"))
    cash_share = float(rng.uniform(0.002, 0.02))
    domestic_eq = aclass == "주식" and region == "국내"
    lines: list[dict] = []
    frames: list[pd.DataFrame] = []
    if basket == "inverse":
        etf_line = _etf_line(m, e, d, row, -total * rng.uniform(0.02, 0.05))
        if etf_line is not None:
            lines.append(etf_line)
        lines.append(_futures_line(m, e, d, row, factor * total))
        short = etf_line["amount_krw"] if etf_line else 0
        lines += _cash_lines(total - short, creation=True)
    elif basket in ("leveraged", "futures"):
        physical = total * (1 - cash_share) if domestic_eq else 0.0
        if physical:
            frames.append(_pick_domestic(kr, etf["tracking_index"], rng))
            lines += _securities(m, frames, physical, week, rng)
        lines.insert(0, _futures_line(m, e, d, row, (factor - bool(physical)) * total))
        lines += _cash_lines(total - physical, creation=True)
    else:
        if basket in ("stock", "covered_call"):
            frames.append(_pick_domestic(kr, etf["tracking_index"], rng))
        elif basket == "foreign_stock":
            frames.append(_pick(foreign, rng, int(rng.integers(20, 101)), True))
            if region == "국내&해외":
                frames.append(_pick(kr, rng, 10, True))
        elif basket == "bond":
            frames.append(_pick(bonds, rng, int(rng.integers(10, 41)), False))
        else:  # mixed: 부동산, 혼합자산
            frames.append(_pick(kr if region == "국내" else foreign, rng,
                                int(rng.integers(5, 20)), False))  # fmt: skip
            frames.append(_pick(bonds, rng, int(rng.integers(5, 15)), False))
        lines += _securities(m, frames, total * (1 - cash_share), week, rng)
        if basket == "covered_call":
            lines.insert(0, _option_line(m, d, row, total, rng))
        lines += _cash_lines(total * cash_share, creation=basket == "covered_call")
    out = pd.DataFrame(lines, columns=HOLDING_COLUMNS, dtype=object)
    out["shares_per_cu"] = out["shares_per_cu"].astype(float)
    _weigh(out, basket)
    return out


def _weigh(basket_lines: pd.DataFrame, basket: str) -> None:
    """COMPST_RTO: each line's share of COMPST_AMT, cash included (sums to 100, as 152100's).

    None on every line of a derivative basket or of one holding foreign stocks (KRX sends "-").
    """
    if basket in DERIVATIVE_BASKETS or (basket_lines["kind"] == "foreign_stock").any():
        return
    # largest remainder, so the weights sum to 100.00: rounded one by one, ~200 stock lines
    # drift from 100 by ±0.04 (sd), at times by more than ±0.1
    cents = _largest_remainder(basket_lines["amount_krw"].astype(float).tolist(), 10_000)
    basket_lines["weight_pct"] = [c / 100 for c in cents]


def _prices_of(m: Market, frame: pd.DataFrame, week: int) -> np.ndarray:
    prices = m.pools[frame["pool"].iloc[0]][1]
    return prices[min(max(week, 0), len(prices) - 1), frame.index.to_numpy()]
