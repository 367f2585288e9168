"""The one filter model of every page, and the months it is counted in.

A ``Filters`` value is what the user is looking at: a period of whole months, the dimension
values chosen, named customers or ABC tiers, and the user's scope. It holds no data; the engine
applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from kamdash import schema
from kamdash.analytics import pareto

# The filter dimensions (``schema.DIMENSIONS``): column -> Filters field.
FILTER_FIELDS: dict[str, str] = {col: f"{col}s" for col in schema.DIMENSIONS}

MONEY_COLUMNS = ("revenue", "cost", "gross_profit", "discount", "returns", "cost_to_serve",
                 "account_profit")
COUNT_COLUMNS = ("orders", "order_days", "lines")
ATTRIBUTE_COLUMNS = ("name", "name_zh", "customer_type", "sector", "region", "city",
                     "account_manager", "parent_id")


TIER_CUTOFFS_SETTING = "concentration.tier_cutoffs"  # the user's ABC cut-offs, saved in the user database


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


@dataclass(frozen=True)
class Filters:
    """What the user is looking at; the same model for every page.

    ``start`` and ``end`` are the first and last month of the period (first day of the month,
    both included); None means open-ended. Empty dimension tuples mean "all".
    ``customer_ids`` restricts to a set of customers (KA types, segments resolve to it); None
    means no restriction.
    ``tiers`` restricts to ABC tiers ("A", "B", "C"; empty means all). A customer's tier is
    computed on its revenue in ``tier_period`` (first and last month; when not given, this
    filter's own period, fixed at creation) over *all* customers with an order then, whatever the other filters, with the
    cut-offs ``tier_cutoffs`` (``pareto.abc_codes``); ``previous()`` and other copies keep the
    same accounts.
    ``scope`` is the user's row-level access: the customers this user may see (None: everyone).
    It is applied before anything else, as if the other customers were not in the data: tiers,
    ranks, shares and totals are computed within it, and no other filter widens it.
    """

    start: date | None = None
    end: date | None = None
    regions: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    account_managers: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] | None = field(default=None)
    tiers: tuple[str, ...] = ()
    tier_cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT
    tier_period: tuple[date | None, date | None] | None = None
    scope: tuple[str, ...] | None = field(default=None)

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"period starts ({self.start}) after it ends ({self.end})")
        if self.tiers and self.tier_period is None:
            # anchor the tiers to this period, so copies for other periods keep the same accounts
            object.__setattr__(self, "tier_period", (self.start, self.end))

    @property
    def months(self) -> int | None:
        if not (self.start and self.end):
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> "Filters":
        """The period of the same length just before this one, same dimension filters."""
        n = self.months
        if n is None:
            raise ValueError("an open-ended period has no previous period")
        return replace(self, start=add_months(self.start, -n), end=add_months(self.start, -1))

    def covered_by(self, first_month: date) -> bool:
        """True when data starting at ``first_month`` covers this whole period."""
        return self.start is not None and self.start >= month_start(first_month)

    def dimension_values(self) -> dict[str, tuple[str, ...]]:
        return {col: getattr(self, attr) for col, attr in FILTER_FIELDS.items()}

    def restricts_customers(self) -> bool:
        """Whether the dimension, customer or tier filters leave customers out (the period
        alone does not)."""
        return bool(any(self.dimension_values().values()) or self.names_customers())

    def names_customers(self) -> bool:
        """Whether the customer, tier or scope filters select customers one by one (what the
        tables per combination of dimension values cannot answer)."""
        return self.customer_ids is not None or bool(self.tiers) or self.scope is not None


assert all(f in Filters.__dataclass_fields__ for f in FILTER_FIELDS.values())
