import json
import subprocess
import sys

from tests.fixtures import COMFY_PNG as PNG_DIR
from workbench import locations
from workbench.cli import main
from workbench.compose import compose
from workbench.images.pngmeta import embed_spec
from workbench.library import load_library
from workbench.spec import Params, PromptSpec

from ..conftest import REPO

TINY = PNG_DIR / "saveimage_flux_t2i_tiny_random_weights.png"
EXTRA = PNG_DIR / "saveimage_model_free_extra_pnginfo.png"


def test_import_recorded_pngs_into_a_new_library(tmp_path, capsys):
    lib_path = tmp_path / "found.toml"
    bad = tmp_path / "notes.png"
    bad.write_text("not a png")
    code = main(["import", str(TINY), str(EXTRA), str(bad), "--library", str(lib_path)])
    out, err = capsys.readouterr()
    assert code == 2  # one file failed; the others were still saved
    assert "notes.png: not a readable image" in err
    assert "saved 2 prompt(s)" in out and "seed 42, 3 steps, 128x128" in out

    library = load_library(lib_path)
    fox, lighthouse = library.prompts
    assert fox.name == "saveimage_flux_t2i_tiny_random_weights"
    assert compose(fox).startswith("A lighthouse on a rocky cliff at dusk")
    assert (fox.params.seed, fox.params.steps, fox.params.guidance, fox.params.width) == \
        (42, 3, 3.5, 128)
    assert (lighthouse.name, lighthouse.subject, lighthouse.params.seed) == \
        ("lighthouse-dusk", "a lighthouse", 7)

    table = library.doc["prompts"][0]
    api_path = lib_path.parent / table["comfyui_workflow"]
    assert table["comfyui_workflow"] == \
        "found.workflows/saveimage-flux-t2i-tiny-random-weights.api.json"
    recorded = json.loads((PNG_DIR / "saveimage_flux_t2i_tiny_random_weights.json")
                          .read_text())["workflow_api"]
    assert json.loads(api_path.read_text()) == recorded
    assert json.loads((lib_path.parent / table["comfyui_graph"]).read_text())["version"] == 0.4
    assert table["imported_from"] == str(TINY.resolve())

    # importing again adds copies (unique names, separate workflow files), keeps the rest
    assert main(["import", str(TINY), "--library", str(lib_path)]) == 0
    again = load_library(lib_path)
    assert [s.name for s in again.prompts][-1] == "saveimage_flux_t2i_tiny_random_weights (2)"
    assert again.doc["prompts"][0]["comfyui_workflow"] == table["comfyui_workflow"]
    assert again.doc["prompts"][2]["comfyui_workflow"].endswith("weights-2.api.json")


def test_import_our_own_png_defaults_to_the_imported_library(tmp_path, capsys):
    spec = PromptSpec("Owl «ink»", subject="a snowy owl", style="ink wash", model="schnell",
                      params=Params(seed=5, steps=4))
    png = tmp_path / "owl.png"
    png.write_bytes(embed_spec(TINY.read_bytes(), spec))
    assert main(["import", str(png)]) == 0
    library = load_library(locations.libraries_dir() / "imported.toml")
    (got,) = library.prompts
    assert got == spec


def test_import_is_a_listed_verb_and_runs_as_a_program():
    result = subprocess.run([sys.executable, "-m", "workbench", "import", "--help"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and "--library" in result.stdout
    result = subprocess.run([sys.executable, "-m", "workbench", "--help"],
                            capture_output=True, text=True, cwd=REPO)
    assert "import" in result.stdout and "ComfyUI-made PNGs" in result.stdout
