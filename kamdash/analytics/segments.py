"""Data-driven customer segments: a scikit-learn Pipeline over customer features.

Input is the features frame of ``queries.customer_features`` (one row per customer: customer_id
and the feature columns recency, frequency, revenue, gross_profit, account_profit, margin,
growth, breadth, tenure, regularity). The pipeline is

    transform (signed log for skewed money/count features, clipping for ratios)
    -> StandardScaler -> KMeans (default) or GaussianMixture

with a fixed ``random_state``. Segments are numbered 1..k by mean revenue per customer,
highest first, so numbers, colours and names do not jump between reruns. scikit-learn is
imported inside the functions (app start-up stays fast).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
K_RANGE = (2, 8)  # candidate k for the automatic choice, both included
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
    """The feature columns used for fitting, missing values filled with the column median."""
    X = features[list(columns)].astype(float)
    return X.fillna(X.median()).fillna(0.0)


@dataclass
class SegmentResult:
    """A fitted segmentation.

    ``labels``: customer_id, segment (1..k, by mean revenue descending). ``silhouette``: k,
    silhouette (empty when k was given). ``k``: segments used; ``auto``: chosen by silhouette.
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
                 k_range=K_RANGE) -> SegmentResult:
    """Cluster customers into segments.

    ``features``: customer_id plus the ``columns`` (see module doc). ``k`` None chooses k in
    ``k_range`` with the best silhouette. Segment numbers are ordered by mean ``revenue`` per
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
        sil = silhouette_by_k(Z, method, k_range, random_state)
        k = int(sil.loc[sil["silhouette"].idxmax(), "k"]) if sil["silhouette"].notna().any() else 2
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
    """One row per segment: segment, customers, customer_share, revenue (sum), value_share,
    then the mean of each clustering feature (``<feature>``) and its standardised mean in the
    clustered space (``z_<feature>``: 0 = average customer, +1 = one standard deviation above).
    """
    seg = result.labels["segment"].to_numpy()
    df = features[list(result.features)].astype(float).copy()
    rev = features["revenue"].astype(float).to_numpy()
    total = rev.sum()
    rows = []
    for s in sorted(np.unique(seg)):
        m = seg == s
        row = {"segment": int(s), "customers": int(m.sum()), "customer_share": m.mean(),
               "revenue": float(rev[m].sum()),
               "value_share": float(rev[m].sum() / total) if total else float("nan")}
        for j, f in enumerate(result.features):
            row[f] = float(df.loc[m, f].mean())
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
    """A descriptive name per segment as catalog tokens: a value level (``value_high``,
    ``value_mid``, ``value_low``, from mean revenue rank) and up to two traits from the
    standardised profile (``z_<feature>`` beyond ``threshold``, the first two in ``TRAITS``
    order: lapsing and growth matter most to a key-account manager), e.g. ("value_high", "loyal").
    Names that would repeat get the segment number appended by the caller."""
    k = len(profile)
    out = {}
    for pos, (_, row) in enumerate(profile.sort_values("segment").iterrows()):
        level = "value_high" if pos < max(1, round(k / 3)) else (
            "value_low" if pos >= k - max(1, round(k / 3)) and k > 2 else "value_mid")
        if k == 2:
            level = "value_high" if pos == 0 else "value_low"
        scored = []
        for rank, (feat, sign, token) in enumerate(TRAITS):
            z = row.get(f"z_{feat}")
            if z is not None and not np.isnan(z) and sign * z > threshold:
                scored.append((rank, token))
        traits = []
        for _, token in sorted(scored):
            if token not in traits:
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
