"""Making outside text safe to show: no terminal escapes, no bidi tricks, no Rich markup.

Text from a library file, a file name, a PNG chunk, a ComfyUI server or an LLM may carry
ESC sequences (OSC 52 sets the clipboard, OSC 0/2 the window title, CSI moves the cursor),
bare C0/C1 controls (BEL, 0x9b is a one-byte CSI), or bidi overrides (U+202A-U+202E,
U+2066-U+2069) that make text read differently from what it is.  `sanitize` is the one
function every such string passes before it reaches a screen:

- ESC sequences are removed whole (``keep_length=True``: only the ESC is replaced, so
  offsets into the text, e.g. the linter's spans, stay right);
- every other control character and bidi override becomes U+FFFD (visible, harmless);
  newlines and tabs stay where ``multiline`` (else they become spaces);
- `for_markup` also escapes Rich markup, for strings that go into a markup template.

`printable`/`one_line` are the CLI's shorthands; `dumps_json` is ``json.dumps`` with
``ensure_ascii=False`` that still writes C1 controls and bidi overrides as ``\\uXXXX``.
`redact_url` hides the credentials of ``http://user:pass@host`` URLs (in a URL or in any
text holding one): every URL the workbench stores or shows passes through it.
Textual widgets should also be given `rich.text.Text` (never parsed as markup).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Characters that must never reach a terminal raw: C0 (tab and newline are handled
#: apart), DEL, C1, and the bidi embedding/override/isolate controls.
UNSAFE_CHARS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_UNSAFE_OR_SPACE = re.compile(f"[{UNSAFE_CHARS}\t\n]")
# CSI, OSC (up to BEL or ST), DCS/SOS/PM/APC strings (up to ST), then two-byte escapes.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                      r"|[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?|[ -/]*[0-~]?)"
                      r"|\x9b[0-?]*[ -/]*[@-~]?|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?")
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


def sanitize(text: Any, *, multiline: bool = False, keep_length: bool = False) -> str:
    """``text`` (anything: it is ``str()``-ed) made safe to put on a terminal.

    ``multiline``: keep newlines and tabs (else each becomes a space).  ``keep_length``:
    replace character for character (for text shown in an editor, where positions
    matter) instead of removing escape sequences whole."""
    if not isinstance(text, str):
        text = str(text)
    if not keep_length and ("\x1b" in text or "\x9b" in text or "\x9d" in text):
        text = _ESCAPES.sub("", text)
    if multiline:
        return UNSAFE.sub(REPLACEMENT, text) if UNSAFE.search(text) else text
    if _UNSAFE_OR_SPACE.search(text) is None:
        return text
    return _UNSAFE_OR_SPACE.sub(lambda m: " " if m.group() in "\t\n" else REPLACEMENT, text)


def is_safe(text: str, *, multiline: bool = True) -> bool:
    """Whether ``text`` can go to a terminal as it is."""
    pattern = UNSAFE if multiline else _UNSAFE_OR_SPACE
    return pattern.search(text) is None


def for_markup(text: Any, *, multiline: bool = False) -> str:
    """`sanitize`, then Rich markup escaped: for outside text inside a markup string."""
    from rich.markup import escape

    return escape(sanitize(text, multiline=multiline))


def printable(text: Any) -> str:
    """``text`` without escape sequences or control characters (newlines and tabs kept)."""
    return sanitize(text, multiline=True)


def one_line(text: Any) -> str:
    """`sanitize` on a single line: runs of whitespace become one space."""
    if not isinstance(text, str):
        text = str(text)
    # Printable text has no control, bidi or escape character and no whitespace but the
    # plain space (`str.isprintable`): what `sanitize` leaves as it is.  Most messages are
    # like that, and `workbench lint` prints tens of thousands of them.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(sanitize(text).split())


_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s?#]*@")


def redact_url(text: Any) -> str:
    """``text`` with the user and password of every ``scheme://user:pass@host`` replaced
    by ``***`` (what the server is stays readable; the secret does not)."""
    text = text if isinstance(text, str) else str(text)
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def dumps_json(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, ...)`` with DEL, C1 controls and bidi
    overrides written as ``\\uXXXX`` (json escapes C0 itself): readable UTF-8 that is
    still safe to print, and loads back to the same value."""
    options.setdefault("ensure_ascii", False)
    return _json_safe(json.dumps(value, **options))


_ENCODER = json.JSONEncoder(ensure_ascii=False)


def dumps_json_joined(values: Iterable[Any], separator: str) -> str:
    """`dumps_json` of each value (compact), joined with ``separator`` (which must be
    plain: spaces, commas, new lines): one encoder and one escaping pass for all of them,
    for output of tens of thousands of objects."""
    return _json_safe(separator.join(map(_ENCODER.encode, values)))


def _json_safe(text: str) -> str:
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
