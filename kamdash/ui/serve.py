"""Start the dashboard: ``python -m kamdash.ui.serve [streamlit run options]`` (what `make run`
does).

app.py lists its pages with ``st.navigation``. Streamlit 1.67 still treats a ``pages/`` folder
next to the entry script as the legacy auto-discovered multipage app until ``st.navigation`` has
run once in the server process, so a link that opens a page directly (``/concentration?...``)
on a freshly started server would run that page file alone, with the wrong menu and layout.
Telling Streamlit up front that the app does not use the legacy folder fixes shared links.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str] | None = None) -> int:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
