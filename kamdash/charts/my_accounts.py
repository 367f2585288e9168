"""Charts of the My accounts page (shared theme from kamdash.charts): the score month by month,
the backtest by score band, the whitespace heat map, the forecast by manager.

Every function takes translated ``labels`` and the language; none knows about catalogs or
Streamlit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import PALETTE, TEMPLATE, money_axis
from kamdash.i18n.format import fmt_money, fmt_month, fmt_pct


def score_trend(portfolio: pd.DataFrame, labels: dict, lang: str) -> go.Figure:
    """Mean score of the accounts (line, left axis) and accounts below 40 (bars, right axis)
    per month. ``labels``: title, score, below, x."""
    x = [fmt_month(pd.Timestamp(m).date(), lang) for m in portfolio["month"]]
    fig = go.Figure()
    fig.add_bar(x=x, y=portfolio["below_40"], name=labels["below"], marker_color="#f3c4bd", yaxis="y2",
                hovertemplate="%{x}: %{y}<extra>" + labels["below"] + "</extra>")
    fig.add_scatter(x=x, y=portfolio["score"], name=labels["score"], mode="lines+markers",
                    line=dict(width=3, color=PALETTE["gross_profit"]),
                    hovertemplate="%{x}: %{y:.1f}<extra>" + labels["score"] + "</extra>")
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=360,
                      yaxis=dict(range=[0, 100], title_text=labels["score"]),
                      yaxis2=dict(overlaying="y", side="right", showgrid=False, rangemode="tozero",
                                  tickformat=",d", title_text=labels["below"]))
    fig.update_xaxes(title_text=labels.get("x"))
    return fig


def backtest_bands(bands: pd.DataFrame, labels: dict, lang: str) -> go.Figure:
    """Share of accounts lost per score band (bars), with the number of accounts in each.
    ``labels``: title, x, y, hover (with {n} and {lost})."""
    x = [f"{int(lo)}–{int(hi)}<br>n={int(n)}" for lo, hi, n in zip(bands["lo"], bands["hi"], bands["accounts"])]
    share = bands["share_lost"].to_numpy(float)
    text = [fmt_pct(s, lang, digits=0) if np.isfinite(s) else "" for s in share]
    colors = ["#c0392b", "#e07b24", "#e9c46a", "#7fa6d3", "#1f5fa8"][: len(x)]
    custom = np.stack([bands["accounts"], bands["lost"]], axis=1)
    fig = go.Figure(go.Bar(x=x, y=np.nan_to_num(share), text=text, textposition="outside", marker_color=colors,
                           customdata=custom,
                           hovertemplate=labels["hover"].format(n="%{customdata[0]}", lost="%{customdata[1]}")
                           + "<extra></extra>"))
    top = float(np.nanmax(share)) if np.isfinite(share).any() else 1.0
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=360, showlegend=False)
    fig.update_yaxes(tickformat=".0%", range=[0, min(1.15, top * 1.2 + 0.05)], title_text=labels["y"])
    fig.update_xaxes(title_text=labels["x"])
    return fig


WS_COLORS = {0: "#d9dde3", 1: ("#e8f3ea", "#1a7f37"), 2: ("#fdf0e2", "#c2610c")}


def whitespace_heatmap(heat: pd.DataFrame, status: pd.DataFrame, rows: list[str], cols: list[str],
                       labels: dict, lang: str, currency: str) -> go.Figure:
    """Accounts (rows, largest whitespace first) x categories: expected yearly revenue of each
    gap, in green where the account never bought the category and in orange where it stopped
    buying it; grey where it buys it. ``labels``: title, buying, never, stopped."""
    z = heat.to_numpy(float)
    st = status.to_numpy()
    word = {0: labels["buying"], 1: labels["never"], 2: labels["stopped"]}
    text = [[("" if s == 0 else fmt_money(v, lang, currency)) for v, s in zip(zr, sr)] for zr, sr in zip(z, st)]
    kind = [[word[int(s)] for s in sr] for sr in st]
    top = float(np.nanmax(np.where(st == 0, np.nan, z))) if (st != 0).any() else 1.0
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=np.where(st == 0, 1.0, np.nan), x=cols, y=rows, showscale=False, xgap=2, ygap=2,
                             colorscale=[[0, WS_COLORS[0]], [1, WS_COLORS[0]]], customdata=kind, hoverongaps=False,
                             hovertemplate="%{y} · %{x}: %{customdata}<extra></extra>"))
    for code in (1, 2):
        lo, hi = WS_COLORS[code]
        fig.add_trace(go.Heatmap(
            z=np.where(st == code, z, np.nan), x=cols, y=rows, text=text, customdata=kind, showscale=False,
            texttemplate="%{text}", textfont=dict(size=10), zmin=0, zmax=top, xgap=2, ygap=2, hoverongaps=False,
            colorscale=[[0, lo], [1, hi]], hovertemplate="%{y} · %{x}<br>%{customdata}: %{text}<extra></extra>"))
    for code in (1, 2, 0):  # legend: one square per kind of cell
        color = WS_COLORS[code] if code == 0 else WS_COLORS[code][1]
        fig.add_scatter(x=[None], y=[None], mode="markers", name=word[code],
                        marker=dict(symbol="square", size=12, color=color))
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=max(380, 24 * len(rows) + 200),
                      showlegend=True, plot_bgcolor="white")
    fig.update_xaxes(side="bottom", showgrid=False, tickangle=-25)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    return fig


def forecast_by_manager(table: pd.DataFrame, labels: dict, lang: str, currency: str) -> go.Figure:
    """Forecast per account manager (bars) with its 80% band (error bars). ``table``: name,
    forecast, lo, hi. ``labels``: title, y."""
    t = table.sort_values("forecast", ascending=True)
    fig = go.Figure(go.Bar(
        y=t["name"], x=t["forecast"], orientation="h", marker_color=PALETTE["revenue"],
        error_x=dict(type="data", symmetric=False, array=t["hi"] - t["forecast"],
                     arrayminus=t["forecast"] - t["lo"], color=PALETTE["muted"]),
        text=[fmt_money(v, lang, currency) for v in t["forecast"]], textposition="inside",
        hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=max(220, 30 * len(t) + 120), showlegend=False)
    money_axis(fig, t["hi"], lang, currency, axis="xaxis")
    return fig


def whitespace_by_category(table: pd.DataFrame, labels: dict, lang: str, currency: str) -> go.Figure:
    """Expected yearly revenue of the gaps per category (horizontal stacked bars, largest at the
    top): never bought in green, stopped buying in orange, as in the heat map. ``table``:
    category, never, stopped, total. ``labels``: title, never, stopped."""
    t = table.iloc[::-1]
    fig = go.Figure()
    for kind, code in (("never", 1), ("stopped", 2)):
        fig.add_bar(y=t["category"], x=t[kind], orientation="h", name=labels[kind], marker_color=WS_COLORS[code][1],
                    customdata=[fmt_money(v, lang, currency) for v in t[kind]],
                    hovertemplate="%{y}: %{customdata}<extra>" + labels[kind] + "</extra>")
    fig.add_scatter(y=t["category"], x=t["total"], mode="text", showlegend=False, hoverinfo="skip",
                    text=[fmt_money(v, lang, currency) for v in t["total"]], textposition="middle right")
    top = float(t["total"].max()) if len(t) else 1.0
    fig.update_layout(template=TEMPLATE, title=labels["title"], barmode="stack", height=max(300, 36 * len(t) + 160),
                      legend=dict(orientation="h", y=-0.12, x=0))
    fig.update_xaxes(range=[0, top * 1.25 if top > 0 else 1.0])
    money_axis(fig, [0.0, *t["total"]], lang, currency, axis="xaxis")
    return fig
