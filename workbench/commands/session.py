"""What ``workbench run`` and ``workbench edit`` share around their prompts: the progress
view, Ctrl+C (`interrupt.Interrupts` over a `runs.cancel.CancelScope`), and collecting
what an earlier session left on the server, with feedback.

Collecting leftovers (`recover`) lists the prompts it waits for, follows them live with
the same progress as the verb's own prompt, is skipped with ``--no-recover`` (they stay
in the journal for next time) and cancelled with Ctrl+C like the verb's own prompts.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from ..runs.cancel import CancelScope
from ..textsafe import one_line
from . import err
from .interrupt import CANCELLED, Interrupts
from .progress_view import ProgressView

T = TypeVar("T")

CANCEL_WHAT = ("deleting this run's queued prompts and interrupting its running one (the "
               "server stops it after the node at work)")


class VerbSession:
    """One verb's prompts on one ComfyUI server (see the module)."""

    def __init__(self, config: Any, client: Any, *, view: ProgressView | None = None) -> None:
        self.config = config
        self.client = client
        self.scope = CancelScope()
        self.view = view if view is not None else ProgressView()
        self.interrupts = Interrupts(self._cancel, what=CANCEL_WHAT, left=self.scope.left)

    @property
    def cancelled(self) -> bool:
        return self.interrupts.requested

    async def _cancel(self) -> None:
        self.view.cancelling = True
        await self.scope.cancel()

    async def run(self, work: Awaitable[T]) -> T:
        """``await work`` with the progress view up and Ctrl+C handled."""
        async with self.view:
            return await self.interrupts.run(work)

    def submitted(self, job: Any, name: str = "") -> None:
        """``on_submitted`` of the run service: the prompt shows as queued at once."""
        self.view.track(job, name)

    async def farewell(self) -> int:
        """After a cancel: what the server still holds of this run, said; exit 130."""
        held = await self.scope.on_server(self.client)
        where = self.client.base_url
        if held:
            err(f"cancelled; still on {where}: {', '.join(held)} (the next run collects "
                "them when they end)")
        else:
            err(f"cancelled; nothing of this run is left queued or running on {where}")
        return CANCELLED

    # -- what an earlier session left ---------------------------------------------------------

    async def recover(self, *, skip: bool = False) -> list:
        """Collect the prompts an earlier session left on this server, printed like the
        verb's own; ``skip`` (``--no-recover``) only says they are there."""
        from ..comfy.client import client_from_config
        from ..runs.journal import Journal
        from ..runs.recovery import RECOVERY_TIMEOUT, owned_by_live_session, recover

        journal = Journal()
        left = [e for e in journal.unfinished(self.client.base_url)
                if not owned_by_live_session(e)]
        if not left:
            return []
        if skip:
            err(f"{len(left)} prompt(s) an earlier session left on {self.client.base_url} "
                "are not collected (--no-recover); a later run collects them")
            return []
        err(f"collecting {len(left)} prompt(s) an earlier session left on "
            f"{self.client.base_url} (--no-recover skips this, Ctrl+C cancels them):")
        names = {}
        for entry in left:
            names[entry.prompt_id] = _entry_name(entry)
            err(f"  {entry.prompt_id}: {names[entry.prompt_id]}")

        def attached(job) -> None:
            self.scope.add(job)
            self.view.track(job, names.get(job.prompt_id, "earlier prompt"))
            job.on_event = self.view.on_event

        found = await recover(journal, lambda server, cid: client_from_config(
            self.config, server, client_id=cid), servers=[self.config.comfyui.url], wait=True,
            timeout=RECOVERY_TIMEOUT, on_attached=attached)
        for item in found:
            self.view.end(item.entry.prompt_id, item.status)
        return found


def _entry_name(entry: Any) -> str:
    """A journaled prompt as a person knows it: its prompt's name and run folder."""
    spec = entry.meta.get("spec") if isinstance(entry.meta.get("spec"), dict) else {}
    name = one_line(str(spec.get("name") or entry.meta.get("prompt") or "a prompt"))
    return f"“{name}” of {Path(entry.run_dir).name}" if entry.run_dir else f"“{name}”"


def report_recovered(found: list) -> None:
    """The images collected (stdout) and what went wrong with them (stderr)."""
    for item in found:
        for image in item.images:
            print(image)
        for problem in item.problems:
            err(f"earlier prompt {item.entry.prompt_id}: {problem}")
    if found:
        sys.stdout.flush()
