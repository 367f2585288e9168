"""A saved what-if scenario as numbers: its stored settings and results read defensively.

Shared by the scenario slides of the storyline (kamdash.views.present) and the What-if page's
comparison; ``kamdash.ui.scenario_text`` puts a scenario in business words (what was changed,
for whom, at what cost, and what it is worth). ``params`` is a stored ``whatif.Params`` JSON and
``results`` the numbers of ``whatif.evaluate`` (stored with the scenario or recomputed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


def as_number(x) -> float | None:
    """``x`` as a float, None when it is missing, not a number or NaN."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v else None


def _loads(x) -> dict:
    if isinstance(x, dict):
        return x
    try:
        out = json.loads(x) if x else {}
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def scenario_numbers(results) -> dict[str, tuple[float, float]]:
    """{measure: (before, after)} for measure in equity and profit, from a stored results JSON.

    Read defensively: flat keys ``<m>_before`` / ``<m>_after`` (what ``whatif.evaluate`` returns),
    possibly nested one level (e.g. under ``result``), or ``before`` / ``after`` dicts with
    ``<m>`` keys; ``account_profit`` counts as profit. Measures not found are left out."""
    res = _loads(results)
    dicts = [res] + [v for v in res.values() if isinstance(v, dict)]
    out = {}
    for m, aliases in (("equity", ("equity", "customer_equity")),
                       ("profit", ("profit", "account_profit", "profit_per_year"))):
        for d in dicts:
            found = None
            for a in aliases:
                b, c = as_number(d.get(f"{a}_before")), as_number(d.get(f"{a}_after"))
                if b is None and isinstance(d.get("before"), dict):
                    b, c = as_number(d["before"].get(a)), as_number(_loads(d.get("after")).get(a))
                if b is not None and c is not None:
                    found = (b, c)
                    break
            if found:
                out[m] = found
                break
    return out


@dataclass(frozen=True)
class Scenario:
    name: str
    numbers: dict  # scenario_numbers: {equity|profit: (before, after)}; empty: nothing stored to show
    params: dict  # the stored whatif.Params
    results: dict  # the stored results, flattened one level, with the measures as found


def scenario(saved: dict) -> Scenario:
    """``saved``: a row of the user table ``scenarios`` (name, params, results; JSON text or
    parsed)."""
    name = str(saved.get("name") or saved.get("scenario_id", ""))
    nums = scenario_numbers(saved.get("results"))
    params, results = _loads(saved.get("params")), _loads(saved.get("results"))
    flat = {**{k: v for d in [v for v in results.values() if isinstance(v, dict)] for k, v in d.items()}, **results}
    for m, (b, a) in nums.items():  # the measures as found, whatever the stored layout
        flat[f"{m}_before"], flat[f"{m}_after"] = b, a
    return Scenario(name, nums, params, flat)


def read_scenarios(user_db) -> dict[str, dict]:
    """Saved scenarios of the user database by id (name, params, results parsed; newest first).
    Empty when the database or the table does not exist yet."""
    from pathlib import Path

    from kamdash import store

    if user_db is None or not Path(user_db).exists():
        return {}
    rows = store._with_user_db(user_db, lambda con: con.execute(  # noqa: SLF001
        "SELECT scenario_id, name, params, results, created_at FROM scenarios "
        "ORDER BY created_at DESC, scenario_id").fetchall())
    return {r[0]: {"scenario_id": r[0], "name": r[1], "params": _loads(r[2]), "results": _loads(r[3]),
                   "created_at": r[4]} for r in rows}
