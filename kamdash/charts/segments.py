"""Charts of the segments and key-accounts pages (translated labels come in as arguments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from kamdash.charts import COLORWAY, PALETTE, TEMPLATE, money_axis
from kamdash.i18n.format import fmt_delta_pct, fmt_money, fmt_pct

QUADRANT_COLORS = {"star": "#2a9d8f", "develop": "#1f5fa8", "maintain": "#e07b24", "review": "#7a8b99"}


def segment_color(segment: int) -> str:
    """The colour of segment ``segment`` (1-based): stable because segments are numbered by
    value."""
    return COLORWAY[(int(segment) - 1) % len(COLORWAY)]


def silhouette_chart(sil: pd.DataFrame, chosen: int, labels: dict) -> go.Figure:
    """Silhouette by k (``sil``: k, silhouette, optional eligible) with the chosen k
    highlighted and the k the automatic choice does not consider in grey.
    ``labels``: title, x, y, excluded (hover text of the grey bars)."""
    eligible = sil["eligible"].to_numpy(dtype=bool) if "eligible" in sil else np.ones(len(sil), dtype=bool)
    colors = [PALETTE["gross_profit"] if k == chosen else (PALETTE["revenue"] if ok else PALETTE["muted"])
              for k, ok in zip(sil["k"], eligible)]
    note = ["" if ok else "<br>" + labels.get("excluded", "") for ok in eligible]
    fig = go.Figure(go.Bar(x=sil["k"], y=sil["silhouette"], marker_color=colors, customdata=note,
                           text=[f"{v:.2f}" for v in sil["silhouette"]], textposition="outside",
                           hovertemplate="k = %{x}<br>%{y:.3f}%{customdata}<extra></extra>", cliponaxis=False))
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=320, showlegend=False,
                      margin=dict(t=60))
    fig.update_xaxes(title_text=labels["x"], tickmode="array", tickvals=list(sil["k"]))
    top = float(np.nanmax(sil["silhouette"])) if len(sil) else 1.0
    fig.update_yaxes(title_text=labels["y"], range=[0, top * 1.25])
    return fig


def segment_map(points: pd.DataFrame, names: dict[int, str], labels: dict, lang: str,
                currency: str) -> go.Figure:
    """The segment map: one marker per customer at its 2-D projection.

    ``points``: x, y, segment, value (revenue, sizes the marker), account (hover name);
    ``names``: segment -> display name; ``labels``: title, x, y (axis titles), value."""
    fig = go.Figure()
    vmax = max(float(points["value"].clip(lower=0).max()), 1.0) if len(points) else 1.0
    for seg in sorted(points["segment"].unique()):
        p = points[points["segment"] == seg]
        size = 5 + 25 * np.sqrt(p["value"].clip(lower=0) / vmax)
        money = [fmt_money(v, lang, currency) for v in p["value"]]
        fig.add_scattergl(
            x=p["x"], y=p["y"], mode="markers", name=f"{seg} · {names.get(int(seg), '')}",
            marker=dict(size=size, color=segment_color(seg), opacity=0.6,
                        line=dict(width=0.5, color="white")),
            customdata=np.column_stack([p["account"].astype(str), money]),
            hovertemplate="<b>%{customdata[0]}</b><br>" + f"{names.get(int(seg), seg)}<br>"
                          + labels["value"] + ": %{customdata[1]}<extra></extra>")
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=560,
                      legend=dict(orientation="h", y=-0.18, yanchor="top", x=0, xanchor="left"),
                      margin=dict(t=60, b=10))
    fig.update_xaxes(title_text=labels["x"], zeroline=True, zerolinecolor=PALETTE["grid"],
                     showgrid=True, gridcolor=PALETTE["grid"])
    fig.update_yaxes(title_text=labels["y"], zeroline=True, zerolinecolor=PALETTE["grid"])
    return fig


def profile_heatmap(z: pd.DataFrame, text: pd.DataFrame, labels: dict) -> go.Figure:
    """Segment profiles: rows = segments (display names), columns = features (display names).
    ``z``: standardised means (colour, 0 = average customer); ``text``: the means as display
    strings. ``labels``: title, colorbar."""
    zc = z.clip(-2, 2)
    fig = go.Figure(go.Heatmap(
        z=zc.to_numpy(), x=list(z.columns), y=list(z.index), text=text.to_numpy(),
        texttemplate="%{text}", textfont=dict(size=13), zmid=0, zmin=-2, zmax=2,
        colorscale=[[0, "#c0392b"], [0.5, "#f7f7f7"], [1, "#1f5fa8"]],
        colorbar=dict(title=dict(text=labels["colorbar"], side="right"), thickness=12),
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>", xgap=2, ygap=2))
    fig.update_layout(template=TEMPLATE, title=labels["title"],
                      height=140 + 48 * len(z.index), margin=dict(t=60))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(side="top", showgrid=False, ticks="")
    return fig


def ka_types_chart(summary: pd.DataFrame, labels: dict, lang: str) -> go.Figure:
    """Key accounts per type: bars = share of revenue, text = customers and share.
    ``summary``: ka_type (display), customers, revenue_share, in order; the last row (all key
    accounts together) is drawn in grey. ``labels``: title, x, customers."""
    colors = [COLORWAY[i % len(COLORWAY)] for i in range(len(summary) - 1)] + [PALETTE["muted"]]
    s = summary.iloc[::-1]
    text = [f"{fmt_pct(r, lang)} · {labels['customers'].format(n=n)}"
            for r, n in zip(s["revenue_share"], s["customers"])]
    fig = go.Figure(go.Bar(y=s["ka_type"], x=s["revenue_share"], orientation="h", text=text,
                           textposition="outside", cliponaxis=False,
                           marker_color=colors[::-1],
                           hovertemplate="%{y}: %{text}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=110 + 52 * len(s),
                      showlegend=False, margin=dict(t=60, r=160))
    fig.update_xaxes(title_text=labels["x"], tickformat=".0%", range=[0, 1.05], showgrid=True,
                     gridcolor=PALETTE["grid"])
    return fig


GROWTH_CAP = 2.0  # growth above +200% (and new accounts) is drawn at the top of the matrix


def portfolio_chart(pf: pd.DataFrame, labels: dict, lang: str, currency: str) -> go.Figure:
    """The KA portfolio matrix: x = current value (log scale), y = growth (% against the same
    months a year before), bubble size = value, colour = quadrant; dashed lines at the splits
    with the quadrants named. Growth above ``GROWTH_CAP`` and new accounts are drawn at the cap
    (their hover says the real figure or "new"). Each point's customdata ends with its
    customer_id (a click opens the account).

    ``pf``: customer_id, value, potential, new, quadrant, account (hover), types (hover text),
    with attrs value_split / potential_split. New accounts are diamonds. ``labels``: title, x, y, value, potential, new,
    types, open and quadrant.<name> for the four quadrants."""
    fig = go.Figure()
    pos = pf[pf["value"] > 0]
    vmax = max(float(pos["value"].max()), 1.0) if len(pos) else 1.0
    for q in ("star", "develop", "maintain", "review"):
        p = pos[pos["quadrant"] == q]
        if "new" in p:  # a legend shows the first point's symbol: circles first
            p = p.sort_values("new", kind="stable")
        new = p["new"].to_numpy(dtype=bool) if "new" in p else np.zeros(len(p), dtype=bool)
        g = p["potential"].to_numpy(dtype=float)
        y = np.where(new | np.isnan(g), GROWTH_CAP, np.clip(np.nan_to_num(g, nan=GROWTH_CAP), -1.0, GROWTH_CAP))
        growth_text = [labels["new"] if n else fmt_delta_pct(v, lang) for n, v in zip(new, g)]
        fig.add_scatter(
            x=p["value"], y=y, mode="markers", name=labels[f"quadrant.{q}"],
            marker=dict(size=6 + 34 * np.sqrt(p["value"] / vmax), color=QUADRANT_COLORS[q],
                        symbol=np.where(new, "diamond", "circle"),
                        opacity=0.65, line=dict(width=0.5, color="white")),
            customdata=np.column_stack([p["account"].astype(str),
                                        [fmt_money(v, lang, currency) for v in p["value"]],
                                        growth_text, p["types"].astype(str),
                                        p["customer_id"].astype(str)]) if len(p) else None,
            hovertemplate="<b>%{customdata[0]}</b><br>" + labels["value"] + ": %{customdata[1]}<br>"
                          + labels["potential"] + ": %{customdata[2]}<br>" + labels["types"]
                          + ": %{customdata[3]}<br><i>" + labels["open"] + "</i><extra></extra>")
    vs, ps = pf.attrs.get("value_split", 0.0), pf.attrs.get("potential_split", 0.0)
    line = dict(color=PALETTE["muted"], width=1, dash="dash")
    if vs > 0:
        fig.add_vline(x=vs, line=line)
    fig.add_hline(y=ps, line=line)
    corners = {"star": (0.99, 0.99, "right", "top"), "develop": (0.01, 0.99, "left", "top"),
               "maintain": (0.99, 0.01, "right", "bottom"), "review": (0.01, 0.01, "left", "bottom")}
    for q, (x, y, xa, ya) in corners.items():
        fig.add_annotation(x=x, y=y, xref="paper", yref="paper", xanchor=xa, yanchor=ya,
                           text=f"<b>{labels[f'quadrant.{q}']}</b>", showarrow=False,
                           font=dict(size=15, color=QUADRANT_COLORS[q]),
                           bgcolor="rgba(255,255,255,0.8)")
    fig.update_layout(template=TEMPLATE, title=labels["title"], height=600, clickmode="event+select",
                      legend=dict(orientation="h", y=-0.15, yanchor="top", x=0, xanchor="left"),
                      margin=dict(t=60, b=10))
    fig.update_xaxes(title_text=labels["x"], type="log", showgrid=True, gridcolor=PALETTE["grid"])
    if len(pos):
        lo, hi = float(pos["value"].min()), float(pos["value"].max())
        ticks = [m * 10.0**e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
                 for m in (1, 2, 5)]
        ticks = [v for v in ticks if lo / 1.5 <= v <= hi * 1.5] or ticks
        fig.update_xaxes(tickvals=ticks, ticktext=[fmt_money(v, lang, currency, digits=0) for v in ticks])
    ticks = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, GROWTH_CAP]
    text = [fmt_delta_pct(v, lang, digits=0) if v else fmt_pct(0, lang, 0) for v in ticks]
    text[-1] = "≥ " + text[-1]
    fig.update_yaxes(title_text=labels["y"], range=[-1.1, GROWTH_CAP + 0.15], tickvals=ticks, ticktext=text)
    return fig


__all__ = ["silhouette_chart", "segment_map", "profile_heatmap", "ka_types_chart",
           "portfolio_chart", "segment_color", "money_axis"]
