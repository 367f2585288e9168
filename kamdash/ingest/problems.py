"""What an import reports: located problems (errors that block a load) and notices (warnings).

A ``Problem`` names the file, the line (CSV: line in the file, header = line 1 when it is the
first line; Excel: row in the sheet; Parquet: row number), the column, the value and the reason.
``code`` and ``fields`` let the app say the reason in the user's language
(``ingest.reason.<code>`` in the catalogs); ``reason`` is the English text used by the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_REPORTED = 50


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: str
    value: str
    reason: str
    code: str = ""
    fields: dict = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        where = f"{self.file}" + (f", line {self.line}" if self.line else "")
        value = f" value {self.value!r}:" if self.value else ""
        return f"{where}, column {self.column}:{value} {self.reason}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["fields"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in self.fields.items()}
        return d


def problem(file: str, line, column: str, value, code: str, **fields) -> Problem:
    """A Problem whose English reason comes from the catalog entry ``ingest.reason.<code>``."""
    from kamdash import i18n

    text = "" if value is None else str(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return Problem(file, line, column, text, i18n.t(f"ingest.reason.{code}", "en", **fields), code, fields)


@dataclass
class LoadReport:
    meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


class LoadError(Exception):
    def __init__(self, problems: list[Problem], total: int | None = None):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        lines = [str(p) for p in problems[:MAX_REPORTED]]
        more = self.total - len(lines)
        if more > 0:
            lines.append(f"... and {more} more problems")
        super().__init__("nothing was loaded:\n" + "\n".join(lines))
