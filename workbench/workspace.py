"""The libraries a session works on, and the rule that no edit is ever lost.

`open_workspace` picks what to open (a given PATH, or the user's libraries folder, seeded
with the bundled examples on first start).  `save` writes a library atomically; when it
can't (the file changed on disk, the disk is full, permissions) the edits go to a recovery
file instead and the caller is told which, so the TUI can ask the user what to do.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import locations
from .atomic import ReadOnlyFile, write_atomic
from .collection import Collection, load_collection
from .library import ConflictError, Entry, Library, LibraryError, new_library


def seed_user_libraries(target: Path | None = None) -> Path:
    """Create the user's libraries folder with copies of the bundled examples, once."""
    target = target or locations.libraries_dir()
    if not target.exists():
        target.mkdir(parents=True)
        bundled = locations.bundled_prompts_dir()
        if bundled.is_dir():  # libraries and the images they refer to (relative paths)
            shutil.copytree(bundled, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".*", "*.bak"))
        if not any(target.glob("*.toml")):
            new_library(target / "my-prompts.toml", title="My prompts").save()
    return target


def open_workspace(path: Path | None) -> Collection:
    root = Path(path).expanduser() if path else seed_user_libraries()
    if not root.exists() and root.suffix == ".toml":
        # `workbench new.toml`: start a new library there (written on first save).
        collection = Collection(root)
        collection.libraries.append(new_library(root, title=root.stem))
        return collection
    collection = load_collection(root)
    if root.is_dir() and not collection.libraries and not collection.errors:
        collection.libraries.append(new_library(root / "my-prompts.toml", title="My prompts"))
    return collection


@dataclass
class SaveResult:
    """What happened to a save: ``saved``, ``unchanged``, ``conflict`` or ``failed``."""

    status: str
    message: str = ""
    recovery: Path | None = None


def recovery_path(library: Library) -> Path:
    key = hashlib.sha256(str(library.path.resolve()).encode()).hexdigest()[:12]
    return locations.recovery_dir() / f"{library.path.stem}-{key}.toml"


def write_recovery(library: Library) -> Path:
    """Keep the library's current text where it can't be lost, whatever the file is doing."""
    target = recovery_path(library)
    header = (f"# Recovered edits of {library.path}\n"
              f"# written {time.strftime('%Y-%m-%d %H:%M:%S')}; open this file with "
              f"`workbench {target}` or copy what you need back.\n")
    try:
        text = library.render()
    except LibraryError:  # the file's own text can't be kept: save the prompts plainly
        plain = new_library(library.path, library.title)
        for spec in library.prompts:
            plain.entries.append(Entry(spec.copy()))
        text = plain.render()
    write_atomic(target, (header + text).encode("utf-8"), private=True)
    return target


def discard_recovery(library: Library) -> None:
    """Forget the recovery file of ``library`` (its edits are safe elsewhere now)."""
    recovery_path(library).unlink(missing_ok=True)


def save(library: Library, *, force: bool = False) -> SaveResult:
    try:
        wrote = library.save(force=force)
    except ConflictError as exc:
        return SaveResult("conflict", str(exc), write_recovery(library))
    except (OSError, LibraryError) as exc:
        try:
            recovery = write_recovery(library)
        except OSError:
            recovery = None
        where = f"; your edits are in {recovery}" if recovery else ""
        why = str(exc) if isinstance(exc, (ReadOnlyFile, LibraryError)) else \
            f"could not save: {exc.strerror or exc}"
        return SaveResult("failed", f"{library.path}: {why}{where}", recovery)
    if wrote:
        recovery_path(library).unlink(missing_ok=True)
    return SaveResult("saved" if wrote else "unchanged")


def pending_recoveries() -> list[Path]:
    folder = locations.recovery_dir()
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []
