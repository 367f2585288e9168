"""Data of the concentration page: readouts, Pareto and Lorenz curves of the chosen value, the
whale curve with the loss-makers and why they lose money, ABC tiers, concentration over time,
the breakdown by a dimension and the drill-down lists.

Every number comes from ``kamdash.analytics.pareto`` (and ``losses`` for the causes); this
module reads the customer facts and hands them over. ``build`` is what the first screen
shows; the later sections take their own inputs (cut-offs, grain, dimension) from widgets
further down the page, so they are separate functions on the facts ``build`` read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from kamdash.analytics import losses, pareto
from kamdash.analytics.coverage import default_value, has_profit
from kamdash.engine.filters import Filters

VALUE_COLUMNS = pareto.VALUE_COLUMNS
TIERS = pareto.TIERS
LOSS_TIER = pareto.LOSS_TIER
LOSS_REASONS = pareto.LOSS_REASONS
TOP_SHARES = pareto.TOP_SHARES
BREAKDOWN_DIMENSIONS = pareto.BREAKDOWN_DIMENSIONS
WORST_N = pareto.WORST_N_DEFAULT

__all__ = ["BREAKDOWN_DIMENSIONS", "LOSS_REASONS", "LOSS_TIER", "TIERS", "TOP_SHARES", "VALUE_COLUMNS", "WORST_N",
           "Concentration", "OverTime", "Whale", "breakdown", "build", "default_value", "drilldown", "has_profit",
           "over_time", "tiers", "whale"]


@dataclass(frozen=True)
class Concentration:
    value: str  # revenue, gross_profit or account_profit
    facts: pd.DataFrame  # Engine.customer_facts of the filters, with attributes
    order: np.ndarray  # the population ranked by value (pareto.order_by)
    readouts: dict  # pareto.readouts of the population's value
    pareto: pd.DataFrame | None  # pareto.ranked on the numbers; None when the total is not positive
    lorenz: pd.DataFrame | None  # pareto.lorenz_curve; None when the total is not positive
    groups: tuple[str, ...]  # the drill-down's groups: A, B, C and the loss-makers' when there are any

    @property
    def population(self) -> pd.DataFrame:
        """pareto.population(facts, value): the customers the measures count (a slice of the
        facts, made on use so that a cached copy does not hold the rows twice)."""
        return pareto.population(self.facts, self.value)

    @property
    def empty(self) -> bool:
        return len(self.order) == 0


def build(engine, filters: Filters, value: str) -> Concentration:
    """The customer facts of ``filters`` and the readouts and curves of ``value`` on them."""
    facts = engine.customer_facts(filters)
    return from_facts(facts, value)


def from_facts(facts: pd.DataFrame, value: str) -> Concentration:
    """``build`` on facts already read (the customer facts of one period and filters)."""
    pop = pareto.population(facts, value)  # a slice of the facts (customers with an order come first)
    order = pareto.order_by(pop, value)  # ranked once: readouts and tiers
    r = pareto.readouts(pareto.sorted_values(pop, value, order), ordered=True)
    curves = not pop.empty and r["total"] > 0
    groups = (*pareto.TIERS, *((pareto.LOSS_TIER,) if (pop[value] < 0).any() else ()))
    return Concentration(
        value=value, facts=facts, order=order, readouts=r,
        pareto=pareto.ranked(pareto.numbers(pop), value) if curves else None,
        lorenz=pareto.lorenz_curve(pop[value]) if curves else None, groups=groups)


@dataclass(frozen=True)
class Whale:
    summary: dict  # pareto.whale_summary
    curve: pd.DataFrame  # pareto.whale_curve
    loss_makers: pd.DataFrame  # pareto.loss_makers: every loss-maker of the filters, worst first
    causes: list  # losses.leading of the first WORST_N loss-makers: their leading causes with shares

    @property
    def worst(self) -> pd.DataFrame:
        return self.loss_makers.head(WORST_N)


def peer_filters(filters: Filters) -> Filters:
    """Whom a loss-maker is compared with: every customer of the period within the user's
    scope, whatever the other filters (they choose whom to list)."""
    return Filters(start=filters.start, end=filters.end, scope=filters.scope)


def whale(engine, filters: Filters, facts: pd.DataFrame) -> Whale:
    """The whale curve of account profit on ``facts`` (the customer facts of ``filters``) and
    every loss-maker among them, each against its peers among all customers of the period
    (the filters choose whom to list, not whom an account is compared with)."""
    every = pareto.loss_makers(facts, None, engine.customer_facts(peer_filters(filters)))
    return Whale(summary=pareto.whale_summary(facts), curve=pareto.whale_curve(facts), loss_makers=every,
                 causes=losses.leading(every.head(WORST_N), prefix="why_"))


def tiers(c: Concentration, cutoffs: tuple[float, float]) -> pd.DataFrame:
    """pareto.abc_summary of the population with the A/B cut-offs ``cutoffs``."""
    return pareto.abc_summary(c.population, c.value, cutoffs, c.order)


@dataclass(frozen=True)
class OverTime:
    frame: pd.DataFrame  # Engine.concentration_over_time
    gini: dict | None  # pareto.trend of the Gini
    top_share: dict | None  # pareto.trend of the top-20% share


def over_time(engine, filters: Filters, value: str, grain: str) -> OverTime:
    """Gini and top-20% share of ``value`` by quarter or year over all the data, with the other
    filters (the period of ``filters`` does not apply)."""
    over = engine.concentration_over_time(replace(filters, start=None, end=None), value, grain)
    return OverTime(over, pareto.trend(over, "gini"), pareto.trend(over, "top_share"))


def breakdown(c: Concentration, dim: str) -> pd.DataFrame:
    """pareto.breakdown of the value by ``dim`` (region, customer_type or sector)."""
    return pareto.breakdown(c.facts, c.value, dim)


def drilldown(c: Concentration, pick: str, top_n: int, cutoffs: tuple[float, float]) -> pd.DataFrame:
    """The accounts of tier ``pick`` (A, B, C or the loss-makers), or the first ``top_n`` by
    value when ``pick`` is "top" (pareto.drilldown)."""
    if pick == "top":
        return pareto.drilldown(c.facts, c.value, top_n=top_n)
    return pareto.drilldown(c.facts, c.value, tier=pick, cutoffs=cutoffs)
