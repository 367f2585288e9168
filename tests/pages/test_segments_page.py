"""AppTest for the segments page: it renders, k and features change the segments, the settings
and the assignment are saved in the user database."""

import json

import pytest

from kamdash import store
from tests.pages.conftest import page, switch_to_chinese



@pytest.fixture
def at(small_db, use_db, user_db):
    use_db(small_db)
    return page("pages/segments.py").run()


def charts(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def segment_table(at):
    return at.dataframe[0].value


def test_renders_choice_map_profiles(at, user_db):
    assert not at.exception
    assert at.title[0].value == "Segments"
    specs = charts(at)
    assert [s["data"][0]["type"] for s in specs] == ["bar", "scattergl", "heatmap"]
    k = len(segment_table(at))
    assert len(specs[0]["data"][0]["text"]) == 7  # silhouette for k = 2..8
    assert len(specs[1]["data"]) == k  # one trace per segment on the map
    assert any("highest silhouette score" in c.value for c in at.caption)
    names = list(segment_table(at)["Name"])
    assert names[0].startswith("High-value")
    # the assignment was stored for the sidebar filters of every page
    stored = store.get_assignment(user_db)
    assert len(stored) > 300 and stored["segment"].nunique() == k


def test_changing_k_or_features_changes_the_segment_table(at, user_db):
    before = segment_table(at)
    at.select_slider(key="seg_k").set_value(5).run()
    assert not at.exception
    five = segment_table(at)
    assert len(five) == 5 and list(five["Segment"]) == ["1", "2", "3", "4", "5"]
    assert any("You chose 5 segments" in c.value for c in at.caption)
    assert store.get_setting(user_db, "segments.config")["k"] == 5
    at.multiselect(key="seg_features").unselect("margin").unselect("growth").run()
    assert not at.exception
    assert not segment_table(at).equals(five)
    assert "margin" not in store.get_setting(user_db, "segments.config")["features"]
    at.select_slider(key="seg_k").set_value("auto").run()
    assert len(segment_table(at)) == len(before) or not segment_table(at).equals(before)


def test_gaussian_mixture_alternative(at):
    at.segmented_control(key="seg_method").set_value("gmm")
    at.select_slider(key="seg_k").set_value(3)
    at.run()
    assert not at.exception
    assert len(segment_table(at)) == 3
    assert any("Gaussian mixture" in c.value for c in at.caption)


def test_settings_survive_a_new_session(at, small_db, user_db):
    at.select_slider(key="seg_k").set_value(4).run()
    again = page("pages/segments.py").run()
    assert len(segment_table(again)) == 4
    assert again.select_slider(key="seg_k").value == 4


def test_chinese(at):
    switch_to_chinese(at)
    assert not at.exception
    assert at.title[0].value == "客户细分"
    assert segment_table(at).columns[0] == "细分群"
    assert "高价值" in segment_table(at)["名称"].iloc[0]


def test_the_number_of_segments_is_in_the_url(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/segments.py")
    at.query_params["seg_k"] = "6"
    at.run()
    assert not at.exception
    assert at.select_slider(key="seg_k").value == 6
    assert len(segment_table(at)) == 6  # a shared link shows the segments it was made with
    # (that the URL follows a change is checked in the browser: tests/e2e/test_segments.py)


def test_auto_k_says_why_and_the_profiles_are_in_units(at):
    r_k = len(segment_table(at))
    assert 4 <= r_k <= 8
    spec = charts(at)[0]
    assert "not chosen automatically" in spec["data"][0]["customdata"][0]  # k = 2 shown in grey
    assert any("Auto does not choose them" in c.value for c in at.caption)
    t = segment_table(at)
    assert list(t.columns[-4:]) == ["Account profit", "Account margin", "Loss-makers", "New accounts"]
    heat = charts(at)[2]
    cols = heat["data"][0]["x"]
    growth = [row[cols.index("Growth")] for row in heat["data"][0]["text"]]
    assert all(g.endswith("%") for g in growth)  # a percentage change, never the +/-2 measure
    for name, margin in zip(t["Name"], t["Account margin"]):
        if margin.startswith("-"):
            assert not name.startswith("High-value")
