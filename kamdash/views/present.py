"""Workshop storyline: the slides of the Present page, built from the current filters.

Each ``*_slide`` function is pure: analytics results in, one ``deck.Slide`` out, with a one-line
headline computed from the data, a chart from ``kamdash.charts`` and presenter notes. ``tx`` is
anything with the text helpers of the shell's context (``lang``, ``currency``, ``t``, ``money``,
``label``, ``t_month``): the page passes its context, tests and the CLI pass ``Texts``.

``build(engine, tx, filters, ...)`` runs the queries and builds the chosen slides in order
(used by tests, the benchmark and any caller without Streamlit's caches).

Saved what-if scenarios (user table ``scenarios``) are pinned as ``scenario:<id>``
entries; their stored ``params``/``results`` JSON is read defensively (``scenario_numbers``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from kamdash import i18n
from kamdash.analytics import cohorts, pareto
from kamdash.analytics import ka_types as ka
from kamdash.analytics import segments as sg
from kamdash.charts import concentration as conc_charts
from kamdash.charts import present as present_charts
from kamdash.charts import retention as ret_charts
from kamdash.charts import segments as seg_charts
from kamdash.charts import trend_chart
from kamdash.deck import Slide
from kamdash.engine.filters import Filters, add_months
from kamdash.views import concentration as concentration_view
from kamdash.views import scenarios

SLIDES = ("overview", "concentration", "whale", "segments", "ka_portfolio", "retention")
OPTIONAL = ("health", "whitespace")  # offered in the chooser, not in the storyline until added
SCENARIO_PREFIX = "scenario:"
RETENTION_MONTHS = 12  # the headline reads the average retention this many months after the first order
TOP_SHARE = pareto.TOP_SHARE_DEFAULT
WORST_ON_SLIDE = 5


@dataclass(frozen=True)
class Texts(i18n.Localized):
    """Text helpers without Streamlit (same names as the shell's context)."""

    lang: str
    currency: str = "CNY"
    labels: dict = field(default_factory=dict)


def pct(tx, x, digits: int = 0) -> str:
    return i18n.fmt_pct(x, tx.lang, digits)


def slide_name(tx, slide_id: str, scenarios: dict | None = None) -> str:
    """Name of a storyline entry in the chooser (scenarios by their saved name)."""
    if slide_id.startswith(SCENARIO_PREFIX):
        sid = slide_id[len(SCENARIO_PREFIX):]
        name = (scenarios or {}).get(sid, {}).get("name", sid)
        return tx.t("present.slide.scenario", name=name)
    return tx.t(f"present.slide.{slide_id}")


def valid_order(order, scenarios: dict | None = None) -> list[str]:
    """A saved or chosen slide order without unknown entries (e.g. a deleted scenario) or repeats."""
    out = []
    for s in order or []:
        ok = s in SLIDES or s in OPTIONAL or (isinstance(s, str) and s.startswith(SCENARIO_PREFIX)
                             and s[len(SCENARIO_PREFIX):] in (scenarios or {}))
        if ok and s not in out:
            out.append(s)
    return out


def period_text(tx, filters: Filters) -> str:
    return tx.t("present.period", start=tx.t_month(filters.start), end=tx.t_month(filters.end))


def filter_lines(tx, filters: Filters, facts: dict) -> list[str]:
    """Title-slide lines: the period, every active filter, the data's as-of date."""
    lines = [period_text(tx, filters)]
    dims = (("region", filters.regions), ("customer_type", filters.customer_types),
            ("sector", filters.sectors), ("account_manager", filters.account_managers))
    for column, values in dims:
        if values:
            lines.append(tx.t(f"filters.{column}") + ": "
                         + tx.t("seg.name.sep").join(tx.label(column, v) for v in values))
    if filters.tiers:
        lines.append(tx.t("filters.tier") + ": " + ", ".join(filters.tiers))
    if filters.customer_ids is not None:
        lines.append(tx.t("present.filtered_customers",
                          n=i18n.fmt_number(len(filters.customer_ids), tx.lang)))
    if len(lines) == 1:
        lines.append(tx.t("present.all_customers"))
    lines.append(tx.t("data.as_of", date=i18n.fmt_date(facts["as_of"], tx.lang)))
    return lines


# ---------------------------------------------------------------- the slides


def overview_slide(tx, ov, filters: Filters) -> Slide:
    """``ov``: views.overview.OverviewData."""
    k = {x.key: x for x in ov.kpis}
    rev, profit = k["revenue"].value, k["account_profit"].value
    margin = profit / rev if rev else float("nan")
    headline = tx.t("present.overview.headline", n=i18n.fmt_number(ov.active_customers, tx.lang),
                    revenue=tx.money(rev), profit=tx.money(profit), margin=pct(tx, margin))
    bullets = []
    for key in ("revenue", "gross_profit", "account_profit", "active_customers"):
        x = k[key]
        value = tx.money(x.value) if x.kind == "money" else i18n.fmt_number(x.value, tx.lang)
        if x.delta_pct is not None:
            bullets.append(tx.t("present.kpi_change", label=tx.t(f"kpi.{key}"), value=value,
                                change=i18n.fmt_delta_pct(x.delta_pct, tx.lang)))
        else:
            bullets.append(tx.t("present.kpi", label=tx.t(f"kpi.{key}"), value=value))
    labels = {key: tx.t(f"series.{key}") for key in ("revenue", "gross_profit", "account_profit")}
    labels.update(title=tx.t("overview.trend_title"), x=tx.t("axis.month"),
                  y=tx.t("axis.amount", currency=tx.currency))
    fig = trend_chart(ov.monthly, labels, tx.lang, tx.currency) if len(ov.monthly) else None
    return Slide(tx.t("present.slide.overview"), headline, fig, bullets=bullets,
                 notes=tx.t("present.overview.notes", period=period_text(tx, filters)))


def slide_facts(engine, filters: Filters, peers: bool = False) -> pd.DataFrame:
    """Engine.customer_facts of ``filters`` (the concentration and whale slides); ``peers``:
    of the loss-makers' peers instead (``views.concentration.peer_filters``: the period, within
    the user's scope), whom the whale slide compares a loss-maker with."""
    return engine.customer_facts(concentration_view.peer_filters(filters) if peers else filters)


def concentration_value(facts: pd.DataFrame) -> str:
    """Account profit when its top-20% share is a share (total positive, at most 100%: no
    loss-makers pushing it past the total), else revenue; the whale slide tells the loss story."""
    pop = pareto.population(facts, "account_profit")
    share = pareto.top_share(pop["account_profit"], TOP_SHARE) if len(pop) else float("nan")
    return "account_profit" if share == share and share <= 1.0 else "revenue"


def concentration_slide(tx, facts: pd.DataFrame) -> Slide:
    """``facts``: Engine.customer_facts of the filtered period."""
    value = concentration_value(facts)
    pop = pareto.population(facts, value)
    title = tx.t("present.slide.concentration")
    if pop.empty:
        return Slide(title, tx.t("present.no_customers"))
    r = pareto.readouts(pareto.sorted_values(pop, value), ordered=True)
    vname = tx.t(f"series.{value}")
    headline = tx.t("present.conc.headline", p=pct(tx, TOP_SHARE), share=pct(tx, r["top"][TOP_SHARE]),
                    value=vname.lower() if tx.lang == "en" else vname)
    bullets = [tx.t("present.conc.for80", share=pct(tx, r["for_target_share"]),
                    n=i18n.fmt_number(r["for_target"], tx.lang)),
               tx.t("present.conc.top", p="10%", share=pct(tx, r["top"][0.10])),
               tx.t("present.conc.gini", gini=f"{r['gini']:.2f}")]
    labels = dict(title=tx.t("conc.pareto_title", value=vname), x=tx.t("conc.axis.customers"),
                  y=tx.t("axis.amount", currency=tx.currency), y2=tx.t("conc.axis.cum_share"),
                  bars=tx.t("conc.bars"), line=tx.t("conc.cum_line"),
                  point=tx.t("conc.point", c=pct(tx, r["for_target_share"]), v="80%"))
    fig = conc_charts.pareto_chart(pareto.ranked(pop, value), labels, tx.lang, tx.currency,
                                   r["for_target_share"])
    return Slide(title, headline, fig, bullets=bullets,
                 notes=tx.t("present.conc.notes", value=vname, n=i18n.fmt_number(r["customers"], tx.lang)))


def whale_slide(tx, facts: pd.DataFrame, peers: pd.DataFrame | None = None) -> Slide:
    title = tx.t("present.slide.whale")
    s = pareto.whale_summary(facts)
    if s["customers"] == 0:
        return Slide(title, tx.t("present.no_customers"))
    if s["loss_makers"]:
        headline = tx.t("present.whale.headline", n=i18n.fmt_number(s["loss_makers"], tx.lang),
                        losses=tx.money(s["losses"]))
    else:
        headline = tx.t("present.whale.none")
    curve = pareto.whale_curve(facts)
    fig = None
    bullets = []
    if not curve.empty:
        bullets.append(tx.t("present.whale.peak", k=i18n.fmt_number(s["peak_customers"], tx.lang),
                            share=pct(tx, s["peak_customer_share"]), peak=pct(tx, s["peak"])))
        labels = dict(title=tx.t("conc.whale_title"), x=tx.t("conc.axis.customers_profit"),
                      y=tx.t("conc.axis.cum_profit"), curve=tx.t("conc.whale_curve"),
                      total=tx.t("conc.whale_total"),
                      peak=tx.t("conc.whale_peak_note", peak=pct(tx, s["peak"]),
                                n=i18n.fmt_number(s["peak_customers"], tx.lang)))
        fig = conc_charts.whale_chart(curve, labels, s["peak"], s["peak_customer_share"])
    else:
        bullets.append(tx.t("present.whale.not_positive", total=tx.money(s["total"])))
    table = None
    worst = pareto.loss_makers(facts, WORST_ON_SLIDE, peers)  # each against its type, as on the page
    if not worst.empty:
        table = pd.DataFrame({tx.t("col.customer"): i18n.customer_names(worst, tx.lang).to_numpy(),
                              tx.t("col.account_profit"): [tx.money(v) for v in worst["account_profit"]],
                              tx.t("conc.main_reason"): [tx.t(f"conc.reason.{v}") for v in worst["main_reason"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("present.whale.notes"))


def segment_names(tx, profile: pd.DataFrame, saved: dict | None = None) -> dict[int, str]:
    """Saved segment names, else the suggested ones (as the segments page names them)."""
    saved = saved or {}
    sep = tx.t("seg.name.sep")
    out = {}
    for s, (level, *traits) in sg.name_tokens(profile).items():
        suggested = tx.t(f"seg.name.{level}") + (sep + sep.join(tx.t(f"seg.name.{t}") for t in traits)
                                                 if traits else "")
        out[s] = saved.get(str(s)) or suggested
    return out


def segments_slide(tx, features: pd.DataFrame, result: sg.SegmentResult, seg_names: dict) -> Slide:
    """``result``: analytics.segments.fit_segments on ``features``; ``seg_names``: segment -> name."""
    profile = sg.profiles(features, result)
    top = profile.sort_values("value_share", ascending=False).iloc[0]
    s = int(top["segment"])
    headline = tx.t("present.seg.headline", name=seg_names.get(s, str(s)),
                    customers=pct(tx, top["customer_share"]), share=pct(tx, top["value_share"]))
    rows = [f"{int(x)} · {seg_names.get(int(x), '')}" for x in profile["segment"]]
    fig = present_charts.share_bars(rows, profile["customer_share"].to_numpy(),
                                    profile["value_share"].to_numpy(),
                                    {"title": tx.t("present.seg.chart"),
                                     "customers": tx.t("seg.col.customer_share"),
                                     "value": tx.t("seg.col.value_share")}, tx.lang)
    table = pd.DataFrame({tx.t("seg.col.name"): rows,
                          tx.t("seg.col.customers"): [i18n.fmt_number(v, tx.lang) for v in profile["customers"]],
                          tx.t("col.revenue"): [tx.money(v) for v in profile["total_revenue"]]})
    return Slide(tx.t("present.slide.segments"), headline, fig, table=table,
                 notes=tx.t("present.seg.notes", k=result.k, method=tx.t(f"seg.method.{result.method}")))


def types_text(tx, flags: pd.DataFrame) -> list[str]:
    """Display text of the KA types of each row of ``flags`` (bool columns KA_TYPES)."""
    labels = [tx.t(f"ka.type.{t}") for t in ka.KA_TYPES]
    sep = tx.t("seg.name.sep")
    combos, out = {}, []
    for row in map(tuple, flags[list(ka.KA_TYPES)].to_numpy(dtype=bool)):
        if row not in combos:  # at most 16 combinations: join each once
            combos[row] = sep.join(n for n, on in zip(labels, row) if on)
        out.append(combos[row])
    return out


def growth_periods(tx, end) -> str:
    """The two periods growth compares (``analytics.growth``; ``Engine.customer_features``
    measures it on the 12 months ending with the period's last month ``end``), as text."""
    if end is None:
        return tx.t("kasel.periods.open")
    m = lambda k: tx.t_month(add_months(end, k))  # noqa: E731
    return tx.t("kasel.periods", a=m(-11), b=m(0), c=m(-23), d=m(-12))


def ka_portfolio(tx, features: pd.DataFrame, types: pd.DataFrame, end=None):
    """(analytics.ka_types.portfolio with account names and type texts, the matrix figure):
    shared by the Key accounts page and its slide. ``end``: the period's last month (growth's
    periods are stated on the axis)."""
    pf = ka.portfolio(features, types)
    info = features.set_index("customer_id").loc[pf["customer_id"]].reset_index()
    pf["account"] = i18n.customer_names(info, tx.lang).to_numpy()
    pf["types"] = types_text(tx, pf)
    labels = {"title": tx.t("ka.pf.title"), "x": tx.t("ka.pf.x", currency=tx.currency),
              "y": tx.t("ka.pf.y", periods=growth_periods(tx, end)), "value": tx.t("col.revenue"),
              "potential": tx.t("ka.pf.potential"), "types": tx.t("ka.col.types"), "new": tx.t("kasel.new"),
              "open": tx.t("kasel.open"), **{f"quadrant.{q}": tx.t(f"ka.quadrant.{q}") for q in ka.QUADRANTS}}
    return pf, seg_charts.portfolio_chart(pf, labels, tx.lang, tx.currency)


def ka_portfolio_slide(tx, features: pd.DataFrame, types: pd.DataFrame, end=None) -> Slide:
    """``types``: analytics.ka_types.key_accounts on ``features`` (the selected set)."""
    title = tx.t("present.slide.ka_portfolio")
    summary = ka.type_summary(features, types).set_index("ka_type")
    n = int(summary.loc["any", "customers"])
    if n == 0:
        return Slide(title, tx.t("present.ka.none"))
    headline = tx.t("present.ka.headline", n=i18n.fmt_number(n, tx.lang),
                    customers=pct(tx, n / len(types)), share=pct(tx, summary.loc["any", "revenue_share"]))
    pf, fig = ka_portfolio(tx, features, types, end)
    counts = pf["quadrant"].value_counts()
    bullets = [tx.t("present.ka.quadrant", quadrant=tx.t(f"ka.quadrant.{q}"),
                    n=i18n.fmt_number(int(counts.get(q, 0)), tx.lang),
                    revenue=tx.money(pf.loc[pf["quadrant"] == q, "value"].sum())) for q in ka.QUADRANTS]
    return Slide(title, headline, fig, bullets=bullets, notes=tx.t("present.ka.notes"))


def retention_point(curve: pd.Series, months: int = RETENTION_MONTHS) -> tuple[int, float] | None:
    """(k, average retention k months after the first order) at ``months`` or the latest k
    observed before it; None without a k >= 1."""
    ks = [k for k in curve.dropna().index if 1 <= k <= months]
    if not ks:
        return None
    k = max(ks)
    return int(k), float(curve[k])


def retention_slide(tx, matrix: pd.DataFrame, sizes: pd.Series) -> Slide:
    """``matrix``, ``sizes``: analytics.cohorts.retention_matrix (monthly cohorts)."""
    title = tx.t("present.slide.retention")
    if matrix.empty:
        return Slide(title, tx.t("present.no_customers"))
    curve = cohorts.retention_curve(matrix, sizes)
    point = retention_point(curve)
    headline = (tx.t("present.ret.headline", share=pct(tx, point[1]), k=point[0]) if point
                else tx.t("present.ret.too_short"))
    labels = {"title": tx.t("ret.curves_title"), "average": tx.t("ret.average"),
              "x": tx.t("ret.axis.since_first", unit=tx.t("ret.unit.M")), "y": tx.t("ret.axis.retained")}
    fig = ret_charts.retention_curves(matrix, curve, labels, tx.lang, "M")
    bullets = []
    if 1 in curve.index and point and point[0] != 1:
        bullets.append(tx.t("present.ret.first", share=pct(tx, curve[1])))
    bullets.append(tx.t("present.ret.cohorts", n=len(matrix), customers=i18n.fmt_number(int(sizes.sum()), tx.lang)))
    return Slide(title, headline, fig, bullets=bullets, notes=tx.t("present.ret.notes"))


# ---------------------------------------------------------------- the account manager's view (optional)

SLIPPING_BELOW = 40  # "slipping": a health score below this (the page's "accounts below 40")
SLIPPING_ON_SLIDE = 3
GAPS_ON_SLIDE = 5


def health_slide(tx, v, why=None) -> Slide:
    """Accounts slipping: how many accounts score below SLIPPING_BELOW and what they bought in
    the last 12 months, the score month by month, the largest of them by revenue (with why in
    words when ``why(row)`` gives it: the My accounts page's reasons), and the backtest in one
    line. ``v``: views.my_accounts.MyAccountsView."""
    from kamdash.charts import my_accounts as my_charts

    title = tx.t("present.slide.health")
    acc = v.accounts if v is not None else pd.DataFrame()
    if v is None or not len(acc):
        return Slide(title, tx.t("present.no_customers"))
    slipping = acc[acc["score"] < SLIPPING_BELOW]
    n = lambda x: i18n.fmt_number(x, tx.lang)  # noqa: E731
    if len(slipping):
        headline = tx.t("present.health.headline", n=n(len(slipping)), total=n(len(acc)),
                        revenue=tx.money(float(slipping["revenue_12m"].sum())))
    else:
        headline = tx.t("present.health.none", total=n(len(acc)))
    labels = {"title": tx.t("present.health.chart_title"), "score": tx.t("my.trend.score"),
              "below": tx.t("my.trend.below"), "x": tx.t("axis.month")}
    fig = my_charts.score_trend(v.portfolio, labels, tx.lang)
    bullets = [tx.t("present.health.mean", score=i18n.fmt_number(float(acc["score"].mean()), tx.lang),
                    month=tx.t_month(v.now))]
    b = v.backtest
    if b["accounts"] and np.isfinite(b["auc"]):
        bands = b["bands"]
        bullets.append(tx.t("present.health.backtest", month=tx.t_month(b["as_of"]),
                            low=pct(tx, bands["share_lost"].iloc[0]), high=pct(tx, bands["share_lost"].iloc[-1]),
                            auc=i18n.fmt_number(b["auc"], tx.lang, digits=2)))
    table = None
    if len(slipping):
        top = slipping.sort_values(["revenue_12m", "score"], ascending=[False, True], kind="stable").head(SLIPPING_ON_SLIDE)
        names = i18n.customer_names(top, tx.lang).to_numpy()
        if why is not None:
            bullets.append(tx.t("present.health.largest", name=names[0], why=why(top.iloc[0])))
        table = pd.DataFrame({tx.t("col.customer"): names,
                              tx.t("my.col.score"): [i18n.fmt_number(x, tx.lang, digits=0) for x in top["score"]],
                              tx.t("my.col.revenue_12m"): [tx.money(x) for x in top["revenue_12m"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("present.health.notes"))


def whitespace_slide(tx, v) -> Slide:
    """Whitespace, money on the table: the accounts' expected yearly revenue from the categories
    their peers buy and they do not, by category, and the largest gaps. ``v``:
    views.my_accounts.MyAccountsView."""
    from kamdash.charts import my_accounts as my_charts

    title = tx.t("present.slide.whitespace")
    if v is None or not v.has_categories:
        return Slide(title, tx.t("my.ws.no_categories"))
    if not v.whitespace_total > 0:
        return Slide(title, tx.t("present.ws.none"))
    gaps = v.gaps
    headline = tx.t("present.ws.headline", total=tx.money(v.whitespace_total),
                    n=i18n.fmt_number(int((v.accounts["whitespace_best"] > 0).sum()), tx.lang))
    cats = v.whitespace_by_category
    cats = cats[cats["total"] > 0]
    labels = {"title": tx.t("present.ws.chart_title"), "never": tx.t("my.ws.never"),
              "stopped": tx.t("my.ws.stopped")}
    fig = my_charts.whitespace_by_category(cats.assign(category=[tx.label("category", c) for c in cats["category"]]),
                                           labels, tx.lang, tx.currency)
    top = cats.iloc[0]
    bullets = [tx.t("present.ws.top_category", category=tx.label("category", top["category"]),
                    value=tx.money(float(top["total"])), share=pct(tx, float(top["total"]) / v.whitespace_total))]
    stopped = float(cats["stopped"].sum())
    if stopped > 0:
        bullets.append(tx.t("present.ws.stopped", value=tx.money(stopped)))
    head = gaps.head(GAPS_ON_SLIDE)
    table = pd.DataFrame({tx.t("col.customer"): i18n.customer_names(head, tx.lang).to_numpy(),
                          tx.t("present.ws.col.category"): [tx.label("category", c) for c in head["category"]],
                          tx.t("present.ws.col.status"): [tx.t(f"my.ws.{s}") for s in head["status"]],
                          tx.t("present.ws.col.value"): [tx.money(x) for x in head["value"]]})
    return Slide(title, headline, fig, table=table, bullets=bullets, notes=tx.t("my.ws.method"))


# ---------------------------------------------------------------- pinned what-if scenarios


def _loads(x) -> dict:
    if isinstance(x, dict):
        return x
    try:
        out = json.loads(x) if x else {}
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def scenario_numbers(results) -> dict[str, tuple[float, float]]:
    """{measure: (before, after)} for measure in equity and profit, from a stored results JSON.

    Read defensively: flat keys ``<m>_before`` / ``<m>_after`` (what ``whatif.evaluate`` returns),
    possibly nested one level (e.g. under ``result``), or ``before`` / ``after`` dicts with
    ``<m>`` keys; ``account_profit`` counts as profit. Measures not found are left out."""
    res = _loads(results)
    dicts = [res] + [v for v in res.values() if isinstance(v, dict)]
    out = {}
    for m, aliases in (("equity", ("equity", "customer_equity")),
                       ("profit", ("profit", "account_profit", "profit_per_year"))):
        for d in dicts:
            found = None
            for a in aliases:
                b, c = scenarios.as_number(d.get(f"{a}_before")), scenarios.as_number(d.get(f"{a}_after"))
                if b is None and isinstance(d.get("before"), dict):
                    b, c = scenarios.as_number(d["before"].get(a)), scenarios.as_number(_loads(d.get("after")).get(a))
                if b is not None and c is not None:
                    found = (b, c)
                    break
            if found:
                out[m] = found
                break
    return out


def scenario_slide(tx, scenario: dict) -> Slide:
    """``scenario``: a row of the user table ``scenarios`` (name, params, results; JSON text or
    parsed)."""
    name = str(scenario.get("name") or scenario.get("scenario_id", ""))
    title = tx.t("present.slide.scenario", name=name)
    nums = scenario_numbers(scenario.get("results"))
    if not nums:
        return Slide(title, tx.t("present.scn.no_results"))
    params, results = _loads(scenario.get("params")), _loads(scenario.get("results"))
    flat = {**{k: v for d in [v for v in results.values() if isinstance(v, dict)] for k, v in d.items()}, **results}
    for m, (b, a) in nums.items():  # the measures as found, whatever the stored layout
        flat[f"{m}_before"], flat[f"{m}_after"] = b, a
    rows = [(tx.t(f"present.scn.{m}"), nums[m][0], nums[m][1]) for m in ("equity", "profit") if m in nums]
    fig = present_charts.before_after_chart(rows, {"title": name, "before": tx.t("present.scn.before"),
                                                   "after": tx.t("present.scn.after")}, tx.lang, tx.currency)
    notes = tx.t("scn.notes", assumptions=scenarios.assumptions(tx, params))
    return Slide(title, scenarios.headline(tx, params, flat), fig, bullets=scenarios.bullets(tx, params, flat),
                 notes=notes)


def read_scenarios(user_db) -> dict[str, dict]:
    """Saved scenarios of the user database by id (name, params, results parsed; newest first).
    Empty when the database or the table does not exist yet."""
    from pathlib import Path

    from kamdash import store

    if user_db is None or not Path(user_db).exists():
        return {}
    rows = store._with_user_db(user_db, lambda con: con.execute(  # noqa: SLF001
        "SELECT scenario_id, name, params, results, created_at FROM scenarios "
        "ORDER BY created_at DESC, scenario_id").fetchall())
    return {r[0]: {"scenario_id": r[0], "name": r[1], "params": _loads(r[2]), "results": _loads(r[3]),
                   "created_at": r[4]} for r in rows}


# ---------------------------------------------------------------- the whole storyline


def build(engine, tx, filters: Filters, facts: dict, order=SLIDES, *,
          scenarios: dict | None = None, segment_config: dict | None = None,
          segment_saved_names: dict | None = None, ka_rules: ka.KaRules | None = None) -> list[Slide]:
    """The slides of ``order`` (slide ids, ``scenario:<id>`` for pinned scenarios), querying
    ``engine`` directly. ``facts``: Engine.data_facts. Segment/KA settings default to the
    pages' defaults."""
    from kamdash.views import overview as overview_view

    cache: dict = {}

    def customer_facts():
        if "facts" not in cache:
            cache["facts"] = engine.customer_facts(filters)
        return cache["facts"]

    def features():
        if "features" not in cache:
            cfg = segment_config or {}
            cols = tuple(cfg.get("features") or sg.DEFAULT_FEATURES)
            cache["features"] = engine.customer_features(replace(filters, customer_ids=None),
                                                          "breadth" in cols)
        return cache["features"]

    out = []
    for sid in valid_order(order, scenarios):
        if sid == "overview":
            ov = overview_view.build(engine, filters, facts["first_month"])
            out.append(overview_slide(tx, ov, filters))
        elif sid == "concentration":
            out.append(concentration_slide(tx, customer_facts()))
        elif sid == "whale":
            out.append(whale_slide(tx, customer_facts(), slide_facts(engine, filters, peers=True)))
        elif sid == "segments":
            out.append(segments_slide_from(tx, features(), segment_config, segment_saved_names))
        elif sid == "ka_portfolio":
            types = ka.key_accounts(features(), engine.customer_links(), ka_rules or ka.KaRules())
            out.append(ka_portfolio_slide(tx, features(), types, filters.end))
        elif sid in OPTIONAL:
            if "my_accounts" not in cache:
                from kamdash.views import my_accounts as my_view

                cache["my_accounts"] = my_view.build(engine, filters)
            out.append((health_slide if sid == "health" else whitespace_slide)(tx, cache["my_accounts"]))
        elif sid == "retention":
            counts = engine.cohort_counts(filters, "M")
            matrix, sizes = cohorts.retention_matrix(counts, "M", last_period=facts["last_month"])
            out.append(retention_slide(tx, matrix, sizes))
        else:
            out.append(scenario_slide(tx, scenarios[sid[len(SCENARIO_PREFIX):]]))
    return out


def segments_slide_from(tx, feats: pd.DataFrame, config: dict | None, saved_names: dict | None,
                        result: sg.SegmentResult | None = None) -> Slide:
    """The segments slide with the saved segmentation settings (features, method, k) and names
    (the segments page's ``segments.config`` / ``segments.names`` settings)."""
    cfg = config or {}
    if len(feats) < 3:
        return Slide(tx.t("present.slide.segments"), tx.t("seg.empty"))
    cols = tuple(c for c in (cfg.get("features") or sg.DEFAULT_FEATURES) if c in sg.FEATURES) or sg.DEFAULT_FEATURES
    if result is None:
        result = sg.fit_segments(feats, cols, cfg.get("k"), cfg.get("method", "kmeans"))
    sig = f"{result.method}|{result.k}|{','.join(result.features)}"
    seg_names = segment_names(tx, sg.profiles(feats, result), (saved_names or {}).get(sig, {}))
    return segments_slide(tx, feats, result, seg_names)


__all__ = ["SLIDES", "OPTIONAL", "Texts", "health_slide", "whitespace_slide", "build", "overview_slide", "concentration_slide", "whale_slide",
           "segments_slide", "ka_portfolio_slide", "retention_slide", "scenario_slide",
           "scenario_numbers", "read_scenarios", "filter_lines", "slide_name", "valid_order"]
