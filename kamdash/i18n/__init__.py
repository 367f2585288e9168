"""Message catalogs (en, zh) and locale-aware formatting.

Every user-visible string goes through ``t(key, lang, **fields)``. The catalog of a language is
every JSON file in ``i18n/<lang>/`` (one file per feature: core.json, concentration.json, ...),
merged; a key defined in two files is an error. ``tests/test_i18n.py`` checks both languages
have the same keys and fields and that every key the code uses exists.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from kamdash.i18n.format import (  # noqa: F401  (re-exported)
    fmt_date,
    fmt_delta_pct,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_pct,
    fmt_points,
)

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT_LANG = "en"


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((Path(__file__).parent / lang).glob("*.json")):
        part = json.loads(path.read_text(encoding="utf-8"))
        clash = set(part) & set(merged)
        if clash:
            raise ValueError(f"{path.name} defines keys already defined: {sorted(clash)[:5]}")
        merged.update(part)
    return merged


def t(key: str, lang: str = DEFAULT_LANG, **fields) -> str:
    """The message ``key`` in ``lang`` (falling back to English, then to the key itself)."""
    text = catalog(lang if lang in LANGUAGES else DEFAULT_LANG).get(key)
    if text is None:
        text = catalog(DEFAULT_LANG).get(key, key)
    return text.format(**fields) if fields else text


def value_label(column: str, value, lang: str, labels: dict | None = None) -> str:
    """Display label of a data value: our coded vocabularies (customer_type, sector) from the
    catalog, other values (region, city, ...) from the database's value_labels, else as is."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return t("values.missing", lang)
    text = str(value)
    known = catalog(lang if lang in LANGUAGES else DEFAULT_LANG).get(f"values.{column}.{text}")
    if known:
        return known
    if labels:
        return labels.get((column, text), text)
    return text


class Localized:
    """Text helpers for a view in one language: the class provides ``lang``, ``currency`` and
    ``labels`` (data value labels); the shell's context and the slide builders share them."""

    def t(self, key: str, **fields) -> str:
        return t(key, self.lang, **fields)

    def label(self, column: str, value) -> str:
        return value_label(column, value, self.lang, self.labels)

    def money(self, x, **kw) -> str:
        return fmt_money(x, self.lang, self.currency, **kw)

    def t_month(self, d) -> str:
        return fmt_month(d, self.lang)


def customer_names(df, lang: str):
    """The name to show for each customer row of ``df`` (a pandas frame): in Chinese the
    Chinese name when there is one, else the name, else the customer_id. Works on plain string
    and categorical columns (``Engine.customer_facts`` gives categoricals)."""
    fallback = df["customer_id"].astype(object) if "customer_id" in df else None
    name = df["name"].astype(object) if "name" in df else fallback
    if lang == "zh" and "name_zh" in df:
        zh = df["name_zh"].astype(object)
        name = zh.where(zh.notna() & (zh != ""), name)
    return name.where(name.notna(), fallback) if fallback is not None else name
