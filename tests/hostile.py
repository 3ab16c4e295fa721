"""A library with a hostile string in every field and in its file name, and a check that
output holds nothing a terminal would act on (issue 13 items 4 and 6)."""

from __future__ import annotations

import re
from pathlib import Path

import tomlkit

#: OSC 52 (clipboard), BEL, CSI clear-screen, a one-byte C1 CSI, RLO, LRI, Rich markup, OSC 0.
HOSTILE = ("Ev\x1b]52;c;aGk=\x07il\x1b[2J\x07\x9b31m\u202eX\u2066Y[bold]B[/bold]"
           "\x1b]0;pwn\x1b\\Z")
#: The same, safe for a file name (no "/").
HOSTILE_FILE = "lib\x1b]0;t\x07\u202e\x9b1m"

_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What a terminal UI legitimately writes: SGR styles, cursor moves, mode switches.
_BENIGN_CSI = re.compile(r"\x1b\[[0-9;?]*[mHJKlhABCDG]")


def hostile_library(folder: Path) -> Path:
    """Write ``<folder>/<HOSTILE_FILE>.toml`` with HOSTILE in every field of two prompts
    (one structured, one raw) and its title; returns its path."""
    doc = tomlkit.document()
    doc.add("format", 1)
    doc.add("title", f"Title {HOSTILE}")
    prompts = tomlkit.aot()
    structured = {"name": f"A {HOSTILE}", "model": "dev", "tags": [f"t{HOSTILE}"]}
    for key in ("subject", "action", "style", "context", "foreground", "midground",
                "background", "text", "camera", "source_image", "follows", "notes"):
        structured[key] = f"{key} {HOSTILE}"
    structured.update(seed=1, steps=20, sampler=f"s{HOSTILE}", scheduler=f"c{HOSTILE}",
                      negative=f"n{HOSTILE}", preset=f"p{HOSTILE}",
                      loras=[{"name": f"l{HOSTILE}.safetensors", "strength": 0.8,
                              "triggers": [f"g{HOSTILE}"]}])
    raw = {"name": f"B {HOSTILE}", "model": "schnell", "raw": f"raw {HOSTILE}\nline two",
           "notes": f"multi\n{HOSTILE}"}
    for values in (structured, raw):
        table = tomlkit.table()
        table.update(values)
        prompts.append(table)
    doc.add("prompts", prompts)
    path = folder / f"{HOSTILE_FILE}.toml"
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return path


def broken_hostile_file(folder: Path) -> Path:
    """A file that does not parse, with a hostile name (its name shows in the error)."""
    path = folder / f"broken{HOSTILE_FILE}.toml"
    path.write_text("[[prompts]]\nname = \n", encoding="utf-8")
    return path


def assert_terminal_safe(text: str, where: str = "output") -> None:
    """No ESC except benign CSI styling/cursor sequences, no BEL/C0/C1, no bidi override."""
    rest = _BENIGN_CSI.sub("", text)
    assert "\x1b" not in rest, f"{where}: escape sequence {rest[rest.index(chr(27)):][:20]!r}"
    found = _FORBIDDEN.search(rest)
    assert found is None, f"{where}: control character {found.group()!r} at " \
                          f"{rest[max(0, found.start() - 20):found.start() + 5]!r}"
