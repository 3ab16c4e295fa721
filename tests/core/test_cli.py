import json
import subprocess
import sys

from workbench.cli import main

from ..conftest import REPO


def test_help_explains_config_env_and_verbs(capsys):
    try:
        main(["--help"])
    except SystemExit as exit:
        assert exit.code == 0
    out = capsys.readouterr().out
    for needle in ("COMFYUI_URL", "OLLAMA_HOST", "config.toml", "--comfyui-url", "list",
                   "locate", "[comfyui] urls"):
        assert needle in out


def test_list_text_and_json(capsys):
    library = REPO / "tests" / "tui" / "sample" / "studio.toml"
    assert main(["list", str(library)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    file, name, tags, model, text = lines[1].split("\t")
    assert (name, tags, model) == ("Lisbon poster", "poster,text", "dev")
    assert text.endswith('The image shows the text "LISBOA", spelled exactly.')
    assert main(["list", str(library), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2] == {"file": str(library), "library": "Studio", "name": "Quick sketch",
                       "tags": ["draft"], "model": "schnell",
                       "text": "A fox curled up asleep in fresh snow at dawn, soft pink "
                               "light on the snow."}


def test_list_reports_broken_files_and_exits_2(tmp_path, capsys):
    (tmp_path / "ok.toml").write_text('[[prompts]]\nname = "a"\nsubject = "a cat\\u001b[2J"\n')
    (tmp_path / "bad.toml").write_text("[[prompts]\n")
    assert main(["list", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out and "A cat[2J." in captured.out
    assert f"{tmp_path / 'bad.toml'}:1:" in captured.err


def test_python_dash_m_and_locate():
    result = subprocess.run([sys.executable, "-m", "workbench", "locate", "libraries"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0
    assert result.stdout.strip().endswith("flux-workbench/libraries")
