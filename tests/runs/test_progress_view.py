"""The CLI's progress view: the core's progress model as a Rich bar on a terminal and as
plain lines when piped, with a hand-driven clock."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace

from tests.fixtures import recorded
from workbench.comfy.events import Executing, ExecutionStart, Progress
from workbench.comfy.progress import PromptProgress
from workbench.commands.progress_view import ProgressView


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Job(SimpleNamespace):
    """What the view reads of a `comfy.job.Job`: its id, workflow and progress, which the
    job feeds before the view hears of an event (as `Job.feed` does)."""


def job(t: Clock, steps: int = 30) -> Job:
    workflow = recorded("workflow_flux_dev_t2i.json")
    workflow["8"]["inputs"]["steps"] = steps
    return Job(prompt_id="p1", workflow=workflow, progress=PromptProgress(workflow, clock=t))


def feed(view: ProgressView, prompt: Job, event) -> None:
    prompt.progress.feed(event)
    view.on_event(prompt, event)


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


async def test_piped_lines_name_the_silent_node_and_keep_saying_it_lives():
    out, t = io.StringIO(), Clock()
    prompt = job(t)
    view = ProgressView(out, live=False, clock=t, heartbeat=10)
    view.track(prompt)
    for event in (ExecutionStart(), Executing(node="4")):
        feed(view, prompt, event)
    t.now += 4
    view.refresh()            # not yet a heartbeat
    t.now += 7
    view.refresh()
    lines = out.getvalue().splitlines()
    assert lines == ["queued", "encoding text… · “Positive Prompt”",
                     "encoding text… 11 s · “Positive Prompt”"]


async def test_piped_steps_are_sparse_and_weighted_by_steps():
    out, t = io.StringIO(), Clock()
    prompt = job(t, 30)
    view = ProgressView(out, live=False, clock=t)
    feed(view, prompt, Executing(node="8"))
    for step in range(1, 31):
        feed(view, prompt, Progress(node="8", value=step, max=30))
        t.now += 1
    steps = [line for line in out.getvalue().splitlines() if "step" in line]
    assert [line.split(" · ")[0] for line in steps] == [
        f"sampling step {n}/30" for n in (1, 7, 14, 21, 28, 30)]
    assert "sampling step 7/30 · “KSampler” 23% · 6 s elapsed · ETA 23 s" in steps


async def test_terminal_bar_shows_the_timer_of_a_silent_node():
    out, t = io.StringIO(), Clock()
    prompt = job(t)
    view = ProgressView(out, live=True, clock=t)
    view.console.width = 120
    view.start()
    view.track(prompt)
    feed(view, prompt, Executing(node="4"))
    t.now += 12
    await view.stop()
    text = plain(out.getvalue())
    assert "encoding text… 12 s · “Positive Prompt”" in text
    assert "0% · 12 s elapsed" in text


async def test_terminal_bar_at_step_7_of_30_is_a_quarter_full():
    out, t = io.StringIO(), Clock()
    prompt = job(t, 30)
    view = ProgressView(out, live=True, clock=t)
    view.start()
    feed(view, prompt, Executing(node="8"))
    for step in range(1, 8):
        feed(view, prompt, Progress(node="8", value=step, max=30))
        t.now += 2
    await view.stop()
    last = plain(out.getvalue()).splitlines()[-1]
    assert "sampling step 7/30" in last and "23% · 14 s · ETA 46 s" in last   # 80 columns
    bar = re.search(r"[━╸╺]{6,}", last).group(0)
    assert (bar.index("╸") + 0.5) / len(bar) < 0.3   # the bar's head is a quarter in


async def test_a_cancelled_prompt_reads_cancelled():
    out, t = io.StringIO(), Clock()
    prompt = job(t)
    view = ProgressView(out, live=True, clock=t)
    view.start()
    feed(view, prompt, Executing(node="4"))
    view.cancelling = True
    view.refresh()
    view.end("p1", "interrupted")
    await view.stop()
    text = plain(out.getvalue())
    assert "cancelled" in text.splitlines()[-1] and "■" in text.splitlines()[-1]
