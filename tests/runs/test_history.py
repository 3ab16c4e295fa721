import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image

from workbench import locations
from workbench.runs.history import (
    HistoryError,
    create_run,
    list_runs,
    load_run,
    mark_winner,
    record_cell,
    record_cell_error,
    set_status,
)
from workbench.runs.plan import make_axis, make_plan
from workbench.spec import PromptSpec


def png(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def plan():
    return make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Owl", subject="a snowy owl")], seeds=[1, 2],
                     axes=[make_axis("guidance", [2.5, 3.5])], name="Fox vs Owl")


def test_manifest_round_trip(plan):
    when = datetime(2026, 11, 23, 14, 5, 1, tzinfo=UTC)
    run = create_run(plan, meta={"library": "fox.toml"}, now=when)
    assert run.folder.parent == locations.runs_dir()
    assert run.folder.name == "20261123-140501-fox-vs-owl"
    cells = plan.cells()
    workflow = {"8": {"class_type": "KSampler", "inputs": {"seed": cells[0].seed}}}
    result = record_cell(run, cells[0], [png("red"), png("blue")], workflow,
                         server="http://127.0.0.1:8188", comfyui_version="0.3.64",
                         batch_size=2, prompt_id="p-1", timings={"queued": 1.0, "seconds": 2.5})
    record_cell_error(run, cells[1], "VAELoader: header too large", server="http://b")
    mark_winner(run, cells[0].id, "warmer")
    set_status(run, "finished")

    manifest = json.loads(run.manifest_path.read_text())
    assert manifest["cells"][cells[0].id]["comfyui_version"] == "0.3.64"
    assert manifest["cells"][cells[2].id]["status"] == "pending"
    assert run.manifest_path.read_text().startswith("{\n  ")  # readable, indented

    loaded = load_run(run.folder)
    assert loaded.status == "finished" and loaded.meta == {"library": "fox.toml"}
    assert loaded.plan.to_dict() == plan.to_dict()
    assert loaded.plan.is_winner(cells[0].id)
    got = loaded.results[cells[0].id]
    assert got == result
    assert got.params["guidance"] == 2.5 and got.seed == 1 and got.text == "A red fox."
    paths = loaded.image_paths(cells[0].id)
    assert [Image.open(p).getpixel((0, 0)) for p in paths] == [(255, 0, 0), (0, 0, 255)]
    assert json.loads((run.folder / got.workflow).read_text()) == workflow
    assert loaded.results[cells[1].id].status == "error"
    assert loaded.results[cells[1].id].error == "VAELoader: header too large"
    assert [c.id for c in loaded.missing_cells()] == [c.id for c in cells[1:]]


def test_list_runs_newest_first_and_skips_junk(plan, tmp_path):
    first = create_run(plan, now=datetime(2026, 1, 1, tzinfo=UTC))
    second = create_run(plan, now=datetime(2026, 1, 2, tzinfo=UTC))
    same_second = create_run(plan, now=datetime(2026, 1, 2, tzinfo=UTC))
    assert same_second.folder.name.endswith("-2")
    (locations.runs_dir() / "not-a-run").mkdir()
    broken = locations.runs_dir() / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{nope")
    record_cell(second, plan.cells()[0], [png("red")], None)
    runs = list_runs()
    assert [r.folder for r in runs] == [same_second.folder, second.folder, first.folder]
    assert (runs[1].cells, runs[1].done) == (8, 1)
    with pytest.raises(HistoryError, match=r"manifest.json:1:2: not valid JSON"):
        load_run(broken)


def test_manifest_paths_cannot_leave_the_run_folder(plan):
    run = create_run(plan)
    record_cell(run, plan.cells()[0], [png("red")], None)
    data = json.loads(run.manifest_path.read_text())
    data["cells"][plan.cells()[0].id]["images"] = ["../../secret.png"]
    run.manifest_path.write_text(json.dumps(data))
    with pytest.raises(HistoryError, match="leaves the run folder"):
        load_run(run.folder)
