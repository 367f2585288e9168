"""Charts of the Account 360 page (shared theme from kamdash.charts)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import PALETTE, TEMPLATE, money_axis
from kamdash.i18n.format import fmt_money, fmt_pct


def share_bars(df: pd.DataFrame, label: str, value: str, labels: dict, lang: str, currency: str,
               color: str = PALETTE["gross_profit"]) -> go.Figure:
    """Horizontal bars of ``value`` per ``label`` (largest on top), each with its money and
    share of the total as text. ``labels``: title, x."""
    d = df.sort_values(value, ascending=True)
    total = float(d[value].sum())
    text = [f"{fmt_money(v, lang, currency)} · {fmt_pct(v / total, lang, digits=0)}" if total else
            fmt_money(v, lang, currency) for v in d[value]]
    fig = go.Figure(go.Bar(x=d[value], y=d[label], orientation="h", marker_color=color, text=text,
                           textposition="auto", cliponaxis=False,
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"),
                      height=max(220, 70 + 44 * len(d)), showlegend=False, bargap=0.3)
    fig.update_xaxes(title_text=labels.get("x"))
    money_axis(fig, np.append(d[value].to_numpy(float), 0.0), lang, currency, axis="xaxis")
    return fig


def goal_bars(progress: pd.DataFrame, labels: dict, lang: str) -> go.Figure:
    """Revenue goals as bars of actual-to-date and projected end value, each as a share of its
    target (100% line = target). ``progress``: analytics.account.plan_progress rows with
    metric revenue and a target; ``labels``: title, actual, projected, target, goals (y tick
    text per row)."""
    d = progress.reset_index(drop=True)
    y = labels["goals"]
    fig = go.Figure()
    for col, name, color in (("projected", labels["projected"], PALETTE["revenue"]),
                             ("actual", labels["actual"], PALETTE["gross_profit"])):
        share = (d[col] / d["target"]).to_numpy(float)
        fig.add_bar(y=y, x=share, name=name, orientation="h", marker_color=color,
                    text=[fmt_pct(s, lang, digits=0) for s in share], textposition="auto",
                    hovertemplate="%{y} · " + name + ": %{text}<extra></extra>")
    fig.add_vline(x=1.0, line=dict(color=PALETTE["account_profit"], width=2, dash="dash"),
                  annotation_text=labels["target"], annotation_position="top")
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), barmode="group",
                      height=max(220, 110 + 60 * len(d)))
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return fig


def loss_waterfall(steps: list[tuple[str, float]], end: float, labels: dict, lang: str,
                   currency: str) -> go.Figure:
    """A waterfall from a starting amount through signed steps to ``end``: ``steps`` = [(label,
    amount)], the first the starting total (profit at the peers' rates), the others changes
    (minus each cause); the last bar is ``end`` (the account profit), which the steps add up to.
    ``labels``: title, end (its bar's name), y."""
    names = [s[0] for s in steps] + [labels["end"]]
    values = [s[1] for s in steps] + [end]
    measure = ["absolute"] + ["relative"] * (len(steps) - 1) + ["total"]
    text = [("+" if m == "relative" and v > 0 else "") + fmt_money(v, lang, currency) for m, v in zip(measure, values)]
    fig = go.Figure(go.Waterfall(
        x=names, y=values, measure=measure, text=text, textposition="outside", cliponaxis=False,
        increasing=dict(marker=dict(color=PALETTE["gross_profit"])),
        decreasing=dict(marker=dict(color=PALETTE["loss"])),
        totals=dict(marker=dict(color=PALETTE["account_profit"])),
        connector=dict(line=dict(color=PALETTE["muted"], width=1)),
        hovertemplate="%{x}: %{text}<extra></extra>"))
    running = np.cumsum([s[1] for s in steps])
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), showlegend=False, height=380)
    fig.update_yaxes(title_text=labels.get("y"))
    money_axis(fig, np.concatenate([running, [end, 0.0]]), lang, currency)
    return fig
