"""Reading TOML fast, for files that are only read (a library being linted, listed or run).

rtoml (Rust) parses a big library about four times faster than tomli; tomli stays the
reference.  A text rtoml refuses is parsed again by tomli, which either reads it (the two
disagree on a few corners: a float that overflows is ``inf`` for tomli) or raises the
`TOMLDecodeError` whose line, column and wording `tomlpos.decode_problem` explains to
the user.  So a valid file reads the same either way, and an invalid one fails with the
same message as before.  Without rtoml (an unusual platform), tomli does all of it.
"""

from __future__ import annotations

from typing import Any

try:
    from rtoml import loads as _fast_loads
except ImportError:  # pragma: no cover - rtoml is a dependency, with wheels for most platforms
    _fast_loads = None


def _reference():
    """tomli, imported when first needed (a text rtoml refused: rare; its import is a
    few milliseconds of start-up otherwise)."""
    try:  # the same parser as tomllib, compiled: about three times faster on big libraries
        import tomli as tomllib
    except ImportError:  # pragma: no cover - tomli is a dependency; tomllib is its twin
        import tomllib  # type: ignore[no-redef]
    return tomllib


def __getattr__(name: str) -> Any:
    """``TOMLDecodeError``: tomli's (looked up when an ``except`` clause meets an error)."""
    if name == "TOMLDecodeError":
        return _reference().TOMLDecodeError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def loads(text: str) -> dict[str, Any]:
    """``text`` parsed as TOML into plain values, as `tomllib.loads` would.

    Raises `TOMLDecodeError` (tomli's, with its position and message) when it is not
    valid TOML."""
    # a byte order mark left in the text is an error tomli words well; rtoml skips it
    if _fast_loads is not None and not text.startswith("\ufeff"):
        try:
            return _fast_loads(text)
        except Exception:  # any refusal: tomli decides, and words it
            pass
    return _reference().loads(text)


__all__ = ["loads"]  # and TOMLDecodeError (`__getattr__`)
