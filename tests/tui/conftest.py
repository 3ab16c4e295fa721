import shutil
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "sample"


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    target = tmp_path / "libs"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture
def make_app(library_dir):
    from workbench.config import load_config
    from workbench.tui.app import WorkbenchApp

    def make(path: Path | None = None, **overrides):
        app = WorkbenchApp(load_config(env={}, overrides=overrides), path or library_dir)
        # A toast lasts 5 s; on a loaded machine a test reads it later than a user would.
        app.NOTIFICATION_TIMEOUT = 600
        return app

    return make


@pytest.fixture(autouse=True, scope="session")
def _tokenizers_loaded():
    """The composed pane counts exactly once the tokenizers are in memory (the app loads
    them in a thread); load them up front so every screen test sees the same counts."""
    from workbench import tokens

    tokens.preload()
