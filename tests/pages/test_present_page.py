"""AppTest for the Present page: slides, navigation, language, chooser saved, export."""

import pytest

from tests.pages.conftest import page


@pytest.fixture
def at(small_db, use_db, user_db):
    use_db(small_db)
    return page("pages/present.py").run()


def _headline(at) -> str:
    return next(m.value for m in at.markdown if "kd-headline" in m.value)


def test_next_previous_and_jump_change_the_slide(at):
    assert not at.exception
    assert "Overview" in _headline(at) and "customers bought" in _headline(at)
    assert len(at.get("plotly_chart")) == 1
    at.button(key="present_next").click().run()
    assert "Concentration" in _headline(at) and "Top 20% of customers bring" in _headline(at)
    at.button(key="present_next").click().run()
    assert "Whale curve" in _headline(at)
    at.button(key="present_prev").click().run()
    assert "Concentration" in _headline(at)
    at.selectbox(key="present_slide").set_value(5).run()
    assert "Retention" in _headline(at) and "months after their first order" in _headline(at)
    assert at.button(key="present_next").disabled


def test_language_switch_applies(at):
    at.sidebar.segmented_control(key="lang").set_value("zh").run()
    assert not at.exception
    assert "概览" in _headline(at) and "位客户带来" in _headline(at)
    assert at.button(key="present_next").label == "下一页"


def test_chosen_order_is_saved_in_the_user_database(at, user_db):
    from kamdash import store

    at.multiselect(key="present_order").set_value(["retention", "overview"]).run()
    assert "Retention" in _headline(at)
    at.button(key="present_save").click().run()
    assert store.get_setting(user_db, "present.order") == ["retention", "overview"]
    again = page("pages/present.py").run()
    assert again.multiselect(key="present_order").value == ["retention", "overview"]


def test_account_slides_are_offered_not_shown_until_chosen(at):
    """The optional slides from My accounts: in the chooser, not in the default storyline."""
    chooser = at.multiselect(key="present_order")
    assert {"Accounts slipping", "Whitespace: money on the table"} <= set(chooser.options)
    assert "health" not in chooser.value and "whitespace" not in chooser.value and "overview" in chooser.value
    chooser.set_value(["health", "whitespace"]).run()
    assert not at.exception
    assert "Accounts slipping" in _headline(at) and "score below 40 on health" in _headline(at)
    at.button(key="present_next").click().run()
    assert "Whitespace: money on the table" in _headline(at) and "a year of whitespace" in _headline(at)
    assert len(at.get("plotly_chart")) == 1
