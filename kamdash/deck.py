"""Slide decks and chart images: a list of ``Slide`` in, PPTX / PDF / PNG / SVG bytes out.

Generic and Streamlit-free: the caller builds ``Slide`` objects with already-translated text
(title, one-line headline, presenter notes, optional bullets) and an optional plotly figure and/or
table; this module lays them out.

- Charts become high-resolution PNG pictures rendered by kaleido 1.x, which drives the system
  Chromium (``KAMDASH_CHROMIUM``, default /usr/bin/chromium, else one on PATH).
  One kaleido server (a headless Chromium tab) is started on first use and reused; calls are
  serialised by a lock because kaleido's sync server is not safe for concurrent callers
  (Streamlit runs sessions in threads).
- PPTX (python-pptx): a title slide, then one slide per ``Slide``; title, headline and bullets
  are editable text boxes, tables are real PowerPoint tables, notes go into the notes page.
- PDF (fpdf2): the same layout on 16:9 pages, text in Noto Sans CJK (embedded, subset) so
  Chinese renders everywhere; presenter notes are printed under the chart (a handout) unless
  ``notes=False``.
"""

from __future__ import annotations

import asyncio
import atexit
import io
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from kamdash import config

Progress = Callable[[float, str], None]

# Rendering size of a chart picture (CSS pixels) and its pixel density: 1200 x 600 at scale 2 is
# a 2400 x 1200 PNG, sharp on a projector, with fonts of a readable size relative to the slide.
CHART_WIDTH = 1200
CHART_HEIGHT = 600
CHART_SCALE = 2
TABLE_MAX_ROWS = 14

CJK_FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/opentype",
                 "/usr/share/fonts/truetype", "/usr/share/fonts", "/usr/local/share/fonts",
                 os.path.expanduser("~/.fonts"), os.path.expanduser("~/.local/share/fonts"))
CJK_FAMILY = "Noto Sans CJK SC"
# East-Asian typeface named in PPTX text runs: PowerPoint on Windows has it; elsewhere the viewer
# substitutes a CJK font (LibreOffice picks Noto Sans CJK through fontconfig).
PPTX_EA_FONT = "Microsoft YaHei"

TEXT = (0x1F, 0x2A, 0x37)
MUTED = (0x6B, 0x72, 0x80)
ACCENT = (0x1F, 0x5F, 0xA8)


@dataclass
class Slide:
    title: str
    headline: str
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    notes: str = ""
    bullets: list[str] = field(default_factory=list)
    text_size: float = 16  # points of the bullets (a dense one-pager page uses less)
    table_first: bool = False  # on a slide without a chart: the table above the bullets


# ---------------------------------------------------------------- chart images (kaleido)

RENDER_TABS = 2  # kaleido tabs rendering in parallel (the deck's charts render concurrently)
RENDER_TIMEOUT = 90  # seconds for one chart


def chromium_path() -> str | None:
    """The Chromium binary kaleido should drive: ``KAMDASH_CHROMIUM`` (default /usr/bin/chromium)
    when it exists, else one on PATH."""
    p = config.SETTINGS["chromium"].get()
    if os.path.exists(p):
        return p
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


class _Renderer:
    """One kaleido browser (``RENDER_TABS`` tabs) on an event loop in a daemon thread, shared by
    every Streamlit session of the process. ``run_coroutine_threadsafe`` makes it safe to call
    from any thread (kaleido's own sync server is not: concurrent callers can get each other's
    images), and lets several charts render at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None

    def _start(self) -> None:
        import kaleido

        # the path is passed to choreographer explicitly, so a stray browser download never wins
        browser = {"path": path} if (path := chromium_path()) else {}
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="kamdash-kaleido", daemon=True).start()

        async def open_():
            # mathjax=False: the default loads MathJax from a CDN, which kamdash never needs
            k = kaleido.Kaleido(n=RENDER_TABS, timeout=RENDER_TIMEOUT, mathjax=False, **browser)
            await k.open()
            return k

        try:
            self._kaleido = asyncio.run_coroutine_threadsafe(open_(), loop).result(RENDER_TIMEOUT)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            raise
        self._loop = loop

    def stop(self) -> None:
        with self._lock:
            loop, k = self._loop, self._kaleido
            self._loop = self._kaleido = None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(k.close(), loop).result(10)
        except Exception:  # noqa: BLE001 - closing a browser that already died
            pass
        loop.call_soon_threadsafe(loop.stop)

    def _submit(self, jobs):
        with self._lock:
            if self._kaleido is None:
                self._start()
            loop, k = self._loop, self._kaleido
        futures = [asyncio.run_coroutine_threadsafe(k.calc_fig(spec, opts=opts), loop)
                   for spec, opts in jobs]
        return [f.result(RENDER_TIMEOUT * len(jobs)) for f in futures]

    def render(self, jobs: list[tuple[dict, dict]]) -> list[bytes]:
        try:
            return self._submit(jobs)
        except Exception:
            # the browser may have died (killed, crashed): start a new one and try once more
            self.stop()
            return self._submit(jobs)


_renderer = _Renderer()
atexit.register(_renderer.stop)


def _export_spec(fig: go.Figure) -> dict:
    """The figure as a dict for kaleido; WebGL traces (scattergl, used by pages for many points)
    become their SVG twins: headless software WebGL takes tens of seconds and an SVG export would
    hold a bitmap instead of vectors."""
    spec = fig.to_dict()
    for trace in spec.get("data", []):
        if trace.get("type") == "scattergl":
            trace["type"] = "scatter"
    return spec


def render_many(figs: list[tuple[go.Figure, str, int, int, float]]) -> list[bytes]:
    """Images of several figures at once: (fig, format, width, height, scale) each."""
    return _renderer.render([(_export_spec(fig), dict(format=fmt, width=w, height=h, scale=sc))
                             for fig, fmt, w, h, sc in figs])


def _render(fig: go.Figure, fmt: str, width: int, height: int, scale: float) -> bytes:
    return render_many([(fig, fmt, width, height, scale)])[0]


def warm_up() -> None:
    """Start the kaleido browser and render one tiny chart (loads plotly.js into the tab), so the
    first real export does not pay the ~4 s start; safe to call from a background thread."""
    _render(go.Figure(go.Bar(x=["a"], y=[1])), "png", 100, 100, 1)


def figure_png(fig: go.Figure, *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT,
               scale: float = CHART_SCALE) -> bytes:
    """A PNG of ``fig`` at ``width`` x ``height`` CSS pixels times ``scale`` (default 2400x1200)."""
    return _render(fig, "png", width, height, scale)


def figure_svg(fig: go.Figure, *, width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> bytes:
    """An SVG of ``fig`` (vector; text stays text in the theme's font list, CJK fonts included)."""
    return _render(fig, "svg", width, height, 1)


def _report(progress: Progress | None, done: int, total: int, what: str) -> None:
    if progress is not None:
        progress(min(done / max(total, 1), 1.0), what)


# Slide geometry in inches, shared by PPTX and PDF (both 13.333 x 7.5 in, 16:9).
PAGE_W, PAGE_H = 13.333, 7.5
MARGIN = 0.5
BODY_TOP = 1.75          # below the title (0.3 in) and the headline (0.7 in, up to two lines)
BOTTOM = 0.3
SIDE_SHARE = 0.64        # chart width share when bullets or a table sit beside it
GAP = 0.25


def _body_box(s: Slide, bottom_reserved: float = 0.0) -> tuple[float, float, bool]:
    """(chart width, chart height, side panel?) of a slide's body, in inches."""
    full_w = PAGE_W - 2 * MARGIN
    side = bool(s.bullets or s.table is not None) and s.figure is not None
    return (full_w * SIDE_SHARE if side else full_w,
            PAGE_H - BODY_TOP - BOTTOM - bottom_reserved, side)


def _pictures(slides: list[Slide], boxes: list[tuple[float, float, bool]], width: int, scale: float,
              progress: Progress | None) -> list[bytes | None]:
    """PNG of each slide's figure filling its (w, h) inch box (the CSS width scales with the box,
    so fonts keep their size relative to the slide); rendered RENDER_TABS at a time, with
    progress (rendering is most of an export's time)."""
    jobs = []
    for i, (s, (box_w, box_h, _)) in enumerate(zip(slides, boxes)):
        if s.figure is not None:
            css_w = round(width * box_w / (PAGE_W - 2 * MARGIN))
            jobs.append((i, (s.figure, "png", css_w, round(css_w * box_h / box_w), scale)))
    out: list[bytes | None] = [None] * len(slides)
    for start in range(0, len(jobs), RENDER_TABS):
        chunk = jobs[start:start + RENDER_TABS]
        _report(progress, start, len(jobs) + 1, ", ".join(slides[i].title for i, _ in chunk))
        for (i, _), png in zip(chunk, render_many([job for _, job in chunk])):
            out[i] = png
    _report(progress, len(jobs), len(jobs) + 1, "")
    return out


def _table_cells(df: pd.DataFrame, max_rows: int) -> tuple[list[str], list[list[str]]]:
    head = [str(c) for c in df.columns]
    rows = [["" if pd.isna(v) else str(v) for v in row]
            for row in df.head(max_rows).itertuples(index=False, name=None)]
    return head, rows


# ---------------------------------------------------------------- PPTX

def _pptx_run_font(run, size: float, *, bold: bool = False, color=TEXT, lang: str = "en") -> None:
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = RGBColor(*color)
    rpr = run._r.get_or_add_rPr()  # noqa: SLF001 - python-pptx has no API for lang / ea font
    rpr.set("lang", "zh-CN" if lang == "zh" else "en-US")
    if lang == "zh":
        rpr.set("altLang", "en-US")
        for old in rpr.findall(qn("a:ea")):
            rpr.remove(old)
        ea = rpr.makeelement(qn("a:ea"), {"typeface": PPTX_EA_FONT})
        # schema order: ln, fills, effects, highlight, uLnTx..., latin, ea, cs, ...
        latin = rpr.find(qn("a:latin"))
        if latin is not None:
            latin.addnext(ea)
        else:
            rpr.append(ea)


def _pptx_text(slide, left, top, width, height, paragraphs: list[str], size: float, *,
               bold: bool = False, color=TEXT, lang: str = "en", bullet: bool = False):
    from pptx.util import Pt

    box = slide.shapes.add_textbox(left, top, width, height)
    tf = box.text_frame
    tf.word_wrap = True
    for i, text in enumerate(paragraphs):
        p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
        run = p.add_run()
        run.text = ("• " + text) if bullet else text
        _pptx_run_font(run, size, bold=bold, color=color, lang=lang)
        if bullet:
            p.space_after = Pt(8)
    return box


def _pptx_table(slide, df: pd.DataFrame, left, top, width, height, lang: str,
                size: float) -> None:
    head, rows = _table_cells(df, TABLE_MAX_ROWS)
    shape = slide.shapes.add_table(len(rows) + 1, len(head), left, top, width, height)
    table = shape.table
    for r, values in enumerate([head, *rows]):
        for c, value in enumerate(values):
            cell = table.cell(r, c)
            cell.text = ""
            run = cell.text_frame.paragraphs[0].add_run()
            run.text = value
            _pptx_run_font(run, size, bold=(r == 0), color=(255, 255, 255) if r == 0 else TEXT,
                           lang=lang)


def to_pptx(slides: list[Slide], *, title: str, subtitle: str, lang: str,
            progress: Progress | None = None, width: int = CHART_WIDTH,
            scale: float = CHART_SCALE, cover: bool = True) -> bytes:
    """A 16:9 PowerPoint deck: a title slide (``title``, ``subtitle`` lines; left out with
    ``cover=False``) then ``slides``.

    ``progress(fraction, label)`` is called before each slide is built and at the end.
    ``width`` is the CSS width of a full-width chart (its fonts' size relative to the slide),
    ``scale`` the pixel density of the pictures.
    """
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(PAGE_W), Inches(PAGE_H)
    blank = prs.slide_layouts[6]
    margin = Inches(MARGIN)
    full_w = prs.slide_width - 2 * margin

    prs.core_properties.title = title
    if cover:
        first = prs.slides.add_slide(blank)
        _pptx_text(first, margin, Inches(2.4), full_w, Inches(1.2), [title], 40, bold=True,
                   color=ACCENT, lang=lang)
        _pptx_text(first, margin, Inches(3.8), full_w, Inches(3.0),
                   [line for line in subtitle.split("\n") if line.strip()], 18, color=MUTED, lang=lang)

    boxes = [_body_box(s) for s in slides]
    pictures = _pictures(slides, boxes, width, scale, progress)
    for s, png, (box_w, box_h, side) in zip(slides, pictures, boxes):
        sl = prs.slides.add_slide(blank)
        _pptx_text(sl, margin, Inches(0.3), full_w, Inches(0.45), [s.title], 16, color=MUTED,
                   lang=lang)
        _pptx_text(sl, margin, Inches(0.7), full_w, Inches(1.0), [s.headline], 28, bold=True,
                   lang=lang)
        top = Inches(BODY_TOP)
        if png is not None:
            sl.shapes.add_picture(io.BytesIO(png), margin, top, Inches(box_w), Inches(box_h))
        side_left = margin + Inches(box_w + GAP) if side else margin
        side_w = full_w - Inches(box_w + GAP) if side else full_w
        y = top
        if s.table_first and not side and s.table is not None and len(s.table.columns):
            rows = min(len(s.table), TABLE_MAX_ROWS) + 1
            _pptx_table(sl, s.table, side_left, y, side_w, Inches(0.32) * rows, lang, 12)
            y = y + Inches(0.32 * rows + 0.5)
        if s.bullets:
            per_line = 0.6 * s.text_size / 16
            h = Inches(min(per_line * len(s.bullets) + 0.3, box_h)) if s.table is not None \
                else Inches(box_h)
            _pptx_text(sl, side_left, y, side_w, h, s.bullets, s.text_size, lang=lang, bullet=True)
            y = y + h
        if s.table is not None and len(s.table.columns) and not (s.table_first and not side):
            rows = min(len(s.table), TABLE_MAX_ROWS) + 1
            _pptx_table(sl, s.table, side_left, y, side_w, Inches(0.32) * rows, lang,
                        11 if side else 14)
        if s.notes:
            sl.notes_slide.notes_text_frame.text = s.notes
    buf = io.BytesIO()
    prs.save(buf)
    _report(progress, 1, 1, "")
    return buf.getvalue()


# ---------------------------------------------------------------- PDF

@lru_cache(maxsize=1)
def cjk_font() -> tuple[str, int] | None:
    """(path, face index) of Noto Sans CJK SC Regular, or None if no CJK font is installed."""
    from fontTools.ttLib import TTCollection, TTFont

    candidates: list[Path] = []
    for d in CJK_FONT_DIRS:
        if os.path.isdir(d):
            candidates += sorted(Path(d).rglob("NotoSansCJK*Regular*"))
            candidates += sorted(Path(d).rglob("NotoSansSC*Regular*"))
    for path in candidates:
        try:
            if path.suffix.lower() in (".ttc", ".otc"):
                coll = TTCollection(str(path), lazy=True)
                for i, f in enumerate(coll.fonts):
                    if f["name"].getDebugName(1) == CJK_FAMILY:
                        return str(path), i
            elif path.suffix.lower() in (".otf", ".ttf"):
                return str(path), 0
        except Exception:  # noqa: BLE001 - a broken font file is skipped, not fatal
            continue
    return None


def _bold_font(path: str) -> str | None:
    bold = path.replace("Regular", "Bold")
    return bold if bold != path and os.path.exists(bold) else None


def to_pdf(slides: list[Slide], *, title: str, subtitle: str, lang: str,
           progress: Progress | None = None, notes: bool = True, width: int = CHART_WIDTH,
           scale: float = CHART_SCALE, cover: bool = True) -> bytes:
    """A 16:9 PDF: a title page (left out with ``cover=False``) then one page per slide; fonts
    embedded (Noto Sans CJK SC).

    ``notes``: print the presenter notes under the chart (a handout). Raises RuntimeError when
    no CJK font is installed (Debian: fonts-noto-cjk) since Chinese would render as boxes.
    """
    from fpdf import FPDF, FontFace

    font = cjk_font()
    if font is None:
        raise RuntimeError("No CJK font found: install fonts-noto-cjk (Noto Sans CJK SC).")
    mm = 25.4
    page_w, page_h = PAGE_W * mm, PAGE_H * mm
    pdf = FPDF(orientation="L", unit="mm", format=(page_h, page_w))
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN * mm, 8, MARGIN * mm)
    pdf.set_title(title)
    path, index = font
    pdf.add_font("cjk", "", path, collection_font_number=index)
    bold = _bold_font(path)
    pdf.add_font("cjk", "B", bold or path, collection_font_number=index)
    margin = MARGIN * mm
    full_w = page_w - 2 * margin

    def text(y: float, value: str, size: float, *, style: str = "", color=TEXT, x: float = margin,
             w: float = full_w, line: float | None = None) -> float:
        pdf.set_font("cjk", style, size)
        pdf.set_text_color(*color)
        pdf.set_xy(x, y)
        pdf.multi_cell(w, line or size * 0.5, value, new_x="LMARGIN", new_y="NEXT", align="L")
        return pdf.get_y()

    if cover:
        pdf.add_page()
        text(62, title, 34, style="B", color=ACCENT, line=16)
        text(pdf.get_y() + 6, "\n".join(line for line in subtitle.split("\n") if line.strip()), 15,
             color=MUTED, line=8)

    note_heights = []
    for s in slides:
        note_h = 0.0
        if notes and s.notes:
            pdf.set_font("cjk", "", 10)
            lines = pdf.multi_cell(full_w, 5, s.notes, dry_run=True, output="LINES")
            note_h = min(len(lines), 6) * 5 + 4
        note_heights.append(note_h)
    boxes = [_body_box(s, h / mm) for s, h in zip(slides, note_heights)]
    pictures = _pictures(slides, boxes, width, scale, progress)
    for s, png, note_h, (box_w, box_h, side) in zip(slides, pictures, note_heights, boxes):
        pdf.add_page()
        text(0.3 * mm, s.title, 16, color=MUTED, line=7)
        text(0.7 * mm, s.headline, 28, style="B", line=12)
        y = BODY_TOP * mm
        if png is not None:
            pdf.image(io.BytesIO(png), x=margin, y=y, w=box_w * mm, h=box_h * mm)
        side_x = margin + (box_w + GAP) * mm if side else margin
        side_w = full_w - (box_w + GAP) * mm if side else full_w
        sy = y

        def table_at(ty: float) -> float:
            head, rows = _table_cells(s.table, TABLE_MAX_ROWS)
            pdf.set_font("cjk", "", 9 if side else 12)
            pdf.set_text_color(*TEXT)
            pdf.set_xy(side_x, ty)
            with pdf.table(width=side_w, line_height=5 if side else 6.5, text_align="LEFT", align="LEFT",
                           headings_style=FontFace(emphasis="BOLD", color=(255, 255, 255),
                                                   fill_color=ACCENT),
                           first_row_as_headings=True) as t:
                for values in [head, *rows]:
                    r = t.row()
                    for v in values:
                        r.cell(v)
            return pdf.get_y()

        has_table = s.table is not None and len(s.table.columns)
        table_first = has_table and s.table_first and not side
        if table_first:
            sy = table_at(sy) + 6
        if s.bullets:
            for b in s.bullets:  # a no-break space: Chinese lines have no other place to wrap
                sy = text(sy, "•\u00a0" + b, s.text_size, x=side_x, w=side_w, line=s.text_size * 0.47) + 2
        if has_table and not table_first:
            table_at(sy + 2)
        if note_h:
            text(page_h - BOTTOM * mm - note_h + 4, s.notes, 10, color=MUTED, line=5)
    out = bytes(pdf.output())
    _report(progress, 1, 1, "")
    return out
