"""kamdash.deck: PPTX / PDF / PNG / SVG exports (3-slide decks, Chinese text, embedded CJK font)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from kamdash import deck
from kamdash.charts import TEMPLATE

pytestmark = pytest.mark.skipif(deck.chromium_path() is None, reason="kaleido needs Chromium")


def _fig(title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=["阿尔法商贸", "贝塔局", "Gamma"], y=[3, -1, 2]))
    fig.update_layout(template=TEMPLATE, title=title)
    return fig


TABLE = pd.DataFrame({"客户": ["阿尔法商贸", "贝塔局"], "客户利润": ["¥1.2万", "-¥300"]})
SLIDES = [
    deck.Slide("概览", "前20%的客户贡献了78%的客户利润", _fig("每月收入"), notes="先讲利润从哪里来。"),
    deck.Slide("集中度", "12个客户亏损¥340万", _fig("鲸鱼曲线"), table=TABLE,
               bullets=["亏损客户集中在华东", "第二条要点"], notes="亏损客户名单见右表。"),
    deck.Slide("客户名单", "两家客户", table=TABLE),
]


@pytest.fixture(scope="module")
def pptx_zh():
    from pptx import Presentation

    calls = []
    data = deck.to_pptx(SLIDES, title="客户利润研讨会", subtitle="筛选：全部客户\n数据截至 2025-06-30",
                        lang="zh", progress=lambda f, label: calls.append(f))
    return Presentation(io.BytesIO(data)), calls


@pytest.fixture(scope="module")
def pdf_zh():
    return deck.to_pdf(SLIDES, title="客户利润研讨会", subtitle="筛选：全部客户\n数据截至 2025-06-30",
                       lang="zh")


def _texts(slide) -> list[str]:
    return [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]


def test_pptx_has_title_slide_then_one_slide_each_with_editable_chinese_text(pptx_zh):
    prs, calls = pptx_zh
    slides = list(prs.slides)
    assert len(slides) == 1 + len(SLIDES)
    assert _texts(slides[0]) == ["客户利润研讨会", "筛选：全部客户\n数据截至 2025-06-30"]
    for s, sl in zip(SLIDES, slides[1:]):
        texts = _texts(sl)
        assert texts[:2] == [s.title, s.headline]
        pictures = [sh for sh in sl.shapes if sh.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE
        assert len(pictures) == (1 if s.figure is not None else 0)
        assert sl.has_notes_slide == bool(s.notes)
        if s.notes:
            assert sl.notes_slide.notes_text_frame.text == s.notes
    assert any("• 亏损客户集中在华东" in t for t in _texts(slides[2]))
    table = next(sh for sh in slides[3].shapes if sh.has_table).table
    assert [table.cell(0, c).text for c in range(2)] == ["客户", "客户利润"]
    assert table.cell(2, 1).text == "-¥300"
    assert calls[-1] == 1.0 and calls == sorted(calls)


def test_pptx_pictures_are_high_resolution(pptx_zh):
    prs, _ = pptx_zh
    pic = next(sh for sh in list(prs.slides)[1].shapes if sh.shape_type == 13)
    w, h = Image.open(io.BytesIO(pic.image.blob)).size
    assert w >= 2400 and h >= 1000
    # the picture keeps its aspect ratio on the slide (no stretching)
    assert abs(w / h - pic.width / pic.height) < 0.01


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
def test_pdf_pages_render_non_blank_with_embedded_cjk_font(pdf_zh, tmp_path):
    (tmp_path / "d.pdf").write_bytes(pdf_zh)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "d.pdf"), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 1 + len(SLIDES)
    for p in pages:
        lo, hi = Image.open(p).convert("L").getextrema()
        assert lo < 128 < hi == 255, p.name  # dark text/chart on a white page
    fonts = subprocess.run(["pdffonts", str(tmp_path / "d.pdf")], capture_output=True, text=True,
                           check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("NotoSansCJKSC" in r[0] and r[-5] == "yes" for r in rows), fonts
    text = subprocess.run(["pdftotext", str(tmp_path / "d.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    for s in SLIDES:
        assert s.headline in text
    assert "先讲利润从哪里来。" in text  # notes printed as a handout


def test_figure_png_and_svg():
    fig = _fig("中文标题")
    png = deck.figure_png(fig, width=600, height=300, scale=2)
    assert Image.open(io.BytesIO(png)).size == (1200, 600)
    svg = deck.figure_svg(fig, width=600, height=300).decode()
    assert svg.startswith("<svg") and "中文标题" in svg and "Noto Sans CJK SC" in svg


def test_pptx_english_run_language():
    from pptx import Presentation

    data = deck.to_pptx([SLIDES[2]], title="Workshop", subtitle="All customers", lang="en")
    prs = Presentation(io.BytesIO(data))
    run = list(prs.slides)[1].shapes[1].text_frame.paragraphs[0].runs[0]
    assert run._r.get_or_add_rPr().get("lang") == "en-US"


def test_webgl_traces_are_exported_as_svg_traces():
    fig = go.Figure(go.Scattergl(x=[1, 2], y=[3, 4]))
    assert deck._export_spec(fig)["data"][0]["type"] == "scatter"
    assert fig.data[0].type == "scattergl"  # the page's figure is untouched


def _one_pager(tiny_db, lang: str, with_plan: bool):
    from datetime import date

    from kamdash import plans
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters
    from kamdash.ui.shell import Context
    from kamdash.ui import account_words
    from kamdash.views import account as view

    b = connect(str(tiny_db))
    try:
        f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
        ctx = Context(lang=lang, filters=f, facts={"as_of": date(2025, 6, 30), "currency": "CNY"},
                      labels={}, data_key=())
        v = view.build(b, "A", b.customer_facts(f), b.customer_links(), f.start, f.end)
        plan = prog = None
        if with_plan:
            body = plans.normalise({"goals": [{"metric": "revenue", "target": 5000, "start": "2025-01-01",
                                               "due": "2025-12-31"}], "solution": "Bundle sensors with cables",
                                    "actions": [{"action": "Visit the plant", "owner": "Li Na", "due": "2025-07-01"}]})
            plan = plans.PlanVersion("A", 2, "A", body, "Li Na", None)
            prog = view.progress(b, body, "A", date(2025, 6, 30), date(2025, 1, 1))
        return account_words.one_pager_slides(ctx, v, plan, prog)
    finally:
        b.close()


def _pdf_pages(pdf: bytes, tmp_path) -> tuple[int, str]:
    (tmp_path / "o.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "o.pdf"), str(tmp_path / "o")], check=True)
    text = subprocess.run(["pdftotext", str(tmp_path / "o.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    return len(list(tmp_path.glob("o-*.png"))), text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
@pytest.mark.parametrize("lang,with_plan,pages", [("en", True, 2), ("zh", True, 2), ("en", False, 1)])
def test_account_one_pager_pdf_has_one_page_or_two_with_a_plan(tiny_db, tmp_path, lang, with_plan, pages):
    slides = _one_pager(tiny_db, lang, with_plan)
    pdf = deck.to_pdf(slides, title="review", subtitle="", lang=lang, notes=False, cover=False)
    n, text = _pdf_pages(pdf, tmp_path)
    assert n == pages
    flat = " ".join(text.split())
    assert "sidebar" not in flat and "侧边栏" not in flat and "not available" not in flat
    assert ("Revenue CN¥3,500, account profit CN¥1,100" if lang == "en" else "收入¥3,500，客户利润¥1,100") in flat
    if with_plan:
        assert ("Plan version 2 by Li Na: On track" if lang == "en" else "计划第2版（Li Na）：进展正常") in flat
    pptx = deck.to_pptx(slides, title="review", subtitle="", lang=lang, cover=False)
    from pptx import Presentation

    assert len(Presentation(io.BytesIO(pptx)).slides) == pages


def test_scenario_slide_in_the_deck_reads_in_business_words():
    from pptx import Presentation

    from kamdash.ui import present_text
    from kamdash.views import present

    saved = {"name": "Tier A programme",
             "params": {"defection_pts": -5.0, "target_tiers": ["A"], "discount": 0.1, "horizon": 5,
                        "cost_mode": "per_customer", "cost": 2000.0},
             "results": {"equity_before": 311_551_234.0, "equity_after": 342_706_357.0,
                         "profit_before": 80_400_000.0, "profit_after": 84_100_000.0,
                         "programme_cost_pv": 1_234_567.0, "net_value": 29_920_556.0, "roi": 24.236,
                         "payback_years": 1}}
    slide = present_text.scenario_slide(present_text.Texts("en"), present.scenario(saved))
    prs = Presentation(io.BytesIO(deck.to_pptx([slide], title="t", subtitle="", lang="en", cover=False)))
    text = " ".join(sh.text_frame.text for sh in prs.slides[0].shapes if sh.has_text_frame)
    for words in ("5 points less defection for Tier A", "Programme cost: CN¥2,000 a year",
                  "Customer equity: CN¥311.6M → CN¥342.7M", "Net gain after the programme cost: +CN¥29.9M",
                  "Return on the programme: 2,424%; pays back in 1 year"):
        assert words in text
    for raw in ("defection_pts", "cost_mode", "CN¥311.551M", "“", "”"):
        assert raw not in text
