"""The progress model (`workbench.comfy.progress`): steps, silent nodes, elapsed, ETA — on
the recorded FLUX dev workflow with a hand-driven clock (milliseconds to run)."""

from __future__ import annotations

import pytest

from tests.fixtures import recorded
from workbench.comfy.events import (
    Executing,
    ExecutionCached,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    Progress,
)
from workbench.comfy.progress import (
    DECODE,
    ENCODE,
    LOAD,
    SAMPLE,
    PromptProgress,
    Timings,
    clock,
    phase_of,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dev_workflow(steps: int = 30) -> dict:
    workflow = recorded("workflow_flux_dev_t2i.json")
    workflow["8"]["inputs"]["steps"] = steps
    return workflow


def loaders(workflow: dict) -> list[str]:
    return [nid for nid, node in workflow.items() if phase_of(node["class_type"]) == LOAD]


def run_to_sampler(progress: PromptProgress, t: Clock, *, load_s: float = 20.0,
                   encode_s: float = 5.0) -> None:
    workflow = progress.workflow
    progress.feed(ExecutionStart())
    progress.feed(ExecutionCached(nodes=[]))
    for nid in loaders(workflow):
        progress.feed(Executing(node=nid))
        t.now += load_s
    progress.feed(Executing(node="4"))     # the text encode
    t.now += encode_s
    for nid in ("7", "8"):
        progress.feed(Executing(node=nid))


def test_phases_from_class_types():
    assert [phase_of(c) for c in ("UNETLoader", "DualCLIPLoader", "CheckpointLoaderSimple",
                                  "LoraLoaderModelOnly", "CLIPTextEncode",
                                  "CLIPTextEncodeFlux", "KSampler", "SamplerCustomAdvanced",
                                  "VAEDecode")] == [LOAD, LOAD, LOAD, LOAD, ENCODE, ENCODE,
                                                    SAMPLE, SAMPLE, DECODE]


def test_step_7_of_30_draws_23_percent_not_the_share_of_nodes():
    t = Clock()
    progress = PromptProgress(dev_workflow(30), clock=t)
    run_to_sampler(progress, t)
    for step in range(1, 8):
        progress.feed(Progress(node="8", value=step, max=30))
        t.now += 1.0
    snap = progress.snapshot()
    assert snap.label == "sampling step 7/30"
    assert snap.fraction == pytest.approx(7 / 30)
    assert "23%" in snap.timing()


def test_silent_text_encode_shows_its_label_title_and_timer():
    t = Clock()
    progress = PromptProgress(dev_workflow(), clock=t)
    progress.feed(ExecutionStart())
    progress.feed(Executing(node="4"))
    t.now += 12.4
    snap = progress.snapshot()
    assert snap.state == "running" and snap.silent
    assert snap.status() == "encoding text… 12 s · “Positive Prompt”"
    assert snap.fraction == 0.0 and snap.eta is None
    assert snap.timing() == "0% · 12 s elapsed"


def test_a_sampler_before_its_first_step_is_loading_its_model():
    t = Clock()
    progress = PromptProgress(dev_workflow(), clock=t)
    run_to_sampler(progress, t)
    t.now += 3
    assert progress.snapshot().status().startswith("loading model… 3 s")


def test_eta_comes_from_the_observed_step_rate():
    t = Clock()
    progress = PromptProgress(dev_workflow(30), clock=t)
    run_to_sampler(progress, t)
    started = t.now
    for step in range(1, 11):     # 2 s a step
        progress.feed(Progress(node="8", value=step, max=30))
        t.now += 2.0
    t.now -= 2.0
    snap = progress.snapshot()
    assert snap.step_seconds == pytest.approx(2.0)
    assert snap.eta == pytest.approx(20 * 2.0)
    assert "ETA 40 s" in snap.timing()
    assert snap.elapsed == pytest.approx(t.now - started + 3 * 20 + 5)


def test_known_timings_weigh_silent_nodes_and_give_an_eta_before_sampling():
    known = Timings(step=1.0, phases={LOAD: 10.0, ENCODE: 5.0, DECODE: 2.0})
    t = Clock()
    progress = PromptProgress(dev_workflow(30), known=known, clock=t)
    progress.feed(ExecutionStart())
    # 3 loaders x 10 s + encode 5 s + 30 steps + decode 2 s = 67 s of work
    assert progress.eta() == pytest.approx(67.0)
    progress.feed(Executing(node=loaders(progress.workflow)[0]))
    t.now += 5
    assert progress.fraction() == pytest.approx(5 / 67)
    t.now += 100   # a load slower than known never claims its whole weight
    assert progress.fraction() < 10 / 67


def test_cached_nodes_weigh_nothing():
    known = Timings(step=1.0, phases={LOAD: 10.0, ENCODE: 5.0, DECODE: 2.0})
    t = Clock()
    workflow = dev_workflow(30)
    progress = PromptProgress(workflow, known=known, clock=t)
    progress.feed(ExecutionStart())
    progress.feed(ExecutionCached(nodes=[*loaders(workflow), "4"]))
    progress.feed(Executing(node="8"))
    for step in range(1, 16):
        progress.feed(Progress(node="8", value=step, max=30))
    assert progress.fraction() == pytest.approx(15 / 32)


def test_timings_measured_on_one_prompt_feed_the_next():
    t = Clock()
    first = PromptProgress(dev_workflow(4), clock=t)
    run_to_sampler(first, t, load_s=8.0, encode_s=3.0)
    for step in range(1, 5):
        first.feed(Progress(node="8", value=step, max=4))
        t.now += 0.5
    first.feed(Executing(node="9"))
    t.now += 1.5
    first.feed(Executing(node="10"))
    first.feed(ExecutionSuccess())
    first.feed(Executing(node=None))
    session = Timings()
    session.learn(first.timings())
    assert session.step == pytest.approx(0.5)
    assert session.phases == {LOAD: pytest.approx(8.0), ENCODE: pytest.approx(3.0),
                              DECODE: pytest.approx(1.5)}
    assert first.snapshot().state == "done" and first.fraction() == 1.0


def test_interrupted_prompt_reads_cancelled_and_keeps_its_fraction():
    t = Clock()
    progress = PromptProgress(dev_workflow(10), clock=t)
    run_to_sampler(progress, t)
    for step in range(1, 4):
        progress.feed(Progress(node="8", value=step, max=10))
    progress.feed(ExecutionInterrupted(node_id="8"))
    progress.feed(Executing(node=None))
    snap = progress.snapshot()
    assert snap.state == "done" and snap.label == "cancelled"
    assert snap.fraction == pytest.approx(0.3)


def test_queued_prompt_counts_its_wait():
    t = Clock()
    progress = PromptProgress(dev_workflow(), clock=t)
    t.now += 4
    snap = progress.snapshot()
    assert snap.label == "queued" and snap.elapsed == pytest.approx(4)


def test_steps_of_a_custom_sampler_come_from_its_scheduler():
    t = Clock()
    workflow = recorded("workflow_flux_dev_t2i.json")
    workflow["30"] = {"class_type": "BasicScheduler", "inputs": {"steps": 20}}
    workflow["31"] = {"class_type": "SamplerCustomAdvanced", "inputs": {"sigmas": ["30", 0]}}
    del workflow["8"]
    progress = PromptProgress(workflow, clock=t)
    progress.feed(Executing(node="31"))
    progress.feed(Progress(node="31", value=5, max=20))
    assert progress.fraction() == pytest.approx(0.25)


def test_clock_format():
    assert [clock(s) for s in (0, 7.9, 65, 3725)] == ["0 s", "7 s", "1:05", "1:02:05"]


async def test_a_jobs_fraction_is_its_sampling_steps(client):
    """What the A/B grid and the chain view draw (`Job.fraction`), on the real client."""
    from tests.comfy.conftest import small_t2i

    workflow = small_t2i(seed=11, text="a fox, measured")
    workflow["8"]["inputs"]["steps"] = 10
    seen: list[tuple[int, float]] = []

    def on_event(job, event) -> None:
        if isinstance(event, Progress):
            seen.append((event.value, job.fraction))

    job = await client.submit(workflow, on_event=on_event)
    result = await job.wait(20)
    assert result.ok and len(seen) == 10
    assert all(fraction == pytest.approx(step / 10) for step, fraction in seen), seen
    assert job.fraction == 1.0 and job.progress.snapshot().label == "done"
