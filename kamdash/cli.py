"""Command line: ``python -m kamdash <command>``.

Commands:
  demo     build the demo sales database (deterministic for a seed)
  import   import sales files (CSV/TSV/TXT, Excel, Parquet; any header names), all or nothing
  load     load sales files (CSV/Parquet with canonical column names), all or nothing
  check    say whether a database can be used by the app, and why not
  info     print what a sales database holds
  clv      fit BG/NBD or Pareto/NBD (PyMC-Marketing, maximum likelihood) and print the fit
  concentration  value-concentration readouts (top shares, customers for 80%, Gini, HHI)
  whatif   retention what-if: customer equity and next year's profit before and after a change
           of defection, split into profitable and loss-making groups
  key-accounts   the selected key-account set: count, shares of customers, revenue, account profit
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kamdash import config


def _cmd_demo(args) -> int:
    from kamdash import demo

    out = Path(args.out or config.db_path() or "data/kamdash.duckdb")
    print(f"Building demo database {out} ({args.customers} customers, {args.years} years, "
          f"seed {args.seed}) ...", flush=True)
    info = demo.build_demo(out, customers=args.customers, years=args.years, seed=args.seed,
                           lines=args.lines, currency=args.currency)
    print(f"Built {out}: {int(info['order_lines']):,} order lines, data as of {info['as_of']}, "
          f"in {info['seconds']:.1f} s")
    return 0


def _cmd_load(args) -> int:
    from kamdash import ingest

    out = Path(args.out or config.db_path() or "data/kamdash.duckdb")
    try:
        report = ingest.load_files(out, args.orders, customers=args.customers, products=args.products,
                                   cost_to_serve=args.cost_to_serve, currency=args.currency)
    except ingest.LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"{out} was not changed.", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"note: {warning}")
    rows = ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in report.rows.items())
    print(f"Loaded {rows} into {out} (data as of {report.meta['as_of']}).")
    return 0


def _import_sources(args) -> list:
    from kamdash.ingest import engine, mapping

    overrides = {}
    for item in args.map or []:
        source, sep, field = item.partition("=")
        if not sep or not source:
            raise ValueError(f"--map {item!r}: write SOURCE=FIELD (FIELD empty to ignore a column)")
        known = set().union(*mapping.FIELDS.values())
        if field and field not in known:
            raise ValueError(f"--map {item!r}: unknown field {field!r} (fields: {', '.join(sorted(known))})")
        overrides[source] = field
    sources = []
    for item in args.files:
        role, sep, rest = item.partition(":")
        role = {"orders": "order_lines", "cts": "cost_to_serve"}.get(role, role)
        if sep and role in mapping.ROLES:
            sources.append(engine.SourceFile(rest, role=role, sheet=args.sheet, overrides=overrides))
        else:
            sources.append(engine.SourceFile(item, sheet=args.sheet, overrides=overrides))
    return sources


def _print_report(report, out: Path, dry_run: bool) -> None:
    from kamdash import i18n

    for f in report.files:
        where = f"sheet {f.sheet}" if f.sheet else f"{f.encoding}, delimiter {f.delimiter!r}"
        rows = f", {f.rows:,} rows" if f.rows is not None else ""
        print(f"{f.name}: {f.role.replace('_', ' ')} ({where}, header on line {f.header_line}){rows}")
        if f.mapping:
            print("  columns: " + ", ".join(f"{c} -> {m}" for c, m in f.mapping.items()))
        if f.date_order:
            print(f"  dates read as {f.date_order}, decimal separator {f.decimal!r}")
    for p in report.problems:
        print(f"error: {p}", file=sys.stderr)
    if report.problem_total > len(report.problems):
        print(f"error: ... and {report.problem_total - len(report.problems)} more", file=sys.stderr)
    if report.needs_date_order:
        print("error: the day/month order of the dates cannot be decided from the data: "
              "choose it with --date-order dmy or --date-order mdy", file=sys.stderr)
    for w in report.warnings:
        print(f"warning: {w}")
    for code in report.limits:
        print("note: " + i18n.t(f"ingest.limit.{code}", "en"))
    if report.committed:
        counts = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in report.counts.items())
        print(f"Imported into {out} ({report.mode}): {counts}; data as of {report.meta.get('as_of')}.")
    elif dry_run and report.ok:
        print(f"Check passed: {report.rows:,} rows can be imported. Nothing was written.")
    else:
        if report.can_skip:
            print(f"{report.bad_rows:,} of {report.rows:,} rows have errors: fix the file, or rerun "
                  "with --skip-bad-rows to import the others.", file=sys.stderr)
        print(f"Nothing was imported: {out} was not changed.", file=sys.stderr)


def _cmd_import(args) -> int:
    import json

    from kamdash.ingest import engine

    out = Path(args.db or config.db_path() or "data/kamdash.duckdb")
    options = engine.Options(mode=args.mode, date_order=args.date_order, skip_bad_rows=args.skip_bad_rows,
                             currency=args.currency, user_db=config.user_db_path(out))
    report = engine.run(_import_sources(args), out, options, commit=not args.check)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print_report(report, out, args.check)
    if args.check:
        return 0 if report.ok else 1
    return 0 if report.committed else 1


def _cmd_check(args) -> int:
    from kamdash import store

    path = Path(args.db or config.db_path())
    status = store.check_sales_db(path)
    if status.ok:
        print(f"{path}: OK (schema version {status.found_version})")
        return 0
    print(f"{path}: {status.problem} {status.detail}".rstrip())
    return 1


def _cmd_info(args) -> int:
    from kamdash import queries

    path = args.db or config.db_target()
    backend = queries.connect(path)
    facts = queries.data_facts(backend)
    for key, value in facts.items():
        print(f"{key:>16}: {value}")
    return 0


def _cmd_upgrade(args) -> int:
    from kamdash import store

    path = args.db or str(config.db_path())
    started = time.perf_counter()
    try:
        meta = store.upgrade_sales_db(path)
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Upgraded {path} to schema version {meta['schema_version']} in "
          f"{time.perf_counter() - started:.1f} s (sales data unchanged)")
    return 0


def _cmd_clv(args) -> int:
    import json
    from datetime import date

    from kamdash import queries
    from kamdash.analytics import clv

    backend = queries.connect(args.db or config.db_target())
    end = date.fromisoformat(args.calibration_end)
    rfm = queries.rfm_summary(backend, end, args.time_unit)
    try:
        fit = clv.fit_transactions(rfm, args.model)
    except clv.FitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = {"model": args.model, "time_unit": args.time_unit, "calibration_end": end.isoformat(),
           "params": fit["params"], "log_likelihood": fit["loglik"], "customers": fit["customers"],
           "repeat_buyers": fit["repeat_buyers"], "trusted": clv.trust(fit)["ok"],
           "method": "MAP with flat priors = maximum likelihood (PyMC-Marketing)"}
    if args.json:
        print(json.dumps(out))
    else:
        params = ", ".join(f"{k} = {v:.4g}" for k, v in fit["params"].items())
        print(f"{args.model}: {params}; log-likelihood {fit['loglik']:.2f}; "
              f"{fit['customers']:,} customers ({fit['repeat_buyers']:,} repeat buyers)")
    return 0


def _month(text: str | None):
    """YYYY-MM or YYYY-MM-DD -> first day of that month (periods are whole months)."""
    from datetime import date

    if not text:
        return None
    parts = text.strip().split("-")
    if len(parts) not in (2, 3):
        raise ValueError(f"not a date (YYYY-MM or YYYY-MM-DD): {text!r}")
    d = date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 1)
    return d.replace(day=1)


def concentration_readouts(backend, value: str, start=None, end=None) -> dict:
    """The readouts of the concentration page as plain JSON values."""
    from kamdash import queries
    from kamdash.analytics import pareto

    facts = queries.customer_facts(backend, queries.Filters(start=start, end=end), attributes=False)
    r = pareto.readouts(pareto.population(facts, value)[value])
    nan = lambda x: None if x != x else x  # noqa: E731  (JSON has no NaN)
    out = {"value": value, "from": start.isoformat() if start else None,
           "to": end.isoformat() if end else None, "customers": r["customers"], "total": r["total"]}
    out.update({f"top_{round(p * 100)}_share": nan(v) for p, v in r["top"].items()})
    out.update(customers_for_80=None if r["for_target"] != r["for_target"] else int(r["for_target"]),
               customers_for_80_share=nan(r["for_target_share"]), gini=nan(r["gini"]), hhi=nan(r["hhi"]),
               loss_makers=r["loss_makers"])
    return out


def _cmd_concentration(args) -> int:
    import json

    from kamdash import queries

    start, end = _month(args.start), _month(args.end)
    if start and end and start > end:
        raise ValueError(f"--from ({args.start}) is after --to ({args.end})")
    backend = queries.connect(args.db or config.db_target())
    out = concentration_readouts(backend, args.value, start, end)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key:>24}: {value}")
    return 0


def _cmd_whatif(args) -> int:
    import json

    from kamdash import queries
    from kamdash.views import whatif as view

    if args.horizon < 0:
        raise ValueError(f"--horizon {args.horizon}: write a number of years, 0 for unlimited")
    if not 0 < args.discount_rate < 1:
        raise ValueError(f"--discount-rate {args.discount_rate}: write a yearly rate above 0 and below 1, e.g. 0.1")
    if not -100 <= args.defection_change <= 100:
        raise ValueError(f"--defection-change {args.defection_change}: write percentage points, e.g. -5")
    p = view.target_params(args.target, args.defection_change, args.horizon, args.discount_rate)
    db = args.db or config.db_target()
    assignment, cutoffs = view.stored_choices(config.user_db_path(Path(db)))
    backend = queries.connect(db)
    facts = queries.data_facts(backend)
    base = view.baseline(backend, queries.Filters(), facts["last_month"], facts["first_month"], assignment, cutoffs)
    out = view.numbers(base, p)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name in ("customer_equity", "profit_next_year"):
            v = out[name]
            print(f"{name:>18}: {v['before']:,.0f} -> {v['after']:,.0f} ({v['change']:+,.0f})")
        for g, v in out["groups"].items():
            print(f"{g:>18}: {v['targeted_customers']:,} of {v['customers']:,} customers targeted; equity "
                  f"{v['customer_equity']['change']:+,.0f}, profit next year {v['profit_next_year']['change']:+,.0f}")
    return 0


def key_account_selection(backend, start=None, end=None, capacity: int | None = None,
                          share: float | None = None, rules=None) -> dict:
    """The key-accounts page's selection as plain JSON values: the saved-or-default ``rules``
    with ``capacity`` (accounts) or ``share`` (0-1 of the active customers) when given; the
    period defaults to the last 12 months of data, as on the page."""
    from dataclasses import replace

    from kamdash import queries
    from kamdash.analytics import ka_types as ka

    rules = rules or ka.KaRules()
    if capacity is not None:
        rules = replace(rules, capacity=capacity)
    if share is not None:
        rules = replace(rules, capacity=0, share=share)
    end = end or queries.last_month(backend)
    start = start or queries.add_months(end, -11)
    features = queries.customer_features(backend, queries.Filters(start=start, end=end), False)
    s = ka.selection_summary(features, ka.key_accounts(features, queries.customer_links(backend), rules))
    nan = lambda x: None if x != x else x  # noqa: E731  (JSON has no NaN)
    return {"from": start.isoformat(), "to": end.isoformat(), "active_customers": s["customers"],
            "key_accounts": s["key_accounts"], "qualifying": s["qualifying"], "capacity": s["limit"],
            "customer_share": nan(s["customer_share"]), "revenue": s["revenue"],
            "revenue_share": nan(s["revenue_share"]), "account_profit": s["account_profit"],
            "account_profit_share": nan(s["account_profit_share"]), "few": s["few"], "by_type": s["by_type"]}


def _cmd_key_accounts(args) -> int:
    import json

    from kamdash import config as cfg, queries, store
    from kamdash.analytics import ka_types as ka

    start, end = _month(args.start), _month(args.end)
    if start and end and start > end:
        raise ValueError(f"--from ({args.start}) is after --to ({args.end})")
    if args.capacity is not None and args.capacity < 1:
        raise ValueError(f"--capacity must be at least 1, got {args.capacity}")
    if args.share is not None and not 0 < args.share <= 100:
        raise ValueError(f"--share is a percentage of the active customers, above 0 and at most 100, got {args.share}")
    db = args.db or cfg.db_target()
    user = cfg.user_db_path(Path(args.db)) if args.db else cfg.user_db_path()
    saved = store.get_setting(user, "ka.rules") if user is not None and Path(user).exists() else None
    backend = queries.connect(db)
    out = key_account_selection(backend, start, end, args.capacity,
                                None if args.share is None else args.share / 100, ka.KaRules.from_dict(saved))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key:>22}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kamdash", description="kamdash tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="build the demo sales database")
    p.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    p.add_argument("--years", type=int, default=3, help="years of order history (default 3)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--lines", type=int, default=None,
                   help="target number of order lines (default: 20 per customer and year)")
    p.add_argument("--currency", default="CNY", help="currency code stored with the data")
    p.add_argument("--out", default=None, help="database file (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("import", help="import sales files (CSV/TSV/TXT, Excel, Parquet), all or nothing",
                       description="Validate the files and, when every row is usable, replace (or "
                       "append to) the sales database in one step. A file may be prefixed with its "
                       "role: orders:, customers:, products:, cost_to_serve: (default: guessed).")
    p.add_argument("files", nargs="+", metavar="FILE", help="file to import ([ROLE:]PATH)")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB)")
    p.add_argument("--map", action="append", metavar="SOURCE=FIELD",
                   help="map the column SOURCE to FIELD (e.g. --map 'Kunde=customer_id'); "
                   "FIELD empty ignores the column; repeatable")
    p.add_argument("--mode", choices=("replace", "append"), default="replace",
                   help="replace the sales data (default), or append to it: lines with the same "
                   "order id and line number are replaced by the new file's")
    p.add_argument("--date-order", dest="date_order", choices=("dmy", "mdy", "ymd"),
                   help="how to read dates like 05/03/2024 (default: decided from the data)")
    p.add_argument("--sheet", help="Excel: the sheet to read (default: the first)")
    p.add_argument("--skip-bad-rows", dest="skip_bad_rows", action="store_true",
                   help="import the good rows when some rows have errors")
    p.add_argument("--check", action="store_true", help="validate only: write nothing")
    p.add_argument("--currency", default="CNY", help="currency code of the amounts (default CNY)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("load", help="load sales files with canonical column names")
    p.add_argument("--orders", required=True, help="order lines: CSV or Parquet")
    p.add_argument("--customers", help="customers: CSV or Parquet")
    p.add_argument("--products", help="products: CSV or Parquet")
    p.add_argument("--cost-to-serve", dest="cost_to_serve", help="cost-to-serve: CSV or Parquet")
    p.add_argument("--currency", default="CNY", help="currency code of the amounts (default CNY)")
    p.add_argument("--out", default=None, help="database file (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("check", help="check that a sales database can be opened")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("upgrade", help="upgrade a sales database built by an older kamdash (keeps its data)")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_upgrade)

    p = sub.add_parser("info", help="what a sales database holds")
    p.add_argument("--db", default=None, help="database file or Ibis URL (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("clv", help="fit a repeat-purchase model and print its parameters")
    p.add_argument("--db", default=None, help="database file or Ibis URL (default: KAMDASH_DB)")
    p.add_argument("--model", choices=["bgnbd", "pnbd"], default="bgnbd", help="BG/NBD or Pareto/NBD")
    p.add_argument("--calibration-end", dest="calibration_end", required=True,
                   help="last day of the calibration period (YYYY-MM-DD)")
    p.add_argument("--time-unit", dest="time_unit", choices=["W", "D"], default="W",
                   help="time unit of recency and T: weeks (default) or days")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_clv)

    p = sub.add_parser("concentration", help="value-concentration readouts of a period")
    p.add_argument("--db", default=None, help="database file or Ibis URL (default: KAMDASH_DB)")
    p.add_argument("--value", choices=("revenue", "gross_profit", "account_profit"), default="revenue",
                   help="which value to measure (default revenue)")
    p.add_argument("--from", dest="start", default=None,
                   help="first month, YYYY-MM or a date in it (default: the first month of data)")
    p.add_argument("--to", dest="end", default=None,
                   help="last month, included, YYYY-MM or a date in it (default: the last month)")
    p.add_argument("--json", action="store_true", help="print JSON (NaN printed as null)")
    p.set_defaults(func=_cmd_concentration)

    p = sub.add_parser("whatif", help="retention what-if: equity and next year's profit before and after")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB); the stored segments, "
                   "key-account types and ABC cut-offs of its user database are used as on the page")
    p.add_argument("--defection-change", dest="defection_change", type=float, required=True,
                   help="change of defection in percentage points (-5 = five points less)")
    p.add_argument("--target", default="profitable",
                   help="all, profitable (groups with a positive margin; default) or tiers such as A,B")
    p.add_argument("--horizon", type=int, default=5, help="years of future margin (default 5; 0 = unlimited)")
    p.add_argument("--discount-rate", dest="discount_rate", type=float, default=0.10,
                   help="discount rate per year (default 0.10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_whatif)

    p = sub.add_parser("key-accounts", help="the selected key-account set of a period",
                       description="The key accounts by the rules saved on the Key accounts page "
                       "(the defaults when none are saved): how many, and their share of the active "
                       "customers, of revenue and of account profit, with counts per type.")
    p.add_argument("--db", default=None, help="database file or Ibis URL (default: KAMDASH_DB)")
    p.add_argument("--from", dest="start", default=None,
                   help="first month, YYYY-MM (default: 11 months before --to)")
    p.add_argument("--to", dest="end", default=None, help="last month, included, YYYY-MM (default: the last month)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--capacity", type=int, default=None, help="key accounts the team can serve")
    size.add_argument("--share", type=float, default=None, help="or a percentage of the active customers")
    p.add_argument("--json", action="store_true", help="print JSON (NaN printed as null)")
    p.set_defaults(func=_cmd_key_accounts)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
