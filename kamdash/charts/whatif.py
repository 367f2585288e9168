"""Charts of the What-if page (shared theme from kamdash.charts).

Every function takes translated ``labels`` and the language; none knows about catalogs or
Streamlit.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import PALETTE, TEMPLATE, money_axis
from kamdash.i18n.format import fmt_delta_pct, fmt_money

BEFORE, AFTER = "#9db7d5", "#1f5fa8"


def before_after(result: dict, band: dict, labels: dict, lang: str, currency: str) -> go.Figure:
    """Grouped bars: profit next year and customer equity, before and after; the after-equity
    bar carries its uncertainty band as an error bar. ``labels``: title, profit, equity, before,
    after, interval."""
    cats = [labels["profit"], labels["equity"]]
    before = [result["profit_before"], result["equity_before"]]
    after = [result["profit_after"], result["equity_after"]]
    fig = go.Figure()
    # labels sit at the foot of the bars, clear of the uncertainty whisker on the after bar's top
    fig.add_bar(x=cats, y=before, name=labels["before"], marker_color=BEFORE,
                text=[fmt_money(v, lang, currency) for v in before], textposition="inside",
                insidetextanchor="start", textfont=dict(color=PALETTE["text"]),
                hovertemplate="%{x}: %{text}<extra>" + labels["before"] + "</extra>")
    lo = band.get("equity_after_lo", result["equity_after"])
    hi = band.get("equity_after_hi", result["equity_after"])
    pct = [result["profit_pct"], result["equity_pct"]]
    fig.add_bar(x=cats, y=after, name=labels["after"], marker_color=AFTER,
                text=[f"{fmt_money(v, lang, currency)}<br>{fmt_delta_pct(p, lang)}" for v, p in zip(after, pct)],
                textposition="inside", insidetextanchor="start", textfont=dict(color="white"),
                error_y=dict(type="data", symmetric=False, array=[0, max(hi - result["equity_after"], 0)],
                             arrayminus=[0, max(result["equity_after"] - lo, 0)], color=PALETTE["muted"],
                             thickness=1.5, width=8),
                hovertemplate="%{x}: %{text}<extra>" + labels["after"] + "</extra>")
    top = max([*before, *after, hi, 0])
    title = labels.get("title", "")
    if labels.get("interval"):
        title += f"<br><span style='font-size:12px;color:{PALETTE['muted']}'>{labels['interval']}</span>"
    fig.update_layout(template=TEMPLATE, title=title, barmode="group", height=400,
                      bargap=0.3, margin=dict(t=100), uniformtext=dict(minsize=10, mode="show"))
    fig.update_yaxes(range=[min(0, *before, *after) * 1.15, top * 1.08])
    money_axis(fig, pd.Series([*before, *after, top]), lang, currency)
    return fig


def rs_panel(rs: dict, scenario_pct: float | None, labels: dict, lang: str) -> go.Figure:
    """Reichheld & Sasser's 25-85% band with the user's data at 5 points less defection and the
    current scenario's change of customer equity. ``labels``: title, band, yours, scenario, x."""
    fig = go.Figure()
    fig.add_shape(type="rect", x0=rs["low"], x1=rs["high"], y0=-0.5, y1=1.5,
                  fillcolor="rgba(224,123,36,0.18)", line=dict(width=0), layer="below")
    fig.add_scatter(x=[rs["low"], rs["high"]], y=[1, 1], mode="lines+markers", name=labels["band"],
                    line=dict(color=PALETTE["account_profit"], width=8),
                    marker=dict(size=12), hovertemplate="%{x:.0%}<extra>" + labels["band"] + "</extra>")
    pts = [(rs["equity_pct"], labels["yours"], PALETTE["gross_profit"])]
    if scenario_pct is not None and scenario_pct == scenario_pct:
        pts.append((scenario_pct, labels["scenario"], "#2a9d8f"))
    for i, (x, name, color) in enumerate(pts):
        fig.add_scatter(x=[x], y=[0.55 * i], mode="markers+text", name=name,
                        marker=dict(size=18, color=color, symbol="diamond" if i == 0 else "circle"),
                        text=[fmt_delta_pct(x, lang)], textposition="bottom center" if i == 0 else "top center",
                        hovertemplate=name + ": %{text}<extra></extra>")
    xs = [0.0, rs["high"], *[p[0] for p in pts]]
    lo, hi = min(xs), max(xs)
    pad = (hi - lo) * 0.12 + 0.02
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=280, margin=dict(t=90, b=40),
                      showlegend=True)
    fig.update_xaxes(range=[lo - pad, hi + pad], tickformat=".0%", title_text=labels.get("x"),
                     zeroline=True, zerolinecolor="#b8c0cc")
    fig.update_yaxes(visible=False, range=[-0.7, 1.6])
    return fig


def tornado(df: pd.DataFrame, labels: dict, lang: str, currency: str) -> go.Figure:
    """Sensitivity: for each lever (``df`` from analytics.whatif.tornado, largest swing first),
    a bar from the metric at the lever's low step to its high step around the base value.
    ``labels``: title, x, low, high, and ``lever.<name>`` texts."""
    d = df.iloc[::-1]  # largest swing at the top
    names = [labels[f"lever.{v}"] for v in d["lever"]]
    base = float(df["base"].iloc[0]) if len(df) else 0.0
    fig = go.Figure()
    for col, name, color in (("low", labels["low"], "#c9d6e8"), ("high", labels["high"], PALETTE["gross_profit"])):
        fig.add_bar(y=names, x=d[col] - base, base=base, orientation="h", name=name, marker_color=color,
                    customdata=[fmt_money(v, lang, currency) for v in d[col]],
                    hovertemplate="%{y}: %{customdata}<extra>" + name + "</extra>")
    fig.add_vline(x=base, line=dict(color=PALETTE["text"], width=1.5, dash="dot"))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), barmode="overlay",
                      height=max(300, 48 * len(d) + 140), margin=dict(t=90))
    fig.update_xaxes(title_text=labels.get("x"))
    money_axis(fig, pd.concat([d["low"], d["high"], pd.Series([base])]), lang, currency, axis="xaxis")
    return fig


def projection(df: pd.DataFrame, labels: dict, lang: str, currency: str) -> go.Figure:
    """Account profit per year, before and after. ``labels``: title, x, y, before, after."""
    fig = go.Figure()
    for col, name, color, dash in (("before", labels["before"], BEFORE, "dot"),
                                   ("after", labels["after"], AFTER, "solid")):
        fig.add_scatter(x=df["year"], y=df[col], name=name, mode="lines+markers",
                        line=dict(color=color, width=3, dash=dash),
                        customdata=[fmt_money(v, lang, currency) for v in df[col]],
                        hovertemplate="%{x}: %{customdata}<extra>" + name + "</extra>")
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=360, hovermode="x unified")
    fig.update_xaxes(title_text=labels.get("x"), dtick=1)
    fig.update_yaxes(title_text=labels.get("y"))
    money_axis(fig, pd.concat([df["before"], df["after"]]), lang, currency)
    # from zero (a change of a few percent must not look like a doubling) to the last tick, so
    # every tick money_axis labels (zero included) is drawn
    ticks = fig.layout.yaxis.tickvals
    if ticks:
        fig.update_yaxes(range=[min(ticks), max(ticks)])
    return fig
