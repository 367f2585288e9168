"""One module per page: NAME, kamdash_step(backend, filters), pandas_step(data, filters) and
optionally fit_step(backend). The harness discovers them (bench.harness.load_cases)."""
