"""Company sources: order lines that stay where they live, added up by the engine that holds them.

A *source* is a URL naming an engine and where its tables are:

* ``postgresql://user@host:5432/dbname`` (also ``postgres://``): PostgreSQL through the Ibis
  postgres backend; tables are ``schema.table`` or ``table``.
* ``parquet:///path/to/folder``: a folder of Parquet files read by DuckDB (in memory, nothing
  is copied); a table is ``<folder>/<name>.parquet`` or every ``*.parquet`` under
  ``<folder>/<name>/``, or a path of its own.
* ``spark://local[2]``, ``spark://host:7077`` (a cluster) or ``sc://host:15002`` (Spark
  Connect): Apache Spark through the Ibis pyspark backend; a table is a catalog name
  (``db.table``) or a Parquet path (``parquet:/data/lines`` or any path with a ``/``).

The heavy work (``order_month``, ``month_totals``) is written once, as Ibis expressions over the
*canonical* columns, and compiled by each backend (Snowflake, BigQuery and Trino compile the same
expressions: see the tests). ``canonical`` maps a source table's own column names to the fields
of a file import (``mapping.FIELDS``, the same suggestions and ``--map SOURCE=FIELD``
overrides) and checks the types from the table's schema, without reading a row.

Passwords are never part of a stored URL: ``connect`` takes them separately (the environment or
Streamlit secrets, see kamdash.sync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import ibis
import ibis.expr.datatypes as dt

from kamdash import config
from kamdash.ingest import mapping
from kamdash.ingest.problems import Problem, problem

ROLES = mapping.ROLES
KINDS = ("postgres", "parquet", "spark")

# Fields of order lines that feed the totals; customer and product attributes come from their
# own tables (a source has them; a flat export is what the file import is for).
ORDER_FIELDS = ("customer_id", "order_date", "revenue", "quantity", "unit_price", "discount", "cost",
                "gross_margin", "order_id", "product_id")

# The canonical columns kept from each of the other tables (schema.SALES_TABLES).
TABLE_FIELDS = {
    "customers": tuple(mapping.FIELDS["customers"]),
    "products": tuple(mapping.FIELDS["products"]),
    "cost_to_serve": tuple(mapping.FIELDS["cost_to_serve"]),
}


class SourceError(Exception):
    """A source that cannot be used, said for a person: ``problems`` locate each reason (table,
    column, code of ``ingest.reason.<code>``)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _problem(where: str, column: str, code: str, **fields) -> SourceError:
    return SourceError([problem(where, None, column, None, code, **fields)])


# ---------------------------------------------------------------- URLs and connections


@dataclass(frozen=True)
class Source:
    """A source as stored: the URL without any password, the table of each role, the column
    mapping overrides {source column: field} (shared by every table, as ``--map`` is)."""

    url: str
    tables: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return source_kind(self.url)

    def as_dict(self) -> dict:
        return {"url": self.url, "tables": dict(self.tables), "overrides": dict(self.overrides)}

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        return cls(d["url"], dict(d.get("tables") or {}), dict(d.get("overrides") or {}))


def _scheme(url: str) -> str:
    # not urlsplit: ``spark://local[2]`` is no host name
    return url.partition("://")[0].lower() if "://" in url else ""


def source_kind(url: str) -> str:
    scheme = _scheme(url)
    kind = {"postgres": "postgres", "postgresql": "postgres", "parquet": "parquet",
            "spark": "spark", "sc": "spark"}.get(scheme)
    if kind is None:
        raise _problem(url, "-", "src_bad_url", schemes="postgresql://, parquet://, spark://, sc://")
    return kind


def strip_password(url: str) -> tuple[str, str | None]:
    """(the URL without a password, the password it held or None): a password is never stored."""
    if _scheme(url) not in ("postgres", "postgresql"):
        return url, None
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (parts.username or "") + "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(parts.password)


def _classify_connect_error(url: str, exc: Exception) -> SourceError:
    text = str(exc)
    low = text.lower()
    detail = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
    if "password authentication failed" in low or "no password supplied" in low:
        return _problem(url, "-", "src_wrong_password")
    if "connection refused" in low or "could not connect" in low or "no such file or directory" in low:
        return _problem(url, "-", "src_refused", detail=detail)
    if "does not exist" in low and "database" in low:
        return _problem(url, "-", "src_no_database", detail=detail)
    if "permission denied" in low:
        return _problem(url, "-", "src_no_rights", detail=detail)
    return _problem(url, "-", "src_cannot_connect", detail=detail)


_spark_sessions: dict[str, object] = {}


def spark_session(url: str):
    """The Spark session of ``spark://MASTER`` or ``sc://HOST:PORT``: one per URL and process,
    in UTC. A local master gets few shuffle partitions (the totals are small), no web UI
    and no progress bars."""
    if url in _spark_sessions:
        return _spark_sessions[url]
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.appName("kamdash").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))  # results come back as Arrow
    if _scheme(url) == "sc":
        builder = builder.remote(url)
    else:
        master = url.split("://", 1)[1] or "local[2]"
        # the driver JVM starts with this heap (set before it exists): it receives the totals
        builder = builder.master(master).config("spark.driver.memory", config.spark_driver_memory())
        if master.startswith("local"):
            builder = (builder.config("spark.sql.shuffle.partitions", "2")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false")
                       .config("spark.driver.host", "127.0.0.1")
                       .config("spark.driver.bindAddress", "127.0.0.1"))
    session = builder.getOrCreate()
    if _scheme(url) != "sc":  # a Spark Connect session has no SparkContext
        session.sparkContext.setLogLevel("ERROR")
    _spark_sessions[url] = session
    return session


def connect(source: Source, password: str | None = None):
    """An Ibis backend for ``source`` (raises SourceError with the reason when it cannot)."""
    url = source.url
    kind = source.kind
    if kind == "postgres":
        parts = urlsplit(url)
        kwargs = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
                  "user": unquote(parts.username or "") or None,
                  "database": unquote(parts.path.lstrip("/")) or None}
        if password:
            kwargs["password"] = password
        try:
            return ibis.postgres.connect(**{k: v for k, v in kwargs.items() if v is not None})
        except ModuleNotFoundError as exc:
            raise _problem(url, "-", "src_missing_package", package="psycopg") from exc
        except Exception as exc:  # psycopg's OperationalError and friends
            raise _classify_connect_error(url, exc) from exc
    if kind == "parquet":
        folder = Path(unquote(urlsplit(url).path))
        if not folder.is_dir():
            raise _problem(url, "-", "src_no_folder", folder=str(folder))
        return ibis.duckdb.connect()
    try:
        session = spark_session(url)
    except ModuleNotFoundError as exc:
        raise _problem(url, "-", "src_missing_package", package="pyspark") from exc
    except ValueError as exc:  # a setting that cannot be used
        raise _problem(url, "-", "src_cannot_connect", detail=str(exc)) from exc
    except Exception as exc:  # no Java, unreachable master
        raise _classify_connect_error(url, exc) from exc
    return ibis.pyspark.connect(session)


def _is_path(name: str) -> bool:
    return name.startswith("parquet:") or "/" in name


def table(backend, source: Source, role: str, name: str):
    """The Ibis table of ``role`` named ``name`` in the source (SourceError when it is missing
    or cannot be read)."""
    kind = source.kind
    try:
        if kind == "parquet" or (kind == "spark" and _is_path(name)):
            path = name.removeprefix("parquet:")
            if kind == "parquet":
                base = Path(unquote(urlsplit(source.url).path))
                p = Path(path) if Path(path).is_absolute() else base / path
                if p.is_dir():
                    files = sorted(p.rglob("*.parquet"))
                    target = str(p / "**" / "*.parquet")
                elif p.with_suffix(".parquet").exists() or p.exists():
                    target = str(p if p.exists() else p.with_suffix(".parquet"))
                    files = [target]
                else:
                    files = []
                if not files:
                    raise _problem(name, "-", "src_no_table", table=str(p))
                # files written at different times may order or type their columns differently
                return backend.read_parquet(target, table_name=f"kamdash_{role}", union_by_name=True)
            return backend.read_parquet(path, table_name=f"kamdash_{role}")
        db, _, tname = name.rpartition(".")
        return backend.table(tname, database=db or None)
    except SourceError:
        raise
    except Exception as exc:
        text = str(exc).lower()
        if "permission denied" in text or "insufficient" in text:
            raise _problem(name, "-", "src_no_rights", detail=str(exc).splitlines()[0][:200]) from exc
        raise _problem(name, "-", "src_no_table", table=name) from exc


# ---------------------------------------------------------------- mapping and types


def _kind_ok(kind: str, dtype: dt.DataType) -> bool:
    if kind == "date":
        return dtype.is_date() or dtype.is_timestamp()
    if kind == "number":
        return dtype.is_numeric()
    if kind == "integer":
        return dtype.is_integer()
    return dtype.is_string() or dtype.is_integer()  # ids stored as numbers are read as text


def _type_name(kind: str) -> str:
    return {"date": "date", "number": "number", "integer": "whole number"}.get(kind, "text")


def column_mapping(t, role: str, overrides: dict[str, str], where: str) -> dict[str, str]:
    """{source column: field} of table ``t`` for ``role``: the file import's suggestions with
    ``overrides`` on top (a field given to another column replaces the suggestion; an empty
    field drops a column). Raises SourceError for missing required fields and wrong types."""
    columns = list(t.columns)
    fields = mapping.FIELDS[role]
    mine = {c: f for c, f in overrides.items() if c in columns and (not f or f in fields)}
    out = {c: f for c, f in mapping.suggest(columns, role).items()
           if c not in mine and f not in mine.values()}
    out.update({c: f for c, f in mine.items() if f})
    if role == "order_lines":
        out = {c: f for c, f in out.items() if f in ORDER_FIELDS}
    problems = [problem(where, None, f, None, "missing_column", found=", ".join(columns))
                for f in mapping.missing_required(out, role)]
    schema = t.schema()
    for col, f in out.items():
        kind = fields[f]
        if not _kind_ok(kind, schema[col]):
            problems.append(problem(where, None, col, None, "src_wrong_type", field=f,
                                    expected=_type_name(kind), found=str(schema[col])))
    if problems:
        raise SourceError(problems)
    return out


def canonical(t, role: str, cols: dict[str, str]):
    """``t`` with the canonical columns of ``role`` (renamed and cast; what a field needs and
    the source lacks is derived as the file import does: revenue = quantity × unit price −
    discount, cost = revenue − gross margin, order_id = customer and day)."""
    by_field = {f: t[c] for c, f in cols.items()}
    if role != "order_lines":
        out = {}
        for f in TABLE_FIELDS[role]:
            kind = mapping.FIELDS[role][f]
            if f in by_field:
                e = by_field[f]
                e = (e.cast("date") if kind == "date" else e.cast("float64") if kind == "number"
                     else e.cast("string"))
            else:
                e = ibis.null().cast({"date": "date", "number": "float64"}.get(kind, "string"))
            out[f] = e
        res = t.select(**out)
        if role == "cost_to_serve":
            res = res.mutate(month=res.month.truncate("M").cast("date"))
        return res
    num = lambda f: by_field[f].cast("float64") if f in by_field else None  # noqa: E731
    discount = num("discount")
    revenue = num("revenue")
    if revenue is None:
        revenue = num("quantity") * num("unit_price") - (discount.fill_null(0) if discount is not None else 0)
    cost = num("cost")
    if cost is None and "gross_margin" in by_field:
        cost = revenue - num("gross_margin")
    order_date = by_field["order_date"].cast("date")
    customer_id = by_field["customer_id"].cast("string")
    order_id = (by_field["order_id"].cast("string") if "order_id" in by_field
                else customer_id.concat("@", order_date.cast("string")))
    return t.select(
        customer_id=customer_id, order_date=order_date, order_id=order_id,
        revenue=revenue,
        cost=cost if cost is not None else ibis.literal(0.0),
        discount=discount if discount is not None else ibis.literal(0.0),
        product_id=by_field["product_id"].cast("string") if "product_id" in by_field else ibis.null().cast("string"),
    )


# ---------------------------------------------------------------- the heavy work, once for all engines


def _month(ol):
    return ol.order_date.truncate("M").cast("date")


def month_totals(ol):
    """One row per calendar month of the order lines: lines, revenue, cost, discount, returns.
    The grand totals customer_month is checked against, and the months' fingerprint: a month
    whose row changed since the last refresh is computed again."""
    ol = ol.filter(ol.revenue.notnull() & ol.customer_id.notnull() & ol.order_date.notnull())
    ol = ol.mutate(month=_month(ol))
    return ol.group_by("month").aggregate(
        lines=ol.count(),
        revenue=ol.revenue.sum(),
        cost=ol.cost.fill_null(0).sum(),
        discount=ol.discount.fill_null(0).sum(),
        returns=ibis.ifelse(ol.revenue < 0, -ol.revenue, 0.0).sum(),
    ).order_by("month")


def order_month(ol, months=None, day_masks: bool = True):
    """Order totals per customer and calendar month (store.ORDER_MONTH_SCHEMA): revenue, cost,
    discount, returns (revenue of negative lines, as a positive number), orders (distinct
    order ids), order_days (distinct order dates), lines, first and last order date.
    ``months``: only these months (first days), for an incremental refresh.

    Distinct counts without ``COUNT(DISTINCT ...)``, as the file import's build does them
    (store.derive): the lines are first added up per order, so ``orders`` counts rows, and each
    order carries a mask with one bit per day of the month it has lines on; a customer-month's
    ``order_days`` is the number of bits set in the OR of its orders' masks (exact: every date
    of the group lies in its month). Two distinct counts made DuckDB keep a hash table of each
    per group (and Spark expand every line once per distinct column). ``day_masks=False`` keeps
    the distinct counts, for a backend whose Ibis compiler has no bitwise OR aggregate
    (pyspark)."""
    ol = ol.filter(ol.revenue.notnull() & ol.customer_id.notnull() & ol.order_date.notnull())
    ol = ol.mutate(month=_month(ol))
    if months is not None:
        ol = ol.filter(ol.month.isin(list(months)))
    if not day_masks:
        return ol.group_by(["customer_id", "month"]).aggregate(
            revenue=ol.revenue.sum(),
            cost=ol.cost.fill_null(0).sum(),
            discount=ol.discount.fill_null(0).sum(),
            returns=ibis.ifelse(ol.revenue < 0, -ol.revenue, 0.0).sum(),
            orders=ol.order_id.nunique().cast("int64"),
            order_days=ol.order_date.nunique().cast("int64"),
            lines=ol.count().cast("int64"),
            first_order_date=ol.order_date.min(),
            last_order_date=ol.order_date.max(),
        )
    # one bit per day (1 << 30 at most: 32-bit integers in every SQL dialect)
    day_bit = ibis.literal(1, "int32") << (ol.order_date.day() - 1).cast("int32")
    per_order = ol.group_by(["customer_id", "month", "order_id"]).aggregate(
        revenue=ol.revenue.sum(),
        cost=ol.cost.fill_null(0).sum(),
        discount=ol.discount.fill_null(0).sum(),
        returns=ibis.ifelse(ol.revenue < 0, -ol.revenue, 0.0).sum(),
        days=day_bit.bit_or(),
        lines=ol.count().cast("int64"),
        first_order_date=ol.order_date.min(),
        last_order_date=ol.order_date.max(),
    )
    po = per_order
    out = po.group_by(["customer_id", "month"]).aggregate(
        revenue=po.revenue.sum(),
        cost=po.cost.sum(),
        discount=po.discount.sum(),
        returns=po.returns.sum(),
        orders=po.count().cast("int64"),
        days=po.days.bit_or(),
        lines=po.lines.sum().cast("int64"),
        first_order_date=po.first_order_date.min(),
        last_order_date=po.last_order_date.max(),
    )
    bits = sum(((out.days >> k) & 1) for k in range(31))  # a portable bit count
    return out.select("customer_id", "month", "revenue", "cost", "discount", "returns", "orders",
                      order_days=bits.cast("int64"), lines=out.lines,
                      first_order_date=out.first_order_date, last_order_date=out.last_order_date)


def cost_month(cts, months=None):
    """Cost-to-serve per customer, month and cost type (what the account page breaks down).
    ``months``: only these months (first days)."""
    cts = cts.filter(cts.customer_id.notnull() & cts.month.notnull() & cts.amount.notnull())
    if months is not None:
        cts = cts.filter(cts.month.isin(list(months)))
    return cts.group_by(["customer_id", "month", "cost_type"]).aggregate(amount=cts.amount.sum())


def cost_months(cts):
    """Per month of cost-to-serve (canonical rows, before ``cost_month`` adds them up): its
    rows and amount. Cost-to-serve's fingerprint: a month whose row changed since the last
    refresh is read again; a refresh that finds them and every other table as they were leaves
    the database alone. The rows also bound the rows ``cost_month`` gives a month."""
    cts = cts.filter(cts.customer_id.notnull() & cts.month.notnull() & cts.amount.notnull())
    return cts.group_by("month").aggregate(rows=cts.count().cast("int64"), amount=cts.amount.sum())


BATCH_ROWS = 122_880
# Rows an engine that hands results over whole (Spark) sends to this process in one piece: a
# few hundred MB of the driver's heap at most
CHUNK_ROWS = 1_000_000


def month_chunks(sizes: dict, limit: int | None = None) -> list[list]:
    """Consecutive months grouped so that each group's ``sizes`` (month -> rows, or an upper
    bound of them) add up to at most ``limit`` (a month above it forms a group of its own)."""
    limit = CHUNK_ROWS if limit is None else limit
    chunks: list[list] = []
    total = 0
    for month in sorted(sizes):
        n = int(sizes[month] or 0)
        if total + n > limit or not chunks:
            chunks.append([])
            total = 0
        chunks[-1].append(month)
        total += n
    return chunks


def record_batches(backend, expr, chunks: list[list] | None = None, by: str = "month"):
    """The rows of ``expr`` as a stream of Arrow record batches (never all at once).

    Spark hands a result to its driver whole (ibis's ``to_pyarrow_batches`` too, for pyspark).
    Given ``chunks`` (lists of values of the column ``by``, see ``month_chunks``), the result
    is computed once, kept by the executors (memory, then disk) and brought to the driver one
    chunk at a time, so the driver's heap holds one chunk of rows, not all of them."""
    if backend.name == "duckdb":  # ibis 12's to_pyarrow_batches calls a method duckdb 2 removed
        return backend.con.sql(str(ibis.to_sql(expr, dialect="duckdb"))).to_arrow_reader(BATCH_ROWS)
    if backend.name == "pyspark" and chunks and len(chunks) > 1:
        return _spark_batches(backend, expr, chunks, by)
    return expr.to_pyarrow_batches(chunk_size=BATCH_ROWS)


def _spark_batches(backend, expr, chunks: list[list], by: str):
    import pyarrow as pa
    from pyspark import StorageLevel

    df = backend._session.sql(backend.compile(expr)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        first = df.filter(df[by].isin(chunks[0])).toArrow()
    except BaseException:
        df.unpersist()
        raise

    def batches():
        try:
            yield from first.to_batches(max_chunksize=BATCH_ROWS)
            for chunk in chunks[1:]:
                yield from df.filter(df[by].isin(chunk)).toArrow().to_batches(max_chunksize=BATCH_ROWS)
        finally:
            df.unpersist()

    return pa.RecordBatchReader.from_batches(first.schema, batches())
