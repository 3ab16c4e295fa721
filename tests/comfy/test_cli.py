"""``workbench run`` and ``workbench doctor`` end to end against the fake (in its own thread,
since the verbs call asyncio.run)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.comfy.conftest import recorded, write_library
from tests.fakes.comfy_server import recorded_models, render_png
from workbench import cli
from workbench.runs import history

FOX = '''[[prompts]]
name = "fox"
model = "dev"
subject = "a red fox"
style = "photo"
steps = 3
width = 48
height = 32
seed = 42
'''


def test_run_saves_images_and_prints_their_paths(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, FOX)
    out = tmp_path / "out"
    code = cli.main(["run", "fox", "--library", str(library), "--out", str(out),
                     "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    [line] = captured.out.splitlines()
    path = Path(line)
    assert path.parent == out / "cells" and path.exists()
    image = Image.open(path)
    assert image.size == (48, 32)
    prompt = json.loads(image.info["prompt"])
    assert prompt["4"]["inputs"]["text"] == "A red fox. Photo."
    assert prompt["8"]["inputs"]["seed"] == 42
    assert "step 3/3" in captured.err and "success" in captured.err
    run = history.load_run(out)
    assert run.kind == "single" and run.meta["prompt"] == "fox"
    assert run.meta["workflow"] == "flux-dev" and run.results["v0-s42"].seed == 42
    assert [summary.folder for summary in history.list_runs(tmp_path)] == [out]


def test_run_same_seed_same_image_and_seed_flag(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, FOX)

    def run(*extra):
        assert cli.main(["run", "fox", "--library", str(library), "--comfyui-url",
                         server.url, *extra]) == 0
        return Image.open(capsys.readouterr().out.strip()).tobytes()

    first = run()
    server.fake.output_cache.clear()
    assert run() == first
    assert run("--seed", "7") != first


def test_run_unreachable_server_explains_what_to_do(tmp_path, capsys):
    library = write_library(tmp_path, FOX)
    code = cli.main(["run", "fox", "--library", str(library), "--comfyui-url",
                     "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 3
    assert "http://127.0.0.1:9" in err and "COMFYUI_URL" in err and "--comfyui-url" in err


def test_run_unknown_prompt_and_missing_lora(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, FOX + '''
[[prompts]]
name = "styled"
subject = "a boat"
loras = [{ name = "not-here.safetensors", strength = 0.8 }]
''')
    assert cli.main(["run", "nope", "--library", str(library),
                     "--comfyui-url", server.url]) == 2
    assert "no prompt named 'nope'" in capsys.readouterr().err
    assert cli.main(["run", "styled", "--library", str(library),
                     "--comfyui-url", server.url]) == 2
    err = capsys.readouterr().err
    assert "“LoRA 1” (LoraLoaderModelOnly)" in err
    assert "'not-here.safetensors' is not installed in models/loras" in err
    assert "ep-sketch-flux.safetensors" in err   # what the server has instead
    assert server.fake.submitted == []  # caught before anything was sent


def test_run_img2img_uploads_the_source_image(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    (tmp_path / "start.png").write_bytes(render_png("start", 1, 40, 24))
    library = write_library(tmp_path, '''[[prompts]]
name = "repaint"
subject = "the same scene at night"
source_image = "start.png"
steps = 2
''')
    code = cli.main(["run", "repaint", "--library", str(library), "--comfyui-url",
                     server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # img2img follows the source, snapped to multiples of 16 (a real server makes 32x32)
    assert Image.open(captured.out.strip()).size == (32, 32)
    prompt = server.fake.submitted[-1]["prompt"]
    assert prompt["20"]["inputs"]["image"] == "start.png"
    assert prompt["8"]["inputs"]["denoise"] == 0.7  # issue 7: the img2img default


def test_run_with_a_user_workflow_file(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, FOX)
    workflow = recorded("workflow_flux_dev_t2i_sampler_custom_advanced.json")
    workflow["7"]["inputs"].update(width=16, height=16)
    path = tmp_path / "advanced.json"
    path.write_text(json.dumps(workflow), encoding="utf-8")
    code = cli.main(["run", "fox", "--library", str(library), "--workflow", str(path),
                     "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "seed: node 12" in captured.err  # the roles it found are shown
    submitted = server.fake.submitted[-1]["prompt"]
    assert submitted["12"]["inputs"]["noise_seed"] == 42
    assert submitted["4"]["inputs"]["text"] == "A red fox. Photo."
    assert submitted["15"]["inputs"]["steps"] == 3      # the prompt sets steps
    assert submitted["7"]["inputs"]["width"] == 48      # and size

    ui = tmp_path / "ui.json"
    ui.write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}), encoding="utf-8")
    assert cli.main(["run", "fox", "--library", str(library), "--workflow", str(ui),
                     "--comfyui-url", server.url]) == 2
    assert "Export (API)" in capsys.readouterr().err


def test_run_execution_error_exit_code_and_message(threaded_fake, tmp_path, capsys):
    server = threaded_fake(broken_models={"ae.safetensors"})
    library = write_library(tmp_path, FOX)
    code = cli.main(["run", "fox", "--library", str(library), "--comfyui-url", server.url])
    err = capsys.readouterr().err
    assert code == 1
    assert "node 3 “Load VAE” (VAELoader): failed while running" in err


def test_doctor_reports_versions_vram_and_models(threaded_fake, capsys):
    server = threaded_fake()
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 0
    out = capsys.readouterr().out
    # the recorded server runs on its CPU: what it reports as VRAM is the machine's RAM
    assert "ComfyUI 0.3.64" in out
    assert "device: cpu (cpu), RAM (CPU device) 22.6 GB free of 23.5 GB" in out
    assert "VRAM" not in out
    assert ("diffusion_models: flux1-canny-dev.safetensors, flux1-depth-dev.safetensors, "
            "flux1-dev.safetensors, flux1-fill-dev.safetensors, flux1-kontext-dev.safetensors, "
            "flux1-schnell.safetensors") in out
    assert "✓ flux-kontext: split files: flux1-kontext-dev.safetensors" in out

    models = recorded_models()
    models["diffusion_models"] = ["flux1-dev.safetensors"]
    other = threaded_fake(models=models)
    assert cli.main(["doctor", "--comfyui-url", other.url]) == 1
    out = capsys.readouterr().out
    assert "✗ flux-kontext" in out
    assert "missing: flux1-kontext-dev.safetensors (models/diffusion_models)" in out


def test_doctor_says_vram_for_a_gpu(threaded_fake, capsys):
    server = threaded_fake()
    server.fake._system_stats["devices"] = [{
        "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync", "type": "cuda",
        "index": 0, "vram_total": 25757220864, "vram_free": 24000000000}]
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "(cuda), VRAM 22.4 GB free of 24.0 GB" in out and "RAM (CPU device)" not in out


def test_doctor_unreachable(capsys):
    assert cli.main(["doctor", "--comfyui-url", "http://127.0.0.1:9"]) == 3
    out = capsys.readouterr().out
    assert "not reachable" in out and "COMFYUI_URL" in out and "--comfyui-url" in out


def test_run_first_settles_what_an_earlier_session_left(threaded_fake, tmp_path, capsys):
    from workbench.runs.journal import Journal, JournalEntry

    server = threaded_fake()
    journal = Journal()
    journal.submitting(JournalEntry("forgotten-prompt", server.url, "old-client",
                                    str(tmp_path / "old-run"), {"1": {}}, 3))
    journal.queued("forgotten-prompt", 1)
    library = write_library(tmp_path, FOX)
    code = cli.main(["run", "fox", "--library", str(library), "--comfyui-url", server.url])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "earlier session" in captured.err
    assert "earlier prompt forgotten-prompt" in captured.err and "restarted" in captured.err
    [left] = history.load_run(tmp_path / "old-run").results.values()
    assert left.status == "error" and "restarted" in left.error
    assert journal.unfinished() == []
    assert len(captured.out.splitlines()) == 1


def test_a_png_made_by_run_imports_back_as_the_same_spec(threaded_fake, tmp_path, capsys):
    """The image carries the spec itself (not the composed text under `text`)."""
    from workbench.library import load_library

    server = threaded_fake()
    library = write_library(tmp_path, FOX)
    assert cli.main(["run", "fox", "--library", str(library), "--out", str(tmp_path / "o"),
                     "--comfyui-url", server.url]) == 0
    png = capsys.readouterr().out.strip()
    target = tmp_path / "back.toml"
    assert cli.main(["import", png, "--library", str(target)]) == 0
    [back] = load_library(target).prompts
    original = load_library(library).get("fox")
    assert (back.subject, back.style, back.text, back.raw) == ("a red fox", "photo", "", "")
    assert back.params == original.params


def test_doctor_checks_ollama_too(threaded_fake, capsys):
    """(issue 14) reach, the configured models pulled, the vision model able to see."""
    from tests.fakes.ollama_server import FakeOllamaThread

    server = threaded_fake()
    with FakeOllamaThread() as ollama:
        assert cli.main(["doctor", "--comfyui-url", server.url, "--ollama-host", ollama.host,
                         "--ollama-model", "mistral:7b"]) == 0  # optional: not the status
    out = capsys.readouterr().out
    assert f"Ollama at {ollama.host}" in out and "✓ reachable, 5 model(s)" in out
    assert "✗ text model mistral:7b is not pulled: ollama pull mistral:7b" in out
    assert "✓ vision model llava:7b" in out
    assert cli.main(["doctor", "--comfyui-url", server.url,
                     "--ollama-host", "127.0.0.1:9"]) == 0
    assert "not reachable" in capsys.readouterr().out
