"""Filters as Ibis predicates, for the few engine paths that query the database through Ibis
(what no array held in memory answers). Dimension values enter as literals, which Ibis renders
escaped; customers chosen one by one (customer list, ABC tiers, scope) enter as an in-memory
Arrow table of ids the engine selected, never as SQL text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from kamdash.engine.filters import Filters

if TYPE_CHECKING:
    import ibis
else:
    class _LazyIbis:
        """``ibis``, imported on first use: importing it and its DuckDB backend costs about 1 s
        of CPU, which the landing page's first chart does not need."""

        def __getattr__(self, name):
            import ibis as module

            return getattr(module, name)

    ibis = _LazyIbis()

def to_frame(expr) -> pd.DataFrame:
    """Run an expression and return pandas (through Arrow: several times faster than Ibis's own
    pandas conversion on wide string columns). Dates come back as datetime64."""
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def customers_table(eng, keep: np.ndarray):
    """The customers at the True positions of ``keep`` (a mask per customer key) as an Ibis
    in-memory table with one column, customer_id."""
    ids = eng.keys.ids.take(np.flatnonzero(keep))
    return ibis.memtable(pa.table({"customer_id": pa.array(ids, pa.string())}))


def apply_filters(t, filters: Filters, customers=None, month_col: str = "month"):
    """Apply the period and dimension filters to a table expression with ``month_col`` and the
    dimension columns; ``customers`` (``customers_table``), when given, keeps only those."""
    preds = []
    if filters.start:
        preds.append(t[month_col] >= filters.start)
    if filters.end:
        preds.append(t[month_col] <= filters.end)
    for col, values in filters.dimension_values().items():
        if values:
            preds.append(t[col].isin(list(values)))
    if customers is not None:
        preds.append(t.customer_id.isin(customers.customer_id))
    return t.filter(*preds) if preds else t
