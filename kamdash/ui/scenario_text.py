"""A what-if scenario in business words: what was changed, for whom, at what cost, and what it
is worth (customer equity and profit before and after, net gain, ROI, payback).

Shared by the scenario slides of the storyline (``kamdash.ui.present_text``) and the What-if
page's comparison table, so a scenario reads the same wherever it is shown. ``tx`` is any
``i18n.Localized`` (language, currency); ``params`` a stored ``whatif.Params`` JSON and
``results`` the numbers of ``whatif.evaluate`` (stored with the scenario or recomputed).
Plain Python: the exports and the command line use it without Streamlit.
"""

from __future__ import annotations

from kamdash import i18n
from kamdash.views.scenarios import as_number


def signed_money(tx, x: float) -> str:
    """+CN¥1.2M / −CN¥3.4K (a change of money, sign always shown)."""
    return ("+" if x >= 0 else "−") + tx.money(abs(x))


def whom(tx, params: dict) -> str:
    """The accounts a scenario applies to: "tier A accounts", "segment 2", "all customers"."""
    parts = [tx.t("wi.tier_label", tier=t) for t in params.get("target_tiers") or ()]
    parts += [str(s) for s in params.get("target_segments") or ()]
    parts += [tx.t(f"ka.type.{k}") for k in params.get("target_ka") or ()]
    if not parts:
        return tx.t("scn.whom.all")
    return tx.t("scn.and").join(parts)


def changes(tx, params: dict) -> list[str]:
    """What the scenario changes, one phrase each (defection, margin, new customers)."""
    out = []
    pts = as_number(params.get("defection_pts")) or 0.0
    if pts:
        n = i18n.fmt_number(round(abs(pts), 1), tx.lang)
        out.append(tx.t("scn.change.less_defection" if pts < 0 else "scn.change.more_defection", n=n))
    margin = as_number(params.get("margin_pct")) or 0.0
    if margin:
        out.append(tx.t("scn.change.margin", pct=i18n.fmt_delta_pct(margin / 100, tx.lang)))
    new = int(as_number(params.get("new_customers")) or 0)
    if new:
        out.append(tx.t("scn.change.new", n=i18n.fmt_number(new, tx.lang)))
    return out or [tx.t("scn.change.none")]


def cost_text(tx, params: dict, results: dict) -> str:
    cost = as_number(params.get("cost")) or 0.0
    if not cost:
        return tx.t("scn.cost.none")
    pv = as_number(results.get("programme_cost_pv"))
    key = "scn.cost.total" if params.get("cost_mode") == "total" else "scn.cost.per_customer"
    text = tx.t(key, cost=tx.money(cost))
    return text if pv is None else text + tx.t("scn.cost.pv", pv=tx.money(pv))


def payback_text(tx, results: dict) -> str | None:
    if "payback_years" not in results:
        return None
    pb = results.get("payback_years")
    if pb is None:
        return tx.t("wi.payback.none")
    if not pb:
        return None
    return tx.t("scn.payback.one") if int(pb) == 1 else tx.t("scn.payback.years", n=int(pb))


def roi_text(tx, results: dict) -> str | None:
    roi = as_number(results.get("roi"))
    return None if roi is None else i18n.fmt_pct(roi, tx.lang, digits=0)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def headline(tx, params: dict, results: dict) -> str:
    """One sentence: the change, for whom, and what it adds to customer equity (else profit)."""
    return _sentence(_headline(tx, params, results))


def _headline(tx, params: dict, results: dict) -> str:
    what = tx.t("scn.and").join(changes(tx, params))
    for m in ("equity", "profit"):
        b, a = as_number(results.get(f"{m}_before")), as_number(results.get(f"{m}_after"))
        if b is not None and a is not None:
            pct = i18n.fmt_delta_pct((a - b) / abs(b), tx.lang) if b else "–"
            return tx.t(f"scn.headline.{m}", what=what, whom=whom(tx, params), delta=signed_money(tx, a - b), pct=pct)
    return tx.t("scn.headline.none", what=what, whom=whom(tx, params))


def bullets(tx, params: dict, results: dict) -> list[str]:
    """The slide's lines: what changes for whom, the cost, equity and profit before → after,
    the net gain, ROI and payback (a line is left out when its number is not known)."""
    out = [tx.t("scn.line.change", what=tx.t("scn.and").join(changes(tx, params)), whom=whom(tx, params)),
           tx.t("scn.line.cost", cost=cost_text(tx, params, results))]
    for m in ("equity", "profit"):
        b, a = as_number(results.get(f"{m}_before")), as_number(results.get(f"{m}_after"))
        if b is not None and a is not None:
            out.append(tx.t(f"scn.line.{m}", before=tx.money(b), after=tx.money(a), delta=signed_money(tx, a - b)))
    net = as_number(results.get("net_value"))
    if net is not None and as_number(params.get("cost")):
        out.append(tx.t("scn.line.net", net=signed_money(tx, net)))
    roi, pb = roi_text(tx, results), payback_text(tx, results)
    if roi is not None:
        out.append(tx.t("scn.line.roi", roi=roi, payback=pb or "–"))
    return out


def assumptions(tx, params: dict) -> str:
    """The valuation settings, as a sentence (for notes and the comparison)."""
    d = as_number(params.get("discount"))
    h = int(as_number(params.get("horizon")) or 0)
    rate = i18n.fmt_pct(d or 0.0, tx.lang, digits=0)
    return tx.t("scn.assumptions.years", d=rate, n=h) if h else tx.t("scn.assumptions.unlimited", d=rate)
