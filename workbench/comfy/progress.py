"""How far a prompt is, told honestly: sampling steps, silent nodes, elapsed time, ETA.

ComfyUI only talks while a sampler steps; a model load, a text encode or a VAE pass is
silent for as long as it takes (25-170 s on a slow box).  `PromptProgress` follows one
prompt's events and gives a `Snapshot` that every face renders the same way (the CLI's bar
or plain lines, the TUI's Runs panel):

* the **phase** and its label from the running node's class type ("loading model…",
  "encoding text…", "decoding…"), with the node's title and how long it has been at it,
  so a silent node never looks like a hang;
* the **fraction** is sampling steps: ``step 7/30`` is 23 %, not the share of finished
  nodes.  A silent node weighs in only when its duration is *known* (`Timings`, measured
  on an earlier prompt of the session: the next chain step, A/B cell or F5 run), converted
  with the step rate; an unknown one weighs nothing rather than guessing;
* **elapsed** time since the prompt started running (since it was queued before that) and
  an **ETA** from the step rate observed in this prompt (else the known one).

Pure and clock-injected: the unit tests drive it in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .events import (
    Event,
    Executing,
    ExecutionCached,
    ExecutionError,
    ExecutionInterrupted,
    ExecutionStart,
    ExecutionSuccess,
    Progress,
    ProgressState,
)

LOAD, ENCODE, IMAGE, SAMPLE, DECODE, SAVE, OTHER = (
    "load", "encode", "image", "sample", "decode", "save", "other")
#: What a user reads while a node of each phase runs.
LABELS = {LOAD: "loading model…", ENCODE: "encoding text…", IMAGE: "encoding image…",
          SAMPLE: "sampling", DECODE: "decoding…", SAVE: "saving…", OTHER: "working…"}
#: Phases whose nodes are silent and can take long: weighed when their time is known.
SILENT = (LOAD, ENCODE, IMAGE, DECODE)
SAMPLERS = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
_DECODERS = ("VAEDecode", "VAEDecodeTiled", "VAEDecodeHunyuan3D")
_IMAGE_ENCODERS = ("VAEEncode", "VAEEncodeTiled", "VAEEncodeForInpaint",
                   "InpaintModelConditioning", "InstructPixToPixConditioning")
#: A silent node that has run this long past its known time is not yet over: the bar
#: stops short of the node's full weight instead of claiming it.
_NOT_DONE_SHARE = 0.95


def phase_of(class_type: str) -> str:
    """The phase a node of ``class_type`` is in while it runs."""
    if class_type in SAMPLERS:
        return SAMPLE
    if class_type.endswith(("Loader", "LoaderSimple", "LoaderModelOnly", "LoaderGGUF")):
        return LOAD
    if class_type.startswith(("CLIPTextEncode", "CLIPVisionEncode", "TextEncode")):
        return ENCODE
    if class_type in _DECODERS:
        return DECODE
    if class_type in _IMAGE_ENCODERS:
        return IMAGE
    if class_type in ("SaveImage", "PreviewImage"):
        return SAVE
    return OTHER


@dataclass
class Timings:
    """Seconds measured on earlier prompts: per sampling step, and per silent node of each
    phase (the latest measure wins).  A session keeps one and hands it to every prompt."""

    step: float | None = None
    phases: dict[str, float] = field(default_factory=dict)

    def learn(self, other: Timings) -> None:
        if other.step is not None:
            self.step = other.step
        self.phases.update(other.phases)


@dataclass(frozen=True)
class Snapshot:
    """One moment of a prompt, ready to render.  ``fraction`` is 0..1, times in seconds;
    ``eta`` is None while nothing tells how long is left."""

    state: str                  # queued | running | done
    phase: str
    node: str | None
    title: str
    step: int
    steps: int
    fraction: float
    elapsed: float
    node_elapsed: float
    eta: float | None
    step_seconds: float | None
    outcome: str = ""           # success | error | interrupted once done

    @property
    def label(self) -> str:
        """What is happening, e.g. ``encoding text…`` or ``sampling step 7/30``."""
        if self.state == "queued":
            return "queued"
        if self.state == "done":
            return {"success": "done", "interrupted": "cancelled"}.get(self.outcome,
                                                                       self.outcome or "done")
        if self.node is None:
            return "starting…"
        if self.phase == SAMPLE:
            return f"sampling step {self.step}/{self.steps}" if self.step else "loading model…"
        return LABELS.get(self.phase, LABELS[OTHER])

    @property
    def silent(self) -> bool:
        """A node is running that sends nothing while it works (a timer shows it lives)."""
        return self.state == "running" and (self.phase != SAMPLE or not self.step)

    def status(self, title: bool = True) -> str:
        """The label, the node's title and, for a silent node, its timer:
        ``encoding text… 12 s · “Positive Prompt”`` (``title=False``: the title only
        while a silent node runs, for narrow places)."""
        text = self.label
        if self.silent and self.node_elapsed >= 1:
            text += f" {clock(self.node_elapsed)}"
        if self.title and self.state == "running" and (title or self.silent):
            text += f" · “{self.title}”"
        return text

    def timing(self, compact: bool = False, percent: bool = True) -> str:
        """``23% · 0:07 elapsed · ETA 0:23`` (no ETA while none is known); ``compact``
        leaves out the word "elapsed" (narrow places), ``percent=False`` the percentage
        (beside a bar that shows it)."""
        text = f"{int(self.fraction * 100)}% · " if percent else ""
        text += clock(self.elapsed) + ("" if compact else " elapsed")
        if self.eta is not None and self.state == "running":
            text += f" · ETA {clock(self.eta)}"
        return text

    def line(self) -> str:
        return f"{self.status()}  {self.timing()}"


def clock(seconds: float) -> str:
    """``7 s``, ``1:05``, ``1:02:05``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def workflow_steps(workflow: dict, node_id: str) -> int:
    """A sampler's step count as the workflow sets it (its own ``steps`` or its
    scheduler's), 0 when the graph does not say."""
    node = workflow.get(node_id) or {}
    inputs = node.get("inputs") or {}
    steps = inputs.get("steps")
    sigmas = inputs.get("sigmas")
    if steps is None and isinstance(sigmas, list) and sigmas:
        steps = ((workflow.get(str(sigmas[0])) or {}).get("inputs") or {}).get("steps")
    return steps if isinstance(steps, int) and steps > 0 else 0


class PromptProgress:
    """One prompt's progress from its events (feed them in arrival order)."""

    def __init__(self, workflow: dict | None = None, *, known: Timings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.workflow = workflow or {}
        self.known = known or Timings()
        self.clock = clock
        self.created = clock()
        self.started: float | None = None
        self.ended: float | None = None
        self.outcome = ""
        self.node: str | None = None
        self.node_started = self.created
        self.cached: set[str] = set()
        self.finished: dict[str, float] = {}   # node -> seconds it took
        self.steps: dict[str, int] = {}        # sampler -> its step count
        self.step = 0
        self._first_step: tuple[float, int] | None = None
        self._last_step: tuple[float, int] | None = None

    # -- events ------------------------------------------------------------------------------

    def feed(self, event: Event) -> None:
        if self.ended is not None:
            return
        now = self.clock()
        if isinstance(event, ExecutionStart):
            self._start(now)
        elif isinstance(event, ExecutionCached):
            self._start(now)
            self.cached |= set(event.nodes)
        elif isinstance(event, Executing):
            self._executing(event.node, now)
        elif isinstance(event, Progress):
            self._progress(event, now)
        elif isinstance(event, ProgressState):
            for nid, state in event.nodes.items():
                if state.state == "finished" and nid != self.node:
                    self.finished.setdefault(nid, 0.0)
        elif isinstance(event, (ExecutionSuccess, ExecutionError, ExecutionInterrupted)):
            self.outcome = {ExecutionSuccess: "success", ExecutionError: "error",
                            ExecutionInterrupted: "interrupted"}[type(event)]

    def end(self, outcome: str) -> None:
        """The prompt is over (its result is known), however that was learnt."""
        if self.ended is None:
            self.outcome = outcome
            self._finish(self.clock())

    def _finish(self, now: float) -> None:
        if self.outcome == "success":   # a failed node did not finish: the bar stays
            self._leave(now)
        self.ended = now

    def _start(self, now: float) -> None:
        if self.started is None:
            self.started = now

    def _leave(self, now: float) -> None:
        if self.node is not None and self.node not in self.finished:
            self.finished[self.node] = now - self.node_started
        self.node = None

    def _executing(self, node: str | None, now: float) -> None:
        self._start(now)
        if node == self.node:
            return
        if node is None:
            self.outcome = self.outcome or "success"
            self._finish(now)
            return
        self._leave(now)
        self.node, self.node_started, self.step = node, now, 0

    def _progress(self, event: Progress, now: float) -> None:
        self._start(now)
        node = event.node or self.node
        if node is not None and node != self.node:
            self._executing(node, now)
        if node is not None and event.max:
            self.steps[node] = event.max
        if self._first_step is None or event.value < self._first_step[1]:
            self._first_step = (now, event.value)
        self._last_step = (now, event.value)
        self.step = event.value

    # -- reading -----------------------------------------------------------------------------

    def class_of(self, node: str | None) -> str:
        return str((self.workflow.get(node) or {}).get("class_type", "")) if node else ""

    def title_of(self, node: str | None) -> str:
        if node is None:
            return ""
        meta = (self.workflow.get(node) or {}).get("_meta") or {}
        return str(meta.get("title") or self.class_of(node) or f"node {node}")

    def observed_step_seconds(self) -> float | None:
        """Seconds per step seen in this prompt (two steps apart at least)."""
        if self._first_step is None or self._last_step is None:
            return None
        (t0, v0), (t1, v1) = self._first_step, self._last_step
        return (t1 - t0) / (v1 - v0) if v1 > v0 and t1 > t0 else None

    def step_seconds(self) -> float | None:
        return self.observed_step_seconds() or self.known.step

    def timings(self) -> Timings:
        """What this prompt measured, for the next one (`Timings.learn`)."""
        phases: dict[str, float] = {}
        for nid, seconds in self.finished.items():
            phase = phase_of(self.class_of(nid))
            if phase in SILENT and seconds > 0:
                phases[phase] = seconds
        return Timings(self.observed_step_seconds(), phases)

    def _sampler_steps(self, nid: str) -> int:
        return self.steps.get(nid) or workflow_steps(self.workflow, nid) or 1

    def _work(self, now: float, step_s: float | None) -> tuple[float, float]:
        """(total, done) in seconds (in steps when no step time is known)."""
        total = done = 0.0
        unit = step_s or 1.0
        for nid, node in self.workflow.items():
            if nid in self.cached or not isinstance(node, dict):
                continue
            phase = phase_of(str(node.get("class_type", "")))
            if phase == SAMPLE:
                steps = self._sampler_steps(nid)
                made = steps if nid in self.finished else (
                    min(self.step, steps) if nid == self.node else 0)
                total, done = total + steps * unit, done + made * unit
            elif phase in SILENT and step_s and phase in self.known.phases:
                weight = self.known.phases[phase]
                total += weight
                if nid in self.finished:
                    done += weight
                elif nid == self.node:
                    done += min(now - self.node_started, weight * _NOT_DONE_SHARE)
        return total, done

    def fraction(self, now: float | None = None) -> float:
        if self.ended is not None:
            return 1.0 if self.outcome == "success" else self._fraction(self.ended)
        return self._fraction(self.clock() if now is None else now)

    def _fraction(self, now: float) -> float:
        total, done = self._work(now, self.step_seconds())
        return min(1.0, done / total) if total else 0.0

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, from the step rate (None while no step time is known, or while a
        silent node of unknown length runs)."""
        now = self.clock() if now is None else now
        step_s = self.step_seconds()
        if self.ended is not None or step_s is None:
            return None
        phase = phase_of(self.class_of(self.node))
        if self.node is not None and phase in SILENT and phase not in self.known.phases:
            return None
        total, done = self._work(now, step_s)
        return max(0.0, total - done)

    def snapshot(self, now: float | None = None) -> Snapshot:
        now = self.clock() if now is None else now
        end = self.ended if self.ended is not None else now
        state = "done" if self.ended is not None else (
            "running" if self.started is not None else "queued")
        since = self.started if self.started is not None else self.created
        node = self.node
        return Snapshot(
            state=state, phase=phase_of(self.class_of(node)), node=node,
            title=self.title_of(node), step=self.step,
            steps=self._sampler_steps(node) if phase_of(self.class_of(node)) == SAMPLE
            else 0, fraction=self.fraction(now), elapsed=max(0.0, end - since),
            node_elapsed=max(0.0, now - self.node_started) if node else 0.0,
            eta=self.eta(now), step_seconds=self.step_seconds(), outcome=self.outcome)
