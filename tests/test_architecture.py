"""House rules of shared DESIGN.md section 1, enforced."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STREAMLIT_IMPORT = re.compile(r"^\s*(import streamlit|from streamlit)", re.M)


def test_core_does_not_import_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "kamdash").rglob("*.py")
                 if "ui" not in p.relative_to(ROOT / "kamdash").parts[:1]
                 and STREAMLIT_IMPORT.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_pages_are_thin_and_hold_no_sql():
    pages = list((ROOT / "pages").glob("*.py"))
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 80, page.name
        assert not re.search(r"\bSELECT\b.+\bFROM\b", text, re.I | re.S), page.name
        assert "session_state" not in text, page.name
        assert "import duckdb" not in text and "import ibis" not in text, page.name


def test_every_setting_is_documented_in_the_readme():
    from kamdash.config import SETTINGS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.env for s in SETTINGS.values() if s.env not in readme]
    assert missing == []


def test_requirements_are_pinned_exactly():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r ")):
                assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][\w.]*", line), f"{name}: {line}"
    assert "sqlglot==30.17.0" in (ROOT / "requirements.txt").read_text()


def test_layers_import_only_downwards():
    """pyproject.toml's import-linter contracts: cli -> ui -> views -> charts / exports / fits ->
    engine -> analytics / ingest / demo -> store -> schema / config / i18n; only kamdash.ui
    imports streamlit; pages import only kamdash.ui; kamdash.ui reaches the analytics and the
    engine only through kamdash.views; only the engine, store, ingest and sync use DuckDB or Ibis."""
    import os

    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
    finally:
        os.chdir(cwd)


def test_every_chart_goes_through_the_shared_component():
    """Only ``kamdash.ui.components.chart`` draws a plotly chart, so every chart has its PNG/SVG
    downloads."""
    drawn = [str(p.relative_to(ROOT)) for p in [*(ROOT / "kamdash").rglob("*.py"), *(ROOT / "pages").glob("*.py"),
                                               ROOT / "app.py"]
             if ".plotly_chart(" in p.read_text(encoding="utf-8")]
    assert drawn == ["kamdash/ui/components.py"]


def test_views_hold_no_words():
    """A view returns numbers, names and keys; kamdash/ui words them. No module of kamdash/views
    imports the i18n catalog, its translation function or its formatting (direct imports; the
    charts a view may call are worded by the labels the UI hands them)."""
    offenders = []
    for p in (ROOT / "kamdash" / "views").rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{p.name}: {n}" for n in names if n == "kamdash.i18n" or n.startswith("kamdash.i18n.")]
    assert offenders == []
