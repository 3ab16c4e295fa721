"""img2img, uploads, LoRA triggers and presets, asserted on what the fake ComfyUI received."""

from __future__ import annotations

import io

from PIL import Image

from tests.edit.conftest import make_image, uploads
from workbench.comfy.loras import server_loras
from workbench.comfy.validate import InvalidWorkflow
from workbench.config import Config
from workbench.images.source import load_source
from workbench.loras import missing_triggers, with_triggers
from workbench.runs.single import RunService
from workbench.runs.uploads import UploadCache, ensure_uploaded
from workbench.spec import Lora, Params, PromptSpec

LORA = "ep-sketch-flux.safetensors"   # one the recorded server has


def _spec(**params) -> PromptSpec:
    return PromptSpec(name="night", subject="the same street at night", source_image="x",
                      params=Params(**params))


def _by_class(workflow: dict, class_type: str) -> list[dict]:
    return [n for n in workflow.values() if n["class_type"] == class_type]


def _service(tmp_path, cache=None) -> RunService:
    return RunService(Config(), uploads=cache or UploadCache(tmp_path / "uploads.json"))


async def prepare(client, spec, *, source=None, upload_cache=None, fit_1mp=False):
    return await _service(None, upload_cache).prepare(
        client, spec, images={"source": source} if source else None, fit_1mp=fit_1mp)


async def _run(client, fake, tmp_path, spec, source=None, cache=None):
    outcome = await _service(tmp_path, cache).run_single(
        client, spec, root=tmp_path / "runs", images={"source": source} if source else None)
    assert outcome.ok, outcome.problems
    return outcome.built, fake.submitted[-1]["prompt"], outcome


async def test_img2img_follows_the_source_size_with_denoise_07(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "street.png", (1001, 667)))
    built, sent, outcome = await _run(client, fake, tmp_path, _spec(seed=5), source, cache)
    [scale] = _by_class(sent, "ImageScale")
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (1008, 672)
    assert scale["inputs"]["image"] == ["20", 0]
    assert _by_class(sent, "ImageScaleToTotalPixels") == []
    [sampler] = _by_class(sent, "KSampler")
    assert sampler["inputs"]["denoise"] == 0.7 and sampler["inputs"]["seed"] == 5
    assert sent["20"]["inputs"]["image"] == "street.png"
    assert outcome.record.seed == 5 and built.values["width"] == 1008
    assert any("1001x667" in note for note in built.notes)


async def test_random_seed_is_explicit_in_the_workflow_and_the_record(client, fake, tmp_path,
                                                                      cache):
    source = load_source(make_image(tmp_path / "a.png", (64, 48)))
    built, sent, outcome = await _run(client, fake, tmp_path, _spec(), source, cache)
    assert isinstance(built.seed, int)
    assert _by_class(sent, "KSampler")[0]["inputs"]["seed"] == built.seed
    assert outcome.record.seed == built.seed


async def test_requested_size_is_flagged_and_not_applied(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "s.png", (640, 480)))
    spec = _spec(width=1024, height=1024, seed=1)
    built, sent, _ = await _run(client, fake, tmp_path, spec, source, cache)
    [scale] = _by_class(sent, "ImageScale")
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (640, 480)
    assert any("requested size 1024x1024 differs" in n for n in built.notes)
    preset = _spec(seed=1, preset="portrait")  # the preset's 896x1120 is a request too
    built = await prepare(client, preset, source=source, upload_cache=cache)
    assert any("896x1120" in n for n in built.notes)


async def test_fit_1mp_and_explicit_denoise(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "s.png", (300, 200)))
    built = await prepare(client, _spec(denoise=0.55, seed=2), source=source,
                          upload_cache=cache, fit_1mp=True)
    [scale] = _by_class(built.workflow, "ImageScale")
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (1248, 832)
    assert built.workflow["8"]["inputs"]["denoise"] == 0.55


async def test_exif_rotated_source_is_sent_upright(client, fake, tmp_path, cache):
    path = make_image(tmp_path / "phone.jpg", (50, 30), fmt="JPEG", orientation=6)
    source = load_source(path)
    built, sent, outcome = await _run(client, fake, tmp_path, _spec(seed=3), source, cache)
    [scale] = _by_class(sent, "ImageScale")
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (32, 48)  # 30x50 snapped
    name = sent["20"]["inputs"]["image"]
    received = fake._files[("input", "", name)].data
    assert Image.open(io.BytesIO(received)).size == (30, 50)
    # the output follows the graph: the upright source scaled to 32x48, as a real server
    assert Image.open(outcome.images[0]).size == (32, 48)


async def test_one_upload_per_content_hash(client, fake, tmp_path, cache):
    first = load_source(make_image(tmp_path / "one.png", (32, 32)))
    twin = load_source(make_image(tmp_path / "two.png", (32, 32)))  # same bytes, other name
    other = load_source(make_image(tmp_path / "three.png", (32, 32), color=(1, 2, 3)))
    names = [await ensure_uploaded(client, s, cache=cache) for s in (first, twin, first)]
    assert names == ["one.png"] * 3
    assert len(uploads(fake)) == 1
    await prepare(client, _spec(seed=1), source=twin, upload_cache=cache)
    assert len(uploads(fake)) == 1
    assert await ensure_uploaded(client, other, cache=cache) == "three.png"
    assert len(uploads(fake)) == 2
    # the cache is on disk, per server
    again = UploadCache(cache.path)
    assert again.get(client.base_url, first.sha256) == "one.png"
    assert again.get("http://elsewhere:8188", first.sha256) is None


async def test_stale_cache_entry_is_uploaded_again(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "s.png", (32, 32)))
    await ensure_uploaded(client, source, cache=cache)
    del fake._files[("input", "", "s.png")]  # the server's input folder was cleared
    built = await prepare(client, _spec(seed=1), source=source, upload_cache=cache)
    assert len(uploads(fake)) == 2  # the LoadImage list no longer had it
    assert built.workflow["20"]["inputs"]["image"] == "s.png"


async def test_server_refusing_the_image_triggers_one_reupload(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "s.png", (32, 32)))
    await ensure_uploaded(client, source, cache=cache)
    await client.object_info()  # cached with the file listed
    del fake._files[("input", "", "s.png")]
    outcome = await _service(tmp_path, cache).run_single(
        client, _spec(seed=1), root=tmp_path / "runs", images={"source": source})
    assert outcome.ok and len(uploads(fake)) == 2
    refused = [b for b in fake.submitted if b["prompt"]["20"]["inputs"]["image"] == "s.png"]
    assert len(refused) == 2  # the first was refused by the server, the second ran
    assert len(history_runs(tmp_path)) == 1   # one run folder for both attempts


def history_runs(tmp_path):
    from workbench.runs.history import list_runs

    return list_runs(tmp_path / "runs")


async def test_other_refusals_are_not_retried(client, fake, tmp_path, cache):
    source = load_source(make_image(tmp_path / "s.png", (32, 32)))
    spec = _spec(seed=1, loras=[Lora("missing.safetensors")])
    try:
        await _service(tmp_path, cache).run_single(client, spec, root=tmp_path / "runs",
                                                   images={"source": source})
    except InvalidWorkflow as exc:
        assert "missing.safetensors" in str(exc)
    else:
        raise AssertionError("a missing LoRA must be refused")
    assert len(uploads(fake)) == 1 and fake.submitted == []


def test_trigger_words_go_in_front_when_missing():
    loras = [Lora(LORA, 0.8, ["TOK"]), Lora("b.safetensors", 1.0, ["ARTST style", "tok"])]
    assert with_triggers("a photo of a person", loras) == "TOK ARTST style a photo of a person"
    assert with_triggers("a photo of tok person", loras) == "ARTST style a photo of tok person"
    assert missing_triggers("Tokyo at night", loras) == ["TOK", "ARTST style"]  # whole words
    assert with_triggers("x", [Lora(LORA)]) == "x"


async def test_lora_and_trigger_words_in_the_submitted_workflow(client, fake, tmp_path):
    spec = PromptSpec(name="avatar", subject="a portrait in medieval armor",
                      params=Params(seed=9, steps=2, width=64, height=64,
                                    loras=[Lora(LORA, 0.65, ["TOK person"])]))
    built, sent, _ = await _run(client, fake, tmp_path, spec)
    [lora] = _by_class(sent, "LoraLoaderModelOnly")
    assert lora["inputs"]["lora_name"] == LORA and lora["inputs"]["strength_model"] == 0.65
    assert sent["8"]["inputs"]["model"] == [next(k for k, v in sent.items() if v is lora), 0]
    assert sent["4"]["inputs"]["text"] == "TOK person A portrait in medieval armor."
    spec.subject = "a tok person portrait"  # already there (any case): not repeated
    built, sent, _ = await _run(client, fake, tmp_path, spec)
    assert sent["4"]["inputs"]["text"] == "A tok person portrait."


async def test_presets_reach_the_submitted_workflow(client, fake, tmp_path):
    spec = PromptSpec(name="p", subject="a lighthouse", params=Params(
        preset="quality", seed=1, width=64, height=64))
    _, sent, _ = await _run(client, fake, tmp_path, spec)
    assert sent["8"]["inputs"]["steps"] == 50 and sent["5"]["inputs"]["guidance"] == 3.0
    spec.params.steps = 12  # the prompt's own value wins over the preset
    _, sent, _ = await _run(client, fake, tmp_path, spec)
    assert sent["8"]["inputs"]["steps"] == 12 and sent["5"]["inputs"]["guidance"] == 3.0
    spec = PromptSpec(name="l", subject="a valley", params=Params(preset="landscape", seed=1,
                                                                  steps=2))
    _, sent, _ = await _run(client, fake, tmp_path, spec)
    assert (sent["7"]["inputs"]["width"], sent["7"]["inputs"]["height"]) == (1344, 768)


async def test_server_loras_for_a_picker(client, fake):
    fake.models["loras"] = ["b.safetensors", "A.safetensors", LORA]
    assert await server_loras(client) == ["A.safetensors", "b.safetensors", LORA]
    fake.models.pop("loras")  # /models/loras unknown: LoraLoader's list instead
    await client.object_info(refresh=True)
    assert await server_loras(client) == []


def test_scale_node_is_inserted_when_the_source_feeds_the_encoder_directly(object_info):
    from workbench.comfy.workflows import build_workflow, load_builtin

    workflow = load_builtin("flux-dev-img2img")
    del workflow["21"]
    workflow["22"]["inputs"]["pixels"] = ["20", 0]
    built = build_workflow(_spec(seed=1, denoise=0.6), "night", workflow=workflow,
                           object_info=object_info, source_image="up.png",
                           source_size=(333, 222))
    wf = built.workflow
    [(scale_id, scale)] = [(k, n) for k, n in wf.items() if n["class_type"] == "ImageScale"]
    assert scale["inputs"]["image"] == ["20", 0]
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (336, 224)
    assert wf["22"]["inputs"]["pixels"] == [scale_id, 0]
    assert wf["8"]["inputs"]["denoise"] == 0.6


def test_kontext_keeps_its_own_sizing_and_full_denoise(object_info):
    from workbench.comfy.workflows import build_workflow

    spec = PromptSpec(name="k", model="kontext", raw="Add a hat", source_image="x")
    built = build_workflow(spec, "Add a hat", object_info=object_info, source_image="up.png",
                           source_size=(333, 222), seed=1)
    assert not any(n["class_type"] == "ImageScale" for n in built.workflow.values())
    assert built.workflow["21"]["class_type"] == "FluxKontextImageScale"
    assert built.workflow["8"]["inputs"]["denoise"] == 1.0
    [note] = built.notes     # the result's size is Kontext's, and the note says so
    assert note.startswith("the result is 1248x832") and "keep_size = true" in note


def test_kontext_keep_size_scales_the_result_back_in_the_workflow(object_info):
    from workbench.comfy.workflows import build_workflow
    from workbench.specdata import spec_from_dict, spec_to_dict

    spec = PromptSpec(name="k", model="kontext", raw="Add a hat", source_image="x")
    spec.params.keep_size = True
    assert spec_from_dict(spec_to_dict(spec)).params.keep_size is True   # saved and read
    built = build_workflow(spec, "Add a hat", object_info=object_info, source_image="up.png",
                           source_size=(400, 300), seed=1)
    wf = built.workflow
    [(scale_id, scale)] = [(k, n) for k, n in wf.items() if n["class_type"] == "ImageScale"]
    assert scale["inputs"]["image"] == ["9", 0]                 # the decoded edit...
    assert (scale["inputs"]["width"], scale["inputs"]["height"]) == (400, 300)
    assert wf["10"]["inputs"]["images"] == [scale_id, 0]       # ...is what is saved
    assert wf["21"]["class_type"] == "FluxKontextImageScale"    # the edit itself at 1184x880
    [note] = built.notes
    assert "edited at 1184x880" in note and "scaled back to 400x300 (keep_size)" in note
    # a source already at a preferred size needs nothing
    same = build_workflow(spec, "Add a hat", object_info=object_info, source_image="up.png",
                          source_size=(1184, 880), seed=1)
    assert same.notes == [] and "ImageScale" not in {n["class_type"]
                                                    for n in same.workflow.values()}


def test_keep_size_must_be_true_or_false():
    from workbench.specdata import spec_from_table

    problems: list[str] = []
    spec = spec_from_table({"name": "k", "keep_size": "yes"}, "lib.toml: k", problems)
    assert spec.params.keep_size is None
    assert problems == ["lib.toml: k: `keep_size` must be true or false; it is ignored "
                        "(and kept in the file)"]
