"""Command line: ``python -m kamdash <command>``.

Commands:
  demo     build the demo sales database (deterministic for a seed)
  import   import sales files (CSV/TSV/TXT, Excel, Parquet; any header names), all or nothing
  load     load sales files (CSV/Parquet with canonical column names), all or nothing
  sync     refresh from a company source (PostgreSQL, Spark, Parquet folder): totals computed there
  check    say whether a database can be used by the app, and why not
  info     print what a sales database holds
  clv      fit BG/NBD or Pareto/NBD (PyMC-Marketing, maximum likelihood) and print the fit
  concentration  value-concentration readouts (top shares, customers for 80%, Gini, HHI)
  whatif   retention what-if: customer equity and next year's profit before and after a change
           of defection, split into profitable and loss-making groups
  key-accounts   the selected key-account set: count, shares of customers, revenue, account profit
  users    who may sign in in team mode (list, add, remove); the command line keeps full access
  restore  put back the sales database kept by the last import that replaced it
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kamdash import config


def _cmd_demo(args) -> int:
    from kamdash import demo

    if args.lines is not None and args.lines < 1:
        raise UserError(f"--lines {args.lines}: give a positive number of order lines")
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


ROLE_PREFIXES = {"orders": "order_lines", "cts": "cost_to_serve"}


def _overrides(items) -> dict[str, str]:
    """``--map SOURCE=FIELD`` arguments as {source column: field}."""
    from kamdash.ingest import mapping

    overrides = {}
    for item in items or []:
        source, sep, field = item.partition("=")
        if not sep or not source:
            raise ValueError(f"--map {item!r}: write SOURCE=FIELD (FIELD empty to ignore a column)")
        known = set().union(*mapping.FIELDS.values())
        if field and field not in known:
            raise ValueError(f"--map {item!r}: unknown field {field!r} (fields: {', '.join(sorted(known))})")
        overrides[source] = field
    return overrides


def _import_sources(args) -> list:
    from kamdash.ingest import engine, mapping

    overrides = _overrides(args.map)
    delimiter = "\t" if args.delimiter == "tab" else args.delimiter
    sources = []
    for item in args.files:
        prefix, sep, rest = item.partition(":")
        role = ROLE_PREFIXES.get(prefix, prefix)
        if sep and role in mapping.ROLES:
            sources.append(engine.SourceFile(rest, role=role, sheet=args.sheet, overrides=overrides,
                                             delimiter=delimiter))
        elif sep and len(prefix) > 1 and not Path(item).exists():  # not C:\… nor a file named a:b
            raise UserError(f"{item!r}: unknown role {prefix!r} (write orders:, customers:, "
                            "products: or cost_to_serve: before the file, or nothing)")
        else:
            sources.append(engine.SourceFile(item, sheet=args.sheet, overrides=overrides,
                                             delimiter=delimiter))
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


def _cmd_sync(args) -> int:
    import json

    from kamdash import store, sync
    from kamdash.ingest import sources

    out = Path(args.db or config.db_path() or "data/kamdash.duckdb")
    user_db = config.user_db_path(out)
    tables = {}
    for item in args.table or []:
        role, sep, name = item.partition("=")
        role = ROLE_PREFIXES.get(role, role)
        if not sep or role not in sources.ROLES or not name:
            raise ValueError(f"--table {item!r}: write ROLE=NAME with ROLE one of {', '.join(sources.ROLES)}")
        tables[role] = name
    if args.source:
        url, password = sources.strip_password(args.source)
        source = sources.Source(url, tables, _overrides(args.map))
    else:
        saved = sync.saved_source(user_db)
        if not saved:
            raise ValueError("no source saved yet: name one with --source URL")
        source = sources.Source.from_dict(saved)
        source = sources.Source(source.url, {**source.tables, **tables}, {**source.overrides, **_overrides(args.map)})
        password = None
    try:
        result = sync.run(out, source, password or sync.password_for(source), full=args.full,
                          user_db=user_db, currency=args.currency)
    except (sources.SourceError, store.StoreError) as exc:
        problems = getattr(exc, "problems", None)
        if args.json:
            print(json.dumps({"ok": False, "problems": [p.as_dict() for p in problems] if problems
                              else [{"reason": str(exc)}]}, ensure_ascii=False, indent=2))
        else:
            for p in problems or [exc]:
                print(f"error: {p}", file=sys.stderr)
            print(f"Nothing was changed: {out} is as it was.", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        for w in result.warnings:
            print(f"warning: {w}")
        rows = ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in result.rows.items())
        print(f"Synced {out} from {source.url} ({result.mode}: {result.months} of {result.months_total} "
              f"months computed at the source, {int(result.meta['order_lines']):,} order lines there): "
              f"{rows}; data as of {result.meta['as_of']}, in {result.seconds:.1f} s.")
    if password and args.source:
        print("note: the password in the URL was used once and not saved; set KAMDASH_SOURCE_PASSWORD "
              "for the next refresh", file=sys.stderr)
    return 0


def _cmd_check(args) -> int:
    from kamdash import store

    path = Path(args.db or config.db_path())
    status = store.check_sales_db(path)
    if status.ok:
        print(f"{path}: OK (schema version {status.found_version})")
        return 0
    print(status_text(status))
    return 1


def _cmd_info(args) -> int:

    path = args.db or config.db_target()
    engine = sales_engine(path)
    facts = engine.data_facts()
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

    from kamdash.analytics import clv

    end = _date(args.calibration_end, "--calibration-end")
    engine = sales_engine(args.db)
    rfm = engine.rfm_summary(end, args.time_unit)
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
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        d = date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 1)
    except ValueError:
        raise UserError(f"not a month (YYYY-MM or YYYY-MM-DD): {text!r}") from None
    return d.replace(day=1)


def _date(text: str, option: str):
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r}: not a date (YYYY-MM-DD)") from None


def concentration_readouts(engine, value: str, start=None, end=None) -> dict:
    """The readouts of the concentration page as plain JSON values."""
    from kamdash.analytics import pareto
    from kamdash.engine.filters import Filters

    facts = engine.customer_facts(Filters(start=start, end=end), attributes=False)
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

    start, end = _month(args.start), _month(args.end)
    if start and end and start > end:
        raise ValueError(f"--from ({args.start}) is after --to ({args.end})")
    engine = sales_engine(args.db)
    out = concentration_readouts(engine, args.value, start, end)
    _print_readouts(out, args.json)
    return 0


def _cmd_whatif(args) -> int:
    import json

    from kamdash.engine import connect
    from kamdash.engine.filters import Filters
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
    engine = connect(db)
    facts = engine.data_facts()
    base = view.baseline(engine, Filters(), facts["last_month"], facts["first_month"], assignment, cutoffs)
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


def _user_db(db: str | None) -> Path:
    return config.user_db_path(config.db_path(db or config.db_target()))


def _cmd_users(args) -> int:
    """Entitlements (team mode): who may sign in, with which role and scope. The command line
    itself keeps full access: it runs with access to the files."""
    import json

    from kamdash import access
    from kamdash.engine import connect

    path = _user_db(args.db)
    if args.action == "list":
        rows = [{"email": e.email, "role": e.role, "scope": e.scope_kind, "values": list(e.scope_values),
                 "version": e.version, "updated_by": e.updated_by} for e in access.list_entitlements(path)]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            for r in rows:
                values = f" {', '.join(r['values'])}" if r["values"] else ""
                print(f"{r['email']}  {r['role']}  {r['scope']}{values}")
            if not rows:
                print("no entitlements yet: add the first admin with "
                      "`python -m kamdash users add EMAIL --role admin`")
        return 0
    if args.action == "remove":
        try:
            access.remove(path, args.email, "command line", None)
        except access.EntitlementError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"removed {args.email.strip().lower()}")
        return 0
    kinds = [(k, v) for k, v in (("regions", args.regions), ("managers", args.managers),
                                  ("customers", args.customers)) if v]
    if len(kinds) > 1:
        print("error: give one of --regions, --managers, --customers", file=sys.stderr)
        return 2
    kind, values = kinds[0] if kinds else ("all", "")
    engine = connect(args.db or config.db_target())
    try:
        known = access.scope_known(engine.scope_customers())
    finally:
        engine.close()
    cur = access.get(path, args.email)
    try:
        ent = access.save(path, access.Entitlement(args.email, args.role, kind,
                                                   tuple(v for v in values.split(",") if v.strip())),
                          known, "command line", cur.version if cur else None)
    except (access.EntitlementError, access.EntitlementConflict) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{ent.email}: {ent.role}, {ent.scope_kind}"
          + (f" {', '.join(ent.scope_values)}" if ent.scope_values else ""))
    return 0


def _cmd_restore(args) -> int:
    """Put back the sales database kept by the last import that replaced it."""
    from kamdash import store

    path = config.db_path(args.db or config.db_target())
    if path is None:
        print("error: restore works on a database file", file=sys.stderr)
        return 2
    try:
        kept = store.restore_backup(path)
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"restored {path} from the copy of {kept}")
    return 0


def key_account_selection(engine, start=None, end=None, capacity: int | None = None,
                          share: float | None = None, rules=None) -> dict:
    """The key-accounts page's selection as plain JSON values: the saved-or-default ``rules``
    with ``capacity`` (accounts) or ``share`` (0-1 of the active customers) when given; the
    period defaults to the last 12 months of data, as on the page."""
    from dataclasses import replace

    from kamdash.analytics import ka_types as ka
    from kamdash.engine.filters import Filters, add_months

    rules = rules or ka.KaRules()
    if capacity is not None:
        rules = replace(rules, capacity=capacity)
    if share is not None:
        rules = replace(rules, capacity=0, share=share)
    end = end or engine.last_month()
    start = start or add_months(end, -11)
    features = engine.customer_features(Filters(start=start, end=end), False)
    s = ka.selection_summary(features, ka.key_accounts(features, engine.customer_links(), rules))
    nan = lambda x: None if x != x else x  # noqa: E731  (JSON has no NaN)
    return {"from": start.isoformat(), "to": end.isoformat(), "active_customers": s["customers"],
            "key_accounts": s["key_accounts"], "qualifying": s["qualifying"], "capacity": s["limit"],
            "customer_share": nan(s["customer_share"]), "revenue": s["revenue"],
            "revenue_share": nan(s["revenue_share"]), "account_profit": s["account_profit"],
            "account_profit_share": nan(s["account_profit_share"]), "few": s["few"], "by_type": s["by_type"]}


def _cmd_key_accounts(args) -> int:

    from kamdash import config as cfg
    from kamdash import store
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
    engine = sales_engine(db)
    out = key_account_selection(engine, start, end, args.capacity,
                                None if args.share is None else args.share / 100, ka.KaRules.from_dict(saved))
    _print_readouts(out, args.json)
    return 0


def _print_readouts(out: dict, as_json: bool) -> None:
    """A command's readouts: JSON, or one aligned ``name: value`` line each."""
    import json

    if as_json:
        print(json.dumps(out, indent=2))
        return
    width = max(map(len, out), default=0)
    for key, value in out.items():
        print(f"{key:>{width}}: {value}")


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
    p.add_argument("--sheet", help="Excel: the sheet to read (default: the first visible one)")
    p.add_argument("--delimiter", choices=(",", ";", "tab", "|", "whitespace", "fixed"),
                   help="text files: how the columns are separated (default: detected); whitespace: "
                   "runs of spaces; fixed: columns at fixed positions")
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

    p = sub.add_parser("sync", help="refresh the sales database from a company source (PostgreSQL, Spark, "
                       "Parquet folder)",
                       description="The source's engine adds the order lines up per customer and "
                       "month; only those totals, customers, products and cost-to-serve come back. "
                       "Only months that changed are computed again unless --full. On any error the "
                       "database is unchanged. Without --source, the source saved by the last sync. "
                       "The password comes from KAMDASH_SOURCE_PASSWORD, never from the saved source.")
    p.add_argument("--source", default=None, metavar="URL",
                   help="postgresql://user@host:5432/db, parquet:///folder, spark://local[2], "
                   "spark://host:7077 or sc://host:15002")
    p.add_argument("--table", action="append", metavar="ROLE=NAME",
                   help="where a table is (roles: order_lines, customers, products, cost_to_serve; "
                   "default: a table or Parquet file named as the role); repeatable")
    p.add_argument("--map", action="append", metavar="SOURCE=FIELD",
                   help="map the column SOURCE to FIELD (as for import); repeatable")
    p.add_argument("--full", action="store_true", help="recompute every month (default: changed months only)")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB)")
    p.add_argument("--currency", default=None, help="currency code of the amounts (default KAMDASH_CURRENCY)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_sync)

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

    p = sub.add_parser("users", help="who may sign in (team mode): list, add or change, remove",
                       description="Entitlements of team mode, kept in the user database. The "
                       "command line itself always has full access.")
    usub = p.add_subparsers(dest="action", required=True)
    q = usub.add_parser("list", help="list the entitlements")
    q.add_argument("--json", action="store_true", help="print JSON")
    q = usub.add_parser("add", help="add a user or change their role and scope")
    q.add_argument("email", help="the user's e-mail, as the sign-in provider reports it")
    q.add_argument("--role", required=True, choices=("admin", "director", "regional_head",
                                                     "account_manager", "viewer"))
    q.add_argument("--regions", default="", help="scope: these regions (comma-separated)")
    q.add_argument("--managers", default="", help="scope: the accounts of these account managers")
    q.add_argument("--customers", default="", help="scope: these customer ids (comma-separated)")
    q = usub.add_parser("remove", help="remove a user's access")
    q.add_argument("email")
    for q in usub.choices.values():
        q.add_argument("--db", default=None, help="sales database file (default: KAMDASH_DB); "
                       "the entitlements live in its user database (KAMDASH_USER_DB)")
    p.set_defaults(func=_cmd_users)

    p = sub.add_parser("restore", help="put back the sales database kept by the last replacing import")
    p.add_argument("--db", default=None, help="database file (default: KAMDASH_DB)")
    p.set_defaults(func=_cmd_restore)
    return parser


class UserError(Exception):
    """A mistake in what the user asked for (a file, a database, a value): one line, exit 2."""


STATUS_TEXT = {  # store.DatabaseStatus.problem -> what the command line says
    "missing": "there is no sales database at {path}: build one with `python -m kamdash demo "
               "--out {path}` or import your files with `python -m kamdash import FILE --db {path}`",
    "corrupt": "{path} cannot be read as a DuckDB database ({detail})",
    "locked": "{path} is open for writing in another program; try again when it has finished ({detail})",
    "not_kamdash": "{path} is a DuckDB database, but not a kamdash sales database ({detail})",
    "older_version": "{path} was built by an older kamdash (schema version {found}): bring it up to "
                     "date with `python -m kamdash upgrade --db {path}`",
    "newer_version": "{path} was written by a newer kamdash (schema version {found}): upgrade kamdash",
    "empty": "{path} holds no order lines",
}


def status_text(status) -> str:
    return STATUS_TEXT[status.problem].format(path=status.path, detail=status.detail,
                                              found=status.found_version)


def sales_engine(target: str | None):
    """The sales database a command reads (``--db``, else KAMDASH_DB), opened read-only.

    A file (or a ``duckdb:///`` URL of one) is checked first, so that a missing, damaged,
    locked, foreign or old file is a ``UserError`` saying so; another URL that cannot be
    reached is one too."""
    from kamdash import store
    from kamdash.engine import connect

    target = target or config.db_target()
    path = config.db_path(target)
    if path is not None:
        status = store.check_sales_db(path)
        if status.problem not in (None, "empty"):
            raise UserError(status_text(status))
    try:
        return connect(target)
    except Exception as exc:  # a server that is down, a driver that is not installed ...
        if path is not None:
            raise
        raise UserError(f"cannot open {target}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def user_error(exc: BaseException) -> str | None:
    """The one-line message for an exception caused by what the user asked for, or None when
    it is a fault of kamdash itself (then the traceback is shown)."""
    import duckdb

    from kamdash import store
    from kamdash.ingest.problems import LoadError

    if isinstance(exc, LoadError):
        more = f" (and {exc.total - 1} more problems)" if exc.total > 1 else ""
        return (str(exc.problems[0]) if exc.problems else "nothing was loaded") + more
    if isinstance(exc, (UserError, ValueError, store.StoreError)):
        return _first_line(exc)
    if isinstance(exc, OSError):
        if exc.filename and exc.strerror:
            return f"{exc.filename}: {exc.strerror}"
        return _first_line(exc)
    if isinstance(exc, duckdb.IOException):
        if store.is_lock_error(exc):
            return "the database is open for writing in another program; try again when it has " \
                   f"finished ({_first_line(exc)})"
        return _first_line(exc)
    if isinstance(exc, duckdb.CatalogException):
        return f"not a kamdash sales database ({_first_line(exc)})"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run a command. A user's mistake in any command (see ``user_error``) is printed as one
    line on stderr with exit code 2, never as a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
