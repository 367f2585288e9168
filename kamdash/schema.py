"""The canonical tables and their column types (shared DESIGN.md section 2).

Two databases:

* the **sales database** (``KAMDASH_DB``): sales facts loaded from a file or the demo generator,
  plus tables derived from them at load time. Loading new sales data builds a new file and
  swaps it in atomically, so it is replaced as a whole and never half-written.
* the **user database** (``<sales>.user.duckdb``): what people author in the app (account plans,
  scenarios, saved settings). Loading sales data never opens it for writing, so re-importing
  sales can never delete user work.
"""

from __future__ import annotations

SALES_SCHEMA_VERSION = 2  # 2: customer_key, customer_cum (running totals), month_cube
USER_SCHEMA_VERSION = 1
SALES_KIND = "kamdash-sales"
USER_KIND = "kamdash-user"

CUSTOMER_TYPES = ("end_customer", "distributor", "dealer", "wholesaler", "agent")
# Sectors that make an account "important" (key-account typology, DESIGN.md section 4)
IMPORTANT_SECTORS = (
    "government",
    "military",
    "police_courts",
    "education",
    "culture",
    "health",
    "media",
)
# Sectors the demo and the catalogs know; user data may carry others, shown as they are.
SECTORS = IMPORTANT_SECTORS + ("real_estate", "manufacturing", "retail", "energy", "logistics")
COST_TYPES = ("sales_visits", "support", "logistics", "rebates")

# Source tables: column name -> DuckDB type. Order is the column order of the table.
SALES_TABLES: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "VARCHAR NOT NULL PRIMARY KEY",
        "name": "VARCHAR",
        "name_zh": "VARCHAR",
        "customer_type": "VARCHAR",
        "sector": "VARCHAR",
        "region": "VARCHAR",
        "city": "VARCHAR",
        "parent_id": "VARCHAR",
        "account_manager": "VARCHAR",
        "acquired_on": "DATE",
        "referred_by": "VARCHAR",
    },
    "products": {
        "product_id": "VARCHAR NOT NULL PRIMARY KEY",
        "name": "VARCHAR",
        "name_zh": "VARCHAR",
        "category": "VARCHAR",
        "list_price": "DOUBLE",
        "unit_cost": "DOUBLE",
    },
    "order_lines": {
        "order_id": "VARCHAR NOT NULL",
        "line_no": "INTEGER NOT NULL",
        "order_date": "DATE NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
        "product_id": "VARCHAR",
        "quantity": "DOUBLE",
        "unit_price": "DOUBLE",
        "discount": "DOUBLE",  # money given away on the line; revenue is net of it
        "revenue": "DOUBLE NOT NULL",  # net of discount; returns are negative lines
        "cost": "DOUBLE",  # cost of goods
    },
    "cost_to_serve": {
        "customer_id": "VARCHAR NOT NULL",
        "month": "DATE NOT NULL",  # first day of the month
        "cost_type": "VARCHAR NOT NULL",
        "amount": "DOUBLE NOT NULL",
    },
    # Display labels for data values (region, city, account manager...) per language.
    "value_labels": {
        "column_name": "VARCHAR NOT NULL",
        "value": "VARCHAR NOT NULL",
        "lang": "VARCHAR NOT NULL",
        "label": "VARCHAR NOT NULL",
    },
    "meta": {"key": "VARCHAR NOT NULL PRIMARY KEY", "value": "VARCHAR"},
}

# Tables derived from the source tables when data is loaded (store.derive).
DERIVED_TABLES = ("customer_month", "customer_key", "customer_cum", "month_cube")

# customer_cum: per customer and month, running totals of these customer_month columns (plus
# ``rows`` and ``active_months``); see store.derive_cumulative.
CUMULATIVE_COLUMNS = ("revenue", "cost", "gross_profit", "discount", "returns", "cost_to_serve",
                      "account_profit", "orders", "order_days", "lines", "rows", "active_months")
CUMULATIVE_COUNTS = ("orders", "order_days", "lines", "rows", "active_months")  # BIGINT; the rest DOUBLE

# The filter dimensions: the customer attributes every page filters by (a Filters field each,
# the column name plus "s"). They are copied into customer_month and customer_key, so that a
# filter never needs a join.
DIMENSIONS = ("region", "customer_type", "sector", "account_manager")

# customer_month: one row per customer and calendar month with any order or cost-to-serve.
# Customer attributes are copied in so that filters never need a join.
CUSTOMER_MONTH_COLUMNS = (
    "customer_id",
    "month",
    "region",
    "customer_type",
    "sector",
    "account_manager",
    "revenue",
    "cost",
    "gross_profit",
    "discount",
    "returns",  # revenue of negative (return) lines, as a positive number
    "cost_to_serve",
    "account_profit",
    "orders",
    "order_days",
    "lines",
    "first_order_date",
    "last_order_date",
)

USER_TABLES: dict[str, dict[str, str]] = {
    "meta": {"key": "VARCHAR NOT NULL PRIMARY KEY", "value": "VARCHAR"},
    "settings": {
        "key": "VARCHAR NOT NULL PRIMARY KEY",
        "value": "JSON",
        "updated_at": "TIMESTAMP",
        "updated_by": "VARCHAR",
    },
    "account_plans": {
        "plan_id": "VARCHAR NOT NULL",
        "version": "INTEGER NOT NULL",
        "customer_id": "VARCHAR NOT NULL",
        "body": "JSON",
        "author": "VARCHAR",
        "saved_at": "TIMESTAMP",
    },
    "scenarios": {
        "scenario_id": "VARCHAR NOT NULL PRIMARY KEY",
        "name": "VARCHAR NOT NULL",
        "params": "JSON",
        "results": "JSON",
        "created_at": "TIMESTAMP",
        "created_by": "VARCHAR",
    },
    # Fitted models (retention & value): keyed by the sales data version and the fit settings,
    # so a page view never refits unchanged data. Created if missing: older user databases gain
    # it on their next open.
    "model_fits": {
        "fit_key": "VARCHAR NOT NULL PRIMARY KEY",
        "data_version": "VARCHAR NOT NULL",
        "settings": "JSON",
        "fit": "JSON",
        "created_at": "TIMESTAMP",
    },
    # The current segment and key-account types of each customer (segments / key-accounts
    # pages), read by the sidebar's KA type and segment filters; replaced as a whole.
    "customer_assignment": {
        "customer_id": "VARCHAR NOT NULL PRIMARY KEY",
        "segment": "INTEGER",
        "segment_name": "VARCHAR",
        "ka_types": "VARCHAR",  # comma-separated: economic,important,group,strategic
        "assigned_at": "TIMESTAMP",
    },
    # Who may sign in, with which role and which customers (kamdash.access); one row per user,
    # ``version`` grows on every change so two admins editing at once cannot overwrite each other.
    "entitlements": {
        "email": "VARCHAR NOT NULL PRIMARY KEY",
        "role": "VARCHAR NOT NULL",
        "scope_kind": "VARCHAR NOT NULL",  # all, regions, managers, customers
        "scope_values": "JSON",
        "version": "INTEGER NOT NULL",
        "updated_at": "TIMESTAMP",
        "updated_by": "VARCHAR",
    },
    # Append-only record of every change to plans, scenarios, settings and entitlements: who,
    # when, what (kind and key) and the value before and after (JSON; null when there was none).
    "audit_log": {
        "changed_at": "TIMESTAMP NOT NULL",
        "who": "VARCHAR",
        "kind": "VARCHAR NOT NULL",
        "key": "VARCHAR",
        "action": "VARCHAR NOT NULL",
        "old": "JSON",
        "new": "JSON",
    },
}

# Indexes of the user database, created if missing (older user databases gain them on their next
# open; no data changes, so the user schema version stays). One row per plan version: two
# writers can never both save version n of a plan (kamdash.plans).
USER_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS account_plans_version ON account_plans (plan_id, version)",
)

REQUIRED_ORDER_COLUMNS = ("customer_id", "order_date", "revenue")


def create_table_sql(name: str, columns: dict[str, str]) -> str:
    """DDL for one canonical table (names are ours, never user input)."""
    cols = ",\n  ".join(f"{col} {typ}" for col, typ in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n)"
