"""Concentration charts: Pareto, Lorenz, whale curve, concentration over time.

Inputs are the frames of ``kamdash.analytics.pareto``; ``labels`` holds already-translated
texts (title, axis titles, series names, annotation texts), so the charts know nothing about
catalogs. Shares are fractions shown as percentages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import PALETTE, TEMPLATE, money_axis, nice_ticks
from kamdash.i18n.format import fmt_money

HEIGHT = 420
MAX_POINTS = 1500  # curves with more customers are thinned for drawing (readouts use all)
MAX_BARS = 400  # bars of the Pareto chart: more would be thinner than a pixel, and each one's
# hover text is a Babel money string, formatted one by one


def _thin(df: pd.DataFrame, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th point of a curve, always keeping the first, last and extreme points."""
    if len(df) <= max_points:
        return df
    step = int(np.ceil(len(df) / max_points))
    keep = set(range(0, len(df), step)) | {len(df) - 1}
    keep |= {int(df.iloc[:, 1].to_numpy().argmax()), int(df.iloc[:, 1].to_numpy().argmin())}
    return df.iloc[sorted(keep)]


def _share_axes(fig: go.Figure, labels: dict) -> None:
    fig.update_xaxes(title_text=labels.get("x"), tickformat=".0%", range=[-0.01, 1.01], showgrid=True,
                     gridcolor=PALETTE["grid"])
    fig.update_yaxes(title_text=labels.get("y"), tickformat=".0%")


def pareto_chart(ranked: pd.DataFrame, labels: dict, lang: str, currency: str,
                 for_target_share: float, target: float = 0.8) -> go.Figure:
    """Customers ranked by value (bars, money axis) with the cumulative share (line, right axis).

    ``ranked``: analytics.pareto.ranked output (customer_share, value, value_share, name).
    ``labels``: title, x, y, y2, bars, line, point (annotation text of the 80/20 point).
    The point where the cumulative share reaches ``target`` is marked at ``for_target_share``.
    """
    r = _thin(ranked[["customer_share", "value", "value_share"]].reset_index(drop=True))
    bars = _thin(r, MAX_BARS)
    colors = np.where(bars["value"] < 0, PALETTE["loss"], PALETTE["revenue"])
    fig = go.Figure()
    fig.add_bar(x=bars["customer_share"], y=bars["value"], name=labels["bars"], marker_color=colors,
                marker_line_width=0,
                customdata=[fmt_money(v, lang, currency) for v in bars["value"]],
                hovertemplate="%{x:.1%}<br>%{customdata}<extra></extra>")
    fig.add_scatter(x=np.concatenate([[0.0], r["customer_share"]]),
                    y=np.concatenate([[0.0], r["value_share"]]), name=labels["line"],
                    mode="lines", yaxis="y2", line=dict(color=PALETTE["gross_profit"], width=3),
                    hovertemplate="%{x:.1%} → %{y:.1%}<extra></extra>")
    if np.isfinite(for_target_share):
        fig.add_scatter(x=[for_target_share], y=[target], yaxis="y2", mode="markers",
                        marker=dict(size=11, color=PALETTE["account_profit"], line=dict(color="white", width=2)),
                        showlegend=False, hoverinfo="skip")
        fig.add_annotation(x=for_target_share, y=target, yref="y2", text=labels["point"],
                           showarrow=True, arrowhead=0, ax=60, ay=40, xanchor="left",
                           bgcolor="rgba(255,255,255,0.9)", bordercolor=PALETTE["grid"])
        fig.add_shape(type="line", x0=for_target_share, x1=for_target_share, y0=0, y1=target,
                      yref="y2", line=dict(color=PALETTE["muted"], width=1, dash="dot"))
    top = max(1.0, float(np.nanmax(r["value_share"])) if len(r) else 1.0) * 1.05
    low = min(0.0, float(np.nanmin(r["value_share"])) if len(r) else 0.0)
    vmax = max(float(r["value"].max()) if len(r) else 1.0, 0.0) * 1.05 or 1.0
    vmin = min(float(r["value"].min()) if len(r) else 0.0, 0.0) * 1.05
    # line the zero of the share axis up with the zero of the money axis
    zero = -vmin / (vmax - vmin)  # where 0 sits on the money axis (fraction of its height)
    if low < 0 and -low / (top - low) > zero:
        zero = -low / (top - low)
        vmin = -zero * vmax / (1 - zero)
    share_min = -zero * top / (1 - zero)
    share_ticks = [t for t in nice_ticks(low, top / 1.05, 5) if low - 1e-9 <= t <= top]
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=HEIGHT, bargap=0,
                      yaxis=dict(range=[vmin, vmax]),
                      yaxis2=dict(overlaying="y", side="right", tickmode="array", tickvals=share_ticks,
                                  ticktext=[f"{t:.0%}" for t in share_ticks], range=[share_min, top],
                                  showgrid=False, zeroline=False, title_text=labels.get("y2")),
                      margin=dict(t=80))
    fig.update_xaxes(title_text=labels.get("x"), tickformat=".0%", range=[-0.005, 1.01])
    fig.update_layout(yaxis_title_text=labels.get("y"))
    money_axis(fig, r["value"], lang, currency)
    return fig


def lorenz_chart(lorenz: pd.DataFrame, labels: dict, gini: float) -> go.Figure:
    """The Lorenz curve with the line of equality; ``lorenz``: customer_share, value_share.
    ``labels``: title, x, y, curve, equality, gini (annotation text)."""
    lz = _thin(lorenz.reset_index(drop=True))
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=labels["equality"],
                    line=dict(color=PALETTE["muted"], dash="dash", width=2), hoverinfo="skip")
    fig.add_scatter(x=lz["customer_share"], y=lz["value_share"], mode="lines", name=labels["curve"],
                    line=dict(color=PALETTE["gross_profit"], width=3), fill="tonexty",
                    fillcolor="rgba(31,95,168,0.12)", hovertemplate="%{x:.1%} → %{y:.1%}<extra></extra>")
    if np.isfinite(gini):
        fig.add_annotation(x=0.05, y=0.92, xref="x", yref="y", text=labels["gini"], showarrow=False,
                           xanchor="left", font=dict(size=15), bgcolor="rgba(255,255,255,0.9)")
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=HEIGHT, margin=dict(t=80))
    _share_axes(fig, labels)
    low = min(0.0, float(lz["value_share"].min())) if len(lz) else 0.0
    fig.update_yaxes(range=[low - 0.02, 1.02])
    return fig


def whale_chart(whale: pd.DataFrame, labels: dict, peak: float, peak_share: float) -> go.Figure:
    """Cumulative account profit (% of total) by customers ranked by profit.

    ``whale``: customer_share, profit_share (analytics.pareto.whale_curve). ``labels``: title, x,
    y, curve, total (the 100% line), peak (annotation text)."""
    w = _thin(whale.reset_index(drop=True))
    fig = go.Figure()
    fig.add_scatter(x=w["customer_share"], y=w["profit_share"], mode="lines", name=labels["curve"],
                    line=dict(color=PALETTE["account_profit"], width=3),
                    fill="tozeroy", fillcolor="rgba(224,123,36,0.10)",
                    hovertemplate="%{x:.1%} → %{y:.1%}<extra></extra>")
    fig.add_hline(y=1.0, line=dict(color=PALETTE["muted"], dash="dash", width=1.5),
                  annotation_text=labels["total"], annotation_position="bottom right")
    if np.isfinite(peak):
        fig.add_scatter(x=[peak_share], y=[peak], mode="markers", showlegend=False, hoverinfo="skip",
                        marker=dict(size=11, color=PALETTE["loss"], line=dict(color="white", width=2)))
        fig.add_annotation(x=peak_share, y=peak, text=labels["peak"], showarrow=True, arrowhead=0,
                           ax=0, ay=-30, bgcolor="rgba(255,255,255,0.9)", yanchor="bottom")
    top = max(1.0, peak if np.isfinite(peak) else 1.0)
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=HEIGHT, margin=dict(t=80),
                      showlegend=False)
    _share_axes(fig, labels)
    fig.update_yaxes(range=[min(0.0, float(w["profit_share"].min()) if len(w) else 0.0), top * 1.18])
    return fig


def over_time_chart(over: pd.DataFrame, labels: dict, lang: str, grain: str) -> go.Figure:
    """Gini and top-20% share per period (lines); incomplete periods as hollow markers.

    ``over``: analytics.pareto.over_time (period, complete, gini, top_share). ``labels``:
    title, x, y, gini, top_share, partial (legend text of incomplete periods)."""
    def name(p):
        p = pd.Timestamp(p)
        return str(p.year) if grain == "year" else (f"{p.year} Q{(p.month - 1) // 3 + 1}" if lang == "en"
                                                    else f"{p.year}年第{(p.month - 1) // 3 + 1}季度")
    x = [name(p) for p in over["period"]]
    fig = go.Figure()
    for col, color in (("gini", PALETTE["gross_profit"]), ("top_share", PALETTE["account_profit"])):
        symbols = ["circle" if c else "circle-open" for c in over["complete"]]
        fig.add_scatter(x=x, y=over[col], name=labels[col], mode="lines+markers",
                        line=dict(color=color, width=3), marker=dict(size=9, symbol=symbols, color=color),
                        hovertemplate="%{x}: %{y:.3f}<extra>" + labels[col] + "</extra>" if col == "gini"
                        else "%{x}: %{y:.1%}<extra>" + labels[col] + "</extra>")
    if not over["complete"].all():
        fig.add_scatter(x=[None], y=[None], mode="markers", name=labels["partial"],
                        marker=dict(size=9, symbol="circle-open", color=PALETTE["muted"]))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=HEIGHT, margin=dict(t=80),
                      hovermode="x unified")
    fig.update_xaxes(title_text=labels.get("x"), type="category")
    fig.update_yaxes(title_text=labels.get("y"), rangemode="tozero")
    return fig

