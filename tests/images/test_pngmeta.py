import io
import json
import struct
import zlib

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from tests.fixtures import COMFY, COMFY_PNG
from workbench.images.pngmeta import (
    PngMetaError,
    embed_spec,
    iter_chunks,
    read_png_metadata,
    recover_settings,
    spec_from_metadata,
    write_spec_into,
)
from workbench.spec import Lora, Params, PromptSpec

PNG_DIR = COMFY_PNG
TINY = PNG_DIR / "saveimage_flux_t2i_tiny_random_weights.png"
EXTRA = PNG_DIR / "saveimage_model_free_extra_pnginfo.png"


def make_png(text: dict[str, str] | None = None, size=(16, 8), colour=(10, 200, 30)) -> bytes:
    info = PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_recorded_comfyui_png_gives_prompt_seed_and_parameters():
    meta = read_png_metadata(TINY)
    recorded = json.loads((PNG_DIR / "saveimage_flux_t2i_tiny_random_weights.json")
                          .read_text())["workflow_api"]
    assert meta.prompt == recorded and meta.problems == []
    spec, problems = spec_from_metadata(meta, "imported")
    assert problems == []
    assert spec.raw == ("A lighthouse on a rocky cliff at dusk, warm light in the lantern "
                        "room, waves crashing below")
    p = spec.params
    assert (p.seed, p.steps, p.guidance, p.cfg, p.sampler, p.scheduler, p.width, p.height,
            p.denoise) == (42, 3, 3.5, 1.0, "euler", "simple", 128, 128, 1.0)
    assert spec.model == "dev"
    assert "tiny_flux_random.safetensors" in spec.notes


def test_recorded_png_with_our_chunk_prefers_the_spec():
    meta = read_png_metadata(EXTRA)
    assert meta.workflow["nodes"][0]["type"] == "EmptyImage"
    spec, _ = spec_from_metadata(meta, "fallback")
    assert (spec.name, spec.subject, spec.params.seed) == ("lighthouse-dusk", "a lighthouse", 7)


@pytest.mark.parametrize("name, expected", [
    ("workflow_flux_dev_lora.json",
     dict(model="dev", loras=[("example_flux_lora.safetensors", 0.8)], width=1024)),
    ("workflow_flux_dev_t2i_sampler_custom_advanced.json",
     dict(model="dev", seed=123456789, steps=20, sampler="euler", scheduler="simple",
          guidance=3.5, text="a red fox in the snow, photo")),
    ("workflow_flux_schnell_t2i.json", dict(model="schnell", steps=4, guidance=None)),
    ("workflow_flux_kontext_edit.json",
     dict(model="kontext", guidance=2.5, text="make the sky purple",
          source="workbench_input.png")),
    ("workflow_flux_dev_img2img.json", dict(denoise=0.75, source="workbench_input.png")),
])
def test_recorded_workflows(name, expected):
    rec = recover_settings(json.loads((COMFY / name).read_text()))
    got = dict(model=rec.variant, loras=[(l.name, l.strength) for l in rec.loras],
               width=rec.width, seed=rec.seed, steps=rec.steps, sampler=rec.sampler,
               scheduler=rec.scheduler, guidance=rec.guidance, text=rec.text,
               source=rec.source_image, denoise=rec.denoise)
    assert {k: got[k] for k in expected} == expected


def test_our_spec_round_trips_and_keeps_comfyui_chunks(tmp_path):
    spec = PromptSpec("Fox «ü»", subject="a red fox", style="ink wash", model="schnell",
                      params=Params(seed=3, guidance=None, steps=4,
                                    loras=[Lora("film.safetensors", 0.8, ["kodak"])]))
    original = TINY.read_bytes()
    tagged = embed_spec(original, spec, run="r1", cell="v0-s3")
    meta = read_png_metadata(tagged)
    assert meta.prompt == read_png_metadata(TINY).prompt
    assert meta.workflow == read_png_metadata(TINY).workflow
    assert meta.workbench["_cell"] == "v0-s3"
    back, problems = spec_from_metadata(meta, "unused")
    assert problems == [] and back == spec
    # pixel data untouched, chunk replaced (not duplicated) on a second embed
    idat = [raw for kind, _, raw in iter_chunks(original) if kind == b"IDAT"]
    again = embed_spec(tagged, spec.copy(style="oil"))
    assert [raw for kind, _, raw in iter_chunks(again) if kind == b"IDAT"] == idat
    keys = [d.split(b"\0")[0] for k, d, _ in iter_chunks(again) if k in (b"tEXt", b"iTXt")]
    assert keys.count(b"workbench") == 1
    assert spec_from_metadata(read_png_metadata(again), "x")[0].style == "oil"
    # on disk
    path = tmp_path / "a.png"
    path.write_bytes(make_png())
    write_spec_into(path, spec)
    assert spec_from_metadata(read_png_metadata(path), "x")[0] == spec
    assert Image.open(path).getpixel((0, 0)) == (10, 200, 30)


def test_malformed_json_chunk_is_reported_not_raised():
    meta = read_png_metadata(make_png({"prompt": '{"1": {"class_type": ', "workflow": "[1, 2]"}))
    assert meta.prompt is None and meta.workflow is None
    assert any("'prompt' chunk is not valid JSON (line 1" in p for p in meta.problems)
    assert any("'workflow' chunk holds a JSON list" in p for p in meta.problems)
    with pytest.raises(PngMetaError, match="no ComfyUI workflow"):
        spec_from_metadata(meta, "x")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def test_guards_refuse_bombs_and_garbage(tmp_path):
    with pytest.raises(PngMetaError, match="too many pixels|not a readable image"):
        read_png_metadata(_png_header_only(60000, 60000))
    with pytest.raises(PngMetaError, match="too many pixels"):
        read_png_metadata(_png_header_only(9000, 9000))
    with pytest.raises(PngMetaError, match="not a readable image"):
        read_png_metadata(b"not an image at all")
    with pytest.raises(PngMetaError, match="cannot read"):
        read_png_metadata(tmp_path / "missing.png")
    with pytest.raises(PngMetaError, match="truncated"):
        embed_spec(make_png()[:40], PromptSpec("x"))


def test_legacy_run_chunks_read_as_the_prompt_text_not_the_in_image_text():
    from workbench.images.pngmeta import spec_from_chunk, workbench_chunk

    legacy = {"name": "Fox", "model": "dev", "seed": 4, "text": "A red fox asleep."}
    spec = spec_from_chunk(legacy)
    assert (spec.raw, spec.text, spec.params.seed) == ("A red fox asleep.", "", 4)
    own = PromptSpec("Sign", text="OPEN", params=Params(seed=4))
    assert spec_from_chunk(workbench_chunk(own, cell="v0-s4")) == own
