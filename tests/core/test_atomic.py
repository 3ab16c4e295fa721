"""Atomic writes keep what a file is: links, read-only files, modes (issue 13 items 2-3,
issue 15 item 6)."""

from __future__ import annotations

import os
import stat

import pytest

from workbench import workspace
from workbench.atomic import ReadOnlyFile, backup_path, write_atomic
from workbench.library import load_library
from workbench.spec import PromptSpec

LIBRARY = 'format = 1\n\n[[prompts]]\nname = "Fox"\nsubject = "a red fox"\n'


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    import workbench.atomic as atomic

    atomic._UMASK = None
    yield
    os.umask(old)
    atomic._UMASK = None


def test_new_files_follow_the_umask_and_private_ones_stay_private(tmp_path, umask022):
    write_atomic(tmp_path / "image.png", b"png")
    write_atomic(tmp_path / "sub" / "run.json", b"{}")
    write_atomic(tmp_path / "journal.jsonl", b"", private=True)
    assert mode(tmp_path / "image.png") == 0o644
    assert mode(tmp_path / "sub" / "run.json") == 0o644
    assert mode(tmp_path / "journal.jsonl") == 0o600


def test_umask_077_gives_0600(tmp_path):
    import workbench.atomic as atomic

    old = os.umask(0o077)
    atomic._UMASK = None
    try:
        write_atomic(tmp_path / "a.toml", b"x")
    finally:
        os.umask(old)
        atomic._UMASK = None
    assert mode(tmp_path / "a.toml") == 0o600


def test_existing_files_keep_their_mode_and_the_backup_copies_it(tmp_path, umask022):
    path = tmp_path / "lib.toml"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_atomic(path, b"new", backup=True)
    assert path.read_bytes() == b"new" and mode(path) == 0o640
    assert backup_path(path).read_bytes() == b"old" and mode(backup_path(path)) == 0o640


def test_a_symlinked_library_is_saved_through_the_link(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "studio.toml"
    target.write_text(LIBRARY)
    link = tmp_path / "studio.toml"
    link.symlink_to(target)
    library = load_library(link)
    library.get("Fox").action = "leaping"
    assert library.save()
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert 'action = "leaping"' in target.read_text()
    assert backup_path(target).read_text() == LIBRARY
    # and again (the digest was taken of the target's bytes)
    library.get("Fox").action = "sleeping"
    assert library.save()
    assert link.is_symlink() and 'action = "sleeping"' in target.read_text()


def test_a_read_only_library_is_refused_and_the_edits_go_to_recovery(tmp_path):
    path = tmp_path / "studio.toml"
    path.write_text(LIBRARY)
    os.chmod(path, 0o444)
    library = load_library(path)
    library.add(PromptSpec(name="Owl", subject="a snowy owl"))
    with pytest.raises(ReadOnlyFile) as err:
        library.save()
    assert "read-only" in str(err.value) and "0444" in str(err.value)
    result = workspace.save(library)
    assert result.status == "failed"
    assert "read-only" in result.message and str(result.recovery) in result.message
    assert path.read_text() == LIBRARY and mode(path) == 0o444
    assert 'name = "Owl"' in result.recovery.read_text()
    assert mode(result.recovery) == 0o600


def test_a_read_only_file_is_never_replaced(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"keep")
    os.chmod(path, 0o444)
    with pytest.raises(PermissionError):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"keep"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temp file left


def test_lint_fix_on_a_read_only_library_says_so_and_exits_2(tmp_path, capsys):
    from workbench import cli

    path = tmp_path / "ro.toml"
    text = '[[prompts]]\nname = "Fox"\nsubject = "a fox, masterpiece, best quality"\n'
    path.write_text(text)
    os.chmod(path, 0o444)
    assert cli.main(["lint", "--fix", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not saved: {path} is read-only (mode 0444)" in err
    assert path.read_text() == text and mode(path) == 0o444
