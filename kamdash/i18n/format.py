"""Locale-aware formatting of money, numbers, percentages and dates (Babel).

Chinese uses the 万 / 亿 compact forms (1.2亿, 3.4万); English uses K / M / B.
"""

from __future__ import annotations

import functools
import math
from datetime import date

from babel import Locale
from babel import dates as bdates
from babel import numbers as bnum

LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


@functools.lru_cache(maxsize=8)
def _loc(lang: str) -> Locale:
    """The Babel locale of a language, parsed once (Babel parses a locale given by name on
    every call: about a third of the time of formatting one figure)."""
    return Locale.parse(LOCALES.get(lang, "en_US"))


def _bad(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_money(x, lang: str, currency: str = "CNY", compact: bool = True, digits: int = 1) -> str:
    """Money: compact by default (¥1.2亿 / CN¥123.5M); exact with ``compact=False``."""
    if _bad(x):
        return "–"
    if compact and abs(x) >= 10_000:
        return bnum.format_compact_currency(x, currency, locale=_loc(lang), fraction_digits=digits)
    return bnum.format_currency(round(x), currency, locale=_loc(lang), format="¤#,##0",
                                currency_digits=False)


def fmt_number(x, lang: str, compact: bool = False, digits: int = 1) -> str:
    if _bad(x):
        return "–"
    if compact and abs(x) >= 10_000:
        return bnum.format_compact_decimal(x, locale=_loc(lang), fraction_digits=digits)
    if float(x).is_integer():
        return bnum.format_decimal(int(x), locale=_loc(lang))
    return bnum.format_decimal(round(x, digits), locale=_loc(lang))


def fmt_pct(x, lang: str, digits: int = 1) -> str:
    """A fraction as a percentage: 0.7843 -> 78.4%."""
    if _bad(x):
        return "–"
    return bnum.format_percent(x, locale=_loc(lang), format="#,##0." + "0" * digits + "%" if digits else "#,##0%")


def fmt_delta_pct(x, lang: str, digits: int = 1) -> str:
    """A relative change with its sign: +12.3% / −4.0%."""
    if _bad(x):
        return "–"
    sign = "+" if x > 0 else ("-" if x < 0 else "±")
    return sign + fmt_pct(abs(x), lang, digits)


def fmt_points(x, lang: str, digits: int = 1) -> str:
    """A change of a share in percentage points (0.021 -> +2.1)."""
    if _bad(x):
        return "–"
    v = x * 100
    sign = "+" if v > 0 else ("-" if v < 0 else "±")
    return sign + bnum.format_decimal(round(abs(v), digits), locale=_loc(lang), format="#,##0." + "0" * digits)


def fmt_date(d: date, lang: str) -> str:
    if d is None:
        return "–"
    return bdates.format_date(d, format="medium" if lang == "en" else "long", locale=_loc(lang))


def fmt_month(d: date, lang: str) -> str:
    if d is None:
        return "–"
    return bdates.format_date(d, format="MMM y" if lang == "en" else "y年M月", locale=_loc(lang))
