"""What data is there, and which profit figures only repeat a simpler one because of it.

``coverage`` is ``Engine.data_coverage``: cost (cost of goods on the order lines),
cost_to_serve, discount, returns, each True when the data holds any non-zero value. Without
cost of goods gross profit equals revenue (gross margin 100%); without cost-to-serve account
profit equals gross profit. Every page that shows a profit figure asks ``gap`` what to say
next to it, so the rule is written once.
"""

from __future__ import annotations

PROFIT_VALUES = ("gross_profit", "account_profit")

# What ``gap`` returns, from the worst case down:
NO_COSTS = "no_costs"  # neither: gross profit = account profit = revenue
NO_COST = "no_cost"  # cost-to-serve only: gross profit = revenue, account profit = revenue − cost-to-serve
NO_COST_TO_SERVE = "no_cost_to_serve"  # cost of goods only: account profit = gross profit
GAPS = (NO_COSTS, NO_COST, NO_COST_TO_SERVE)


def gap(coverage: dict, values=PROFIT_VALUES) -> str | None:
    """Which missing data makes any of ``values`` (revenue, gross_profit, account_profit, or
    margins named after them: gross_margin, account_margin) repeat a simpler figure, as one of
    GAPS; None when the figures shown are all real.

    * no cost of goods and no cost-to-serve: ``NO_COSTS`` when any profit figure is shown;
    * no cost of goods: ``NO_COST`` when any profit figure is shown (gross profit is revenue,
      account profit lacks the cost of goods);
    * no cost-to-serve: ``NO_COST_TO_SERVE`` when account profit (or its margin) is shown.
    """
    shown = {v.replace("_margin", "_profit") for v in values}
    has_cost, has_cts = bool(coverage.get("cost")), bool(coverage.get("cost_to_serve"))
    if not has_cost and shown & set(PROFIT_VALUES):
        return NO_COSTS if not has_cts else NO_COST
    if not has_cts and "account_profit" in shown:
        return NO_COST_TO_SERVE
    return None


def has_profit(coverage: dict) -> bool:
    """True when any cost is known, so account profit differs from revenue: the value the
    concentration page opens on (revenue otherwise)."""
    return bool(coverage.get("cost") or coverage.get("cost_to_serve"))


def default_value(coverage: dict) -> str:
    """The value a page ranks customers by when the user has not chosen: account profit when
    cost data exists, else revenue (profit would only repeat it)."""
    return "account_profit" if has_profit(coverage) else "revenue"
