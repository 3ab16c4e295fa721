"""The read-only TOML reader: rtoml's speed, tomli's answers.  Valid files read exactly as
tomli reads them; files either parser refuses fail with tomli's message and position."""

from __future__ import annotations

import math

import pytest
import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import tomlread
from workbench.library import LibraryError, read_library

VALID = [
    'format = 1\ntitle = "Bench"\n\n[[prompts]]\nname = "a"\nraw = "a fox, \\"quoted\\""\n'
    'loras = [{ name = "f.safetensors", strength = 0.8, triggers = ["kodak portra"] }]\n',
    "a = 1979-05-27T07:32:00-08:00\nb = 1979-05-27\nc = 07:32:00\nd = 1979-05-27T07:32:00.5",
    "a = 9223372036854775807\nb = -9223372036854775808\nc = 0o17\nd = 0b101\ne = 1_000",
    "a = -inf\nb = 6.626e-34\nc = +1.0",
    "a = '''\nx\\ny'''\nb = \"\"\"\\\n  c\"\"\"\nd = \"\\u00e9\\U0001F600\"",
    "[a.b.c]\nd = 1\n[a]\ne = 2\n[[f]]\n[[f]]\ng = 1",
    'a = [1, "x", [2]]\nb = {c = {d = 1}}\n"quoted key" = 1\ne."f.g" = 1',
    "a = 'x'\r\nb = 1 # comment\r\n",
    # tomli reads these; rtoml refuses them: the fallback gives tomli's values
    "a = 1.7976931348623157e309",
    "a = " + "[" * 200 + "]" * 200,
]
INVALID = [
    "a = 1\nb = \n",
    'x = "abc\n',
    '[[prompts]]\nname = "a"\nname = "b"\n',
    'a = "\\ud800"\n',
    'a = "\x01"\n',
    "\ufeffa = 1",  # a second byte order mark (read_library strips the first)
]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return type(b) is list and len(a) == len(b) and all(map(_same, a, b))
    if hasattr(a, "utcoffset") and a.utcoffset() != b.utcoffset():
        return False
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("text", VALID)
def test_valid_toml_reads_as_tomli_reads_it(text):
    assert _same(tomlread.loads(text), tomli.loads(text))


@pytest.mark.parametrize("text", INVALID)
def test_invalid_toml_fails_with_tomlis_message(text):
    with pytest.raises(tomli.TOMLDecodeError) as expected:
        tomli.loads(text)
    with pytest.raises(tomlread.TOMLDecodeError) as got:
        tomlread.loads(text)
    assert str(got.value) == str(expected.value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab=1."\'[]{},\n #\\-:Tez_ '), max_size=40))
def test_any_text_reads_or_fails_as_tomli(text):
    try:
        expected = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        with pytest.raises(tomlread.TOMLDecodeError, match=None) as got:
            tomlread.loads(text)
        assert str(got.value) == str(exc)
    else:
        assert _same(tomlread.loads(text), expected)


def test_a_library_error_keeps_its_line_and_column(tmp_path):
    path = tmp_path / "lib.toml"
    path.write_text('format = 1\n\n[[prompts]]\nname = "a"\nname = "b"\n', encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        read_library(path)
    assert (caught.value.line, caught.value.col) == (5, 1)
    assert "duplicate key: `name`" in caught.value.message
