r"""User and data text shown as text, never as Markdown or HTML.

Streamlit renders Markdown in st.markdown, st.caption, alerts, headers and widget labels: a
customer name, an id from the URL (``?customer=``), a file name or a plan written as Markdown
would otherwise become a link, an outside image (which tells that site the dashboard's
address) or styled text. ``md`` backslash-escapes (CommonMark lets any ASCII punctuation be
escaped) every character that opens an inline construct (links and images need ``[``,
emphasis ``*`` ``_`` ``~``, code ``\```, HTML and autolinks ``<``, math ``$``, Streamlit's
directives and bare URLs ``:``, e-mail autolinks ``@``, entities ``&``), what starts a block
at the beginning of a line (``#``, ``>``, ``-``, ``+``, ``=``, ``1.``), and the dot of
``www.``; other punctuation (commas, dots in "Co., Ltd.") is left as it is, so the source
stays readable. Line breaks are kept as line breaks.

Streamlit's renderer (GFM) still turns an escaped e-mail address or ``http\://`` into a link,
so an invisible WORD JOINER (U+2060) follows every ``@``, ``:`` and ``www.``: what is shown is
unchanged, but no address can be read there.
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_{}\[\]<>~$|:@&#!])")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")
_WWW = re.compile(r"(?i)\b(www)\.")
_JOIN = re.compile(r"([@:])")
JOINER = "\u2060"


def md(value) -> str:
    """``value`` as Markdown source that renders exactly as its text."""
    text = "" if value is None else str(value)
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = _INLINE.sub(r"\\\1", line)
        line = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) if not m.group(2)[0].isdigit()
                               else m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], line)
        line = _JOIN.sub(r"\1" + JOINER, _WWW.sub(r"\1\\." + JOINER, line))
        out.append(line)
    return "  \n".join(out)

