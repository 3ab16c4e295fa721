"""The editing policy without a UI: autosave bookkeeping, conflicts, failures, undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench import workspace
from workbench.collection import Collection
from workbench.editing import CONFLICT, NOT_SAVED, SAVED, SAVING, PromptKey, Saves, Undo, UndoError
from workbench.library import read_library
from workbench.spec import PromptSpec

TEXT = '''# kept comment
format = 1
title = "T"

[[prompts]]
name = "Fox"
subject = "a red fox"

[[prompts]]
name = "Fox"
subject = "an arctic fox"

[[prompts]]
name = "Owl"
subject = "a snowy owl"
'''


@pytest.fixture
def collection(tmp_path: Path) -> Collection:
    path = tmp_path / "lib.toml"
    path.write_text(TEXT)
    found = Collection(tmp_path)
    found.libraries.append(read_library(path))
    return found


def test_an_edit_is_pending_until_saved(collection):
    saves, library = Saves(collection), collection.libraries[0]
    assert saves.state(library) == SAVED and saves.due() == []
    library.prompts[2].subject = "a barn owl"
    assert saves.edited(library) is False      # an edit: no document needed
    assert saves.state(library) == SAVING
    assert saves.save_all(wait_for_documents=True) == []
    assert saves.state(library) == SAVED
    text = library.path.read_text()
    assert "a barn owl" in text and text.startswith("# kept comment")
    library.remove(library.prompts[0])
    assert saves.edited(library) is True       # a prompt removed: the document first
    assert saves.edited(library) is False      # ... once
    assert saves.due(wait_for_documents=True) == []   # waits for the parse
    assert saves.document_parsed(library, library.parse_pending_document()) is True
    assert saves.save_all(wait_for_documents=True) == []
    assert saves.state(library) == SAVED
    assert library.path.read_text().count("[[prompts]]") == 2


def test_a_conflict_is_said_once_and_kept_in_the_recovery_file(collection):
    saves, library = Saves(collection), collection.libraries[0]
    library.path.write_text(TEXT.replace("Owl", "Heron"))
    library.prompts[0].subject = "a sleepy fox"
    saves.edited(library)
    [notice] = saves.save_all()
    assert notice.severity == "error" and "changed on disk" in notice.message
    assert saves.state(library) == CONFLICT and saves.first_conflict() is library
    assert "a sleepy fox" in workspace.recovery_path(library).read_text()
    saves.edited(library)
    assert saves.save_all() == []              # not said again at every autosave
    assert "Heron" in library.path.read_text()  # theirs untouched


def test_keep_both_then_reload(collection):
    saves, library = Saves(collection), collection.libraries[0]
    library.path.write_text(TEXT.replace("Owl", "Heron"))
    library.prompts[0].subject = "a sleepy fox"
    saves.edited(library)
    saves.save_all()
    notices, fresh = saves.resolve(library, "keep")
    assert "saved as" in notices[0].message
    assert fresh is collection.libraries[0] and fresh.get("Heron") is not None
    mine = collection.libraries[1]
    assert mine.path.name == "lib.your-copy.toml" and mine.prompts[0].subject == "a sleepy fox"
    assert saves.state(fresh) == SAVED


def test_overwrite_and_later(collection):
    saves, library = Saves(collection), collection.libraries[0]
    library.path.write_text(TEXT.replace("Owl", "Heron"))
    library.prompts[0].subject = "a sleepy fox"
    saves.edited(library)
    saves.save_all()
    notices, fresh = saves.resolve(library, None)
    assert "paused" in notices[0].message and fresh is None
    assert saves.state(library) == CONFLICT
    assert saves.resolve(library, "overwrite") == ([], None)
    assert "a sleepy fox" in library.path.read_text() and saves.state(library) == SAVED


def test_a_failed_save_is_said_once_per_cause(collection):
    results = [workspace.SaveResult("failed", "read-only"),
               workspace.SaveResult("failed", "read-only"),
               workspace.SaveResult("failed", "disk full"),
               workspace.SaveResult("saved")]
    saves, library = Saves(collection, save=lambda lib, force=False: results.pop(0)), \
        collection.libraries[0]
    said = []
    for _ in range(4):
        saves.edited(library)
        said.append([n.message for n in saves.save_all()])
        if results:
            assert saves.state(library) == NOT_SAVED
    assert said == [["read-only"], [], ["disk full"], []]
    assert saves.state(library) == SAVED


def test_undo_finds_its_prompt_by_library_and_name_after_a_reload(collection):
    saves, undo = Saves(collection), Undo()
    library = collection.libraries[0]
    second_fox = library.prompts[1]
    undo.change(library, second_fox, second_fox.copy(subject="a fennec fox"))
    assert library.prompts[1].subject == "a fennec fox"
    saves.edited(library)
    saves.save_all()
    fresh = saves.reload(library)      # new objects for the same prompts
    library, spec = undo.undo(collection)
    assert library is fresh and spec is fresh.prompts[1]   # the second "Fox", not the first
    assert spec.subject == "an arctic fox" and fresh.prompts[0].subject == "a red fox"
    with pytest.raises(UndoError, match="Nothing to undo"):
        undo.undo(collection)


def test_undo_of_a_prompt_that_is_gone(collection):
    undo, library = Undo(), collection.libraries[0]
    owl = library.prompts[2]
    undo.change(library, owl, owl.copy(subject="a barn owl"))
    library.remove(owl)
    with pytest.raises(UndoError, match="gone"):
        undo.undo(collection)


def test_prompt_keys():
    from workbench.library import Entry, new_library

    library = new_library(Path("/x/lib.toml"))
    a, b = PromptSpec(name="A"), PromptSpec(name="A")   # twins, as a hand-edited file has
    library.entries += [Entry(a), Entry(b)]
    assert PromptKey.of(library, b) == PromptKey(Path("/x/lib.toml"), "A", 1)
    collection = Collection(Path("/x"))
    collection.libraries.append(library)
    assert PromptKey.of(library, a).find(collection) == (library, a)
    assert PromptKey(Path("/x/lib.toml"), "A", 2).find(collection) is None



def test_a_save_in_a_thread_keeps_an_edit_made_meanwhile(collection):
    saves, library = Saves(collection), collection.libraries[0]
    library.attach_document(library.parse_pending_document())
    assert saves.unsaved(library) is False          # known clean: no prompt comparison
    library.prompts[2].subject = "a barn owl"
    saves.edited(library)
    assert saves.begin_background() == [library]
    assert saves.begin_background() == []           # one thread per library at a time
    library.prompts[2].subject = "a barn owl at dusk"   # typed while the thread writes
    saves.edited(library)
    result, seconds = saves.write(library)
    assert saves.finished(library, result, seconds) is None
    assert saves.state(library) == SAVING and saves.begin_background() == [library]
    saves.finished(library, *saves.write(library))
    assert saves.state(library) == SAVED and "at dusk" in library.path.read_text()


def test_a_big_library_is_saved_in_pauses_of_typing_from_its_first_save(tmp_path):
    from workbench.editing import BIG_LIBRARY
    from workbench.library import Entry, Library

    big = Library(tmp_path / "big.toml",
                  entries=[Entry(PromptSpec(name=f"P{i}")) for i in range(BIG_LIBRARY)])
    small = Library(tmp_path / "small.toml", entries=[Entry(PromptSpec(name="A"))])
    collection = Collection(tmp_path)
    collection.libraries += [big, small]
    assert Saves(collection).slow == {big.path}
