"""``workbench rewrite`` against the fake Ollama: prints, applies only when asked, and never
touches the file when the model fails."""

from __future__ import annotations

import json

import pytest

from tests.fakes.ollama_server import FakeOllamaThread, Reply
from workbench import cli
from workbench.library import load_library

LIBRARY = """\
# My shots: comments and layout must survive.
format = 1
title = "Shots"

[[prompts]]
name = "Fox"   # the fox
subject = "a red fox"
action = "sitting in fresh snow"
style = "watercolor"
seed = 42

[[prompts]]
name = "Sign"
raw = "Неоновая вывеска «ВЫХОД» над дверью"
"""


@pytest.fixture
def library(tmp_path):
    path = tmp_path / "shots.toml"
    path.write_text(LIBRARY, encoding="utf-8")
    return path


@pytest.fixture
def fake():
    with FakeOllamaThread() as server:
        yield server


def run(fake, *args: str) -> int:
    return cli.main(["rewrite", *args, "--ollama-host", fake.host])


def test_prints_the_proposal_and_leaves_the_file(fake, library, capsys):
    fake.queue("A red fox sits in fresh snow, painted in soft watercolor.")
    assert run(fake, str(library), "Fox") == 0
    out = capsys.readouterr().out
    assert "- A red fox sitting in fresh snow. Watercolor." in out
    assert "+ A red fox sits in fresh snow, painted in soft watercolor." in out
    assert "not applied" in out
    assert library.read_text(encoding="utf-8") == LIBRARY
    request = fake.chats[0]
    assert "A red fox sitting in fresh snow. Watercolor." in request["messages"][1]["content"]


def test_apply_writes_only_the_change_and_keeps_comments(fake, library, capsys):
    fake.queue("A red fox sits in fresh snow, painted in soft watercolor.")
    assert run(fake, str(library), "Fox", "--apply") == 0
    assert "applied to" in capsys.readouterr().out
    text = library.read_text(encoding="utf-8")
    assert text == LIBRARY.replace(
        'style = "watercolor"\n',
        'style = "watercolor"\n'
        'raw = "A red fox sits in fresh snow, painted in soft watercolor."\n')
    assert (library.parent / "shots.toml.bak").read_text(encoding="utf-8") == LIBRARY


def test_decompose_apply_fills_the_fields(fake, library, capsys):
    fields = {"subject": "a neon sign", "action": "", "style": "", "context": "rainy night",
              "foreground": "", "midground": "", "background": "a door", "text": "ВЫХОД",
              "camera": ""}
    fake.queue(json.dumps(fields, ensure_ascii=False))
    assert run(fake, str(library), "Sign", "--action", "decompose", "--apply") == 0
    spec = load_library(library).get("Sign")
    assert (spec.raw, spec.subject, spec.text, spec.background) == (
        "", "a neon sign", "ВЫХОД", "a door")
    assert fake.chats[0]["format"]["required"][0] == "subject"
    assert library.read_text(encoding="utf-8").startswith("# My shots: comments")


def test_diff_shows_the_file_change(fake, library, capsys):
    fake.queue('A neon sign reading "ВЫХОД" above a door.')
    assert run(fake, str(library), "Sign", "--action", "translate", "--diff") == 0
    out = capsys.readouterr().out
    assert '-raw = "Неоновая вывеска «ВЫХОД» над дверью"' in out
    assert '+raw = "A neon sign reading \\"ВЫХОД\\" above a door."' in out
    assert library.read_text(encoding="utf-8") == LIBRARY


def test_fix_sends_the_given_diagnostics(fake, library, capsys):
    fake.queue("A red fox sitting in fresh snow, watercolor.")
    assert run(fake, str(library), "Fox", "--action", "fix",
               "--diagnostic", "style is one word", "--diagnostic", "no light") == 0
    user = fake.chats[0]["messages"][1]["content"]
    assert "- style is one word\n- no light" in user


@pytest.mark.parametrize("reply, model, message", [
    (None, "llama9:1b", "model llama9:1b is not installed: run `ollama pull llama9:1b`"),
    (Reply("A red fox", error_after=1, error="runner died"), None,
     "Ollama stopped in the middle of the answer: runner died"),
    (Reply("A red fox in", done_reason="length"), None, "was cut off"),
    (Reply("not json"), None, "did not give usable fields twice"),
])
def test_a_failed_action_leaves_the_file_byte_for_byte(fake, library, capsys, reply, model,
                                                       message):
    before = library.read_bytes()
    if reply is not None:
        fake.queue(reply, reply)
    args = [str(library), "Fox", "--apply"]
    if model:
        args += ["--model", model]
    if reply is not None and reply.content == "not json":
        args += ["--action", "decompose"]
    assert run(fake, *args) == 1
    assert message in capsys.readouterr().err
    assert library.read_bytes() == before
    assert not (library.parent / "shots.toml.bak").exists()


def test_not_reachable(library, capsys, closed_port):
    code = cli.main(["rewrite", str(library), "Fox", "--apply",
                     "--ollama-host", f"127.0.0.1:{closed_port}"])
    assert code == 1
    assert (f"Ollama is not reachable at 127.0.0.1:{closed_port}: start it with "
            "`ollama serve` or set OLLAMA_HOST") in capsys.readouterr().err
    assert library.read_text(encoding="utf-8") == LIBRARY


def test_model_output_cannot_reach_the_terminal(fake, library, capsys):
    fake.queue("\x1b[2J\x1b]0;owned\x07A fox [red]in[/red] snow.")
    assert run(fake, str(library), "Fox") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "+ A fox [red]in[/red] snow." in out


def test_json_output(fake, library, capsys):
    fake.queue(json.dumps({"instructions": ["Make the fox look up"]}))
    assert run(fake, str(library), "Fox", "--action", "kontext", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["instructions"] == ["Make the fox look up"]
    assert data["applied"] is False and data["model"] == "gemma3:4b"


def test_unknown_prompt(fake, library, capsys):
    assert run(fake, str(library), "Wolf") == 2
    assert "no prompt named 'Wolf'" in capsys.readouterr().err
    assert fake.requests == []


def test_model_flag_and_config_model(fake, library, tmp_path):
    fake.queue("A fox.", "A fox.")
    assert run(fake, str(library), "Fox", "--model", "llava:7b") == 0
    config = tmp_path / "config.toml"
    config.write_text('[ollama]\nmodel = "qwen3:4b"\n')
    assert run(fake, str(library), "Fox", "--config", str(config)) == 0
    assert [c["model"] for c in fake.chats] == ["llava:7b", "qwen3:4b"]


def test_a_file_changed_during_the_request_is_not_overwritten(fake, library, capsys):
    theirs = LIBRARY.replace("a red fox", "a grey wolf")

    def model(request: dict) -> str:
        library.write_text(theirs, encoding="utf-8")  # someone saves while the model thinks
        return "A red fox sits in the snow."

    fake.responder = model
    assert run(fake, str(library), "Fox", "--apply") == 2
    assert "changed on disk" in capsys.readouterr().err
    assert library.read_text(encoding="utf-8") == theirs


def test_fix_uses_the_linter_and_lints_the_proposal(fake, library, capsys):
    text = LIBRARY.replace('style = "watercolor"', 'style = "watercolor, masterpiece"')
    library.write_text(text, encoding="utf-8")
    fake.queue("A red fox sitting in fresh snow, watercolor, masterpiece.")
    assert run(fake, str(library), "Fox", "--action", "fix") == 0
    user = fake.chats[0]["messages"][1]["content"]
    assert "'masterpiece' is a Stable Diffusion quality tag" in user
    out = capsys.readouterr().out
    assert "lint: 'masterpiece' is a Stable Diffusion quality tag" in out  # still there
    assert library.read_text(encoding="utf-8") == text


def test_fix_lints_with_the_users_and_the_librarys_settings(fake, library, tmp_path, capsys):
    """The same findings as the Problems panel: config.toml's [lint], then the library's."""
    text = LIBRARY.replace('style = "watercolor"', 'style = "watercolor, masterpiece"')
    text = text.replace('"sitting in fresh snow"', '"sitting in fresh snow with no blur"')
    library.write_text('[lint]\nignore = ["missing-lighting", "word-count"]\n' + text,
                       encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[lint]\nignore = ["sd-quality-tags"]\n')
    fake.queue("A red fox sitting in fresh, sharp snow, watercolor.")
    assert run(fake, str(library), "Fox", "--action", "fix", "--config", str(config)) == 0
    user = fake.chats[0]["messages"][1]["content"]
    problems = [line for line in user.splitlines() if line.startswith("- ")]
    assert len(problems) == 1 and "'no blur'" in problems[0], user

    config.write_text('[lint]\nignore = ["sd-quality-tags", "negation"]\n')
    assert run(fake, str(library), "Fox", "--action", "fix", "--config", str(config)) == 0
    assert "the linter found nothing to fix" in capsys.readouterr().out
    assert len(fake.chats) == 1


def test_kontext_edits_become_a_step_each(fake, library, capsys):
    """(issue 14) Several edits were glued into one run-on Kontext instruction."""
    from workbench.library import load_library

    fake.queue(json.dumps({"instructions": ["Make the fox look up",
                                            "Add falling snow, keeping the fox the same"]}))
    assert run(fake, str(library), "Fox", "--action", "kontext", "--apply") == 0
    out = capsys.readouterr().out
    assert "+ 1. Make the fox look up" in out and "+ 2. Add falling snow" in out
    saved = load_library(library)
    fox = saved.get("Fox")
    assert fox.raw == "Make the fox look up." and fox.model == "kontext"
    step = saved.get("Fox › 2")
    assert step.follows == "Fox" and step.raw.startswith("Add falling snow")
