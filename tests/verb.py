"""A headless verb in a subprocess, for what only a real process shows (signals, kills)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class Verb:
    """``workbench ARGS`` in a subprocess, its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", *args], cwd=REPO, env=dict(os.environ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                assert self.proc.poll() is None, "\n".join(self.err)
                continue
            self.err.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in:\n" + "\n".join(self.err))

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.proc.wait(timeout)
        out = self.proc.stdout.read()
        time.sleep(0.05)
        while not self.lines.empty():
            self.err.append(self.lines.get())
        return code, out, "\n".join(self.err)

    def __enter__(self) -> Verb:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:     # a failed test leaves no process behind
            self.proc.kill()
            self.proc.wait(10)
