"""Ctrl+C on ``workbench run``, for real: a subprocess against the strict fake (in a
thread of this process), SIGINT while the server is silently encoding the text."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.comfy.conftest import write_library
from workbench import cli
from workbench.runs import history
from workbench.runs.journal import Journal

REPO = Path(__file__).resolve().parents[2]
FOX = '''[[prompts]]
name = "fox"
model = "dev"
subject = "a red fox"
steps = 3
width = 48
height = 32
seed = 42

[[prompts]]
name = "owl"
model = "dev"
subject = "a snowy owl"
steps = 3
width = 48
height = 32
seed = 7
'''


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


def run_args(library: Path, url: str, *extra: str) -> list[str]:
    return ["run", "fox", "--library", str(library), "--comfyui-url", url, *extra]


def test_ctrl_c_during_a_silent_encode_takes_the_prompt_back_and_exits_130(
        threaded_fake, tmp_path, capsys):
    server = threaded_fake(encode_delay=2.0)
    library = write_library(tmp_path, FOX)
    verb = Verb(*run_args(library, server.url, "--out", str(tmp_path / "cancelled")))
    verb.wait_for("encoding text… · “Positive Prompt”")
    verb.proc.send_signal(signal.SIGINT)
    code, out, err = verb.finish()
    assert code == 130, err
    assert "cancelling: deleting this run's queued prompts and interrupting its running" in err
    assert "cancelled; nothing of this run is left queued or running on " + server.url in err
    assert out == ""                                  # no image path: nothing was made
    fake = server.fake
    assert fake._running is None and fake.queue_remaining == 0
    [entry] = fake._history.values()
    assert [m[0] for m in entry["status"]["messages"]][-1] == "execution_interrupted"
    assert history.load_run(tmp_path / "cancelled").status == "cancelled"
    assert Journal().unfinished() == []               # settled: nothing to recover
    # the next run starts at once: nothing to collect, its prompt runs
    fake.encode_delay = 0.005
    assert cli.main(run_args(library, server.url)) == 0
    err = capsys.readouterr().err
    assert "collecting" not in err and "success" in err
    assert len(fake.submitted) == 2


def test_second_ctrl_c_leaves_at_once_and_the_next_run_collects_the_prompt(
        threaded_fake, tmp_path, capsys):
    server = threaded_fake(encode_delay=3.0)
    library = write_library(tmp_path, FOX)
    verb = Verb(*run_args(library, server.url))
    verb.wait_for("encoding text…")
    verb.proc.send_signal(signal.SIGINT)
    verb.wait_for("cancelling:")
    started = time.monotonic()
    verb.proc.send_signal(signal.SIGINT)
    code, _, err = verb.finish()
    assert code == 130 and time.monotonic() - started < 2.5   # before the encode ended
    [left] = Journal().unfinished()
    assert f"leaving now; left on the server (the next run collects it when it ends): " \
           f"{left.prompt_id} running on {server.url}" in err
    # --no-recover leaves it for later, and says so
    server.fake.encode_delay = 0.005
    assert cli.main(run_args(library, server.url, "--no-recover", "--seed", "1")) == 0
    assert "1 prompt(s) an earlier session left on" in capsys.readouterr().err
    assert [e.prompt_id for e in Journal().unfinished()] == [left.prompt_id]
    # the next run names what it collects and follows it
    assert cli.main(run_args(library, server.url, "--seed", "2")) == 0
    err = capsys.readouterr().err
    assert f"collecting 1 prompt(s) an earlier session left on {server.url}" in err
    assert f"{left.prompt_id}: “fox” of " in err
    assert Journal().unfinished() == []
