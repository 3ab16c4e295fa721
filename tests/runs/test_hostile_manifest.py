"""A run folder whose manifest is hostile (issue 13 item 15): ``ab --resume`` says what is
wrong instead of a RecursionError."""

from __future__ import annotations

import pytest

from workbench import cli
from workbench.runs.history import HistoryError, load_run


@pytest.mark.parametrize("manifest, words", [
    ('{"plan": ' + "[" * 50000 + "]" * 50000 + "}", "nested more than 100 levels deep"),
    ('{"plan": {"seeds": [1e400]}}', "the number 1e400 is out of range"),
    ('{"plan": ', "not valid JSON: Expecting value"),
])
def test_resume_with_a_hostile_manifest_gives_a_message(tmp_path, capsys, manifest, words):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(manifest)
    with pytest.raises(HistoryError, match=words):
        load_run(run)
    assert cli.main(["ab", "--resume", str(run), "--comfyui-url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
