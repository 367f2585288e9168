"""User and data text is shown as text: ``safe.md`` escapes it so Markdown renders it verbatim."""

import html

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from kamdash.ui import safe

# CommonMark with the GFM extensions Streamlit's renderer also has that markdown-it-py ships
RENDER = MarkdownIt("commonmark").enable(["strikethrough", "table"])

line = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40) \
    .map(str.strip).filter(bool)


@settings(max_examples=400, deadline=None)
@given(line)
def test_any_line_renders_as_its_text(text):
    assert _text_of(RENDER.render(safe.md(text))) == [text]


def _text_of(out: str) -> list[str]:
    """The lines of a single rendered paragraph that holds no element but line breaks."""
    out = out.strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    lines = out[3:-4].split("<br />\n")
    assert not any("<" in x for x in lines), out  # no element: every "<" came out as &lt;
    return [html.unescape(x).replace(safe.JOINER, "") for x in lines]


@settings(max_examples=200, deadline=None)
@given(st.lists(line, min_size=2, max_size=4))
def test_lines_stay_text_with_their_breaks(lines):
    assert _text_of(RENDER.render(safe.md("\n".join(lines)))) == lines


def test_the_reported_attacks_are_text():
    for text in ("![x](http://elsewhere/p.png)", "[Session expired: sign in again](http://elsewhere/login)",
                 "<img src=x onerror=alert(1)>", ":red[**urgent**]", "www.elsewhere.com", "$x^2$"):
        out = RENDER.render(safe.md(text))
        assert "<img" not in out and "<a " not in out and "<strong>" not in out
        assert _text_of(out) == [text]
