"""A deterministic generated Korean ETF market for the sandbox.

Why generated: tests, the demo and the benchmarks need ≥ 1,000 ETFs with years of daily data and
known ground truth (e.g. a fund built with exactly 0.5 % tracking error), offline and
reproducible. Everything derives from `numpy.random.default_rng(seed)`; paths are built with
whole-array operations (arrays are sessions × ETFs) so the build stays well under 3 s.

Conventions (documented because the wire depends on them):
- `ANCHOR` (2026-11-20) is the reference session: `n_etfs` ETFs are listed on it, ~3 % more
  were delisted before it (they only exist in past daily data), and ~9 % per year are listed
  after it (visible once the sandbox clock passes their listing date).
- close = NAV × (1 + premium) rounded to KRX's ETF tick (1 KRW below 2,000, else 5 KRW); the
  `te_0_5` fund is quoted on a 1-KRW grid so its premium is +0.3 % to within 0.5 / NAV.
- `published_tracking_error` is KRX's figure as the sandbox defines it (see its docstring).

The real answers' awkward shapes, at the real rates, each with its ground truth on `Market`:
- index levels KRX does not publish, per index and on every day: ~1.6 % of funds "zero"
  (Open API "0.00", data service "-"), ~3 % "dash" ("-" on both) — `index_status`,
  `unpublished_index()`;
- net assets ≠ NAV × listed shares on ~22 % of rows, because a creation or redemption reaches
  net assets 1-2 sessions after the listed shares (mostly small, a tail from about −90 % to
  +100 %) —
  `net_assets`, `settlement_lag`, `net_assets_gap(d)`;
- outliers: the `suspended` fund (no trade since before START, NAV ~44, close 9,590, fee 0)
  and one-session premium spikes of illiquid funds — `premium_spikes`, `outliers(d)`;
- PDFs in KRX's layout for stock, bond, foreign-stock, mixed, covered-call (options),
  leveraged, inverse (ETF line, futures, two cash lines) and futures baskets — the `basket`
  column, `holdings()` with the `kind` of every line and both amounts;
- messy text: index names padded with "(Price Return)" and tabs, English names in mixed case,
  28 issuers, brands renamed within the years (`BRAND_RENAMES`, `names_on(d, cols)`).
"""

from __future__ import annotations

import bisect
import functools
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from etf_assets.parsing.rules import etf_isin, isin_check_digit
from etf_assets.partitions import seed_calendar, weekday_sessions

START = date(2002, 10, 14)
END = date(2027, 12, 30)
ANCHOR = date(2026, 11, 20)
ALNUM_FROM = date(2024, 12, 17)
ALNUM_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"  # KRX: no I, O, U
ANNUAL = 250

DAILY_COLUMNS = [
    "ticker", "isin", "name", "open", "high", "low", "close", "prev_close", "volume",
    "traded_value", "market_cap", "nav", "net_assets", "listed_shares", "index_name",
    "index_close", "index_change", "index_change_pct", "index_status",
]  # fmt: skip
HOLDING_COLUMNS = [
    "code", "isin", "name", "mkt_id", "secugrp", "shares_per_cu", "value_krw", "amount_krw",
    "weight_pct", "kind",
]  # fmt: skip

# issuer | brand | prefix of ISU_NM | prefix of ISU_ENG_NM | relative count (04601, 2026-01-25)
ISSUERS = [
    row.split("|")
    for row in """삼성자산운용|KODEX|삼성|SAMSUNG|228
미래에셋자산운용|TIGER|미래에셋|MIRAE ASSET|221
케이비자산운용|RISE|KB|KB|134
한국투자신탁운용|ACE|한국투자|KIM|105
한화자산운용|PLUS|한화|HANWHA|75
신한자산운용|SOL|신한|SHINHAN|70
키움투자자산운용|KIWOOM|키움|KIWOOM|64
엔에이치아문디자산운용|HANARO|NH-Amundi|NH-Amundi|46
타임폴리오자산운용|TIMEFOLIO|타임폴리오|TIMEFOLIO|24
하나자산운용|1Q|하나|Hana|16
비엔케이자산운용|BNK|BNK|BNK|14
우리자산운용|WON|우리|WOORI|14
삼성액티브자산운용|KoAct|삼성액티브|Samsung Active|12
교보악사자산운용|파워|교보악사|KYOBO AXA|10
디비자산운용|마이티|DB|DB|9
대신자산운용|대신343|대신|DAISHIN|6
흥국자산운용|HK|흥국|HEUNGKUK|6
유리자산운용|TREX|유리|YURIE|5
마이다스에셋자산운용|마이다스|마이다스|MIDAS|4
트러스톤자산운용|TRUSTON|트러스톤|TRUSTON|4
에셋플러스자산운용|에셋플러스|에셋플러스|ASSETPLUS|3
현대자산운용|UNICORN|현대|HYUNDAI|3
브이아이자산운용|VITA|브이아이|VI|2
가온자산운용|GAON|가온|GAON|2
누리자산운용|NURI|누리|NURI|2
다온자산운용|DAON|다온|DAON|1
새봄자산운용|SAEBOM|새봄|SAEBOM|1
한울자산운용|HANUL|한울|HANUL|1""".splitlines()
]  # the last five are invented: the real master names 28 issuers, the reference only 23
# Brands renamed within the generated years: issuer → (brand before, first day of the new brand).
# KRX shows the old brand in every name before that day (KINDEX → ACE, KOSEF → KIWOOM,
# KBSTAR → RISE, ARIRANG → PLUS; the days are the sandbox's choice).
BRAND_RENAMES = {
    "한국투자신탁운용": ("KINDEX", date(2022, 10, 4)),
    "키움투자자산운용": ("KOSEF", date(2024, 1, 2)),
    "케이비자산운용": ("KBSTAR", date(2024, 7, 1)),
    "한화자산운용": ("ARIRANG", date(2024, 10, 14)),
}
TITLE_CASE_SHARE = 0.15  # real master: SAMSUNG ×183, Samsung ×45 in ISU_ENG_NM

# name part | index | provider | region | asset class | English | weight
THEMES = [
    row.split("|")
    for row in """200|코스피 200|KRX|국내|주식|200|10
200TR|코스피 200 TR|KRX|국내|주식|200 TR|3
코스닥150|코스닥 150|KRX|국내|주식|KOSDAQ150|4
KRX300|KRX 300|KRX|국내|주식|KRX300|2
코스피|코스피|KRX|국내|주식|KOSPI|2
200동일가중|코스피 200 동일가중지수|KRX|국내|주식|200 Equal Weight|1
반도체|KRX 반도체|KRX|국내|주식|Semicon|4
2차전지산업|KRX 2차전지 K-뉴딜지수|KRX|국내|주식|Secondary Battery|4
은행|KRX 은행|KRX|국내|주식|Banks|2
증권|KRX 증권|KRX|국내|주식|Securities|1
자동차|KRX 자동차|KRX|국내|주식|Auto|2
헬스케어|KRX 헬스케어|KRX|국내|주식|Healthcare|2
바이오TOP10|KRX 바이오 TOP 10 지수|KRX|국내|주식|Bio TOP10|2
조선TOP10|FnGuide 조선 TOP10 지수|FnGuide|국내|주식|Shipbuilding TOP10|2
K방산|FnGuide K-방위산업 지수|FnGuide|국내|주식|K-Defense|2
고배당|FnGuide 고배당 포커스 지수|FnGuide|국내|주식|High Dividend|3
배당성장|코스피 배당성장 50|KRX|국내|주식|Dividend Growth|2
코리아밸류업|코리아 밸류업 지수|KRX|국내|주식|Korea Value-up|3
게임TOP10|FnGuide 게임 TOP10 지수|FnGuide|국내|주식|Game TOP10|1
원자력|iSelect 원자력 지수|NH투자증권|국내|주식|Nuclear|1
AI반도체TOP3플러스|FnGuide AI반도체 TOP3 플러스 지수|FnGuide|국내|주식|AI Semicon TOP3 Plus|2
K로봇|FnGuide K-로봇 지수|FnGuide|국내|주식|K-Robot|1
삼성그룹|FnGuide 삼성그룹 지수|FnGuide|국내|주식|Samsung Group|1
현대차그룹|FnGuide 현대차그룹+ 지수|FnGuide|국내|주식|Hyundai Motor Group|1
인터넷TOP10|FnGuide 인터넷 TOP10 지수|FnGuide|국내|주식|Internet TOP10|1
화장품|FnGuide 화장품 지수|FnGuide|국내|주식|Cosmetics|1
전력인프라|FnGuide 전력인프라 지수|FnGuide|국내|주식|Power Infra|1
MSCI Korea|MSCI Korea Index|MSCI|국내|주식|MSCI Korea|1
우량주|WISE 우량주 지수|WISEfn|국내|주식|Blue Chip|1
중소형|코스피 중소형주|KRX|국내|주식|Mid-Small Cap|1
미국S&P500|S&P 500|S&P|해외|주식|S&P500|8
미국나스닥100|NASDAQ 100|NASDAQ|해외|주식|NASDAQ100|7
미국배당다우존스|Dow Jones U.S. Dividend 100 Index|S&P|해외|주식|US Dividend Dow Jones|3
미국테크TOP10|Indxx US Tech Top 10 Index|Indxx|해외|주식|US Tech TOP10|2
미국필라델피아반도체|PHLX Semiconductor Sector Index|NASDAQ|해외|주식|US Philadelphia Semicon|3
미국빅테크TOP7|Solactive US Big Tech Top 7 Index|Solactive|해외|주식|US Big Tech TOP7|2
글로벌AI|Solactive Global Artificial Intelligence Index|Solactive|해외|주식|Global AI|2
미국AI전력인프라|Solactive US AI Power Infrastructure Index|Solactive|해외|주식|US AI Power Infra|2
글로벌휴머노이드로봇|Solactive Global Humanoid Robotics Index|Solactive|해외|주식|Global Humanoid Robot|1
인도Nifty50|Nifty 50 Index|NSE Indices|해외|주식|India Nifty50|2
일본니케이225|Nikkei 225|Nikkei|해외|주식|Japan Nikkei225|2
차이나CSI300|CSI 300 Index|CSI|해외|주식|China CSI300|2
차이나항셍테크|Hang Seng TECH Index|Hang Seng|해외|주식|China Hang Seng TECH|2
베트남VN30|VN30 Index|HOSE|해외|주식|Vietnam VN30|1
유로스탁스50|EURO STOXX 50|STOXX|해외|주식|EURO STOXX50|1
미국S&P500헬스케어|S&P 500 Health Care|S&P|해외|주식|US S&P500 Healthcare|1
글로벌리튬&2차전지|Solactive Global Lithium Index|Solactive|해외|주식|Global Lithium & Battery|1
MSCI선진국|MSCI World Index|MSCI|해외|주식|MSCI World|1
한미반도체|iSelect 한미반도체 지수|NH투자증권|국내&해외|주식|Korea US Semicon|2
한미AI빅테크|FnGuide 한미AI빅테크 지수|FnGuide|국내&해외|주식|Korea US AI Big Tech|2
국고채3년|KIS 국고채 3년 지수|KIS자산평가|국내|채권|KTB 3Y|3
국고채10년|KAP 국고채 10년 지수|한국자산평가(KAP)|국내|채권|KTB 10Y|3
국고채30년|KIS 국고채 30년 Enhanced 지수|KIS자산평가|국내|채권|KTB 30Y|2
단기채권|KIS 단기채권 지수|KIS자산평가|국내|채권|Short Term Bond|2
종합채권(AA-이상)|KAP 종합채권 지수(AA-이상)|한국자산평가(KAP)|국내|채권|Aggregate Bond(AA- or higher)|3
회사채(AA-이상)|KIS 크레딧 지수(AA-이상)|KIS자산평가|국내|채권|Corporate Bond(AA- or higher)|2
국채선물3년|국채선물지수|KRX|국내|채권|KTB Futures 3Y|1
미국채10년선물|S&P 10-Year U.S. Treasury Note Futures Index|S&P|해외|채권|US Treasury 10Y Futures|2
미국30년국채|ICE U.S. Treasury 20+ Year Index|ICE|해외|채권|US Treasury 30Y|2
미국투자등급회사채|Bloomberg US Corporate Index|Bloomberg|해외|채권|US IG Corporate Bond|1
CD금리|FnGuide CD금리투자 지수(총수익)|FnGuide|국내|기타|CD Rate|3
KOFR금리|KOFR 지수|한국예탁결제원|국내|기타|KOFR|2
머니마켓|KAP 머니마켓 지수|한국자산평가(KAP)|국내|기타|Money Market|1
골드선물(H)|S&P GSCI Gold Index(TR)|S&P|해외|원자재|Gold Futures(H)|3
KRX금현물|KRX 금현물지수|KRX|국내|원자재|KRX Gold Spot|1
WTI원유선물(H)|S&P GSCI Crude Oil Index Excess Return|S&P|해외|원자재|WTI Futures(H)|2
은선물(H)|S&P GSCI Silver Index(TR)|S&P|해외|원자재|Silver Futures(H)|1
구리실물|Solactive Copper Spot Index|Solactive|해외|원자재|Copper|1
미국달러선물|미국달러선물지수|KRX|국내|통화|USD Futures|3
미국달러단기채권액티브|KAP 달러 단기채권 지수|한국자산평가(KAP)|해외|통화|USD Short Term Bond|1
리츠부동산인프라|FnGuide 리츠부동산인프라 지수|FnGuide|국내|부동산|REITs Real Estate Infra|2
미국MSCI리츠|MSCI US REIT Index|MSCI|해외|부동산|US MSCI REITs|1
글로벌데이터센터리츠|Kelly Data Center & Tech Infrastructure Net Total Return Index|SYNTAX|해외|부동산|Global Data Center REITs|1
TDF2030|KIS TDF 2030 지수|KIS자산평가|국내&해외|혼합자산|TDF2030|1
TDF2050|KIS TDF 2050 지수|KIS자산평가|국내&해외|혼합자산|TDF2050|1
미국나스닥100채권혼합|KEDI 미국나스닥100채권혼합지수|한국경제신문|해외|혼합자산|US NASDAQ100 Bond Mixed|2
미국배당커버드콜채권혼합|KEDI 미국배당커버드콜채권혼합지수|한국경제신문|해외|혼합자산|US Dividend Covered Call Bond Mixed|2
삼성전자채권혼합|FnGuide 삼성전자채권혼합 지수|FnGuide|국내|혼합자산|Samsung Elec Bond Mixed|1""".splitlines()  # noqa: E501 (data rows)
]

# name part | index | provider | region | asset class | English (leveraged/inverse funds)
LEVERAGE_THEMES = [
    row.split("|")
    for row in """200선물|코스피 200 선물지수|KRX|국내|주식|200 Futures
코스닥150선물|코스닥 150 선물지수|KRX|국내|주식|KOSDAQ150 Futures
미국나스닥100|NASDAQ 100|NASDAQ|해외|주식|NASDAQ100
미국S&P500선물|S&P 500 Futures Index(ER)|S&P|해외|주식|S&P500 Futures
2차전지TOP10|iSelect 2차전지 TOP10 지수(PR)|NH투자증권|국내|주식|Secondary Cell TOP10
반도체|KRX 반도체|KRX|국내|주식|Semicon
미국달러선물|미국달러선물지수|KRX|국내|통화|USD Futures
국채선물10년|10년국채선물지수|KRX|국내|채권|KTB Futures 10Y
골드선물|S&P GSCI Gold Index Excess Return|S&P|해외|원자재|Gold Futures
WTI원유선물|S&P GSCI Crude Oil Index Excess Return|S&P|해외|원자재|WTI Futures""".splitlines()
]

# Name modifiers that make a distinct fund (and a distinct variant index) within a theme.
MODIFIERS = {
    "주식": ["", "TOP10", "TR", "(H)", "플러스", "커버드콜", "밸류", "성장", "고배당", "ESG",
             "TOP5", "타겟커버드콜", "모멘텀", "퀄리티", "로우볼", "핵심", "선택", "동일가중"],
    "채권": ["", "(AA-이상)", "TR", "(H)", "플러스", "KIS", "롤링", "듀얼", "만기매칭", "혼합"],
    "기타": ["", "플러스", "TR", "KIS", "듀얼"],
}  # fmt: skip
ENG_MODIFIERS = {"TOP10": "TOP10", "TR": "TR", "(H)": "(H)", "커버드콜": "Covered Call",
                 "고배당": "High Dividend", "타겟커버드콜": "Target Covered Call"}  # fmt: skip

# ticker | ISU_ABBRV | issuer | listing | index | provider | leverage label | replication
#   | region | class | CU | fee | tax | ISU_NM | ISU_ENG_NM
FAMOUS = [
    row.split("|")
    for row in """069500|KODEX 200|삼성자산운용|2002-10-14|코스피 200|KRX|일반|실물(패시브)|국내|주식|50000|0.15|비과세|삼성 KODEX200 증권상장지수투자신탁[주식]|SAMSUNG KODEX200 ETF
102110|TIGER 200|미래에셋자산운용|2008-04-03|코스피 200|KRX|일반|실물(패시브)|국내|주식|50000|0.05|비과세|미래에셋 TIGER 200 증권상장지수투자신탁(주식)|MIRAE ASSET TIGER 200 ETF
105190|ACE 200|한국투자신탁운용|2008-09-25|코스피 200|KRX|일반|실물(패시브)|국내|주식|50000|0.09|비과세|한국투자 ACE 200 증권상장지수투자신탁(주식)|KIM ACE 200 ETF
152100|PLUS 200|한화자산운용|2012-01-10|코스피 200|KRX|일반|실물(패시브)|국내|주식|50000|0.017|비과세|한화 PLUS 200 증권상장지수투자신탁(주식)|HANWHA PLUS 200 ETF[EQUITY]
114800|KODEX 인버스|삼성자산운용|2009-09-16|코스피 200 선물지수|KRX|1X 인버스|실물(패시브)|국내|주식|100000|0.64|배당소득세(보유기간과세)|삼성 KODEX 인버스 증권상장지수투자신탁[주식-파생형]|SAMSUNG KODEX INVERSE ETF
122630|KODEX 레버리지|삼성자산운용|2010-02-22|코스피 200|KRX|2X 레버리지|실물(패시브)|국내|주식|100000|0.64|배당소득세(보유기간과세)|삼성 KODEX 레버리지 증권상장지수투자신탁[주식-파생형]|SAMSUNG KODEX LEVERAGE ETF
252670|KODEX 200선물인버스2X|삼성자산운용|2016-09-22|코스피 200 선물지수|KRX|2X 인버스|실물(패시브)|국내|주식|100000|0.64|배당소득세(보유기간과세)|삼성 KODEX 200선물인버스2X증권상장지수투자신탁[주식-파생형]|SAMSUNG KODEX 200 Futures Inverse 2X ETF
252400|RISE 200선물레버리지|케이비자산운용|2016-09-12|코스피 200 선물지수|KRX|2X 레버리지|실물(패시브)|국내|주식|100000|0.6|배당소득세(보유기간과세)|KB RISE 200선물레버리지증권상장지수투자신탁(주식-파생형)|KB RISE 200 Futures Leverage ETF
252410|RISE 200선물인버스|케이비자산운용|2016-09-12|코스피 200 선물지수|KRX|1X 인버스|실물(패시브)|국내|주식|100000|0.6|배당소득세(보유기간과세)|KB RISE 200선물인버스증권상장지수투자신탁(주식-파생형)|KB RISE 200 Futures Inverse ETF
252420|RISE 200선물인버스2X|케이비자산운용|2016-09-22|코스피 200 선물지수|KRX|2X 인버스|실물(패시브)|국내|주식|100000|0.6|배당소득세(보유기간과세)|KB RISE 200선물인버스2X증권상장지수투자신탁(주식-파생형)|KB RISE 200 Futures Inverse 2X ETF
133690|TIGER 미국나스닥100|미래에셋자산운용|2010-10-18|NASDAQ 100|NASDAQ|일반|실물(패시브)|해외|주식|50000|0.07|배당소득세(보유기간과세)|미래에셋 TIGER 미국나스닥100증권상장지수투자신탁(주식)|MIRAE ASSET TIGER NASDAQ100 ETF
360750|TIGER 미국S&P500|미래에셋자산운용|2020-08-07|S&P 500|S&P|일반|실물(패시브)|해외|주식|50000|0.006|배당소득세(보유기간과세)|미래에셋 TIGER 미국S&P500증권상장지수투자신탁(주식)|MIRAE ASSET TIGER S&P500 ETF
334700|RISE 팔라듐선물인버스(H)|케이비자산운용|2019-09-24|S&P GSCI Palladium Excess Return Index|S&P|1X 인버스|실물(패시브)|해외|원자재|50000|0.6|배당소득세(보유기간과세)|KB RISE 팔라듐선물인버스특별자산상장지수투자신탁(파생형)(H)|KB RISE Palladium futures inverse ETF(H)
375270|RISE 글로벌데이터센터리츠(합성)|케이비자산운용|2021-01-14|Kelly Data Center & Tech Infrastructure Net Total Return Index|SYNTAX|일반|합성(패시브)|해외|부동산|50000|0.4|배당소득세(분리과세부동산ETF)|KB RISE 글로벌데이터센터리츠부동산상장지수투자신탁(파생형)(합성)|KB RISE Global Data Center REITs ETF(SYNTH)
469530|RISE 미국달러선물인버스|케이비자산운용|2023-11-09|미국달러선물지수|KRX|1X 인버스|실물(패시브)|국내|통화|10000|0.05|배당소득세(보유기간과세)|KB RISE 미국달러선물인버스특별자산상장지수투자신탁(미국달러-파생형)|KB RISE USD Futures Inverse ETF
465350|RISE 2차전지TOP10인버스(합성)|케이비자산운용|2023-09-12|iSelect 2차전지 TOP10 지수(PR)|NH투자증권|1X 인버스|합성(패시브)|국내|주식|25000|0.49|배당소득세(보유기간과세)|KB RISE 2차전지TOP10인버스iSelect증권상장지수투자신탁(주식-파생형)(합성)|KB RISE Secondary Cell TOP10 Inverse ETF(SYNTH)
477080|RISE CD금리액티브(합성)|케이비자산운용|2024-03-26|FnGuide CD금리투자 지수(총수익)|FnGuide|일반|합성(액티브)|국내|기타|1000|0.02|배당소득세(보유기간과세)|KB RISE CD금리액티브특별자산상장지수투자신탁(금리-파생형)(합성)|KB RISE CD Rate Active(SYNTH) ETF
479520|RISE KOFR금리액티브(합성)|케이비자산운용|2024-04-30|KOFR 지수|한국예탁결제원|일반|합성(액티브)|국내|기타|1000|0.02|배당소득세(보유기간과세)|KB RISE KOFR금리액티브증권상장지수투자신탁(채권혼합-파생형)(합성)|KB RISE KOFR Active(SYNTH) ETF
495710|BNK 26-06 특수채(AAA이상)액티브|비엔케이자산운용|2024-12-03|KAP 26-06 특수채 총수익 지수(AAA이상)|한국자산평가(KAP)|일반|실물(액티브)|국내|채권|2000|0.1|배당소득세(보유기간과세)|BNK BNK 26-06 특수채(AAA이상)액티브증권상장지수투자신탁(채권)|BNK BNK 26-06 Public Finance Bond(AAA or higher) Active ETF
0000D0|TIGER 엔비디아미국채커버드콜밸런스(합성)|미래에셋자산운용|2024-12-17|KEDI 엔비디아미국채30년타겟커버드콜혼합지수(TR)|한국경제신문|일반|합성(패시브)|해외|혼합자산|50000|0.39|배당소득세(보유기간과세)|미래에셋 TIGER NVDA-UST커버드콜증권상장지수투자신탁(채권혼합-파생재간접형)(합성)|MIRAE ASSET TIGER SYNTH-NVIDIA US Treasury Covered Call Balanced ETF
0013R0|RISE 테슬라미국채타겟커버드콜혼합(합성)|케이비자산운용|2025-02-18|KEDI 테슬라미국30년국채15%타겟프리미엄 혼합지수(TR)|한국경제신문|일반|합성(패시브)|해외|혼합자산|50000|0.25|배당소득세(보유기간과세)|KB RISE TSLA-UST타겟커버드콜증권상장지수투자신탁(채권혼합-파생재간접형)(합성)|KB RISE Tesla UST30Y 15% Target Cvd Call Balanced ETF(SYNTH)
0043Y0|TIMEFOLIO 차이나AI테크액티브|타임폴리오자산운용|2025-05-13|Hang Seng TECH Index|Hang Seng|일반|실물(액티브)|해외|주식|50000|0.8|배당소득세(보유기간과세)|타임폴리오 TIMEFOLIO 차이나AI테크액티브증권상장지수투자신탁(주식)|TIMEFOLIO China AI Tech Active ETF
0069M0|1Q 미국나스닥100|하나자산운용|2025-06-24|NASDAQ 100|NASDAQ|일반|실물(패시브)|해외|주식|100000|0.005|배당소득세(보유기간과세)|하나 1Q 미국나스닥100증권상장지수투자신탁(주식)|Hana 1Q NASDAQ100 ETF
0112X0|마이티 200TR|디비자산운용|2025-10-28|코스피 200 TR|KRX|일반|실물(패시브)|국내|주식|50000|0.05|배당소득세(보유기간과세)|DB 마이티 200 Total Return증권상장지수투자신탁[주식]|DB Mighty 200 Total Return ETF""".splitlines()  # noqa: E501 (verbatim master rows)
]

LEVERAGE_LABELS = {1.0: "일반", 2.0: "2X 레버리지", -1.0: "1X 인버스", -2.0: "2X 인버스"}
# annual index volatility and drift by asset class, and the factor group of each class
CLASS_VOL = {"주식": 0.19, "채권": 0.04, "기타": 0.003, "원자재": 0.22, "통화": 0.08,
             "부동산": 0.16, "혼합자산": 0.08}  # fmt: skip
CLASS_DRIFT = {"주식": 0.07, "채권": 0.03, "기타": 0.03, "원자재": 0.04, "통화": 0.0,
               "부동산": 0.04, "혼합자산": 0.05}  # fmt: skip
CLASS_SHARE = {"주식": 0.725, "채권": 0.148, "혼합자산": 0.058, "기타": 0.024, "원자재": 0.021,
               "부동산": 0.012, "통화": 0.012}  # fmt: skip


def tick_round(x: np.ndarray, how: str = "round") -> np.ndarray:
    """Round prices to the KRX ETF tick: 1 KRW below 2,000 KRW, 5 KRW from 2,000 KRW."""
    op = {"round": np.round, "ceil": np.ceil, "floor": np.floor}[how]
    return np.where(x >= 2000, op(x / 5) * 5, op(x))


def _stable_seed(*parts: object) -> int:
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))




# ---- the universe (static attributes) ------------------------------------------------------

# Survivors at ANCHOR by listing period (real growth: 467 ETFs in 2021-03, 812 in 2024-01,
# 1,066 in 2026-01); the last period (alphanumeric codes) holds ~17 % of them.
_YEAR_WEIGHTS = [4, 2, 2, 3, 3, 4, 8, 10, 14, 16, 18, 18, 20, 24, 30, 40, 50, 55, 80]  # 2002..2020
_PERIODS: list[tuple[date, date, int]] = [
    (date(2002, 10, 14), date(2002, 12, 31), _YEAR_WEIGHTS[0]),
    *((date(2002 + i, 1, 1), date(2002 + i, 12, 31), w)
      for i, w in enumerate(_YEAR_WEIGHTS) if i),
    (date(2021, 1, 1), date(2021, 12, 31), 95),
    (date(2022, 1, 1), date(2022, 12, 31), 105),
    (date(2023, 1, 1), date(2023, 12, 31), 125),
    (date(2024, 1, 1), ALNUM_FROM - timedelta(days=1), 163),
    (ALNUM_FROM, ANCHOR, 182),
]
FIRST_LISTING = date(2002, 10, 14)  # the first four ETFs, KODEX 200 among them
DELISTED_SHARE = 0.03  # delisted between 2023-03 and 2026-10
# Funds closed before 2023 (small funds wound up 1-9 years after listing): the real market
# delisted a few hundred ETFs from 2009 on, so today's master holds only the survivors.
HISTORY_DELISTED_SHARE = 0.28
HISTORY_LIFETIME_YEARS = (1.0, 9.0)
# Target-maturity bond funds: listed 2022-06 … 2025-06, delisted in December of their year.
TARGET_MATURITY_COUNT = 24
TARGET_MATURITY_YEARS = (2024, 2025, 2026, 2027)
NEW_PER_YEAR_SHARE = 0.09


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


def _fund_kind(asset_class: str, factor: float, synthetic: bool) -> str:
    """The trailing legal-form text of ISU_NM."""
    derived = factor != 1.0 or synthetic
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
        return "비과세(분리과세부동산ETF)" if region == "국내" and u < 0.25 else (
            "배당소득세(분리과세부동산ETF)")
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
    survivor = np.array([x.listing <= ANCHOR and (x.delisting or END) > ANCHOR for x in listings])
    counts = np.maximum(_largest_remainder(weights.tolist(), int(survivor.sum())), 1)
    counts[np.argmax(counts)] -= counts.sum() - survivor.sum()
    kept = rng.permutation(np.repeat(np.arange(len(ISSUERS)), counts))
    drawn = rng.choice(len(ISSUERS), int((~survivor).sum()), p=weights / weights.sum())
    sequence = np.empty(len(listings), dtype=np.int64)
    sequence[survivor], sequence[~survivor] = kept, drawn
    return sequence.tolist()


def _draft_funds(
    rng: np.random.Generator, listings: list[_Listing], taken: set[str]
) -> list[_Draft]:
    """Issuer, theme, leverage, replication and a unique display name for each listing."""
    issuers = _issuer_sequence(rng, listings)
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
                name = f"{brand} {theme}{suffix}" + ("(합성)" if synthetic else "")
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
                name = f"{brand} {theme}{mod}" + ("액티브" if active else "") + (
                    "(합성)" if synthetic else "")
                eng = f"{eng} {ENG_MODIFIERS.get(mod, '')}".strip() + (
                    " Active" if active else "")
            if name not in taken:
                break
        else:
            name = f"{name} {len(drafts)}"
        taken.add(name)
        style = "(액티브)" if active_here else "(패시브)"
        replication = ("합성" if synthetic else "실물") + style
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
    target-maturity funds and future listings."""
    seed = seed_calendar()
    cal_start = date.fromisoformat(seed["first_session"])
    sset = frozenset(weekday_sessions(seed, cal_start, END))
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
    old_days = _trading_days(date(2008, 1, 1), date(2022, 12, 31), sset, cal_start)
    for _ in range(round(DELISTED_SHARE * n_etfs)):
        dl = delist_days[rng.integers(len(delist_days))]
        plan.append(_Listing(old_days[rng.integers(len(old_days))], dl))
    history_days = _trading_days(date(2006, 1, 2), date(2021, 12, 30), sset, cal_start)
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
    future = [d for d in sessions if d > ANCHOR]
    years = (sessions[-1] - ANCHOR).days / 365
    plan += [_Listing(future[i]) for i in rng.integers(0, len(future),
                                                       round(NEW_PER_YEAR_SHARE * n_etfs * years))]
    plan.sort(key=lambda x: x.listing)
    return plan


def _build_universe(
    rng: np.random.Generator, n_etfs: int, sessions: tuple[date, ...]
) -> pd.DataFrame:
    """The static table `Market.etfs` (famous funds verbatim, then generated ones)."""
    brands = {r[0]: r[1] for r in ISSUERS}
    fam_dates = [date.fromisoformat(r[3]) for r in FAMOUS]
    plan = _listing_plan(rng, n_etfs, sessions, fam_dates)
    taken = {r[1] for r in FAMOUS}
    drafts = _draft_funds(rng, plan, taken)
    codes = _assign_codes([d.listing for d in drafts], {r[0] for r in FAMOUS}, rng)
    rows: list[dict] = []
    for r in FAMOUS:
        ticker, name, issuer, listing, index, provider, lev, repl, region, aclass = r[:10]
        factor = next(k for k, v in LEVERAGE_LABELS.items() if v == lev)
        rows.append(dict(ticker=ticker, name=name, name_full=r[13], name_eng=r[14],
                         issuer=issuer, brand=brands[issuer], tracking_index=index,
                         index_provider=provider, leverage_label=lev, leverage_factor=factor,
                         replication=repl, market_region=region, asset_class=aclass,
                         listing_date=date.fromisoformat(listing), delisting_date=None,
                         cu_shares=int(r[10]), expense_ratio_pct=float(r[11]),
                         tax_type=r[12]))  # fmt: skip
    cu_choices = np.array([1_000, 2_000, 10_000, 20_000, 25_000, 50_000, 100_000])
    cu_p = np.array([0.03, 0.04, 0.12, 0.06, 0.03, 0.6, 0.12])
    for code, d in zip(codes, drafts, strict=True):
        synthetic = d.replication.startswith("합성")
        body = d.name.removeprefix(d.brand + " ").replace("(합성)", "")
        if d.factor != 1.0:
            fee = float(rng.choice([0.45, 0.5, 0.6, 0.64]))
        else:
            fee = float(np.clip(np.exp(rng.normal(np.log(0.22), 0.9)), 0.0099, 0.99))
            fee = round(fee, 4 if fee < 0.1 else 3)
        kind = _fund_kind(d.asset_class, d.factor, synthetic)
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
    etfs = pd.DataFrame(rows)
    etfs.insert(1, "isin", [etf_isin(t) for t in etfs["ticker"]])
    _add_former_names(etfs)
    _pad_index_names(rng, etfs)
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


PADDED_INDEX_SHARE = 0.01  # funds whose index name KRX sends as "…(Price Return)\t\t\t"


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
            etfs.loc[etfs["tracking_index"] == name, "tracking_index"] = (
                f"{name}(Price Return)\t\t\t")
            budget -= size


# ---- the paths ------------------------------------------------------------------------------

# Levels on 2002-10-11, the session before the first ETFs listed (코스닥 150 starts at its base).
_INDEX_LEVEL0 = {"코스피 200": 85.0, "코스피 200 선물지수": 430.0, "코스피 200 TR": 590.0,
                 "NASDAQ 100": 880.0, "S&P 500": 835.0, "코스닥 150": 1_000.0}  # fmt: skip
_FACTOR_GROUP = {"주식": 0, "채권": 2, "기타": 2, "원자재": 3, "통화": 3, "부동산": 4,
                 "혼합자산": 4}  # fmt: skip
_FAMOUS_AUM = {"069500": 6.5e12, "102110": 2.1e12, "105190": 0.43e12, "152100": 0.64e12,
               "122630": 2.0e12, "114800": 0.6e12, "252670": 1.5e12, "360750": 5.0e12}


def _index_paths(
    rng: np.random.Generator, etfs: pd.DataFrame, n_rows: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """GBM levels [row, index] of every distinct index (correlated through factor groups)."""
    names = list(dict.fromkeys(etfs["tracking_index"]))
    first = etfs.drop_duplicates("tracking_index").set_index("tracking_index")
    aclass = first.loc[names, "asset_class"].to_numpy()
    region = first.loc[names, "market_region"].to_numpy()
    k = len(names)
    vol = np.array([CLASS_VOL[c] for c in aclass]) * rng.uniform(0.8, 1.4, k)
    mu = np.array([CLASS_DRIFT[c] for c in aclass])
    group = np.array([_FACTOR_GROUP[c] + (1 if c == "주식" and r != "국내" else 0)
                      for c, r in zip(aclass, region, strict=True)])  # fmt: skip
    rho = np.where(group <= 1, 0.8, 0.6)
    factors = rng.standard_normal((n_rows, 5))
    z = rng.standard_normal((n_rows, k))
    r = mu / ANNUAL + vol / np.sqrt(ANNUAL) * (rho * factors[:, group] + np.sqrt(1 - rho**2) * z)
    pos = {n: i for i, n in enumerate(names)}
    if "코스피 200" in pos and "코스피 200 선물지수" in pos:  # futures follow the spot index
        r[:, pos["코스피 200 선물지수"]] = r[:, pos["코스피 200"]] + rng.normal(0, 2e-4, n_rows)
    r[0] = 0.0
    level0 = np.where(
        np.isin(aclass, ["채권", "기타"]),
        rng.uniform(100, 300, k),
        np.exp(rng.uniform(np.log(300), np.log(5000), k)),
    )
    for n, lv in _INDEX_LEVEL0.items():
        if n in pos:
            level0[pos[n]] = lv
    levels = level0 * np.cumprod(1 + r, axis=0)
    return levels, r, names


# The real market's shapes, at the real rates (Open API 2024-01-04 had 812 rows: 14 with index
# fields "0.00", 26 with "-"; days with net assets ≠ NAV × listed shares on 19-27 % of rows).
ZERO_INDEX_SHARE = (0.015, 0.02)  # funds whose index level KRX publishes as "0.00"
DASH_INDEX_SHARE = (0.03, 0.034)  # funds whose index fields are "-" on both services
SETTLEMENT_LAG_P = {1: 0.25, 2: 0.75}  # sessions between a listed-share change and net assets
FLOW_DAY_P = 0.2  # chance of a creation/redemption on a session
LUMP_CREATION_P = 0.0005  # chance of a creation of 1-3× the first units (net assets −50…−85 %)
SPIKES_PER_SESSION = 0.1  # illiquid funds closing 8-25 % away from NAV (one-session outliers)
SUSPENDED_CLOSE, SUSPENDED_NAV = 9_590, 44.20  # 265690 on 2024-01-04: +21,597 % premium
SUSPENSION_DAY = date(2022, 3, 2)  # trading in Russian-equity ETFs stopped in March 2022
# Tickers the tests elsewhere use through `special`, kept on published indices.
_PUBLISHED_TICKERS = ("069500", "122630", "114800", "252670", "0000D0")


def _live_at_anchor(etfs: pd.DataFrame) -> np.ndarray:
    gone = etfs["delisting_date"].map(lambda d: d is not None and not pd.isna(d) and d <= ANCHOR)
    return ((etfs["listing_date"] <= ANCHOR) & ~gone.astype(bool)).to_numpy()


def _plain(etfs: pd.DataFrame) -> pd.Series:
    """Generated funds listed before 2022 and never delisted: free for a special role."""
    return (
        ~etfs["ticker"].isin({r[0] for r in FAMOUS})
        & etfs["delisting_date"].isna()
        & (etfs["listing_date"] < date(2022, 1, 1))
    )


def _choose_unindexed(rng: np.random.Generator, etfs: pd.DataFrame, suspended: bool) -> int:
    """A plain fund on one of the least-tracked non-KRX indices, to have its index unpublished:
    the `no_index` special, or (suspended=True) a foreign equity fund listed before 2020 that
    stopped trading before START and whose NAV collapsed, like 265690."""
    pool = etfs[_plain(etfs) & (etfs["index_provider"] != "KRX")
                & (etfs["leverage_factor"] == 1.0)]  # fmt: skip
    if suspended:
        pool = pool[(pool["market_region"] == "해외") & (pool["asset_class"] == "주식")
                    & (pool["listing_date"] < date(2020, 1, 1))]  # fmt: skip
    size = pool["tracking_index"].map(etfs["tracking_index"].value_counts())
    pool = pool[size == size.min()]
    return int(pool.index[rng.integers(len(pool))])


def _pick_indices(
    rng: np.random.Generator, sizes: pd.Series, pool: list[str], share: tuple[float, float],
    forced: tuple[str, ...] = (),
) -> set[str]:  # fmt: skip
    """Indices from `pool` (random order) until their funds at ANCHOR reach `share`."""
    low, high = (round(s * sizes.sum()) for s in share)
    chosen, count = set(forced), int(sizes.reindex(list(forced)).fillna(0).sum())
    for index in rng.permutation(sorted(pool)):
        if count >= low:
            break
        if count + sizes[index] <= high:
            chosen.add(index)
            count += int(sizes[index])
    return chosen


def _index_publication(
    rng: np.random.Generator, etfs: pd.DataFrame, unindexed: tuple[int, ...]
) -> np.ndarray:
    """Per ETF "published", "zero" or "dash", decided per index and kept on every day, so every
    fund on one index shows the same.

    "zero": KRX does not publish the level (S&P futures and commodity indices, e.g. 132030,
    219480, 138910 on 2024-01-04): the Open API sends "0.00" in all three index fields, the data
    service "-". "dash": "-" on both (e.g. WISE, FnGuide, MSCI Russia indices), among them the
    indices of the `unindexed` funds.
    """
    live = _live_at_anchor(etfs)
    sizes = etfs.loc[live, "tracking_index"].value_counts()
    first = etfs.drop_duplicates("tracking_index").set_index("tracking_index")
    protected = set(etfs.loc[etfs["ticker"].isin(_PUBLISHED_TICKERS), "tracking_index"])
    forced = tuple(dict.fromkeys(etfs.loc[list(unindexed), "tracking_index"]))
    protected -= set(forced)
    free = [f for f in sizes.index if f not in protected]
    zero_pool = [f for f in free if first.at[f, "index_provider"] == "S&P" and (
        first.at[f, "asset_class"] == "원자재" or "Futures" in f or "GSCI" in f)]  # fmt: skip
    zero = _pick_indices(rng, sizes, zero_pool, ZERO_INDEX_SHARE)
    zero -= set(forced)
    dash_pool = [f for f in free if f not in zero and first.at[f, "index_provider"] != "KRX"]
    dash = _pick_indices(rng, sizes, dash_pool, DASH_INDEX_SHARE, forced)
    index = etfs["tracking_index"]
    return np.where(index.isin(zero), "zero", np.where(index.isin(dash), "dash", "published"))


def _choose_specials(
    etfs: pd.DataFrame, sessions: tuple[date, ...], index_status: np.ndarray, no_index: int,
    suspended: int,
) -> dict[str, str]:  # fmt: skip
    """Pick (and where needed adjust) the funds whose ground truth tests rely on."""
    famous = {r[0] for r in FAMOUS}
    published = index_status == "published"
    plain = etfs[_plain(etfs) & published]
    te_fund = plain[
        (plain["leverage_factor"] == 1.0)
        & (plain["asset_class"] == "주식")
        & (plain["market_region"] == "국내")
    ].iloc[0]["ticker"]
    anchor_row = bisect.bisect_right(sessions, ANCHOR) - 1
    new_day = sessions[anchor_row - 100]
    recent = etfs[
        ~etfs["ticker"].isin(famous)
        & published
        & (etfs["listing_date"] >= ALNUM_FROM)
        & (etfs["listing_date"] <= ANCHOR)
    ]
    gap = recent["listing_date"].map(lambda d: abs((d - new_day).days))
    new_fund = recent.loc[gap.idxmin(), "ticker"]
    etfs.loc[etfs["ticker"] == new_fund, "listing_date"] = new_day
    others = plain[~plain["ticker"].isin([te_fund])]
    payers = others[(others["leverage_factor"] == 1.0) & (others["asset_class"] == "주식")
                    & (others.index != others.index[1])]  # fmt: skip
    dividend = payers["name"].str.contains("배당|커버드콜|인컴")
    monthly_payer = (payers[dividend] if dividend.any() else payers).iloc[0]["ticker"]
    return {
        "monthly_payer": monthly_payer,
        "te_0_5": te_fund,
        "leveraged_2x": "122630",
        "inverse_1x": "114800",
        "inverse_2x": "252670",
        "new_listing": new_fund,
        "no_trade_day": others.iloc[1]["ticker"],
        "delisted": etfs[etfs["delisting_date"].notna()].iloc[0]["ticker"],
        "no_index": etfs.at[no_index, "ticker"],
        "kodex200": "069500",
        "alnum": "0000D0",
        "suspended": etfs.at[suspended, "ticker"],
    }


def _rows_of(dates: pd.Series, sessions: tuple[date, ...], missing: int) -> np.ndarray:
    """Path row (1-based session position) of each date on or after it; `missing` for None."""
    return np.array(
        [missing if d is None or pd.isna(d) else bisect.bisect_left(sessions, d) + 1
         for d in dates],
        dtype=np.int64,
    )  # fmt: skip


def _units_path(units0: np.ndarray, flows: np.ndarray) -> np.ndarray:
    """Creation units outstanding per row: a session redeems at most a third of them (so an
    unsettled redemption leaves net assets at most about twice NAV × listed shares, as the
    real +103 %), and at least one unit stays."""
    units = np.empty_like(flows)
    held = units0.copy()
    for t, flow in enumerate(flows):
        held = np.maximum(held + np.maximum(flow, -(held // 3)), 1)
        units[t] = held
    return units


def _premium_spikes(
    rng: np.random.Generator, eligible: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    anchor_row: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(rows, ETF positions, premium %) of one-session closes far from NAV on thin trading.

    The first event is on ANCHOR, so the shape shows on the reference session.
    """
    pool = np.flatnonzero(eligible & (first_idx < anchor_row) & (end_idx > anchor_row))
    n_events = round(SPIKES_PER_SESSION * (int(end_idx.max()) - 1))
    anchor_fund = pool[rng.integers(len(pool))]
    cols = pool[rng.integers(len(pool), size=n_events)]
    lo, hi = first_idx[cols] + 1, end_idx[cols]
    rows = lo + (rng.random(n_events) * (hi - lo)).astype(np.int64)
    sign = np.where(rng.random(n_events + 1) < 0.7, 1.0, -1.0)
    sign[0] = 1.0
    premium = np.round(sign * rng.uniform(8, 25, n_events + 1), 2)
    return np.r_[anchor_row, rows], np.r_[anchor_fund, cols], premium


# ---- distributions (분배금) ---------------------------------------------------------------------

# What funds pay, per year as % of NAV, by what they hold (2025-26: ~1,000 of 1,070 paid within
# 12 months; covered-call, dividend and bond-mixed funds monthly; domestic equity quarterly;
# derivative funds a small year-end payout or nothing).
PAYOUT_RECORD_MONTHS = {
    "monthly": tuple(range(1, 13)), "quarterly": (1, 4, 7, 10), "semiannual": (4, 10),
    "annual": (12,), "none": (),
}  # fmt: skip
MID_MONTH_SHARE = 0.25  # monthly payers with a record date on the 15th (49 of 193 in 2026-08)
SPECIAL_PAYOUT_SHARE = 0.003  # payouts SEIBro lists with another reason (특별분배)
MONTHLY_PAYER_TE_PCT = 0.3
MONTHLY_PAYER_YIELD_PCT = 9.0
FIRST_PAYOUT_AFTER_SESSIONS = 20  # a fund pays only after its first month


def _payout_policy(
    rng: np.random.Generator, etfs: pd.DataFrame, specials: dict[str, int]
) -> pd.DataFrame:
    """Per fund: frequency, yearly yield in % of NAV, and whether record dates fall mid-month.

    The specials pay nothing (their ground truth predates payouts), except `monthly_payer`.
    """
    frequency, yield_pct = [], []
    for etf in etfs.itertuples(index=False):
        u, name = rng.random(), etf.name
        derived = etf.leverage_factor != 1.0 or etf.replication.startswith("합성")
        if "-12 " in name and etf.asset_class == "채권":  # target maturity
            policy = ("annual", rng.uniform(3.0, 4.0))
        elif etf.basket == "covered_call" or "커버드콜" in name:
            policy = ("monthly", rng.uniform(8.0, 13.0))
        elif "배당" in name or "인컴" in name or etf.asset_class == "부동산":
            policy = ("monthly", rng.uniform(3.0, 6.5))
        elif derived or etf.asset_class in ("원자재", "통화"):
            policy = ("annual", rng.uniform(0.05, 0.8)) if u < 0.8 else ("none", 0.0)
        elif etf.asset_class == "혼합자산":
            policy = ("monthly", rng.uniform(3.0, 6.0))
        elif etf.asset_class == "주식" and etf.market_region == "국내":
            policy = ("quarterly", rng.uniform(0.8, 2.5)) if u < 0.9 else (
                "semiannual", rng.uniform(0.8, 2.0))
        elif etf.asset_class == "주식":
            policy = (("quarterly", rng.uniform(0.4, 1.5)) if u < 0.5 else
                      ("annual", rng.uniform(0.2, 1.0)) if u < 0.8 else
                      ("monthly", rng.uniform(1.0, 3.0)))  # fmt: skip
        elif etf.asset_class == "채권":
            policy = ("monthly", rng.uniform(2.5, 4.0)) if u < 0.45 else (
                "annual", rng.uniform(2.5, 4.0))
        else:  # 기타: money-market and rate funds mostly accumulate
            policy = ("annual", rng.uniform(2.0, 3.5)) if u < 0.4 else ("none", 0.0)
        frequency.append(policy[0])
        yield_pct.append(policy[1])
    out = pd.DataFrame({"frequency": frequency, "yield_pct": yield_pct})
    out["mid_month"] = (out["frequency"] == "monthly") & (rng.random(len(out)) < MID_MONTH_SHARE)
    for key, e in specials.items():
        out.loc[e, ["frequency", "yield_pct", "mid_month"]] = (
            ("monthly", MONTHLY_PAYER_YIELD_PCT, False) if key == "monthly_payer"
            else ("none", 0.0, False))  # fmt: skip
    return out


def _record_rows(
    sessions: tuple[date, ...], months: tuple[int, ...], mid_month: bool
) -> np.ndarray:
    """Path rows of the record dates: each listed month's last session, or its first session on
    or after the 15th."""
    first, last = sessions[0], sessions[-1]
    rows = []
    for year in range(first.year, last.year + 1):
        for month in months:
            if mid_month:
                i = bisect.bisect_left(sessions, date(year, month, 15))
            else:
                nxt = date(year + month // 12, month % 12 + 1, 1)
                i = bisect.bisect_left(sessions, nxt) - 1
            if 0 <= i < len(sessions) and (sessions[i].year, sessions[i].month) == (year, month):
                rows.append(i + 1)
    return np.array(rows, dtype=np.int64)


def _payouts(
    rng: np.random.Generator, etfs: pd.DataFrame, sessions: tuple[date, ...],
    nav_before_payouts: np.ndarray, first_idx: np.ndarray, end_idx: np.ndarray,
    policy: pd.DataFrame,
) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """Every payout and the factor [row, etf] that takes the payouts out of the NAV path.

    An income payout is a whole number of KRW, yield / payouts a year × the NAV of its ex-date
    (the session before the record date) before the payout; the NAV falls by exactly that on
    the ex-date. A delisted fund pays its whole last NAV per share as a liquidation
    (청산분배, with decimals), recorded on its delisting day; it moves no NAV.
    """
    t_rows, n = nav_before_payouts.shape
    last_row = len(sessions)
    step = np.ones((t_rows, n))
    events: list[tuple[int, int, int, float, str]] = []  # etf, ex row, record row, amount, reason
    record_rows = {
        (months, mid): _record_rows(sessions, months, mid)
        for months in PAYOUT_RECORD_MONTHS.values() if months for mid in (False, True)
    }  # fmt: skip
    for e, (freq, yield_pct, mid) in enumerate(policy.itertuples(index=False)):
        months = PAYOUT_RECORD_MONTHS[freq]
        if not months:
            continue
        rec = record_rows[(months, bool(mid))]
        rec = rec[(rec > first_idx[e] + FIRST_PAYOUT_AFTER_SESSIONS) & (rec < end_idx[e])
                  & (rec <= last_row - 3)]  # fmt: skip
        kept = 1.0
        for r in rec:
            before = nav_before_payouts[r - 1, e] * kept
            amount = round(yield_pct / 100 / len(months) * before)
            if amount < 1:
                continue
            step[r - 1, e] = 1 - amount / before
            kept *= step[r - 1, e]
            special = rng.random() < SPECIAL_PAYOUT_SHARE
            events.append((e, r - 1, r, float(amount), "특별분배" if special else "이익분배"))
    after_payouts = np.cumprod(step, axis=0)
    for e in np.flatnonzero(end_idx <= last_row):
        last_nav = nav_before_payouts[end_idx[e] - 1, e] * after_payouts[end_idx[e] - 1, e]
        amount = float(last_nav * rng.uniform(0.997, 1.0))  # less the costs of winding up
        events.append((int(e), int(end_idx[e]) - 1, int(end_idx[e]), amount, "청산분배"))
    frame = pd.DataFrame(events, columns=["etf", "ex_row", "record_row", "amount_krw", "reason"])
    frame["pay_row"] = np.minimum(frame["record_row"] + rng.integers(1, 4, len(frame)), last_row)
    before = nav_before_payouts[frame["ex_row"], frame["etf"]] * after_payouts[
        frame["ex_row"] - 1, frame["etf"]]  # fmt: skip
    frame["tax_base_price"] = np.round(before * rng.uniform(0.93, 1.0, len(frame)), 2)
    frame = frame.sort_values(["record_row", "etf"], ignore_index=True)
    return frame, after_payouts


def _seibro_category(etfs: pd.DataFrame) -> np.ndarray:
    """SEIBro's ETF_SORT_NM for each fund."""
    derived = (etfs["leverage_factor"] != 1.0) | etfs["replication"].str.startswith("합성") | (
        etfs["asset_class"].isin(["원자재", "통화"]))  # fmt: skip
    stock = etfs["asset_class"] == "주식"
    return np.select(
        [derived, etfs["asset_class"] == "채권", stock & (etfs["market_region"] == "국내"), stock],
        ["파생상품", "채권", "국내주식", "해외주식"],
        "기타",
    )


def build_market(seed: int, n_etfs: int, sessions: tuple[date, ...]) -> Market:
    """Generate the universe, the index/NAV/price paths and the ground truth."""
    rng = np.random.default_rng(seed)
    etfs = _build_universe(rng, n_etfs, sessions)
    suspended = _choose_unindexed(rng, etfs, suspended=True)
    etfs.loc[suspended, "expense_ratio_pct"] = 0.0  # 265690's master shows 0.000000
    no_index = _choose_unindexed(rng, etfs.drop(index=suspended), suspended=False)
    index_status = _index_publication(rng, etfs, (suspended, no_index))
    special = _choose_specials(etfs, sessions, index_status, no_index, suspended)
    etfs["basket"] = [basket_type(r) for r in etfs.itertuples(index=False)]
    n, t_rows = len(etfs), len(sessions) + 1
    pos = {t: i for i, t in enumerate(etfs["ticker"])}
    sp = {k: pos[v] for k, v in special.items()}

    levels, idx_r, names = _index_paths(rng, etfs, t_rows)
    k_of = np.array([names.index(x) for x in etfs["tracking_index"]])
    factor = etfs["leverage_factor"].to_numpy(dtype=float)
    fee = etfs["expense_ratio_pct"].to_numpy(dtype=float)
    aclass = etfs["asset_class"].to_numpy()
    region = etfs["market_region"].to_numpy()
    domestic_eq = (aclass == "주식") & (region == "국내")

    # per-ETF parameters, then the ground-truth overrides
    te = np.clip(np.exp(rng.normal(np.log(0.3), 0.8, n)), 0.05, 2.0)
    te[etfs["replication"].str.contains("액티브").to_numpy()] *= 2.0
    te = np.clip(te, 0.05, 2.0)
    prem_mu = rng.normal(0.0, 0.05, n) + np.where(domestic_eq, 0.0, rng.normal(0.05, 0.15, n))
    prem_sd = np.where(domestic_eq, rng.uniform(0.03, 0.12, n), rng.uniform(0.08, 0.4, n))
    liquidity = np.exp(rng.normal(np.log(15_000), 2.0, n))
    illiquid = liquidity < np.quantile(liquidity, 0.3)
    p_no_trade = np.where(illiquid, rng.uniform(0.002, 0.04, n), 0)
    for key, e in sp.items():
        if key not in ("no_trade_day", "no_index", "delisted"):
            p_no_trade[e] = 0.0
    te[sp["te_0_5"]], prem_mu[sp["te_0_5"]], prem_sd[sp["te_0_5"]] = 0.5, 0.3, 0.0
    te[sp["monthly_payer"]] = MONTHLY_PAYER_TE_PCT
    for key, value in (("leveraged_2x", 0.8), ("inverse_1x", 0.6), ("inverse_2x", 1.1)):
        te[sp[key]] = value
    p_no_trade[sp["no_trade_day"]] = 0.01
    for key in ("te_0_5", "monthly_payer"):  # keep 2-dp index rounding negligible
        if levels[0, k_of[sp[key]]] < 1000:
            levels[:, k_of[sp[key]]] *= 1000 / levels[0, k_of[sp[key]]]

    first_idx = _rows_of(etfs["listing_date"], sessions, 1)
    end_idx = _rows_of(etfs["delisting_date"], sessions, t_rows)
    anchor_session = bisect.bisect_right(sessions, ANCHOR)
    cols = np.arange(n)

    # NAV before payouts: NAV_t = NAV_{t-1} × (1 + L r_t − fee/250/100 + eps_t), from the base
    # NAV on the row before listing (KOSPI 200 funds at 100 × the index, like KODEX 200)
    eps = rng.standard_normal((t_rows, n)) * (te / 100 / np.sqrt(ANNUAL))
    growth = 1 + factor * idx_r[:, k_of] - fee / 100 / ANNUAL + eps
    growth[0] = 1.0
    cum = np.cumprod(np.maximum(growth, 0.05), axis=0)
    bondish = np.isin(aclass, ["채권", "기타"])
    base_nav = np.where(bondish & (rng.random(n) < 0.5), 100_000.0, 10_000.0)
    kospi200 = ((etfs["tracking_index"] == "코스피 200").to_numpy() & (factor == 1.0))
    base_nav[kospi200] = np.round(levels[first_idx[kospi200] - 1, k_of[kospi200]] * 100, -1)
    es = sp["suspended"]  # traded until SUSPENSION_DAY, then its assets were written off
    suspended_row = bisect.bisect_left(sessions, SUSPENSION_DAY) + 1
    base_nav[es] = SUSPENDED_CLOSE * cum[first_idx[es] - 1, es] / cum[suspended_row - 1, es]
    nav_before_payouts = base_nav * cum / cum[first_idx - 1, cols]
    nav_before_payouts[suspended_row:, es] = (
        SUSPENDED_NAV * cum[suspended_row:, es] / cum[anchor_session, es])

    # payouts: the NAV falls by each one on its ex-date, NAV_t = NAV_{t-1} × g_t − D_t
    policy = _payout_policy(rng, etfs, sp)
    payouts, after_payouts = _payouts(rng, etfs, sessions, nav_before_payouts, first_idx,
                                      end_idx, policy)  # fmt: skip
    nav = np.round(nav_before_payouts * after_payouts, 2)
    etfs["payout_frequency"] = policy["frequency"].to_numpy()

    # close = NAV × (1 + premium), KRX tick; no-trade days carry the previous close
    prem = prem_mu + prem_sd * rng.standard_normal((t_rows, n))
    eligible = illiquid & ~np.isin(np.arange(n), list(sp.values()))
    eligible &= ~etfs["ticker"].isin({r[0] for r in FAMOUS}).to_numpy()
    spike_rows, spike_cols, spike_pct = _premium_spikes(rng, eligible, first_idx, end_idx,
                                                        anchor_session)  # fmt: skip
    prem[spike_rows, spike_cols] = spike_pct
    close = tick_round(nav * (1 + prem / 100))
    e5 = sp["te_0_5"]
    close[:, e5] = np.round(nav[:, e5] * 1.003)
    rows = np.arange(t_rows)[:, None]
    no_trade = rng.random((t_rows, n)) < p_no_trade
    no_trade &= rows > first_idx
    no_trade[spike_rows, spike_cols] = False
    ntd_row = anchor_session - 36
    no_trade[ntd_row, sp["no_trade_day"]] = True
    no_trade[suspended_row:, es] = True
    close[suspended_row - 1, es] = SUSPENDED_CLOSE
    close = pd.DataFrame(np.where(no_trade, np.nan, close)).ffill().fillna(0).to_numpy()
    base_price = tick_round(base_nav).astype(np.int64)
    prev_close = np.vstack([close[:1], close[:-1]])
    prev_close = np.where(rows == first_idx, base_price, prev_close)

    dv = np.maximum(np.abs(factor) * np.array([CLASS_VOL[c] for c in aclass]) / 16, 0.002)
    opn = tick_round(prev_close * (1 + rng.normal(0, 0.35, (t_rows, n)) * dv))
    spread = np.abs(rng.normal(0, 0.5, (2, t_rows, n))) * dv
    high = np.maximum(tick_round(np.maximum(opn, close) * (1 + spread[0]), "ceil"),
                      np.maximum(opn, close))  # fmt: skip
    low = np.maximum(np.minimum(tick_round(np.minimum(opn, close) * (1 - spread[1]), "floor"),
                                np.minimum(opn, close)), 1)  # fmt: skip
    opn, high, low = (np.where(no_trade, 0, a).astype(np.int32) for a in (opn, high, low))
    volume = np.where(no_trade, 0, np.maximum(
        np.round(liquidity * np.exp(rng.normal(0, 0.7, (t_rows, n)))), 1)).astype(np.int64)
    traded_value = np.round(volume * (opn + high + low + close) / 4).astype(np.int64)

    # listed shares: creations/redemptions in CU multiples; net assets follow after settlement
    cu = etfs["cu_shares"].to_numpy(dtype=np.int64)
    aum = np.exp(rng.normal(np.log(1.2e10), 1.5, n))
    ref_nav = nav[first_idx, cols]
    for ticker, v in _FAMOUS_AUM.items():  # their real size at ANCHOR, from the first units
        e = pos[ticker]
        aum[e], ref_nav[e] = v, nav[anchor_session, e]
    units0 = np.maximum(np.round(aum / ref_nav / cu), 2).astype(np.int64)
    flow_scale = np.maximum(units0 * 0.01, 1.0)
    flows = np.round(rng.normal(0.05, 1.0, (t_rows, n)) * flow_scale).astype(np.int64)
    lump = rng.random((t_rows, n)) < LUMP_CREATION_P  # an LP seeding a small fund at once
    flows[lump] = np.round(units0 * rng.uniform(1, 3, (t_rows, n)))[lump]
    flows *= (rng.random((t_rows, n)) < FLOW_DAY_P) & (rows > np.maximum(first_idx, 1))
    flows[:, es] = 0
    shares = _units_path(units0, flows) * cu
    lags = np.array(list(SETTLEMENT_LAG_P))
    lag = rng.choice(lags, n, p=list(SETTLEMENT_LAG_P.values()))
    settled = shares[np.maximum(rows - lag, 0), np.arange(n)]
    net_assets = np.round(nav * settled).astype(np.int64)

    index_level = np.round(levels[:, k_of], 2)
    index_level[:, index_status != "published"] = np.nan
    now_row = np.clip(np.minimum(np.maximum(first_idx, anchor_session), end_idx - 1), 0, t_rows - 1)
    etfs["listed_shares_now"] = shares[now_row, np.arange(n)]
    spikes = pd.DataFrame({
        "ticker": etfs["ticker"].to_numpy()[spike_cols],
        "date": [sessions[r - 1] for r in spike_rows],
        "premium_pct": spike_pct,
    }).drop_duplicates(["ticker", "date"]).sort_values(["date", "ticker"], ignore_index=True)

    market = Market(
        seed=seed, sessions=sessions, etfs=etfs, special=special, ground_truth={},
        first_idx=first_idx, end_idx=end_idx, opn=opn, high=high, low=low,
        close=close.astype(np.int32), nav=nav, volume=volume, traded_value=traded_value,
        shares=shares, net_assets=net_assets, settlement_lag=lag, index_level=index_level,
        index_status=index_status, index_paths=levels, index_of=k_of, premium_spikes=spikes,
        base_price=base_price, base_nav=base_nav, payouts=payouts,
        name_order=np.argsort(etfs["name"].to_numpy(dtype=object), kind="stable"),
        pools=_build_pools(np.random.default_rng(seed + 1), sessions),
    )  # fmt: skip
    market.ground_truth = _ground_truth(market, te, prem_mu, prem_sd, no_trade)
    return market


def _ground_truth(
    m: Market, te: np.ndarray, mu: np.ndarray, sd: np.ndarray, no_trade: np.ndarray
) -> dict[str, dict]:
    """What the specials were built with, keyed by ticker (tests compare against it)."""
    truth: dict[str, dict] = {}
    anchor_row = bisect.bisect_right(m.sessions, ANCHOR)
    year_ago = bisect.bisect_left(m.sessions, ANCHOR - timedelta(days=365)) + 1
    for key, ticker in m.special.items():
        e = m.position(ticker)
        row = m.etfs.loc[e]
        info: dict = {
            "special": key,
            "leverage_factor": float(row["leverage_factor"]),
            "tracking_error_pct": float(te[e]),
            "premium_mean_pct": float(mu[e]),
            "premium_sd_pct": float(sd[e]),
            "listing_date": row["listing_date"],
            "delisting_date": row["delisting_date"],
            "has_index": not np.isnan(m.index_level[anchor_row, e]),
            "anchor": ANCHOR,
        }
        if key == "te_0_5":
            info.update(premium_pct=0.3, close_tick_krw=1, note=(
                "eps ~ N(0, 0.5/sqrt(250) %) per day; close = round(nav_2dp * 1.003) to 1 KRW, "
                "so (close - nav)/nav*100 from the wire is 0.3 within 0.5/nav*100; never a "
                "no-trade day"))  # fmt: skip
        if key == "new_listing":
            info["sessions_listed_before_anchor"] = anchor_row - int(m.first_idx[e])
        if key == "no_trade_day":
            days = np.flatnonzero(no_trade[year_ago : anchor_row + 1, e]) + year_ago
            info["no_trade_dates"] = [m.sessions[r - 1] for r in days]
        if key == "delisted":
            info["last_trade_date"] = m.sessions[int(m.end_idx[e]) - 2]
        if key == "suspended":
            close, nav = int(m.close[anchor_row, e]), float(m.nav[anchor_row, e])
            info.update(close=close, nav=nav, premium_pct=(close - nav) / nav * 100,
                        suspended_since=SUSPENSION_DAY, note=(
                "no trade since SUSPENSION_DAY (O/H/L and volume 0, close carried at 9,590), "
                "NAV a few dozen KRW, fee 0, index fields '-'"))  # fmt: skip
        if key == "monthly_payer":
            info.update(payout_frequency="monthly", yield_pct=MONTHLY_PAYER_YIELD_PCT)
        truth[ticker] = info
    return truth


# ---- the market object ----------------------------------------------------------------------


@dataclass
class Market:
    """The generated market; path arrays are indexed [row, etf], row = session position + 1.

    Row 0 is the hidden session before START, so START has a previous close and index level.
    Public methods only expose START..END sessions.
    """

    seed: int
    sessions: tuple[date, ...]
    etfs: pd.DataFrame
    special: dict[str, str]
    ground_truth: dict[str, dict]
    first_idx: np.ndarray  # row of each ETF's first public day (listing day, or 1)
    end_idx: np.ndarray  # first row no longer listed (delisting day), or len(sessions) + 1
    opn: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    nav: np.ndarray
    volume: np.ndarray
    traded_value: np.ndarray
    shares: np.ndarray
    net_assets: np.ndarray  # KRX's 순자산총액: NAV × the listed shares of `settlement_lag` ago
    settlement_lag: np.ndarray  # sessions until a creation/redemption reaches net assets
    index_level: np.ndarray  # published index level (2 dp) per ETF, NaN where not published
    index_status: np.ndarray  # per ETF: "published", "zero" (Open API 0.00) or "dash" ("-")
    index_paths: np.ndarray  # true levels [row, index] (also of unpublished indices)
    index_of: np.ndarray  # column of index_paths each ETF tracks
    premium_spikes: pd.DataFrame  # ticker, date, premium_pct of one-session outlier closes
    base_price: np.ndarray  # 기준가 on the listing day (tick-rounded base NAV)
    base_nav: np.ndarray
    payouts: pd.DataFrame  # etf, ex_row, record_row, pay_row, amount_krw, reason, tax_base_price
    name_order: np.ndarray  # ETF positions sorted by display name: KRX's row order
    pools: dict[str, tuple[pd.DataFrame, np.ndarray]]  # instruments, weekly prices
    _pos: dict[str, int] = field(default_factory=dict, repr=False)
    _row: dict[date, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._pos = {t: i for i, t in enumerate(self.etfs["ticker"])}
        self._row = {d: i + 1 for i, d in enumerate(self.sessions)}
        self._listing_ord = np.array([d.toordinal() for d in self.etfs["listing_date"]])
        self._delisting_ord = np.array(
            [np.iinfo(np.int64).max if d is None or pd.isna(d) else d.toordinal()
             for d in self.etfs["delisting_date"]]
        )  # fmt: skip
        renamed = self.etfs["renamed_on"]
        self._renamed_ord = np.array(
            [0 if d is None or pd.isna(d) else d.toordinal() for d in renamed]
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Market(seed={self.seed}, etfs={len(self.etfs)}, sessions={len(self.sessions)})"

    def position(self, ticker: str) -> int | None:
        return self._pos.get(ticker)

    def session_row(self, d: date) -> int | None:
        """Path row of a generated session; None for any other date."""
        return self._row.get(d)

    def listed_on(self, d: date) -> np.ndarray:
        """Positions (in KRX name order) of ETFs listed on any date d."""
        o = d.toordinal()
        order = self.name_order
        keep = (self._listing_ord[order] <= o) & (o < self._delisting_ord[order])
        return order[keep]

    def names_on(self, d: date, cols: np.ndarray) -> pd.DataFrame:
        """name, name_full, name_eng of the ETFs at `cols` as KRX showed them on d: the former
        brand before the issuer's rename."""
        etfs = self.etfs.iloc[cols]
        before = d.toordinal() < self._renamed_ord[cols]
        return pd.DataFrame({
            column: np.where(before, etfs[f"former_{column}"], etfs[column])
            for column in ("name", "name_full", "name_eng")
        })  # fmt: skip

    def daily(self, d: date) -> pd.DataFrame | None:
        """Every ETF listed on session d (KRX name order); None if d is not a generated session."""
        t = self._row.get(d)
        if t is None:
            return None
        cols = self.listed_on(d)
        close = self.close[t, cols].astype(np.int64)
        listing_day = self._listing_ord[cols] == d.toordinal()
        prev_close = np.where(listing_day, self.base_price[cols], self.close[t - 1, cols])
        nav = self.nav[t, cols]
        shares = self.shares[t, cols]
        idx = self.index_level[t, cols]
        idx_prev = self.index_level[t - 1, cols]
        idx_change = np.round(idx - idx_prev, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            idx_pct = np.round(idx_change / idx_prev * 100, 2)
        etfs = self.etfs
        return pd.DataFrame(
            {
                "ticker": etfs["ticker"].to_numpy()[cols],
                "isin": etfs["isin"].to_numpy()[cols],
                "name": self.names_on(d, cols)["name"].to_numpy(),
                "open": self.opn[t, cols].astype(np.int64),
                "high": self.high[t, cols].astype(np.int64),
                "low": self.low[t, cols].astype(np.int64),
                "close": close,
                "prev_close": prev_close.astype(np.int64),
                "volume": self.volume[t, cols],
                "traded_value": self.traded_value[t, cols],
                "market_cap": close * shares,
                "nav": nav,
                "net_assets": np.where(listing_day, 0, self.net_assets[t, cols]),
                "listed_shares": shares,
                "index_name": etfs["tracking_index"].to_numpy()[cols],
                "index_close": idx,
                "index_change": idx_change,
                "index_change_pct": idx_pct,
                "index_status": self.index_status[cols],
            }
        )

    def unpublished_index(self) -> dict[str, str]:
        """Ticker → "zero" or "dash" for every ETF whose index level KRX does not publish."""
        hidden = self.index_status != "published"
        return dict(zip(self.etfs["ticker"][hidden], self.index_status[hidden], strict=True))

    def net_assets_gap(self, d: date) -> pd.Series | None:
        """Per ticker listed on session d: net assets / (NAV × listed shares) − 1, NaN on the
        listing day (net assets 0). Non-zero where a creation or redemption has not settled."""
        daily = self.daily(d)
        if daily is None:
            return None
        gap = daily["net_assets"] / (daily["nav"] * daily["listed_shares"]) - 1
        return pd.Series(np.where(daily["net_assets"] > 0, gap, np.nan), index=daily["ticker"])

    def outliers(self, d: date) -> pd.DataFrame:
        """The outlier rows of session d: ticker, kind ("suspended" or "premium_spike"), close,
        nav and premium_pct = (close − NAV) / NAV × 100 as the wire shows them."""
        daily = self.daily(d)
        columns = ["ticker", "kind", "close", "nav", "premium_pct"]
        if daily is None:
            return pd.DataFrame(columns=columns)
        spikes = set(self.premium_spikes.loc[self.premium_spikes["date"] == d, "ticker"])
        kind = np.where(daily["ticker"] == self.special["suspended"], "suspended",
                        np.where(daily["ticker"].isin(spikes), "premium_spike", ""))  # fmt: skip
        out = daily.assign(kind=kind, premium_pct=(daily["close"] - daily["nav"]) / daily["nav"]
                           * 100)  # fmt: skip
        return out.loc[out["kind"] != "", columns].reset_index(drop=True)

    def history(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """One ETF's sessions in [start, end], oldest first (basis of 05901 and 06001)."""
        e = self._pos[ticker]
        lo = max(bisect.bisect_left(self.sessions, start) + 1, int(self.first_idx[e]))
        hi = min(bisect.bisect_right(self.sessions, end) + 1, int(self.end_idx[e]))
        rows = np.arange(lo, max(hi, lo))
        listing_day = np.array([self.sessions[r - 1] for r in rows]) == self.etfs.at[
            e, "listing_date"] if len(rows) else np.zeros(0, dtype=bool)  # fmt: skip
        return pd.DataFrame(
            {
                "date": [self.sessions[r - 1] for r in rows],
                "close": self.close[rows, e].astype(np.int64),
                "prev_close": np.where(listing_day, self.base_price[e], self.close[rows - 1, e]),
                "nav": self.nav[rows, e],
                "nav_prev": np.where(listing_day, self.base_nav[e], self.nav[rows - 1, e]),
                "index_close": self.index_level[rows, e],
                "index_prev": self.index_level[rows - 1, e],
            }
        )

    def published_tracking_error(self, ticker: str, end: date) -> float:
        """KRX's 추적오차율 (05901 TRACE_ERR_RT) as the sandbox defines it, in %.

        Sample std (ddof=1) × √250 × 100 of (NAV return with the payouts of its ex-dates added
        back − multiple × index return), from the
        published 2-dp NAV and index levels, over the returns dated within the 365 calendar
        days ending on `end`. Deliberately not our 250-session window (a calendar year holds
        ~245-248 sessions), as KRX's own figure is not. NaN without an index level or with
        fewer than 20 returns.
        """
        e = self._pos[ticker]
        factor = float(self.etfs.at[e, "leverage_factor"])
        lo = bisect.bisect_right(self.sessions, end - timedelta(days=365)) + 1
        hi = bisect.bisect_right(self.sessions, end) + 1
        lo = max(lo, int(self.first_idx[e]) + 1)
        hi = min(hi, int(self.end_idx[e]))
        if hi - lo < 20:
            return float("nan")
        nav = self.nav[lo - 1 : hi, e]
        idx = self.index_level[lo - 1 : hi, e]
        if np.isnan(idx).any():
            return float("nan")
        paid = self.cash_paid(e, np.arange(lo, hi))
        excess = ((nav[1:] + paid) / nav[:-1] - 1) - factor * (idx[1:] / idx[:-1] - 1)
        return float(np.std(excess, ddof=1) * np.sqrt(ANNUAL) * 100)

    def distributions(self, start: date, end: date) -> pd.DataFrame:
        """Every payout with a record date in [start, end], as SEIBro lists it: ticker, isin,
        name (as KRX showed it on the record date), issuer, category, record_date, ex_date,
        pay_date, amount_krw, reason (이익분배, 청산분배, 특별분배), tax_base_price."""
        lo = bisect.bisect_left(self.sessions, start) + 1
        hi = bisect.bisect_right(self.sessions, end) + 1
        p = self.payouts[(self.payouts["record_row"] >= lo) & (self.payouts["record_row"] < hi)]
        e = p["etf"].to_numpy()
        etfs = self.etfs.iloc[e]
        record = [self.sessions[r - 1] for r in p["record_row"]]
        renamed = np.array([d.toordinal() for d in record], dtype=np.int64) < self._renamed_ord[e]
        return pd.DataFrame({
            "ticker": etfs["ticker"].to_numpy(),
            "isin": etfs["isin"].to_numpy(),
            "name": np.where(renamed, etfs["former_name"], etfs["name"]),
            "issuer": etfs["issuer"].to_numpy(),
            "category": _seibro_category(etfs),
            "record_date": record,
            "ex_date": [self.sessions[r - 1] for r in p["ex_row"]],
            "pay_date": [self.sessions[r - 1] for r in p["pay_row"]],
            "amount_krw": p["amount_krw"].to_numpy(),
            "reason": p["reason"].to_numpy(),
            "tax_base_price": p["tax_base_price"].to_numpy(),
        })  # fmt: skip

    def cash_paid(self, e: int, rows: np.ndarray) -> np.ndarray:
        """KRW per share paid out of fund `e`'s NAV on each of `rows` (income and other payouts
        on their ex-dates; 0 elsewhere)."""
        p = self.payouts[(self.payouts["etf"] == e) & (self.payouts["reason"] != "청산분배")]
        paid = dict(zip(p["ex_row"], p["amount_krw"], strict=True))
        return np.array([paid.get(int(r), 0.0) for r in rows])

    def holdings(self, ticker: str, d: date) -> pd.DataFrame:
        """PDF constituents per 1 CU on session d, deterministic per (ticker, week).

        One row per wire line, in KRX's order, with the ground truth: `kind` (stock,
        foreign_stock, bond, etf, future, option, cash), `value_krw` (VALU_AMT) and
        `amount_krw` (COMPST_AMT), each None where KRX sends "-". Empty when d is not a session
        or the ETF is not listed on d.
        """
        e, t = self._pos.get(ticker), self._row.get(d)
        if e is None or t is None or not (self.first_idx[e] <= t < self.end_idx[e]):
            return pd.DataFrame(columns=HOLDING_COLUMNS)
        return _holdings(self, e, d)

    def _traded_rows(self, ticker: str, start: date, end: date) -> tuple[int, np.ndarray]:
        """(ETF position, path rows of the sessions in [start, end] it was listed and traded)."""
        e = self._pos[ticker]
        lo = max(bisect.bisect_left(self.sessions, start) + 1, int(self.first_idx[e]))
        hi = min(bisect.bisect_right(self.sessions, end) + 1, int(self.end_idx[e]))
        rows = np.arange(lo, max(hi, lo))
        return e, rows[self.volume[rows, e] > 0]

    def investor_flows(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """What each of KRX's 11 investor types (`INVESTOR_TYPES`) bought and sold of the fund
        on every session of [start, end] it traded on, oldest first: date, investor, buy_volume,
        sell_volume (units), buy_value, sell_value (KRW). Deterministic per fund.

        Every trade has a buyer and a seller, so on each session the types' purchases and
        their sales each add up to the session's volume and traded value exactly (`daily`),
        and their net volumes and values sum to zero. A session without a trade has no rows.
        """
        e, rows = self._traded_rows(ticker, start, end)
        paths = _investor_paths(self, e)
        n_types = len(INVESTOR_TYPES)
        return pd.DataFrame({
            "date": np.repeat([self.sessions[r - 1] for r in rows], n_types),
            "investor": np.tile(INVESTOR_TYPES, len(rows)),
            **{name: path[rows].ravel() for name, path in paths.items()},
        })  # fmt: skip

    def investor_group_flows(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """`investor_flows` in 04902's four groups (`INVESTOR_GROUPS`: 기관, 기타법인, 개인,
        외국인), with net = bought − sold: date, group, buy_volume, sell_volume, net_volume,
        buy_value, sell_value, net_value; oldest first, groups in 04902's column order."""
        flows = self.investor_flows(ticker, start, end)
        group_of = {kind: group for group, kinds in INVESTOR_GROUPS.items() for kind in kinds}
        grouped = (
            flows.assign(group=flows["investor"].map(group_of))
            .groupby(["date", "group"], sort=False, as_index=False)[list(_FLOW_PATHS)]
            .sum()
        )
        grouped["group"] = pd.Categorical(grouped["group"], categories=list(INVESTOR_GROUPS))
        grouped = grouped.sort_values(["date", "group"], ignore_index=True)
        grouped["group"] = grouped["group"].astype(str)
        for measure in ("volume", "value"):
            grouped[f"net_{measure}"] = grouped[f"buy_{measure}"] - grouped[f"sell_{measure}"]
        return grouped


# ---- investor flows (MDCSTAT04901 / 04902) --------------------------------------------------

# KRX's investor types, in 04901's row order, and each one's share of an ETF's volume on an
# average day: liquidity providers trade as 금융투자, retail as 개인 (in the real week of
# 0069M0, 2026-01-16…23, 금융투자 bought 54 % and sold 75 % of the units, 개인 bought 40 %).
INVESTOR_TYPES = (
    "금융투자", "보험", "투신", "사모", "은행", "기타금융", "연기금 등", "기타법인", "개인",
    "외국인", "기타외국인",
)  # fmt: skip
INVESTOR_SHARES = (0.55, 0.004, 0.01, 0.003, 0.012, 0.002, 0.004, 0.01, 0.37, 0.026, 0.009)
# 04902's four groups: 기관 sums the seven institution types (04901's 기관합계), 외국인 holds
# 기타외국인 too; the four net values of a day then sum to zero, as in the real answer.
INVESTOR_GROUPS = {
    "기관": INVESTOR_TYPES[:7], "기타법인": ("기타법인",), "개인": ("개인",),
    "외국인": ("외국인", "기타외국인"),
}  # fmt: skip
FUND_MIX_CONCENTRATION = 200.0  # how far a fund's mix strays from INVESTOR_SHARES
DAY_MIX_CONCENTRATION = 30.0  # how far a day's buyers (or sellers) stray from the fund's mix
PRICE_SPREAD_IN_DAY = 0.003  # relative spread of the average prices the types dealt at
_FLOW_PATHS = ("buy_volume", "sell_volume", "buy_value", "sell_value")


def _allocate(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integers per row summing exactly to `totals`, proportional to `weights` (largest
    remainder); a zero weight gets nothing. Rows with no weight get nothing."""
    weight_sums = weights.sum(axis=1, keepdims=True)
    raw = np.divide(totals[:, None] * weights, weight_sums, out=np.zeros_like(weights),
                    where=weight_sums > 0)  # fmt: skip
    base = np.floor(raw)
    short = np.round(totals - base.sum(axis=1)).astype(np.int64)
    short[weight_sums[:, 0] == 0] = 0
    rank = np.argsort(np.argsort(-(raw - base), axis=1, kind="stable"), axis=1)
    return (base + (rank < short[:, None])).astype(np.int64)


def _investor_paths(m: Market, e: int) -> dict[str, np.ndarray]:
    """Per path row and investor type: units and KRW bought and sold of ETF `e` (every row,
    listed or not; callers keep the rows the fund traded on)."""
    rng = np.random.default_rng(_stable_seed(m.seed, m.etfs.at[e, "ticker"], "investors"))
    mix = rng.dirichlet(np.array(INVESTOR_SHARES) * FUND_MIX_CONCENTRATION)
    volume, value = m.volume[:, e], m.traded_value[:, e].astype(float)
    paths: dict[str, np.ndarray] = {}
    for side in ("buy", "sell"):
        day_mix = rng.gamma(
            np.maximum(mix * DAY_MIX_CONCENTRATION, 1e-3), size=(len(volume), len(mix))
        )
        day_mix /= day_mix.sum(axis=1, keepdims=True)
        units = rng.multinomial(volume, day_mix)
        prices = 1 + rng.normal(0, PRICE_SPREAD_IN_DAY, units.shape)
        paths[f"{side}_volume"] = units
        paths[f"{side}_value"] = _allocate(value, units * prices)
    return {name: paths[name] for name in _FLOW_PATHS}


# ---- PDF (holdings) -------------------------------------------------------------------------

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
    y: str(y % 10) for y in range(2002, 2006)}
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
        walk = np.exp(np.cumsum(rng.normal(0, vol, (n_weeks, len(df))), axis=0))
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
    """The spot ETF an inverse fund holds short (114800 holds −324 of 069500), if one exists."""
    spot = _SPOT_OF.get(m.etfs.at[e, "tracking_index"])
    etfs = m.etfs
    live = m.listed_on(d)
    hit = [i for i in live if etfs.at[i, "tracking_index"] == spot
           and etfs.at[i, "leverage_factor"] == 1.0 and i != e]  # fmt: skip
    if not hit:
        return None
    held = min(hit, key=lambda i: (etfs.at[i, "listing_date"], etfs.at[i, "ticker"]))
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
    amounts = basket_lines["amount_krw"].astype(float)
    basket_lines["weight_pct"] = list(np.round(amounts / amounts.sum() * 100, 2))


def _prices_of(m: Market, frame: pd.DataFrame, week: int) -> np.ndarray:
    prices = m.pools[frame["pool"].iloc[0]][1]
    return prices[min(max(week, 0), len(prices) - 1), frame.index.to_numpy()]


@functools.cache
def generated_sessions() -> tuple[date, ...]:
    """The market's sessions, START to END, by the calendar shipped in the package.

    Not the self-extending calendar: the market must be the same whatever day it is built on,
    or the answers tests expect would change as the calendar's reach moves. Past the seed's
    end every weekday is a session; the product asks only for its own sessions there.
    """
    return weekday_sessions(seed_calendar(), START, END)


@functools.cache
def get_market(seed: int = 20260101, n_etfs: int = 1070) -> Market:
    """The market for (seed, n_etfs), built once per process (pure function of its args)."""
    return build_market(seed, n_etfs, generated_sessions())
