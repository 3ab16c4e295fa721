"""The FLUX tools end to end: ``workbench run``, ``ab`` and ``doctor`` against the strict
fake (the full recorded node set), with the bundled tools library."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.comfy.conftest import write_library
from tests.fakes.comfy_server import recorded_models
from tests.tool_library import EXPECTED, copy_tools_library, mask_png, png
from workbench import cli
from workbench.runs import history

TOOL_NODES = {"fill": "InpaintModelConditioning", "outpaint": "ImagePadForOutpaint",
              "canny": "Canny", "depth": "InstructPixToPixConditioning",
              "redux": "StyleModelApply"}


def _run(server, library: Path, name: str, out: Path, capsys, *extra) -> tuple[int, str, str]:
    code = cli.main(["run", name, "--library", str(library), "--out", str(out),
                     "--comfyui-url", server.url, *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_tool_runs_to_an_image_of_the_expected_size(name, threaded_fake, tmp_path,
                                                         capsys):
    server = threaded_fake(default_steps=2)
    library = copy_tools_library(tmp_path)
    tool, size = EXPECTED[name]
    out = tmp_path / "run"
    code, stdout, err = _run(server, library, name, out, capsys)
    assert code == 0, err
    [image] = [Path(line) for line in stdout.splitlines()]
    assert Image.open(image).size == size
    # the run folder holds the exact workflow and the spec with its tools
    run = history.load_run(out)
    cell = run.results[next(iter(run.results))]
    workflow = json.loads((out / cell.workflow).read_text())
    kinds = {node["class_type"] for node in workflow.values()}
    assert TOOL_NODES[tool] in kinds
    spec = run.plan.variants[0].spec
    assert spec.tools.names() == [tool if tool not in ("canny", "depth") else tool]
    assert run.meta["workflow"].startswith("flux-")
    # the images went up and the graph loads them
    uploaded = {name for (kind, _, name) in server.fake._files if kind == "input"}
    loaders = [n["inputs"]["image"] for n in workflow.values()
               if n["class_type"] in ("LoadImage", "LoadImageMask")]
    assert loaders and set(loaders) <= uploaded


def test_fill_uploads_a_grey_mask_and_samples_at_guidance_30(threaded_fake, tmp_path, capsys):
    server = threaded_fake(default_steps=2)
    library = copy_tools_library(tmp_path)
    code, _, err = _run(server, library, "Tulips in place of the vase", tmp_path / "o", capsys)
    assert code == 0, err
    prompt = server.fake.submitted[-1]["prompt"]
    mask_node = next(n for n in prompt.values() if n["class_type"] == "LoadImageMask")
    stored = next(v for (kind, _, name), v in server.fake._files.items()
                  if kind == "input" and name == mask_node["inputs"]["image"])
    mask = Image.open(io.BytesIO(stored.data))
    assert mask.mode == "L" and mask.size == (768, 512)
    assert next(n for n in prompt.values()
                if n["class_type"] == "FluxGuidance")["inputs"]["guidance"] == 30.0
    unet = next(n for n in prompt.values() if n["class_type"] == "UNETLoader")
    assert unet["inputs"]["unet_name"] == "flux1-fill-dev.safetensors"
    # the prompt's mask_feather = 8 softens the mask's edge on the server
    blur = next(n for n in prompt.values() if n["class_type"] == "ImageBlur")
    assert blur["inputs"]["blur_radius"] == 8


def test_a_mask_of_another_size_is_resized_with_a_note(threaded_fake, tmp_path, capsys):
    server = threaded_fake(default_steps=2)
    (tmp_path / "src.png").write_bytes(png((320, 240)))
    (tmp_path / "mask.png").write_bytes(mask_png((160, 120)))
    (tmp_path / "long.png").write_bytes(mask_png((300, 100)))
    (tmp_path / "black.png").write_bytes(png((320, 240), 0, "L"))
    library = write_library(tmp_path, '''[[prompts]]
name = "patch"
subject = "a brass door knob"
source_image = "src.png"
mask = "mask.png"

[[prompts]]
name = "stretched"
subject = "a brass door knob"
source_image = "src.png"
mask = "long.png"

[[prompts]]
name = "nothing"
subject = "a brass door knob"
source_image = "src.png"
mask = "black.png"
''')
    code, stdout, err = _run(server, library, "patch", tmp_path / "a", capsys)
    assert code == 0, err
    assert "the mask is 160x120, the source 320x240: the mask was resized" in err
    assert Image.open(stdout.strip()).size == (320, 240)
    code, _, err = _run(server, library, "stretched", tmp_path / "b", capsys)
    assert code == 2 and "a different shape" in err and "long.png" in err
    code, _, err = _run(server, library, "nothing", tmp_path / "c", capsys)
    assert code == 2 and "is empty" in err
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_outpaint_padding_snaps_to_16_and_a_result_too_large_is_refused(threaded_fake,
                                                                        tmp_path, capsys):
    server = threaded_fake(default_steps=2)
    (tmp_path / "src.png").write_bytes(png((320, 240)))
    library = write_library(tmp_path, '''[[prompts]]
name = "wider"
subject = "a quiet beach with dunes on both sides"
source_image = "src.png"
outpaint = { left = 100, right = 37 }

[[prompts]]
name = "huge"
subject = "a quiet beach"
source_image = "src.png"
outpaint = { left = 2000 }
''')
    code, stdout, err = _run(server, library, "wider", tmp_path / "a", capsys)
    assert code == 0, err
    assert "padding snapped to multiples of 16: left 96, right 32" in err
    assert Image.open(stdout.strip()).size == (320 + 96 + 32, 240)
    code, _, err = _run(server, library, "huge", tmp_path / "b", capsys)
    assert code == 2 and "more than FLUX can make" in err


def test_a_missing_tool_model_is_explained_with_file_folder_and_download(threaded_fake,
                                                                         tmp_path, capsys):
    models = recorded_models()
    models["diffusion_models"] = ["flux1-dev.safetensors"]
    models["style_models"] = []
    server = threaded_fake(models=models, default_steps=2)
    library = copy_tools_library(tmp_path)
    code, _, err = _run(server, library, "Tulips in place of the vase", tmp_path / "a", capsys)
    assert code == 2
    assert "'flux1-fill-dev.safetensors' is not installed in models/diffusion_models" in err
    assert "download flux1-fill-dev.safetensors from " \
           "https://huggingface.co/black-forest-labs/FLUX.1-Fill-dev" in err
    assert "ComfyUI's models/diffusion_models folder" in err
    code, _, err = _run(server, library, "Harbour in sunset colours", tmp_path / "b", capsys)
    assert code == 2
    assert "flux1-redux-dev.safetensors" in err and "models/style_models" in err
    assert "FLUX.1-Redux-dev" in err
    # without the full Canny model, the Canny LoRA on dev stands in (and says so)
    code, stdout, err = _run(server, library, "Room as a watercolour", tmp_path / "c", capsys)
    assert code == 0, err
    assert "using the canny LoRA on dev instead" in err
    assert history.load_run(tmp_path / "c").meta["workflow"] == "flux-canny-lora"


def test_doctor_lists_the_tool_models_and_how_to_get_a_missing_one(threaded_fake, capsys):
    server = threaded_fake()
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "style_models: flux1-redux-dev.safetensors" in out
    assert "clip_vision: sigclip_vision_patch14_384.safetensors" in out
    assert "flux1-canny-dev-lora.safetensors" in out
    for name in ("flux-fill", "flux-fill-outpaint", "flux-canny", "flux-canny-lora",
                 "flux-depth", "flux-depth-lora", "flux-redux"):
        assert f"✓ {name}: split files" in out
    models = recorded_models()
    models["diffusion_models"] = ["flux1-dev.safetensors", "flux1-schnell.safetensors",
                                  "flux1-kontext-dev.safetensors"]
    models["clip_vision"] = []
    other = threaded_fake(models=models)
    assert cli.main(["doctor", "--comfyui-url", other.url]) == 0  # the tools are optional
    out = capsys.readouterr().out
    assert "– flux-fill: split files" in out
    assert "missing: flux1-fill-dev.safetensors (models/diffusion_models)" in out
    assert ("download sigclip_vision_patch14_384.safetensors from "
            "https://huggingface.co/Comfy-Org/sigclip_vision_384") in out
    assert "✓ flux-canny-lora" in out


def test_ab_sweeps_a_tool_on_and_off_on_the_same_seed(threaded_fake, tmp_path, capsys):
    server = threaded_fake(default_steps=2)
    library = copy_tools_library(tmp_path)
    out = tmp_path / "ab"
    code = cli.main(["ab", str(library), "Room as a watercolour", "Room in a log cabin",
                     "--seeds", "5", "--axis", "tool=on,off", "--out", str(out),
                     "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = Path(captured.out.splitlines()[0])   # the run's folder, made inside --out
    run = history.load_run(out)
    assert len(run.results) == 4
    workflows = {}
    for cell_id, result in run.results.items():
        assert result.status == "done", (cell_id, result.error)
        graph = json.loads((out / result.workflow).read_text())
        workflows[cell_id] = {n["class_type"] for n in graph.values()}
        size = Image.open(out / result.images[0]).size
        if "tool=on" in cell_id:
            assert "InstructPixToPixConditioning" in workflows[cell_id] and size == (768, 512)
        else:   # the same prompt and seed as plain text-to-image
            assert "InstructPixToPixConditioning" not in workflows[cell_id]
            assert "EmptySD3LatentImage" in workflows[cell_id]


def test_ab_control_strength_axis_uses_the_lora(threaded_fake, tmp_path, capsys):
    server = threaded_fake(default_steps=2)
    library = copy_tools_library(tmp_path)
    out = tmp_path / "ab"
    code = cli.main(["ab", str(library), "Room in a log cabin", "Room in a log cabin",
                     "--seeds", "5", "--axis", "control_strength=0.5,1.0", "--out", str(out),
                     "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = Path(captured.out.splitlines()[0])
    strengths = set()
    for result in history.load_run(out).results.values():
        graph = json.loads((out / result.workflow).read_text())
        lora = next(n for n in graph.values() if n["class_type"] == "LoraLoaderModelOnly")
        assert lora["inputs"]["lora_name"] == "flux1-depth-dev-lora.safetensors"
        strengths.add(lora["inputs"]["strength_model"])
    assert strengths == {0.5, 1.0}
