"""Charts of the Retention & value page (shared theme from kamdash.charts).

Every function takes translated ``labels`` and the language; none knows about catalogs or
Streamlit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import COLORWAY, PALETTE, TEMPLATE, money_axis
from kamdash.i18n.format import fmt_date, fmt_money, fmt_month, fmt_pct


def _period_label(ts, lang: str, freq: str) -> str:
    ts = pd.Timestamp(ts)
    if freq == "Q":
        q = (ts.month - 1) // 3 + 1
        return f"{ts.year}年第{q}季度" if lang == "zh" else f"Q{q} {ts.year}"
    return fmt_month(ts.date(), lang)


def cohort_heatmap(matrix: pd.DataFrame, sizes: pd.Series, labels: dict, lang: str,
                   freq: str = "M") -> go.Figure:
    """Retention share per cohort (rows) and period since first order (columns).
    ``labels``: title, x, y, hover (with {cohort}, {k}, {share}, {size} fields)."""
    rows = [f"{_period_label(c, lang, freq)} (n={int(sizes.get(c, 0))})" for c in matrix.index]
    z = matrix.to_numpy(float)
    text = [[fmt_pct(v, lang, digits=0) if np.isfinite(v) else "" for v in row] for row in z]
    show_text = len(matrix.columns) <= 13  # numbers in the cells only while they stay readable
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(k) for k in matrix.columns], y=rows, text=text,
        texttemplate="%{text}" if show_text else None,
        colorscale=[[0, "#f4f7fb"], [0.5, "#7fa6d3"], [1, PALETTE["gross_profit"]]],
        zmin=0, zmax=1, xgap=1, ygap=1, colorbar=dict(tickformat=".0%", title=""),
        hovertemplate=labels.get("hover", "%{y} · %{x}: %{text}") + "<extra></extra>",
    ))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"),
                      height=max(320, 26 * len(rows) + 140), margin=dict(t=100))
    fig.update_xaxes(title_text=labels.get("x"), side="top", showgrid=False)
    fig.update_yaxes(title_text=labels.get("y"), autorange="reversed", showgrid=False)
    return fig


def retention_curves(matrix: pd.DataFrame, average: pd.Series, labels: dict, lang: str,
                     freq: str = "M", recent: int = 6) -> go.Figure:
    """Retention by period since first order: the ``recent`` latest cohorts (thin) and the
    size-weighted average (thick). ``labels``: title, x, y, average."""
    fig = go.Figure()
    for i, c in enumerate(matrix.index[-recent:]):
        row = matrix.loc[c].dropna()
        fig.add_scatter(x=row.index, y=row.values, mode="lines+markers", name=_period_label(c, lang, freq),
                        line=dict(width=1.5, color=COLORWAY[(i + 2) % len(COLORWAY)]),
                        marker=dict(size=4), opacity=0.75,
                        hovertemplate="%{x}: %{y:.0%}<extra>" + _period_label(c, lang, freq) + "</extra>")
    fig.add_scatter(x=average.index, y=average.values, mode="lines+markers", name=labels["average"],
                    line=dict(width=4, color=PALETTE["gross_profit"]), marker=dict(size=7),
                    hovertemplate="%{x}: %{y:.1%}<extra>" + labels["average"] + "</extra>")
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=420,
                      legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    fig.update_xaxes(title_text=labels.get("x"), dtick=1 if len(average) <= 24 else None)
    fig.update_yaxes(title_text=labels.get("y"), tickformat=".0%", rangemode="tozero")
    return fig


def defection_chart(rates: pd.DataFrame, labels: dict, lang: str) -> go.Figure:
    """Monthly defection rate (bars) with the number of defectors in the hover.
    ``labels``: title, x, y, series, hover (with {n} and {base})."""
    months = [fmt_month(m.date(), lang) for m in pd.to_datetime(rates["month"])]
    fig = go.Figure(go.Bar(
        x=months, y=rates["rate"], name=labels["series"], marker_color=PALETTE["account_profit"],
        customdata=np.column_stack([rates["defected"], rates["active"]]),
        hovertemplate="%{x}: %{y:.1%}<br>" + labels.get("hover", "%{customdata[0]} / %{customdata[1]}")
        + "<extra></extra>",
    ))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=360, bargap=0.3)
    fig.update_xaxes(title_text=labels.get("x"))
    fig.update_yaxes(title_text=labels.get("y"), tickformat=".1%", rangemode="tozero")
    return fig


def interval_bars(df: pd.DataFrame, name_col: str, value: str, lo: str, hi: str, labels: dict,
                  lang: str, currency: str, color: str | None = None) -> go.Figure:
    """Horizontal bars of ``value`` per ``name_col`` (largest on top) with the interval
    [lo, hi] as error bars. ``labels``: title, x, interval (legend text of the bars' whiskers)."""
    d = df.iloc[::-1]
    money = [fmt_money(v, lang, currency) for v in d[value]]
    rng = [f"{fmt_money(a, lang, currency)} – {fmt_money(b, lang, currency)}" for a, b in zip(d[lo], d[hi])]
    fig = go.Figure(go.Bar(
        x=d[value], y=d[name_col], orientation="h", marker_color=color or PALETTE["gross_profit"],
        error_x=dict(type="data", symmetric=False, array=(d[hi] - d[value]).clip(lower=0),
                     arrayminus=(d[value] - d[lo]).clip(lower=0), color=PALETTE["text"], thickness=1.5),
        customdata=np.column_stack([money, rng]), name=labels.get("series", ""),
        hovertemplate="%{y}<br>%{customdata[0]}<br>" + labels.get("interval", "") + ": %{customdata[1]}"
        + "<extra></extra>",
    ))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=max(300, 30 * len(d) + 120),
                      showlegend=False)
    fig.update_xaxes(title_text=labels.get("x"), rangemode="tozero")
    money_axis(fig, pd.concat([d[hi], pd.Series([0.0])]), lang, currency, axis="xaxis")
    return fig


def tracking_chart(track: pd.DataFrame, calibration_end, labels: dict, lang: str) -> go.Figure:
    """Cumulative repeat purchases, actual vs predicted, with the calibration end marked.
    ``track``: date, actual, predicted. ``labels``: title, x, y, actual, predicted, calibration."""
    fig = go.Figure()
    fig.add_scatter(x=track["date"], y=track["actual"], name=labels["actual"], mode="lines",
                    line=dict(color=PALETTE["text"], width=3))
    fig.add_scatter(x=track["date"], y=track["predicted"], name=labels["predicted"], mode="lines",
                    line=dict(color=PALETTE["account_profit"], width=3, dash="dash"))
    x = pd.Timestamp(calibration_end)
    fig.add_vline(x=x, line=dict(color=PALETTE["muted"], dash="dot"))
    fig.add_annotation(x=x, y=1, yref="paper", text=labels["calibration"] + " " + fmt_date(x.date(), lang),
                       showarrow=False, xanchor="right", yanchor="bottom", font=dict(color=PALETTE["muted"]))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), height=400, hovermode="x unified")
    fig.update_xaxes(title_text=labels.get("x"))
    fig.update_yaxes(title_text=labels.get("y"), rangemode="tozero", tickformat=",d")
    return fig
