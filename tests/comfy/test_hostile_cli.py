"""``run``, ``edit`` and ``doctor`` against a hostile or broken ComfyUI (issue 13 items 5,
7, 8, 14): a message in words and the README's exit code, never a traceback, a hang or a
raw control character; credentials in the URL never stored or shown."""

from __future__ import annotations

import json

import pytest

from tests.comfy.conftest import write_library
from tests.comfy.test_cli import FOX
from tests.edit.conftest import make_image
from tests.fakes import faults
from tests.fakes.comfy_server import recorded_models
from tests.hostile import HOSTILE, assert_terminal_safe
from workbench import cli, locations
from workbench.runs import history
from workbench.runs.journal import Journal


def set_timeout(seconds: float) -> None:
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[comfyui]\ntimeout = {seconds}\n", encoding="utf-8")


def run(library, url, *extra) -> list[str]:
    return ["run", "fox", "--library", str(library), "--comfyui-url", url, *extra]


BROKEN = [
    ("GET /prompt", faults.status(401, "Unauthorized"), 2, ["COMFYUI_AUTH_HEADER", "401"]),
    ("GET /prompt", faults.html(), 1, ["GET /prompt", "HTML page"]),
    ("GET /prompt", faults.json_body([]), 1, ["GET /prompt", "a list"]),
    ("GET /object_info", faults.status(500, "Internal Server Error"), 1,
     ["GET /object_info", "HTTP 500"]),
    ("GET /object_info", faults.html(), 1, ["GET /object_info", "HTML page"]),
    ("GET /object_info", faults.json_body(["x"]), 1, ["GET /object_info", "a list"]),
    ("POST /prompt", faults.status(401), 2, ["COMFYUI_AUTH_HEADER"]),
    ("POST /prompt", faults.status(500, "Internal Server Error"), 2, ["HTTP 500"]),
    ("POST /prompt", faults.html(), 1, ["POST /prompt", "HTML page"]),
    ("POST /prompt", faults.json_body([1]), 1, ["POST /prompt", "a list"]),
    ("GET /view", faults.status(500), 1, ["HTTP 500", "without a usable image", "error in"]),
]


@pytest.mark.parametrize("route, fault, code, words", BROKEN)
def test_run_explains_a_broken_server(threaded_fake, tmp_path, capsys, route, fault, code,
                                      words):
    server = threaded_fake()
    server.fake.faults.set(route, fault)
    library = write_library(tmp_path, FOX)
    assert cli.main(run(library, server.url)) == code
    captured = capsys.readouterr()
    for word in words:
        assert word in captured.err, captured.err
    assert "Traceback" not in captured.err and "JSONDecodeError" not in captured.err
    assert "Expecting value" not in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("route", ["GET /object_info", "POST /prompt", "GET /prompt",
                                   "GET /view"])
def test_run_read_timeouts_name_the_server_and_request(threaded_fake, tmp_path, capsys,
                                                       route):
    server = threaded_fake(step_delay=0.05)
    server.fake.faults.set(route, faults.slow_loris(interval=0.2))
    set_timeout(1)
    library = write_library(tmp_path, FOX)
    code = cli.main(run(library, server.url))
    err = capsys.readouterr().err
    assert code == 1, err
    assert f"did not finish answering {route}" in err and server.url in err
    assert "[comfyui] timeout" in err and "Traceback" not in err


def test_run_output_holds_no_server_escapes(threaded_fake, tmp_path, capsys):
    server = threaded_fake(hostile_strings=True, hostile=True,
                           broken_models={"ae.safetensors"})
    library = write_library(tmp_path, FOX)
    assert cli.main(run(library, server.url)) == 1
    captured = capsys.readouterr()
    assert "failed while running" in captured.err and "Evil" in captured.err
    assert_terminal_safe(captured.err, "stderr")
    assert_terminal_safe(captured.out, "stdout")


def test_run_with_credentials_in_the_url_stores_and_shows_none(threaded_fake, tmp_path,
                                                               capsys, monkeypatch):
    server = threaded_fake()
    url = server.url.replace("http://", "http://alice:hunter2@")
    monkeypatch.setenv("COMFYUI_URL", url)
    library = write_library(tmp_path, FOX)
    out = tmp_path / "out"
    seen_journal = []
    original = Journal.submitting

    def spy(journal, entry):
        seen_journal.append(json.dumps(entry.__dict__))
        original(journal, entry)

    monkeypatch.setattr(Journal, "submitting", spy)
    assert cli.main(["run", "fox", "--library", str(library), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert server.fake.request_headers[-1]["Authorization"].startswith("Basic ")
    stored = (out / "manifest.json").read_text() + "".join(seen_journal)
    for text in (captured.err, captured.out, stored):
        assert "hunter2" not in text and "alice" not in text
    assert "***@" in captured.err and "***@" in stored
    assert history.load_run(out).results["v0-s42"].server.startswith("http://***@")


def test_doctor_never_shows_credentials(threaded_fake, capsys):
    server = threaded_fake()
    url = server.url.replace("http://", "http://alice:hunter2@")
    assert cli.main(["doctor", "--comfyui-url", url]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and f"ComfyUI at {server.url.replace('http://', 'http://***@')}" \
        in out


# -- edit -------------------------------------------------------------------------------------

@pytest.mark.parametrize("route, fault, code, words", [
    ("GET /prompt", faults.status(401), 2, ["COMFYUI_AUTH_HEADER"]),
    ("GET /object_info", faults.status(500), 1, ["GET /object_info", "HTTP 500"]),
    ("GET /object_info", faults.html(), 1, ["HTML page"]),
    ("POST /upload/image", faults.json_body([]), 1, ["POST /upload/image", "a list"]),
    ("POST /prompt", faults.text("OK"), 1, ["POST /prompt", "not JSON"]),
])
def test_edit_explains_a_broken_server(threaded_fake, tmp_path, capsys, route, fault, code,
                                       words):
    server = threaded_fake()
    server.fake.faults.set(route, fault)
    source = make_image(tmp_path / "cat.png", (32, 32))
    out = tmp_path / "out"
    assert cli.main(["edit", str(source), "Add a red hat", "--out", str(out),
                     "--comfyui-url", server.url]) == code
    err = capsys.readouterr().err
    for word in words:
        assert word in err, err
    assert "Traceback" not in err
    if (out / "manifest.json").exists():   # a failed step is recorded, not lost
        [step] = history.load_run(out).results.values()
        assert step.status == "error" and words[0] in step.error


def test_edit_read_timeout(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    server.fake.faults.set("POST /upload/image", faults.slow_loris(interval=0.2))
    set_timeout(1)
    source = make_image(tmp_path / "cat.png", (32, 32))
    assert cli.main(["edit", str(source), "Add a red hat", "--comfyui-url", server.url]) == 1
    err = capsys.readouterr().err
    assert "did not finish answering POST /upload/image" in err


# -- doctor -----------------------------------------------------------------------------------

def stats(**system) -> dict:
    base = {"os": "posix", "python_version": "3.12.3 (main)", "comfyui_version": "0.3.64",
            "pytorch_version": "2.8.0"}
    base.update(system)
    return {"system": base, "devices": [{"name": "cuda:0 NVIDIA", "type": "cuda",
                                         "vram_total": 25_000_000_000,
                                         "vram_free": 24_000_000_000}]}


@pytest.mark.parametrize("fault, code, words", [
    (faults.status(500), 1, ["GET /system_stats", "HTTP 500"]),
    (faults.json_body(["a", "list"]), 1, ["GET /system_stats", "a list"]),
    (faults.html(), 1, ["HTML page"]),
    (faults.json_body(stats(python_version="")), 0, ["Python ?"]),
    (faults.json_body(stats(python_version=None, comfyui_version=HOSTILE)), 0,
     ["Python ?", "Evil"]),
    (faults.raw_json(json.dumps(stats()).replace("25000000000", "1e400")), 1,
     ["out of range"]),
    (faults.json_body({**stats(), "devices": [{"name": "x", "vram_total": 10 ** 30,
                                               "vram_free": -5}, "junk"]}), 0,
     ["VRAM ? free of ?"]),
    (faults.json_body({"system": "nope", "devices": "nope"}), 0, ["ComfyUI ?"]),
])
def test_doctor_survives_odd_system_stats(threaded_fake, capsys, fault, code, words):
    server = threaded_fake()
    server.fake.faults.set("GET /system_stats", fault)
    assert cli.main(["doctor", "--comfyui-url", server.url]) == code
    out = capsys.readouterr().out
    for word in words:
        assert word in out, out
    assert "built-in workflows" in out     # it went on to the other checks
    assert_terminal_safe(out)


def test_doctor_401_and_object_info_failures(threaded_fake, capsys):
    server = threaded_fake()
    server.fake.faults.set("GET /prompt", faults.status(401))
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 2
    assert "COMFYUI_AUTH_HEADER" in capsys.readouterr().out
    server.fake.faults.clear()
    server.fake.faults.set("GET /object_info", faults.status(500))
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 1
    out = capsys.readouterr().out
    assert "GET /object_info" in out and "HTTP 500" in out and "version: ComfyUI" in out


def test_doctor_hostile_model_names_are_escaped(threaded_fake, capsys):
    models = recorded_models()
    models["diffusion_models"] = [f"flux{HOSTILE}.safetensors"]
    server = threaded_fake(models=models)
    assert cli.main(["doctor", "--comfyui-url", server.url, "--all-files"]) == 1
    out = capsys.readouterr().out
    assert "Evil" in out
    assert_terminal_safe(out)


def test_doctor_slow_loris_is_cut_off(threaded_fake, capsys):
    server = threaded_fake()
    server.fake.faults.set("GET /object_info", faults.slow_loris(interval=0.2))
    set_timeout(1)
    assert cli.main(["doctor", "--comfyui-url", server.url]) == 1
    out = capsys.readouterr().out
    assert "did not finish answering GET /object_info within 1 s" in out
