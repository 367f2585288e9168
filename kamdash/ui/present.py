"""Streamlit edge of the Present page: presentation layout, slide chooser (saved in the user
database), navigation, and PPTX/PDF export with progress. Each slide's numbers come from
``kamdash.views.present`` fed by the pages' cached data; ``kamdash.ui.present_text`` words them."""

from __future__ import annotations

import html
import threading
import time
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from kamdash import deck
from kamdash.ui import allowed, components, data, safe
from kamdash.ui import present_text as text
from kamdash.ui import retention as retention_ui
from kamdash.ui import segments as segments_ui
from kamdash.views import present as view

ORDER_SETTING = "present.order"
INDEX_KEY = "present_slide"
ORDER_KEY = "present_order"
EXPORT_KEY = "kamdash.present.export"  # (format, signature) -> bytes of the last built deck
SLIDE_HEIGHT = 560  # px of a chart on the presented slide

CSS = """
<style>
.kd-slide-title {font-size: 1.15rem; color: #6b7280; margin-bottom: 0.1rem;}
.kd-headline {font-size: 2.3rem; font-weight: 700; line-height: 1.2; color: #1f2a37;
              margin: 0 0 0.6rem 0;}
.kd-bullets {font-size: 1.35rem; line-height: 1.5; color: #1f2a37; padding-left: 1.1rem;}
.kd-counter {color: #6b7280; font-size: 1rem; padding-top: 0.45rem;}
</style>
"""


_warm = threading.Event()


def _warm_up() -> None:
    try:
        deck.warm_up()
    except Exception:  # noqa: BLE001 - the export will report the problem when asked for
        _warm.clear()


def setup() -> None:
    """Presentation layout (app.py collapses the sidebar on this page's URL), big text; starts
    the chart renderer in the background so the first export does not wait for it."""
    st.set_page_config(layout="wide")
    st.html(CSS)
    if not _warm.is_set():
        _warm.set()
        threading.Thread(target=_warm_up, name="kamdash-kaleido-warmup", daemon=True).start()


def scenarios() -> dict[str, dict]:
    try:
        return view.read_scenarios(data.user_db_path())
    except Exception:  # noqa: BLE001 - an unreadable user database must not break the page
        return {}


def _options(scns: dict) -> list[str]:
    return [*view.SLIDES, *view.OPTIONAL, *(view.SCENARIO_PREFIX + sid for sid in scns)]


def chooser(ctx, scns: dict) -> list[str]:
    """The chosen slides in order (multiselect in the order picked; saved on request)."""
    saved = view.valid_order(data.setting(ORDER_SETTING, list(view.SLIDES)), scns) or list(view.SLIDES)
    if ORDER_KEY in st.session_state:  # drop a scenario deleted since it was chosen
        st.session_state[ORDER_KEY] = view.valid_order(st.session_state[ORDER_KEY], scns)
    order = st.multiselect(ctx.t("present.choose"), _options(scns), default=saved, key=ORDER_KEY,
                           format_func=lambda s: text.slide_name(ctx, s, scns),
                           help=ctx.t("present.choose.help"))
    if not scns:
        st.caption(ctx.t("present.no_scenarios"))
    why_not = allowed.settings(ctx)
    if order and order != saved and st.button(ctx.t("present.save_order"), key="present_save",
                                              disabled=why_not is not None, help=why_not):
        data.put_setting(ORDER_SETTING, list(order))
        st.toast(ctx.t("present.saved"))
    return list(order)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def slide_facts(data_key, filters, peers: bool = False):
    return view.slide_facts(data.engine(), filters, peers)


def build_slide(ctx, sid: str, scns: dict) -> deck.Slide:
    """One slide of the storyline from the pages' cached data."""
    f, key = ctx.filters, ctx.data_key
    if sid == "overview":
        return text.overview_slide(ctx, view.overview(data.overview(key, f, ctx.facts["first_month"]), f))
    if sid in ("concentration", "whale"):
        facts = slide_facts(key, f)
        if sid == "concentration":
            return text.concentration_slide(ctx, view.concentration(facts))
        # each loss-maker against the customers of its type among all of the period, as on the page
        return text.whale_slide(ctx, view.whale(facts, slide_facts(key, f, peers=True)))
    if sid in ("segments", "ka_portfolio"):
        cfg = segments_ui.saved_config(ctx.facts)
        fs = replace(f, customer_ids=None)  # as on the segments / KA pages: they define these filters
        rules = segments_ui.saved_rules()
        if sid == "ka_portfolio":
            ka = segments_ui.key_accounts(key, fs, "breadth" in cfg["features"], repr(rules), rules)
            return text.ka_portfolio_slide(ctx, view.ka_portfolio(ka.features, ka.types, f.end))
        seg = segments_ui.segments(key, fs, tuple(cfg["features"]), cfg["k"], cfg["method"], repr(rules), rules)
        if seg is None:
            return deck.Slide(ctx.t("present.slide.segments"), ctx.t("seg.empty"))
        return text.segments_slide(ctx, view.segments(seg.features, cfg, data.setting(segments_ui.NAMES_KEY, {}),
                                                      seg.result))
    if sid in view.OPTIONAL:  # the My accounts page's view: its saved weights, fit and plans
        from kamdash.ui import my_accounts as my_accounts_ui

        v = my_accounts_ui.load(ctx, my_accounts_ui.saved_weights())
        if sid == "whitespace":
            return text.whitespace_slide(ctx, view.whitespace(v))
        return text.health_slide(ctx, view.health(v), why=lambda row: my_accounts_ui.why_text(ctx, row, v.typical_rhythm))
    if sid == "retention":
        matrix, sizes = retention_ui.cohort_frames(key, f, "M", ctx.facts["last_month"])
        return text.retention_slide(ctx, view.retention(matrix, sizes))
    return text.scenario_slide(ctx, view.scenario(scns[sid[len(view.SCENARIO_PREFIX):]]))


def navigator(ctx, order: list[str], scns: dict) -> int:
    """Previous / next buttons and a jump-to list; returns the index of the slide to show."""
    n = len(order)
    if st.session_state.get(INDEX_KEY, 0) >= n:
        st.session_state[INDEX_KEY] = n - 1

    def step(d: int) -> None:
        st.session_state[INDEX_KEY] = min(max(st.session_state.get(INDEX_KEY, 0) + d, 0), n - 1)

    i = st.session_state.get(INDEX_KEY, 0)
    c1, c2, c3, c4 = st.columns([1, 1, 3, 2], vertical_alignment="center")
    c1.button(ctx.t("present.prev"), key="present_prev", on_click=step, args=(-1,), disabled=i <= 0,
              icon=":material/arrow_back:", width="stretch")
    c2.button(ctx.t("present.next"), key="present_next", on_click=step, args=(1,), disabled=i >= n - 1,
              icon=":material/arrow_forward:", width="stretch", type="primary")
    c3.selectbox(ctx.t("present.jump"), list(range(n)), key=INDEX_KEY, label_visibility="collapsed",
                 format_func=lambda k: f"{k + 1}. {text.slide_name(ctx, order[k], scns)}")
    c4.markdown(f"<div class='kd-counter'>{html.escape(ctx.t('present.counter', i=i + 1, n=n))}</div>",
                unsafe_allow_html=True)
    return st.session_state[INDEX_KEY]


def show(ctx, s: deck.Slide, key: str) -> None:
    """One slide, large: title, headline, chart (+ bullets / table beside it), notes."""
    st.markdown(f"<div class='kd-slide-title'>{html.escape(s.title)}</div>"
                f"<div class='kd-headline'>{html.escape(s.headline)}</div>", unsafe_allow_html=True)
    side = bool(s.bullets or s.table is not None)
    main, right = st.columns([2, 1]) if side and s.figure is not None else (st.container(), st.container())
    if s.figure is not None:
        fig = go.Figure(s.figure)  # a copy: the presented chart is taller than on the pages
        fig.update_layout(height=SLIDE_HEIGHT, font_size=16)
        components.chart(ctx, fig, f"slide_{key}", f"kamdash-{key}", where=main)
    if s.bullets:
        items = "".join(f"<li>{html.escape(b)}</li>" for b in s.bullets)
        right.markdown(f"<ul class='kd-bullets'>{items}</ul>", unsafe_allow_html=True)
    if s.table is not None:
        first = s.table.columns[0]  # long account names: leave room for the other columns
        # shown, not downloaded: the slide's table is formatted text; its data downloads from its page
        right.dataframe(s.table, key=f"slide_table_{key}", hide_index=True, width="stretch",
                        column_config={first: st.column_config.TextColumn(first, width="medium")})
    if s.notes:
        with st.expander(ctx.t("present.notes_header")):
            st.markdown(safe.md(s.notes))


def _signature(ctx, order: list[str]) -> tuple:
    return (ctx.lang, ctx.data_key, ctx.filters, tuple(order), data.user_signature())


def exports(ctx, order: list[str], scns: dict) -> None:
    """Build the whole storyline as PPTX or PDF on the server with progress, then offer it."""
    st.subheader(ctx.t("present.export_header"))
    sig = _signature(ctx, order)
    built = st.session_state.get(EXPORT_KEY, {})
    c1, c2 = st.columns(2)
    for col, fmt in ((c1, "pptx"), (c2, "pdf")):
        if col.button(ctx.t(f"present.export_{fmt}"), key=f"present_build_{fmt}",
                      icon=":material/slideshow:" if fmt == "pptx" else ":material/picture_as_pdf:"):
            with col.status(ctx.t("present.building"), expanded=True) as status:
                bar = st.progress(0.0)
                try:
                    t0 = time.perf_counter()
                    slides = [build_slide(ctx, sid, scns) for sid in order]
                    make = deck.to_pptx if fmt == "pptx" else deck.to_pdf
                    payload = make(slides, title=ctx.t("present.deck_title"),
                                   subtitle="\n".join(text.filter_lines(ctx, ctx.filters, ctx.facts)),
                                   lang=ctx.lang, progress=lambda x, label: bar.progress(
                                       x, text=ctx.t("present.building_slide", title=label) if label else None))
                except Exception as exc:  # noqa: BLE001 - shown to the user, the page stays usable
                    status.update(label=ctx.t("present.export_failed", detail=str(exc).splitlines()[0]),
                                  state="error")
                    continue
                seconds = time.perf_counter() - t0
                built = {**{k: v for k, v in built.items() if k[1] == sig}, (fmt, sig): payload}
                st.session_state[EXPORT_KEY] = built
                status.update(label=ctx.t("present.built", n=len(slides) + 1, seconds=seconds),
                              state="complete", expanded=False)
        payload = built.get((fmt, sig))
        if payload is not None:
            mime = ("application/vnd.openxmlformats-officedocument.presentationml.presentation"
                    if fmt == "pptx" else "application/pdf")
            col.download_button(ctx.t(f"present.download_{fmt}"), payload, key=f"present_dl_{fmt}",
                                file_name=f"kamdash-storyline-{ctx.lang}.{fmt}", mime=mime,
                                on_click="ignore", type="primary", icon=":material/download:")
