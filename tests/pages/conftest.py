import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 60


@pytest.fixture
def use_db(monkeypatch):
    def _use(path):
        monkeypatch.setenv("KAMDASH_DB", str(path))
        monkeypatch.setenv("KAMDASH_LANGUAGE", "en")
        return path

    return _use


@pytest.fixture
def user_db(tmp_path, monkeypatch):
    path = tmp_path / "user.duckdb"
    monkeypatch.setenv("KAMDASH_USER_DB", str(path))
    return path


def csv_db(tmp_path_factory, name: str, text: str):
    """A sales database imported from one small CSV (``text``), as a user's file would be."""
    from kamdash import ingest

    d = tmp_path_factory.mktemp(name)
    (d / "orders.csv").write_text(text)
    ingest.load_files(d / f"{name}.duckdb", d / "orders.csv")
    return d / f"{name}.duckdb"


ONLY_AMOUNTS = ("customer_id,order_date,revenue\nA,2025-01-05,100\nB,2025-02-10,50\n"
                "A,2025-03-01,300\nC,2025-03-15,20\nB,2025-04-01,-10\n")


def page(path: str) -> AppTest:
    """A page run on its own (it renders the shell itself), paths relative to the repo root."""
    return AppTest.from_file(f"../../{path}", default_timeout=TIMEOUT)


def metrics(at) -> dict:
    return {m.label: (m.value, m.delta) for m in at.metric}


def switch_to_chinese(at) -> None:
    """Click 简体中文 in the sidebar's language switch and rerun."""
    lang = next(w for w in at.sidebar.children.values() if getattr(w, "key", None) == "lang")
    lang.set_value("zh").run()
