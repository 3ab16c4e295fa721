"""Ctrl+C on ``workbench run``, for real: a subprocess against the strict fake (in a
thread of this process), SIGINT while the server is silently encoding the text."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.comfy.conftest import write_library
from tests.verb import Verb
from workbench import cli
from workbench.runs import history
from workbench.runs.journal import Journal

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


def run_args(library: Path, url: str, *extra: str) -> list[str]:
    return ["run", "fox", "--library", str(library), "--comfyui-url", url, *extra]


def test_ctrl_c_during_a_silent_encode_takes_the_prompt_back_and_exits_130(
        threaded_fake, tmp_path, capsys):
    server = threaded_fake(encode_delay=2.0)
    library = write_library(tmp_path, FOX)
    with Verb(*run_args(library, server.url, "--out", str(tmp_path / "cancelled"))) as verb:
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
    with Verb(*run_args(library, server.url)) as verb:
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


def test_ctrl_c_while_collecting_cancels_what_an_earlier_session_left(threaded_fake,
                                                                      tmp_path):
    server = threaded_fake(encode_delay=1.0)
    library = write_library(tmp_path, FOX)
    with Verb(*run_args(library, server.url)) as verb:     # the earlier session, killed
        verb.wait_for("encoding text…")
        server.fake.stall()             # the server holds it before its next node
        verb.proc.kill()
        verb.proc.wait(10)
    [left] = Journal().unfinished()
    with Verb(*run_args(library, server.url)) as verb:
        verb.wait_for(f"{left.prompt_id}: “fox” of ")
        verb.proc.send_signal(signal.SIGINT)
        verb.wait_for("cancelling:")
        deadline = time.monotonic() + 30
        while not server.fake._running.interrupted:    # the interrupt reached the server
            assert time.monotonic() < deadline
            time.sleep(0.02)
        server.loop.call_soon_threadsafe(server.fake.resume)   # next node: interrupted
        code, out, err = verb.finish()
    assert code == 130, err
    assert "nothing of this run is left queued or running" in err
    assert server.fake._running is None and server.fake.queue_remaining == 0
    assert len(server.fake.submitted) == 1           # its own prompt was never sent
    assert Journal().unfinished() == []
    [old] = history.load_run(Path(left.run_dir)).results.values()
    assert old.status == "cancelled"
