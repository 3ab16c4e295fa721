"""Judging a whole run folder (made through the real history code) against the fake."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.fakes.ollama_server import colour_key
from tests.judge.conftest import BLUE, GREEN, RED, fox, picture, png
from workbench.judge import judge_run
from workbench.judge.cache import VerdictCache
from workbench.runs.history import HistoryError
from workbench.runs.plan import make_axis


def jpeg_copy(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", quality=88)
    return out.getvalue()


async def test_same_as_a_fires_for_the_same_picture_only(make_run, ollama, config_for):
    a1, a2 = png(picture(RED, 1)), png(picture(RED, 2))
    folder = make_run([fox("A"), fox("B", style="oil painting"), fox("C", camera="35mm")],
                      {(0, 1): [a1], (0, 2): [a2],
                       (1, 1): [a1],                       # B at seed 1: the very same bytes
                       (1, 2): [png(picture(RED, 9))],     # B at seed 2: another picture
                       (2, 1): [jpeg_copy(a1)],            # C at seed 1: A re-encoded
                       (2, 2): [a1]},                      # C at seed 2: A's *other* seed
                      seeds=(1, 2))
    judgement = await judge_run(folder, config_for(ollama), vision=False)
    cells = judgement.cells
    assert cells["v0-s1"].same_as_a is None                    # A is not compared with A
    assert cells["v1-s1"].same_as_a is True and cells["v1-s1"].a_cell == "v0-s1"
    assert cells["v1-s1"].images[0].hash_distance == 0
    assert cells["v1-s2"].same_as_a is False
    assert cells["v2-s1"].same_as_a is True                    # re-encoding is no change
    assert cells["v2-s2"].same_as_a is False                   # compared per seed
    summary = {v.label: v for v in judgement.variants}
    assert (summary["B"].same_as_a, summary["C"].same_as_a) == (1, 1)
    assert not ollama.requests                                 # --no-vision: no Ollama


async def test_judge_json_holds_scores_checklist_text_and_summary(make_run, ollama,
                                                                  config_for):
    spec_a, spec_b = fox("A", text="OPEN"), fox("B", text="OPEN", style="ink drawing")
    ollama.vision_table[colour_key(RED)] = {
        "items": {"subject": "present", "action": "present", "style": "present",
                  "text": "present"}, "text_seen": "OPEN"}
    ollama.vision_table[colour_key(BLUE)] = {
        "items": {"subject": {"status": "absent", "reason": "only snow"},
                  "action": "partly", "style": "present", "text": "partly"},
        "text_seen": "OPNE"}
    folder = make_run([spec_a, spec_b], {(0, 1): [png(picture(RED, 1))],
                                         (1, 1): [png(picture(BLUE, 1))]})
    judgement = await judge_run(folder, config_for(ollama))
    data = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(judgement.to_dict()))
    assert data["format"] == 1 and data["adherence"]["status"] == "done"
    assert data["adherence"]["asked"] == 2 and data["adherence"]["model"] == "llava:7b"
    a, b = data["cells"]["v0-s1"], data["cells"]["v1-s1"]
    assert a["adherence"] == 1.0 and a["text_hit"] is True
    # B: subject 3 absent (0), action 2 partly (1), style 1.5 present (1.5), text 2 partly
    # (1) -> 3.5 of 8.5
    assert b["adherence"] == pytest.approx(3.5 / 8.5, abs=1e-3)
    image = b["images"][0]
    subject = next(i for i in image["checklist"] if i["key"] == "subject")
    assert subject == {"key": "subject", "label": "Subject", "wanted": "a red fox",
                       "weight": 3.0, "status": "absent", "reason": "only snow"}
    assert image["text"]["seen"] == "OPNE" and image["text"]["missing_words"] == ["open"]
    assert b["text_hit"] is False and image["text"]["distance"] == 0.25
    assert image["pixels"]["sharpness"] > 0 and len(image["sha256"]) == 64
    variants = {v["label"]: v for v in data["variants"]}
    assert variants["A"]["mean_adherence"] == 1.0 and variants["A"]["text_hit_rate"] == 1.0
    assert variants["B"]["text_hit_rate"] == 0.0 and variants["B"]["same_as_a"] == 0
    assert variants["B"]["mean_sharpness"] == pytest.approx(b["sharpness"], abs=0.01)


async def test_second_judging_comes_from_the_cache(make_run, ollama, config_for):
    folder = make_run([fox("A"), fox("B")], {(0, 1): [png(picture(RED, 1))],
                                             (1, 1): [png(picture(GREEN, 1))]})
    first = await judge_run(folder, config_for(ollama))
    asked = len(ollama.vision_chats)
    assert asked == 2 and first.adherence.asked == 2
    second = await judge_run(folder, config_for(ollama))
    assert len(ollama.vision_chats) == asked
    assert second.adherence.cached == 2 and second.adherence.asked == 0
    assert [c.adherence for c in second.cells.values()] == \
        [c.adherence for c in first.cells.values()]
    # cached answers are used even when Ollama is gone
    gone = await judge_run(folder, config_for(host="127.0.0.1:9"))
    assert gone.adherence.state == "done" and gone.adherence.cached == 2


async def test_vision_model_is_unloaded_after_judging(make_run, ollama, config_for):
    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    judgement = await judge_run(folder, config_for(ollama))       # same host as ComfyUI
    assert judgement.unloaded == ["llava:7b"] and not ollama.loaded
    unloads = [b for b in ollama.seen("/api/generate") if b.get("keep_alive") == 0]
    assert [b["model"] for b in unloads] == ["llava:7b"]


async def test_no_unload_when_ollama_has_its_own_gpu(make_run, ollama, config_for):
    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    config = config_for(ollama, comfyui_urls="http://10.1.2.3:8188")
    judgement = await judge_run(folder, config)
    assert judgement.unloaded == [] and ollama.loaded == {"llava:7b"}


async def test_judging_tells_the_gpu_sharing_a_model_is_in_use(make_run, ollama,
                                                                config_for):
    """An image job started while the judge asks (an F5 run) must free the GPU first."""
    from workbench.judge import RunJudge
    from workbench.llm.gpu import sharing_for
    from workbench.runs.history import load_run

    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    config = config_for(ollama)
    gpu = sharing_for(config)
    gpu.llm_used = False
    async with RunJudge(load_run(folder), config) as judge:
        await judge.judge_cell("v0-s1")
        assert gpu.llm_used and ollama.loaded == {"llava:7b"}
        await judge.finish(write=False)
    assert not gpu.llm_used and not ollama.loaded             # unloaded at the end


@pytest.mark.parametrize("model, expected", [
    ("llama3.2:3b", "cannot look at images"),
    ("minicpm-v:8b", "ollama pull minicpm-v:8b"),
])
async def test_without_a_usable_model_pixels_still_run(make_run, ollama, config_for, model,
                                                       expected):
    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    judgement = await judge_run(folder, config_for(ollama), model=model)
    assert judgement.adherence.state == "skipped" and expected in judgement.adherence.note
    image = judgement.cells["v0-s1"].images[0]
    assert image.adherence is None and image.metrics.sharpness > 0
    assert not ollama.vision_chats


async def test_unreachable_ollama_skips_adherence(make_run, config_for):
    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    judgement = await judge_run(folder, config_for(host="127.0.0.1:9"))
    assert judgement.adherence.state == "skipped"
    assert "not reachable at 127.0.0.1:9" in judgement.adherence.note
    assert judgement.cells["v0-s1"].images[0].metrics is not None


async def test_bad_answers_are_per_picture_and_stop_after_three(make_run, ollama, config_for):
    images = {(0, seed): [png(picture(RED, seed))] for seed in range(1, 6)}
    folder = make_run([fox("A")], images, seeds=range(1, 6))
    ollama.queue(*(["no json"] * 6))
    judgement = await judge_run(folder, config_for(ollama))
    errors = [i.adherence_error for i in judgement.images()]
    assert all("did not give a usable checklist answer twice" in e for e in errors[:3])
    assert errors[3:] == ["", ""]          # not asked again
    assert judgement.adherence.state == "skipped"
    assert "stopped asking after 3 failed answers" in judgement.adherence.note
    assert len(ollama.vision_chats) == 6


async def test_failed_cells_and_broken_pictures_are_reported(make_run, ollama, config_for):
    folder = make_run([fox("A"), fox("B")], {(0, 1): [png(picture(RED, 1))],
                                             (1, 1): [png(picture(RED, 3))]},
                      seeds=(1, 2), axes=[make_axis("guidance", [2.5, 3.5])])
    (folder / "cells" / "v1-s1-guidance=3.5-1.png").write_bytes(b"broken")
    judgement = await judge_run(folder, config_for(ollama), vision=False)
    assert set(judgement.not_done) == {"v0-s2-guidance=2.5", "v0-s2-guidance=3.5",
                                       "v1-s2-guidance=2.5", "v1-s2-guidance=3.5"}
    assert set(judgement.not_done.values()) == {"error"}
    broken = judgement.cells["v1-s1-guidance=3.5"].images[0]
    assert "not an image that can be read" in broken.error and broken.metrics is None
    assert judgement.cells["v1-s1-guidance=3.5"].same_as_a is None
    assert judgement.cells["v1-s1-guidance=2.5"].same_as_a is False


async def test_not_a_run_folder(tmp_path, config_for):
    with pytest.raises(HistoryError, match="no manifest"):
        await judge_run(tmp_path, config_for())


async def test_run_cache_lives_in_the_user_cache_dir(make_run, ollama, config_for):
    from workbench import locations

    folder = make_run([fox("A")], {(0, 1): [png(picture(RED, 1))]})
    await judge_run(folder, config_for(ollama))
    files = list((locations.cache_dir() / "judge").rglob("*.json"))
    assert len(files) == 1 and "llava_7b" in files[0].name
    assert VerdictCache().get(json.loads(files[0].read_text())["image"],
                              json.loads(files[0].read_text())["checklist"], "llava:7b")


async def test_cells_judged_as_they_finish(tmp_path, ollama, config_for):
    """What a runner does with `--judge`: judge each cell once it is recorded, sum up at
    the end; the result is the same as judging the finished folder."""
    from workbench.judge import RunJudge
    from workbench.runs.history import create_run, load_run, record_cell
    from workbench.runs.plan import make_plan

    plan = make_plan([fox("A"), fox("B", style="ink")], seeds=[1, 2], name="live")
    run = create_run(plan, root=tmp_path / "runs")
    pictures = {"v0-s1": picture(RED, 1), "v1-s1": picture(RED, 1),
                "v0-s2": picture(GREEN, 2), "v1-s2": picture(BLUE, 2)}
    async with RunJudge(run, config_for(ollama)) as judge:
        assert judge.judgeable() == []
        for cell in plan.cells():
            record_cell(run, cell, [png(pictures[cell.id])], None)
            judged = await judge.judge_cell(cell.id)
            assert judged.images[0].metrics is not None
        live = await judge.finish()
    assert live.cells["v1-s1"].same_as_a is True and live.cells["v1-s2"].same_as_a is False
    assert live.adherence.asked == 4      # B asks about another style: no cache hit
    again = await judge_run(load_run(run.folder).folder, config_for(ollama))
    assert {c: j.adherence for c, j in again.cells.items()} == \
        {c: j.adherence for c, j in live.cells.items()}
