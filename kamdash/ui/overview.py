"""Figures of the overview page in the user's language (the numbers: ``kamdash.views.overview``)."""

from __future__ import annotations

from kamdash import charts
from kamdash.views.common import TOP_N_DEFAULT

TOP_N = TOP_N_DEFAULT  # accounts in the top list


def trend_figure(ctx, view):
    """The monthly revenue, gross profit and account profit of ``view`` (views.overview)."""
    labels = {k: ctx.t(f"series.{k}") for k in ("revenue", "gross_profit", "account_profit")}
    labels.update(title=ctx.t("overview.trend_title"), x=ctx.t("axis.month"),
                  y=ctx.t("axis.amount", currency=ctx.currency))
    return charts.trend_chart(view.monthly, labels, ctx.lang, ctx.currency)
