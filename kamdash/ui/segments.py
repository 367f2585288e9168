"""Widgets and display preparation of the segments and key-accounts pages.

The segmentation settings (features, method, k), segment names and KA rules are saved in the
user database (``store.put_setting``) so they survive a re-import of sales data. Whenever a
page computes the assignment (segment + KA types per customer) and it differs from the stored
one, it is stored (user table ``customer_assignment``) for the sidebar filters of every page.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
import streamlit as st

from kamdash import export, i18n, store
from kamdash.charts import segments as charts
from kamdash.ui import account, allowed, components, data, lines, present_text
from kamdash.views import key_accounts as ka_view
from kamdash.views import segments as view

CONFIG_KEY = "segments.config"
NAMES_KEY = "segments.names"
RULES_KEY = "ka.rules"
HASH_KEY = "assignment.hash"
K_OPTIONS = ("auto", *range(view.K_RANGE[0], view.K_RANGE[1] + 1))


@dataclass
class Segmentation:
    """The view's segments with the words the UI gives them and the stored assignment."""
    features: pd.DataFrame
    result: view.SegmentResult
    profile: pd.DataFrame
    names: dict
    suggested: dict
    names_sig: str
    types: pd.DataFrame
    rules: view.KaRules
    assignment: pd.DataFrame
    data: view.Segments


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def segments(data_key, filters, columns: tuple, k, method: str, rules_key: str, _rules: view.KaRules):
    """The segments view (cached by data version, filters, settings and the rules' values)."""
    return view.build(data.engine(), filters, columns, k, method, _rules)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def key_accounts(data_key, filters, breadth: bool, rules_key: str, _rules: view.KaRules) -> ka_view.KeyAccounts:
    """Features and key-account types without segments (the key-accounts page's first screen,
    the portfolio slide), cached like ``segments``."""
    return ka_view.build(data.engine(), filters, breadth, _rules)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def segments_of(data_key, filters, columns: tuple, k, method: str, rules_key: str, _ka: ka_view.KeyAccounts):
    """The segments view on key accounts already read (the same features: cached under the same
    key as ``segments``)."""
    return view.from_features(_ka.features, _ka.links, columns, k, method, _ka.rules, _ka.types)


def key_accounts_of(ctx) -> ka_view.KeyAccounts:
    """The key accounts of the sidebar's period and filters (the KA type and segment filters do
    not apply: these pages define them), with the saved rules."""
    rules = saved_rules()
    return key_accounts(ctx.data_key, replace(ctx.filters, customer_ids=None),
                        "breadth" in saved_config(ctx.facts)["features"], repr(rules), rules)


def saved_config(facts: dict | None = None) -> dict:
    """The saved features, method and k; with the data's ``facts``, without the features the
    data cannot give (product breadth when the order lines stay in a company source)."""
    cfg = view.features_of(data.setting(CONFIG_KEY, {}))
    usable = available_features(facts)
    if any(f not in usable for f in cfg["features"]):
        cols = tuple(f for f in cfg["features"] if f in usable)
        cfg = {**cfg, "features": cols or tuple(f for f in view.DEFAULT_FEATURES if f in usable)}
    return cfg


def available_features(facts: dict | None) -> tuple:
    if facts is not None and lines.at_source(facts):
        return tuple(f for f in view.FEATURES if f != "breadth")
    return tuple(view.FEATURES)


def saved_rules() -> view.KaRules:
    return view.KaRules.from_dict(data.setting(RULES_KEY, {}))


def _save_config() -> None:
    if not data.may_edit_settings():  # a reader's choice stays in their session
        return
    k = st.session_state["seg_k"]
    data.put_setting(CONFIG_KEY, {"features": list(st.session_state["seg_features"]) or list(view.DEFAULT_FEATURES),
                                  "method": st.session_state["seg_method"],
                                  "k": None if k == "auto" else int(k)})


def controls(ctx) -> None:
    """Feature, method and k pickers (saved on change)."""
    cfg = saved_config(ctx.facts)
    if "breadth" in view.features_of(data.setting(CONFIG_KEY, {}))["features"]:
        lines.note(ctx, "breadth")
    st.multiselect(ctx.t("seg.features"), list(available_features(ctx.facts)), default=list(cfg["features"]),
                   format_func=lambda f: ctx.t(f"seg.feature.{f}"), key="seg_features",
                   on_change=_save_config, help=ctx.t("seg.features.help"))
    c2, c3 = st.columns([1, 1])
    c2.segmented_control(ctx.t("seg.method"), list(view.METHODS), default=cfg["method"],
                         format_func=lambda m: ctx.t(f"seg.method.{m}"), key="seg_method",
                         on_change=_save_config, required=True, help=ctx.t("seg.method.help"))
    c3.select_slider(ctx.t("seg.k"), list(K_OPTIONS), value=cfg["k"] or "auto", key="seg_k",
                     format_func=lambda k: ctx.t("seg.k.auto") if k == "auto" else str(k),
                     on_change=_save_config, help=ctx.t("seg.k.help"), bind="query-params")


def _name_of(ctx, tokens: tuple) -> str:
    level, *traits = tokens
    name = ctx.t(f"seg.name.{level}")
    return name + (ctx.t("seg.name.sep") + ctx.t("seg.name.sep").join(
        ctx.t(f"seg.name.{t}") for t in traits) if traits else "")


def compute(ctx, ka: ka_view.KeyAccounts | None = None) -> Segmentation | None:
    """Features, segments and KA types of the customers in the sidebar's period and filters
    (the KA type and segment filters themselves do not apply here: these pages define them);
    ``ka``: the key accounts already read (``key_accounts_of``), whose features they reuse.
    Stores the assignment when it changed. None when fewer than three customers have an order."""
    f = replace(ctx.filters, customer_ids=None)
    cfg = saved_config(ctx.facts)
    shown = st.session_state.get("seg_k")  # the segments page's k (also from a shared link)
    if shown is not None:
        cfg["k"] = None if shown == "auto" else int(shown)
    rules = saved_rules() if ka is None else ka.rules
    seg = segments(ctx.data_key, f, tuple(cfg["features"]), cfg["k"], cfg["method"], repr(rules), rules) \
        if ka is None else segments_of(ctx.data_key, f, tuple(cfg["features"]), cfg["k"], cfg["method"], repr(rules), ka)
    if seg is None:
        return None
    suggested = {s: _name_of(ctx, t) for s, t in seg.name_tokens.items()}
    seen: dict = {}
    for s, n in suggested.items():  # same name twice: number them
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1 or list(suggested.values()).count(n) > 1:
            suggested[s] = f"{n} ({s})"
    sig = seg.signature
    saved = (data.setting(NAMES_KEY, {}) or {}).get(sig, {})
    names = {s: saved.get(str(s)) or suggested[s] for s in suggested}
    assigned = view.assignment(seg, names)
    _store(assigned)
    return Segmentation(seg.features, seg.result, seg.profile, names, suggested, sig, seg.types, rules, assigned,
                        seg)


def _store(assigned: pd.DataFrame) -> None:
    cols = ["customer_id", "segment", "segment_name", "ka_types"]
    digest = str(int(pd.util.hash_pandas_object(assigned[cols], index=False).sum()))
    before = data.setting(HASH_KEY)
    a = data.actor()
    if a.scope is not None or not a.can_edit_settings:
        return  # the stored assignment covers every customer: only a full view replaces it
    if before != digest:
        store.put_assignment(data.user_db_path(), assigned)
        data.put_setting(HASH_KEY, digest, audited=False)
        if before is None:  # the sidebar filters were drawn disabled before the first assignment
            st.rerun()


def show_choice(ctx, seg: Segmentation) -> None:
    """Why this k: the silhouette chart when k was chosen automatically."""
    r = seg.result
    if not r.auto:
        st.caption(ctx.t("seg.k_fixed", k=r.k))
        return
    best = r.silhouette.loc[r.silhouette["k"] == r.k, "silhouette"].iloc[0]
    labels = {"title": ctx.t("seg.sil.title"), "x": ctx.t("seg.sil.x"), "y": ctx.t("seg.sil.y"),
              "excluded": ctx.t("seg.sil.excluded")}
    components.chart(ctx, charts.silhouette_chart(r.silhouette, r.k, labels), "silhouette", "kamdash-silhouette")
    st.caption(ctx.t("seg.sil.why", k=r.k, score=f"{best:.2f}"))


def _axis_title(ctx, axis_words: list, explained: float) -> str:
    words = [ctx.t("seg.axis.up" if sign > 0 else "seg.axis.down", feature=ctx.t(f"seg.feature.{f}"))
             for f, sign in axis_words]
    return ctx.t("seg.axis", share=i18n.fmt_pct(explained, ctx.lang, 0), words=ctx.t("seg.name.sep").join(words))


def segment_map(ctx, seg: Segmentation):
    m = view.segment_map(seg.data)
    idx, feats = m.sample, m.features
    points = pd.DataFrame({"x": m.coords[:, 0], "y": m.coords[:, 1], "segment": m.segment,
                           "value": feats["revenue"].to_numpy(), "account": i18n.customer_names(feats, ctx.lang).to_numpy()})
    labels = {"title": ctx.t("seg.map.title"), "value": ctx.t("col.revenue"),
              "x": _axis_title(ctx, m.axis_words[0], m.explained[0]),
              "y": _axis_title(ctx, m.axis_words[1], m.explained[1])}
    fig = charts.segment_map(points, seg.names, labels, ctx.lang, ctx.currency)
    note = ctx.t("seg.map.sample", n=i18n.fmt_number(len(idx), ctx.lang),
                 total=i18n.fmt_number(len(seg.features), ctx.lang)) if len(idx) < len(seg.features) else ""
    return fig, (ctx.t("seg.map.caption") + " " + note).strip()


def _fmt_feature(ctx, f: str, v: float) -> str:
    if f in ("revenue", "gross_profit", "account_profit"):
        return ctx.money(v)
    if f in ("margin", "regularity"):
        return i18n.fmt_pct(v, ctx.lang, 0)
    if f == "growth":  # the segment's growth (analytics.growth), a percentage change
        return i18n.fmt_delta_pct(v, ctx.lang, 0)
    return i18n.fmt_number(v, ctx.lang, digits=0 if abs(v) >= 10 else 1)


def profile_heatmap(ctx, seg: Segmentation):
    p = seg.profile
    rows = [f"{s} · {seg.names[s]}" for s in p["segment"]]
    cols = [ctx.t(f"seg.feature.{f}") for f in seg.result.features]
    # colour says better (blue) or worse (red) than average: for recency fewer days is better
    z = pd.DataFrame({c: p[f"z_{f}"].to_numpy() * (-1 if f == "recency" else 1)
                      for c, f in zip(cols, seg.result.features)}, index=rows)
    text = pd.DataFrame({c: [_fmt_feature(ctx, f, v) for v in p[f]] for c, f in zip(cols, seg.result.features)},
                        index=rows)
    labels = {"title": ctx.t("seg.heat.title"), "colorbar": ctx.t("seg.heat.colorbar")}
    return charts.profile_heatmap(z, text, labels)


def profile_table(ctx, seg: Segmentation) -> pd.DataFrame:
    p = seg.profile
    return export.frame([
        (ctx.t("seg.col.segment"), "int", p["segment"]),
        (ctx.t("seg.col.name"), "text", [seg.names[s] for s in p["segment"]]),
        (ctx.t("seg.col.customers"), "int", p["customers"]),
        (ctx.t("seg.col.customer_share"), "pct", p["customer_share"]),
        (ctx.t("col.revenue"), "money", p["total_revenue"]),
        (ctx.t("seg.col.value_share"), "pct", p["value_share"]),
        (ctx.t("col.account_profit"), "money", p["total_account_profit"]),
        (ctx.t("seg.feature.margin"), "pct", p["account_margin"]),
        (ctx.t("segx.col.loss_makers"), "int", p["loss_makers"]),
        (ctx.t("segx.col.new"), "int", p["new_accounts"]),
    ], ctx.currency)


def name_editor(ctx, seg: Segmentation) -> None:
    """Editable segment names (saved for this choice of features, method and k)."""
    df = pd.DataFrame({"segment": list(seg.names), "suggested": [seg.suggested[s] for s in seg.names],
                       "name": list(seg.names.values())})
    cfg = {"segment": st.column_config.NumberColumn(ctx.t("seg.col.segment"), disabled=True, width=60),
           "suggested": st.column_config.TextColumn(ctx.t("seg.col.suggested"), disabled=True),
           "name": st.column_config.TextColumn(ctx.t("seg.col.name"), required=True, max_chars=60)}
    with st.form("seg_names_form", border=False):
        edited = st.data_editor(df, column_config=cfg, hide_index=True, key="seg_names",
                                width="stretch", num_rows="fixed")
        why_not = allowed.settings(ctx)
        if st.form_submit_button(ctx.t("seg.names.save"), disabled=why_not is not None, help=why_not):
            all_names = dict(data.setting(NAMES_KEY, {}) or {})
            all_names[seg.names_sig] = {str(int(s)): (str(n).strip() or seg.suggested[int(s)])
                                        for s, n in zip(edited["segment"], edited["name"])}
            data.put_setting(NAMES_KEY, all_names)
            st.rerun()


def assignment_table(ctx, seg: Segmentation) -> pd.DataFrame:
    """The segment and key-account types of every customer, as downloaded (one 0/1 column per
    type, so a spreadsheet can filter and count them)."""
    a = seg.assignment
    return export.frame([
        ("customer_id", "id", a["customer_id"]), ("name", "text", a["name"]),
        ("segment", "int", a["segment"]), ("segment_name", "text", a["segment_name"]),
        ("ka_types", "text", a["ka_types"]),
        *[(f"ka_{t}", "int", a[t].astype(int)) for t in view.KA_TYPES],
        ("revenue", "money", a["revenue"]),
    ], ctx.currency)


def download(ctx, seg: Segmentation, key: str) -> None:
    """CSV and Excel downloads of the assignment."""
    components.table_downloads(ctx, assignment_table(ctx, seg), key, "kamdash-assignment")


# ---------------------------------------------------------------- key accounts


def _rules_form_values(rules: view.KaRules, **changes) -> None:
    data.put_setting(RULES_KEY, replace(rules, **changes).to_dict())
    st.rerun()


def capacity_editor(ctx, rules: view.KaRules, active: int) -> None:
    """What the key-account team can serve: a number of accounts, or a share of the active
    customers (0 accounts); saved with the rules on submit."""
    with st.form("ka_capacity_form"):
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
        cap = c1.number_input(ctx.t("kasel.capacity"), 0, 1_000_000, int(rules.capacity), 10,
                              key="ka_capacity", help=ctx.t("kasel.capacity.help"))
        share = c2.number_input(ctx.t("kasel.share"), 0.5, 100.0, float(rules.share * 100), 0.5,
                                key="ka_share", help=ctx.t("kasel.share.help", n=i18n.fmt_number(active, ctx.lang)))
        why_not = allowed.settings(ctx)
        if c3.form_submit_button(ctx.t("kasel.capacity.save"), type="primary", disabled=why_not is not None,
                                 help=why_not):
            _rules_form_values(rules, capacity=int(cap), share=float(share) / 100)


def rules_editor(ctx, rules: view.KaRules, sectors: list[str]) -> None:
    """Every KA rule threshold, editable; saved on submit."""
    with st.form("ka_rules_form"):
        c1, c2 = st.columns(2)
        c1.markdown(f"**{ctx.t('ka.type.economic')}**")
        econ_r = c1.number_input(ctx.t("ka.rule.economic_top_revenue"), 0.0, 100.0,
                                 rules.economic_top_revenue * 100, 1.0, key="ka_econ_rev")
        econ_f = c1.number_input(ctx.t("ka.rule.economic_top_frequency"), 0.0, 100.0,
                                 rules.economic_top_frequency * 100, 1.0, key="ka_econ_freq")
        c1.markdown(f"**{ctx.t('ka.type.important')}**")
        imp_s = c1.multiselect(ctx.t("ka.rule.important_sectors"), sorted(set(sectors) | set(rules.important_sectors)),
                               default=list(rules.important_sectors), key="ka_imp_sectors",
                               format_func=lambda v: ctx.label("sector", v))
        imp_t = c1.number_input(ctx.t("kasel.rule.important_top_share"), 0.0, 100.0,
                                rules.important_top_share * 100, 1.0, key="ka_imp_top")
        imp_r = c1.number_input(ctx.t("ka.rule.important_min_revenue", currency=ctx.currency), 0.0, None,
                                float(rules.important_min_revenue), 1000.0, key="ka_imp_rev",
                                help=ctx.t("kasel.rule.off_help"))
        c2.markdown(f"**{ctx.t('ka.type.group')}**")
        g_c = c2.number_input(ctx.t("ka.rule.group_min_children"), 1, 1000, rules.group_min_children, 1,
                              key="ka_group_children")
        g_r = c2.number_input(ctx.t("ka.rule.group_min_referrals"), 1, 1000, rules.group_min_referrals, 1,
                              key="ka_group_referrals")
        g_v = c2.number_input(ctx.t("kasel.rule.group_min_revenue", currency=ctx.currency), 0.0, None,
                              float(rules.group_min_revenue), 10_000.0, key="ka_group_rev",
                              help=ctx.t("kasel.rule.group_min_revenue.help"))
        c2.markdown(f"**{ctx.t('ka.type.strategic')}**")
        s_g = c2.number_input(ctx.t("ka.rule.strategic_min_growth"), -100.0, 10_000.0,
                              rules.strategic_min_growth * 100, 5.0, key="ka_strat_growth",
                              help=ctx.t("ka.rule.growth_help"))
        s_r = c2.number_input(ctx.t("ka.rule.strategic_min_revenue", currency=ctx.currency), 0.0, None,
                              float(rules.strategic_min_revenue), 1000.0, key="ka_strat_rev")
        s_f = c2.text_area(ctx.t("ka.rule.strategic_flagged"), ", ".join(rules.strategic_flagged),
                           key="ka_strat_flagged", help=ctx.t("ka.rule.strategic_flagged.help"))
        why_not = allowed.settings(ctx)
        if st.form_submit_button(ctx.t("ka.rules.save"), type="primary", disabled=why_not is not None,
                                 help=why_not):
            _rules_form_values(
                rules, economic_top_revenue=econ_r / 100, economic_top_frequency=econ_f / 100,
                important_sectors=tuple(imp_s), important_top_share=imp_t / 100, important_min_revenue=imp_r,
                group_min_children=int(g_c), group_min_referrals=int(g_r), group_min_revenue=g_v,
                strategic_min_growth=s_g / 100, strategic_min_revenue=s_r,
                strategic_flagged=tuple(x.strip() for x in s_f.replace("\n", ",").split(",") if x.strip()))
        if st.form_submit_button(ctx.t("ka.rules.reset"), disabled=why_not is not None, help=why_not):
            data.put_setting(RULES_KEY, view.KaRules().to_dict())
            st.rerun()


def selection(ctx, seg: ka_view.KeyAccounts) -> None:
    """How selective the key-account set is: count, shares of customers, revenue and account
    profit, and a warning when it is no longer the few."""
    s = ka_view.selection(seg)
    pct = lambda v: i18n.fmt_pct(v, ctx.lang)  # noqa: E731
    c1, c2, c3 = st.columns(3)
    c1.metric(ctx.t("kasel.count"), i18n.fmt_number(s["key_accounts"], ctx.lang),
              help=ctx.t("kasel.count.help"))
    c1.caption(ctx.t("kasel.count.of", share=pct(s["customer_share"]), n=i18n.fmt_number(s["customers"], ctx.lang)))
    c2.metric(ctx.t("kasel.profit_share"), pct(s["account_profit_share"]), help=ctx.t("kasel.profit_share.help"))
    c2.caption(ctx.money(s["account_profit"]))
    c3.metric(ctx.t("kasel.revenue_share"), pct(s["revenue_share"]))
    c3.caption(ctx.money(s["revenue"]))
    limit_text = (ctx.t("kasel.limit.capacity", n=i18n.fmt_number(s["limit"], ctx.lang)) if seg.rules.capacity > 0
                  else ctx.t("kasel.limit.share", share=i18n.fmt_pct(seg.rules.share, ctx.lang),
                             n=i18n.fmt_number(s["limit"], ctx.lang)))
    st.caption(ctx.t("kasel.how", qualifying=i18n.fmt_number(s["qualifying"], ctx.lang), limit=limit_text,
                     n=i18n.fmt_number(s["key_accounts"], ctx.lang)))
    if not s["few"]:
        st.warning(ctx.t("kasel.not_few", share=pct(s["customer_share"]), few=i18n.fmt_pct(ka_view.FEW_SHARE, ctx.lang, 0)))
    elif s["account_profit_share"] == s["account_profit_share"] and s["account_profit_share"] < 0.5:
        st.info(ctx.t("kasel.little_profit", share=pct(s["account_profit_share"])))


def types_figure(ctx, seg: ka_view.KeyAccounts):
    s = ka_view.type_summary(seg)
    s = s[s["ka_type"] != "none"].copy()
    s["ka_type"] = [ctx.t("kasel.type.selected") if t == "any" else ctx.t(f"ka.type.{t}") for t in s["ka_type"]]
    labels = {"title": ctx.t("ka.types.title"), "x": ctx.t("ka.types.x"), "customers": ctx.t("ka.types.customers")}
    return charts.ka_types_chart(s, labels, ctx.lang)


def types_table(ctx, seg: ka_view.KeyAccounts) -> pd.DataFrame:
    s = ka_view.type_summary(seg)
    s["ka_type"] = s["ka_type"].replace({"any": "selected", "none": "not_selected"})
    return export.frame([
        (ctx.t("ka.col.type"), "text", [ctx.t(f"kasel.type.{t}") if t in ("selected", "not_selected")
                                        else ctx.t(f"ka.type.{t}") for t in s["ka_type"]]),
        (ctx.t("seg.col.customers"), "int", s["customers"]),
        (ctx.t("kasel.col.qualifying"), "int", s["qualifying"]),
        (ctx.t("col.revenue"), "money", s["revenue"]),
        (ctx.t("seg.col.value_share"), "pct", s["revenue_share"]),
        (ctx.t("col.account_profit"), "money", s["account_profit"]),
    ], ctx.currency)


def growth_text(ctx, pf: pd.DataFrame) -> list[str]:
    """Growth of each portfolio row as shown: a signed percentage, or "new"."""
    return [ctx.t("kasel.new") if n else i18n.fmt_delta_pct(v, ctx.lang) for n, v in zip(pf["new"], pf["potential"])]


def portfolio(ctx, seg: ka_view.KeyAccounts):
    """(figure, {quadrant: display table}, value split) of the KA portfolio matrix."""
    pf, fig = present_text.ka_portfolio(ctx, ka_view.portfolio(seg.features, seg.types), ctx.filters.end)
    lists = {}
    for q in ka_view.QUADRANTS:
        p = pf[pf["quadrant"] == q]
        lists[q] = export.frame([
            (ctx.t("col.customer_id"), "id", p["customer_id"]),
            (ctx.t("col.customer"), "text", p["account"]),
            (ctx.t("col.revenue"), "money", p["value"]),
            (ctx.t("ka.pf.potential"), "delta", p["potential"].where(~p["new"].astype(bool))),
            (ctx.t("col.account_profit"), "money", p["account_profit"]),
            (ctx.t("ka.col.types"), "text", p["types"]),
        ], ctx.currency)
        lists[q].attrs["growth_text"] = growth_text(ctx, p)  # "new" where there is no year before
    return fig, lists, pf.attrs["value_split"]


def portfolio_chart(ctx, fig) -> None:
    """The portfolio matrix; clicking a bubble opens that account's 360 page."""
    event = components.chart(ctx, fig, "portfolio", "kamdash-ka-portfolio", on_select="rerun",
                             selection_mode="points")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if points:
        cid = (points[0].get("customdata") or [None])[-1]
        if cid:
            q = {account.QUERY_KEY: str(cid)}
            if st.query_params.get("lang"):
                q["lang"] = st.query_params.get("lang")
            st.switch_page("pages/account.py", query_params=q)


def quadrant_tabs(ctx, lists: dict) -> None:
    tabs = st.tabs([f"{ctx.t(f'ka.quadrant.{q}')} ({i18n.fmt_number(len(lists[q]), ctx.lang)})" for q in ka_view.QUADRANTS])
    for tab, q in zip(tabs, ka_view.QUADRANTS):
        tab.caption(ctx.t(f"ka.quadrant.{q}.help"))
        # no link column here: links inside these tabs kept Chromium from drawing the page's
        # second chart on the demo data (the group roll-up below links to the accounts)
        shown = components.shown(ctx, lists[q], hide=(ctx.t("col.customer_id"),))
        shown[ctx.t("ka.pf.potential")] = lists[q].attrs["growth_text"]
        components.table(ctx, lists[q], f"ka_quadrant_{q}", f"kamdash-ka-{q}", where=tab, height=300,
                         display=shown)


def shown_without_ids(ctx, table: pd.DataFrame) -> pd.DataFrame:
    """An account list as shown: the ID column is left to the downloads (the name links)."""
    return components.shown(ctx, table, hide=(ctx.t("col.customer_id"),))


def rollup_table(ctx, seg: ka_view.KeyAccounts) -> pd.DataFrame:
    scope = ctx.filters.scope
    g, tops = ka_view.group_rollup(seg, scope)
    names = i18n.customer_names(tops, ctx.lang)
    ids = g["group_id"]
    if scope is not None:  # a group top outside the scope is not named (its members inside are)
        outside = ~g["group_id"].astype(str).isin(list(scope)).to_numpy(dtype=bool)
        names = names.where(~outside, ctx.t("team.outside_one"))
        ids = ids.where(~outside, "")
    return export.frame([
        (ctx.t("col.customer_id"), "id", ids),
        (ctx.t("ka.col.group"), "text", names.to_numpy()),
        (ctx.t("ka.col.members"), "int", g["members"]), (ctx.t("ka.col.active_members"), "int", g["active_members"]),
        (ctx.t("ka.col.own_revenue"), "money", g["own_revenue"]),
        (ctx.t("ka.col.members_revenue"), "money", g["members_revenue"]),
        (ctx.t("ka.col.group_revenue"), "money", g["revenue"]),
        (ctx.t("col.account_profit"), "money", g["account_profit"]),
    ], ctx.currency)


__all__ = ["compute", "controls", "show_choice", "segment_map", "profile_heatmap", "profile_table",
           "name_editor", "download", "assignment_table", "rules_editor", "capacity_editor", "selection",
           "types_figure", "types_table", "portfolio", "portfolio_chart", "quadrant_tabs", "rollup_table", "key_accounts_of",
           "shown_without_ids"]
