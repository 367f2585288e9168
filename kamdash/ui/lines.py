"""What a page cannot show when the order lines stay in a company source.

A database synced from a company source (kamdash.sync) holds the order totals per customer and
month, not the order lines: product mix, plan actuals, product breadth, category whitespace and
everything built on purchase days (lifetime value, P(alive), order rhythm) have nothing to read.
The parts that need them call ``note``, which says so in the user's language instead of
showing empty or zero figures as if they were real.
"""

from __future__ import annotations

import streamlit as st

# the parts of pages that read order lines (one message each: lines.at_source.<part>)
PARTS = ("product_mix", "plan_actuals", "plans", "clv", "account_value", "whatif", "health", "whitespace",
         "breadth")


def at_source(facts: dict) -> bool:
    """True when the database holds no order lines because they stay in a company source."""
    return facts.get("lines_at") == "source"


def note(ctx, part: str, where=None) -> bool:
    """Say why ``part`` is not shown (True), or nothing when the order lines are here (False)."""
    if not at_source(ctx.facts):
        return False
    (where or st).info(ctx.t(f"lines.at_source.{part}", source=ctx.facts.get("source", "")),
                       icon=":material/info:")
    return True
