"""The storyline's words are made in kamdash.ui.present_text from the numbers of
kamdash.views.present: every slide text (titles, headlines, bullets, notes, tables, chart titles,
axis titles, series names and bar labels), the cover lines and the chooser's names, in English
and Chinese, equal those recorded in ``tests/data/present_slides_tiny.json`` on the tiny
database. The file was recorded with the code from before the wording left the views; a
deliberate change of wording or numbers updates it (``python -m tests.test_present_words``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from kamdash.engine.filters import Filters
from kamdash.ui import present_text as text
from kamdash.views import present

RECORDED = Path(__file__).parent / "data" / "present_slides_tiny.json"
ORDER = [*present.SLIDES, *present.OPTIONAL, "scenario:s1", "scenario:s2", "scenario:s3"]
FILTERS = {"all": Filters(start=date(2024, 10, 1), end=date(2025, 6, 1)),
           "east": Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), regions=("East China",), tiers=("A",))}
SCENARIOS = {
    "s1": {"name": "Tier A programme",
           "params": {"defection_pts": -5.0, "target_tiers": ["A"], "target_segments": [2], "target_ka": ["economic"],
                      "margin_pct": 2.0, "discount": 0.1, "horizon": 5, "cost_mode": "total", "cost": 2000.0,
                      "new_customers": 3},
           "results": {"equity_before": 311_551_234.0, "equity_after": 342_706_357.0,
                       "profit_before": 80_400_000.0, "profit_after": 84_100_000.0, "programme_cost_pv": 1_234_567.0,
                       "net_value": 29_920_556.0, "roi": 0.5, "payback_years": 3}},
    "s2": {"name": "bare", "params": {"defection_pts": 1},
           "results": '{"result": {"equity_before": 1e6, "equity_after": 0.9e6}}'},
    "s3": {"name": "none", "params": {}, "results": {}}}


def slide_texts(s) -> dict:
    fig = None
    if s.figure is not None:
        lay = s.figure.layout
        fig = [lay.title.text, lay.xaxis.title.text, lay.yaxis.title.text, [tr.name for tr in s.figure.data],
               [list(map(str, tr.text)) if tr.text is not None else None for tr in s.figure.data]]
    return {"title": s.title, "headline": s.headline, "bullets": list(s.bullets), "notes": s.notes,
            "table": None if s.table is None else [list(map(str, s.table.columns))] + s.table.astype(str).values.tolist(),
            "figure": fig}


def storyline_texts(backend) -> dict:
    """Each filter's slide data is built once and worded in both languages."""
    facts = backend.data_facts()
    out = {}
    for name, f in FILTERS.items():
        data = present.build(backend, f, facts, ORDER, scenarios=SCENARIOS)
        for lang in ("en", "zh"):
            tx = text.Texts(lang, "CNY", backend.value_labels(lang))
            out[f"{lang}/{name}"] = {"cover": text.filter_lines(tx, f, facts),
                                     "names": [text.slide_name(tx, s, SCENARIOS) for s in ORDER],
                                     "slides": [slide_texts(text.slide(tx, d)) for d in data]}
    return out


def test_slide_texts_in_both_languages_equal_the_recorded_ones(tiny):
    got = storyline_texts(tiny)
    want = json.loads(RECORDED.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key]["cover"] == want[key]["cover"], key
        assert got[key]["names"] == want[key]["names"], key
        for i, (g, w) in enumerate(zip(got[key]["slides"], want[key]["slides"], strict=True)):
            assert g == w, (key, ORDER[i])


if __name__ == "__main__":  # record the texts again after a deliberate change
    import tempfile

    from kamdash import store
    from kamdash.engine import connect
    from tests.conftest import fill_tiny

    path = Path(tempfile.mkdtemp()) / "tiny.duckdb"
    store.build_sales_db(path, fill_tiny, source="tests")
    RECORDED.write_text(json.dumps(storyline_texts(connect(str(path))), ensure_ascii=False, indent=1,
                                   sort_keys=True, default=str), encoding="utf-8")
