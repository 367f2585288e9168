"""Shared widgets: KPI cards and formatted account tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import i18n
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


def kpi_cards(ctx, kpis: list[Kpi], per_row: int = 3) -> None:
    for row in range(0, len(kpis), per_row):
        cols = st.columns(per_row)
        for col, k in zip(cols, kpis[row : row + per_row]):
            value, delta = format_kpi(ctx, k)
            col.metric(ctx.t(f"kpi.{k.key}"), value, delta,
                       delta_color=DELTA_COLORS.get(k.key, "normal"),
                       help=ctx.t(f"kpi.{k.key}.help"), border=True)


def accounts_table(ctx, df: pd.DataFrame) -> pd.DataFrame:
    """Display frame of an accounts table (names, labels and money in the context's language)."""
    name = df["name_zh"].where(df["name_zh"].notna() & (df["name_zh"] != ""), df["name"]) \
        if ctx.lang == "zh" and "name_zh" in df else df["name"]
    out = pd.DataFrame({
        ctx.t("col.rank"): df["rank"],
        ctx.t("col.customer"): name,
        ctx.t("col.customer_type"): [ctx.label("customer_type", v) for v in df["customer_type"]],
        ctx.t("col.region"): [ctx.label("region", v) for v in df["region"]],
        ctx.t("col.account_manager"): [ctx.label("account_manager", v) for v in df["account_manager"]],
    })
    for col in ("revenue", "gross_profit", "account_profit"):
        out[ctx.t(f"col.{col}")] = [ctx.money(v) for v in df[col]]
    out[ctx.t("col.margin")] = [i18n.fmt_pct(v, ctx.lang) for v in df["margin"]]
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

    table, config = account.with_links(ctx, table, df["customer_id"], config)
    st.dataframe(table, hide_index=True, width="stretch", column_config=config)
