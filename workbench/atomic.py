"""Crash-safe file writes: the file on disk is always either the old or the new version.

Write to a temporary file in the same folder, fsync it, rename it over the target, then
fsync the folder so the rename itself survives a power cut or a dropped SSH session.

The rename must not change what the file *is*: a symlink is written through (the new
version lands beside the link's target, the link stays), a read-only file is refused
(`ReadOnlyFile`) instead of being quietly replaced, an existing file keeps its mode, and a
new file gets the mode the user's umask asks for (0644 under the usual 022), like any
other program's files; ``private=True`` (journals, recovery files) makes it 0600.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path


class ReadOnlyFile(PermissionError):
    """The target exists and is read-only (no write permission bit, or not writable by us)."""

    def __init__(self, path: Path, mode: int) -> None:
        super().__init__(errno.EACCES, "read-only", str(path))
        self.path, self.mode = Path(path), mode

    def __str__(self) -> str:
        return (f"{self.path} is read-only (mode {self.mode:04o}); make it writable "
                f"(chmod u+w) to save it")


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def write_target(path: Path) -> Path:
    """The file a write to ``path`` really changes: a symlink's (final) target."""
    path = Path(path)
    if path.is_symlink():
        return path.resolve()
    return path


def check_writable(path: Path) -> None:
    """Raise `ReadOnlyFile` when ``path`` exists and the user made it read-only.

    The write bits decide (root may write anything, but a 0444 library is a statement);
    `os.access` catches files owned by someone else."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(mode):
        return
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise ReadOnlyFile(Path(path), stat.S_IMODE(mode))


def write_atomic(path: Path, data: bytes, *, backup: bool = False,
                 private: bool = False) -> Path:
    """Replace ``path`` with ``data`` atomically; keep the previous bytes as ``<name>.bak``.

    Returns the file written (a symlink's target).  Raises `ReadOnlyFile` for a read-only
    target and `OSError` for the rest (nothing is changed then)."""
    target = write_target(Path(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    check_writable(target)
    if backup and target.exists():
        # a new .bak is as private as the file it copies
        _write_replace(backup_path(target), target.read_bytes(),
                       stat.S_IMODE(os.stat(target).st_mode))
    _write_replace(target, data, new_file_mode(private))
    return target


def write_atomic_files(files: list[tuple[Path, bytes]]) -> None:
    """`write_atomic` for several new or replaced files at once (no backups): each
    is written, fsynced and renamed into place, and each folder is fsynced once."""
    folders: dict[Path, None] = {}
    for path, data in files:
        target = write_target(Path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        check_writable(target)
        _write_replace(target, data, new_file_mode(), sync_folder=False)
        folders[target.parent] = None
    for folder in folders:
        _fsync_dir(folder)


_UMASK: int | None = None


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("Umask:"):
                        _UMASK = int(line.split()[1], 8)
                        break
        except (OSError, ValueError):
            pass
        if _UMASK is None:  # pragma: no cover - no /proc (macOS): set and restore
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def new_file_mode(private: bool = False) -> int:
    return 0o600 if private else 0o666 & ~current_umask()


def _write_replace(path: Path, data: bytes, new_mode: int, *, sync_folder: bool = True) -> None:
    """Atomically replace ``path``, keeping its mode, or giving it ``new_mode`` if new."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            try:
                existing = os.stat(path).st_mode
            except FileNotFoundError:
                existing = None
            mode = stat.S_IMODE(existing) if existing is not None else new_mode
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync_folder:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
