"""Page data: what a page shows, assembled from the engine (``kamdash.engine``) and the pure analytics.

A view function takes an engine, the Filters (and settings) and returns plain data (frames,
numbers, names and catalog keys, never translated words) for one page. It does the I/O so that
analytics stay pure and pages stay thin; the UI layer words it in the user's language, caches it
by data version and filters, and the benchmarks time it directly. No view imports
``kamdash.i18n`` (tests/test_architecture.py).
"""
