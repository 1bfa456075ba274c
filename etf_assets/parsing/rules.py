"""Rules both upstreams (KRX and KIS) share: what "no value" is, and what a code says it is.

Users act on these figures, so a value the upstream did not publish must be NULL, never a 0 or
a guess. Every field a parser reads names one `Absence` rule in its field table (krx.py,
kis.py); the rules are listed for users in docs/assets.md § Absent values.
"""

from __future__ import annotations

from enum import Enum

KINDS: tuple[str, ...] = ("stock", "etf", "bond", "future", "option", "cash", "other")

# What the upstreams send for "no value", once whitespace and thousands commas are stripped.
NULL_TOKENS = frozenset({"-", ""})


class Absence(Enum):
    """Which wire values of a field mean "not published" and become NULL."""

    MARKED = "`-` or empty"  # every other value, 0 included, is a value
    MARKED_OR_ZERO = "`-`, empty or 0"  # 0 cannot be this field's value: it means "none"


# Korean ISINs: KR + a security class (the 3rd character) + issuer + issue + check digit.
_CASH_CODE_PREFIXES = ("KRD", "CASH")  # KRD010010001 원화예금, CASH00000001 설정현금액
_BOND_CLASSES = frozenset("1236BC")  # 국채, 지방채, 특수채, 사채, 외국채권, STRIPS
_DERIVATIVE_CLASS = "4"  # KR4: listed derivatives; the 4th character says which
_KIND_BY_DERIVATIVE_TYPE = {"1": "future", "2": "option", "3": "option"}  # futures, calls, puts


def kind_from_code(code: str) -> str | None:
    """The kind a constituent code implies by itself, or None when it says nothing.

    Used where the upstream sends no security group (KRX's cash and bond lines, every KIS
    line): KRX's cash codes, and the class character of a 12-character Korean ISIN (bonds,
    futures, options). A 6-character ticker or a KRX-internal foreign code (`0724F1`) says
    nothing here.
    """
    if code.startswith(_CASH_CODE_PREFIXES):
        return "cash"
    if len(code) != 12 or not code.startswith("KR"):
        return None
    if code[2] == _DERIVATIVE_CLASS:
        return _KIND_BY_DERIVATIVE_TYPE.get(code[3])
    return "bond" if code[2] in _BOND_CLASSES else None


def isin_check_digit(body: str) -> str:
    """ISIN mod-10 check digit of the first 11 characters (letters → 10..35, then Luhn)."""
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return str((10 - total % 10) % 10)


def etf_isin(ticker: str) -> str:
    """The ISIN KRX gives an ETF: "KR7" + short code + "00" + check digit (docs/krx.md
    § Request parameters). Only for a fund no master we hold lists: the master's ISU_CD wins."""
    body = f"KR7{ticker}00"
    return body + isin_check_digit(body)
