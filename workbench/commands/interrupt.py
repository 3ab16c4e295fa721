"""Ctrl+C for the verbs that queue prompts (``run``, ``edit``, ``ab``): one mechanism.

The first Ctrl+C takes back what this process queued (the caller's ``cancel``: delete
waiting prompts, interrupt the running one) and says so; the verb then ends the way it
would anyway, with the prompts recorded as cancelled, and exits 130.  A second Ctrl+C
leaves at once, saying what is left on the server (``left``) and that the next session
collects it.  Without a usable signal handler (not the main thread, Windows) Ctrl+C stays
Python's KeyboardInterrupt, which `workbench.cli.main` turns into exit 130.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: The exit status of a verb the user cancelled (128 + SIGINT, as shells expect).
CANCELLED = 130


class Interrupts:
    """The verb's SIGINT handling while ``run`` awaits its work (see the module)."""

    def __init__(self, cancel: Callable[[], Awaitable[object]], *, what: str,
                 left: Callable[[], list[str]], say: Callable[[str], None] | None = None
                 ) -> None:
        self.cancel_fn = cancel
        self.what = what
        self.left = left
        self.say = say or (lambda text: print(f"workbench: {text}", file=sys.stderr,
                                              flush=True))
        self.requested = False
        self._task: asyncio.Task | None = None

    def _on_sigint(self) -> None:
        if self.requested:
            left = self.left()
            self.say("leaving now" + (
                "; left on the server (the next run collects it when it ends): "
                + "; ".join(left) if left else "; nothing of this run is left on the server"))
            raise KeyboardInterrupt
        self.requested = True
        self.say(f"cancelling: {self.what} (Ctrl+C again to leave at once)")
        self._task = asyncio.get_running_loop().create_task(self.cancel_fn())

    async def run(self, work: Awaitable[T]) -> T:
        """``await work`` with Ctrl+C handled as described in the module."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            handled = True
        except (NotImplementedError, RuntimeError, ValueError):
            handled = False
        try:
            result = await work
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
        if self._task is not None:
            try:
                await self._task
            except Exception as exc:  # noqa: BLE001 - the work is over; say, do not crash
                self.say(f"cancelling failed: {exc}")
        return result
