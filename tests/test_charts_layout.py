"""Layout rules of charts that were hard to read: a money axis starts at zero with a label on
every tick, bar labels are clear of the uncertainty whisker, bar labels are rounded money."""

import pandas as pd

from kamdash.charts import present as present_charts
from kamdash.charts import whatif as charts


def test_profit_projection_starts_at_zero_with_labelled_ticks():
    df = pd.DataFrame({"year": [1, 2, 3], "before": [80.4e6, 78.0e6, 75.9e6], "after": [84.1e6, 83.0e6, 82.2e6]})
    fig = charts.projection(df, {"title": "t", "x": "Year", "y": "CNY", "before": "b", "after": "a"}, "en", "CNY")
    lo, hi = fig.layout.yaxis.range
    assert lo == 0 and hi > 84.1e6
    ticks = list(fig.layout.yaxis.tickvals)
    assert len(ticks) >= 4 and all(lo <= t <= hi for t in ticks)  # every tick label is drawn
    assert fig.layout.yaxis.ticktext[0] == "CN¥0"


def test_whisker_does_not_cover_the_bar_labels():
    res = {"profit_before": 8e7, "profit_after": 8.4e7, "equity_before": 3.1e8, "equity_after": 3.4e8,
           "profit_pct": 0.05, "equity_pct": 0.1}
    fig = charts.before_after(res, {"equity_after_lo": 3.2e8, "equity_after_hi": 3.6e8},
                              {"title": "t", "profit": "p", "equity": "e", "before": "b", "after": "a"}, "en", "CNY")
    after = fig.data[1]
    assert after.error_y.array[1] > 0  # the whisker hangs from the top of the after bar
    assert all(tr.textposition == "inside" and tr.insidetextanchor == "start" for tr in fig.data)


def test_before_after_bar_labels_are_rounded_money():
    fig = present_charts.before_after_chart([("Equity", 311_551_234.0, 342_706_357.0)],
                                            {"title": "t", "before": "b", "after": "a"}, "en", "CNY")
    assert [t for tr in fig.data for t in tr.text] == ["CN¥311.6M", "CN¥342.7M"]
