import os
from pathlib import Path

import pytest

from workbench.atomic import backup_path
from workbench.collection import load_collection
from workbench.library import ConflictError, LibraryError, load_library, new_library, read_library
from workbench.spec import Lora, PromptSpec

HAND_WRITTEN = '''\
# Hand-written library: comments, odd spacing and unknown keys must survive.
format = 1
title = "Fox studies"
owner = "me"   # not a workbench key

[[prompts]]
name    = "Fox"      # aligned by hand
model   = "dev"
tags = [ "animal",  "winter" ]
subject = 'a red fox'
action = "leaping over a frozen stream"
background = """snow-covered
pines"""
rating = 5
seed = 42
loras = [{ name = "a.safetensors", strength = 0.8, triggers = ["kodak"] }]

# the poster comes next
[[prompts]]
name = "Poster"
subject = "a retro travel poster of Lisbon"
text = "LISBOA"
'''


@pytest.fixture
def lib_path(tmp_path: Path) -> Path:
    path = tmp_path / "fox.toml"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def test_load_reads_every_field(lib_path):
    lib = load_library(lib_path)
    assert lib.problems == []
    assert lib.title == "Fox studies"
    fox = lib.get("Fox")
    assert fox.tags == ["animal", "winter"]
    assert fox.background == "snow-covered\npines"
    assert fox.params.seed == 42
    assert fox.params.loras == [Lora("a.safetensors", 0.8, ["kodak"])]


def test_unchanged_library_round_trips_byte_for_byte(lib_path):
    lib = load_library(lib_path)
    assert lib.render() == HAND_WRITTEN
    assert lib.save() is False  # nothing changed: nothing written
    lib.save(force=True)
    assert lib_path.read_text(encoding="utf-8") == HAND_WRITTEN


def test_one_field_changed_keeps_comments_and_unknown_keys(lib_path):
    lib = load_library(lib_path)
    lib.get("Fox").action = "sleeping in the snow"
    lib.get("Fox").params.steps = 30
    assert lib.save() is True
    text = lib_path.read_text(encoding="utf-8")
    assert 'action = "sleeping in the snow"' in text
    assert 'steps = 30' in text
    for kept in ('# Hand-written library', 'owner = "me"   # not a workbench key',
                 'name    = "Fox"      # aligned by hand', 'rating = 5',
                 "# the poster comes next", "subject = 'a red fox'"):
        assert kept in text
    # only the touched lines differ
    old, new = HAND_WRITTEN.splitlines(), text.splitlines()
    assert set(new) - set(old) == {'action = "sleeping in the snow"', "steps = 30"}
    assert backup_path(lib_path).read_text(encoding="utf-8") == HAND_WRITTEN
    again = load_library(lib_path)
    assert again.get("Fox").action == "sleeping in the snow"


def test_add_duplicate_delete_rename(lib_path):
    lib = load_library(lib_path)
    copy = lib.duplicate(lib.get("Fox"))
    assert copy.name == "Fox copy" and lib.prompts.index(copy) == 1
    copy.params.loras[0].strength = 0.3  # copies share nothing with the original
    assert lib.get("Fox").params.loras[0].strength == 0.8
    lib.remove(lib.get("Poster"))
    new = lib.add(PromptSpec(name="Fox", subject="another fox"))
    assert new.name == "Fox (2)"
    lib.get("Fox").name = "Red fox"
    lib.save()
    again = load_library(lib_path)
    assert [s.name for s in again.prompts] == ["Red fox", "Fox copy", "Fox (2)"]
    assert again.get("Fox copy").params.loras[0].strength == 0.3
    assert 'owner = "me"' in lib_path.read_text(encoding="utf-8")


def test_new_library_file(tmp_path):
    lib = new_library(tmp_path / "new.toml", title="New")
    lib.add(PromptSpec(name="A", subject="a", model="schnell", notes="two\nlines"))
    lib.save()
    again = load_library(tmp_path / "new.toml")
    assert again.get("A").model == "schnell" and again.get("A").notes == "two\nlines"
    assert again.doc["format"] == 1


def test_conflict_is_detected_and_nothing_is_clobbered(lib_path):
    lib = load_library(lib_path)
    lib.get("Fox").action = "mine"
    theirs = HAND_WRITTEN.replace("leaping", "swimming")
    lib_path.write_text(theirs, encoding="utf-8")
    with pytest.raises(ConflictError) as err:
        lib.save()
    assert "changed on disk" in str(err.value)
    assert lib_path.read_text(encoding="utf-8") == theirs
    copy = lib.save_copy()
    assert copy.name == "fox.your-copy.toml" and 'action = "mine"' in copy.read_text()
    assert '(your copy)"' in copy.read_text()  # titled as a copy, never a look-alike
    assert lib.save(force=True)
    assert 'action = "mine"' in lib_path.read_text(encoding="utf-8")


def test_deleted_file_counts_as_conflict(lib_path):
    lib = load_library(lib_path)
    lib.get("Fox").action = "x"
    os.remove(lib_path)
    with pytest.raises(ConflictError):
        lib.save()


def test_malformed_toml_gives_file_line_col_and_rest_of_collection_opens(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text('format = 1\n[[prompts]]\nname = "ok"\nsubject = "a cat"\n')
    bad = tmp_path / "b.toml"
    bad_text = 'format = 1\n[[prompts]]\nname = "broken\nsubject = "x"\n'
    bad.write_text(bad_text)
    collection = load_collection(tmp_path)
    assert [lib.path for lib in collection.libraries] == [good]
    assert len(collection.errors) == 1
    message = str(collection.errors[0])
    assert message.startswith(f"{bad}:3:")
    err = collection.errors[0]
    assert (err.line, err.col) == (3, 15)
    assert bad.read_text() == bad_text


def test_wrong_types_are_reported_and_kept(tmp_path):
    path = tmp_path / "t.toml"
    text = '[[prompts]]\nname = "x"\nmodel = "pro"\nsteps = "many"\nsubject = "a cat"\n'
    path.write_text(text)
    lib = load_library(path)
    spec = lib.get("x")
    assert spec.model == "dev" and spec.params.steps is None
    assert any("`model`" in p and "'pro'" in p for p in lib.problems)
    assert any("`steps`" in p for p in lib.problems)
    spec.subject = "a dog"
    lib.save()
    saved = path.read_text()
    assert 'model = "pro"' in saved and 'steps = "many"' in saved and '"a dog"' in saved


def test_not_utf8_is_reported_with_position(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(LibraryError) as err:
        load_library(path)
    assert str(err.value).startswith(f"{path}:1:")
    assert "UTF-8" in str(err.value)


def test_a_key_added_then_removed_again(lib_path):
    lib = load_library(lib_path)
    fox = lib.get("Fox")
    fox.raw = "raw text"
    fox.camera = "85mm"
    lib.save()
    assert 'raw = "raw text"' in lib_path.read_text()
    fox.raw = ""
    fox.camera = ""
    lib.save()
    text = lib_path.read_text()
    assert "raw =" not in text and "camera =" not in text
    assert text == HAND_WRITTEN


# -- a library read fast (tomllib) and only edited: its prompts' pieces of the text ---------

def _edit(lib) -> None:
    fox, poster = lib.get("Fox"), lib.get("Poster")
    fox.action, fox.params.steps, fox.camera = "sleeping in the snow", 30, "85mm"
    fox.tags = ["animal"]
    poster.text = ""
    poster.params.loras = [Lora("b.safetensors", 0.5, [])]


def test_an_edit_rewrites_only_its_prompts_piece_as_the_whole_document_would(lib_path,
                                                                               tmp_path):
    whole = load_library(lib_path)
    _edit(whole)
    expected = whole.render()
    fast = read_library(lib_path)
    _edit(fast)
    assert fast.needs_document is False
    assert fast.save() is True
    assert not fast.has_document  # tomlkit parsed the two edited prompts only
    assert lib_path.read_text(encoding="utf-8") == expected
    assert fast.save() is False   # saved as written: nothing left to write
    fast.get("Fox").camera = ""   # a key added, then removed again
    fast.get("Poster").text = "LISBOA"
    fast.get("Poster").params.loras = []
    fast.get("Fox").tags, fast.get("Fox").action = ["animal", "winter"], \
        "leaping over a frozen stream"
    fast.get("Fox").params.steps = None
    assert fast.save() is True
    again = read_library(lib_path)
    assert again.prompts == fast.prompts
    assert again.get("Fox").camera == "" and again.get("Poster").text == "LISBOA"
    assert lib_path.read_text(encoding="utf-8").startswith(HAND_WRITTEN.split("[[")[0])


def test_a_header_inside_a_multiline_string_falls_back_to_the_whole_document(tmp_path):
    path = tmp_path / "tricky.toml"
    path.write_text('[[prompts]]\nname = "A"\nsubject = """a fox\n[[prompts]]\nin text"""\n'
                    '\n[[prompts]]\nname = "B"\nsubject = "an owl"  # keep\n')
    lib = read_library(path)
    assert [s.name for s in lib.prompts] == ["A", "B"]
    lib.get("B").action = "flying"
    assert lib.save() is True
    assert lib.has_document  # three headers for two prompts: not cut, the document saved
    text = path.read_text()
    assert 'action = "flying"' in text and "# keep" in text and "[[prompts]]\nin text" in text
    assert read_library(path).get("B").action == "flying"


def test_a_piece_holding_more_than_its_prompt_falls_back_to_the_whole_document(tmp_path):
    path = tmp_path / "tail.toml"
    path.write_text('[[prompts]]\nname = "A"\nsubject = "a fox"\n\n[lint]\noff = ["FX101"]\n')
    lib = read_library(path)
    lib.get("A").action = "running"
    assert lib.save() is True
    assert lib.has_document  # the last piece held [lint] too: the document was parsed
    text = path.read_text()
    assert 'action = "running"' in text and '[lint]\noff = ["FX101"]' in text


def test_a_document_parsed_before_a_piecewise_save_is_not_attached(lib_path):
    lib = read_library(lib_path)
    pending = lib.parse_pending_document()
    lib.get("Fox").action = "asleep"
    assert lib.save() is True          # pieces rewritten: the pending document is stale
    lib.attach_document(pending)
    assert not lib.has_document
    lib.remove(lib.get("Poster"))      # the document parsed now has the edit
    assert lib.save() is True
    text = lib_path.read_text()
    assert 'action = "asleep"' in text and "Poster" not in text
    assert "# Hand-written library" in text
