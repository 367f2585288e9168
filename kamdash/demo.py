"""Deterministic demo sales data that tells the key-account story.

``build_demo(path, customers=5000, years=3, seed=7)`` writes a complete sales database:
heavy-tailed customer value (top 20% of customers bring roughly 70-85% of revenue), a handful
of large accounts that lose money after discounts, returns and cost-to-serve, all customer types
and key-account sectors, parent/child groups, referral chains, churners, lapsers who come back,
fast growers, seasonality, and names readable in English and Chinese.

Everything is vectorised with numpy and written in batches of customers, so memory stays
bounded when generating tens of millions of order lines for benchmarks. The same arguments
and seed always give the same data (``data_version`` and ``built_at`` aside).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kamdash import schema, store

DEFAULT_CUSTOMERS = 5000
DEFAULT_YEARS = 3
DEFAULT_SEED = 7
DEFAULT_END = date(2026, 9, 30)  # last day of the demo data: fixed, so builds are reproducible
LINES_PER_CUSTOMER_YEAR = 20.0  # 5,000 customers x 3 years -> about 300k order lines
BATCH_CUSTOMERS = 20_000
BUILD_SECONDS_ESTIMATE = 5  # default demo on a 2-core machine, told to users (bench/RESULTS.md)

REGIONS = [  # (en, zh, weight, [(city en, city zh), ...])
    ("East China", "华东", 0.28, [("Shanghai", "上海"), ("Hangzhou", "杭州"), ("Nanjing", "南京"),
                                  ("Suzhou", "苏州"), ("Hefei", "合肥")]),
    ("North China", "华北", 0.20, [("Beijing", "北京"), ("Tianjin", "天津"),
                                   ("Shijiazhuang", "石家庄"), ("Taiyuan", "太原")]),
    ("South China", "华南", 0.20, [("Guangzhou", "广州"), ("Shenzhen", "深圳"), ("Xiamen", "厦门"),
                                   ("Nanning", "南宁")]),
    ("Central China", "华中", 0.12, [("Wuhan", "武汉"), ("Changsha", "长沙"), ("Zhengzhou", "郑州")]),
    ("Southwest", "西南", 0.10, [("Chengdu", "成都"), ("Chongqing", "重庆"), ("Kunming", "昆明")]),
    ("Northwest", "西北", 0.05, [("Xi'an", "西安"), ("Lanzhou", "兰州"), ("Urumqi", "乌鲁木齐")]),
    ("Northeast", "东北", 0.05, [("Shenyang", "沈阳"), ("Harbin", "哈尔滨"), ("Dalian", "大连")]),
]
MANAGERS = [
    ("Li Na", "李娜"), ("Wang Wei", "王伟"), ("Zhang Min", "张敏"), ("Liu Yang", "刘洋"),
    ("Chen Jing", "陈静"), ("Yang Fan", "杨帆"), ("Zhao Lei", "赵磊"), ("Huang Ting", "黄婷"),
    ("Zhou Jie", "周杰"), ("Wu Xia", "吴霞"), ("Xu Qiang", "徐强"), ("Sun Li", "孙丽"),
    ("Ma Chao", "马超"), ("Zhu Hong", "朱红"), ("Hu Bin", "胡斌"), ("Guo Yan", "郭燕"),
    ("He Jun", "何军"), ("Lin Fang", "林芳"), ("Gao Peng", "高鹏"), ("Luo Xin", "罗欣"),
    ("Zheng Hao", "郑浩"),
]
MANAGERS_PER_REGION = 3
BRANDS = [
    ("Hua", "华"), ("Xin", "信"), ("Zhong", "中"), ("Tian", "天"), ("Hong", "宏"), ("Da", "达"),
    ("Jin", "金"), ("Long", "隆"), ("Heng", "恒"), ("Sheng", "盛"), ("Kang", "康"), ("Rui", "瑞"),
    ("Feng", "丰"), ("Yuan", "远"), ("Tai", "泰"), ("Ming", "明"), ("Guang", "光"), ("An", "安"),
    ("Bo", "博"), ("Cheng", "诚"), ("De", "德"), ("Fu", "富"), ("Hai", "海"), ("Jia", "嘉"),
    ("Kai", "凯"), ("Li", "力"), ("Mei", "美"), ("Ning", "宁"), ("Peng", "鹏"), ("Qi", "启"),
    ("Shun", "顺"), ("Wei", "伟"), ("Xing", "兴"), ("Yi", "亿"), ("Yong", "永"), ("Ze", "泽"),
    ("Zhi", "智"),
]
DISTRICTS = [  # public bodies are named by city and district
    ("Dongcheng District", "东城区"), ("Xicheng District", "西城区"), ("Nanshan District", "南山区"),
    ("Beiyuan District", "北苑区"), ("Hi-tech Zone", "高新区"), ("Development Zone", "经开区"),
    ("Binhai New Area", "滨海新区"), ("Chengnan District", "城南区"), ("Chengbei District", "城北区"),
    ("Municipal", "市"),
]
# sector -> (probability, named by city (public bodies) or by brand (companies), suffixes)
SECTOR_NAMES = {
    "government": (0.07, "city", [("Transport Bureau", "交通运输局"), ("Water Affairs Bureau", "水务局"),
                                  ("Urban Management Bureau", "城市管理局"), ("Finance Bureau", "财政局")]),
    "military": (0.02, "city", [("Garrison Supply Depot", "警备区物资供应站"),
                                ("Armed Police Logistics Centre", "武警后勤保障中心")]),
    "police_courts": (0.04, "city", [("Public Security Bureau", "公安局"), ("People's Court", "人民法院"),
                                     ("People's Procuratorate", "人民检察院")]),
    "education": (0.06, "city", [("University", "大学"), ("Vocational College", "职业技术学院"),
                                 ("No. 1 Middle School", "第一中学")]),
    "culture": (0.02, "city", [("Museum", "博物馆"), ("Grand Theatre", "大剧院"), ("Library", "图书馆")]),
    "health": (0.06, "city", [("People's Hospital", "人民医院"), ("Maternal & Child Hospital", "妇幼保健院"),
                              ("Centre for Disease Control", "疾病预防控制中心")]),
    "media": (0.03, "brand", [("Media Group", "传媒集团"), ("Broadcasting", "广播电视")]),
    "real_estate": (0.08, "brand", [("Property", "置业"), ("Real Estate", "房地产开发")]),
    "manufacturing": (0.24, "brand", [("Precision Manufacturing", "精密制造"), ("Machinery", "机械"),
                                      ("Electronics", "电子"), ("Auto Parts", "汽车零部件")]),
    "retail": (0.16, "brand", [("Trading", "商贸"), ("Retail", "零售"), ("Commerce", "商业")]),
    "energy": (0.10, "brand", [("Energy", "能源"), ("Power", "电力"), ("New Energy", "新能源")]),
    "logistics": (0.12, "brand", [("Logistics", "物流"), ("Supply Chain", "供应链")]),
}
CUSTOMER_TYPE_MIX = {  # probability, log-size offset, mean extra lines per order, discount base
    "end_customer": (0.55, 0.0, 0.6, 0.02),
    "dealer": (0.17, 0.35, 1.0, 0.05),
    "distributor": (0.10, 1.25, 2.5, 0.09),
    "wholesaler": (0.08, 1.0, 2.0, 0.08),
    "agent": (0.10, -0.3, 0.3, 0.04),
}
CATEGORIES = [  # (en, zh, cost/price ratio, number of products, median list price)
    ("Industrial sensors", "工业传感器", 0.60, 14, 420.0),
    ("Control systems", "控制系统", 0.68, 10, 2600.0),
    ("Power supplies", "电源设备", 0.74, 12, 680.0),
    ("Cables & connectors", "线缆与连接器", 0.79, 16, 60.0),
    ("Tools", "工具", 0.66, 12, 150.0),
    ("Safety equipment", "安全防护", 0.62, 12, 95.0),
    ("Software & services", "软件与服务", 0.35, 8, 3200.0),
    ("Spare parts", "备品备件", 0.52, 16, 85.0),
]
# Month-of-year demand: Spring Festival dip in Feb, Golden Week in Oct, year-end push in Dec.
SEASON = np.array([0.95, 0.62, 1.06, 1.0, 0.96, 1.12, 0.9, 0.9, 1.06, 0.84, 1.1, 1.38])
SEASON = SEASON / SEASON.mean()

CTS_VISIT_BASE = 900.0  # cost of sales visits per active month for a 100k-a-year account
CTS_SUPPORT_RATE = 0.015
CTS_SUPPORT_FIXED = 260.0
CTS_LOGISTICS_PER_ORDER = 260.0
CTS_LOGISTICS_RATE = 0.012
CTS_REBATE_RATE = 0.03  # distributors and wholesalers, paid at quarter end


@dataclass
class _Customers:
    n: int
    type_idx: np.ndarray
    size: np.ndarray  # expected annual revenue at full activity
    freq: np.ndarray  # orders per year
    lines_mu: np.ndarray  # mean extra lines per order
    discount: np.ndarray  # discount rate
    return_rate: np.ndarray
    acq_month: np.ndarray  # month index of acquisition (negative: before the window)
    churn_month: np.ndarray  # first month with no activity (>= months: never in window)
    gap_start: np.ndarray
    gap_len: np.ndarray
    growth: np.ndarray  # yearly growth rate
    loss_maker: np.ndarray  # bool
    sector: np.ndarray  # index into SECTOR_NAMES
    cat_cum: np.ndarray  # cumulative category preference, n x categories
    price_factor: np.ndarray
    cts_factor: np.ndarray


def _month_starts(end: date, months: int) -> np.ndarray:
    last = np.datetime64(f"{end.year:04d}-{end.month:02d}", "M")
    return np.arange(last - months + 1, last + 1)


def _draw_customers(n: int, months: int, rng: np.random.Generator) -> _Customers:
    types = list(CUSTOMER_TYPE_MIX)
    probs = np.array([v[0] for v in CUSTOMER_TYPE_MIX.values()])
    type_idx = rng.choice(len(types), size=n, p=probs / probs.sum())
    sp = np.array([v[0] for v in SECTOR_NAMES.values()])
    sector = rng.choice(len(SECTOR_NAMES), size=n, p=sp / sp.sum())
    public = np.array([v[1] == "city" for v in SECTOR_NAMES.values()])[sector]
    type_idx = np.where(public, types.index("end_customer"), type_idx)
    offs = np.array([v[1] for v in CUSTOMER_TYPE_MIX.values()])[type_idx]
    z = rng.standard_normal(n)
    size = 60_000.0 * np.exp(offs + 1.3 * z)
    freq = np.clip(np.exp(1.55 + 0.45 * z + 0.3 * offs + 0.35 * rng.standard_normal(n)), 1.0, 120.0)
    lines_mu = np.array([v[2] for v in CUSTOMER_TYPE_MIX.values()])[type_idx]
    discount = np.clip(
        np.array([v[3] for v in CUSTOMER_TYPE_MIX.values()])[type_idx]
        + 0.02 * np.clip(z, 0, None)
        + rng.normal(0, 0.01, n),
        0.0,
        0.2,
    )
    return_rate = rng.beta(1.2, 60, n)
    # acquisition: 60% before the window (up to 8 years), 40% inside it
    before = rng.random(n) < 0.6
    acq = np.where(before, -rng.integers(1, 96, n), rng.integers(0, months, n))
    # churn: exponential lifetime from acquisition; big accounts stay longer
    mean_life = 66.0 * np.exp(0.35 * np.clip(z, -2, 2))
    churn = acq + rng.exponential(mean_life)
    # a customer that had churned before the window never appears: re-draw as still active
    churn = np.where(churn < 0, months + 1 + rng.exponential(mean_life), churn)
    churn_month = np.ceil(churn).astype(np.int64)
    # lapse and come back: a gap of 4-10 months for about 8% of customers
    lapser = rng.random(n) < 0.08
    gap_len = np.where(lapser, rng.integers(4, 11, n), 0)
    gap_start = np.where(lapser, rng.integers(0, max(1, months - 6), n), months + 1)
    # growth: a small drift for most, 50-130% a year for about 4% fast growers
    grower = (rng.random(n) < 0.04) & (acq > -36)
    growth = np.where(grower, rng.uniform(0.5, 1.3, n), rng.normal(0.02, 0.12, n))
    # loss-makers: about a dozen of the biggest accounts get deep discounts, many returns and
    # expensive service
    rank = np.argsort(-size)
    top = rank[: max(40, n // 20)]
    k = max(3, min(30, n // 200))
    loss_maker = np.zeros(n, dtype=bool)
    loss_maker[rng.choice(top, size=min(k, len(top)), replace=False)] = True
    discount = np.where(loss_maker, rng.uniform(0.36, 0.44, n), discount)
    return_rate = np.where(loss_maker, rng.uniform(0.10, 0.16, n), return_rate)
    churn_month = np.where(loss_maker, months + 1, churn_month)
    growth = np.where(loss_maker, np.abs(growth), growth)
    cat_pref = rng.dirichlet(np.full(len(CATEGORIES), 0.6), n)
    cat_cum = np.cumsum(cat_pref, axis=1)
    cat_cum[:, -1] = 1.0
    price_factor = rng.uniform(0.96, 1.04, n)
    cts_factor = np.where(loss_maker, rng.uniform(3.5, 5.0, n), rng.lognormal(-0.25, 0.8, n))
    return _Customers(
        n, type_idx, size, freq, lines_mu, discount, return_rate, acq, churn_month, gap_start,
        gap_len, growth, loss_maker, sector, cat_cum, price_factor, cts_factor,
    )


def _activity(c: _Customers, idx: np.ndarray, months: int, moy: np.ndarray) -> np.ndarray:
    """Expected orders per month (len(idx) x months) before calibration.

    ``moy`` is the month of year (0 = January) of each month of the window.
    """
    m = np.arange(months)[None, :]
    acq = c.acq_month[idx, None]
    active = (m >= acq) & (m < c.churn_month[idx, None])
    in_gap = (m >= c.gap_start[idx, None]) & (m < c.gap_start[idx, None] + c.gap_len[idx, None])
    active &= ~in_gap
    years_from_end = (m - (months - 1)) / 12.0
    level = np.power(1.0 + np.clip(c.growth[idx, None], -0.6, None), years_from_end)
    # ramp-up over the first 6 months after acquisition
    ramp = np.clip((m - acq + 1) / 6.0, 0.25, 1.0)
    season = SEASON[moy][None, :]
    return np.where(active, (c.freq[idx, None] / 12.0) * level * ramp * season, 0.0)


def _products(rng: np.random.Generator):
    rows = []
    for ci, (en, zh, ratio, count, median) in enumerate(CATEGORIES):
        prices = np.round(median * rng.lognormal(0.0, 0.6, count), 0) + 9.0
        ratios = np.clip(ratio + 0.06 + rng.normal(0, 0.05, count), 0.2, 0.92)
        for j in range(count):
            rows.append((ci, j, f"{en} {chr(65 + j)}{ci + 1}", f"{zh} {chr(65 + j)}{ci + 1}",
                         en, float(prices[j]), float(round(prices[j] * ratios[j], 2))))
    return rows


def _names(c: _Customers, rng: np.random.Generator, sectors: np.ndarray, city_en, city_zh):
    sector_names = list(SECTOR_NAMES)
    district = rng.integers(0, len(DISTRICTS), c.n)
    b1 = rng.integers(0, len(BRANDS), c.n)
    b2 = rng.integers(0, len(BRANDS), c.n)
    suf = rng.integers(0, 100, c.n)
    en, zh = [], []
    seen: dict[str, int] = {}
    for i in range(c.n):
        kind, suffixes = SECTOR_NAMES[sector_names[sectors[i]]][1:]
        s_en, s_zh = suffixes[suf[i] % len(suffixes)]
        be = BRANDS[b1[i]][0] + BRANDS[b2[i]][0].lower()
        bz = BRANDS[b1[i]][1] + BRANDS[b2[i]][1]
        if kind == "city":
            d_en, d_zh = DISTRICTS[district[i]]
            ne, nz = f"{city_en[i]} {d_en} {s_en}", f"{city_zh[i]}{d_zh}{s_zh}"
        else:
            ne, nz = f"{be} {s_en} Co., Ltd.", f"{city_zh[i]}{bz}{s_zh}有限公司"
        count = seen.get(ne, 0)
        seen[ne] = count + 1
        if count:  # same name again: number the branches, as real customer lists do
            ne, nz = f"{ne} ({count + 1})", f"{nz}（{count + 1}）"
        en.append(ne)
        zh.append(nz)
    return en, zh


def _customer_table(c, months, month0, rng):
    """Customer master data as an Arrow table, plus value labels."""
    n = c.n
    types = np.array(list(CUSTOMER_TYPE_MIX), dtype=object)
    sector_names = np.array(list(SECTOR_NAMES), dtype=object)
    sectors = c.sector.copy()
    rw = np.array([r[2] for r in REGIONS])
    region_idx = rng.choice(len(REGIONS), size=n, p=rw / rw.sum())
    city_pick = rng.random(n)
    city_en = np.empty(n, dtype=object)
    city_zh = np.empty(n, dtype=object)
    region_en = np.array([REGIONS[r][0] for r in region_idx], dtype=object)
    manager = np.empty(n, dtype=object)
    mgr_pick = rng.integers(0, MANAGERS_PER_REGION, n)
    for r, (_, _, _, cities) in enumerate(REGIONS):
        sel = region_idx == r
        ci = (city_pick[sel] * len(cities)).astype(int)
        city_en[sel] = [cities[j][0] for j in ci]
        city_zh[sel] = [cities[j][1] for j in ci]
        manager[sel] = [MANAGERS[(r * MANAGERS_PER_REGION + j) % len(MANAGERS)][0] for j in mgr_pick[sel]]
    name_en, name_zh = _names(c, rng, sectors, city_en, city_zh)
    ids = np.array([f"C{i + 1:06d}" for i in range(n)], dtype=object)

    # groups: about 2% of companies become parents of 2-6 children in the same sector
    parent = np.full(n, None, dtype=object)
    company = np.array([SECTOR_NAMES[s][1] == "brand" for s in sector_names[sectors]])
    candidates = np.flatnonzero(company)
    n_groups = max(2, n // 60)
    parents = rng.choice(candidates, size=min(n_groups, len(candidates) // 4), replace=False,
                         p=c.size[candidates] ** 0.5 / (c.size[candidates] ** 0.5).sum())
    pool = np.setdiff1d(candidates, parents)
    rng.shuffle(pool)
    pos = 0
    for p in parents:
        k = int(rng.integers(2, 7))
        kids = pool[pos : pos + k]
        pos += k
        branches: dict[str, int] = {}
        for kid in kids:
            parent[kid] = ids[p]
            sectors[kid] = sectors[p]
            nth = branches.get(city_en[kid], 0) + 1
            branches[city_en[kid]] = nth
            tag_en, tag_zh = ("", "") if nth == 1 else (f" {nth}", f"{nth}")
            base_en = name_en[p].replace(" Co., Ltd.", "")
            name_en[kid] = f"{base_en} ({city_en[kid]} branch{tag_en})"
            name_zh[kid] = name_zh[p].replace("有限公司", "") + f"{city_zh[kid]}{tag_zh}分公司"

    # referrals: a fifth of the customers won inside the window were brought by an older one
    # (vectorised: draw from the cumulative weights of customers acquired strictly earlier)
    referred = np.full(n, None, dtype=object)
    order = np.argsort(c.acq_month, kind="stable")
    cum_w = np.cumsum(c.size[order] ** 0.5)
    new_in_window = np.flatnonzero((c.acq_month > 0) & (rng.random(n) < 0.2))
    n_older = np.searchsorted(c.acq_month[order], c.acq_month[new_in_window], side="left")
    has = n_older > 0
    targets = rng.random(int(has.sum())) * cum_w[n_older[has] - 1]
    picks = order[np.minimum(np.searchsorted(cum_w, targets, side="right"), n_older[has] - 1)]
    referred[new_in_window[has]] = ids[picks]

    acq_dates = (month0 + c.acq_month.astype("timedelta64[M]")).astype("datetime64[D]")
    acq_dates = acq_dates + rng.integers(0, 28, n).astype("timedelta64[D]")
    table = pa.table({
        "customer_id": pa.array(ids, pa.string()),
        "name": pa.array(name_en, pa.string()),
        "name_zh": pa.array(name_zh, pa.string()),
        "customer_type": pa.array(types[c.type_idx], pa.string()),
        "sector": pa.array(sector_names[sectors], pa.string()),
        "region": pa.array(region_en, pa.string()),
        "city": pa.array(city_en, pa.string()),
        "parent_id": pa.array(parent, pa.string()),
        "account_manager": pa.array(manager, pa.string()),
        "acquired_on": pa.array(acq_dates.astype("datetime64[D]"), pa.date32()),
        "referred_by": pa.array(referred, pa.string()),
    })
    labels = [("region", r[0], "zh", r[1]) for r in REGIONS]
    labels += [("city", ce, "zh", cz) for r in REGIONS for ce, cz in r[3]]
    labels += [("account_manager", e, "zh", z) for e, z in MANAGERS]
    labels += [("category", cat[0], "zh", cat[1]) for cat in CATEGORIES]
    return table, labels


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``f"{prefix}{n:0{width}d}"`` for every n >= 0 as an Arrow string array, built from the
    digits with numpy (no Python string per row). Like Python's format, a number with more
    digits than ``width`` keeps all of them (SQL's lpad would cut them off)."""
    n = np.asarray(numbers, dtype=np.int64)
    if n.size and n.min() < 0:
        raise ValueError("ids are made of non-negative numbers")
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    ndig = np.full(n.shape, width, dtype=np.int64)
    p = 10 ** width
    while n.size and n.max() >= p:
        ndig += n >= p
        p *= 10
    offsets = np.zeros(len(n) + 1, dtype=np.int64)
    np.cumsum(len(head) + ndig, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    counts = np.unique(ndig)
    for d in counts.tolist():  # the rows with d digits: one (rows x characters) block each
        rows = None if len(counts) == 1 else np.flatnonzero(ndig == d)
        rest = n.copy() if rows is None else n[rows]
        if d <= 9:
            rest = rest.astype(np.uint32)  # 32-bit division is much faster
        block = np.empty((len(rest), len(head) + d), dtype=np.uint8)
        block[:, :len(head)] = head
        for j in range(len(head) + d - 1, len(head) - 1, -1):  # digits from the right
            rest, digit = np.divmod(rest, 10)
            block[:, j] = digit + 48
        if rows is None:
            data[:] = block.ravel()
        else:
            data[offsets[rows][:, None] + np.arange(block.shape[1])] = block
    return pa.LargeStringArray.from_buffers(len(n), pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


def _repeat(text: str, count: int) -> pa.Array:
    """``count`` copies of ``text`` as an Arrow string array."""
    b = text.encode()
    offsets = np.arange(count + 1, dtype=np.int32) * len(b)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(b * count))


def _pick_rows(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draw: index of the first cumulative probability above u."""
    return (u[:, None] > cum).sum(axis=1)


def _batch(c, idx, months, month0, moy, scale, products, cat_offsets, cat_counts, rng, order_base):
    """Order lines and cost-to-serve for the customers ``idx``."""
    lam = _activity(c, idx, months, moy) * scale
    counts = rng.poisson(lam)  # orders per customer-month
    cust_local, month_idx = np.nonzero(counts)
    n_orders_cm = counts[cust_local, month_idx]
    o_cust = np.repeat(cust_local, n_orders_cm)
    o_month = np.repeat(month_idx, n_orders_cm)
    n_orders = len(o_cust)
    gi = idx[o_cust]  # global customer index per order
    month_start = (month0 + o_month.astype("timedelta64[M]")).astype("datetime64[D]")
    days_in_month = (
        (month0 + (o_month + 1).astype("timedelta64[M]")).astype("datetime64[D]") - month_start
    ).astype(np.int64)
    o_date = month_start + (rng.random(n_orders) * days_in_month).astype("timedelta64[D]")
    years_from_end = (o_month - (months - 1)) / 12.0
    level = np.power(1.0 + np.clip(c.growth[gi], -0.6, None), years_from_end)
    o_value = c.size[gi] / c.freq[gi] / scale * level * rng.lognormal(-0.06, 0.35, n_orders)
    n_lines = 1 + rng.poisson(c.lines_mu[gi])

    l_order = np.repeat(np.arange(n_orders), n_lines)
    starts = np.cumsum(n_lines) - n_lines
    line_no = np.arange(len(l_order)) - np.repeat(starts, n_lines) + 1
    lc = gi[l_order]
    n_l = len(l_order)
    cat = _pick_rows(c.cat_cum[lc], rng.random(n_l))
    # products inside a category: a few sell much more than the rest (Zipf-like)
    within = np.minimum((cat_counts[cat] * rng.power(2.2, n_l) ** 2.5).astype(np.int64),
                        cat_counts[cat] - 1)
    prod = cat_offsets[cat] + within
    list_price = products["list_price"][prod]
    unit_cost = products["unit_cost"][prod]
    unit_price = np.round(list_price * c.price_factor[lc], 2)
    line_value = o_value[l_order] / n_lines[l_order] * rng.lognormal(0, 0.3, n_l)
    disc_rate = np.clip(c.discount[lc] + rng.normal(0, 0.01, n_l), 0, 0.6)
    qty = np.maximum(1, np.round(line_value / (unit_price * (1 - disc_rate))))
    gross = qty * unit_price
    discount = np.round(gross * disc_rate, 2)
    revenue = np.round(gross - discount, 2)
    cost = np.round(qty * unit_cost, 2)
    dates = o_date[l_order]

    # returns: a later order that sends part of a line back (goods come back at cost)
    ret = rng.random(n_l) < c.return_rate[lc]
    r_n = int(ret.sum())
    r_qty = -np.ceil(qty[ret] * rng.uniform(0.3, 1.0, r_n))
    frac = r_qty / qty[ret]
    end_day = (month0 + np.timedelta64(months, "M")).astype("datetime64[D]") - 1
    r_dates = np.minimum(dates[ret] + rng.integers(5, 60, r_n).astype("timedelta64[D]"), end_day)

    # the rows of the batch in date order (then order and line number): dates close together
    # share storage blocks. An order's lines are consecutive and numbered from 1, and the return
    # orders (one line each) are numbered after the batch's orders, so a stable sort of the
    # orders by date (a radix sort of 16-bit day numbers) orders the lines too
    o_all_date = np.concatenate([o_date, r_dates]).astype("datetime64[D]").astype(np.int64)
    o_all_date -= o_all_date.min(initial=0)
    by_date = np.argsort(o_all_date.astype(np.int16) if o_all_date.max(initial=0) < 2**15 else o_all_date,
                         kind="stable")
    o_lines = np.concatenate([n_lines, np.ones(r_n, dtype=np.int64)])[by_date]
    o_first = np.concatenate([starts, n_l + np.arange(r_n)])[by_date]
    o = np.repeat(o_first - (np.cumsum(o_lines) - o_lines), o_lines) + np.arange(n_l + r_n)
    cols = {
        "order": np.repeat(by_date, o_lines),  # order index in the batch (order number - order_base)
        "line_no": np.concatenate([line_no, np.ones(r_n, dtype=np.int64)])[o],
        "order_date": np.concatenate([dates, r_dates]).astype("datetime64[D]")[o],
        "cust": np.concatenate([o_cust[l_order], o_cust[l_order][ret]])[o],  # index in idx
    }
    for name, values in (("prod", prod), ("unit_price", unit_price)):
        cols[name] = np.concatenate([values, values[ret]])[o]
    cols["quantity"] = np.concatenate([qty, r_qty])[o]
    for name, values in (("discount", discount), ("revenue", revenue), ("cost", cost)):
        cols[name] = np.concatenate([values, np.round(values[ret] * frac, 2)])[o]
    # ids: each distinct one built once, then taken per row
    cust_ids = _ids("C", idx + 1, 6)
    lines = pa.table({
        "order_id": _ids("O", order_base + np.arange(n_orders + r_n), 9).take(cols["order"]),
        "line_no": pa.array(cols["line_no"], pa.int32()),
        "order_date": pa.array(cols["order_date"], pa.date32()),
        "customer_id": cust_ids.take(cols["cust"]),
        "product_id": _ids("P", np.arange(len(products["list_price"])) + 1, 4).take(cols["prod"]),
        "quantity": cols["quantity"],
        "unit_price": cols["unit_price"],
        "discount": cols["discount"],
        "revenue": cols["revenue"],
        "cost": cols["cost"],
    })

    # cost-to-serve per customer-month, from the orders and revenue generated above
    k = len(idx)
    cm_key = o_cust * months + o_month
    orders_cm = np.bincount(cm_key, minlength=k * months).reshape(k, months)
    rev_cm = np.bincount(
        o_cust[l_order] * months + o_month[l_order], weights=revenue, minlength=k * months
    ).reshape(k, months)
    active = _activity(c, idx, months, moy) > 0
    size = c.size[idx, None]
    f = c.cts_factor[idx, None]
    visits = np.where(active, CTS_VISIT_BASE * (size / 1e5) ** 0.3 * f, 0.0)
    support = np.where(active, CTS_SUPPORT_FIXED * f + CTS_SUPPORT_RATE * f * np.maximum(rev_cm, 0), 0.0)
    logistics = (orders_cm * CTS_LOGISTICS_PER_ORDER + CTS_LOGISTICS_RATE * np.maximum(rev_cm, 0)) * f
    rebate_type = np.isin(np.array(list(CUSTOMER_TYPE_MIX))[c.type_idx[idx]], ["distributor", "wholesaler"])
    rebate_rate = np.where(c.loss_maker[idx], 2.0, 1.0) * CTS_REBATE_RATE * rebate_type
    q_rev = np.zeros_like(rev_cm)
    for m in range(months):
        if moy[m] in (2, 5, 8, 11):  # quarter end: rebate on the quarter's revenue
            q_rev[:, m] = rev_cm[:, max(0, m - 2) : m + 1].sum(axis=1)
    rebates = np.maximum(q_rev, 0) * rebate_rate[:, None]
    cts_parts = []
    cts_cm = np.zeros((k, months))  # the customer-month's cost-to-serve rows added up
    for ct, arr in zip(schema.COST_TYPES, (visits, support, logistics, rebates)):
        ci, mi = np.nonzero(arr > 0.005)
        amount = np.round(arr[ci, mi], 2)
        cts_parts.append(pa.table({
            "customer_id": cust_ids.take(ci),
            "month": pa.array((month0 + mi.astype("timedelta64[M]")).astype("datetime64[D]"), pa.date32()),
            "cost_type": _repeat(ct, len(ci)),
            "amount": amount,
        }))
        cts_cm[ci, mi] += amount
    has_cts = np.zeros((k, months), dtype=bool)
    for arr in (visits, support, logistics, rebates):
        has_cts |= arr > 0.005
    staged = _staged_months(cols, idx, month0, months, k, has_cts.ravel(), cts_cm.ravel())
    return lines, pa.concat_tables(cts_parts), staged, n_orders + r_n


STAGED_SCHEMA = pa.schema([("cust", pa.int32())]  # the customer's index (its id is C<cust + 1>)
                          + [(c, pa.float64())
                             for c in ("revenue", "cost", "discount", "returns", "cost_to_serve")]
                          + [(c, pa.int64()) for c in ("orders", "order_days", "lines")]
                          + [(c, pa.date32()) for c in ("first_order_date", "last_order_date")])


def _staged_months(cols, idx, month0, months, k, has_cts, cts_cm) -> list[pa.RecordBatch]:
    """The batch's totals per customer and month, as ``store.derive`` would add them up from its
    order lines and cost-to-serve rows: one row per customer-month with a line or a
    cost-to-serve row (``STAGED_SCHEMA``), one record batch per month, customers ascending.
    Every line of an order has the order's date, so the orders and the order days of a
    customer-month are counted per order."""
    g = k * months
    day = cols["order_date"]
    m = (day.astype("datetime64[M]") - month0).astype(np.int64)
    key = cols["cust"] * months + m  # customer (in the batch) x month of every line
    revenue = cols["revenue"]
    lines = np.bincount(key, minlength=g)
    sums = {name: np.bincount(key, weights=w, minlength=g) for name, w in (
        ("revenue", revenue), ("cost", cols["cost"]), ("discount", cols["discount"]),
        ("returns", np.where(revenue < 0, -revenue, 0.0)))}
    first = np.ones(len(key), dtype=bool)  # the first line of every order (lines are in order)
    first[1:] = cols["order"][1:] != cols["order"][:-1]
    o_key, o_day = key[first], day[first].astype(np.int64)
    orders = np.bincount(o_key, minlength=g)
    dom = (day[first] - day[first].astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    seen = np.zeros(g * 32, dtype=bool)
    seen[o_key * 32 + dom] = True
    order_days = seen.reshape(g, 32).sum(axis=1)
    lo = np.full(g, np.iinfo(np.int64).max)
    hi = np.full(g, np.iinfo(np.int64).min)
    np.minimum.at(lo, o_key, o_day)
    np.maximum.at(hi, o_key, o_day)
    # month-major: position month * k + customer of the (k x months) grid
    mm = np.flatnonzero(((lines > 0) | has_cts).reshape(k, months).T.ravel())
    rows = (mm % k) * months + mm // k  # the same cells in the customer-major arrays
    bounds = np.searchsorted(mm // k, np.arange(months + 1))
    none = lines[rows] == 0
    t = pa.table({
        "cust": (idx[rows // months]).astype(np.int32),
        **{name: sums[name][rows] for name in ("revenue", "cost", "discount", "returns")},
        "cost_to_serve": cts_cm[rows],
        "orders": orders[rows],
        "order_days": order_days[rows],
        "lines": lines[rows],
        "first_order_date": pa.array(lo[rows].astype(np.int32), pa.int32(), mask=none).cast(pa.date32()),
        "last_order_date": pa.array(hi[rows].astype(np.int32), pa.int32(), mask=none).cast(pa.date32()),
    }, schema=STAGED_SCHEMA).combine_chunks()
    rb = t.to_batches()[0] if len(t) else pa.RecordBatch.from_pylist([], schema=STAGED_SCHEMA)
    return [rb.slice(bounds[i], bounds[i + 1] - bounds[i]) for i in range(months)]


class _StagedFiles:
    """The demo's totals per customer and month, kept on disk until derive has read them: one
    Arrow IPC file per batch of customers, with one record batch per month (so a month is
    read from every file without reading the rest). About 80 bytes per
    customer-month (4 GB at 100M order lines), in a directory next to the database."""

    def __init__(self, directory: Path, customers: pa.Table, month0, months: int):
        self.dir, self.paths = directory, []
        self.month0, self.n_months = month0, months
        self.attrs = customers.select(["customer_id", "region", "customer_type", "sector",
                                       "account_manager"]).combine_chunks()
        # the rows of a month come out in customer_id order (C1000000 sorts before C999999)
        ids = self.attrs["customer_id"]
        order = pc.sort_indices(ids).to_numpy()
        self.rank = None  # position of each customer in customer_id order (None: its index)
        self.sorted_ids = ids
        if not np.array_equal(order, np.arange(len(order))):
            self.rank = np.empty(len(order), dtype=np.int64)
            self.rank[order] = np.arange(len(order))
            self.sorted_ids = ids.take(order)

    def write(self, bi: int, batches: list[pa.RecordBatch]) -> None:
        path = self.dir / f"batch-{bi:06d}.arrow"
        with pa.ipc.new_file(str(path), STAGED_SCHEMA) as w:
            for b in batches:
                w.write_batch(b)
        self.paths.append(path)

    def months(self, keyed: bool = False):
        """customer_month of each month in customer_id order (``store.StagedMonths.months``);
        ``keyed``: without the strings, with "key", the customer's position in customer_id
        order (``store.StagedMonths.keyed_months``)."""
        # plain reads, not memory maps: pages of a map count in the process's resident memory
        # until it is closed (+4 GB at 100M order lines); a read month is freed once written
        files = [pa.OSFile(str(p)) for p in sorted(self.paths)]
        try:
            yield from self._months(files, keyed)
        finally:
            for f in files:
                f.close()

    def _months(self, files, keyed: bool):
        readers = [pa.ipc.open_file(f) for f in files]
        for m in range(self.n_months):
            t = pa.Table.from_batches([r.get_batch(m) for r in readers], schema=STAGED_SCHEMA)
            t = t.combine_chunks()
            cust = t["cust"].to_numpy()
            key = cust if self.rank is None else self.rank[cust]
            if self.rank is not None:
                o = np.argsort(key, kind="stable")
                t, cust, key = t.take(o), cust[o], key[o]
            revenue, cost, cts = (t[c].to_numpy() for c in ("revenue", "cost", "cost_to_serve"))
            month = (self.month0 + np.timedelta64(m, "M")).astype("datetime64[D]")
            if keyed:
                out = {"key": key.astype(np.int32)}
            else:
                out = {"customer_id": self.attrs["customer_id"].take(cust)}
            out["month"] = pa.array(np.full(len(t), month), pa.date32())
            if not keyed:
                for c in schema.DIMENSIONS:
                    out[c] = self.attrs[c].take(cust)
            out.update(revenue=revenue, cost=cost, gross_profit=revenue - cost, discount=t["discount"],
                       returns=t["returns"], cost_to_serve=cts, account_profit=revenue - cost - cts)
            for c in ("orders", "order_days", "lines", "first_order_date", "last_order_date"):
                out[c] = t[c]
            yield pa.table(out)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def generate(
    con: duckdb.DuckDBPyConnection,
    customers: int = DEFAULT_CUSTOMERS,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    lines: int | None = None,
    end: date = DEFAULT_END,
) -> str:
    """Fill the canonical source tables of ``con`` with demo data. Returns customer_month as
    ``store.StagedMonths``: numpy has the totals per customer and month at hand as it draws the
    lines, so ``store.derive`` neither adds up the order lines again nor sorts its result."""
    if customers < 50:
        raise ValueError("the demo needs at least 50 customers")
    if not 1 <= years <= 20:
        raise ValueError("years must be between 1 and 20")
    months = 12 * years
    target_lines = lines or int(customers * years * LINES_PER_CUSTOMER_YEAR)
    rng = np.random.default_rng([seed, 0])
    month0 = _month_starts(end, months)[0]
    moy = (month0.astype(np.int64) + np.arange(months)) % 12
    c = _draw_customers(customers, months, rng)
    cust_table, labels = _customer_table(c, months, month0, rng)
    con.execute("INSERT INTO customers SELECT * FROM cust_table")

    prows = _products(rng)
    cat_counts = np.array([cat[3] for cat in CATEGORIES])
    cat_offsets = np.concatenate([[0], np.cumsum(cat_counts)[:-1]])
    products = {
        "list_price": np.array([r[5] for r in prows]),
        "unit_cost": np.array([r[6] for r in prows]),
    }
    prod_table = pa.table({
        "product_id": [f"P{i + 1:04d}" for i in range(len(prows))],
        "name": [r[2] for r in prows],
        "name_zh": [r[3] for r in prows],
        "category": [r[4] for r in prows],
        "list_price": products["list_price"],
        "unit_cost": products["unit_cost"],
    })
    con.execute("INSERT INTO products SELECT * FROM prod_table")
    con.executemany("INSERT INTO value_labels VALUES (?, ?, ?, ?)", labels)

    # calibrate the order rate so that the expected number of lines hits the target
    expected = 0.0
    for b0 in range(0, customers, BATCH_CUSTOMERS):
        idx = np.arange(b0, min(customers, b0 + BATCH_CUSTOMERS))
        lam = _activity(c, idx, months, moy)
        expected += float((lam.sum(axis=1) * (1 + c.lines_mu[idx])).sum())
    scale = target_lines / expected / (1 + float(np.mean(c.return_rate)))

    starts = range(0, customers, BATCH_CUSTOMERS)
    db_file = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                          ).fetchall()[0][0]
    staged = _StagedFiles(Path(tempfile.mkdtemp(prefix=".kamdash-months-",
                                                dir=Path(db_file).parent if db_file else None)),
                          cust_table, month0, months)

    def make(bi: int, order_base: int):
        """Batch ``bi`` (its totals per customer-month written to disk) and the order number
        the next batch starts at."""
        idx = np.arange(starts[bi], min(customers, starts[bi] + BATCH_CUSTOMERS))
        lines_b, cts_b, staged_b, used = _batch(c, idx, months, month0, moy, scale, products, cat_offsets,
                                                cat_counts, np.random.default_rng([seed, bi + 1]), order_base)
        staged.write(bi, staged_b)
        return lines_b, cts_b, order_base + used

    # batch i+1 is drawn (numpy, in a thread) while DuckDB writes batch i: the two overlap on
    # two cores; batches are written in order, so the tables are the same as drawn one by one
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamdash-demo") as pool:
            pending = pool.submit(make, 0, 1)
            for bi in range(len(starts)):
                batch_lines, batch_cts, next_base = pending.result()
                if bi + 1 < len(starts):
                    pending = pool.submit(make, bi + 1, next_base)
                _insert(con, "order_lines", batch_lines)
                _insert(con, "cost_to_serve", batch_cts)
                del batch_lines, batch_cts
    except BaseException:
        staged.close()
        raise
    return store.StagedMonths(staged.months, staged.close, customer_ids=staged.sorted_ids,
                              keyed_months=lambda: staged.months(keyed=True))


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    con.register("demo_batch", rows)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM demo_batch")
    finally:
        con.unregister("demo_batch")


def build_demo(
    path: Path | str,
    customers: int = DEFAULT_CUSTOMERS,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    lines: int | None = None,
    currency: str = "CNY",
) -> dict:
    """Build a demo sales database at ``path`` (atomically). Returns meta and timing."""
    t0 = time.perf_counter()
    meta = store.build_sales_db(
        path,
        lambda con: generate(con, customers=customers, years=years, seed=seed, lines=lines),
        source=f"demo customers={customers} years={years} seed={seed}"
        + (f" lines={lines}" if lines else ""),
        currency=currency,
    )
    return {**meta, "seconds": round(time.perf_counter() - t0, 2)}
