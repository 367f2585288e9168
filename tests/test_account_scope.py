"""Account 360 within a user's scope: the group and referral lists and the linked accounts of
the profile never name an account outside the scope (they are counted), by hand on a built
family and on the tiny database."""

from datetime import date

from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.ui import account_words as words
from kamdash.views import account as view
from tests.test_account import LINKS


def test_chains_keep_only_the_scope_and_count_the_rest():
    from kamdash.analytics import account as acc

    # R refers X and Y, X refers Z: a user who sees R, Y and Z (not X)
    chain = acc.chain(LINKS, "R", "referred_by")
    kept, out = view.within(chain, {"R", "Y", "Z"})
    assert out == 1
    assert kept.to_dict("records") == [
        {"customer_id": "Y", "depth": 1, "via": "R"},
        {"customer_id": "Z", "depth": 2, "via": ""},  # reached through X, who is not named
    ]
    same, none_out = view.within(chain, None)
    assert none_out == 0 and same.equals(chain)
    # P's group C1, C2, G1 for a user who sees P only
    kept, out = view.within(acc.chain(LINKS, "P", "parent_id"), {"P"})
    assert kept.empty and out == 3


def test_account_view_names_no_one_outside_the_scope(tiny_db):
    b = connect(str(tiny_db))
    try:
        f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
        links = b.customer_links()
        # the tiny data: A referred B; C is D's parent
        scope = {"A", "D"}
        facts = b.customer_facts(Filters(start=f.start, end=f.end, scope=tuple(sorted(scope))))
        a = view.build(b, "A", facts, links, f.start, f.end, scope=scope)
        assert a.referrals.empty and a.referrals_outside == 1
        d = view.build(b, "D", facts, links, f.start, f.end, scope=scope)
        assert d.parent == view.OUTSIDE and d.parent["customer_id"] == ""
        whole = view.build(b, "D", facts, links, f.start, f.end)
        assert whole.parent["customer_id"] == "C" and whole.children_outside == 0
        a_all = view.build(b, "A", facts, links, f.start, f.end, scope={"A", "B"})
        assert list(a_all.referrals["customer_id"]) == ["B"] and a_all.referrals_outside == 0
    finally:
        b.close()


class _Ctx:
    lang = "en"

    def t(self, key, **kw):
        from kamdash import i18n

        return i18n.t(key, "en", **kw)


def test_the_profile_says_outside_your_scope_without_a_name():
    assert words.link_name(_Ctx(), dict(view.OUTSIDE)) == "an account outside your scope"


def test_group_rollup_counts_only_the_members_in_the_scope():
    from kamdash.analytics import ka_types as ka
    from tests.test_account import FACTS

    whole = ka.group_rollup(FACTS, LINKS).set_index("group_id")
    assert whole.loc["P", "members"] == 4 and whole.loc["P", "revenue"] == 600.0  # P 500 + C1 80 + G1 20
    # a manager who sees C1 and G1 (not their top parent P): the group is P's, valued on C1 + G1
    g = ka.group_rollup(FACTS, LINKS, {"C1", "G1"}).set_index("group_id")
    assert list(g.index) == ["P"]
    assert (g.loc["P", "members"], g.loc["P", "active_members"]) == (2, 2)
    assert (g.loc["P", "own_revenue"], g.loc["P", "revenue"], g.loc["P", "account_profit"]) == (0.0, 100.0, 26.0)
    assert ka.group_rollup(FACTS, LINKS, {"W"}).empty  # no member of any group in the scope
