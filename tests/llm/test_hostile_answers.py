"""Hostile model answers and unwritable libraries for ``workbench rewrite`` (issue 13
item 15): a clear message, exit status 1 or 2, the library byte for byte as it was."""

from __future__ import annotations

import errno
import json
import os

import pytest

from tests.fakes.ollama_server import FakeOllamaThread
from workbench import cli

LIBRARY = """\
# comments stay
format = 1

[[prompts]]
name = "Sign"
raw = "A neon sign reading EXIT above a door"
"""

FIELDS = {"subject": "a neon sign", "action": "", "style": "", "context": "",
          "foreground": "", "midground": "", "background": "a door", "text": "EXIT",
          "camera": ""}


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "shots.toml"
    path.write_text(LIBRARY, encoding="utf-8")
    return path


@pytest.fixture
def fake():
    with FakeOllamaThread() as server:
        yield server


def rewrite(fake, *args: str) -> int:
    return cli.main(["rewrite", *args, "--ollama-host", fake.host])


DEEP = '{"subject": ' + "[" * 20000 + "]" * 20000 + "}"
HUGE = '{"subject": "a sign", "text": 1e400}'


@pytest.mark.parametrize("answer, words", [
    (DEEP, "nested more than 100 levels deep"),
    (HUGE, "the number 1e400 is out of range"),
    ('{"subject": "x", "camera": ' + "9" * 5000 + "}", "5000 digits is out of range"),
    ('{"subject": NaN}', "NaN is not a number JSON allows"),
])
def test_decompose_with_deep_or_huge_json_gives_a_message(fake, library, capsys, answer,
                                                          words):
    fake.queue(answer, answer)
    assert rewrite(fake, str(library), "Sign", "--action", "decompose", "--apply") == 1
    err = capsys.readouterr().err
    assert "did not give usable fields twice" in err and words in err
    assert "Traceback" not in err
    assert library.read_text(encoding="utf-8") == LIBRARY


def test_kontext_with_deep_json_gives_a_message(fake, library, capsys):
    deep = '{"instructions": ' + "[" * 20000 + "]" * 20000 + "}"
    fake.queue(deep)
    assert rewrite(fake, str(library), "Sign", "--action", "kontext") == 1
    err = capsys.readouterr().err
    assert "not usable JSON: nested more than 100 levels deep" in err
    assert "Traceback" not in err


def test_apply_to_a_read_only_library_says_so(fake, library, capsys):
    os.chmod(library, 0o444)
    fake.queue(json.dumps(FIELDS))
    assert rewrite(fake, str(library), "Sign", "--action", "decompose", "--apply") == 2
    err = capsys.readouterr().err
    assert f"{library} is read-only (mode 0444)" in err and "nothing was written" in err
    assert library.read_text(encoding="utf-8") == LIBRARY


def test_apply_on_a_full_disk_says_so(fake, library, capsys, monkeypatch):
    import workbench.atomic as atomic

    def full(path, data, mode):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(atomic, "_write_replace", full)
    fake.queue(json.dumps(FIELDS))
    assert rewrite(fake, str(library), "Sign", "--action", "decompose", "--apply") == 2
    err = capsys.readouterr().err
    assert f"{library}: cannot save: No space left on device; nothing was written" in err
    assert library.read_text(encoding="utf-8") == LIBRARY
