"""Charts made for the workshop storyline (the other slides reuse the pages' charts)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from kamdash.charts import PALETTE, TEMPLATE, nice_ticks
from kamdash.i18n.format import fmt_money, fmt_pct


def before_after_chart(rows: list[tuple[str, float, float]], labels: dict, lang: str,
                       currency: str) -> go.Figure:
    """Grouped bars, before vs after, one group per measure.

    ``rows``: (measure label, before, after). ``labels``: title, before, after.
    """
    names = [r[0] for r in rows]
    before = np.array([r[1] for r in rows], dtype=float)
    after = np.array([r[2] for r in rows], dtype=float)
    fig = go.Figure()
    for values, name, color in ((before, labels["before"], PALETTE["revenue"]),
                                (after, labels["after"], PALETTE["gross_profit"])):
        text = [fmt_money(v, lang, currency) for v in values]
        fig.add_bar(x=names, y=values, name=name, marker_color=color, text=text,
                    textposition="outside", cliponaxis=False,
                    hovertemplate="%{x} · " + name + ": %{text}<extra></extra>")
    ticks = nice_ticks(float(min(before.min(), after.min())), float(max(before.max(), after.max())) * 1.1)
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), barmode="group", height=420,
                      bargap=0.35, uniformtext=dict(minsize=12, mode="show"))
    fig.update_yaxes(tickvals=ticks, ticktext=[fmt_money(v, lang, currency, digits=1) for v in ticks],
                     range=[min(ticks), max(ticks)])
    return fig


def share_bars(rows: list[str], customer_share, value_share, labels: dict, lang: str) -> go.Figure:
    """Horizontal bars per group: share of customers vs share of value (both 0..1).

    ``labels``: title, customers, value (series names)."""
    fig = go.Figure()
    for values, name, color in ((customer_share, labels["customers"], PALETTE["revenue"]),
                                (value_share, labels["value"], PALETTE["gross_profit"])):
        text = [fmt_pct(v, lang, 0) for v in values]
        fig.add_bar(y=rows, x=values, name=name, orientation="h", marker_color=color, text=text,
                    textposition="outside", cliponaxis=False,
                    hovertemplate="%{y} · " + name + ": %{text}<extra></extra>")
    top = float(max(np.max(customer_share), np.max(value_share), 0.01))
    fig.update_layout(template=TEMPLATE, title=labels.get("title"), barmode="group",
                      height=max(320, 70 * len(rows) + 120), bargap=0.25)
    fig.update_xaxes(tickformat=".0%", range=[0, min(1.0, top * 1.15) if top < 0.87 else top * 1.15])
    fig.update_yaxes(autorange="reversed")
    return fig
