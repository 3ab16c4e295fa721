"""Prompt progress on stderr for the headless verbs: a Rich bar on a terminal, plain lines
when piped.

Both render the core's progress model (`workbench.comfy.progress`): the bar is sampling
steps (23 % at ``step 7/30``), a silent node says what it does (``encoding text… 12 s ·
“Positive Prompt”``) with a timer that keeps ticking while the server sends nothing, and
the elapsed time and ETA come from the observed step rate.  Piped, a line is written when
the phase or node changes, at the first, every quarter and the last step, and every
`HEARTBEAT` seconds of a silent node, so a log shows the prompt is alive.  Several
prompts at once (a chain's steps, prompts being collected) each get a bar or a prefix.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Column
from rich.text import Text

from ..comfy.events import (
    Disconnected,
    Event,
    ExecutionCached,
    Lost,
    Reconnected,
)
from ..comfy.events import (
    Progress as StepEvent,
)
from ..comfy.progress import SAMPLE, SILENT, PromptProgress, Snapshot, Timings
from ..textsafe import one_line

#: Phases that get a plain line when a node of theirs starts (quick glue nodes do not; the
#: verb itself says how the prompt ended).
LOUD = (*SILENT, SAMPLE)
#: Seconds between the plain lines that say a silent node is still at work.
HEARTBEAT = 10.0


@dataclass
class _Tracked:
    name: str
    model: PromptProgress
    task: TaskID | None = None
    key: tuple = ()
    printed_at: float = 0.0
    done: bool = False


class ProgressView:
    """What the prompts of one verb are doing, on stderr (see the module)."""

    def __init__(self, stream: Any = None, *, known: Timings | None = None,
                 live: bool | None = None, tick: float = 0.25, heartbeat: float = HEARTBEAT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.console = Console(file=self.stream, highlight=False, soft_wrap=False,
                               force_terminal=True if live else None)
        self.live = self.console.is_terminal if live is None else live
        self.known = known if known is not None else Timings()
        self.tick = tick
        self.heartbeat = heartbeat
        self.clock = clock
        self.cancelling = False
        self.compact = False
        self._tracked: dict[str, _Tracked] = {}
        self._bars: Progress | None = None
        self._ticker: asyncio.Task | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> ProgressView:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        if self.live and self._bars is None:
            self.compact = self.console.width < 110
            bar, timing = (12, 24) if self.compact else (24, 34)
            width = max(24, min(60, self.console.width - bar - timing - 5))
            self._bars = Progress(
                _Mark(), TextColumn("{task.description}", markup=False, table_column=Column(
                    width=width, no_wrap=True, overflow="ellipsis")),
                BarColumn(bar_width=bar), TextColumn("{task.fields[timing]}", markup=False),
                console=self.console, redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=True, refresh_per_second=8)
            self._bars.start()
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        self._render_all()
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            self.refresh()

    def refresh(self) -> None:
        """Timers and bars brought up to now (the ticker calls it while the server is
        silent); piped, a silent node gets a line every ``heartbeat`` seconds."""
        self._render_all(heartbeat=True)

    # -- what happens --------------------------------------------------------------------------

    def track(self, job: Any, name: str = "") -> PromptProgress:
        """Follow ``job`` (a `comfy.job.Job`) from now on, under ``name`` when several run."""
        tracked = self._tracked.get(job.prompt_id)
        if tracked is None:
            model: PromptProgress = job.progress   # fed by the job itself
            model.known = self.known
            tracked = self._tracked[job.prompt_id] = _Tracked(one_line(name), model,
                                                              printed_at=self.clock())
            if self._bars is not None:
                tracked.task = self._bars.add_task("", total=1.0, timing="")
            self._render(tracked)
        return tracked.model

    def on_event(self, job: Any, event: Event) -> None:
        """The ``on_event`` callback of a job (`runs.single.RunService`); the job has fed
        the event to its ``progress`` already."""
        tracked = self._tracked.get(job.prompt_id)
        if tracked is None:
            self.track(job)
            tracked = self._tracked[job.prompt_id]
        if isinstance(event, (Disconnected, Reconnected, Lost)):
            self.note({Disconnected: "connection to ComfyUI lost; reconnecting…",
                       Reconnected: "connection to ComfyUI restored"}.get(
                type(event), getattr(event, "reason", "")))
        elif isinstance(event, ExecutionCached) and event.nodes and not self.live:
            self._line(tracked, f"{len(event.nodes)} node(s) cached")
        self._render(tracked, step=isinstance(event, StepEvent))

    def end(self, prompt_id: str, status: str) -> None:
        """The prompt is over (``success``, ``error``, ``interrupted``, ``cancelled``…):
        its bar is settled and the session learns its timings."""
        tracked = self._tracked.get(prompt_id)
        if tracked is None or tracked.done:
            return
        tracked.model.end("interrupted" if status == "cancelled" else status)
        tracked.done = True
        if status == "success":
            self.known.learn(tracked.model.timings())
        self._render(tracked, final=True)

    def note(self, text: str) -> None:
        """A line above the bars (or a plain line)."""
        line = one_line(text)
        if self._bars is not None:
            self._bars.console.print(Text(line))
        else:
            self.stream.write(line + "\n")
            self.stream.flush()

    # -- rendering -----------------------------------------------------------------------------

    def _render_all(self, heartbeat: bool = False) -> None:
        for tracked in list(self._tracked.values()):
            if not tracked.done:
                self._render(tracked, heartbeat=heartbeat)

    def _status(self, snap: Snapshot) -> str:
        text = snap.status()
        if self.cancelling and snap.state != "done":
            text += " · cancelling…"
        return text

    def _render(self, tracked: _Tracked, *, step: bool = False, heartbeat: bool = False,
                final: bool = False) -> None:
        snap = tracked.model.snapshot()
        if self._bars is not None and tracked.task is not None:
            prefix = f"{tracked.name}: " if tracked.name else ""
            self._bars.update(tracked.task, description=prefix + self._status(snap),
                              completed=snap.fraction, timing=snap.timing(self.compact),
                              mark=_MARKS.get(snap.outcome, "✗") if snap.state == "done"
                              else "")
            return
        key = (snap.state, snap.phase, snap.node)
        if key != tracked.key:
            tracked.key = key
            if snap.state == "queued" or (snap.state == "running" and snap.phase in LOUD):
                self._line(tracked, self._status(snap))
        elif step and _worth_a_line(snap):
            self._line(tracked, f"{self._status(snap)}  {snap.timing()}")
        elif heartbeat and snap.silent and \
                self.clock() - tracked.printed_at >= self.heartbeat:
            self._line(tracked, self._status(snap))

    def _line(self, tracked: _Tracked, text: str) -> None:
        tracked.printed_at = self.clock()
        self.note(f"{tracked.name}: {text}" if tracked.name else text)


_MARKS = {"success": "✓", "interrupted": "■", "cancelled": "■"}


class _Mark(SpinnerColumn):
    """A spinner while the prompt runs; ✓, ■ (cancelled) or ✗ once it is over."""

    def render(self, task):
        mark = task.fields.get("mark")
        return Text(mark) if mark else super().render(task)


def _worth_a_line(snap: Snapshot) -> bool:
    """Piped, a step gets a line at the first, every quarter and the last step."""
    steps = max(1, snap.steps)
    return snap.step in (1, steps) or snap.step % max(1, steps // 4) == 0
