"""The lint cache (`workbench.lint.cache`): ``workbench lint`` prints the same bytes and exits
the same with and without it, and every input a prompt's findings depend on invalidates it."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
from PIL import Image

from workbench import presets
from workbench.cli import main
from workbench.library import read_library
from workbench.lint import cache as lint_cache
from workbench.lint import lint
from workbench.lint.cache import LintCache, decode, encode, lint_cache_dir
from workbench.locations import bundled_prompts_dir
from workbench.spec import Lora, Outpaint, Params, PromptSpec, Redux, Tools

CORPUS = Path(__file__).parent / "corpus" / "prompts.toml"
STATS = re.compile(r"^workbench lint: .*; (\d+) from the cache, (\d+) linted\n", re.M)
PAST = time.time() - 3600  # an image's mtime well before the racy window


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch):
    """Files written by a test are a moment old; `RACY_NS` would keep them out of the cache
    (the racy case has its own test)."""
    monkeypatch.setattr(lint_cache, "RACY_NS", 0)


def lint_run(capsys, *argv: str) -> tuple[int, str, str, tuple[int, int]]:
    """``workbench lint --stats ARGV``: exit status, stdout, stderr without the timing line,
    and (prompts from the cache, prompts linted)."""
    code = main(["lint", "--stats", *argv])
    out, err = capsys.readouterr()
    found = STATS.search(err)
    assert found, err
    return code, out, STATS.sub("", err), (int(found.group(1)), int(found.group(2)))


def image(path: Path, size: tuple[int, int], when: float = PAST) -> Path:
    Image.new("RGB", size, (90, 120, 60)).save(path)
    os.utime(path, (when, when))
    return path


TOOLS = [['mask = "mask.png"'], ['mask = "gone.png"'], ['outpaint = { left = 64 }'],
         ['control = "canny"', 'control_image = "shot.png"'], ['control = "depth"'],
         ['redux = [{ image = "shot.png" }, { image = "notes.png", strength = 0.4 }]']]


def big_library(folder: Path, count: int = 300, seed: int = 3) -> Path:
    """A varied library: published prompts (raw), structured ones, Kontext edits of images
    that exist, are missing or are not images, edit chains, FLUX tools (masks, controls,
    Redux references), LoRAs and parameters."""
    rng = random.Random(seed)
    texts = [e["text"] for e in tomllib.loads(CORPUS.read_text("utf-8"))["prompt"]]
    image(folder / "shot.png", (832, 1216))
    image(folder / "mask.png", (512, 512))
    (folder / "notes.png").write_text("not an image", encoding="utf-8")
    lines = ["format = 1", 'title = "Big"', ""]
    for i in range(count):
        lines += ["[[prompts]]", f'name = "P{i}"']
        roll = rng.random()
        if roll < 0.2:
            lines += ['model = "kontext"', f"raw = {json.dumps(rng.choice(texts))}",
                      f'source_image = "{rng.choice(["shot.png", "gone.png", "notes.png"])}"']
            if i and rng.random() < 0.3:
                lines.append(f'follows = "P{rng.randrange(i + 3)}"')
        elif roll < 0.3:
            lines += [f"raw = {json.dumps(rng.choice(texts))}", 'source_image = "shot.png"',
                      *rng.choice(TOOLS)]
        elif roll < 0.7:
            lines.append(f"raw = {json.dumps(rng.choice(texts) + f' number {i}')}")
        else:
            lines += [f'subject = "a red fox number {i}"', 'context = "masterpiece, 8k"',
                      'style = "in the style of Hokusai"']
        if rng.random() < 0.2:
            lines.append('loras = [{ name = "grain.safetensors", triggers = ["kodak"] }]')
        if rng.random() < 0.3:
            lines += [f"steps = {rng.choice([2, 8, 28, 80])}",
                      f"width = {rng.choice([1000, 1024])}", "height = 720"]
        lines.append("")
    path = folder / "big.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def assert_same_with_and_without_cache(capsys, *argv: str) -> tuple[int, int]:
    """Cold (cache written), warm (read) and --no-cache runs print the same bytes and exit
    the same; returns the warm run's (cached, linted)."""
    runs = [lint_run(capsys, *argv), lint_run(capsys, *argv),
            lint_run(capsys, *argv, "--no-cache")]
    assert runs[0][:3] == runs[1][:3] == runs[2][:3]
    assert runs[0][3][0] == 0 and runs[2][3][0] == 0  # cold, and no cache: nothing reused
    return runs[1][3]


@pytest.mark.parametrize("form", ["text", "json"])
def test_bundled_prompts_print_the_same_from_the_cache(capsys, tmp_path, form):
    folder = tmp_path / "prompts"
    shutil.copytree(bundled_prompts_dir(), folder)
    cached, linted = assert_same_with_and_without_cache(capsys, str(folder), "--format", form)
    chained = sum(1 for path in folder.glob("*.toml")
                  for spec in read_library(path).prompts if spec.follows)
    assert chained and linted == chained  # an edit chain reads other prompts: never cached
    assert cached > 40


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_big_library_prints_the_same_from_the_cache(capsys, tmp_path, form):
    path = big_library(tmp_path)
    cached, linted = assert_same_with_and_without_cache(capsys, str(path), "--format", form,
                                                        "--fail-on", "warning")
    follows = sum(1 for spec in read_library(path).prompts if spec.follows)
    assert (cached, linted) == (300 - follows, follows)
    # the same again with other settings: a different scope, the same agreement
    assert_same_with_and_without_cache(capsys, str(path), "--format", form, "--vram", "8",
                                       "--ignore", "missing-lighting")


def test_editing_one_prompt_relints_only_it(capsys, tmp_path):
    path = big_library(tmp_path, count=60)
    specs = read_library(path).prompts
    name = next(s.name for s in specs[5:] if not s.follows)
    first = lint_run(capsys, str(path))
    text = path.read_text("utf-8")
    path.write_text(text.replace(f'name = "{name}"\n', f'name = "{name}"\nguidance = 12\n'),
                    "utf-8")
    second = lint_run(capsys, str(path))
    chained = sum(1 for s in specs if s.follows)
    assert second[3] == (60 - chained - 1, chained + 1)
    assert f"{name}: guidance[0:2]" in second[1] and f"{name}: guidance" not in first[1]
    assert second[:3] == lint_run(capsys, str(path), "--no-cache")[:3]


def test_a_changed_source_image_is_linted_again(capsys, tmp_path, monkeypatch):
    source = image(tmp_path / "photo.png", (1024, 1024))
    path = tmp_path / "lib.toml"
    path.write_text('[[prompts]]\nname = "Img"\nraw = "make it a watercolour painting with '
                    'soft light"\nsource_image = "photo.png"\nwidth = 1024\nheight = 1024\n'
                    '[[prompts]]\nname = "Plain"\nraw = "a cat"\n', "utf-8")
    before = lint_run(capsys, str(path))
    assert before[3] == (0, 2) and "img2img-size" not in before[1]
    assert lint_run(capsys, str(path))[3] == (2, 0)
    image(source, (832, 1216), when=PAST + 60)  # another picture at the same path
    after = lint_run(capsys, str(path))
    assert after[3] == (1, 1)
    assert "differs from the source image's 832x1216 (img2img-size)" in after[1]
    source.unlink()
    gone = lint_run(capsys, str(path))
    assert gone[3] == (1, 1) and "source image 'photo.png' does not exist" in gone[1]
    image(source, (832, 1216))
    assert lint_run(capsys, str(path))[3] == (1, 1)
    assert lint_run(capsys, str(path))[3] == (2, 0)
    # written a moment ago (its ctime says so, whatever its mtime): a change within the
    # same timestamp tick could keep its stat, so it is linted every time until it settles
    monkeypatch.setattr(lint_cache, "RACY_NS", 60 * 10**9)
    image(source, (832, 1216))
    assert lint_run(capsys, str(path))[3] == (1, 1)
    assert lint_run(capsys, str(path))[3] == (1, 1)


def test_tool_images_and_the_servers_model_lists_invalidate(capsys, tmp_path):
    image(tmp_path / "room.png", (768, 512))
    mask = image(tmp_path / "mask.png", (768, 512))
    path = tmp_path / "lib.toml"
    path.write_text('[[prompts]]\nname = "Fill"\nsubject = "a pot of tulips"\n'
                    'source_image = "room.png"\nmask = "mask.png"\n'
                    '[[prompts]]\nname = "Plain"\nraw = "a cat"\n', "utf-8")
    assert lint_run(capsys, str(path))[3] == (0, 2)
    assert lint_run(capsys, str(path))[3] == (2, 0)
    image(mask, (512, 512), when=PAST + 60)
    square = lint_run(capsys, str(path))
    assert square[3] == (1, 1) and "mask is 512x512, the source 768x512" in square[1]
    # a run or `workbench doctor` found the server without the Fill model
    models = Path(os.environ["XDG_CACHE_HOME"]) / "flux-workbench" / "server_models.json"
    models.write_text(json.dumps({"http://gpu:8188": {"at": 0, "files": {"fill": []}}}),
                      "utf-8")
    lacking = lint_run(capsys, str(path))
    assert lacking[3] == (1, 1)
    assert "flux1-fill-dev.safetensors was not installed on http://gpu:8188" in lacking[1]
    assert lint_run(capsys, str(path))[:3] == lacking[:3]


def test_settings_vram_and_presets_are_part_of_the_key(capsys, tmp_path):
    path = tmp_path / "lib.toml"
    path.write_text('[[prompts]]\nname = "A"\nraw = "masterpiece, a cat, 8k"\n'
                    'preset = "mine"\nwidth = 2048\nheight = 2048\n', "utf-8")
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "flux-workbench" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)

    def after(change, *argv: str):
        """A run with ``argv`` once ``change`` is made, after warm plain runs: linted
        afresh, and what it says."""
        base = lint_run(capsys, str(path))
        assert lint_run(capsys, str(path))[:4] == (*base[:3], (1, 0))
        if change is not None:
            change()
        found = lint_run(capsys, str(path), *argv)
        assert found[3] == (0, 1)
        assert found[:3] == lint_run(capsys, str(path), *argv, "--no-cache")[:3]
        return base, found

    base, ignored = after(None, "--ignore", "sd-quality-tags")
    assert "sd-quality-tags" in base[1] and "sd-quality-tags" not in ignored[1]
    _, selected = after(None, "--select", "sd-quality-tags")
    assert "prompt-length" in base[1] and "prompt-length" not in selected[1]
    _, vram = after(None, "--vram", "4")
    assert "the server has 4 GB" in vram[1] and "the server has" not in base[1]
    # config's [lint] and the library's own [lint] table
    _, louder = after(lambda: config.write_text('[lint.severity]\nsd-quality-tags = "error"\n',
                                                "utf-8"))
    assert louder[0] == 1 and "FX106 error" in louder[1] and "FX106 warning" in base[1]
    config.unlink()
    _, own = after(lambda: path.write_text('[lint]\nignore = ["sd-quality-tags"]\n'
                                           + path.read_text("utf-8"), "utf-8"))
    assert "sd-quality-tags" not in own[1]

    # the user's presets (read once per process: a new run is a new process)
    def new_preset():
        (config.parent / "presets.toml").write_text('[mine]\nsteps = 1\n', "utf-8")
        presets.default_presets.cache_clear()

    try:
        _, preset = after(new_preset)
    finally:
        presets.default_presets.cache_clear()
    assert "steps" in preset[1] and "steps" not in own[1]


TOOL_VALUES = {"mask": "m.png", "mask_grow": 4, "mask_feather": 4,
               "outpaint": Outpaint(left=16), "control": "canny", "control_image": "c.png",
               "control_strength": 0.5, "redux": [Redux("s.png")]}


def test_every_field_of_a_prompt_is_in_its_key(tmp_path):
    """A field left out of the key would hand one prompt another's findings."""
    assert set(TOOL_VALUES) == {f.name for f in fields(Tools)}  # a new field: add it here
    cache = LintCache(tmp_path / "lib.toml", "scope", folder=tmp_path / "cache")
    spec = PromptSpec(name="A", params=Params(loras=[Lora("x.safetensors")]))
    spec.tools.redux = [Redux("r.png")]
    spec.tools.outpaint = Outpaint()
    keys = {cache.key(spec, tmp_path)}
    for f in fields(PromptSpec):
        if f.name not in ("params", "tools", "follows"):
            changed = spec.copy()
            value = getattr(changed, f.name)
            setattr(changed, f.name, ["t"] if isinstance(value, list) else
                    "kontext" if f.name == "model" else value + "x")
            keys.add(cache.key(changed, tmp_path))
    for f in fields(Params):
        changed = spec.copy()
        value = getattr(changed.params, f.name)
        setattr(changed.params, f.name, True if f.name == "keep_size" else
                [] if isinstance(value, list) else "x" if f.name in (
                    "negative", "preset", "sampler", "scheduler") else 3)
        keys.add(cache.key(changed, tmp_path))
    for name, value in (("name", "y"), ("strength", 0.5), ("triggers", ["t"])):
        changed = spec.copy()
        setattr(changed.params.loras[0], name, value)
        keys.add(cache.key(changed, tmp_path))
    for name, value in TOOL_VALUES.items():
        changed = spec.copy()
        setattr(changed.tools, name, value)
        keys.add(cache.key(changed, tmp_path))
    changed = spec.copy()
    changed.tools.redux[0].strength = 0.5
    keys.add(cache.key(changed, tmp_path))
    assert None not in keys
    assert len(keys) == (1 + (len(fields(PromptSpec)) - 3) + len(fields(Params)) + 3
                         + len(fields(Tools)) + 1)
    assert cache.key(spec.copy(follows="A"), tmp_path) is None
    other = LintCache(tmp_path / "lib.toml", "other scope", folder=tmp_path / "cache")
    assert other.key(spec, tmp_path) not in keys


def test_every_file_the_linter_reads_is_in_the_key(tmp_path, monkeypatch):
    """The images a rule looks at are the ones `referenced_files` keys on, and only a
    prompt using the FLUX tools reads the servers' model lists."""
    from workbench.lint.context import LintContext
    from workbench.lint.rules import tools

    asked: list[str] = []
    resolve = LintContext.resolve
    monkeypatch.setattr(LintContext, "resolve",
                        lambda ctx, path: asked.append(path) or resolve(ctx, path))
    missing = tools.missing_tool_files
    monkeypatch.setattr(tools, "missing_tool_files",
                        lambda keys: asked.append("<models>") or missing(keys))
    libraries = [read_library(path) for path in sorted(bundled_prompts_dir().glob("*.toml"))]
    libraries.append(read_library(big_library(tmp_path)))
    read = 0
    for library in libraries:
        for spec in library.prompts:
            asked.clear()
            lint(spec, base_dir=library.path.parent)
            keyed = set(lint_cache.referenced_files(spec))
            assert set(asked) - {"<models>"} <= keyed, spec.name
            assert "<models>" not in asked or spec.tools.used, spec.name
            read += bool(asked)
    assert read > 40


class Recording(dict):
    """A library's prompts by name that notes who asks for one."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.asked = 0

    def get(self, *args):
        self.asked += 1
        return super().get(*args)

    def __getitem__(self, name):
        self.asked += 1
        return super().__getitem__(name)


def test_only_prompts_that_follow_another_read_the_others(tmp_path):
    """The cache leaves out exactly the prompts whose findings depend on other prompts
    (`LintCache.key` is None for a ``follows``); a rule that reads the library for any other
    prompt must be made known to the cache."""
    libraries = [read_library(path) for path in sorted(bundled_prompts_dir().glob("*.toml"))]
    libraries.append(read_library(big_library(tmp_path)))
    for library in libraries:
        context = Recording({spec.name: spec for spec in library.prompts})
        for spec in library.prompts:
            context.asked = 0
            lint(spec, context=context, base_dir=library.path.parent)
            assert bool(context.asked) == bool(spec.follows.strip()), spec.name


def test_a_corrupt_cache_is_ignored_and_rebuilt(capsys, tmp_path):
    path = big_library(tmp_path, count=40)
    clean = lint_run(capsys, str(path), "--no-cache")
    lint_run(capsys, str(path))
    [stored] = lint_cache_dir().glob("*.json")
    good = stored.read_bytes()
    entries = json.loads(good)["entries"]
    bad_row = dict(entries)
    some = next(k for k, rows in entries.items() if rows)
    bad_row[some] = [[1, "warning"]]
    wrong_types = {k: [[r[0], "loud", *r[2:]] for r in rows] for k, rows in entries.items()}
    for garbage in (b"", b"\xff\xfe not json", b"[1, 2", b"{}", b'{"format": 1}',
                    b"[" * 100_000, b"NaN", good[:len(good) // 2],
                    json.dumps({**json.loads(good), "entries": bad_row}).encode(),
                    json.dumps({**json.loads(good), "entries": wrong_types}).encode(),
                    json.dumps({**json.loads(good), "library": "/elsewhere"}).encode()):
        stored.write_bytes(garbage)
        again = lint_run(capsys, str(path))
        assert again[:3] == clean[:3]
        assert json.loads(stored.read_bytes())["entries"] == entries  # rebuilt
    bad = lint_run(capsys, str(path))
    assert bad[3][1] == sum(1 for s in read_library(path).prompts if s.follows)
    stored.unlink()
    stored.mkdir()  # not a file at all: ignored, and it cannot be written either
    assert lint_run(capsys, str(path))[:3] == clean[:3]


def test_one_bad_row_relints_only_its_prompt(tmp_path):
    cache = LintCache(tmp_path / "lib.toml", "s", folder=tmp_path / "c")
    spec = PromptSpec(name="A", raw="masterpiece, a cat")
    found = lint(spec)
    rows = [encode(d) for d in found]
    assert [decode(row) for row in rows] == found
    for broken in ([*rows[0][:4], -1, *rows[0][5:]], [*rows[0][:4], True, *rows[0][5:]],
                   [*rows[0][:6], ["d", True, [["raw", 0, 1]], []], *rows[0][7:]],
                   [*rows[0][:6], ["d", True, [], [["x", float("inf")]]], *rows[0][7:]],
                   ["no-such-rule", *rows[0][1:]], rows[0][:8], "row"):
        with pytest.raises((ValueError, TypeError, KeyError)):
            decode(broken)
    key = cache.key(spec, None)
    cache._old = {key: [rows[0][:8]]}
    assert cache.get(key) is None


def test_fix_and_no_cache_never_touch_it(capsys, tmp_path, monkeypatch):
    path = tmp_path / "lib.toml"
    path.write_text('[[prompts]]\nname = "A"\nraw = "masterpiece, a cat on a sofa"\n', "utf-8")
    lint_run(capsys, str(path), "--no-cache")
    assert not lint_cache_dir().exists()
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "flux-workbench" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[lint]\ncache = false\n", "utf-8")
    assert lint_run(capsys, str(path))[3] == (0, 1)
    assert not lint_cache_dir().exists()
    config.write_text('[lint]\ncache = "no"\n', "utf-8")
    code, _, err, _ = lint_run(capsys, str(path))
    assert "`cache` should be a bool" in err and lint_cache_dir().exists()  # default: on
    # a --fix run neither reads the cache nor fills it: its findings come after the fixes
    assert lint_run(capsys, str(path), "--fix")[3] == (0, 1)
    assert "masterpiece" not in path.read_text("utf-8")
    after = lint_run(capsys, str(path))
    assert after[3] == (0, 1) and "sd-quality-tags" not in after[1]


def test_the_cache_stays_small(capsys, tmp_path, monkeypatch):
    path = big_library(tmp_path, count=30)
    monkeypatch.setattr(lint_cache, "MAX_BYTES", 200)
    lint_run(capsys, str(path))
    assert not list(lint_cache_dir().glob("*.json"))  # too big: not written
    monkeypatch.setattr(lint_cache, "MAX_BYTES", 64 * 1024 * 1024)
    monkeypatch.setattr(lint_cache, "MAX_FILES", 3)
    for i in range(5):
        one = tmp_path / f"lib{i}.toml"
        one.write_text(f'[[prompts]]\nname = "P"\nraw = "a cat number {i}"\n', "utf-8")
        lint_run(capsys, str(one))
        os.utime(LintCache(one, "s").path, (PAST + i, PAST + i))
    lint_cache.prune(lint_cache_dir())
    kept = {p.name for p in lint_cache_dir().glob("*.json")}
    assert kept == {LintCache(tmp_path / f"lib{i}.toml", "s").path.name for i in (2, 3, 4)}


def test_code_changes_invalidate(tmp_path, monkeypatch):
    package = tmp_path / "workbench"
    (package / "lint").mkdir(parents=True)
    rule = package / "lint" / "rule.py"
    rule.write_text("A = 1\n", "utf-8")
    os.utime(rule, (PAST, PAST))
    monkeypatch.setattr(lint_cache.locations, "PACKAGE_DIR", package)
    monkeypatch.setattr(lint_cache, "_FINGERPRINT", [])
    first = lint_cache.code_fingerprint()
    assert first is not None and lint_cache.code_fingerprint() == first
    rule.write_text("A = 2\n", "utf-8")  # a moment ago: no cache at all
    monkeypatch.setattr(lint_cache, "_FINGERPRINT", [])
    monkeypatch.setattr(lint_cache, "RACY_NS", 60 * 10**9)
    assert lint_cache.code_fingerprint() is None
    monkeypatch.setattr(lint_cache, "RACY_NS", 0)
    assert lint_cache.code_fingerprint() not in (None, first)
