"""Hostile and unlucky library files (issue 13, items 12, 13, 18, 11): a clear
``file:line:col`` message, the rest of the folder still opens, nothing raises."""

from __future__ import annotations

import math
import os
import threading

import pytest

from workbench import cli
from workbench.collection import PromptLookupError, load_collection
from workbench.library import LibraryError, load_library, read_library
from workbench.spec import MAX_SEED

GOOD = 'format = 1\n\n[[prompts]]\nname = "Owl"\nsubject = "a snowy owl"\n'


def run_cli(*argv: str, timeout: float = 20.0) -> int:
    """``workbench ARGS`` in a thread, failing the test (instead of hanging it) if it
    does not return in time."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(cli.main(list(argv))),
                              daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"workbench {' '.join(argv)} hung"
    return result[0]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "a-good.toml").write_text(GOOD)
    return tmp_path


@pytest.mark.parametrize("text, line, col, words", [
    ('[[prompts]]\nname = "Fox"\nsubject = "a fox"\nname = "Fox 2"\n', 4, 1,
     "duplicate key: `name`"),
    ('format = 1\n[lint]\nignore = []\n[lint.severity]\nnegation = "error"\n'
     'negation = "info"\n', 6, 1, "duplicate key: `negation`"),
    ('[[prompts]]\nname = "Fox"\n\n[[prompts.plans]]\nname = "p"\n  name = "q"\n', 6, 3,
     "duplicate key: `name`"),
    ('[lint]\nignore = []\n\n[lint]\nselect = []\n', 4, 1, "duplicate table: [lint]"),
])
def test_duplicate_keys_are_located_and_the_rest_of_the_folder_opens(folder, text, line,
                                                                     col, words, capsys):
    bad = folder / "b-dup.toml"
    bad.write_text(text)
    collection = load_collection(folder)
    assert [lib.path.name for lib in collection.libraries] == ["a-good.toml"]
    [error] = collection.errors
    assert (error.path, error.line, error.col) == (bad, line, col)
    assert str(error).startswith(f"{bad}:{line}:{col}: {words}")
    with pytest.raises(LibraryError):
        load_library(bad)  # the editing path says the same, never KeyAlreadyPresent

    assert cli.main(["list", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert "Owl" in out and f"{bad}:{line}:{col}: duplicate" in err
    assert cli.main(["lint", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert f"{bad}:{line}:{col}: duplicate" in err and "Traceback" not in err


def test_wrong_types_are_reported_with_a_position_never_raised(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text('format = 1\n\n[[prompts]]\nname = "Fox"\nsubject = "a fox"\n'
                    'loras = [{ name = "x", triggers = 3 }, { name = "y", strength = nan },'
                    ' 7, { strength = 1 }]\n'
                    'tags = "animal"\nmodel = ["dev"]\nseed = 18446744073709551616\n'
                    'steps = 1e3\nguidance = inf\nwidth = true\nnegative = 3\n\n'
                    '[[prompts]]\nname = 5\nsubject = { a = 1 }\n')
    library = read_library(path)
    fox, second = library.prompts
    assert fox.params.loras[0].name == "x" and fox.params.loras[0].triggers == []
    assert fox.params.loras[1].strength == 1.0  # nan refused
    assert len(fox.params.loras) == 2
    assert (fox.params.seed, fox.params.steps, fox.params.guidance, fox.params.width,
            fox.model, fox.tags) == (None, None, None, None, "dev", [])
    assert second.name == "prompt 2" and second.subject == ""
    problems = "\n".join(library.problems)
    assert f"{path}:6:1: prompt 1: `loras[1].triggers` must be a list of strings, not a " \
           "number" in problems
    assert "`loras[2].strength` must be a finite number" in problems
    assert "`loras[3]` needs at least a `name`" in problems
    assert f"{path}:9:1: prompt 1: `seed` is out of range (it must be from 0 to " \
           f"{MAX_SEED})" in problems
    assert "`guidance` must be a finite number" in problems
    assert f"{path}:16:1: prompt 2: `name` must be a non-empty string" in problems
    assert "`subject` must be a string, not a table" in problems
    # and nothing is lost: a save keeps the values it could not use
    fox.action = "running"
    library.save()
    saved = path.read_text()
    assert "triggers = 3" in saved and "seed = 18446744073709551616" in saved
    assert 'action = "running"' in saved


def test_seed_range_edges(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(f'[[prompts]]\nname = "a"\nseed = {MAX_SEED}\n'
                    '[[prompts]]\nname = "b"\nseed = -1\n')
    library = read_library(path)
    assert library.get("a").params.seed == MAX_SEED
    assert library.get("b").params.seed is None
    assert any("`seed` is out of range" in p for p in library.problems)


def test_lora_strength_inf_and_nan_are_refused(tmp_path):
    path = tmp_path / "l.toml"
    path.write_text('[[prompts]]\nname = "a"\nloras = [{ name = "x", strength = inf }, '
                    '{ name = "y", strength = -nan }, { name = "z", strength = 0.5 }]\n')
    library = read_library(path)
    strengths = [lora.strength for lora in library.get("a").params.loras]
    assert strengths == [1.0, 1.0, 0.5] and all(math.isfinite(s) for s in strengths)
    assert sum("strength` must be a finite number" in p for p in library.problems) == 2


def test_a_utf8_bom_is_accepted_and_kept(tmp_path):
    text = GOOD + "# the end\n"
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    library = load_library(path)
    assert library.problems == [] and library.get("Owl").subject == "a snowy owl"
    assert library.encoded() == path.read_bytes()  # byte for byte, BOM and all
    library.get("Owl").action = "flying"
    library.save()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b'action = "flying"' in data
    assert read_library(path).get("Owl").action == "flying"


def test_a_nul_byte_and_other_odd_paths_are_messages(tmp_path, capsys):
    path = tmp_path / "nul.toml"
    path.write_text('[[prompts]]\nname = "Nul"\nsubject = "a cat"\n'
                    'source_image = "cat\\u0000.png"\n')
    library = read_library(path)
    assert library.get("Nul").source_image == "cat\0.png"
    assert run_cli("lint", str(path)) == 1
    out, err = capsys.readouterr()
    assert "contains a NUL byte" in out and "Traceback" not in err
    with pytest.raises(LibraryError, match="cannot read"):
        read_library(tmp_path / "a\0b.toml")


def test_a_fifo_in_the_folder_is_reported_not_waited_on(folder, capsys):
    os.mkfifo(folder / "pipe.toml")
    assert run_cli("list", str(folder)) == 2
    out, err = capsys.readouterr()
    assert "Owl" in out and "pipe.toml: cannot read: is a FIFO (named pipe)" in err


@pytest.mark.parametrize("special", ["fifo", "/dev/stdin"])
def test_a_special_file_as_source_image_does_not_hang_lint(tmp_path, special, capsys):
    if special == "fifo":
        os.mkfifo(tmp_path / "img.png")
        special = "img.png"
    path = tmp_path / "lib.toml"
    path.write_text(f'[[prompts]]\nname = "Edit"\nmodel = "kontext"\n'
                    f'raw = "Make it snow"\nsource_image = "{special}"\n')
    assert run_cli("lint", str(path)) == 1
    out = capsys.readouterr().out
    assert "FX404" in out and "is not a regular file" in out


LIBRARY_WITH_TWINS = """\
[[prompts]]
name = "Fox"
subject = "a red fox"

[[prompts]]
name = "Fox"
subject = "an arctic fox"
"""


def test_duplicate_names_are_said_and_can_be_addressed(tmp_path, capsys):
    path = tmp_path / "twins.toml"
    path.write_text(LIBRARY_WITH_TWINS)
    library = read_library(path)
    [problem] = library.problems
    assert problem.startswith(f"{path}:6:1: prompt 2: the name 'Fox' is also used by prompt "
                              "1; `workbench run` and `ab` ask which one is meant")
    collection = load_collection(path)
    with pytest.raises(PromptLookupError) as err:
        collection.resolve("Fox")
    assert "2 prompts are named 'Fox': Fox#1 (twins.toml); Fox#2 (twins.toml)" in str(err.value)
    assert collection.resolve("Fox#2")[1].subject == "an arctic fox"
    assert collection.resolve("Fox#1")[1].subject == "a red fox"
    with pytest.raises(PromptLookupError, match="no prompt named 'Fox#3'.*did you mean: Fox"):
        collection.resolve("Fox#3")

    assert cli.main(["run", "Fox", "--library", str(path),
                     "--comfyui-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "Fox#1 (twins.toml); Fox#2 (twins.toml)" in err
    # NAME#2 gets past the lookup (and on to the server, which is not there)
    assert cli.main(["run", "Fox#2", "--library", str(path),
                     "--comfyui-url", "http://127.0.0.1:9"]) == 3
    assert "no prompt named" not in capsys.readouterr().err
    assert cli.main(["ab", str(path), "Fox", "Fox#2", "--comfyui-url",
                     "http://127.0.0.1:9"]) == 2
    assert "give 'Fox#N' to pick one" in capsys.readouterr().err


def test_a_name_with_a_hash_is_still_found_as_written(tmp_path):
    path = tmp_path / "hash.toml"
    path.write_text('[[prompts]]\nname = "Shot#2"\n[[prompts]]\nname = "Shot"\n')
    collection = load_collection(path)
    assert collection.resolve("Shot#2")[1].name == "Shot#2"
    assert collection.resolve("Shot#1")[1].name == "Shot"


def test_read_library_parses_tomlkit_only_when_saving(tmp_path):
    path = tmp_path / "lazy.toml"
    text = "# keep me\n" + GOOD.replace('subject = "a snowy owl"',
                                         'subject = "a snowy owl"  # inline')
    path.write_text(text)
    library = read_library(path)
    assert not library.has_document and library.title == "lazy"
    assert library.save() is False and not library.has_document
    library.get("Owl").action = "hunting"
    assert library.save()
    assert not library.has_document  # an edit rewrites the prompt's piece of the text
    saved = path.read_text()
    assert saved.startswith("# keep me\n") and "# inline" in saved
    assert 'action = "hunting"' in saved
    library.add(library.get("Owl").copy(name="Owl 2"))
    assert library.save()
    assert library.has_document  # a prompt added: the whole document is parsed
    assert 'name = "Owl 2"' in path.read_text() and "# inline" in path.read_text()


def test_reading_a_library_with_a_prompt_removed_then_saving(tmp_path):
    path = tmp_path / "rm.toml"
    path.write_text(LIBRARY_WITH_TWINS.replace('name = "Fox"\nsubject = "an arctic fox"',
                                               'name = "Arctic"\nsubject = "an arctic fox"'))
    library = read_library(path)
    library.remove(library.get("Fox"))
    assert library.dirty
    library.render()  # a render does not make the removal look saved
    assert library.dirty
    assert library.save()
    assert [s.name for s in read_library(path).prompts] == ["Arctic"]


def test_the_editor_refuses_huge_seeds_and_nan_strengths():
    from workbench.fields import set_field
    from workbench.spec import PromptSpec

    spec = PromptSpec("x")
    assert set_field(spec, "seed", str(MAX_SEED)) is None and spec.params.seed == MAX_SEED
    assert "must be from 0 to" in set_field(spec, "seed", str(2**64))
    assert "must be from 0 to" in set_field(spec, "seed", "-1")
    assert spec.params.seed == MAX_SEED  # unchanged
    assert "finite" in set_field(spec, "loras", "a.safetensors:nan")
    assert "finite" in set_field(spec, "loras", "a.safetensors:inf:trigger")
    assert spec.params.loras == []
