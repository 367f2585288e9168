"""Time the workshop export: the 8-slide storyline (six data slides + two pinned what-if
scenarios) built into PPTX and PDF, as the Present page does it.

    .venv/bin/python -m bench.deck_export [--db data/kamdash.duckdb] [--lang zh]

Prints the seconds for: building the slides (queries + analytics + figures, cold), starting the
chart renderer (Chromium via kaleido, once per server process), the PPTX and the PDF. The target
is under 20 s for an 8-slide deck on the project machine (2 cores).
"""

from __future__ import annotations

import argparse
import os
import time


def main(argv=None) -> int:
    from kamdash import deck
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters, add_months
    from kamdash.ui import present_text
    from kamdash.views import present

    ap = argparse.ArgumentParser(prog="python -m bench.deck_export")
    ap.add_argument("--db", default=os.environ.get("KAMDASH_DB", "data/kamdash.duckdb"))
    ap.add_argument("--lang", default="zh", choices=["en", "zh"])
    args = ap.parse_args(argv)

    backend = connect(args.db)
    facts = backend.data_facts()
    f = Filters(start=add_months(facts["last_month"], -11), end=facts["last_month"])
    tx = present_text.Texts(args.lang, facts.get("currency") or "CNY", backend.value_labels(args.lang))
    scenarios = {f"s{i}": {"name": f"scenario {i}", "params": {"defection_points": -i * 2.5},
                           "results": {"equity_before": 1e8, "equity_after": 1e8 * (1 + 0.05 * i),
                                       "profit_before": 2e7, "profit_after": 2e7 * (1 + 0.04 * i)}}
                 for i in (1, 2)}
    order = [*present.SLIDES, "scenario:s1", "scenario:s2"]
    lines = "\n".join(present_text.filter_lines(tx, f, facts))
    times = {}
    t = time.perf_counter()
    slides = present_text.build(backend, tx, f, facts, order, scenarios=scenarios)
    times["slides (cold, incl. segmentation)"] = time.perf_counter() - t
    t = time.perf_counter()
    deck.warm_up()
    times["chart renderer start (once per process)"] = time.perf_counter() - t
    t = time.perf_counter()
    pptx = deck.to_pptx(slides, title=tx.t("present.deck_title"), subtitle=lines, lang=args.lang)
    times["PPTX, 8 slides + title"] = time.perf_counter() - t
    t = time.perf_counter()
    pdf = deck.to_pdf(slides, title=tx.t("present.deck_title"), subtitle=lines, lang=args.lang)
    times["PDF, 8 slides + title"] = time.perf_counter() - t
    backend.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"deck export, {args.db}, {args.lang}, {os.cpu_count()} cores, load average {load:.1f}")
    for k, v in times.items():
        print(f"  {k:<42} {v:6.1f} s")
    print(f"  sizes: PPTX {len(pptx) / 1e6:.1f} MB, PDF {len(pdf) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
