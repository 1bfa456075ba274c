"""The classification rules over the real KRX master we hold (18 of its 1,066 rows, 2026-01-25),
and on rows made to reach each rule the real sample does not (the two tax labels it lacks, a
measured bond-mixed basket on both sides of the 2023-11 amendment, a name without a type)."""

from datetime import date, datetime

import pandas as pd
import pytest

from etf_assets.metrics.classification import (
    BOND_MIXED_AMENDMENT,
    COLUMNS,
    TAX_CLASS_VALUES,
    aum_by_class_and_pension,
    classify,
    fund_type,
)
from etf_assets.parsing.krx import etf_details_frame, master_raw_frame
from etf_assets.warehouse.schema import TABLES
from etf_assets_tests.wire_samples import sample_body

MASTER = "krx_data_MDCSTAT04601_etf_basic_20260125.trimmed.json"
SESSION = date(2026, 1, 23)
NO_BASKET = {"basket_as_of": None, "stock_weight_pct": None, "derivatives_weight_pct": None}
RULES = ("tax_class_rule", "pension_savings_rule", "retirement_rule", "retirement_risk_rule")


def details(rows: list[dict[str, str]], session: date = SESSION, **basket: object) -> pd.DataFrame:
    """etf_details rows of master rows, as the asset reads them, with a basket's weights."""
    raw = master_raw_frame(rows, session, date(2026, 1, 25), datetime(2026, 1, 25, 21, 32))
    return etf_details_frame(raw).assign(**{**NO_BASKET, **basket})


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return classify(details(sample_body(MASTER)["output"])).set_index("ticker")


def test_every_real_fund_gets_every_verdict_and_its_rule(real: pd.DataFrame) -> None:
    # The frame is the table's contract, column for column.
    assert list(COLUMNS) == list(TABLES["etf_classification"].column_names)
    assert set(real.reset_index().columns) == set(COLUMNS)
    assert len(real) == 18
    decided = ["asset_class", "region", "fund_type", "tax_class", *RULES]
    assert real[decided].notna().all().all(), real[decided][real[decided].isna().any(axis=1)]
    assert real["pension_savings_eligible"].notna().all()
    assert real["retirement_eligible"].notna().all()
    eligible = real["retirement_eligible"].astype(bool)
    assert real.loc[eligible, "retirement_risk_asset"].notna().all()
    assert real.loc[~eligible, "retirement_risk_asset"].isna().all()


def test_no_leveraged_inverse_or_unswapped_derivatives_fund_is_eligible(real: pd.DataFrame) -> None:
    geared = real["is_leveraged"] | real["is_inverse"]
    assert sorted(real.index[geared]) == [
        "252400", "252410", "252420", "334700", "465350", "469530",
    ]  # fmt: skip
    assert not real.loc[geared, "pension_savings_eligible"].any()
    assert not real.loc[geared, "retirement_eligible"].any()
    derivatives = real["fund_type"].str.contains("파생") & ~real["is_synthetic"]
    assert not real.loc[derivatives, "retirement_eligible"].any()
    # 합성 파생형 funds that are neither leveraged nor inverse are the exception 퇴직연금 allows.
    allowed = ["0000D0", "0013R0", "375270", "477080", "479520"]
    assert real.loc[allowed, "retirement_eligible"].all()
    assert real.loc[allowed, "retirement_rule"].str.contains("합성").all()


@pytest.mark.parametrize(
    ("ticker", "expected"),
    [
        ("069500", {"asset_class": "equity", "region": "domestic", "fund_type": "주식",
                    "tax_class": "gains_tax_free", "retirement_risk_asset": True}),
        ("360750", {"region": "foreign", "tax_class": "holding_period",
                    "retirement_risk_asset": True}),
        ("252420", {"leverage_factor": -2.0, "is_inverse": True, "is_leveraged": True,
                    "fund_type": "주식-파생형"}),
        ("334700", {"asset_class": "commodity", "is_currency_hedged": True, "fund_type": "파생형"}),
        ("375270", {"asset_class": "real_estate", "tax_class": "real_estate_separate",
                    "is_synthetic": True, "retirement_risk_asset": True}),
        ("0000D0", {"asset_class": "mixed", "is_covered_call": True,
                    "fund_type": "채권혼합-파생재간접형", "is_synthetic": True}),
        ("495710", {"asset_class": "bond", "is_target_maturity": True, "is_active": True,
                    "retirement_risk_asset": False}),
        ("477080", {"asset_class": "money_market", "fund_type": "금리-파생형",
                    "retirement_risk_asset": False}),
        ("479520", {"asset_class": "money_market", "retirement_risk_asset": False}),
    ],
)  # fmt: skip
def test_real_funds_read_as_their_names_say(
    real: pd.DataFrame, ticker: str, expected: dict[str, object]
) -> None:
    assert real.loc[ticker, list(expected)].to_dict() == expected


def test_a_bond_mixed_fund_without_a_basket_counts_as_risk_and_says_why(
    real: pd.DataFrame,
) -> None:
    assert real.loc["0013R0", "retirement_risk_asset"]
    assert "without a basket" in real.loc["0013R0", "retirement_risk_rule"]


def _variant(**fields: str) -> dict[str, str]:
    row = dict(next(r for r in sample_body(MASTER)["output"] if r["ISU_SRT_CD"] == "0013R0"))
    return {**row, **fields}


@pytest.mark.parametrize(
    ("session", "stock_pct", "risk"),
    [
        (BOND_MIXED_AMENDMENT, 45.0, False),  # under 50 % since the amendment: safe
        (BOND_MIXED_AMENDMENT, 50.0, True),
        (date(2023, 11, 14), 45.0, True),  # before it the limit was 40 %
        (date(2023, 11, 14), 40.0, False),
    ],
)
def test_bond_mixed_stock_limit_follows_the_2023_11_amendment(
    session: date, stock_pct: float, risk: bool
) -> None:
    row = classify(
        details(
            [_variant()],
            session,
            basket_as_of=session,
            stock_weight_pct=stock_pct,
            derivatives_weight_pct=0.0,
        )
    ).iloc[0]
    assert row["retirement_risk_asset"] is risk
    assert f"stocks {stock_pct:.1f} %" in row["retirement_risk_rule"]
    assert "measured basket" in row["retirement_risk_rule"]


@pytest.mark.parametrize(
    ("label", "tax_class"),
    [
        ("배당소득세(해외주식투자전용ETF)", "foreign_equity_dedicated"),
        ("비과세(분리과세부동산ETF)", "real_estate_separate_gains_tax_free"),
        ("비과세", "gains_tax_free"),
    ],
)
def test_the_five_tax_labels_krx_uses(label: str, tax_class: str) -> None:
    row = classify(details([_variant(TAX_TP_CD=label)])).iloc[0]
    assert row["tax_class"] == tax_class
    assert len(TAX_CLASS_VALUES) == 5


def test_an_unknown_tax_label_is_not_guessed() -> None:
    row = classify(details([_variant(TAX_TP_CD="이자소득세")])).iloc[0]
    assert row["tax_class"] is None
    assert "'이자소득세' is none of the five labels" in row["tax_class_rule"]


def test_a_name_without_a_type_uses_the_measured_derivatives_exposure() -> None:
    untyped = _variant(
        ISU_NM="KB RISE 테슬라미국채타겟커버드콜혼합",
        ISU_ABBRV="RISE 테슬라미국채타겟커버드콜혼합",
        ETF_REPLICA_METHD_TP_CD="실물(패시브)",
    )
    over = classify(
        details([untyped], basket_as_of=SESSION, stock_weight_pct=20.0, derivatives_weight_pct=55.0)
    ).iloc[0]
    assert over["fund_type"] is None
    assert over["retirement_eligible"] is False
    assert "derivatives exposure 55.0 %" in over["retirement_rule"]
    unknown = classify(details([untyped])).iloc[0]
    assert unknown["retirement_eligible"] is True
    assert "unverified" in unknown["retirement_rule"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("삼성 KODEX200 증권상장지수투자신탁[주식]", "주식"),
        ("BNK BNK 26-06 특수채(AAA이상)액티브증권상장지수투자신탁(채권)", "채권"),
        ("KB RISE 팔라듐선물인버스특별자산상장지수투자신탁(파생형)(H)", "파생형"),
        ("미래에셋 TIGER NVDA-UST커버드콜증권상장지수투자신탁(채권혼합-파생재간접형)(합성)",
         "채권혼합-파생재간접형"),
        ("이름만 있는 펀드", None),
        (None, None),
    ],
)  # fmt: skip
def test_fund_type_is_the_label_after_the_legal_form(
    name: str | None, expected: str | None
) -> None:
    assert fund_type(name) == expected


def test_aum_by_class_and_pension_sums_each_verdict_once() -> None:
    overview = pd.DataFrame(
        {
            "ticker": ["A", "B", "C", "D"],
            "asset_class": ["주식", "주식", "채권", "주식"],
            "pension_savings_eligible": [True, True, True, False],
            "retirement_eligible": [True, False, True, False],
            "retirement_risk_asset": [True, None, False, None],
            "aum_krw": [3e12, 1e11, 2e12, 5e11],
        }
    )
    table = aum_by_class_and_pension(overview).set_index(["asset_class", "pension"])["aum_krw"]
    assert table.to_dict() == {
        ("주식", "퇴직연금 위험자산"): 3e12,
        ("채권", "퇴직연금 안전자산"): 2e12,
        ("주식", "연금 불가"): 5e11,
        ("주식", "연금저축만"): 1e11,
    }


def test_aum_by_class_and_pension_reads_missing_verdicts_as_unclassified() -> None:
    """The overview's verdicts are nullable (a fund not yet classified): NA is not a no."""
    overview = pd.DataFrame(
        {
            "ticker": ["A", "B"],
            "asset_class": ["주식", None],
            "pension_savings_eligible": pd.array([True, None], dtype="boolean"),
            "retirement_eligible": pd.array([True, None], dtype="boolean"),
            "retirement_risk_asset": pd.array([None, None], dtype="boolean"),
            "aum_krw": [3e12, 1e11],
        }
    )
    table = aum_by_class_and_pension(overview).set_index(["asset_class", "pension"])["aum_krw"]
    assert table.to_dict() == {("주식", "퇴직연금 위험자산"): 3e12, ("(unknown)", "(미분류)"): 1e11}
