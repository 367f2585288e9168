"""Shared widgets: KPI cards and formatted account tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import export, i18n
from kamdash.views.common import PROFIT_VALUES, Kpi, gap

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


def coverage_note(ctx, values=PROFIT_VALUES, where=None) -> str | None:
    """Say, next to the figures, when any of ``values`` only repeats a simpler one because the
    data has no cost of goods or no cost-to-serve (``analytics.coverage.gap``). Returns the gap
    shown (None: the figures are real)."""
    from kamdash.ui import data

    missing = gap(data.data_coverage(ctx.data_key), values)
    if missing:
        (where or st).warning(ctx.t(f"data.gap.{missing}"), icon=":material/info:")
    return missing


def kpi_cards(ctx, kpis: list[Kpi], per_row: int = 3, profit_note: bool = True) -> None:
    """The KPI cards, ``per_row`` a row; with ``profit_note``, the row holding the profit
    figures is followed by ``coverage_note`` (what they lack, when costs are missing)."""
    for row in range(0, len(kpis), per_row):
        if profit_note and row and any(k.key in PROFIT_VALUES for k in kpis[row - per_row:row]):
            coverage_note(ctx, [k.key for k in kpis[row - per_row:row] if k.key in PROFIT_VALUES])
        cols = st.columns(per_row)
        for col, k in zip(cols, kpis[row : row + per_row]):
            value, delta = format_kpi(ctx, k)
            col.metric(ctx.t(f"kpi.{k.key}"), value, delta,
                       delta_color=DELTA_COLORS.get(k.key, "normal"),
                       help=ctx.t(f"kpi.{k.key}.help"), border=True)
    last = kpis[(len(kpis) - 1) // per_row * per_row:]
    if profit_note and any(k.key in PROFIT_VALUES for k in last):
        coverage_note(ctx, [k.key for k in last if k.key in PROFIT_VALUES])


def accounts_table(ctx, df: pd.DataFrame) -> pd.DataFrame:
    """The accounts table as downloaded (kamdash.export.frame: IDs, numbers with units), in the
    context's language; ``shown`` formats it for the screen."""
    return export.frame([
        (ctx.t("col.rank"), "int", df["rank"]),
        (ctx.t("col.customer_id"), "id", df["customer_id"]),
        (ctx.t("col.customer"), "text", i18n.customer_names(df, ctx.lang)),
        (ctx.t("col.customer_type"), "text", [ctx.label("customer_type", v) for v in df["customer_type"]]),
        (ctx.t("col.region"), "text", [ctx.label("region", v) for v in df["region"]]),
        (ctx.t("col.account_manager"), "text", [ctx.label("account_manager", v) for v in df["account_manager"]]),
        *[(ctx.t(f"col.{col}"), "money", df[col]) for col in ("revenue", "gross_profit", "account_profit")],
        (ctx.t("col.margin"), "pct", df["account_margin"]),
        (ctx.t("col.share"), "pct", df["share"]),
        (ctx.t("col.revenue_change"), "delta", df["revenue_change"]),
    ], ctx.currency)


def show_accounts(ctx, df: pd.DataFrame, has_previous: bool = True) -> None:
    """The top-accounts table; ``has_previous``: the period before lies within the data, so an
    account without revenue in it is new (else its change is unknown)."""
    data = accounts_table(ctx, df)
    share = ctx.t("col.share")
    config = {
        ctx.t("col.rank"): st.column_config.TextColumn(ctx.t("col.rank"), width=40),
        ctx.t("col.customer"): st.column_config.TextColumn(ctx.t("col.customer"), width=170),
        share: st.column_config.ProgressColumn(share, format="percent", min_value=0, width=90,
                                               max_value=float(max(df["share"].max(), 0.01))),
    }
    # on screen: the name (linked), money, margin, share and change fit a 1280-px window; ID,
    # type, region and manager are in the downloads
    display = shown(ctx, data, hide=(ctx.t("col.customer_id"), ctx.t("col.customer_type"), ctx.t("col.region"),
                                     ctx.t("col.account_manager")))
    display[share] = df["share"].to_numpy()  # a bar, drawn from the fraction
    # no revenue in the period before: the account is new, it has no rate of change
    new = df["revenue_change"].isna().to_numpy() & (df["revenue"].to_numpy() > 0) & has_previous
    display.loc[new, ctx.t("col.revenue_change")] = ctx.t("kasel.new")
    table(ctx, data, "top_accounts", "kamdash-top-accounts", display=display, ids=df["customer_id"],
          column_config=config)


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


def chart(ctx, fig, key: str, name: str, where=None, **kwargs):
    """``st.plotly_chart`` plus PNG/SVG downloads (high resolution, CJK fonts); returns what
    ``st.plotly_chart`` returns (the selection event when ``on_select`` is given)."""
    where = where or st
    event = where.plotly_chart(fig, key=key, **kwargs)
    chart_downloads(ctx, fig, key, name, where)
    return event


def shown(ctx, data: pd.DataFrame, hide: tuple[str, ...] = ()) -> pd.DataFrame:
    """A download frame (kamdash.export.frame) formatted for the screen: headers without units,
    money compact in the context's currency, percentages, dates in the language; the labels in
    ``hide`` are left out (e.g. the ID when the name links to the account)."""
    kinds, labels = data.attrs["kinds"], data.attrs["labels"]
    missing = ctx.t("values.missing")

    def fmt(kind, v):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v) or (kind == "date" and pd.isna(v)):
            return "" if kind in ("id", "text") else missing
        if kind == "money":
            return ctx.money(float(v))
        if kind == "pct":
            return i18n.fmt_pct(float(v) / 100, ctx.lang)
        if kind == "delta":
            return i18n.fmt_delta_pct(float(v) / 100, ctx.lang)
        if kind == "int":
            return i18n.fmt_number(int(v), ctx.lang)
        if kind == "number":
            return i18n.fmt_number(float(v), ctx.lang, digits=3 if abs(v) >= 0.01 else 4)
        if kind == "date":
            return i18n.fmt_date(pd.Timestamp(v).date(), ctx.lang)
        return str(v)

    out = {labels[h]: [fmt(kinds[h], v) for v in data[h]] for h in data.columns if labels[h] not in hide}
    return pd.DataFrame(out)


def table_downloads(ctx, df: pd.DataFrame, key: str, name: str, where=None) -> None:
    """CSV and Excel downloads of ``df`` (through kamdash.export: numbers as numbers, formulas
    neutralised), built only when clicked. A build that fails shows its error under the button
    (Streamlit's download button does)."""
    where = where or st
    fname = _safe_name(name)
    c1 = c2 = where.container(horizontal=True, gap="small")
    c1.download_button(ctx.t("export.csv"), lambda: export.csv_bytes(df), file_name=f"{fname}.csv",
                       mime="text/csv", key=f"{key}_csv", on_click="ignore", icon=":material/download:",
                       type="tertiary", help=ctx.t("export.table_help"))
    c2.download_button(ctx.t("export.xlsx"), lambda: export.excel_bytes(df, fname[:31]),
                       file_name=f"{fname}.xlsx", mime=XLSX_MIME, key=f"{key}_xlsx", on_click="ignore",
                       icon=":material/table_view:", type="tertiary", help=ctx.t("export.table_help"))


def table(ctx, data: pd.DataFrame, key: str, name: str, where=None, display: pd.DataFrame | None = None,
          ids=None, link_after: str | None = None, **kwargs) -> None:
    """A table on the page and its CSV/Excel downloads, from one frame: ``data`` is what is
    downloaded (kamdash.export.frame); the page shows ``display`` (default: ``shown(data)``),
    with a link to each account's 360 page when ``ids`` are given (never in the files)."""
    where = where or st
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    display = shown(ctx, data) if display is None else display
    # short numbers (counts, percentages) take a narrow column, so wide tables fit the window
    config = dict(kwargs.get("column_config") or {})
    for h, kind in data.attrs.get("kinds", {}).items():
        label = data.attrs["labels"][h]
        if kind in ("int", "pct", "delta", "number") and label in display.columns and label not in config:
            config[label] = st.column_config.TextColumn(label, width="small")
    kwargs["column_config"] = config
    if ids is not None:
        from kamdash.ui import account

        display, kwargs["column_config"] = account.with_links(ctx, display, ids, kwargs.get("column_config"),
                                                             after=link_after)
    where.dataframe(display, key=key, **kwargs)
    table_downloads(ctx, data, key, name, where)
