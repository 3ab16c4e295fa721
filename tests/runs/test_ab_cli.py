"""``workbench ab`` end to end against the fake (in its own thread: the verb calls
asyncio.run): paths on stdout, progress on stderr, exit codes, saved plans and re-runs."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.comfy.conftest import write_library
from workbench import cli
from workbench.library import load_library
from workbench.runs import history
from workbench.runs.saved_plans import load_plans

LIB = '''[[prompts]]
name = "fox"
subject = "a red fox"
steps = 2
width = 32
height = 32

[[prompts]]
name = "fox snow"
subject = "a red fox in the snow"
steps = 2
width = 32
height = 32
'''


def ab(*argv) -> int:
    return cli.main(["ab", *map(str, argv)])


def test_ab_runs_the_grid_and_prints_paths(threaded_fake, tmp_path, capsys):
    one, two = threaded_fake(), threaded_fake()
    library = write_library(tmp_path, LIB)
    code = ab(library, "fox", "fox snow", "--seeds", "1,2", "--axis", "guidance=2.5,3.5",
              "--servers", f"{one.url},{two.url}", "--out", tmp_path / "runs", "--save-plan")
    out, err = capsys.readouterr()
    assert code == 0, err
    folder, manifest, sheet = (Path(line) for line in out.splitlines())
    assert folder.parent == tmp_path / "runs"
    assert manifest == folder / "manifest.json" and sheet == folder / "contact-sheet.png"
    data = json.loads(manifest.read_text())
    assert len(data["cells"]) == 8 and all(c["status"] == "done"
                                           for c in data["cells"].values())
    assert data["meta"]["library"] == str(library)
    assert Image.open(sheet).width > 0
    assert "[8/8]" in err and "v1-s2-guidance=3.5 done" in err
    assert len(one.fake.submitted) + len(two.fake.submitted) == 8
    plans, problems = load_plans(load_library(library), "fox")
    assert not problems and plans[0].seeds == [1, 2] and plans[0].axes[0].values == [2.5, 3.5]


def test_ab_rerun_reproduces_images(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, LIB)
    assert ab(library, "fox", "fox snow", "--seed-count", "2", "--servers", server.url,
              "--out", tmp_path / "runs") == 0
    first = Path(capsys.readouterr().out.splitlines()[0])
    server.fake.output_cache.clear()
    assert ab("--rerun", first, "--servers", server.url) == 0
    second = Path(capsys.readouterr().out.splitlines()[0])
    assert second != first and second.parent == first.parent
    old, new = history.load_run(first), history.load_run(second)
    assert old.plan.seeds == new.plan.seeds and old.plan.seed_source == "drawn"
    for cell in old.plan.cells():
        assert Image.open(old.image_paths(cell.id)[0]).tobytes() == \
            Image.open(new.image_paths(cell.id)[0]).tobytes()
    assert new.meta["rerun_of"] == str(first)


def test_ab_exit_codes(threaded_fake, tmp_path, capsys):
    library = write_library(tmp_path, LIB)
    assert ab(library, "fox", "wolf", "--servers", "http://127.0.0.1:9") == 2
    assert "no prompt named 'wolf'" in capsys.readouterr().err
    assert ab(library, "fox", "--axis", "guidance", "--servers", "http://127.0.0.1:9") == 2
    assert ab(library, "fox", "fox snow", "--servers", "http://127.0.0.1:9",
              "--out", tmp_path / "runs") == 3
    assert "127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
    server = threaded_fake()
    broken = write_library(tmp_path / "b", LIB.replace('subject = "a red fox in the snow"',
                           'subject = "x"\nloras = [{ name = "missing.safetensors" }]')) \
        if (tmp_path / "b").mkdir() is None else None
    assert ab(broken, "fox", "fox snow", "--seeds", "3", "--servers", server.url,
              "--out", tmp_path / "runs") == 1
    out, err = capsys.readouterr()
    data = json.loads(Path(out.splitlines()[1]).read_text())
    assert data["cells"]["v0-s3"]["status"] == "done"
    assert data["cells"]["v1-s3"]["status"] == "error"
    assert "missing.safetensors" in data["cells"]["v1-s3"]["error"]


def test_ab_resume_finishes_the_missing_cells_in_place(threaded_fake, tmp_path, capsys):
    server = threaded_fake()
    library = write_library(tmp_path, LIB)
    assert ab(library, "fox", "fox snow", "--seeds", "4,5", "--servers", server.url,
              "--out", tmp_path / "runs") == 0
    folder = Path(capsys.readouterr().out.splitlines()[0])
    data = json.loads((folder / "manifest.json").read_text())
    kept = data["cells"]["v0-s4"]["prompt_id"]
    for cid in ("v1-s4", "v1-s5"):                  # as if the run stopped before these
        data["cells"][cid] = {"status": "pending"}
    (folder / "manifest.json").write_text(json.dumps(data))
    before = len(server.fake.submitted)
    assert ab("--resume", folder, "--servers", server.url) == 0
    out, err = capsys.readouterr()
    assert Path(out.splitlines()[0]) == folder
    assert len(server.fake.submitted) == before + 2
    run = history.load_run(folder)
    assert {r.status for r in run.results.values()} == {"done"} and len(run.results) == 4
    assert run.results["v0-s4"].prompt_id == kept


def test_ab_usage_errors(tmp_path, capsys):
    assert ab("--servers", "http://127.0.0.1:9") == 2
    assert "give a library" in capsys.readouterr().err
    library = write_library(tmp_path, LIB)
    assert ab(library, "fox", "--seeds", "1,x") == 2
    assert "--seeds" in capsys.readouterr().err
    assert ab(library, "fox", "--seed-count", "0") == 2
    assert ab("--rerun", tmp_path / "nowhere") == 2
    assert "no manifest" in capsys.readouterr().err


def test_a_grid_opened_after_a_cli_run_decodes_no_image(threaded_fake, tmp_path, capsys):
    """The run makes each image's preview thumbnail as it writes it: a later process (the
    TUI opening the run) draws every pane size from those, decoding none of the PNGs."""
    import time

    from workbench.images.preview import ThumbnailCache, default_cache, fit

    fake = threaded_fake()
    library = write_library(tmp_path, LIB)
    code = ab(library, "fox", "fox snow", "--seeds", "1,2", "--servers", fake.url,
              "--out", tmp_path / "runs")
    out, err = capsys.readouterr()
    assert code == 0, err
    folder = Path(out.splitlines()[0])
    manifest = json.loads((folder / "manifest.json").read_text())
    images = [folder / image for cell in manifest["cells"].values()
              for image in cell["images"]]
    assert len(images) == 4
    later = ThumbnailCache(default_cache().folder)
    bases = [later.folder / key[:2] / f"{key}.thumb" for key in map(later.base_key, images)]
    deadline = time.monotonic() + 30       # made in the background as the run went on
    while not all(base.is_file() for base in bases) and time.monotonic() < deadline:
        time.sleep(0.05)
    for image in images:
        with Image.open(image) as opened:
            size = opened.size
        for box in ((24, 22), (48, 44), (100, 100)):
            assert later.get(image, box).size == fit(size, box)
    assert (later.misses, later.disk_hits) == (0, 12)
