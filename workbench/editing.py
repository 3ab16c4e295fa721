"""The editing policy: when libraries are saved, what a failed or conflicting save means
for the user, and undo of the changes a proposal or a lint fix made.

Plain objects, no Textual: the TUI asks them what to do and shows what they say (as
`Notice` values).  A library is known by its path and a prompt by (library path, name,
which of that name), never by object identity: a library reloaded from disk keeps its
save state, and an undo step finds its prompt again.

The rule all of it serves: no edit is ever lost.  A save that can't land (the file
changed on disk, a read-only file, a full disk) leaves the edits in a recovery file
(`workspace.save`) and the user decides on F6; nothing is asked mid-typing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import workspace
from .collection import Collection
from .library import Library, LibraryError, read_library
from .spec import PromptSpec


@dataclass(frozen=True)
class Notice:
    """Something to tell the user (the TUI shows it as a toast)."""

    message: str
    title: str = ""
    severity: str = "information"   # information | warning | error
    timeout: float | None = None


@dataclass(frozen=True)
class PromptKey:
    """A prompt as the user knows it: its library's file, its name, and which of the
    prompts with that name it is (0 for the first), as ``NAME#N`` counts them."""

    library: Path
    name: str
    nth: int = 0

    @classmethod
    def of(cls, library: Library, spec: PromptSpec) -> PromptKey:
        same = [s for s in library.prompts if s.name == spec.name]
        nth = next((i for i, s in enumerate(same) if s is spec), 0)
        return cls(library.path, spec.name, nth)

    def find(self, collection: Collection) -> tuple[Library, PromptSpec] | None:
        for library in collection.libraries:
            if library.path == self.library:
                same = [s for s in library.prompts if s.name == self.name]
                return (library, same[self.nth]) if self.nth < len(same) else None
        return None


def replace_content(spec: PromptSpec, new: PromptSpec) -> None:
    """Give ``spec`` the content of ``new`` in place: the library holds that object."""
    for name in vars(new):
        setattr(spec, name, getattr(new, name))


class UndoError(Exception):
    """Nothing to undo, or the prompt it was for is gone (the message says which)."""


@dataclass
class Undo:
    """The changes that can be undone, newest last: where the prompt is and its content
    before the change."""

    limit: int = 100
    steps: list[tuple[PromptKey, PromptSpec]] = field(default_factory=list)

    def change(self, library: Library, spec: PromptSpec, new: PromptSpec) -> None:
        """Replace ``spec``'s content with ``new``'s, keeping the old content to undo."""
        before = spec.copy()
        replace_content(spec, new)
        self.steps.append((PromptKey.of(library, spec), before))
        del self.steps[:-self.limit]

    def undo(self, collection: Collection) -> tuple[Library, PromptSpec]:
        """Restore the prompt of the latest change; returns where it is."""
        if not self.steps:
            raise UndoError("Nothing to undo")
        key, before = self.steps.pop()
        found = key.find(collection)
        if found is None:
            raise UndoError("That prompt is gone; nothing to undo")
        library, spec = found
        replace_content(spec, before)
        return library, spec


#: What the status line says about a library, and how loudly: (state, level).
SAVED, SAVING = ("saved", "ok"), ("saving…", "ok")
CONFLICT = ("conflict: edits kept in recovery file", "error")
NOT_SAVED = ("not saved: edits kept in recovery file", "error")


#: A library whose last save took longer than this (thousands of prompts) is saved in a
#: pause of typing instead (the caller's timer waits for one, up to a limit).
SLOW_SAVE = 0.1
#: A library this big is taken for slow before its first save (comparing its prompts with
#: the saved ones alone takes tens of milliseconds, in a thread that shares the GIL with
#: the typing).
BIG_LIBRARY = 2000


class Saves:
    """Which libraries have edits to save, and what became of their last save.

    The caller owns the clock: it calls `edited` on each change, and when its autosave
    timer fires either `save_all` (on quit, F6) or, to keep the UI thread free, takes
    `begin_background` and has a thread `write` each library, then hands the result to
    `finished`.  A library read without its comment-preserving document needs it parsed
    before a save; `edited` says so, the caller parses it off the UI thread and hands it
    to `document_parsed`.  One save at a time (a thread's or the UI's): `lock`.
    """

    def __init__(self, collection: Collection,
                 save: Callable[..., workspace.SaveResult] | None = None) -> None:
        self.collection = collection
        self._save_with = save  # (default: workspace.save, looked up at each save)
        self.lock = threading.RLock()
        self.pending: set[Path] = set()      # edited since their last save
        self.preparing: set[Path] = set()    # their document is being parsed
        self.saving: set[Path] = set()       # a thread is writing them
        self.conflicted: set[Path] = set()   # changed on disk: the user decides (F6)
        self.failed: dict[Path, str] = {}    # why their last save failed
        # their last save took over SLOW_SAVE (or, not saved yet, they are big)
        self.slow: set[Path] = {lib.path for lib in collection.libraries
                                if len(lib.entries) >= BIG_LIBRARY}
        # Known to match their file (read from it, or saved since, no edits after): the
        # status line and autosave skip comparing their prompts one by one.
        self.clean: set[Path] = {lib.path for lib in collection.libraries if lib.digest}

    # -- edits ------------------------------------------------------------------------------
    def edited(self, library: Library) -> bool:
        """Note an edit; True when the caller should parse the library's document first
        (and then call `document_parsed`): not for edits of the prompts as loaded."""
        self.pending.add(library.path)
        self.clean.discard(library.path)
        if library.path in self.preparing or not library.needs_document:
            return False
        self.preparing.add(library.path)
        return True

    def document_parsed(self, library: Library, doc) -> bool:
        """Attach a document parsed off the UI thread (None: parsing failed, the save will
        say why); True when the library is waiting to be saved."""
        self.preparing.discard(library.path)
        if doc is not None:
            try:
                library.attach_document(doc)
            except LibraryError:  # the save says what is wrong (and keeps the edits)
                pass
        return library.path in self.pending

    def unsaved(self, library: Library) -> bool:
        """Edits not on disk yet (a full comparison only for a library not known clean:
        for 10,000 prompts it takes tens of milliseconds)."""
        path = library.path
        return path in self.pending or path in self.saving or (
            path not in self.clean and library.dirty)

    # -- saving -----------------------------------------------------------------------------
    def _save(self, library: Library, *, force: bool = False) -> workspace.SaveResult:
        return (self._save_with or workspace.save)(library, force=force)

    def due(self, *, wait_for_documents: bool = False) -> list[Library]:
        """The libraries to save now (those whose document is being parsed can wait)."""
        return [lib for lib in self.collection.libraries
                if not (wait_for_documents and lib.path in self.preparing)
                and self.unsaved(lib)]

    def save_all(self, *, wait_for_documents: bool = False) -> list[Notice]:
        """Save now, on this thread (quit, F6): after any save a thread is making."""
        with self.lock:
            notices = [self.save(lib)
                       for lib in self.due(wait_for_documents=wait_for_documents)]
        return [n for n in notices if n is not None]

    def save(self, library: Library, *, force: bool = False) -> Notice | None:
        with self.lock:
            result = self._save(library, force=force)
        return self.record(library, result)

    # -- saving in a thread ----------------------------------------------------------------
    def begin_background(self) -> list[Library]:
        """The libraries an autosave thread should write now (each then `write`, then
        `finished`); those whose document is parsed or that a thread writes wait."""
        due = [lib for lib in self.collection.libraries
               if lib.path not in self.preparing and lib.path not in self.saving
               and self.unsaved(lib)]
        for lib in due:
            self.pending.discard(lib.path)
            self.saving.add(lib.path)
        return due

    def write(self, library: Library) -> tuple[workspace.SaveResult, float]:
        """Save ``library`` (in a worker thread): the result and how long it took."""
        with self.lock:
            started = time.monotonic()
            try:
                result = self._save(library)
            except Exception as exc:  # noqa: BLE001 - said; the edits stay in memory
                result = workspace.SaveResult("failed", f"{library.path}: not saved: {exc}")
            return result, time.monotonic() - started

    def finished(self, library: Library, result: workspace.SaveResult,
                 seconds: float = 0.0) -> Notice | None:
        """A thread's save is over (a library edited meanwhile stays pending)."""
        self.saving.discard(library.path)
        (self.slow.add if seconds > SLOW_SAVE else self.slow.discard)(library.path)
        pending = library.path in self.pending
        notice = self.record(library, result)
        if pending:   # an edit made while the thread wrote stays unsaved
            self.pending.add(library.path)
            self.clean.discard(library.path)
        return notice

    def record(self, library: Library, result: workspace.SaveResult) -> Notice | None:
        """Take in how a save went; what to tell the user, once per cause."""
        path = library.path
        self.pending.discard(path)
        if result.status in ("saved", "unchanged"):
            self.clean.add(path)
        if result.status == "conflict":
            # Never a question mid-typing (it would swallow keystrokes): a toast and the
            # status line, the edits in the recovery file, the question on F6.
            if path in self.conflicted:
                return None
            self.conflicted.add(path)
            return Notice(f"{path} changed on disk. Your edits are kept in "
                          f"{result.recovery}. Press F6 to reload, keep both or overwrite.",
                          "Not saved: conflict", "error", 20)
        if result.status == "failed":
            # once per cause, not at every autosave (a read-only file stays read-only)
            said = self.failed.get(path) == result.message
            self.failed[path] = result.message
            return None if said else Notice(result.message, "Not saved", "error", 15)
        self.conflicted.discard(path)
        self.failed.pop(path, None)
        return None

    def state(self, library: Library) -> tuple[str, str]:
        """(what the status line says, its level) for ``library``."""
        if library.path in self.conflicted:
            return CONFLICT
        if library.path in self.failed:
            return NOT_SAVED
        return SAVING if self.unsaved(library) else SAVED

    def first_conflict(self) -> Library | None:
        return next((lib for lib in self.collection.libraries
                     if lib.path in self.conflicted), None)

    # -- the user's answer to a conflict ------------------------------------------------------
    def resolve(self, library: Library, answer: str | None) -> tuple[list[Notice], Library | None]:
        """Apply the answer to a conflict: ``overwrite``, ``keep`` (both), ``reload`` or
        None (decide later).  Returns what to tell and the library reloaded, if any."""
        if answer == "overwrite":
            self.conflicted.discard(library.path)
            notice = self.save(library, force=True)
            return [notice] if notice else [], None
        if answer not in ("reload", "keep"):
            return [Notice("Autosave of this library is paused; your edits are in the "
                           "recovery file. Press F6 to decide.", severity="warning")], None
        notices = []
        if answer == "keep":
            with self.lock:  # (renders the document a thread may be saving)
                copy = library.save_copy()
            kept = read_library(copy)
            self.collection.libraries.append(kept)
            self.clean.add(kept.path)
            workspace.discard_recovery(library)  # the copy holds the edits now
            notices.append(Notice(f"Your edits are in “{kept.title}”, saved as {copy}; "
                                  "you go on editing the original, as it is on disk now."))
        try:
            return notices, self.reload(library)
        except (LibraryError, OSError) as exc:
            return notices + [Notice(str(exc), "Reload failed", "error")], None

    def reload(self, library: Library) -> Library:
        """Read ``library`` again from disk in its place; its unsaved edits are dropped."""
        with self.lock:  # after a save a thread may be making
            fresh = read_library(library.path)
        self.clean.add(fresh.path)
        index = self.collection.libraries.index(library)
        self.collection.libraries[index] = fresh
        self.conflicted.discard(library.path)
        self.pending.discard(library.path)
        return fresh
