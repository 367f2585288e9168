import re
import string
from datetime import date
from pathlib import Path

import pytest

from kamdash import i18n
from kamdash.i18n import fmt_delta_pct, fmt_money, fmt_month, fmt_number, fmt_pct, fmt_points

ROOT = Path(__file__).resolve().parent.parent


def fields(text):
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogs_have_the_same_keys_and_fields():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    assert set(en) == set(zh)
    for key in en:
        assert fields(en[key]) == fields(zh[key]), key


def test_chinese_catalog_is_translated():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    same = [k for k in en if en[k] == zh[k] and re.search("[A-Za-z]{4,}", en[k]) and k not in ("app.title", "lang.label")]
    assert same == []


def used_keys():
    keys = set()
    for path in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("kamdash/**/*.py")]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.]+)["']""", text))
        keys |= set(re.findall(r"""i18n\.t\(\s*["']([a-z0-9_.]+)["']""", text))
    return keys


def test_every_key_used_in_code_exists():
    used = used_keys()
    assert len(used) > 20
    assert sorted(used - set(i18n.catalog("en"))) == []


def test_value_labels():
    assert i18n.value_label("customer_type", "distributor", "zh") == "分销商"
    assert i18n.value_label("sector", "police_courts", "en") == "Police & courts"
    assert i18n.value_label("region", "East China", "zh", {("region", "East China"): "华东"}) == "华东"
    assert i18n.value_label("region", "Mars", "zh", {}) == "Mars"
    assert i18n.value_label("sector", None, "zh") == "（未填写）"


@pytest.mark.parametrize("value,lang,expected", [
    (123_456_789, "zh", "¥1.2亿"),
    (34_567, "zh", "¥3.5万"),
    (123_456_789, "en", "CN¥123.5M"),
    (-2_345.4, "en", "-CN¥2,345"),
    (float("nan"), "en", "–"),
])
def test_money(value, lang, expected):
    assert fmt_money(value, lang, "CNY") == expected


def test_numbers_percentages_dates():
    assert fmt_number(300_585, "en") == "300,585"
    assert fmt_number(300_585, "zh", compact=True) == "30.1万"
    assert fmt_pct(0.7843, "en") == "78.4%"
    assert fmt_delta_pct(-0.04, "en") == "-4.0%"
    assert fmt_delta_pct(0.123, "zh") == "+12.3%"
    assert fmt_points(0.021, "en") == "+2.1"
    assert fmt_month(date(2026, 9, 1), "zh") == "2026年9月"
    assert fmt_month(date(2026, 9, 1), "en") == "Sep 2026"
    assert i18n.fmt_date(date(2026, 9, 30), "zh") == "2026年9月30日"
