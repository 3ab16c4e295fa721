"""``workbench edit`` and ``workbench run --image`` end to end: exit codes and files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.comfy.conftest import write_library
from tests.edit.conftest import make_image
from tests.fakes.comfy_server import decompression_bomb_png
from workbench import cli
from workbench.chains import chain_to
from workbench.library import load_library


def _bad_sources(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    gif = make_image(tmp_path / "anim.png", fmt="GIF")
    cut = tmp_path / "cut.png"
    cut.write_bytes(make_image(tmp_path / "whole.png", (64, 64)).read_bytes()[:150])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(decompression_bomb_png())
    big = make_image(tmp_path / "big.png", (4100, 4))
    return {"format": (gif, "is a GIF file"), "corrupt": (cut, "damaged or truncated"),
            "bomb": (bomb, "decompression bomb"), "big": (big, "larger than the 4096x4096"),
            "missing": (tmp_path / "nope.png", "does not exist")}


@pytest.mark.parametrize("case", ["format", "corrupt", "bomb", "big", "missing"])
def test_edit_bad_source_exits_2_before_contacting_the_server(tmp_path, capsys, case):
    path, words = _bad_sources(tmp_path)[case]
    code = cli.main(["edit", str(path), "Add a hat", "--comfyui-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err and str(path) in err
    assert "not reachable" not in err  # refused before any connection


def test_edit_unreachable_server_exits_3(tmp_path, capsys):
    source = make_image(tmp_path / "c.png")
    assert cli.main(["edit", str(source), "Add a hat", "--comfyui-url",
                     "http://127.0.0.1:9"]) == 3
    assert "COMFYUI_URL" in capsys.readouterr().err


def test_edit_chain_writes_every_step_and_its_manifest(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    source = make_image(tmp_path / "cat.png", (64, 48))
    out = tmp_path / "out"
    library = tmp_path / "lib.toml"
    code = cli.main(["edit", str(source), "Make the sky purple", "--then", "Add a red hat",
                     "--then", "Turn it into a watercolor", "--seed", "21", "--out", str(out),
                     "--save", str(library), "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    images = [Path(line) for line in captured.out.splitlines()]
    assert len(images) == 3 and all(p.is_file() and p.is_relative_to(out) for p in images)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "chain"
    steps = list(manifest["cells"].values())
    assert [s["text"] for s in steps] == [
        "Make the sky purple", "Add a red hat", "Turn it into a watercolor"]
    assert [s["seed"] for s in steps] == [21, 21, 21]
    assert [out / s["images"][0] for s in steps] == images
    for step in steps:
        assert (out / step["workflow"]).is_file()
    assert [b["prompt"]["8"]["inputs"]["seed"] for b in server.fake.submitted] == [21] * 3
    assert "step 3/3: Turn it into a watercolor" in captured.err
    saved = chain_to(load_library(library).prompts, "edit 3")
    assert saved.instructions == [s["text"] for s in steps]
    assert saved.source_image == str(source.resolve())
    assert [s.params.seed for s in saved.steps] == [21, 21, 21]


def test_edit_warns_past_six_edits(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    source = make_image(tmp_path / "cat.png", (32, 32))
    thens = [arg for i in range(6) for arg in ("--then", f"Add hat number {i + 2}")]
    code = cli.main(["edit", str(source), "Add hat number 1", *thens, "--seed", "1",
                     "--out", str(tmp_path / "o"), "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "warning: 7 successive Kontext edits" in captured.err
    assert len(captured.out.splitlines()) == 7


def test_edit_failing_step_exits_1(threaded_fake, tmp_path, capsys):
    server = threaded_fake(broken_models={"flux1-kontext-dev.safetensors"})
    source = make_image(tmp_path / "cat.png", (32, 32))
    code = cli.main(["edit", str(source), "Add a hat", "--then", "Add a scarf",
                     "--out", str(tmp_path / "o"), "--comfyui-url", server.url])
    err = capsys.readouterr().err
    assert code == 1
    assert "step 1 error" in err and "0/2 step(s) done" in err
    assert len(server.fake.submitted) == 1


REPAINT = '''[[prompts]]
name = "repaint"
subject = "the same scene at night"
steps = 2
seed = 6
'''


def test_run_image_flag_runs_img2img(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, REPAINT)
    source = make_image(tmp_path / "start.jpg", (101, 67), fmt="JPEG")
    code = cli.main(["run", "repaint", "--library", str(library), "--image", str(source),
                     "--out", str(tmp_path / "o"), "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    prompt = server.fake.submitted[-1]["prompt"]
    assert prompt["20"]["inputs"]["image"] == "start.jpg"
    assert prompt["21"]["class_type"] == "ImageScale"
    assert (prompt["21"]["inputs"]["width"], prompt["21"]["inputs"]["height"]) == (96, 64)
    assert prompt["8"]["inputs"]["denoise"] == 0.7 and prompt["8"]["inputs"]["seed"] == 6
    from workbench.runs.history import load_run

    run = load_run(tmp_path / "o")
    assert run.results["v0-s6"].seed == 6 and run.meta["source"]["size"] == [101, 67]
    assert "101x67" in captured.err  # the snapping is said, not silent

    code = cli.main(["run", "repaint", "--library", str(library), "--image", str(source),
                     "--denoise", "0.55", "--comfyui-url", server.url])
    assert code == 0
    assert server.fake.submitted[-1]["prompt"]["8"]["inputs"]["denoise"] == 0.55
    uploads = [h for h in server.fake.request_headers if h["path"].endswith("/upload/image")]
    assert len(uploads) == 1  # same content: uploaded once


def test_run_image_bad_source_or_denoise_exits_2(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, REPAINT)
    for path, words in _bad_sources(tmp_path).values():
        code = cli.main(["run", "repaint", "--library", str(library), "--image", str(path),
                         "--comfyui-url", server.url])
        err = capsys.readouterr().err
        assert code == 2 and words in err
    good = make_image(tmp_path / "ok.png")
    assert cli.main(["run", "repaint", "--library", str(library), "--image", str(good),
                     "--denoise", "1.5", "--comfyui-url", server.url]) == 2
    assert "outside 0-1" in capsys.readouterr().err
    assert server.fake.submitted == []
