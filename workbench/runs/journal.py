"""A write-ahead journal of submitted prompts, so a crash or kill loses no job.

Before POST /prompt the workbench appends "submitting" (with the prompt id it chose, the
server, the client id, the run folder and the exact workflow); after the server accepts
it, "queued"; when results are on disk, "finished".  Each line is one JSON object written
with a single ``write`` and fsynced.  On the next start `Journal.unfinished` lists what
was left open, and `workbench.runs.jobs.recover` re-attaches to those prompts (same client
id, so live events still arrive) or collects them from /history; a server that no longer
knows them turns them into clear failures.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import locations


def journal_path() -> Path:
    return locations.state_dir() / "comfy-journal.jsonl"


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

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a kill cut the last line short: start a fresh one
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def submitting(self, entry: JournalEntry) -> None:
        entry.submitted_at = entry.submitted_at or time.time()
        self._append({"event": "submitting", "prompt_id": entry.prompt_id,
                      "server": entry.server, "client_id": entry.client_id,
                      "run_dir": entry.run_dir, "workflow": entry.workflow, "seed": entry.seed,
                      "meta": entry.meta, "at": entry.submitted_at})

    def queued(self, prompt_id: str, number: float | None) -> None:
        self._append({"event": "queued", "prompt_id": prompt_id, "number": number,
                      "at": time.time()})

    def finished(self, prompt_id: str, outcome: str) -> None:
        self._append({"event": "finished", "prompt_id": prompt_id, "outcome": outcome,
                      "at": time.time()})

    def entries(self) -> dict[str, JournalEntry]:
        """Every prompt in the journal, folded to its latest state (broken lines skipped:
        a kill can cut the last one short)."""
        found: dict[str, JournalEntry] = {}
        if not self.path.exists():
            return found
        for raw in self.path.read_bytes().splitlines():
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

    def unfinished(self, server: str | None = None) -> list[JournalEntry]:
        return [e for e in self.entries().values() if e.state != "finished"
                and (server is None or e.server.rstrip("/") == server.rstrip("/"))]

    def compact(self) -> None:
        """Rewrite the file with only the unfinished prompts (keeps it small)."""
        open_entries = self.unfinished()
        lines = []
        for e in open_entries:
            lines.append({"event": "submitting", "prompt_id": e.prompt_id, "server": e.server,
                          "client_id": e.client_id, "run_dir": e.run_dir,
                          "workflow": e.workflow, "seed": e.seed, "meta": e.meta,
                          "at": e.submitted_at})
            if e.state == "queued":
                lines.append({"event": "queued", "prompt_id": e.prompt_id, "number": e.number,
                              "at": e.submitted_at})
        from ..atomic import write_atomic

        write_atomic(self.path, "".join(json.dumps(x, ensure_ascii=False) + "\n"
                                        for x in lines).encode())
