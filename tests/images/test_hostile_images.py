"""Hostile images and PNG metadata (issue 13 items 11, 13, 15, 18): special files never
block, absurd numbers and deep JSON are messages, contact sheets stay a sane size."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from workbench import cli
from workbench.images.contact_sheet import render_sheet
from workbench.images.pngmeta import read_png_metadata, spec_from_metadata
from workbench.images.source import SourceImageError, load_source
from workbench.library import read_library
from workbench.untrusted import JsonError, loads_json, read_json_file


def run_cli(*argv: str, timeout: float = 20.0) -> int:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(cli.main(list(argv))),
                              daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"workbench {' '.join(argv)} hung"
    return result[0]


def png_with(chunks: dict[str, str]) -> bytes:
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def api_workflow(seed: str = "42", steps: str = "20") -> str:
    return ('{"3": {"class_type": "KSampler", "inputs": {"seed": ' + seed + ', "steps": '
            + steps + ', "cfg": 1.0, "sampler_name": "euler", "scheduler": "simple", '
            '"denoise": 1.0, "positive": ["6", 0], "model": ["4", 0]}}, '
            '"6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox"}}, '
            '"9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}}}')


@pytest.mark.parametrize("special", ["fifo", "/dev/stdin", "folder"])
def test_source_images_that_are_not_files_are_refused_without_blocking(tmp_path, special):
    if special == "fifo":
        special = tmp_path / "pipe.png"
        os.mkfifo(special)
    elif special == "folder":
        special = tmp_path
    with pytest.raises(SourceImageError, match="not a regular file"):
        load_source(special)


def test_import_of_a_fifo_does_not_hang(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.png")
    good = tmp_path / "good.png"
    good.write_bytes(png_with({"prompt": api_workflow()}))
    lib = tmp_path / "lib.toml"
    assert run_cli("import", str(tmp_path / "fifo.png"), str(good), "--library", str(lib)) == 2
    out, err = capsys.readouterr()
    assert "fifo.png: cannot read: is a FIFO (named pipe), not a regular file" in err
    assert "saved 1 prompt(s)" in out


@pytest.mark.parametrize("number, words", [
    ("1e400", "the number 1e400 is out of range"),
    ("Infinity", "Infinity is not a number JSON allows"),
    ("NaN", "NaN is not a number JSON allows"),
    ("-Infinity", "-Infinity is not a number JSON allows"),
    ("9" * 5000, "a whole number with 5000 digits is out of range"),
])
def test_import_with_absurd_numbers_in_the_json_says_so(tmp_path, capsys, number, words):
    png = tmp_path / "odd.png"
    png.write_bytes(png_with({"prompt": api_workflow(seed=number)}))
    assert cli.main(["import", str(png), "--library", str(tmp_path / "lib.toml")]) == 2
    err = capsys.readouterr().err
    assert f"the 'prompt' chunk is not valid JSON ({words}); it is ignored" in err
    assert "Traceback" not in err and not (tmp_path / "lib.toml").exists()


def test_absurd_numbers_in_our_own_chunk_are_problems_not_crashes(tmp_path, capsys):
    chunk = json.dumps({"name": "Fox", "subject": "a fox", "seed": 2**64, "steps": 1e300,
                        "loras": [{"name": "x", "triggers": 3, "strength": 1e308}],
                        "guidance": "high", "tags": [1, 2]})
    png = tmp_path / "ours.png"
    png.write_bytes(png_with({"workbench": chunk}))
    lib = tmp_path / "lib.toml"
    assert cli.main(["import", str(png), "--library", str(lib)]) == 0
    err = capsys.readouterr().err
    assert "`seed` is out of range" in err and "`loras[1].triggers` must be a list" in err
    spec = read_library(lib).get("Fox")
    assert spec.subject == "a fox" and spec.params.seed is None
    assert spec.params.loras[0].name == "x"


def test_a_deep_or_huge_number_workflow_is_recovered_without_crashing():
    deep = '{"3": {"class_type": "KSampler", "inputs": {"seed": ' + "[" * 5000 + "]" * 5000 \
        + "}}}"
    meta = read_png_metadata(png_with({"prompt": deep}))
    assert meta.prompt is None
    assert "nested more than 100 levels deep" in meta.problems[0]
    meta = read_png_metadata(png_with({"prompt": api_workflow(seed="1e300", steps="3.5e20")}))
    spec, problems = spec_from_metadata(meta, "x")
    assert spec.params.seed is None  # 1e300 is no seed
    assert spec.raw == "a fox"


def test_untrusted_json_limits(tmp_path):
    assert loads_json('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    with pytest.raises(JsonError, match="more than the 10 bytes limit"):
        loads_json('{"a": 12345678}', max_bytes=10)
    with pytest.raises(JsonError, match="line 1, column 7: Expecting"):
        loads_json('{"a": }')
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 100 + "1]")
    with pytest.raises(OSError, match="more than the 50 bytes limit"):
        read_json_file(big, max_bytes=50)
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(OSError, match="FIFO"):
        read_json_file(tmp_path / "pipe.json")


def test_contact_sheet_labels_are_truncated():
    cell = Image.new("RGB", (64, 64), (200, 0, 0))
    huge = "word " * 20_000  # a 100,000-character prompt
    sheet, layout = render_sheet([[cell, cell]], [huge], [huge, "b"], title=huge,
                                 notes=[f"v{i}: {huge}" for i in range(30)], cell_size=256)
    plain, _ = render_sheet([[cell, cell]], ["a"], ["a", "b"], title="t", notes=["v0: a"],
                            cell_size=256)
    width, height = sheet.size
    assert width == plain.size[0]  # labels never widen the sheet
    assert height < plain.size[1] + 1000, (height, plain.size)
    no_spaces = "x" * 100_000
    sheet, _ = render_sheet([[cell]], [no_spaces], [no_spaces], notes=[no_spaces])
    assert sheet.size[1] < 800


def test_import_into_a_read_only_library_writes_nothing(tmp_path, capsys):
    lib = tmp_path / "lib.toml"
    lib.write_text('[[prompts]]\nname = "Old"\n')
    os.chmod(lib, 0o444)
    png = tmp_path / "a.png"
    png.write_bytes(png_with({"prompt": api_workflow()}))
    assert cli.main(["import", str(png), "--library", str(lib)]) == 2
    assert f"{lib} is read-only (mode 0444)" in capsys.readouterr().err
    assert lib.read_text() == '[[prompts]]\nname = "Old"\n'
    assert not (tmp_path / "lib.workflows").exists()
