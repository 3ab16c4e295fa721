"""Property tests for hostile input (issue 13): random bytes and random TOML documents fed
to the loader raise nothing but `LibraryError`; whatever loads can be composed, linted,
fixed, rendered and saved without an exception."""

from __future__ import annotations

import datetime as dt
import math

import tomlkit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.props import examples
from workbench.compose import compose
from workbench.library import LibraryError, load_library, read_library, spec_from_table
from workbench.lint import fix_all, lint
from workbench.specdata import PROMPT_KEYS

SETTINGS = settings(max_examples=examples(120), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

strings = st.one_of(st.text(max_size=20),
                    st.sampled_from(["dev", "schnell", "kontext", "\x1b]52;c;aGk=\x07",
                                     "\u202e", "", "euler", "a.png", "x" * 300]))
scalars = st.one_of(
    strings, st.booleans(),
    st.integers(), st.integers(-2**70, 2**70), st.just(2**64), st.just(-1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1)),
    st.dates(),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)), max_leaves=12)
lora_items = st.one_of(values, st.fixed_dictionaries(
    {"name": values}, optional={"strength": values, "triggers": values}))
prompt_tables = st.fixed_dictionaries({}, optional={
    **{key: values for key in PROMPT_KEYS},
    "loras": st.one_of(values, st.lists(lora_items, max_size=3)),
    "unknown": values})
documents = st.fixed_dictionaries({}, optional={
    "format": values, "title": values, "lint": values,
    "prompts": st.one_of(st.lists(prompt_tables, max_size=4), values)})


def _check_usable(library) -> None:
    context = {spec.name: spec for spec in library.prompts}
    for spec in library.prompts:
        composed = compose(spec)
        assert isinstance(composed, str)
        lint(spec, context=context, base_dir=library.path.parent)
        fixed, _ = fix_all(spec, context=context, base_dir=library.path.parent)
        compose(fixed)
        assert all(math.isfinite(lora.strength) for lora in spec.params.loras)
        assert spec.params.seed is None or 0 <= spec.params.seed < 2**64


@SETTINGS
@given(st.binary(max_size=400))
@example(b"\xef\xbb\xbf\xef\xbb\xbfformat = 1")
@example(b"[[prompts]]\nname = \"a\"\nname = \"b\"\n")
@example(b"prompts = 3")
@example(b"[[prompts]]\n" + b"x = [" * 300 + b"]" * 300)
def test_random_bytes_raise_only_library_errors(tmp_path, data):
    path = tmp_path / "random.toml"
    path.write_bytes(data)
    for load in (read_library, load_library):
        try:
            library = load(path)
        except LibraryError:
            continue
        _check_usable(library)


@SETTINGS
@given(documents)
def test_random_documents_load_or_say_why_and_stay_usable(tmp_path, document):
    try:
        text = tomlkit.dumps(document)
    except Exception:  # noqa: BLE001 - tomlkit can't write every value (not our input)
        return
    path = tmp_path / "doc.toml"
    path.write_text(text, encoding="utf-8")
    try:
        library = read_library(path)
    except LibraryError:
        return
    _check_usable(library)
    if library.prompts:
        library.prompts[0].notes = "edited"
        try:
            library.save(force=True)
        except LibraryError:
            return
        again = read_library(path)
        assert again.prompts[0].notes == "edited"


@SETTINGS
@given(prompt_tables)
def test_spec_from_any_table_never_raises(table):
    problems: list[str] = []
    spec = spec_from_table(table, "somewhere: prompt 1", problems)
    assert isinstance(spec.name, str) and spec.name
    assert all(isinstance(p, str) for p in problems)
    compose(spec)
    lint(spec)
