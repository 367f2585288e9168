"""Which column of a file is which field: suggestions from header names (English and Chinese),
the role of a file guessed from its columns, and mapping profiles saved per file shape.

A *field* is a canonical column (schema.SALES_TABLES) or one of a few extras an order-lines file
may carry: customer and product attributes (``customer_name``, ``region``, ``product_name`` …,
from which the customers and products tables are derived) and ``gross_margin`` (毛利, from which
cost = revenue − gross margin).
"""

from __future__ import annotations

import hashlib
import re

from kamdash import store

ROLES = ("order_lines", "customers", "products", "cost_to_serve")

# field -> kind (date, number, integer, text) per role; the order is the order shown.
FIELDS: dict[str, dict[str, str]] = {
    "order_lines": {
        "customer_id": "text", "order_date": "date", "revenue": "number",
        "quantity": "number", "unit_price": "number", "discount": "number", "cost": "number",
        "gross_margin": "number", "order_id": "text", "line_no": "integer", "product_id": "text",
        "customer_name": "text", "customer_type": "text", "sector": "text", "region": "text",
        "city": "text", "account_manager": "text", "product_name": "text", "category": "text",
    },
    "customers": {
        "customer_id": "text", "name": "text", "name_zh": "text", "customer_type": "text",
        "sector": "text", "region": "text", "city": "text", "parent_id": "text",
        "account_manager": "text", "acquired_on": "date", "referred_by": "text",
    },
    "products": {
        "product_id": "text", "name": "text", "name_zh": "text", "category": "text",
        "list_price": "number", "unit_cost": "number",
    },
    "cost_to_serve": {
        "customer_id": "text", "month": "date", "cost_type": "text", "amount": "number",
    },
}
REQUIRED = {
    "order_lines": ("customer_id", "order_date"),  # and an amount: revenue or quantity × unit price
    "customers": ("customer_id",),
    "products": ("product_id",),
    "cost_to_serve": ("customer_id", "month", "amount"),
}

# Header names (normalised: lower case, no spaces/punctuation) suggesting each field.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "customerno", "customernumber", "customercode",
                    "custid", "clientid", "client", "accountid", "account", "soldto", "客户",
                    "客户编号", "客户编码", "客户代码", "客户id", "客户号", "客户名称", "客户名"),
    "order_date": ("orderdate", "date", "invoicedate", "salesdate", "documentdate", "postingdate",
                   "transactiondate", "日期", "订单日期", "下单日期", "销售日期", "开票日期", "单据日期",
                   "交易日期"),
    "revenue": ("revenue", "amount", "sales", "netsales", "salesamount", "netamount", "value", "dollarvalue", "dollars",
                "turnover", "totalamount", "lineamount", "金额", "销售额", "销售金额", "收入",
                "营业收入", "含税金额", "不含税金额", "净额", "成交金额", "总金额"),
    "quantity": ("quantity", "qty", "units", "volume", "数量", "销量", "销售数量"),
    "unit_price": ("unitprice", "price", "单价", "售价", "销售单价"),
    "discount": ("discount", "discountamount", "rebate", "折扣", "折扣金额", "优惠", "优惠金额"),
    "cost": ("cost", "cogs", "costofgoods", "totalcost", "成本", "销售成本", "成本金额", "总成本"),
    "gross_margin": ("grossmargin", "margin", "grossprofit", "profit", "毛利", "毛利额", "毛利润"),
    "order_id": ("orderid", "order", "orderno", "ordernumber", "invoice", "invoiceno",
                 "documentno", "订单", "订单号", "订单编号", "单号", "单据号", "发票号"),
    "line_no": ("lineno", "line", "linenumber", "item", "position", "行号", "序号", "明细行"),
    "product_id": ("productid", "product", "sku", "itemcode", "material", "productcode",
                   "产品", "产品编号", "产品编码", "物料", "物料编码", "商品编码", "存货编码"),
    "customer_name": ("customername", "clientname", "accountname", "客户全称", "客户名称中文"),
    "customer_type": ("customertype", "type", "channel", "客户类型", "客户类别", "渠道"),
    "sector": ("sector", "industry", "vertical", "行业", "所属行业"),
    "region": ("region", "area", "territory", "salesregion", "区域", "地区", "大区", "销售区域"),
    "city": ("city", "城市"),
    "account_manager": ("accountmanager", "salesrep", "salesperson", "owner", "keyaccountmanager",
                        "kam", "客户经理", "销售员", "业务员", "销售代表", "负责人"),
    "product_name": ("productname", "itemname", "产品名称", "商品名称", "品名", "物料名称"),
    "category": ("category", "productcategory", "productgroup", "类别", "产品类别", "品类", "分类"),
    "name": ("name", "customername", "productname", "名称", "客户名称", "产品名称"),
    "name_zh": ("namezh", "chinesename", "中文名", "中文名称"),
    "parent_id": ("parentid", "parent", "group", "parentaccount", "上级客户", "集团", "母公司"),
    "acquired_on": ("acquiredon", "since", "customersince", "firstorder", "开户日期", "合作开始"),
    "referred_by": ("referredby", "referrer", "推荐人", "推荐客户", "介绍人"),
    "list_price": ("listprice", "price", "标价", "目录价", "定价"),
    "unit_cost": ("unitcost", "cost", "单位成本", "单位成本价"),
    "month": ("month", "period", "date", "月份", "月", "期间", "日期"),
    "cost_type": ("costtype", "type", "category", "费用类型", "成本类型", "类型"),
    "amount": ("amount", "cost", "value", "金额", "费用", "成本"),
}


def normalise(header: str) -> str:
    return re.sub(r"[\s_\-./()（）:：#]+", "", str(header).strip().lower())


def suggest(columns: list[str], role: str) -> dict[str, str]:
    """{source column: field} for the columns whose header names a field of ``role``.

    An exact canonical name wins; then synonyms in the order of the field list. Each field is
    used once; ``客户名称`` goes to customer_id only when no better id column exists.
    """
    fields = FIELDS[role]
    out: dict[str, str] = {}
    taken: set[str] = set()
    norm = {c: normalise(c) for c in columns}
    for c in columns:  # canonical names first
        if norm[c] in fields and norm[c] not in taken:
            out[c], _ = norm[c], taken.add(norm[c])
    for f in fields:
        if f in taken:
            continue
        for syn in SYNONYMS.get(f, ()):
            hit = next((c for c in columns if c not in out and norm[c] == syn), None)
            if hit:
                out[hit] = f
                taken.add(f)
                break
    if role == "order_lines" and "customer_id" in taken:  # a name column next to the id column
        for c in columns:
            if c not in out and norm[c] in ("客户名称", "客户名", "customername", "name", "名称"):
                out[c] = "customer_name"
                break
    return out


def guess_role(columns: list[str]) -> str:
    """The role whose required fields the headers cover best (order lines when in doubt)."""
    best, score = "order_lines", -1.0
    for role in ROLES:
        mapped = set(suggest(columns, role).values())
        need = set(REQUIRED[role])  # an order file lacking an amount is still an order file
        covered = len(mapped & need)
        s = covered / len(need) + 0.1 * covered + (0.5 if role == "order_lines" and covered == len(need) else 0)
        if s > score:
            best, score = role, s
    return best


def missing_required(mapping: dict[str, str], role: str) -> list[str]:
    fields = set(mapping.values())
    missing = [f for f in REQUIRED[role] if f not in fields]
    if role == "order_lines" and "revenue" not in fields and not {"quantity", "unit_price"} <= fields:
        missing.append("revenue")
    return missing


def shape_key(columns: list[str], role: str) -> str:
    """Key of a file shape: its role and header names (order-insensitive)."""
    digest = hashlib.sha1("\x1f".join(sorted(normalise(c) for c in columns)).encode()).hexdigest()[:16]
    return f"ingest.profile.{role}.{digest}"


def load_profile(user_db, columns: list[str], role: str) -> dict | None:
    """The saved mapping profile for a file of this shape, if any."""
    if user_db is None:
        return None
    try:
        prof = store.get_setting(user_db, shape_key(columns, role))
    except Exception:  # a profile that cannot be read is only a lost suggestion
        return None
    if not prof or not set(prof.get("mapping", {})) <= set(columns):
        return None
    return prof


def save_profile(user_db, columns: list[str], role: str, mapping: dict[str, str], **options) -> None:
    store.put_setting(user_db, shape_key(columns, role), {"mapping": mapping, **options})
