"""Shared widgets: KPI cards and formatted account tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import i18n
from kamdash.analytics import coverage
from kamdash.analytics.overview import Kpi

# How a KPI's change is coloured: normal (up is good), inverse (up is bad), off (neutral).
DELTA_COLORS = {"lost_customers": "inverse", "top20_share": "off"}


def format_kpi(ctx, k: Kpi) -> tuple[str, str | None]:
    """(value, delta) display strings of a KPI in the context's language."""
    if k.kind == "money":
        value = ctx.money(k.value)
    elif k.kind == "share":
        value = i18n.fmt_pct(k.value, ctx.lang)
    else:
        value = i18n.fmt_number(k.value, ctx.lang)
    if k.delta is None:
        return value, None
    if k.kind == "share":
        return value, ctx.t("kpi.delta_points", value=i18n.fmt_points(k.delta, ctx.lang))
    if k.delta_pct is not None:
        return value, i18n.fmt_delta_pct(k.delta_pct, ctx.lang)
    sign = "+" if k.delta > 0 else ""
    return value, sign + i18n.fmt_number(k.delta, ctx.lang)


def coverage_note(ctx, values=coverage.PROFIT_VALUES, where=None) -> str | None:
    """Say, next to the figures, when any of ``values`` only repeats a simpler one because the
    data has no cost of goods or no cost-to-serve (``analytics.coverage.gap``). Returns the gap
    shown (None: the figures are real)."""
    from kamdash.ui import data

    gap = coverage.gap(data.data_coverage(ctx.data_key), values)
    if gap:
        (where or st).warning(ctx.t(f"data.gap.{gap}"), icon=":material/info:")
    return gap


def kpi_cards(ctx, kpis: list[Kpi], per_row: int = 3, profit_note: bool = True) -> None:
    """The KPI cards, ``per_row`` a row; with ``profit_note``, the row holding the profit
    figures is followed by ``coverage_note`` (what they lack, when costs are missing)."""
    for row in range(0, len(kpis), per_row):
        if profit_note and row and any(k.key in coverage.PROFIT_VALUES for k in kpis[row - per_row:row]):
            coverage_note(ctx, [k.key for k in kpis[row - per_row:row] if k.key in coverage.PROFIT_VALUES])
        cols = st.columns(per_row)
        for col, k in zip(cols, kpis[row : row + per_row]):
            value, delta = format_kpi(ctx, k)
            col.metric(ctx.t(f"kpi.{k.key}"), value, delta,
                       delta_color=DELTA_COLORS.get(k.key, "normal"),
                       help=ctx.t(f"kpi.{k.key}.help"), border=True)
    last = kpis[(len(kpis) - 1) // per_row * per_row:]
    if profit_note and any(k.key in coverage.PROFIT_VALUES for k in last):
        coverage_note(ctx, [k.key for k in last if k.key in coverage.PROFIT_VALUES])


def accounts_table(ctx, df: pd.DataFrame) -> pd.DataFrame:
    """Display frame of an accounts table (names, labels and money in the context's language)."""
    name = i18n.customer_names(df, ctx.lang)
    out = pd.DataFrame({
        ctx.t("col.rank"): df["rank"],
        ctx.t("col.customer"): name,
        ctx.t("col.customer_type"): [ctx.label("customer_type", v) for v in df["customer_type"]],
        ctx.t("col.region"): [ctx.label("region", v) for v in df["region"]],
        ctx.t("col.account_manager"): [ctx.label("account_manager", v) for v in df["account_manager"]],
    })
    for col in ("revenue", "gross_profit", "account_profit"):
        out[ctx.t(f"col.{col}")] = [ctx.money(v) for v in df[col]]
    out[ctx.t("col.margin")] = [i18n.fmt_pct(v, ctx.lang) for v in df["account_margin"]]
    out[ctx.t("col.share")] = df["share"]
    out[ctx.t("col.revenue_change")] = [i18n.fmt_delta_pct(v, ctx.lang) for v in df["revenue_change"]]
    return out


def show_accounts(ctx, df: pd.DataFrame) -> None:
    table = accounts_table(ctx, df)
    share = ctx.t("col.share")
    config = {
        ctx.t("col.rank"): st.column_config.NumberColumn(ctx.t("col.rank"), width=40),
        ctx.t("col.customer"): st.column_config.TextColumn(ctx.t("col.customer"), width=180),
        share: st.column_config.ProgressColumn(share, format="percent", min_value=0, width=100,
                                               max_value=float(max(df["share"].max(), 0.01))),
    }
    from kamdash.ui import account

    shown, config = account.with_links(ctx, table, df["customer_id"], config)
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)
    table_downloads(ctx, table, "top_accounts", "kamdash-top-accounts")  # data, not app links


# ---------------------------------------------------------------- downloads of charts and tables

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_WIDTH = 1200  # CSS pixels of a downloaded chart (PNG at twice that: 2400 px wide)


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return keep or "kamdash"


def chart_downloads(ctx, fig, key: str, name: str, where=None) -> None:
    """PNG and SVG download buttons for ``fig``; the image is rendered (kaleido) only when a
    button is clicked, in Streamlit's download thread, so showing the page costs nothing."""
    from kamdash import deck

    where = where or st
    height = int(fig.layout.height or 500)
    fname = _safe_name(name)
    c1 = c2 = where.container(horizontal=True, gap="small")
    c1.download_button(ctx.t("export.png"), lambda: deck.figure_png(fig, width=EXPORT_WIDTH, height=height),
                       file_name=f"{fname}.png", mime="image/png", key=f"{key}_png", on_click="ignore",
                       icon=":material/image:", type="tertiary", help=ctx.t("export.chart_help"))
    c2.download_button(ctx.t("export.svg"), lambda: deck.figure_svg(fig, width=EXPORT_WIDTH, height=height),
                       file_name=f"{fname}.svg", mime="image/svg+xml", key=f"{key}_svg", on_click="ignore",
                       icon=":material/polyline:", type="tertiary", help=ctx.t("export.chart_help"))


def chart(ctx, fig, key: str, name: str, where=None, **kwargs) -> None:
    """``st.plotly_chart`` plus PNG/SVG downloads (high resolution, CJK fonts)."""
    where = where or st
    where.plotly_chart(fig, key=key, **kwargs)
    chart_downloads(ctx, fig, key, name, where)


def table_downloads(ctx, df: pd.DataFrame, key: str, name: str, where=None) -> None:
    """CSV and Excel downloads of ``df`` (through kamdash.export: formulas neutralised), built
    only when clicked."""
    from kamdash import export

    where = where or st
    fname = _safe_name(name)
    c1 = c2 = where.container(horizontal=True, gap="small")
    c1.download_button(ctx.t("export.csv"), lambda: export.csv_bytes(df), file_name=f"{fname}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:",
                       type="tertiary", help=ctx.t("export.table_help"))
    c2.download_button(ctx.t("export.xlsx"), lambda: export.excel_bytes(df, fname[:31]),
                       file_name=f"{fname}.xlsx", mime=XLSX_MIME, key=f"{key}_xlsx", on_click="ignore",
                       icon=":material/table_view:", type="tertiary", help=ctx.t("export.table_help"))


def table(ctx, df: pd.DataFrame, key: str, name: str, where=None, download: pd.DataFrame | None = None,
          **kwargs) -> None:
    """``st.dataframe`` (no index, full width) plus CSV/Excel downloads of ``download`` (default:
    ``df``; pass the table without its link column so files hold data, not app URLs)."""
    where = where or st
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    where.dataframe(df, key=key, **kwargs)
    table_downloads(ctx, df if download is None else download, key, name, where)
