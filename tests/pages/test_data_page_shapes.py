"""AppTest for the Data page with the file shapes of tests/data/shapes: the layout and header
it found are shown, can be changed, and the report says what was left out."""

import shutil

import pytest

from tests import shapes
from tests.pages.conftest import metrics, page


@pytest.fixture
def db(tmp_path, tiny_db, use_db):
    path = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, path)
    return use_db(path)


def _upload(name: str):
    at = page("pages/data.py").run()
    at.file_uploader[0].upload(name, (shapes.HERE / name).read_bytes(), "application/octet-stream").run()
    assert not at.exception
    return at


def _warnings(at) -> list[str]:
    return [" ".join(map(str, row)) for df in at.dataframe[1:] for row in df.value.itertuples(index=False)]


def test_a_whitespace_aligned_file_is_read_in_columns(db):
    at = _upload("whitespace_aligned.txt")
    assert "delimiter “runs of spaces”" in " ".join(c.value for c in at.caption)
    mapping = at.dataframe[0].value
    assert mapping.iloc[:, 0].tolist() == ["customer_id", "date", "number_of_cds", "dollar_value"]
    layout = at.selectbox(key=next(k for k in (w.key for w in at.selectbox) if "layout" in k))
    assert layout.format_func(layout.value) == "Detected: runs of spaces"
    at.button(key="ingest.check").click().run()
    assert metrics(at)["Rows read"][0] == "6" and metrics(at)["Rows with errors"][0] == "0"
    at.checkbox(key="ingest.replace_ok").check().run()  # replacing the data asks first
    at.button(key="ingest.import").click().run()
    assert any("Imported: 6 order lines" in s.value for s in at.success)


def test_the_layout_can_be_chosen(db):
    at = _upload("fixed_width.txt")
    assert "delimiter “fixed-width columns”" in " ".join(c.value for c in at.caption)
    key = next(w.key for w in at.selectbox if "layout" in w.key)
    at.selectbox(key=key).set_value(",").run()
    assert not at.exception
    assert "delimiter “,”" in " ".join(c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 1  # one column: not the right choice, and it shows


def test_an_excel_sheet_with_title_units_and_total(db):
    at = _upload("excel_merged_title_units_total.xlsx")
    assert "header on line 2" in " ".join(c.value for c in at.caption)
    at.button(key="ingest.check").click().run()
    assert metrics(at)["Rows read"][0] == "6"
    text = " ".join(_warnings(at))
    assert "the header was found on line 2" in text
    assert "the row under the header gives units" in text
    assert "a last row that adds up the others: left out" in text


def test_a_hidden_first_sheet_is_not_the_default(db):
    at = _upload("excel_hidden_first_sheet.xlsx")
    sheet = at.selectbox(key=next(w.key for w in at.selectbox if "sheet" in w.key))
    assert sheet.value == "orders"
    assert sheet.format_func("lookup") == "lookup (hidden)"
