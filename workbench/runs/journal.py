"""A write-ahead journal of submitted prompts, so a crash or kill loses no job.

Before POST /prompt the workbench appends "submitting" (with the prompt id it chose, the
server, the client id, the run folder, the cell and the exact workflow); after the server
accepts it, "queued"; when results are on disk, "finished".  Each line is one JSON object
written with a single ``write``; "submitting" and "finished" are fsynced ("queued" only
adds the queue number: recovery asks the server about a submitted prompt either way).
On the next start `Journal.unfinished` lists what was left open, and
`workbench.runs.recovery.recover` re-attaches to those prompts (same client id, so live
events still arrive) or collects them from /history; a server that no longer knows them
turns them into clear failures.

The file never grows without bound: when an entry is settled and nothing else is open the
file is emptied, and once it passes `COMPACT_BYTES` it is rewritten with only the open
entries.  So reading it at start costs what is still open, not the whole history.  Several
workbench processes may share it: appends and rewrites take a lock file.

Each entry names its owner (`this_process`: pid and the process's start time), so a
session never takes over the prompts of another one that is still running (`owner_alive`);
the start time tells a live owner from a later process that got the same pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import locations
from ..atomic import write_atomic

try:  # POSIX; elsewhere the lock is skipped (one process at a time)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: Rewrite the journal with only its open entries once it is this big.
COMPACT_BYTES = 256 * 1024


def journal_path() -> Path:
    return locations.state_dir() / "comfy-journal.jsonl"


def process_started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), None where that
    is not known (no /proc, no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()   # field 22, starttime; fields[0] is field 3
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def this_process() -> dict[str, Any]:
    """The owner of the entries this process writes (kept in each entry's meta)."""
    pid = os.getpid()
    return {"pid": pid, "started": process_started(pid)}


def owner_alive(meta: dict[str, Any]) -> bool:
    """Whether the process that wrote an entry (its ``pid`` and ``started`` in ``meta``)
    still runs; an entry with no owner recorded has none."""
    pid = meta.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if pid != os.getpid():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            pass   # it exists, owned by another user
    started = meta.get("started")
    now = process_started(pid)
    return not (isinstance(started, str) and now is not None and now != started)


@dataclass
class JournalEntry:
    prompt_id: str
    server: str
    client_id: str
    run_dir: str
    workflow: dict = field(default_factory=dict)
    seed: int | None = None
    meta: dict = field(default_factory=dict)
    state: str = "submitting"          # submitting, queued, finished
    number: float | None = None
    submitted_at: float = 0.0
    outcome: str = ""


class Journal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else journal_path()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)   # closing releases the lock

    def _append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        with self._locked():
            self._append_locked(record, sync=sync)

    def _append_locked(self, record: dict[str, Any], *, sync: bool = True) -> None:
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a kill cut the last line short: start a fresh one
            os.write(fd, line)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def submitting(self, entry: JournalEntry) -> None:
        entry.submitted_at = entry.submitted_at or time.time()
        self._append(_submitting_line(entry))

    def queued(self, prompt_id: str, number: float | None) -> None:
        """Note the server's queue number.  Not fsynced: recovery asks the server about a
        "submitting" entry all the same, so losing this line to a power cut loses nothing
        (a killed process loses no write either way)."""
        self._append({"event": "queued", "prompt_id": prompt_id, "number": number,
                      "at": time.time()}, sync=False)

    def finished(self, prompt_id: str, outcome: str) -> None:
        """Settle an entry.  When nothing else is open the file is emptied instead (so it
        never grows, and the next start reads nothing); past `COMPACT_BYTES` it is
        rewritten with only the open entries."""
        record = {"event": "finished", "prompt_id": prompt_id, "outcome": outcome,
                  "at": time.time()}
        with self._locked():
            data = self._read()
            entries = _fold(data)
            still_open = [e for e in entries.values()
                          if e.state != "finished" and e.prompt_id != prompt_id]
            if not still_open:
                if data:  # losing this to a crash only leaves settled lines behind
                    os.truncate(self.path, 0)
            elif len(data) >= COMPACT_BYTES:
                self._rewrite(still_open)
            else:
                self._append_locked(record)

    def entries(self) -> dict[str, JournalEntry]:
        """Every prompt in the journal, folded to its latest state (broken lines skipped:
        a kill can cut the last one short)."""
        return _fold(self._read())

    def unfinished(self, server: str | None = None) -> list[JournalEntry]:
        return [e for e in self.entries().values() if e.state != "finished"
                and (server is None or e.server.rstrip("/") == server.rstrip("/"))]

    def compact(self) -> None:
        """Rewrite the file with only the unfinished prompts."""
        with self._locked():
            entries = _fold(self._read())
            self._rewrite([e for e in entries.values() if e.state != "finished"])

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def _rewrite(self, open_entries: list[JournalEntry]) -> None:
        lines = []
        for entry in open_entries:
            lines.append(_submitting_line(entry))
            if entry.state == "queued":
                lines.append({"event": "queued", "prompt_id": entry.prompt_id,
                              "number": entry.number, "at": entry.submitted_at})
        write_atomic(self.path, "".join(json.dumps(x, ensure_ascii=False) + "\n"
                                        for x in lines).encode(), private=True)


def _submitting_line(entry: JournalEntry) -> dict[str, Any]:
    return {"event": "submitting", "prompt_id": entry.prompt_id, "server": entry.server,
            "client_id": entry.client_id, "run_dir": entry.run_dir,
            "workflow": entry.workflow, "seed": entry.seed, "meta": entry.meta,
            "at": entry.submitted_at}


def _fold(data: bytes) -> dict[str, JournalEntry]:
    found: dict[str, JournalEntry] = {}
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
            event, pid = record["event"], str(record["prompt_id"])
        except (ValueError, KeyError, TypeError):
            continue
        if event == "submitting":
            found[pid] = JournalEntry(
                pid, str(record.get("server", "")), str(record.get("client_id", "")),
                str(record.get("run_dir", "")), record.get("workflow") or {},
                record.get("seed"), record.get("meta") or {}, "submitting",
                submitted_at=float(record.get("at") or 0))
        elif pid in found and event == "queued":
            found[pid].state = "queued"
            found[pid].number = record.get("number")
        elif pid in found and event == "finished":
            found[pid].state = "finished"
            found[pid].outcome = str(record.get("outcome", ""))
    return found
