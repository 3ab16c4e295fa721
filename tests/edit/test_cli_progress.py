"""``workbench edit`` as a user watches it: per-step progress, the output size, Kontext's
``--keep-size``, Ctrl+C, and a killed chain picked up again with ``--reuse``."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from PIL import Image

from tests.comfy.conftest import write_library
from tests.edit.conftest import make_image
from tests.verb import Verb
from workbench import cli
from workbench.runs import history
from workbench.runs.journal import Journal


def edit(source: Path, url: str, *extra: str) -> int:
    return cli.main(["edit", str(source), "Make the sky purple", "--then", "Add a red hat",
                     "--seed", "3", "--comfyui-url", url, *extra])


def test_edit_prints_per_step_progress_and_the_output_size(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    source = make_image(tmp_path / "cat.png", (400, 300))
    assert edit(source, server.url, "--out", str(tmp_path / "out")) == 0
    err = capsys.readouterr().err
    for step in (1, 2):
        assert f"step {step}/2: sampling step 1/28 · “Sampler” " in err
        assert f"step {step}/2: sampling step 28/28 · “Sampler” " in err
        assert f"step {step}/2: encoding text… · “Positive Prompt”" in err
    # step 1 knows no timings: its bar is the steps; step 2 weighs in what step 1 measured
    assert "step 1/2: sampling step 7/28 · “Sampler” 25% · " in err
    # Kontext's preferred size, said in a note and in each step's line
    assert "note: the result is 1184x880: Kontext edits at its preferred size nearest the " \
           "source's 400x300; keep_size = true (--keep-size) scales it back" in err
    assert "step 1 success: 1184x880 in " in err and "step 2 success: 1184x880 in " in err


def test_edit_keep_size_scales_each_result_back_to_the_source(threaded_fake, tmp_path,
                                                             capsys):
    server = threaded_fake()
    source = make_image(tmp_path / "cat.png", (400, 300))
    out = tmp_path / "out"
    assert edit(source, server.url, "--out", str(out), "--keep-size") == 0
    captured = capsys.readouterr()
    images = [Path(line) for line in captured.out.splitlines()]
    assert [Image.open(p).size for p in images] == [(400, 300), (400, 300)]
    assert "the result is scaled back to 400x300 (keep_size)" in captured.err
    assert "step 2 success: 400x300 in " in captured.err
    for submitted in server.fake.submitted:     # the workflow scales, not a resize after
        graph = submitted["prompt"]
        [scale] = [n for n in graph.values() if n["class_type"] == "ImageScale"]
        assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (400, 300)
    manifest = json.loads((out / "manifest.json").read_text())
    assert all("(keep_size)" in " ".join(c["notes"]) for c in manifest["cells"].values())


def test_run_reports_the_output_size_and_honours_keep_size(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    source = make_image(tmp_path / "cat.png", (400, 300))
    library = write_library(tmp_path, '''[[prompts]]
name = "hat"
model = "kontext"
raw = "Add a red hat while keeping everything else the same"
steps = 2
seed = 5
''')
    args = ["run", "hat", "--library", str(library), "--image", str(source),
            "--comfyui-url", server.url]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "success in " in err and ": 1 image(s) 1184x880 in " in err
    assert cli.main([*args, "--keep-size"]) == 0
    captured = capsys.readouterr()
    assert ": 1 image(s) 400x300 in " in captured.err
    assert Image.open(captured.out.strip()).size == (400, 300)


def test_ctrl_c_on_edit_cancels_the_step_and_a_killed_chain_is_reused(threaded_fake,
                                                                     tmp_path, capsys):
    server = threaded_fake(step_delay=0.02)
    source = make_image(tmp_path / "cat.png", (64, 48))
    first = tmp_path / "first"
    args = ["edit", str(source), "Make the sky purple", "--then", "Add a red hat", "--seed",
            "3", "--comfyui-url", server.url]
    # Ctrl+C while step 2 is silently encoding its text
    with Verb(*args, "--out", str(first)) as verb:
        verb.wait_for("step 1 success")
        server.fake.encode_delay = 2.0
        verb.wait_for("step 2/2: encoding text…")
        verb.proc.send_signal(signal.SIGINT)
        code, out, err = verb.finish()
    assert code == 130, err
    assert "cancelled; nothing of this run is left queued or running" in err
    assert "step 2 interrupted" in err and "1/2 step(s) done" in err
    assert server.fake._running is None and server.fake.queue_remaining == 0
    run = history.load_run(first)
    assert run.status == "cancelled"
    assert [r.status for r in run.results.values()] == ["done", "cancelled"]
    # killed outright in step 2: the manifest written after step 1 still serves --reuse
    second = tmp_path / "second"
    with Verb(*args, "--out", str(second)) as verb:
        verb.wait_for("step 2/2: encoding text…")
        verb.proc.kill()
        verb.proc.wait(10)
    killed = history.load_run(second)
    assert [r.status for r in killed.results.values()] == ["done"]
    server.fake.encode_delay = 0.005
    third = tmp_path / "third"
    assert cli.main([*args, "--out", str(third), "--reuse", str(second)]) == 0
    err = capsys.readouterr().err
    assert "collecting 1 prompt(s) an earlier session left" in err   # the killed step 2
    steps = history.load_run(third).results.values()
    assert [r.step.get("reused_from") for r in steps] == [str(second), None]
    assert Journal().unfinished() == []
