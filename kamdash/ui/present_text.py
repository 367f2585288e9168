"""The workshop storyline in words: each slide's data (``kamdash.views.present``) as a
``deck.Slide`` with its title, a one-line headline, bullets, table, chart and presenter notes
in the user's language.

Plain Python (no Streamlit): the Present page, the PPTX/PDF exports, the benchmark and the tests
share it. ``tx`` is anything with the text helpers of the shell's context (``lang``,
``currency``, ``t``, ``money``, ``label``, ``t_month``): the page passes its context, tests and
the benchmark pass ``Texts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kamdash import i18n
from kamdash.charts import concentration as conc_charts
from kamdash.charts import my_accounts as my_charts
from kamdash.charts import present as present_charts
from kamdash.charts import retention as ret_charts
from kamdash.charts import segments as seg_charts
from kamdash.charts import trend_chart
from kamdash.deck import Slide
from kamdash.ui import scenario_text
from kamdash.views import common
from kamdash.views import key_accounts as ka_view
from kamdash.views import present as view


@dataclass(frozen=True)
class Texts(i18n.Localized):
    """Text helpers without Streamlit (same names as the shell's context)."""

    lang: str
    currency: str = "CNY"
    labels: dict = field(default_factory=dict)


def pct(tx, x, digits: int = 0) -> str:
    return i18n.fmt_pct(x, tx.lang, digits)


def _n(tx, x) -> str:
    return i18n.fmt_number(x, tx.lang)


def slide_name(tx, slide_id: str, scenarios: dict | None = None) -> str:
    """Name of a storyline entry in the chooser (scenarios by their saved name)."""
    name = view.scenario_name(slide_id, scenarios)
    if name is not None:
        return tx.t("present.slide.scenario", name=name)
    return tx.t(f"present.slide.{slide_id}")


def period_text(tx, start, end) -> str:
    return tx.t("present.period", start=tx.t_month(start), end=tx.t_month(end))


def filter_lines(tx, filters, facts: dict) -> list[str]:
    """Title-slide lines: the period, every active filter, the data's as-of date."""
    c = view.cover(filters, facts)
    lines = [period_text(tx, c.start, c.end)]
    for column, values in c.dimensions:
        lines.append(tx.t(f"filters.{column}") + ": "
                     + tx.t("seg.name.sep").join(tx.label(column, v) for v in values))
    if c.tiers:
        lines.append(tx.t("filters.tier") + ": " + ", ".join(c.tiers))
    if c.picked_customers is not None:
        lines.append(tx.t("present.filtered_customers", n=_n(tx, c.picked_customers)))
    if len(lines) == 1:
        lines.append(tx.t("present.all_customers"))
    lines.append(tx.t("data.as_of", date=i18n.fmt_date(c.as_of, tx.lang)))
    return lines


# ---------------------------------------------------------------- the slides


def overview_slide(tx, d: view.Overview) -> Slide:
    headline = tx.t("present.overview.headline", n=_n(tx, d.active_customers),
                    revenue=tx.money(d.revenue), profit=tx.money(d.profit), margin=pct(tx, d.margin))
    bullets = []
    for key, x in d.kpis.items():
        value = tx.money(x.value) if x.kind == "money" else _n(tx, x.value)
        if x.delta_pct is not None:
            bullets.append(tx.t("present.kpi_change", label=tx.t(f"kpi.{key}"), value=value,
                                change=i18n.fmt_delta_pct(x.delta_pct, tx.lang)))
        else:
            bullets.append(tx.t("present.kpi", label=tx.t(f"kpi.{key}"), value=value))
    labels = {key: tx.t(f"series.{key}") for key in ("revenue", "gross_profit", "account_profit")}
    labels.update(title=tx.t("overview.trend_title"), x=tx.t("axis.month"),
                  y=tx.t("axis.amount", currency=tx.currency))
    fig = trend_chart(d.monthly, labels, tx.lang, tx.currency) if len(d.monthly) else None
    return Slide(tx.t("present.slide.overview"), headline, fig, bullets=bullets,
                 notes=tx.t("present.overview.notes", period=period_text(tx, d.start, d.end)))


def concentration_slide(tx, d: view.Concentration) -> Slide:
    title = tx.t("present.slide.concentration")
    if not d.customers:
        return Slide(title, tx.t("present.no_customers"))
    r = d.readouts
    vname = tx.t(f"series.{d.value}")
    headline = tx.t("present.conc.headline", p=pct(tx, view.TOP_SHARE), share=pct(tx, r["top"][view.TOP_SHARE]),
                    value=vname.lower() if tx.lang == "en" else vname)
    bullets = [tx.t("present.conc.for80", share=pct(tx, r["for_target_share"]), n=_n(tx, r["for_target"])),
               tx.t("present.conc.top", p=pct(tx, view.SECOND_SHARE), share=pct(tx, r["top"][view.SECOND_SHARE])),
               tx.t("present.conc.gini", gini=f"{r['gini']:.2f}")]
    labels = dict(title=tx.t("conc.pareto_title", value=vname), x=tx.t("conc.axis.customers"),
                  y=tx.t("axis.amount", currency=tx.currency), y2=tx.t("conc.axis.cum_share"),
                  bars=tx.t("conc.bars"), line=tx.t("conc.cum_line"),
                  point=tx.t("conc.point", c=pct(tx, r["for_target_share"]), v=pct(tx, view.TARGET_SHARE)))
    fig = conc_charts.pareto_chart(d.ranked, labels, tx.lang, tx.currency, r["for_target_share"])
    return Slide(title, headline, fig, bullets=bullets,
                 notes=tx.t("present.conc.notes", value=vname, n=_n(tx, d.customers)))


def whale_slide(tx, d: view.Whale) -> Slide:
    title = tx.t("present.slide.whale")
    s = d.summary
    if s["customers"] == 0:
        return Slide(title, tx.t("present.no_customers"))
    if s["loss_makers"]:
        headline = tx.t("present.whale.headline", n=_n(tx, s["loss_makers"]), losses=tx.money(s["losses"]))
    else:
        headline = tx.t("present.whale.none")
    fig = None
    bullets = []
    if not d.curve.empty:
        bullets.append(tx.t("present.whale.peak", k=_n(tx, s["peak_customers"]),
                            share=pct(tx, s["peak_customer_share"]), peak=pct(tx, s["peak"])))
        labels = dict(title=tx.t("conc.whale_title"), x=tx.t("conc.axis.customers_profit"),
                      y=tx.t("conc.axis.cum_profit"), curve=tx.t("conc.whale_curve"),
                      total=tx.t("conc.whale_total"),
                      peak=tx.t("conc.whale_peak_note", peak=pct(tx, s["peak"]), n=_n(tx, s["peak_customers"])))
        fig = conc_charts.whale_chart(d.curve, labels, s["peak"], s["peak_customer_share"])
    else:
        bullets.append(tx.t("present.whale.not_positive", total=tx.money(s["total"])))
    table = None
    worst = d.worst
    if not worst.empty:
        table = pd.DataFrame({tx.t("col.customer"): i18n.customer_names(worst, tx.lang).to_numpy(),
                              tx.t("col.account_profit"): [tx.money(v) for v in worst["account_profit"]],
                              tx.t("conc.main_reason"): [tx.t(f"conc.reason.{v}") for v in worst["main_reason"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("present.whale.notes"))


def segment_names(tx, tokens: dict, saved: dict | None = None) -> dict[int, str]:
    """Saved segment names, else the suggested ones (as the segments page names them);
    ``tokens``: segment -> analytics.segments.name_tokens."""
    saved = saved or {}
    sep = tx.t("seg.name.sep")
    out = {}
    for s, (level, *traits) in tokens.items():
        suggested = tx.t(f"seg.name.{level}") + (sep + sep.join(tx.t(f"seg.name.{t}") for t in traits)
                                                 if traits else "")
        out[s] = saved.get(str(s)) or suggested
    return out


def segments_slide(tx, d: view.Segments) -> Slide:
    if not d.enough:
        return Slide(tx.t("present.slide.segments"), tx.t("seg.empty"))
    profile = d.profile
    names = segment_names(tx, d.tokens, d.saved_names)
    top = profile.set_index("segment").loc[d.top]
    headline = tx.t("present.seg.headline", name=names.get(d.top, str(d.top)),
                    customers=pct(tx, top["customer_share"]), share=pct(tx, top["value_share"]))
    rows = [f"{int(x)} · {names.get(int(x), '')}" for x in profile["segment"]]
    fig = present_charts.share_bars(rows, profile["customer_share"].to_numpy(),
                                    profile["value_share"].to_numpy(),
                                    {"title": tx.t("present.seg.chart"),
                                     "customers": tx.t("seg.col.customer_share"),
                                     "value": tx.t("seg.col.value_share")}, tx.lang)
    table = pd.DataFrame({tx.t("seg.col.name"): rows,
                          tx.t("seg.col.customers"): [_n(tx, v) for v in profile["customers"]],
                          tx.t("col.revenue"): [tx.money(v) for v in profile["total_revenue"]]})
    return Slide(tx.t("present.slide.segments"), headline, fig, table=table,
                 notes=tx.t("present.seg.notes", k=d.k, method=tx.t(f"seg.method.{d.method}")))


def types_text(tx, flags: pd.DataFrame) -> list[str]:
    """Display text of the KA types of each row of ``flags`` (bool columns KA_TYPES)."""
    labels = [tx.t(f"ka.type.{t}") for t in common.KA_TYPES]
    sep = tx.t("seg.name.sep")
    combos, out = {}, []
    for row in map(tuple, flags[list(common.KA_TYPES)].to_numpy(dtype=bool)):
        if row not in combos:  # at most 16 combinations: join each once
            combos[row] = sep.join(n for n, on in zip(labels, row) if on)
        out.append(combos[row])
    return out


def growth_periods(tx, end) -> str:
    """The two periods growth compares (``analytics.growth``; ``Engine.customer_features``
    measures it on the 12 months ending with the period's last month ``end``), as text."""
    if end is None:
        return tx.t("kasel.periods.open")
    m = lambda k: tx.t_month(common.add_months(end, k))  # noqa: E731
    return tx.t("kasel.periods", a=m(-11), b=m(0), c=m(-23), d=m(-12))


def ka_portfolio(tx, pf: pd.DataFrame, end=None):
    """(``pf`` with account names and type texts, the matrix figure): shared by the Key accounts
    page and its slide. ``pf``: views.key_accounts.portfolio; ``end``: the period's last month
    (growth's periods are stated on the axis)."""
    pf = pf.copy()
    pf["account"] = i18n.customer_names(pf, tx.lang).to_numpy()
    pf["types"] = types_text(tx, pf)
    labels = {"title": tx.t("ka.pf.title"), "x": tx.t("ka.pf.x", currency=tx.currency),
              "y": tx.t("ka.pf.y", periods=growth_periods(tx, end)), "value": tx.t("col.revenue"),
              "potential": tx.t("ka.pf.potential"), "types": tx.t("ka.col.types"), "new": tx.t("kasel.new"),
              "open": tx.t("kasel.open"), **{f"quadrant.{q}": tx.t(f"ka.quadrant.{q}") for q in ka_view.QUADRANTS}}
    return pf, seg_charts.portfolio_chart(pf, labels, tx.lang, tx.currency)


def ka_portfolio_slide(tx, d: view.KaPortfolio) -> Slide:
    title = tx.t("present.slide.ka_portfolio")
    if d.key_accounts == 0:
        return Slide(title, tx.t("present.ka.none"))
    headline = tx.t("present.ka.headline", n=_n(tx, d.key_accounts),
                    customers=pct(tx, d.key_accounts / d.customers), share=pct(tx, d.revenue_share))
    _, fig = ka_portfolio(tx, d.portfolio, d.end)
    bullets = [tx.t("present.ka.quadrant", quadrant=tx.t(f"ka.quadrant.{q}"), n=_n(tx, n), revenue=tx.money(revenue))
               for q, n, revenue in d.quadrants]
    return Slide(title, headline, fig, bullets=bullets, notes=tx.t("present.ka.notes"))


def retention_slide(tx, d: view.Retention) -> Slide:
    title = tx.t("present.slide.retention")
    if d.curve is None:
        return Slide(title, tx.t("present.no_customers"))
    point = d.point
    headline = (tx.t("present.ret.headline", share=pct(tx, point[1]), k=point[0]) if point
                else tx.t("present.ret.too_short"))
    labels = {"title": tx.t("ret.curves_title"), "average": tx.t("ret.average"),
              "x": tx.t("ret.axis.since_first", unit=tx.t("ret.unit.M")), "y": tx.t("ret.axis.retained")}
    fig = ret_charts.retention_curves(d.matrix, d.curve, labels, tx.lang, "M")
    bullets = []
    if d.first is not None:
        bullets.append(tx.t("present.ret.first", share=pct(tx, d.first)))
    bullets.append(tx.t("present.ret.cohorts", n=d.cohorts, customers=_n(tx, d.customers)))
    return Slide(title, headline, fig, bullets=bullets, notes=tx.t("present.ret.notes"))


def health_slide(tx, d: view.Health, why=None) -> Slide:
    """``why(row)``: why a slipping account slips, in words (the My accounts page's reasons);
    the largest one's reason becomes a bullet when given."""
    title = tx.t("present.slide.health")
    if not d.accounts:
        return Slide(title, tx.t("present.no_customers"))
    if d.slipping:
        headline = tx.t("present.health.headline", n=_n(tx, d.slipping), total=_n(tx, d.accounts),
                        revenue=tx.money(d.slipping_revenue))
    else:
        headline = tx.t("present.health.none", total=_n(tx, d.accounts))
    labels = {"title": tx.t("present.health.chart_title"), "score": tx.t("my.trend.score"),
              "below": tx.t("my.trend.below"), "x": tx.t("axis.month")}
    fig = my_charts.score_trend(d.portfolio, labels, tx.lang)
    bullets = [tx.t("present.health.mean", score=_n(tx, d.mean_score), month=tx.t_month(d.now))]
    b = d.backtest
    if view.backtest_shown(b):
        bands = b["bands"]
        bullets.append(tx.t("present.health.backtest", month=tx.t_month(b["as_of"]),
                            low=pct(tx, bands["share_lost"].iloc[0]), high=pct(tx, bands["share_lost"].iloc[-1]),
                            auc=i18n.fmt_number(b["auc"], tx.lang, digits=2)))
    table = None
    if d.slipping:
        top = d.top
        names = i18n.customer_names(top, tx.lang).to_numpy()
        if why is not None:
            bullets.append(tx.t("present.health.largest", name=names[0], why=why(top.iloc[0])))
        table = pd.DataFrame({tx.t("col.customer"): names,
                              tx.t("my.col.score"): [i18n.fmt_number(x, tx.lang, digits=0) for x in top["score"]],
                              tx.t("my.col.revenue_12m"): [tx.money(x) for x in top["revenue_12m"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("present.health.notes"))


def whitespace_slide(tx, d: view.Whitespace) -> Slide:
    title = tx.t("present.slide.whitespace")
    if not d.has_categories:
        return Slide(title, tx.t("my.ws.no_categories"))
    if not d.total > 0:
        return Slide(title, tx.t("present.ws.none"))
    headline = tx.t("present.ws.headline", total=tx.money(d.total), n=_n(tx, d.accounts))
    cats = d.by_category
    labels = {"title": tx.t("present.ws.chart_title"), "never": tx.t("my.ws.never"),
              "stopped": tx.t("my.ws.stopped")}
    fig = my_charts.whitespace_by_category(cats.assign(category=[tx.label("category", c) for c in cats["category"]]),
                                           labels, tx.lang, tx.currency)
    top = cats.iloc[0]
    bullets = [tx.t("present.ws.top_category", category=tx.label("category", top["category"]),
                    value=tx.money(float(top["total"])), share=pct(tx, float(top["total"]) / d.total))]
    if d.stopped > 0:
        bullets.append(tx.t("present.ws.stopped", value=tx.money(d.stopped)))
    head = d.gaps
    table = pd.DataFrame({tx.t("col.customer"): i18n.customer_names(head, tx.lang).to_numpy(),
                          tx.t("present.ws.col.category"): [tx.label("category", c) for c in head["category"]],
                          tx.t("present.ws.col.status"): [tx.t(f"my.ws.{s}") for s in head["status"]],
                          tx.t("present.ws.col.value"): [tx.money(x) for x in head["value"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("my.ws.method"))


def scenario_slide(tx, d: view.Scenario) -> Slide:
    title = tx.t("present.slide.scenario", name=d.name)
    if not d.numbers:
        return Slide(title, tx.t("present.scn.no_results"))
    rows = [(tx.t(f"present.scn.{m}"), d.numbers[m][0], d.numbers[m][1]) for m in ("equity", "profit")
            if m in d.numbers]
    fig = present_charts.before_after_chart(rows, {"title": d.name, "before": tx.t("present.scn.before"),
                                                   "after": tx.t("present.scn.after")}, tx.lang, tx.currency)
    notes = tx.t("scn.notes", assumptions=scenario_text.assumptions(tx, d.params))
    return Slide(title, scenario_text.headline(tx, d.params, d.results), fig,
                 bullets=scenario_text.bullets(tx, d.params, d.results), notes=notes)


_SLIDES = {view.Overview: overview_slide, view.Concentration: concentration_slide, view.Whale: whale_slide,
           view.Segments: segments_slide, view.KaPortfolio: ka_portfolio_slide, view.Retention: retention_slide,
           view.Health: health_slide, view.Whitespace: whitespace_slide, view.Scenario: scenario_slide}


def slide(tx, d) -> Slide:
    """The slide of one slide's data (any dataclass of ``views.present``)."""
    return _SLIDES[type(d)](tx, d)


def build(engine, tx, filters, facts: dict, order=view.SLIDES, **settings) -> list[Slide]:
    """The slides of ``order`` in ``tx``'s language: ``views.present.build`` (same arguments
    and settings), worded."""
    return [slide(tx, d) for d in view.build(engine, filters, facts, order, **settings)]


__all__ = ["Texts", "build", "concentration_slide", "filter_lines", "health_slide", "ka_portfolio",
           "ka_portfolio_slide", "overview_slide", "retention_slide", "scenario_slide", "segment_names",
           "segments_slide", "slide", "slide_name", "types_text", "whale_slide", "whitespace_slide"]
