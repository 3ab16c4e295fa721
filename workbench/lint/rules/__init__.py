"""Rule families, one module each; importing this package registers every rule."""

from . import text, syntax, params, kontext, sources, compare, tools  # noqa: F401
