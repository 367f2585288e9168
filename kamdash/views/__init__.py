"""Page data: what a page shows, assembled from the engine (``kamdash.engine``) and the pure analytics.

A view function takes a engine, the Filters (and settings) and returns plain data (frames,
numbers) for one page. It does the I/O so that analytics stay pure and pages stay thin; the UI
layer caches it by data version and filters, and the benchmarks time it directly.
"""
