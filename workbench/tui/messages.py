"""Typed progress messages, and the thin adapter from the core's callbacks to them.

The core reports progress through plain callbacks (`PlanRunner`'s ``on_update``, the run
service's ``on_built`` / ``on_event`` / ``on_submitted``).  The adapters here turn each
call into a Message posted to the screen or widget that shows it, so the UI changes only
in message handlers.  Progress comes many times a second: a message that only moves a
bar is replaced by the next one for the same cell or job while it waits in the queue
(`can_replace`), so a slow frame never builds a backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

#: Cell states after which nothing more comes for that cell.
SETTLED = ("done", "error", "cancelled")


@dataclass
class CellProgress(Message):
    """Where one cell of a running plan stands (a runner's `CellUpdate`)."""

    update: Any   # runs.plan_run.CellUpdate

    @property
    def cell_id(self) -> str:
        return self.update.cell_id

    def can_replace(self, message: Message) -> bool:
        """A newer update for the same cell supersedes this one, unless this one brings
        what the newer one lacks (images, a final state)."""
        return (isinstance(message, CellProgress) and message.cell_id == self.cell_id
                and not self.update.images and self.update.state not in SETTLED)


@dataclass
class PlanFinished(Message):
    """A plan's run is over: its history `Run`, or why it stopped."""

    run: Any = None   # runs.history.Run
    error: str = ""


@dataclass
class CellJudged(Message):
    """The judge scored one cell (its ``judge.json`` form, `RunJudgement.to_dict`'s cell)."""

    cell_id: str
    cell: dict


@dataclass
class JudgeFinished(Message):
    """Judging a run is over: the whole ``judge.json`` form, or why it stopped."""

    data: dict | None = None
    error: str = ""
    written: bool = True      # False: read back from the run folder, not judged now


@dataclass
class JobProgress(Message):
    """What one job of the run panel is doing now, or how it ended."""

    key: str                              # which job (its row)
    text: str = ""                        # "connecting…", an error; "": render the job
    fraction: float | None = None
    title: str | None = None              # a better title (the seed, once it is known)
    job: Any = None                       # the server's `Job`: its progress model
    outcome: str = ""                     # "" while it runs; "failed", or the record's
    images: list[Path] = field(default_factory=list)   # status: "done", "cancelled"...
    folder: Path | None = None            # the run folder, once over
    problems: list = field(default_factory=list)
    notify: bool = True                   # say so in a toast when it is done

    def can_replace(self, message: Message) -> bool:
        """A newer progress message for the same job supersedes this one, unless this
        one brings news (a title, an outcome, the job itself the first time)."""
        return (isinstance(message, JobProgress) and message.key == self.key
                and not self.outcome and self.title is None
                and (self.job is None or message.job is self.job))


@dataclass
class StepProgress(Message):
    """A Kontext chain's step: started, made (its image) or failed; ``index`` None is the
    running step's sampling progress."""

    index: int | None                     # 0 the source, i the i-th edit (as the strip)
    state: str = "running"                # running | done | error
    fraction: float = 0.0
    step: int = 0
    steps: int = 0
    image: Path | None = None
    error: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepProgress) and self.index is None \
            and message.index is None


def cell_updates(target: MessagePump) -> Callable[[Any], None]:
    """A runner's ``on_update`` that posts `CellProgress` to ``target``."""
    return lambda update: target.post_message(CellProgress(update))


@dataclass
class JobCallbacks:
    """The run service's callbacks for one job, posting `JobProgress` to ``target``."""

    target: MessagePump
    key: str
    title: str
    server: str = ""

    def post(self, text: str = "", fraction: float | None = None, **more: Any) -> None:
        self.target.post_message(JobProgress(self.key, text, fraction, **more))

    def on_built(self, workflow: Any) -> None:
        self.title = f"{self.title} · seed {workflow.seed}"
        self.post(f"queued on {self.server}", 0.0, title=self.title)

    def on_submitted(self, job: Any) -> None:
        self.post(job=job)

    def on_event(self, job: Any, event: Any) -> None:
        self.post(job=job)

    def settled(self, status: str, images: list[Path], folder: Path | None,
                problems: list, *, notify: bool = True) -> None:
        self.post(outcome=status, images=list(images), folder=folder,
                  problems=list(problems), notify=notify)
