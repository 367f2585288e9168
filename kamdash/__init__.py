"""kamdash: key-account management analytics on your own sales data.

The package is plain Python (no Streamlit outside ``kamdash.ui``): data flows
sales file -> DuckDB (``store``) -> the engine (``engine``: the one door to the sales data)
-> pure analytics (``analytics``) -> a view per page (``views``) -> plotly figures (``charts``)
-> thin Streamlit pages.
"""

__version__ = "0.1.0"
