from workbench.config import load_config, remember

FILE = """\
# my settings
[comfyui]
urls = ["http://gpu-box:8188", "http://gpu-2:8188"]
[ollama]
model = "qwen3:4b"
[ui]
theme = "high-contrast"   # easier on the eyes
"""


def test_defaults_without_a_file(tmp_path):
    config = load_config(tmp_path / "none.toml", env={})
    assert config.comfyui.urls == ["http://127.0.0.1:8188"]
    assert config.ollama.host == "127.0.0.1:11434"
    assert config.problems == []


def test_file_then_env_then_flags(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    config = load_config(path, env={})
    assert config.comfyui.urls == ["http://gpu-box:8188", "http://gpu-2:8188"]
    assert (config.ollama.model, config.ui.theme) == ("qwen3:4b", "high-contrast")
    config = load_config(path, env={"COMFYUI_URL": "http://a:1, http://b:2",
                                    "OLLAMA_HOST": "gpu-box:11434"})
    assert config.comfyui.urls == ["http://a:1", "http://b:2"]
    assert config.ollama.host == "gpu-box:11434"
    config = load_config(path, env={"COMFYUI_URL": "http://a:1"},
                         overrides={"comfyui_urls": "http://flag:3", "theme": None})
    assert config.comfyui.urls == ["http://flag:3"] and config.ui.theme == "high-contrast"


def test_broken_file_is_reported_and_defaults_used(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[ui\ntheme = 1\n")
    config = load_config(path, env={})
    assert config.ui.theme == "workbench-dark"
    assert len(config.problems) == 1 and str(path) in config.problems[0]
    assert "line 1" in config.problems[0]


def test_wrong_types_are_reported(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ollama]\nmodel = 3\n[comfyui]\nverify_tls = "yes"\n')
    config = load_config(path, env={})
    assert config.ollama.model == "gemma3:4b" and config.comfyui.verify_tls is True
    assert len(config.problems) == 2


def test_remember_keeps_the_users_comments(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    config = load_config(path, env={})
    remember(config, "ui", "theme", "workbench-light")
    text = path.read_text()
    assert 'theme = "workbench-light"' in text and "# my settings" in text
    assert load_config(path, env={}).ui.theme == "workbench-light"


def test_remember_creates_a_commented_file(tmp_path):
    config = load_config(tmp_path / "new" / "config.toml", env={})
    remember(config, "ui", "theme", "solarized-dusk")
    text = (tmp_path / "new" / "config.toml").read_text()
    assert "COMFYUI_URL" in text  # the example's explanations come along
    assert load_config(tmp_path / "new" / "config.toml", env={}).ui.theme == "solarized-dusk"


def test_unknown_keys_and_sections_are_reported_at_file_line_col(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ui]\ntheme = "high-contrast"\n  colour = "red"\n\n[comfyui]\n'
                    'url = "http://a:1"\nverfy_tls = false\n[comfyui.models]\n'
                    'dev = "x.safetensors"\n'
                    'schnel = "y"\n[extras]\nfoo = 1\n[keys]\nrun = "ctrl+r"\nsave = 3\n')
    config = load_config(path, env={})
    assert config.ui.theme == "high-contrast" and config.comfyui.urls == ["http://a:1"]
    assert config.comfyui.models == {"dev": "x.safetensors"}
    assert config.keys == {"run": "ctrl+r"}
    where = [p.split(": ", 1)[0] for p in config.problems]
    assert where == [f"{path}:3:3", f"{path}:7:1", f"{path}:10:1", f"{path}:11:1",
                     f"{path}:15:1"], config.problems
    assert "unknown key `colour` in [ui]" in config.problems[0]
    assert "unknown section [extras]" in config.problems[3]


def test_settings_are_sections_and_runtime_state_is_apart(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ui]\nimage_protocol = "kitty"\n[lint]\nignore = ["word-count"]\n'
                    '[ollama]\nunload_before_jobs = false\n')
    config = load_config(path, env={})
    assert config.ui.image_protocol == "kitty" and config.runtime.image_protocol == "kitty"
    assert config.lint.table() == {"ignore": ["word-count"]}
    assert config.ollama.unload_before_jobs is False
    config.runtime.image_protocol = "halfblocks"   # what detection found
    assert config.ui.image_protocol == "kitty"     # the setting is untouched


def test_default_preset_is_used_where_params_are_computed(tmp_path):
    """[defaults] preset applies to prompts that name no preset (and fits their model)."""
    from workbench.comfy.workflows import build_workflow
    from workbench.compose import compose
    from workbench.presets import effective_params, presets_for
    from workbench.spec import Params, PromptSpec

    path = tmp_path / "config.toml"
    path.write_text('[defaults]\npreset = "quality"\n')
    config = load_config(path, env={})
    fox = PromptSpec("fox", subject="a red fox")
    assert effective_params(fox, presets_for(config)).steps == 50
    built = build_workflow(fox, compose(fox), config=config, seed=1)
    assert built.values["steps"] == 50 and built.values["guidance"] == 3.0
    own = PromptSpec("own", subject="x", params=Params(preset="fast"))
    assert effective_params(own, presets_for(config)).steps == 20   # its own preset wins
    mine = PromptSpec("mine", subject="x", params=Params(steps=12))
    assert effective_params(mine, presets_for(config)).steps == 12  # its own value wins
    path.write_text('[defaults]\npreset = "draft"\n')                # a schnell preset
    config = load_config(path, env={})
    assert effective_params(fox, presets_for(config)).steps == 28     # not for dev prompts
    sketch = PromptSpec("sketch", model="schnell", subject="x")
    assert effective_params(sketch, presets_for(config)).steps == 4
    path.write_text('[defaults]\npreset = "no-such"\n')
    config = load_config(path, env={})
    assert config.defaults.preset == "" and "no preset named 'no-such'" in config.problems[0]
