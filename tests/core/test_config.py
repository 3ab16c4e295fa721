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
    assert config.comfyui_urls == ["http://127.0.0.1:8188"]
    assert config.ollama_host == "127.0.0.1:11434"
    assert config.problems == []


def test_file_then_env_then_flags(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    config = load_config(path, env={})
    assert config.comfyui_urls == ["http://gpu-box:8188", "http://gpu-2:8188"]
    assert (config.ollama_model, config.theme) == ("qwen3:4b", "high-contrast")
    config = load_config(path, env={"COMFYUI_URL": "http://a:1, http://b:2",
                                    "OLLAMA_HOST": "gpu-box:11434"})
    assert config.comfyui_urls == ["http://a:1", "http://b:2"]
    assert config.ollama_host == "gpu-box:11434"
    config = load_config(path, env={"COMFYUI_URL": "http://a:1"},
                         overrides={"comfyui_urls": "http://flag:3", "theme": None})
    assert config.comfyui_urls == ["http://flag:3"] and config.theme == "high-contrast"


def test_broken_file_is_reported_and_defaults_used(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[ui\ntheme = 1\n")
    config = load_config(path, env={})
    assert config.theme == "workbench-dark"
    assert len(config.problems) == 1 and str(path) in config.problems[0]
    assert "line 1" in config.problems[0]


def test_wrong_types_are_reported(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[ollama]\nmodel = 3\n[comfyui]\nverify_tls = "yes"\n')
    config = load_config(path, env={})
    assert config.ollama_model == "gemma3:4b" and config.comfyui_verify_tls is True
    assert len(config.problems) == 2


def test_remember_keeps_the_users_comments(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(FILE)
    config = load_config(path, env={})
    remember(config, "ui", "theme", "workbench-light")
    text = path.read_text()
    assert 'theme = "workbench-light"' in text and "# my settings" in text
    assert load_config(path, env={}).theme == "workbench-light"


def test_remember_creates_a_commented_file(tmp_path):
    config = load_config(tmp_path / "new" / "config.toml", env={})
    remember(config, "ui", "theme", "solarized-dusk")
    text = (tmp_path / "new" / "config.toml").read_text()
    assert "COMFYUI_URL" in text  # the example's explanations come along
    assert load_config(tmp_path / "new" / "config.toml", env={}).theme == "solarized-dusk"
