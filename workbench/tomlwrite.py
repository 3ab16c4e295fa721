"""Writing a value into a library's tomlkit table the way a person would have: a new key
next to its neighbour in `PROMPT_KEYS` order, multi-line text as a multi-line string, and
tables (outpaint) and lists of tables (loras, redux) as spaced inline tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .specdata import PROMPT_KEYS, spec_values

if TYPE_CHECKING:
    from tomlkit.items import Table

    from .spec import PromptSpec


def set_key(table: Table, key: str, value: Any) -> None:
    """Set ``key``, placing a new key after its neighbour in `PROMPT_KEYS` order (or after
    the last key) rather than after trailing comments that belong to the next table."""
    from tomlkit.items import AoT, Table

    if key in table or not table:
        table[key] = value
        return
    # Only plain values can be anchors: a key after a sub-table ([prompts.x]) would land
    # inside that sub-table.
    plain = [k.key for k, v in table.value.body
             if k is not None and not isinstance(v, (Table, AoT))]
    earlier = [k for k in PROMPT_KEYS[: PROMPT_KEYS.index(key)] if k in plain]
    if not earlier and not plain:
        table[key] = value  # tomlkit puts a plain value before the sub-tables itself
        return
    anchor = earlier[-1] if earlier else plain[-1]
    try:
        table.value._insert_after(anchor, key, value)  # tomlkit keeps no public insert
    except Exception:  # pragma: no cover - a tomlkit without the private helper
        table[key] = value
        return
    # Table mirrors its container in its own dict (as Table.append does).
    dict.__setitem__(table, key, table.value[key])


def inline_table(item: dict) -> Any:
    """``{ key = value, ... }`` spaced as people write it (tomlkit's own is ``{key = value}``)."""
    import tomlkit

    table = tomlkit.inline_table()
    table.update(item)
    values = [value for key, value in table.value.body if key is not None]
    if values:
        values[0].trivia.indent, values[-1].trivia.trail = " ", " "
    return table


def toml_value(key: str, value: Any) -> Any:
    import tomlkit

    if isinstance(value, str) and "\n" in value and "\r" not in value:
        # (TOML readers may turn a multi-line string's CR LF into LF: keep those escaped)
        return tomlkit.string(value, multiline=True)
    if isinstance(value, dict):   # outpaint = { left = 128, right = 128 }
        return inline_table(value)
    if key in ("loras", "redux"):   # lists of tables: one inline table each
        array = tomlkit.array()
        array.extend(inline_table(item) for item in value)
        return array.multiline(len(value) > 1)
    return value


def write_fields(table: Table, spec: PromptSpec, saved: PromptSpec | None) -> None:
    """Write what changed in ``spec`` since ``saved`` (None: a new table) into ``table``."""
    new = spec_values(spec)
    old = spec_values(saved) if saved is not None else {}
    for key in PROMPT_KEYS:
        value = new[key]
        if saved is not None and old.get(key) == value:
            continue
        if value is None:
            if key in table and key != "name":
                del table[key]
            continue
        if saved is None and key == "model" and value == "dev":
            continue
        set_key(table, key, toml_value(key, value))
