"""Prompt templates are data: bundled TOML, overridable per action by a user file."""

from __future__ import annotations

import tomllib

from workbench import locations
from workbench.llm.templates import ACTIONS, BUNDLED, fill, load_templates, user_templates_file


def test_every_action_has_a_bundled_template():
    data = tomllib.loads(BUNDLED.read_text(encoding="utf-8"))
    templates = load_templates()
    assert templates.problems == []
    for action in ACTIONS:
        assert data[action]["system"].strip() and data[action]["user"].strip()
        assert templates[action].system.strip() == data[action]["system"].strip()
    assert "{text}" in templates["rewrite"].user
    assert "{diagnostics}" in templates["fix"].user
    assert "{problem}" in templates["decompose"].retry


def test_placeholders_are_filled_once():
    text = "a sign reading {diagnostics} and {unknown}"
    filled = fill("Fix:\n{diagnostics}\n<<<\n{text}\n>>>", {"text": text, "diagnostics": "- x"})
    assert filled == "Fix:\n- x\n<<<\na sign reading {diagnostics} and {unknown}\n>>>"


def test_user_file_overrides_per_key(tmp_path):
    assert user_templates_file().parent == locations.config_dir()
    path = user_templates_file()
    path.parent.mkdir(parents=True)
    path.write_text('[rewrite]\nsystem = "Write like a poet."\noptions = { seed = 7 }\n',
                    encoding="utf-8")
    templates = load_templates()
    assert templates.problems == []
    assert templates["rewrite"].system == "Write like a poet."
    assert "{text}" in templates["rewrite"].user  # not overridden: bundled
    assert templates["rewrite"].options == {"temperature": 0.4, "seed": 7}


def test_a_broken_user_file_is_reported_and_ignored(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[rewrite\nsystem = ", encoding="utf-8")
    templates = load_templates(path)
    assert len(templates.problems) == 1 and str(path) in templates.problems[0]
    assert "FLUX" in templates["rewrite"].system


def test_bad_keys_are_reported(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[rewrite]\nsystem = 3\ncolour = "red"\n[poem]\nuser = "x"\n',
                    encoding="utf-8")
    problems = load_templates(path).problems
    assert any("rewrite.system must be a string" in p for p in problems)
    assert any("rewrite.colour is not a template key" in p for p in problems)
    assert any("[poem] is not an action" in p for p in problems)


async def test_the_model_receives_the_users_template(fake, client):
    from workbench.llm.actions import Assistant

    path = user_templates_file()
    path.parent.mkdir(parents=True)
    path.write_text('[expand]\nsystem = "Be brief."\nuser = "Idea: {text}!"\n', encoding="utf-8")
    fake.queue("A fox.")
    await Assistant(client, model="gemma3:4b").expand("fox")
    messages = fake.chats[0]["messages"]
    assert messages == [{"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "Idea: fox!"}]
