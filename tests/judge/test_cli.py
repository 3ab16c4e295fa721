"""``workbench judge`` end to end: a run made by ``workbench ab`` on the fake ComfyUI, then
judged against the fake Ollama (both on real ports, in their own threads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.comfy.conftest import threaded_fake, write_library  # noqa: F401 (fixture)
from tests.fakes.ollama_server import colour_key
from tests.judge.conftest import RED, fox, picture, png
from workbench import cli
from workbench.judge.checklist import build_checklist
from workbench.judge.scoring import adherence_score

LIB = '''[[prompts]]
name = "sign"
subject = "a bakery shop front"
style = "film photo"
text = "FRESH BREAD"
steps = 2
width = 64
height = 64

[[prompts]]
name = "sign again"
subject = "a bakery shop front"
style = "film photo"
text = "FRESH BREAD"
notes = "the same words: FLUX will draw the same picture"
steps = 2
width = 64
height = 64

[[prompts]]
name = "sign night"
subject = "a bakery shop front at night"
style = "film photo"
text = "FRESH BREAD"
steps = 2
width = 64
height = 64
'''


def judge(*argv) -> int:
    return cli.main(["judge", *map(str, argv)])


def test_ab_run_judged_end_to_end(threaded_fake, ollama_thread, tmp_path, capsys):
    comfy = threaded_fake()
    library = write_library(tmp_path, LIB)
    assert cli.main(["ab", str(library), "sign", "sign again", "sign night", "--seeds",
                     "1,2", "--servers", comfy.url, "--out", str(tmp_path / "runs")]) == 0
    folder = Path(capsys.readouterr().out.splitlines()[0])

    code = judge(folder, "--ollama-host", ollama_thread.host)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "[6/6]" in err
    data = json.loads((folder / "judge.json").read_text(encoding="utf-8"))
    assert set(data["cells"]) == {f"v{v}-s{s}" for v in range(3) for s in (1, 2)}
    # "sign again" drew the very same pictures with the same checklist: answered from the
    # cache within this one judging
    assert data["adherence"] == {"model": "llava:7b", "status": "done", "note": "",
                                 "asked": 4, "cached": 2, "failed": 0}
    # the scores are the fake's answers run through the scoring maths
    for cid, cell in data["cells"].items():
        image = cell["images"][0]
        statuses = {i["key"]: i["status"] for i in image["checklist"]}
        spec = fox(subject="a bakery shop front" + (" at night" if cid[1] == "2" else ""),
                   action="", style="film photo", text="FRESH BREAD")
        assert image["adherence"] == round(adherence_score(build_checklist(spec), statuses), 3)
        assert image["text"]["hit"] is False       # the fake reads no text by default
        assert image["text"]["missing_words"] == ["fresh", "bread"]
    # "sign again" only changed the notes: the same pictures, flagged; "sign night" not
    assert [data["cells"][f"v1-s{s}"]["same_as_a"] for s in (1, 2)] == [True, True]
    assert [data["cells"][f"v2-s{s}"]["same_as_a"] for s in (1, 2)] == [False, False]
    assert "v1-s1" in out and "same" in out and "per variant:" in out
    assert 'text: read "", wanted "FRESH BREAD" (missing: fresh, bread)' in out
    assert f"written: {folder / 'judge.json'}" in out

    # again: every answer from the cache, no new vision request
    before = len(ollama_thread.vision_chats)
    assert judge(folder, "--ollama-host", ollama_thread.host, "--format", "json") == 0
    again = json.loads(capsys.readouterr().out)
    assert len(ollama_thread.vision_chats) == before
    assert again["adherence"]["cached"] == 6

    def scores(d):
        return {cid: [(i["adherence"], i["checklist"], i["text"]) for i in c["images"]]
                for cid, c in d["cells"].items()}

    assert scores(again) == scores(data)
    assert all(c["images"][0]["cached"] for c in again["cells"].values())


@pytest.fixture
def one_cell_run(make_run):
    return make_run([fox("A", text="OPEN")], {(0, 1): [png(picture(RED, 1))]})


def test_unreachable_ollama_says_so_and_still_measures(one_cell_run, capsys):
    assert judge(one_cell_run, "--ollama-host", "127.0.0.1:9") == 1
    out = capsys.readouterr().out
    assert "adherence: skipped: Ollama is not reachable at 127.0.0.1:9" in out
    assert "the pixel checks ran" in out
    data = json.loads((one_cell_run / "judge.json").read_text())
    assert data["adherence"]["status"] == "skipped"
    assert data["cells"]["v0-s1"]["sharpness"] > 0


def test_missing_and_blind_models(one_cell_run, ollama_thread, capsys):
    assert judge(one_cell_run, "--ollama-host", ollama_thread.host, "--model",
                 "qwen2.5vl:7b") == 1
    assert "run `ollama pull qwen2.5vl:7b`" in capsys.readouterr().out
    assert judge(one_cell_run, "--ollama-host", ollama_thread.host, "--model",
                 "llama3.2:3b") == 1
    assert "cannot look at images" in capsys.readouterr().out
    assert not ollama_thread.vision_chats


def test_no_vision_touches_no_server(one_cell_run, capsys):
    assert judge(one_cell_run, "--no-vision", "--ollama-host", "127.0.0.1:9") == 0
    out = capsys.readouterr().out
    assert "adherence: not checked (--no-vision)" in out
    assert json.loads((one_cell_run / "judge.json").read_text())["adherence"]["status"] == "off"


def test_model_text_is_shown_escaped(one_cell_run, ollama_thread, capsys):
    ollama_thread.vision_table[colour_key(RED)] = {
        "items": {"subject": {"status": "absent",
                              "reason": "\x1b]52;c;cHduZWQ=\x07[bold red]gone\x1b[2J\u009b"
                                        "\u202e"}},
        "text_seen": "OP\x1b[31mEN\x1b]8;;http://x\x07"}
    assert judge(one_cell_run, "--ollama-host", ollama_thread.host) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u009b" not in out
    assert "\u202e" not in out
    assert "subject absent: [bold red]gone" in out      # markup stays literal text
    seen = json.loads((one_cell_run / "judge.json").read_text())["cells"]["v0-s1"]
    assert seen["images"][0]["text"]["seen"] == "OPEN" and seen["text_hit"] is True
    assert judge(one_cell_run, "--ollama-host", ollama_thread.host, "--format", "json") == 0
    raw = capsys.readouterr().out
    assert "\x1b" not in raw and raw.isascii()


def test_the_run_folder_keeps_the_judgement(one_cell_run, capsys):
    """judge.json, a summary in the manifest (for the history) and the scores on the
    contact sheet; a run still running keeps its manifest to its runner."""
    from PIL import Image

    from workbench.images.contact_sheet import plan_sheet
    from workbench.runs.history import first_images, load_run, set_status

    manifest = (one_cell_run / "manifest.json").read_bytes()
    assert judge(one_cell_run, "--no-vision") == 0
    assert (one_cell_run / "manifest.json").read_bytes() == manifest   # status: running
    assert (one_cell_run / "judge.json").is_file()
    set_status(load_run(one_cell_run), "finished")
    assert judge(one_cell_run, "--no-vision") == 0
    kept = load_run(one_cell_run).judge
    assert kept["file"] == "judge.json" and kept["status"] == "off"
    assert [v["label"] for v in kept["variants"]] == ["A"]
    run = load_run(one_cell_run)
    plain = plan_sheet(run.plan, first_images(run))[0]
    with Image.open(one_cell_run / "contact-sheet.png") as sheet:   # a caption band more
        assert sheet.width == plain.width and sheet.height > plain.height
    capsys.readouterr()


def test_not_a_run_folder(tmp_path, capsys):
    assert judge(tmp_path, "--no-vision") == 2
    assert "no manifest (not a run folder)" in capsys.readouterr().err


def test_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "judge" in capsys.readouterr().out


def test_readme_explains_the_scores_and_their_limits():
    """The README's "Judging results" section: what each score means, where it shows,
    that it is triage, and every option the judge verbs take."""
    import argparse
    import re

    from workbench.commands import ab as ab_verb
    from workbench.commands import judge as judge_verb

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Judging results", 1)[1].split("\n## ", 1)[0]
    for words in ("Adherence", "Text", "Sharpness", "Clipped", "Same as A",
                  "triage, not truth", "ollama pull", "judge.json", "--judge",
                  "contact sheet", "`j`", "`d`", "`b`"):
        assert words in section, words
    documented = readme.split("## Command line", 1)[1]
    for verb in (judge_verb, ab_verb):
        parser = argparse.ArgumentParser()
        verb.add_arguments(parser)
        options = {o for a in parser._actions for o in a.option_strings
                   if o.startswith("--") and o != "--help"}
        if verb is ab_verb:
            options = {o for o in options if "judge" in o}
        missing = [o for o in sorted(options) if not re.search(re.escape(o) + r"\b",
                                                                  documented)]
        assert missing == [], missing
