"""AppTest: every list a manager is shown on Concentration, My accounts and Present (tables,
top-N, loss-makers and their peers, tier lists, slide tables, chart labels) and every table
download names only accounts in the manager's scope.

The accounts outside the scope are read from the customers table directly, not through kamdash;
a page passes when no ID and no name of theirs appears anywhere in what it sent (text,
tables, chart specs) or in the frames its CSV / Excel buttons would write."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from kamdash.views import present as present_view
from tests.pages.conftest import page
from tests.pages.test_team_mode import MANAGER, team
from tests.pages.test_team_scope import scoped  # noqa: F401 - the fixture

ID = re.compile(r"\bC\d{6}\b")  # the demo's customer IDs


@pytest.fixture
def outside(scoped):  # noqa: F811
    """(mine, other ids, other names): the manager's customer IDs, and the IDs and names of
    every customer outside their book (names that one of theirs also bears are left out)."""
    _, db, _ = scoped
    con = duckdb.connect(str(db), read_only=True)
    try:
        cu = con.sql("SELECT customer_id, name, name_zh, account_manager FROM customers").df()
    finally:
        con.close()
    mine = cu[cu["account_manager"] == MANAGER]
    other = cu[cu["account_manager"] != MANAGER]
    names = (set(other["name"]) | set(other["name_zh"].dropna())) - set(mine["name"]) - set(mine["name_zh"].dropna())
    return set(mine["customer_id"]), set(other["customer_id"]), {n for n in names if n}


@pytest.fixture
def downloads(monkeypatch):
    """The frames every table's CSV / Excel buttons would write (kamdash.ui.components)."""
    from kamdash.ui import components

    frames = []
    real = components.table_downloads

    def record(ctx, df, key, name, where=None):
        frames.append((key, df.copy()))
        return real(ctx, df, key, name, where)

    monkeypatch.setattr(components, "table_downloads", record)
    return frames


def _sent(at) -> list[str]:
    """Every piece of text the run sent: markdown, captions, alerts, metrics, table cells, the
    labels of widgets, chart specs (hover text and labels included)."""
    out = []
    for kind in ("markdown", "caption", "text", "info", "warning", "error", "success", "title",
                 "header", "subheader"):
        out += [str(e.value) for e in at.get(kind)]
    out += [f"{m.label} {m.value}" for m in at.metric]
    for df in at.dataframe:
        v = df.value
        out += [str(c) for c in v.columns]
        out += [str(x) for col in v.columns for x in v[col].tolist()]
    for chart in at.get("plotly_chart"):
        out.append(json.dumps(json.loads(chart.proto.spec), ensure_ascii=False))
    for kind in ("selectbox", "multiselect", "radio"):
        for w in at.get(kind):
            out += [str(o) for o in w.options]
    return out


def _frames_text(frames) -> list[str]:
    return [str(x) for _, df in frames for col in df.columns for x in df[col].tolist()]


def _assert_within(texts: list[str], outside, where: str) -> int:
    """No ID or name of an account outside the scope in ``texts``; returns how many IDs of the
    manager's own accounts were seen (a list that names nobody would pass vacuously)."""
    mine, other_ids, other_names = outside
    blob = "\n".join(texts)
    ids = set(ID.findall(blob))
    leaked = ids & other_ids
    assert not leaked, f"{where}: accounts outside the scope named: {sorted(leaked)[:5]}"
    cells = set(texts)
    named = {n for n in other_names if n in cells or (len(n) > 6 and n in blob)}
    assert not named, f"{where}: accounts outside the scope named: {sorted(named)[:5]}"
    return len(ids & mine)


def test_concentration_lists_only_the_managers_accounts(scoped, outside, downloads):
    as_, _, _ = scoped
    as_("li@example.com")
    at = team(page("pages/concentration.py")).run()
    assert not at.exception
    _assert_within(_sent(at), outside, "concentration")
    # every group's account list (loss-makers included) and the top N of the drill-down
    for pick in at.segmented_control(key="drill").options[1:]:
        at.segmented_control(key="drill").set_value(pick).run()
        assert not at.exception
        _assert_within(_sent(at), outside, f"concentration drill {pick}")
    seen = _assert_within(_frames_text(downloads), outside, "concentration downloads")
    assert seen > 0 and {"dl", "worst", "top_accounts"} & {k for k, _ in downloads}


def test_my_accounts_lists_only_the_managers_accounts(scoped, outside, downloads):
    as_, _, _ = scoped
    as_("li@example.com")
    at = team(page("pages/my_accounts.py")).run()
    assert not at.exception
    assert _assert_within(_sent(at), outside, "my accounts") > 0
    assert _assert_within(_frames_text(downloads), outside, "my accounts downloads") > 0
    assert len(downloads) >= 3


def test_present_slides_list_only_the_managers_accounts(scoped, outside):
    as_, _, _ = scoped
    as_("li@example.com")
    at = team(page("pages/present.py")).run()
    order = [*present_view.SLIDES, *present_view.OPTIONAL]
    at.multiselect(key="present_order").set_value(order).run()
    seen = tables = 0
    for i in range(len(order)):
        at.selectbox(key="present_slide").set_value(i).run()
        assert not at.exception, order[i]
        seen += _assert_within(_sent(at), outside, f"slide {order[i]}")
        tables += len(at.dataframe)
    assert seen > 0 and tables >= 3  # the whale, health and whitespace slides list accounts
