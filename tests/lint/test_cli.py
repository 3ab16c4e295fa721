"""``workbench lint`` and ``workbench rules`` end to end, in-process, on real files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.lint import RULES
from workbench.locations import bundled_prompts_dir, libraries_dir

REQUIRED = {"path", "prompt", "rule", "code", "severity", "message", "field", "start", "end",
            "fix"}
GOOD = ("An old fisherman with a white beard mends a green net on a wooden pier at dawn, "
        "gulls circling above the quiet harbour behind him. Soft golden light rises over the "
        "water and catches the wet ropes. Documentary photograph with a 35mm lens.")

LIBRARY = f'''# my product shots -- keep this comment
format = 1
title = "Shots"

[[prompts]]
name = "Weighted"
# a comment inside the table
raw = "masterpiece, A cat with (green eyes:1.3) on a sofa at sunset, no blur"
seed = 7

[[prompts]]
name = "Fine"
raw = "{GOOD}"
'''


def write(tmp_path: Path, text: str, name: str = "lib.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["lint", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_and_exit_status(tmp_path, capsys):
    path = write(tmp_path, LIBRARY)
    code, out, err = run(capsys, str(path))
    # a pasted SD prompt is advice, not a failure: weights are warnings (issue 11)
    assert code == 0
    assert f"{path}:8: Weighted: raw[" in out
    assert "FX101 warning" in out and "(weight-syntax) [*]" in out
    assert "Fine" not in out
    assert "warnings" in err and "fixable with --fix" in err
    assert run(capsys, str(path), "--fail-on", "warning")[0] == 1
    broken = write(tmp_path, LIBRARY + '\n[[prompts]]\nname = "Empty"\nraw = " "\n', "b.toml")
    code, out, err = run(capsys, str(broken))
    assert code == 1 and "FX108 error" in out and "1 error" in err


def test_fail_on_threshold(tmp_path, capsys):
    path = write(tmp_path, LIBRARY.replace("(green eyes:1.3)", "green eyes"))
    assert run(capsys, str(path))[0] == 0  # warnings only; default threshold is error
    assert run(capsys, str(path), "--fail-on", "warning")[0] == 1
    clean = write(tmp_path, LIBRARY.split("[[prompts]]\nname = \"Weighted\"")[0]
                  + f'[[prompts]]\nname = "Fine"\nraw = "{GOOD}"\n', "clean.toml")
    code, out, err = run(capsys, str(clean), "--fail-on", "info")
    assert (code, out) == (0, "") and "no problems found" in err


def test_json_shape(tmp_path, capsys):
    path = write(tmp_path, LIBRARY)
    code, out, _ = run(capsys, str(path), "--format", "json")
    rows = json.loads(out)
    assert code == 0 and rows
    for row in rows:
        assert REQUIRED <= set(row)
        assert row["path"] == str(path) and row["prompt"] == "Weighted"
    weight = next(r for r in rows if r["rule"] == "weight-syntax")
    text = "masterpiece, A cat with (green eyes:1.3) on a sofa at sunset, no blur"
    assert text[weight["start"]:weight["end"]] == "(green eyes:1.3)"
    assert weight["fix"]["safe"] is True
    assert weight["fix"]["edits"][0]["replacement"] == "green eyes"
    assert weight["line"] == 8
    negation = next(r for r in rows if r["rule"] == "negation")
    assert negation["fix"]["safe"] is False


def test_select_and_ignore_take_slugs_or_codes(tmp_path, capsys):
    path = write(tmp_path, LIBRARY)
    rows = json.loads(run(capsys, str(path), "--format", "json", "--select",
                          "negation,FX101")[1])
    assert {r["rule"] for r in rows} == {"negation", "weight-syntax"}
    code, out, _ = run(capsys, str(path), "--format", "json", "--ignore", "weight-syntax")
    assert code == 0 and "weight-syntax" not in {r["rule"] for r in json.loads(out)}
    code, _, err = run(capsys, str(path), "--select", "nonsense")
    assert code == 2 and "unknown rule 'nonsense'" in err


def test_malformed_toml_is_a_file_error_with_position(tmp_path, capsys):
    bad = write(tmp_path, 'format = 1\n[[prompts]]\nname = "x\n', "bad.toml")
    good = write(tmp_path, LIBRARY, "good.toml")
    code, out, err = run(capsys, str(bad), str(good))
    assert code == 2
    assert f"{bad}:3:" in err
    assert "Weighted" in out  # the good file is still linted


def test_the_cycle_collector_is_back_on_after_a_run(tmp_path, capsys):
    """A library run switches the collector off while it loads and lints (speed); it is
    on again afterwards, whether the run succeeded or a file failed to load."""
    import gc

    bad = write(tmp_path, 'format = 1\n[[prompts]]\nname = "x\n', "bad.toml")
    for path in (write(tmp_path, LIBRARY), bad):
        assert gc.isenabled()
        run(capsys, str(path))
        assert gc.isenabled()


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, str(tmp_path / "nope.toml"))
    assert code == 2 and "no such file" in err


def test_default_location_is_the_libraries_folder(capsys):
    folder = libraries_dir()
    folder.mkdir(parents=True)
    write(folder, LIBRARY, "mine.toml")
    code, out, _ = run(capsys, "--format", "json")
    assert code == 0 and {r["prompt"] for r in json.loads(out)} == {"Weighted"}


def test_fix_applies_safe_fixes_and_keeps_comments(tmp_path, capsys):
    path = write(tmp_path, LIBRARY)
    code, out, err = run(capsys, str(path), "--fix", "--format", "json")
    text = path.read_text(encoding="utf-8")
    assert "# my product shots -- keep this comment" in text
    assert "# a comment inside the table" in text
    assert 'raw = "A cat with green eyes on a sofa at sunset, no blur"' in text
    assert "seed = 7" in text and GOOD in text
    assert (tmp_path / "lib.toml.bak").read_text(encoding="utf-8") == LIBRARY
    assert "applied 2 fixes" in err
    rows = json.loads(out)  # what is left after fixing: the unsafe ones
    assert {r["rule"] for r in rows} == {"negation"} and code == 0
    # a second run has nothing to fix and leaves the file alone
    before = path.read_bytes()
    run(capsys, str(path), "--fix")
    assert path.read_bytes() == before


def test_library_lint_table_is_honoured(tmp_path, capsys):
    path = write(tmp_path, LIBRARY.replace('title = "Shots"\n', 'title = "Shots"\n[lint]\n'
                                           'ignore = ["weight-syntax"]\n'
                                           '[lint.severity]\nnegation = "error"\n'))
    code, out, _ = run(capsys, str(path), "--format", "json")
    rows = json.loads(out)
    assert "weight-syntax" not in {r["rule"] for r in rows}
    assert next(r for r in rows if r["rule"] == "negation")["severity"] == "error"
    assert code == 1


def test_config_lint_table_is_honoured(tmp_path, capsys):
    path = write(tmp_path, LIBRARY)
    config = write(tmp_path, '[lint]\nignore = ["FX101"]\n', "config.toml")
    code, out, _ = run(capsys, str(path), "--format", "json", "--config", str(config))
    assert code == 0 and "weight-syntax" not in {r["rule"] for r in json.loads(out)}


def test_stdin_prompts_are_numbered_lines(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(
        f"a cat with (green eyes:1.3)\n\n{GOOD}\nA mug on a white background at dusk\n"))
    code, out, _ = run(capsys, "--stdin", "--format", "json", "--fail-on", "warning")
    rows = json.loads(out)
    assert code == 1
    assert {r["prompt"] for r in rows} == {1, 4}
    assert all(r["path"] == "-" and REQUIRED <= set(r) for r in rows)
    assert "white-background" in {r["rule"] for r in rows if r["prompt"] == 4}


def test_stdin_model_changes_the_rules(capsys, monkeypatch):
    line = "A mug on a white background, lit by soft window light on a wooden table\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(line))
    dev = {r["rule"] for r in json.loads(run(capsys, "--stdin", "--format", "json")[1])}
    monkeypatch.setattr("sys.stdin", io.StringIO(line))
    schnell = {r["rule"] for r in json.loads(run(capsys, "--stdin", "--model", "schnell",
                                                 "--format", "json")[1])}
    assert "white-background" in dev and "white-background" not in schnell


def test_stdin_text_output(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a cat, no blur\n"))
    code, out, _ = run(capsys, "--stdin")
    assert code == 0 and "<stdin>:1: raw[7:14] FX104 warning" in out


def test_stdin_rejects_paths_and_fix(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "--stdin", "--fix")[0] == 2


def test_the_pitfalls_library_through_the_cli(capsys):
    code, out, _ = run(capsys, str(bundled_prompts_dir() / "pitfalls.toml"), "--format", "json")
    rows = json.loads(out)
    assert code == 1
    by_prompt: dict[str, set[str]] = {}
    for row in rows:
        by_prompt.setdefault(row["prompt"], set()).add(row["rule"])
    assert by_prompt["Living room, edit 7 (edit chain too deep)"] == {"edit-chain-depth"}
    assert by_prompt["Portrait img2img at the wrong size (img2img size)"] == {"img2img-size"}


def test_vram_flag(tmp_path, capsys):
    path = write(tmp_path, f'format = 1\n[[prompts]]\nname = "Big"\nraw = "{GOOD}"\n'
                           "width = 1280\nheight = 1280\n")
    rows = json.loads(run(capsys, str(path), "--format", "json", "--vram", "8")[1])
    assert [r["rule"] for r in rows] == ["vram-estimate"]
    assert json.loads(run(capsys, str(path), "--format", "json")[1]) == []


def test_rules_lists_every_rule(capsys):
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    for rule in RULES.values():
        assert f"{rule.code}  {rule.slug}" in out
    assert "source: FLUX guide (seed 000)" in out
    assert main(["rules", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["rule"] for d in data] == sorted(RULES, key=lambda s: RULES[s].code)
    assert {"code", "rule", "severity", "summary", "rationale", "source"} <= set(data[0])


@pytest.mark.parametrize("verb", ["lint", "rules"])
def test_verbs_are_registered(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([verb, "--help"])
    assert exc.value.code == 0
    assert f"workbench {verb}" in capsys.readouterr().out


def test_edit_chains_may_follow_a_prompt_in_another_library(tmp_path, capsys):
    write(tmp_path, 'format = 1\n[[prompts]]\nname = "Base"\nmodel = "kontext"\n'
                    'raw = "Add a hat to the cat"\nsource_image = "x.png"\n', "a.toml")
    write(tmp_path, 'format = 1\n[[prompts]]\nname = "Edit"\nmodel = "kontext"\n'
                    'raw = "Add a scarf to the cat"\nfollows = "Base"\n', "b.toml")
    rows = json.loads(run(capsys, str(tmp_path), "--format", "json")[1])
    assert "follows-broken" not in {r["rule"] for r in rows}
    assert {r["rule"] for r in rows if r["prompt"] == "Base"} == {"source-image-missing"}


def test_text_output_is_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('a "\x1b[31mred\x1b[0m" cat, (a:1.2)\n'))
    code, out, _ = run(capsys, "--stdin")
    assert code == 0 and "\x1b" not in out and "FX105" in out


def _console_lint(tmp_path: Path, *argv: str, **options):
    """``python -m workbench lint ...`` in its own process, as a user runs it."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "workbench", "lint", *argv], env=env,
                          cwd=tmp_path, capture_output=True, **options)


def test_the_lint_command_ends_at_once_with_all_its_output_and_its_status(tmp_path, capsys):
    """The command line ends its process without the interpreter's teardown after a lint;
    what it printed is all there, and the exit status is the lint's."""
    many = LIBRARY + "".join(f'\n[[prompts]]\nname = "Copy {i}"\nraw = "masterpiece, a cat '
                             f'number {i} on a sofa"\n' for i in range(300))
    path = write(tmp_path, many)
    expected_code = main(["lint", str(path), "--fail-on", "warning", "--no-cache"])
    expected_out, expected_err = capsys.readouterr()
    done = _console_lint(tmp_path, str(path), "--fail-on", "warning", "--no-cache", text=True)
    assert (done.returncode, expected_code) == (1, 1)
    assert done.stdout == expected_out and done.stdout.count("\n") > 300
    assert done.stderr == expected_err
    # in-process (the tests, the TUI) nothing ends: the status is returned
    from workbench.__main__ import main as entry

    assert entry(["lint", str(path), "--no-cache"]) == 0
    capsys.readouterr()


def test_the_lint_command_piped_into_a_reader_that_stops_ends_quietly(tmp_path):
    """`workbench lint | head -1`: the reader goes away; no traceback, no "Exception
    ignored" from the interpreter's last flush."""
    import os
    import subprocess
    import sys

    many = LIBRARY + "".join(f'\n[[prompts]]\nname = "Copy {i}"\nraw = "masterpiece, a cat '
                             f'number {i} on a sofa"\n' for i in range(2000))
    path = write(tmp_path, many)
    read, write_end = os.pipe()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "lint", str(path)], env=env,
                            cwd=tmp_path, stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read, "rb") as reader:
        first = reader.readline()
    _, err = proc.communicate(timeout=60)
    assert b"Weighted" in first
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"Exception ignored" not in err
