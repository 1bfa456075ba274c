"""Reference data of the generated market: its dates, the wire's column lists, the real
issuers, themes and famous funds, and each asset class's volatility, drift and share.

Also the two helpers every other module of the package uses: `tick_round` (KRX's ETF tick) and
`_stable_seed` (a seed that depends only on its parts, for draws made per fund or per week).
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np

START = date(2002, 10, 14)
MIN_END = date(2027, 12, 31)  # the market reaches at least here (build.market_end)
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
0112X0|마이티 200TR|디비자산운용|2025-10-28|코스피 200 TR|KRX|일반|실물(패시브)|국내|주식|50000|0.05|배당소득세(보유기간과세)|DB 마이티 200 Total Return증권상장지수투자신탁[주식]|DB Mighty 200 Total Return ETF
486780|HANARO 200선물레버리지1.5X|엔에이치아문디자산운용|2024-07-30|코스피 200 선물지수|KRX|1.5X 레버리지|실물(패시브)|국내|주식|100000|0.45|배당소득세(보유기간과세)|NH-Amundi HANARO 200선물레버리지1.5X증권상장지수투자신탁(주식-파생형)|NH-Amundi HANARO 200 Futures Leverage 1.5X ETF
486790|HANARO 코스닥150선물레버리지1.5X|엔에이치아문디자산운용|2024-07-30|코스닥 150 선물지수|KRX|1.5X 레버리지|실물(패시브)|국내|주식|100000|0.45|배당소득세(보유기간과세)|NH-Amundi HANARO 코스닥150선물레버리지1.5X증권상장지수투자신탁(주식-파생형)|NH-Amundi HANARO KOSDAQ150 Futures Leverage 1.5X ETF""".splitlines()  # noqa: E501 (verbatim master rows)
]
# Famous funds that are gone: ticker → delisting day (the first session without them). The two
# real 1.5× funds were liquidated on 2025-09-17; their names and codes are real, their listing
# day, CU and fee the sandbox's choice.
FAMOUS_DELISTED = {"486780": date(2025, 9, 17), "486790": date(2025, 9, 17)}

LEVERAGE_LABELS = {1.0: "일반", 2.0: "2X 레버리지", 1.5: "1.5X 레버리지", -1.0: "1X 인버스",
                   -2.0: "2X 인버스"}  # fmt: skip
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
