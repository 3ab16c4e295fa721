"""``workbench ab --judge``: a comparison run on the fake ComfyUI and judged against the fake
Ollama (both on real 127.0.0.1 ports) as it goes: judge.json, the manifest's summary, the
contact sheet's scores, and when the judging happens (after the image jobs on a shared
GPU, as cells finish when Ollama has its own)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.comfy.conftest import threaded_fake, write_library  # noqa: F401 (fixture)
from tests.fakes.ollama_server import judge_reply
from tests.judge.test_cli import LIB
from workbench import cli
from workbench.runs.history import list_runs, load_run


def reads_text(body):
    """The fake's checklist answer, reading "FRESH BREAD" in the night pictures and
    "FRESH BRED" (a word wrong) in the others."""
    answer = json.loads(judge_reply(body, {}).content)
    question = body["messages"][-1]["content"]
    answer["text_seen"] = "FRESH BREAD" if "at night" in question else "FRESH BRED"
    return json.dumps(answer)


def ab(tmp_path, comfy, ollama, *more) -> list[str]:
    library = write_library(tmp_path, LIB)
    return ["ab", str(library), "sign", "sign again", "sign night", "--seeds", "1,2",
            "--servers", comfy.url, "--out", str(tmp_path / "runs"), "--judge",
            "--ollama-host", ollama.host, *more]


def test_ab_judge_writes_scores_after_the_image_jobs_on_a_shared_gpu(
        threaded_fake, ollama_thread, tmp_path, capsys):
    comfy = threaded_fake()
    ollama_thread.responder = reads_text
    assert cli.main(ab(tmp_path, comfy, ollama_thread)) == 0
    out, err = capsys.readouterr()
    folder, manifest, sheet, judged = map(Path, out.splitlines())
    assert judged == folder / "judge.json" and sheet == folder / "contact-sheet.png"
    assert "judging with llava:7b after the image jobs (Ollama shares the GPU" in err

    data = json.loads(judged.read_text(encoding="utf-8"))
    assert set(data["cells"]) == {f"v{v}-s{s}" for v in range(3) for s in (1, 2)}
    assert all(0.0 <= c["adherence"] <= 1.0 for c in data["cells"].values())
    # "sign again" changed only the notes: the same pictures, flagged; "sign night" not
    assert [data["cells"][f"v1-s{s}"]["same_as_a"] for s in (1, 2)] == [True, True]
    assert [data["cells"][f"v2-s{s}"]["same_as_a"] for s in (1, 2)] == [False, False]
    # the text check catches the missing word
    text = data["cells"]["v0-s1"]["images"][0]["text"]
    assert text["hit"] is False and text["missing_words"] == ["bread"]
    assert data["cells"]["v2-s1"]["images"][0]["text"]["hit"] is True
    assert [v["text_hit_rate"] for v in data["variants"]] == [0.0, 0.0, 1.0]

    # every picture was judged after the last image job, and the model was unloaded then
    lines = err.splitlines()
    last_image = max(i for i, line in enumerate(lines) if line.startswith("[6/6]"))
    judged_at = [i for i, line in enumerate(lines) if line.startswith("judged v")]
    assert len(judged_at) == 6 and min(judged_at) > last_image
    assert "llava:7b" not in ollama_thread.loaded
    assert any(b.get("keep_alive") in (0, "0") for b in ollama_thread.seen("/api/generate"))
    assert "judge: C: adherence" in err and "text 100% of 2" in err

    # kept in the run folder: the manifest's summary (for the history) and the sheet
    run = load_run(folder)
    assert run.judge["file"] == "judge.json" and run.judge["model"] == "llava:7b"
    assert [v["label"] for v in run.judge["variants"]] == [
        v["label"] for v in data["variants"]]
    assert list_runs(tmp_path / "runs")[0].judge == run.judge
    with Image.open(sheet) as drawn:
        assert drawn.height > _unjudged_sheet_height(run)


def _unjudged_sheet_height(run) -> int:
    from workbench.images.contact_sheet import plan_sheet
    from workbench.runs.history import first_images

    return plan_sheet(run.plan, first_images(run))[0].height


def test_ab_judge_interleaves_when_ollama_has_its_own_gpu(threaded_fake, ollama_thread,
                                                           tmp_path, capsys):
    # each job takes ~0.5 s on the fake ComfyUI: judging a 64x64 picture takes far less
    comfy = threaded_fake(step_delay=0.25)
    config = tmp_path / "config.toml"
    config.write_text("[ollama]\nunload_before_jobs = false\n", encoding="utf-8")
    assert cli.main(ab(tmp_path, comfy, ollama_thread, "--config", str(config))) == 0
    out, err = capsys.readouterr()
    assert "as cells finish (Ollama has its own GPU)" in err
    lines = err.splitlines()
    last_image = max(i for i, line in enumerate(lines) if line.startswith("[6/6]"))
    first_judged = min(i for i, line in enumerate(lines) if line.startswith("judged v"))
    assert first_judged < last_image          # judged while the image jobs went on
    data = json.loads(Path(out.splitlines()[-1]).read_text(encoding="utf-8"))
    assert len(data["cells"]) == 6 and data["adherence"]["status"] == "done"
    assert [data["cells"][f"v1-s{s}"]["same_as_a"] for s in (1, 2)] == [True, True]


def test_ab_judge_without_the_model_says_how_to_get_it(threaded_fake, ollama_thread,
                                                      tmp_path, capsys):
    comfy = threaded_fake()
    assert cli.main(ab(tmp_path, comfy, ollama_thread, "--judge-model",
                       "qwen2.5vl:7b")) == 0     # the images are fine: exit status 0
    out, err = capsys.readouterr()
    assert ("judge: adherence: skipped: model qwen2.5vl:7b is not installed: run "
            "`ollama pull qwen2.5vl:7b`") in err
    data = json.loads(Path(out.splitlines()[-1]).read_text(encoding="utf-8"))
    assert data["adherence"]["status"] == "skipped"
    assert data["cells"]["v1-s1"]["same_as_a"] is True      # the pixel checks ran
    assert not ollama_thread.vision_chats
