"""Kontext edit chains: the library model, branching, and running on the fake."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.edit.conftest import make_image, uploads
from workbench.chains import (
    MAX_EDITS,
    ChainError,
    add_to_library,
    branch,
    chain_tips,
    chain_to,
    followers,
    new_chain,
    resolve_source,
)
from workbench.config import Config
from workbench.library import load_library, new_library
from workbench.runs import history
from workbench.runs.chain import run_chain as run_chain_with
from workbench.runs.single import RunService
from workbench.runs.uploads import UploadCache
from workbench.spec import Params, PromptSpec

EDITS = ["Make the sky purple", "Add a red hat to the cat", "Turn it into a watercolor"]


async def run_chain(client, chain, out, *, cache=None, **kw):
    """`run_chain` through a run service of its own (upload cache beside ``out``)."""
    cache = cache or UploadCache(out.parent / "uploads.json")
    return await run_chain_with(RunService(Config(), uploads=cache), client, chain, out, **kw)


def steps_of(folder):
    """The chain run's steps as recorded in its manifest, in order."""
    run = history.load_run(folder)
    assert run.kind == "chain" and run.plan is None
    return run, list(run.results.values())


def test_new_chain_is_kontext_specs_linked_by_follows(tmp_path):
    chain = new_chain(tmp_path / "cat.png", EDITS, seed=4, taken=["edit 1"])
    assert chain.names == ["edit 2", "edit 3", "edit 4"]
    assert [s.model for s in chain.steps] == ["kontext"] * 3
    assert chain.instructions == EDITS
    assert [s.follows for s in chain.steps] == ["", "edit 2", "edit 3"]
    assert chain.steps[0].source_image == str(tmp_path / "cat.png")
    assert [s.source_image for s in chain.steps[1:]] == ["", ""]
    assert {s.params.seed for s in chain.steps} == {4}
    with pytest.raises(ChainError):
        new_chain("x.png", [])
    with pytest.raises(ChainError, match="edit 2 has no instruction"):
        new_chain("x.png", ["ok", "  "])


def test_chain_saved_in_a_library_comes_back(tmp_path):
    path = tmp_path / "lib.toml"
    library = new_library(path)
    library.add(PromptSpec(name="unrelated", subject="a boat"))
    chain = new_chain("cat.png", EDITS, name="cat")
    assert add_to_library(library, chain) == chain.steps
    forked = branch(chain, "cat 1", "Make the cat sleep")
    assert add_to_library(library, forked) == [forked.steps[-1]]  # the shared step once
    library.save()

    reloaded = load_library(path).prompts
    back = chain_to(reloaded, "cat 3")
    assert back.names == ["cat 1", "cat 2", "cat 3"] and back.instructions == EDITS
    assert back.source_image == "cat.png"
    assert resolve_source(back, tmp_path) == tmp_path / "cat.png"
    other = chain_to(reloaded, forked.names[-1])
    assert other.names == ["cat 1", forked.names[-1]]
    assert [s.name for s in followers(reloaded, "cat 1")] == sorted(
        ["cat 2", forked.names[-1]], key=[s.name for s in reloaded].index)
    assert set(chain_tips(reloaded)) == {"cat 3", forked.names[-1]}


def test_chain_to_explains_broken_chains():
    specs = [PromptSpec(name="a", model="kontext", raw="x", follows="b"),
             PromptSpec(name="b", model="kontext", raw="y", follows="a")]
    with pytest.raises(ChainError, match="loops"):
        chain_to(specs, "a")
    with pytest.raises(ChainError, match="not in the library"):
        chain_to([PromptSpec(name="a", model="kontext", raw="x", follows="gone")], "a")
    with pytest.raises(ChainError, match="no source image"):
        chain_to([PromptSpec(name="a", model="kontext", raw="x")], "a")
    with pytest.raises(ChainError, match="not a Kontext edit"):
        chain_to([PromptSpec(name="a", model="dev", subject="x")], "a")
    with pytest.raises(ChainError, match="no prompt named"):
        chain_to([], "a")


def test_branch_from_any_step():
    chain = new_chain("cat.png", EDITS, seed=8)
    fork = branch(chain, 1, "Add sunglasses")
    assert fork.steps[:2] == chain.steps[:2] and len(fork.steps) == 3
    new = fork.steps[-1]
    assert new.follows == "edit 2" and new.raw == "Add sunglasses" and new.model == "kontext"
    assert new.params.seed == 8 and new.source_image == ""
    assert new.name not in chain.names
    first = branch(chain, "edit 1", "Add sunglasses", name="sun")
    assert first.names == ["edit 1", "sun"]
    with pytest.raises(ChainError):
        branch(chain, 7, "x")
    with pytest.raises(ChainError):
        branch(chain, "nope", "x")


def test_warning_past_six_edits():
    assert new_chain("a.png", ["Add a hat"] * MAX_EDITS).warnings() == []
    [warning] = new_chain("a.png", ["Add a hat"] * (MAX_EDITS + 1)).warnings()
    assert "7 successive Kontext edits" in warning and "past 6" in warning


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_three_step_chain_then_a_branch(client, fake, tmp_path, cache):
    source = make_image(tmp_path / "cat.png", (64, 48))
    chain = new_chain(source, EDITS, seed=11)
    out = tmp_path / "chain"
    seen: list[tuple[int, str]] = []
    run = await run_chain(client, chain, out, cache=cache,
                          on_step=lambda i, spec, r: seen.append((i, r.status if r else "start")))
    assert run.ok and len(run.steps) == 3
    assert seen == [(1, "start"), (1, "success"), (2, "start"), (2, "success"),
                    (3, "start"), (3, "success")]
    sent = [body["prompt"] for body in fake.submitted]
    assert len(sent) == 3
    for prompt, instruction in zip(sent, EDITS):  # the Kontext workflow, one per step
        assert prompt["4"]["inputs"]["text"] == instruction
        assert prompt["8"]["inputs"]["seed"] == 11
        assert prompt["21"]["class_type"] == "FluxKontextImageScale"
    # each step edits the previous step's output: what the fake got is that image's bytes
    assert fake._files[("input", "", sent[0]["20"]["inputs"]["image"])].data == \
        source.read_bytes()
    for step in (1, 2):
        uploaded = fake._files[("input", "", sent[step]["20"]["inputs"]["image"])].data
        assert uploaded == run.image_path(step).read_bytes()
    assert len(uploads(fake)) == 3

    recorded, steps = steps_of(out)
    assert recorded.meta["server"] == fake.url and recorded.status == "finished"
    assert recorded.meta["source"]["sha256"] == _sha(source) and recorded.meta["ok"] is True
    assert [s.text for s in steps] == EDITS
    assert [s.seed for s in steps] == [11, 11, 11]
    assert [s.step["follows"] for s in steps] == ["", "edit 1", "edit 2"]
    assert steps[1].step["input_sha256"] == _sha(out / steps[0].images[0])
    assert [s.label for s in steps][0] == "1. Make the sky purple"
    for s in steps:
        assert (out / s.images[0]).is_file() and s.timings["total_s"] >= 0
        workflow = json.loads((out / s.workflow).read_text())
        assert workflow["4"]["inputs"]["text"] == s.text
    assert [r.name for r in history.list_runs(tmp_path)] == ["edit 1 … edit 3"]

    # branch from step 2: steps 1-2 are reused, only the new edit runs, and step 2's
    # image (already uploaded as step 3's input) is not uploaded again
    fork = branch(chain, "edit 2", "Give the cat sunglasses")
    fork_out = tmp_path / "fork"
    forked = await run_chain(client, fork, fork_out, cache=cache, reuse=out)
    assert forked.ok and [s.status for s in forked.steps] == ["reused", "reused", "success"]
    assert len(fake.submitted) == 4 and len(uploads(fake)) == 3
    last = fake.submitted[-1]["prompt"]
    assert last["4"]["inputs"]["text"] == "Give the cat sunglasses"
    assert last["20"]["inputs"]["image"] == sent[2]["20"]["inputs"]["image"]
    assert (fork_out / forked.steps[1].image).read_bytes() == run.image_path(2).read_bytes()
    assert steps_of(fork_out)[1][2].step["follows"] == "edit 2"


async def test_a_failing_step_stops_the_chain(client, fake, tmp_path, cache):
    fake.broken_models = {"flux1-kontext-dev.safetensors"}
    run = await run_chain(client, new_chain(make_image(tmp_path / "c.png"), EDITS, seed=1),
                          tmp_path / "out", cache=cache)
    assert not run.ok and len(run.steps) == 1
    assert run.steps[0].status == "error" and run.steps[0].message
    recorded, steps = steps_of(tmp_path / "out")
    assert recorded.meta["ok"] is False and len(steps) == 1 and steps[0].status == "error"
    assert len(fake.submitted) == 1


async def test_random_seeds_are_recorded(client, fake, tmp_path, cache):
    run = await run_chain(client, new_chain(make_image(tmp_path / "c.png"), EDITS[:2]),
                          tmp_path / "out", cache=cache)
    seeds = [s.seed for s in steps_of(tmp_path / "out")[1]]
    assert all(isinstance(s, int) for s in seeds)
    assert [b["prompt"]["8"]["inputs"]["seed"] for b in fake.submitted] == seeds
    assert run.ok


def test_a_chain_can_start_from_a_text_to_image_prompt():
    from workbench.library import load_library
    from workbench.locations import bundled_prompts_dir

    library = load_library(bundled_prompts_dir() / "kontext.toml")
    tip = [s for s in library.prompts if s.model == "kontext" and s.follows][-1]
    chain = chain_to(library.prompts, tip.name)
    assert chain.origin is not None and chain.origin.model == "dev"
    assert chain.source_image == "" and len(chain.steps) == 3
    assert chain.steps[0].follows == chain.origin.name
    forked = branch(chain, 0, "Make the sky stormy while keeping everything else the same")
    assert forked.origin is chain.origin and len(forked.steps) == 2


async def test_run_a_chain_from_a_generated_image(client, fake, tmp_path):
    from workbench.chains import EditChain, edit_step
    from workbench.images.source import load_source
    from workbench.spec import PromptSpec

    origin = PromptSpec(name="poster", subject="a retro diner poster with a blue car",
                        params=Params(seed=5, width=512, height=512))
    steps = [edit_step("edit 1", "Make the car deep red while keeping the rest the same",
                       follows="poster", params=Params(seed=1)),
             edit_step("edit 2", "Make it night while keeping the car the same",
                       follows="edit 1", params=Params(seed=2))]
    chain = EditChain(steps, origin)
    out = tmp_path / "chain"
    run = await run_chain(client, chain, out)
    assert run.ok and [s.index for s in run.steps] == [0, 1, 2]
    assert len(fake.submitted) == 3
    made = load_source(out / run.steps[0].image)
    assert run.steps[1].input_sha256 == made.sha256  # edit 1 edits the generated image
    again = await run_chain(client, chain, tmp_path / "again", reuse=out)
    assert [s.status for s in again.steps] == ["reused"] * 3
    assert len(fake.submitted) == 3


def test_judging_a_chain_run_says_it_has_no_grid(tmp_path, capsys):
    from workbench import cli

    out = history.create_run(None, kind="chain", folder=tmp_path / "chain", name="c").folder
    assert cli.main(["judge", str(out), "--no-vision"]) == 2
    assert "chain run has no grid" in capsys.readouterr().err


def test_generated_step_names_are_short_distinct_and_show_the_chain():
    """(issue 14) Names were the parent's plus a slug of the instruction, over 100
    characters, and rows in the list read the same."""
    from workbench.chains import add_wish

    library = new_library(Path("/nonexistent/lib.toml"))
    chain = new_chain("cat.png", EDITS, name="Diner poster")
    add_to_library(library, chain)
    wish = add_wish(library, chain, "Diner poster 1", [
        "Make it snow while keeping the car the same",
        "Change only this: a red car, keep the person"])
    assert [s.name for s in wish] == ["Diner poster 1 › 2", "Diner poster 1 › 2 › 3"]
    again = add_wish(library, chain_to(library.prompts, "Diner poster 1"),
                     "Diner poster 1", ["Add a neon sign"])
    assert again[0].name == "Diner poster 1 › 2b"
    names = [s.name for s in library.prompts]
    assert len(set(names)) == len(names) and max(map(len, names)) < 30
