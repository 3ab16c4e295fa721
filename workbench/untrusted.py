"""Reading files and JSON that come from outside, without hanging, exploding or crashing.

A path in a library or on the command line may name a FIFO, ``/dev/stdin``, a terminal
or a directory; opening such a thing for reading can block forever.  `open_regular` opens
without blocking and refuses anything but a regular file, before a byte is read;
`read_regular` also caps the size.  A path with a NUL byte is an `OSError` here (Python
raises ValueError), so callers need only catch `OSError`.

JSON from a file, a PNG chunk or a model is parsed by `loads_json`: a size cap, a depth
cap (no RecursionError), and numbers JSON itself cannot hold (``NaN``, ``Infinity``,
``1e400``, a 5000-digit integer) refused with a message instead of becoming ``inf`` or a
ValueError deep inside.  Its errors are `JsonError`, a `json.JSONDecodeError`, so existing
``except json.JSONDecodeError`` handlers keep working.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

#: JSON files (manifests, workflows, caches) larger than this are not read.
MAX_JSON_BYTES = 32 * 1024 * 1024
#: Containers nested deeper than this are refused (real workflows nest < 10 levels).
MAX_JSON_DEPTH = 100
#: Integers with more digits than this are refused (a seed has at most 20).
MAX_INT_DIGITS = 40

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotRegularFile(OSError):
    """The path exists but is not a regular file (reading it could block or never end)."""

    def __init__(self, path: str | os.PathLike, kind: str) -> None:
        super().__init__(errno.EINVAL, f"is {kind}, not a regular file", str(path))
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class FileTooLarge(OSError):
    def __init__(self, path: str | os.PathLike, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"is {_size(size)}, more than the {_size(limit)} "
                         "limit", str(path))

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _fs_path(path: str | os.PathLike) -> str:
    text = os.fspath(path)
    if isinstance(text, bytes):  # pragma: no cover - we only pass str paths
        text = os.fsdecode(text)
    if "\0" in text:
        raise OSError(errno.EINVAL, "the path contains a NUL byte", text.replace("\0", "\\0"))
    return text


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (following links); never raises, never blocks."""
    try:
        return stat.S_ISREG(os.stat(_fs_path(path)).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for reading (binary) if, and only if, it is a regular file.

    Raises `NotRegularFile` for FIFOs, devices, sockets and folders without blocking on
    them, and `OSError` as `open` would."""
    name = _fs_path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(name, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, _kind(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, limit: int | None = None) -> bytes:
    """The bytes of a regular file; `FileTooLarge` when it holds more than ``limit``."""
    with open_regular(path) as handle:
        if limit is not None:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise FileTooLarge(path, size, limit)
            data = handle.read(limit + 1)
            if len(data) > limit:  # it grew while we read
                raise FileTooLarge(path, len(data), limit)
            return data
        return handle.read()


# -- JSON ---------------------------------------------------------------------------------------

class JsonError(json.JSONDecodeError):
    """JSON that can't be used; ``str()`` is a plain sentence (``msg``), with the position
    when the parser knew it.  ``syntax`` is False when the text is JSON but over a limit
    (too big, too deep, a number out of range)."""

    def __init__(self, msg: str, doc: str = "", pos: int = 0, *, where: bool = False) -> None:
        super().__init__(msg, doc, pos)
        self._where = where
        self.syntax = where

    def __str__(self) -> str:
        if self._where:
            return f"line {self.lineno}, column {self.colno}: {self.msg}"
        return self.msg


def _no_constant(name: str) -> Any:
    raise JsonError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonError(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise JsonError(f"a whole number with {digits} digits is out of range")
    return int(text)


def loads_json(text: str | bytes, *, max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_JSON_DEPTH, shaped: bool = False) -> Any:
    """Parse untrusted JSON; raises `JsonError` saying plainly what is wrong.

    ``shaped``: the caller checks the type and range of every value it takes from the
    result (a cache reading its own rows), so the per-number checks and the walk over
    every container for ``max_depth`` are left out, which makes a big file several times
    cheaper to read.  Still capped in size, ``NaN``/``Infinity`` refused, and nesting too
    deep for the parser a `JsonError`."""
    if len(text) > max_bytes:
        raise JsonError(f"the JSON is {_size(len(text))}, more than the {_size(max_bytes)} "
                        "limit")
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonError(f"not UTF-8 text (byte {exc.start})") from None
    numbers = {} if shaped else {"parse_float": _finite_float, "parse_int": _bounded_int}
    try:
        value = json.loads(text, parse_constant=_no_constant, **numbers)
    except JsonError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonError(exc.msg, exc.doc, exc.pos, where=True) from None
    except RecursionError:
        raise JsonError(f"nested more than {max_depth} levels deep") from None
    except (ValueError, OverflowError) as exc:  # pragma: no cover - belt and braces
        raise JsonError(f"not usable JSON: {exc}") from None
    # fewer brackets than the limit can't nest deeper than it (most answers are small)
    if not shaped and text.count("[") + text.count("{") > max_depth:
        _check_depth(value, max_depth)
    return value


def _check_depth(value: Any, max_depth: int) -> None:
    """Level by level (no tuple per child): a big answer such as ``object_info`` is
    checked several times faster than by a stack walk."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise JsonError(f"nested more than {max_depth} levels deep")
        children: list = []
        for item in level:
            children.extend(item.values() if isinstance(item, dict) else item)
        level = [child for child in children if isinstance(child, (dict, list))]


def read_json_file(path: str | os.PathLike, *, max_bytes: int = MAX_JSON_BYTES,
                   max_depth: int = MAX_JSON_DEPTH, shaped: bool = False) -> Any:
    """`loads_json` of a regular file's content (``OSError`` / `JsonError` on failure)."""
    return loads_json(read_regular(Path(path), max_bytes), max_bytes=max_bytes,
                      max_depth=max_depth, shaped=shaped)
