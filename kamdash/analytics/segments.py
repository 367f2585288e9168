"""Data-driven customer segments: a scikit-learn Pipeline over customer features.

Input is the features frame of ``Engine.customer_features`` (one row per customer: customer_id
and the feature columns recency, frequency, revenue, gross_profit, account_profit, margin,
growth, breadth, tenure, regularity). The pipeline is

    transform (signed log for skewed money/count features, clipping for ratios)
    -> StandardScaler -> KMeans (default) or GaussianMixture

with a fixed ``random_state``. Segments are numbered 1..k by mean revenue per customer,
highest first, so numbers, colours and names do not jump between reruns. scikit-learn is
imported inside the functions (app start-up stays fast).

Growth is clustered as ``growth.symmetric_change`` of revenue_last12 against revenue_prev12
(bounded, defined for new accounts) when those columns are present; what a profile shows is
growth itself (``growth.group_growth`` of the segment's sums). A segment's account margin is
the ratio of its sums (account profit / revenue), never a mean of its customers' margins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamdash.analytics import growth as growth_rule

FEATURES = ("recency", "frequency", "revenue", "gross_profit", "account_profit", "margin",
            "growth", "breadth", "tenure", "regularity")
# Product breadth is not a default: it is the one feature that needs a pass over order_lines
# (slow for many customers); pick it when it matters.
DEFAULT_FEATURES = ("recency", "frequency", "revenue", "margin", "growth")
# Heavy-tailed features get a signed log; ratios are clipped to a sensible range instead.
LOG_FEATURES = ("recency", "frequency", "revenue", "gross_profit", "account_profit", "breadth",
                "tenure")
CLIP = {"margin": (-1.0, 1.0), "growth": (-2.0, 2.0), "regularity": (0.0, 1.0)}
METHODS = ("kmeans", "gmm")
RANDOM_STATE = 42
K_RANGE = (2, 8)  # k a user can choose, both included
# k the automatic choice picks from, both included: the silhouette score favours 2 on most
# customer data (one big "the rest" group against the large accounts), which names nothing a
# manager can act on; fewer than 4 groups are too coarse to work with, more than 8 too many.
AUTO_K_RANGE = (4, 8)
SILHOUETTE_SAMPLE = 3000  # silhouette is O(n^2): scored on a fixed random sample
K_SEARCH_SAMPLE = 10_000  # candidate k are fitted on a fixed random sample of this size
GMM_FIT_SAMPLE = 30_000
N_INIT = 1  # k-means++ start (scikit-learn's own default for it); 4 costs 3x the time
MAP_SAMPLE = 4000  # points drawn on the segment map at most
# Profile z-scores beyond which a feature names a segment
NAME_THRESHOLD = 0.5


def signed_log1p(x):
    """sign(x) * log(1 + |x|): tames heavy tails, keeps losses negative."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


def _clip(x, lo, hi):
    return np.clip(np.asarray(x, dtype=float), lo, hi)


def build_pipeline(features, k: int, method: str = "kmeans", random_state: int = RANDOM_STATE,
                   n_init: int = N_INIT):
    """The unfitted Pipeline: ("transform", ColumnTransformer) -> ("scale", StandardScaler) ->
    ("cluster", KMeans | GaussianMixture). ``features`` are column names of the frame it is fit
    on."""
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    parts = []
    logs = [f for f in features if f in LOG_FEATURES]
    if logs:
        parts.append(("log", FunctionTransformer(signed_log1p, feature_names_out="one-to-one"), logs))
    for f in features:
        if f in CLIP:
            lo, hi = CLIP[f]
            parts.append((f"clip_{f}", FunctionTransformer(_clip, kw_args={"lo": lo, "hi": hi},
                                                           feature_names_out="one-to-one"), [f]))
    other = [f for f in features if f not in LOG_FEATURES and f not in CLIP]
    if other:
        parts.append(("keep", "passthrough", other))
    transform = ColumnTransformer(parts, verbose_feature_names_out=False)
    if method == "kmeans":
        est = KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
    else:
        est = GaussianMixture(n_components=k, covariance_type="full", n_init=1,
                              random_state=random_state, reg_covar=1e-4)
    return Pipeline([("transform", transform), ("scale", StandardScaler()), ("cluster", est)])


def prepare(features: pd.DataFrame, columns) -> pd.DataFrame:
    """The feature columns used for fitting, missing values filled with the column median.
    ``growth`` is replaced by its bounded clustering variant when revenue_last12 and
    revenue_prev12 are in ``features`` (see module doc)."""
    X = features[list(columns)].astype(float)
    if "growth" in X and {"revenue_last12", "revenue_prev12"} <= set(features.columns):
        X["growth"] = growth_rule.symmetric_change(features["revenue_last12"].to_numpy(),
                                                   features["revenue_prev12"].to_numpy())
    return X.fillna(X.median()).fillna(0.0)


@dataclass
class SegmentResult:
    """A fitted segmentation.

    ``labels``: customer_id, segment (1..k, by mean revenue descending). ``silhouette``: k,
    silhouette, eligible (k in the automatic range; empty when k was given). ``k``: segments used; ``auto``: chosen by silhouette.
    ``pipeline``: the fitted Pipeline; ``embedding``: the scaled features (n x p) it clustered.
    """

    labels: pd.DataFrame
    k: int
    auto: bool
    method: str
    features: tuple
    silhouette: pd.DataFrame
    pipeline: object
    embedding: np.ndarray


def _fit_labels(pipe, X: pd.DataFrame, random_state: int = RANDOM_STATE,
                fit_sample: int = GMM_FIT_SAMPLE) -> np.ndarray:
    """Fit the pipeline and label every row. A GaussianMixture is fitted on a fixed random
    sample of ``fit_sample`` rows at most (full covariances are slow on 100k+ rows) and then
    labels all rows."""
    est = pipe.named_steps["cluster"]
    if hasattr(est, "n_clusters") or len(X) <= fit_sample:
        pipe.fit(X)
    else:
        rng = np.random.default_rng(random_state)
        pipe.fit(X.iloc[np.sort(rng.choice(len(X), size=fit_sample, replace=False))])
    return est.labels_ if hasattr(est, "labels_") and len(est.labels_) == len(X) else pipe.predict(X)


def silhouette_by_k(Z: np.ndarray, method: str = "kmeans", k_range=K_RANGE,
                    random_state: int = RANDOM_STATE, sample: int = SILHOUETTE_SAMPLE,
                    fit_sample: int = K_SEARCH_SAMPLE) -> pd.DataFrame:
    """Silhouette score of the clustering for each k in ``k_range`` (both ends included), on
    the already scaled features ``Z``. With more than ``fit_sample`` rows the candidates are
    fitted on a fixed random sample of that size; scores use ``sample`` of those rows.
    Columns: k, silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import pairwise_distances, silhouette_score
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(random_state)
    if len(Z) > fit_sample:
        Z = Z[np.sort(rng.choice(len(Z), size=fit_sample, replace=False))]
    idx = rng.choice(len(Z), size=min(sample, len(Z)), replace=False)
    dist = pairwise_distances(Z[idx].astype(np.float32))  # once, for every k
    rows = []
    for k in range(k_range[0], min(k_range[1], len(Z) - 1) + 1):
        if method == "kmeans":
            lab = KMeans(n_clusters=k, n_init=N_INIT, random_state=random_state).fit(Z).labels_
        else:
            lab = GaussianMixture(n_components=k, random_state=random_state, reg_covar=1e-4).fit(Z).predict(Z)
        sub = lab[idx]
        score = silhouette_score(dist, sub, metric="precomputed") if len(set(sub)) > 1 else float("nan")
        rows.append((k, float(score)))
    return pd.DataFrame(rows, columns=["k", "silhouette"])


def fit_segments(features: pd.DataFrame, columns=DEFAULT_FEATURES, k: int | None = None,
                 method: str = "kmeans", random_state: int = RANDOM_STATE,
                 k_range=AUTO_K_RANGE) -> SegmentResult:
    """Cluster customers into segments.

    ``features``: customer_id plus the ``columns`` (see module doc). ``k`` None chooses the k
    in ``k_range`` (default ``AUTO_K_RANGE``, narrowed when there are few customers) with the
    best silhouette. Segment numbers are ordered by mean ``revenue`` per
    customer, highest first (``revenue`` is read even when it is not a clustering feature).
    """
    columns = tuple(columns)
    if not columns:
        raise ValueError("choose at least one feature")
    X = prepare(features, columns)
    n = len(X)
    if n < 3:
        raise ValueError("too few customers to segment")
    sil = pd.DataFrame(columns=["k", "silhouette"])
    auto = k is None
    if auto:
        pre = build_pipeline(columns, 2, method, random_state)[:-1]
        Z = pre.fit_transform(X)
        lo = min(k_range[0], max(2, n - 1))  # few customers: the range starts lower
        sil = silhouette_by_k(Z, method, (min(K_RANGE[0], lo), k_range[1]), random_state)
        sil["eligible"] = sil["k"] >= lo
        ok = sil[sil["eligible"] & sil["silhouette"].notna()]
        k = int(ok.loc[ok["silhouette"].idxmax(), "k"]) if len(ok) else 2
    k = max(1, min(int(k), n))
    pipe = build_pipeline(columns, k, method, random_state)
    raw = _fit_labels(pipe, X, random_state)
    value = features["revenue"].to_numpy(dtype=float) if "revenue" in features else np.zeros(n)
    present = np.unique(raw)
    means = np.array([value[raw == c].mean() for c in present])
    sizes = np.array([(raw == c).sum() for c in present])
    order = present[np.lexsort((-sizes, -means))]
    remap = {int(c): i + 1 for i, c in enumerate(order)}
    labels = pd.DataFrame({"customer_id": features["customer_id"].to_numpy(),
                           "segment": np.array([remap[int(c)] for c in raw], dtype=np.int64)})
    Z = pipe[:-1].transform(X)
    return SegmentResult(labels, len(present), auto, method, columns, sil, pipe, np.asarray(Z))


def profiles(features: pd.DataFrame, result: SegmentResult) -> pd.DataFrame:
    """One row per segment: segment, customers, customer_share, total_revenue, value_share (of
    all revenue), total_account_profit (when ``features`` has account_profit), account_margin
    (total account profit / total revenue), loss_makers (customers with negative account profit), loss_share (their share
    of the segment's customers), new_accounts (no revenue a year before: they make a segment's
    growth large; when revenue_last12 / revenue_prev12 are present), then per clustering feature its segment value (``<feature>``)
    and its standardised mean in the clustered space (``z_<feature>``: 0 = average customer, +1
    = one standard deviation above).

    The segment value of a feature is the mean over its customers, except for ``margin`` (the
    segment's account margin, a ratio of sums: a mean of per-customer margins is dominated by
    tiny accounts with huge negative margins) and ``growth`` (``growth.group_growth`` of the
    segment's revenue_last12 and revenue_prev12 sums, when present)."""
    seg = result.labels["segment"].to_numpy()
    df = features[list(result.features)].astype(float).copy()
    rev = features["revenue"].astype(float).to_numpy()
    ap = features["account_profit"].astype(float).to_numpy() if "account_profit" in features else None
    has_12 = {"revenue_last12", "revenue_prev12"} <= set(features.columns)
    total = rev.sum()
    rows = []
    for s in sorted(np.unique(seg)):
        m = seg == s
        r = float(rev[m].sum())
        row = {"segment": int(s), "customers": int(m.sum()), "customer_share": m.mean(),
               "total_revenue": r, "value_share": float(r / total) if total else float("nan")}
        if ap is not None:
            row["total_account_profit"] = float(ap[m].sum())
            row["account_margin"] = row["total_account_profit"] / r if r > 0 else float("nan")
            row["loss_makers"] = int((ap[m] < 0).sum())
            row["loss_share"] = row["loss_makers"] / row["customers"]
        if has_12:
            row["new_accounts"] = int(growth_rule.is_new(features["revenue_last12"].to_numpy(dtype=float)[m],
                                                         features["revenue_prev12"].to_numpy(dtype=float)[m]).sum())
        for j, f in enumerate(result.features):
            if f == "margin" and ap is not None:
                v = row["account_margin"]
            elif f == "account_profit" and ap is not None:
                v = row["total_account_profit"] / row["customers"]
            elif f == "growth" and has_12:
                v = growth_rule.group_growth(float(features["revenue_last12"].to_numpy(dtype=float)[m].sum()),
                                             float(features["revenue_prev12"].to_numpy(dtype=float)[m].sum()))
            else:
                v = float(df.loc[m, f].mean())
            row[f] = v
            row[f"z_{f}"] = float(result.embedding[m, j].mean())
        rows.append(row)
    return pd.DataFrame(rows)


# Naming: which end of which feature describes a segment, in priority order after value.
TRAITS = (  # (feature, sign, token)
    ("recency", +1, "lapsing"),
    ("growth", +1, "growing"),
    ("growth", -1, "declining"),
    ("frequency", +1, "loyal"),
    ("regularity", +1, "loyal"),
    ("margin", -1, "low_margin"),
    ("account_profit", -1, "loss_making"),
    ("margin", +1, "high_margin"),
    ("tenure", -1, "new"),
    ("breadth", +1, "broad"),
    ("breadth", -1, "narrow"),
    ("recency", -1, "recent"),
    ("frequency", -1, "occasional"),
)


def name_tokens(profile: pd.DataFrame, threshold: float = NAME_THRESHOLD) -> dict[int, tuple[str, ...]]:
    """A descriptive name per segment as catalog tokens: a value level and up to two traits,
    e.g. ("value_high", "loyal").

    The level comes from the mean revenue rank (``value_high``, ``value_mid``, ``value_low``),
    but account profit has the last word: a segment whose summed account profit is negative is
    ``value_loss``, and one where at least half the customers lose money is never
    ``value_high`` and always carries the ``loss_making`` trait (a ``value_loss`` segment does
    not repeat it, nor ``low_margin``). Traits come from the
    standardised profile (``z_<feature>`` beyond ``threshold``, the first two in ``TRAITS``
    order: lapsing and growth matter most to a key-account manager). Names that would repeat
    get the segment number appended by the caller."""
    k = len(profile)
    out = {}
    for pos, (_, row) in enumerate(profile.sort_values("segment").iterrows()):
        level = "value_high" if pos < max(1, round(k / 3)) else (
            "value_low" if pos >= k - max(1, round(k / 3)) and k > 2 else "value_mid")
        if k == 2:
            level = "value_high" if pos == 0 else "value_low"
        losing = row.get("loss_share", 0.0) >= 0.5
        if row.get("total_account_profit", 0.0) < 0:
            level = "value_loss"
        elif losing and level == "value_high":
            level = "value_mid"
        scored = [(-1, "loss_making")] if losing and level != "value_loss" else []
        g = row.get("growth", np.nan)  # the growth shown: a name never contradicts it
        for rank, (feat, sign, token) in enumerate(TRAITS):
            z = row.get(f"z_{feat}")
            if feat == "growth" and not np.isnan(g) and sign * g <= 0:
                continue
            if z is not None and not np.isnan(z) and sign * z > threshold:
                scored.append((rank, token))
        traits = []
        for _, token in sorted(scored):
            if token not in traits and not (token in ("loss_making", "low_margin") and level == "value_loss"):
                traits.append(token)
            if len(traits) == 2:
                break
        out[int(row["segment"])] = (level, *traits)
    return out


def projection(result: SegmentResult, random_state: int = RANDOM_STATE):
    """2-D PCA of the clustered (scaled) features.

    Returns (coords, loadings, explained): coords n x 2; loadings DataFrame index = features,
    columns pc1, pc2; explained = variance ratio of the two axes."""
    from sklearn.decomposition import PCA

    Z = result.embedding
    n_comp = min(2, Z.shape[1])
    pca = PCA(n_components=n_comp, random_state=random_state).fit(Z)
    coords = pca.transform(Z)
    if n_comp == 1:
        coords = np.column_stack([coords[:, 0], np.zeros(len(coords))])
    comps = np.vstack([pca.components_, np.zeros((2 - n_comp, Z.shape[1]))])
    # orient each axis so that its largest loading is positive (stable direction across runs)
    for i in range(n_comp):
        j = np.argmax(np.abs(comps[i]))
        if comps[i, j] < 0:
            comps[i] *= -1
            coords[:, i] *= -1
    loadings = pd.DataFrame(comps.T, index=list(result.features), columns=["pc1", "pc2"])
    explained = list(pca.explained_variance_ratio_) + [0.0] * (2 - n_comp)
    return coords, loadings, explained


def axis_words(loadings: pd.Series, top: int = 2, min_share: float = 0.15) -> list[tuple[str, int]]:
    """The features that mostly make an axis: [(feature, +1 | -1)], largest first, up to ``top``,
    each carrying at least ``min_share`` of the axis' squared loadings."""
    sq = loadings**2
    share = sq / sq.sum() if sq.sum() else sq
    picked = share.sort_values(ascending=False).head(top)
    return [(f, 1 if loadings[f] >= 0 else -1) for f, s in picked.items() if s >= min_share] or \
        [(share.idxmax(), 1 if loadings[share.idxmax()] >= 0 else -1)]


def map_sample(labels: pd.DataFrame, n: int = MAP_SAMPLE, random_state: int = RANDOM_STATE) -> np.ndarray:
    """Row positions to draw on the segment map: everything when there are at most ``n``
    customers, else a random sample of ``n`` stratified by segment (every segment keeps at
    least a few points)."""
    total = len(labels)
    if total <= n:
        return np.arange(total)
    rng = np.random.default_rng(random_state)
    picks = []
    seg = labels["segment"].to_numpy()
    for s in np.unique(seg):
        idx = np.flatnonzero(seg == s)
        take = max(min(len(idx), 20), int(round(n * len(idx) / total)))
        picks.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    return np.sort(np.concatenate(picks))
