"""CLI output never carries escape sequences, C1 controls or bidi overrides from a library
or a file name (issue 13 items 4 and 6), while JSON output keeps the data exact."""

from __future__ import annotations

import json

import pytest

from tests.hostile import (
    HOSTILE,
    HOSTILE_FILE,
    assert_terminal_safe,
    broken_hostile_file,
    hostile_library,
)
from workbench import cli
from workbench.textsafe import dumps_json, dumps_json_joined, for_markup, sanitize


@pytest.fixture
def hostile_folder(tmp_path):
    hostile_library(tmp_path)
    broken_hostile_file(tmp_path)
    return tmp_path


def outputs(capsys) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert_terminal_safe(out, "stdout")
    assert_terminal_safe(err, "stderr")
    return out, err


def test_list_text_and_json(hostile_folder, capsys):
    assert cli.main(["list", str(hostile_folder)]) == 2
    out, err = outputs(capsys)
    assert "[bold]B[/bold]" in out  # shown as text, not lost
    assert "broken" in err and "4:" not in out
    assert cli.main(["list", str(hostile_folder), "--format", "json"]) == 2
    out, _ = outputs(capsys)
    rows = json.loads(out)
    assert rows[0]["name"] == f"A {HOSTILE}"  # the data round-trips exactly
    assert HOSTILE_FILE in rows[0]["file"]


def test_lint_text_and_json(hostile_folder, capsys):
    cli.main(["lint", str(hostile_folder)])
    out, err = outputs(capsys)
    assert "broken" in err and "FX" in out
    cli.main(["lint", str(hostile_folder), "--format", "json"])
    out, _ = outputs(capsys)
    rows = json.loads(out)
    assert any(row["prompt"] == f"A {HOSTILE}" for row in rows)


@pytest.mark.parametrize("verb", ["run", "ab"])
def test_did_you_mean_and_load_errors(hostile_folder, capsys, verb):
    args = (["run", "Ev", "--library", str(hostile_folder)] if verb == "run"
            else ["ab", str(hostile_folder), "Ev", "Ev2"])
    assert cli.main([*args, "--comfyui-url", "http://127.0.0.1:9"]) == 2
    _, err = outputs(capsys)
    assert "did you mean: A Ev" in err and "broken" in err


def test_import_prints_safe_names(tmp_path, capsys):
    from tests.fixtures import COMFY_PNG
    from workbench.images.pngmeta import embed_spec
    from workbench.spec import PromptSpec

    png = tmp_path / f"{HOSTILE_FILE}.png"
    png.write_bytes(embed_spec((COMFY_PNG / "saveimage_flux_t2i_tiny_random_weights.png")
                               .read_bytes(), PromptSpec(f"A {HOSTILE}", subject=HOSTILE)))
    assert cli.main(["import", str(png), "--library", str(tmp_path / "i.toml")]) == 0
    out, _ = outputs(capsys)
    assert "saved 1 prompt(s)" in out


def test_sanitize_is_the_one_function():
    assert sanitize(HOSTILE) == "Evil\ufffd\ufffdX\ufffdY[bold]B[/bold]Z"  # BEL, RLO, LRI
    assert sanitize("a\nb\tc") == "a b c"
    assert sanitize("a\nb\tc\rd", multiline=True) == "a\nb\tc\ufffdd"
    kept = sanitize(HOSTILE, keep_length=True)
    assert len(kept) == len(HOSTILE) and "\x1b" not in kept
    assert for_markup("[bold]x[/bold]\x1b") == "\\[bold]x\\[/bold]"
    text = dumps_json({"k": HOSTILE})
    assert_terminal_safe(text)
    assert json.loads(text) == {"k": HOSTILE}
    assert "‮" not in text and "\\u202e" in text
    joined = dumps_json_joined([{"k": HOSTILE}, ["\x85", "é"]], ",\n  ")
    assert_terminal_safe(joined)
    assert json.loads(f"[{joined}]") == [{"k": HOSTILE}, ["\x85", "é"]]
    assert joined.split(",\n  ") == [text, '["\\u0085", "é"]']
