"""Linting many prompts on several processes (`workbench.lint.batch`): the same findings, in
the same order, as linting them one by one; ``workbench lint --jobs N`` prints the same
bytes whatever N is."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest

from workbench.cli import main
from workbench.library import read_library
from workbench.lint import batch, lint
from workbench.lint.batch import jobs_for, lint_all

from .test_cache import big_library

linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="lint processes are forked on Linux only")


@linux
def test_processes_find_what_one_by_one_finds(tmp_path):
    library = read_library(big_library(tmp_path, count=120))
    specs = library.prompts
    options = dict(context={spec.name: spec for spec in specs}, base_dir=tmp_path)
    one_by_one = [lint(spec, **options) for spec in specs]
    assert sum(map(len, one_by_one)) > 200  # findings of many kinds, some with fixes
    assert any(d.fix for found in one_by_one for d in found)
    assert lint_all(specs, jobs=3, **options) == one_by_one
    assert lint_all(specs, jobs=1, **options) == one_by_one
    assert lint_all(specs[:2], jobs=5, **options) == one_by_one[:2]
    assert lint_all([], jobs=4, **options) == []


def test_how_many_processes(monkeypatch):
    monkeypatch.setattr(batch.sys, "platform", "linux")
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    for load, idle in ((0.0, 4), (1.0, 4), (2.4, 3), (4.6, 1), (9.0, 1)):  # this one counts
        monkeypatch.setattr(batch, "load", lambda load=load: load)
        assert batch.available_cpus() == idle
    monkeypatch.setattr(batch, "available_cpus", lambda: 4)
    assert jobs_for(10_000) == 4                       # one per CPU for a big library
    assert jobs_for(2_500) == 2                        # each gets MIN_PER_JOB or more
    assert jobs_for(1_999) == 1                        # small: this process
    monkeypatch.setattr(batch, "available_cpus", lambda: 64)
    assert jobs_for(100_000) == batch.MAX_JOBS
    assert jobs_for(10, jobs=3) == 3 and jobs_for(2, jobs=3) == 2 and jobs_for(0, jobs=3) == 1
    monkeypatch.setattr(batch.sys, "platform", "darwin")  # no safe fork: one process
    assert jobs_for(10_000) == 1 and jobs_for(10_000, jobs=4) == 1


@linux
def test_workbench_lint_prints_the_same_on_any_number_of_processes(capsys, tmp_path):
    path = big_library(tmp_path, count=80)
    outputs = []
    for jobs in ("1", "3"):
        for form in ("text", "json"):
            code = main(["lint", str(path), "--no-cache", "--jobs", jobs, "--format", form,
                         "--stats"])
            out, err = capsys.readouterr()
            outputs.append((jobs, form, code, out, re.sub(r"^workbench lint: .*\n", "", err,
                                                          flags=re.M)))
    assert outputs[0][2:] == outputs[2][2:] and outputs[1][2:] == outputs[3][2:]
    assert outputs[0][3].count("\n") > 100


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_jobs_must_be_a_positive_whole_number(capsys, tmp_path, value):
    with pytest.raises(SystemExit) as exit_:
        main(["lint", str(tmp_path), "--jobs", value])
    assert exit_.value.code == 2
    assert "--jobs" in capsys.readouterr().err


@linux
def test_a_first_run_on_several_processes_stores_what_one_process_stores(capsys, tmp_path,
                                                                          monkeypatch):
    """A first run works each prompt's cache key out in the lint processes: the cache file
    is the same bytes as one process writes, and the next run takes every prompt from it."""
    from workbench.lint import cache as lint_cache
    from workbench.lint.cache import lint_cache_dir

    from .test_cache import lint_run

    monkeypatch.setattr(lint_cache, "RACY_NS", 0)  # the test's images are a moment old
    path = big_library(tmp_path, count=90)
    stored = []
    outputs = []
    for jobs in ("1", "3"):
        shutil.rmtree(lint_cache_dir(), ignore_errors=True)
        code, out, err, (cached, linted) = lint_run(capsys, str(path), "--jobs", jobs)
        assert (cached, linted) == (0, 90)
        outputs.append((code, out, err))
        files = list(lint_cache_dir().glob("*.json"))
        assert len(files) == 1
        stored.append(files[0].read_bytes())
        again = lint_run(capsys, str(path), "--jobs", jobs)
        assert again[:3] == (code, out, err)
        assert again[3][0] > 60  # all but the prompts of edit chains (never cached)
    assert outputs[0] == outputs[1] and outputs[0][1].count("\n") > 100
    assert stored[0] == stored[1]
    assert len(json.loads(stored[0])["entries"]) > 60


def test_the_load_is_what_wants_a_cpu_now_when_the_average_still_counts_ended_work(
        monkeypatch, tmp_path):
    """A lint run just before this one leaves the one-minute average high for a minute;
    what is runnable now says whether the CPUs are free."""
    figures = tmp_path / "loadavg"
    monkeypatch.setattr(batch, "LOADAVG", str(figures))
    monkeypatch.setattr(batch.os, "getloadavg", lambda: (1.85, 1.2, 0.9))
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1})
    figures.write_text("1.85 1.20 0.90 1/300 12345\n", encoding="ascii")  # only this one
    assert batch.load() == 1.0 and batch.available_cpus() == 2
    figures.write_text("1.85 1.20 0.90 3/300 12345\n", encoding="ascii")  # two others too
    assert batch.load() == 1.85 and batch.available_cpus() == 1
    figures.unlink()  # no such figures (not Linux): the average decides
    assert batch.load() == 1.85
