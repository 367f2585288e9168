"""Whitespace (cross-sell): what each account could buy that its peers already buy.

For account ``a`` and product category ``c`` over the last 12 months:

- ``size_a`` = the account's revenue over all categories (positive only);
- peers = accounts of the same segment when segments are stored, else of the same customer type
  and size band (quartiles of ``size`` over every account with positive size); a peer group
  needs at least MIN_PEERS accounts, otherwise no value is given;
- ``share_p,c = spend_p,c / size_p`` for every peer ``p``; ``penetration_g,c`` = share of the
  group's accounts with positive spend in ``c``; ``typical_g,c`` = median of ``share_p,c`` over
  the peers that buy ``c``;
- expected yearly revenue of a gap = ``size_a · penetration_g,c · typical_g,c``: what the account
  would spend in ``c`` if it bought like its peers on average (how often peers buy it, times how
  much of their spend it takes when they do).

A gap is a category the account did not buy in the last 12 months: **stopped buying** when it
bought it before, **never bought** otherwise. Peer norms depend on the data alone (every
account is a peer, whatever the filters); filters choose whose gaps are shown.
"""

from __future__ import annotations

import numpy as np

MIN_PEERS = 5
SIZE_BANDS = 4
BUYING, NEVER, STOPPED = 0, 1, 2


def size_bands(size: np.ndarray, bands: int = SIZE_BANDS) -> np.ndarray:
    """Band 0..bands-1 by quantiles of the positive sizes; -1 for size <= 0."""
    size = np.asarray(size, float)
    pos = size[size > 0]
    if not len(pos):
        return np.full(len(size), -1)
    cuts = np.quantile(pos, np.arange(1, bands) / bands)
    return np.where(size > 0, np.searchsorted(cuts, size, side="right"), -1)


def peer_groups(kind: np.ndarray, size: np.ndarray, segment: np.ndarray | None = None) -> np.ndarray:
    """Group code per account: the segment when given (``segment`` >= 0), else customer type
    code ``kind`` x size band; -1 when the account has no positive size or no group."""
    band = size_bands(size)
    group = np.where((kind >= 0) & (band >= 0), kind.astype(np.int64) * SIZE_BANDS + band, -1)
    if segment is not None:
        seg = np.asarray(segment, np.int64)
        group = np.where(seg >= 0, 1_000_000 + seg, group)
        group = np.where(band >= 0, group, -1)
    return group


def norms(spend: np.ndarray, size: np.ndarray, group: np.ndarray,
          min_peers: int = MIN_PEERS) -> tuple[np.ndarray, np.ndarray]:
    """(group codes, expected share of size per group and category: penetration · median share
    among buyers; NaN for groups under ``min_peers`` accounts). ``spend``: accounts x
    categories."""
    groups = np.unique(group[group >= 0])
    out = np.full((len(groups), spend.shape[1]), np.nan)
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    lo = np.searchsorted(g_sorted, groups, side="left")
    hi = np.searchsorted(g_sorted, groups, side="right")
    for i in range(len(groups)):
        rows = order[lo[i]:hi[i]]
        if len(rows) < min_peers:
            continue
        s = spend[rows]
        share = s / size[rows, None]
        buys = s > 0
        pen = buys.mean(axis=0)
        for c in range(spend.shape[1]):
            b = share[buys[:, c], c]
            out[i, c] = pen[c] * np.median(b) if len(b) else 0.0
    return groups, out


def gaps(spend: np.ndarray, before: np.ndarray, size: np.ndarray, group: np.ndarray,
         groups: np.ndarray, expected_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(status per account and category: BUYING, NEVER or STOPPED; expected yearly revenue of
    each gap, 0 where the account buys the category or no peer norm exists)."""
    status = np.where(spend > 0, BUYING, np.where(before > 0, STOPPED, NEVER)).astype(np.int8)
    gi = np.searchsorted(groups, group)
    ok = (group >= 0) & (gi < len(groups))
    ok[ok] = groups[gi[ok]] == group[ok]
    share = np.zeros_like(spend, dtype=float)
    if len(groups):
        share[ok] = np.nan_to_num(expected_share[gi[ok]])
    value = np.where(status != BUYING, np.maximum(size, 0.0)[:, None] * share, 0.0)
    return status, value
