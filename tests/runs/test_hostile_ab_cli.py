"""``workbench ab`` against a hostile or broken ComfyUI (issue 13 items 5, 7, 8, 9, 14):
every cell settles with the server's failure in words, nothing hangs past the deadline,
no raw control character reaches the terminal and credentials in the URL are never
stored or shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.comfy.conftest import write_library
from tests.fakes import faults
from tests.hostile import assert_terminal_safe
from tests.runs.test_ab_cli import LIB
from workbench import cli, locations


def ab(library, url, out, *extra) -> int:
    return cli.main(["ab", str(library), "fox", "fox snow", "--seeds", "1", "--servers", url,
                     "--out", str(out), *extra])


def cells(out: str) -> dict:
    manifest = Path(out.splitlines()[1])
    return json.loads(manifest.read_text())["cells"]


def set_timeout(seconds: float) -> None:
    path = locations.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[comfyui]\ntimeout = {seconds}\n", encoding="utf-8")


@pytest.mark.parametrize("route, fault, words", [
    ("POST /prompt", faults.html(), "answered POST /prompt with an HTML page"),
    ("POST /prompt", faults.json_body([1]), "answered POST /prompt with a list"),
    ("POST /prompt", faults.status(500, "Internal Server Error"), "HTTP 500"),
    ("GET /object_info", faults.json_body("x"), "answered GET /object_info with a string"),
])
def test_ab_records_a_broken_servers_answer_in_every_cell(threaded_fake, tmp_path, capsys,
                                                          route, fault, words):
    server = threaded_fake()
    server.fake.faults.set(route, fault)
    library = write_library(tmp_path, LIB)
    assert ab(library, server.url, tmp_path / "runs") == 1
    out, err = capsys.readouterr()
    for cell in cells(out).values():
        assert cell["status"] == "error" and words in cell["error"], cell
    assert words in err and "Traceback" not in err
    assert "0/2 cell(s) done, 2 failed" in err


def test_ab_on_a_trickling_server_ends_at_the_deadline(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    server.fake.faults.set("POST /prompt", faults.slow_loris(interval=0.1))
    set_timeout(1)
    library = write_library(tmp_path, LIB)
    assert ab(library, server.url, tmp_path / "runs") == 1
    out, err = capsys.readouterr()
    for cell in cells(out).values():
        assert "did not finish answering POST /prompt within 1 s" in cell["error"], cell


@pytest.mark.parametrize("fault, code, words", [
    (faults.status(401), 2, "COMFYUI_AUTH_HEADER"),
    (faults.html(), 3, "answered GET /prompt with an HTML page"),
])
def test_ab_says_why_no_server_can_be_used(threaded_fake, tmp_path, capsys, fault, code,
                                           words):
    server = threaded_fake()
    server.fake.faults.set("GET /prompt", fault)
    library = write_library(tmp_path, LIB)
    assert ab(library, server.url, tmp_path / "runs") == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_ab_output_holds_no_server_escapes(threaded_fake, tmp_path, capsys):
    server = threaded_fake(hostile_strings=True, hostile=True,
                           broken_models={"ae.safetensors"})
    library = write_library(tmp_path, LIB)
    assert ab(library, server.url, tmp_path / "runs") == 1
    out, err = capsys.readouterr()
    assert "Evil" in err and "SafetensorError" in err
    assert_terminal_safe(err, "stderr")
    assert_terminal_safe(out, "stdout")


def test_ab_with_credentials_in_the_url_stores_and_shows_none(threaded_fake, tmp_path,
                                                              capsys):
    server = threaded_fake()
    url = server.url.replace("http://", "http://alice:hunter2@")
    library = write_library(tmp_path, LIB)
    assert ab(library, url, tmp_path / "runs") == 0
    out, err = capsys.readouterr()
    assert server.fake.request_headers[-1]["Authorization"].startswith("Basic ")
    folder = Path(out.splitlines()[0])
    stored = "".join(p.read_text(errors="replace") for p in folder.rglob("*.json"))
    for text in (out, err, stored):
        assert "hunter2" not in text and "alice" not in text
    assert "http://***@" in stored
