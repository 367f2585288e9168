"""Charts: DataFrame in, plotly Figure out. One theme for every chart.

The theme and shared helpers live here; each feature adds its charts in a module of this
package (``kamdash/charts/<feature>.py``) that imports ``TEMPLATE``, ``PALETTE`` and helpers.

Chart functions take already-translated labels (``labels``) and the language for number
formatting, so they know nothing about catalogs or Streamlit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from kamdash.i18n.format import fmt_money, fmt_month

FONT_FAMILY = ("Inter, 'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', "
               "'Helvetica Neue', Arial, sans-serif")
PALETTE = {
    "revenue": "#9db7d5",
    "gross_profit": "#1f5fa8",
    "account_profit": "#e07b24",
    "loss": "#c0392b",
    "grid": "#e6e9ef",
    "text": "#1f2a37",
    "muted": "#6b7280",
}
COLORWAY = ["#1f5fa8", "#e07b24", "#2a9d8f", "#8e5ea2", "#c0392b", "#7a8b99", "#e9c46a", "#264653"]

pio.templates["kamdash"] = go.layout.Template(
    layout=go.Layout(
        font=dict(family=FONT_FAMILY, size=14, color=PALETTE["text"]),
        title=dict(font=dict(size=18), x=0.0, xanchor="left"),
        colorway=COLORWAY,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin=dict(l=10, r=10, t=50, b=10),
        xaxis=dict(showgrid=False, linecolor=PALETTE["grid"], ticks="outside",
                   tickcolor=PALETTE["grid"], automargin=True),
        yaxis=dict(gridcolor=PALETTE["grid"], zerolinecolor="#b8c0cc", automargin=True),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1.0),
        hoverlabel=dict(font=dict(family=FONT_FAMILY)),
    )
)
TEMPLATE = "kamdash"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi], including 0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo
    if span <= 0:
        return [0.0]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = list(np.arange(start, hi + step * 1.001, step))
    return [float(round(v, 10)) for v in ticks]


def money_axis(fig: go.Figure, values, lang: str, currency: str, axis: str = "yaxis") -> None:
    """Tick labels in the locale's compact money format (万/亿 in Chinese, K/M in English)."""
    arr = np.asarray(pd.Series(values).dropna(), dtype=float)
    if arr.size == 0:
        return
    ticks = nice_ticks(float(arr.min()), float(arr.max()))
    fig.update_layout({axis: dict(tickvals=ticks,
                                  ticktext=[fmt_money(v, lang, currency, digits=1) for v in ticks])})


def trend_chart(monthly: pd.DataFrame, labels: dict[str, str], lang: str, currency: str) -> go.Figure:
    """Monthly revenue (bars) with gross and account profit (lines).

    ``monthly``: month, revenue, gross_profit, account_profit (Engine.monthly_totals).
    ``labels``: series names for revenue, gross_profit, account_profit; ``title``; axis titles
    ``x`` and ``y``.
    """
    fig = go.Figure()
    months = [fmt_month(m, lang) for m in monthly["month"].dt.date]
    fig.add_bar(
        x=monthly["month"], y=monthly["revenue"], name=labels["revenue"],
        marker_color=PALETTE["revenue"],
        customdata=np.column_stack([months, [fmt_money(v, lang, currency) for v in monthly["revenue"]]]),
        hovertemplate="%{customdata[0]}<br>" + labels["revenue"] + ": %{customdata[1]}<extra></extra>",
    )
    for key, dash in (("gross_profit", "solid"), ("account_profit", "solid")):
        fig.add_scatter(
            x=monthly["month"], y=monthly[key], name=labels[key], mode="lines+markers",
            line=dict(color=PALETTE[key], width=3, dash=dash), marker=dict(size=6),
            customdata=np.column_stack([months, [fmt_money(v, lang, currency) for v in monthly[key]]]),
            hovertemplate="%{customdata[0]}<br>" + labels[key] + ": %{customdata[1]}<extra></extra>",
        )
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), hovermode="x unified",
                      height=420, bargap=0.25)
    fig.update_xaxes(title_text=labels.get("x"), tickvals=monthly["month"],
                     ticktext=[fmt_month(m, lang) for m in monthly["month"].dt.date])
    if len(monthly) > 14:  # keep month labels readable: every other/third month
        step = math.ceil(len(monthly) / 12)
        fig.update_xaxes(tickvals=monthly["month"][::step], ticktext=months[::step])
    fig.update_yaxes(title_text=labels.get("y"))
    money_axis(fig, pd.concat([monthly["revenue"], monthly["gross_profit"], monthly["account_profit"]]),
               lang, currency)
    return fig
