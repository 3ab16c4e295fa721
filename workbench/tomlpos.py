"""Where a problem is in a TOML file: ``line:col`` for decoding errors (duplicate keys and
tables named), for a top-level key, and for the keys of the N-th ``[[prompts]]`` table.

Found only when a problem needs one (a regular-expression pass over the text; comments
and strings may rarely fool it), so reading a large library stays fast.
"""

from __future__ import annotations

import re
from pathlib import Path

# (patterns for `re.match`, compiled at the first error: not at every start)
_TOML_POSITION = (r"^(?P<message>.*?) \(at (?:line (?P<line>\d+), column "
                  r"(?P<col>\d+)|end of document)\)$")
_DECLARED_TWICE = r"^Cannot declare \((?P<keys>.*)\) twice$"


def decode_problem(text: str, exc: ValueError) -> tuple[str, int | None, int | None]:
    """(message, line, column) of a TOML decoding error in ``text``, duplicate keys and
    tables named."""
    found = re.match(_TOML_POSITION, str(exc), re.S)
    if not found:  # pragma: no cover - every tomllib message carries a position
        return str(exc), None, None
    message = getattr(exc, "msg", None) or found["message"]
    if getattr(exc, "lineno", None):
        line, col = exc.lineno, exc.colno
    elif found["line"] is None:
        lines = text.split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    else:
        line, col = int(found["line"]), int(found["col"])
    source_line = text.split("\n")[line - 1] if line <= text.count("\n") + 1 else ""
    if message == "Cannot overwrite a value":
        key = re.match(r"\s*((?:[^=\s\"']|\"[^\"]*\"|'[^']*')+(?:\s*\.\s*(?:[^=\s\"']|\"[^\"]*\""
                       r"|'[^']*')+)*)\s*=", source_line)
        if key:
            col = key.start(1) + 1
            message = (f"duplicate key: `{key.group(1)}` is already set in this table (a "
                       "TOML key may appear only once)")
        else:
            message = "duplicate key: this value is already set (a TOML key may appear once)"
    elif re.match(_DECLARED_TWICE, message):
        keys = re.match(_DECLARED_TWICE, message)["keys"]
        name = ".".join(part.strip().strip("'\"") for part in keys.split(",") if part.strip())
        col = len(source_line) - len(source_line.lstrip()) + 1
        message = f"duplicate table: [{name}] is declared twice"
    elif message == "Invalid statement" and line == 1 and text.startswith("\ufeff"):
        message = "a second byte order mark (BOM) at the start; remove it"
    return message, line, col


def key_position(text: str, key: str) -> tuple[int | None, int | None]:
    found = re.search(rf"^[ \t]*(\[\[?[ \t]*)?{re.escape(key)}\b", text, re.M)
    if not found:
        return None, None
    return text.count("\n", 0, found.start()) + 1, found.start(0) - text.rfind(
        "\n", 0, found.start()) + (len(found.group(0)) - len(found.group(0).lstrip()))


class PromptLocator:
    """Line numbers of ``[[prompts]]`` headers and their keys, found only when a problem
    needs one (a regular expression pass; comments and strings may rarely fool it)."""

    _HEADER = re.compile(r"^[ \t]*\[\[[ \t]*prompts[ \t]*\]\]", re.M)

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self._headers: list[int] | None = None

    def prompt(self, index: int) -> PromptPlace:
        """How the ``index``-th prompt's problems are located."""
        return PromptPlace(self, index)

    def position(self, index: int, key: str | None) -> tuple[int, int] | None:
        if self._headers is None:
            self._headers = [m.start() for m in self._HEADER.finditer(self.text)]
        if index >= len(self._headers):
            return None
        start = self._headers[index]
        end = self._headers[index + 1] if index + 1 < len(self._headers) else len(self.text)
        offset = start
        if key is not None:
            found = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.M).search(
                self.text, start, end)
            if found:
                offset = found.start() + len(found.group(0)) - len(found.group(0).lstrip())
        line = self.text.count("\n", 0, offset) + 1
        return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1


class PromptPlace:
    """How a prompt's problems are located: ``file:line:col: prompt N`` (found lazily)."""

    def __init__(self, locate: PromptLocator, index: int) -> None:
        self.locate, self.index = locate, index

    def at(self, key: str | None) -> str:
        found = self.locate.position(self.index, key.split("[")[0].split(".")[0]
                                     if key else None)
        place = f"{self.locate.path}:{found[0]}:{found[1]}" if found else str(self.locate.path)
        return f"{place}: prompt {self.index + 1}"

    def __str__(self) -> str:
        return self.at(None)
