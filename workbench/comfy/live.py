"""The WebSocket half of `client.ComfyClient`: live events routed to their jobs.

ComfyUI tells the submitting client id about its prompts over one socket.  `SocketFeed`
keeps that socket open (reconnecting with jittered backoff), routes each frame to the job
it is about (binary previews and reconnect messages carry no prompt id: they belong to
the prompt that is running), tells jobs when the connection drops and comes back, and
checks jobs that go quiet against the server.  A frame that can't be used (not JSON, too
deep, a number out of range, a bogus binary header, a shape that breaks a job) is skipped
and counted (``bad_frames``, ``last_bad_frame``): the loop, and live progress, go on.  It is
a mixin: the client supplies the HTTP side (``check_job``, ``spawn``) and the state it reads.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time

import websockets
from websockets.asyncio.client import connect as ws_connect

from ..textsafe import one_line, redact_url
from .events import (
    Disconnected,
    Event,
    Executing,
    ExecutionStart,
    FeatureFlags,
    Reconnected,
    Status,
    Unknown,
    parse_binary,
    parse_text,
)


class SocketFeed:
    """Needs from the client: ``ws_url``, ``headers``, ``verify_tls``, ``backoff``,
    ``poll_interval``, ``quiet_after``, ``_jobs``, ``_connected``, ``_closing``,
    ``_running_pid``, `check_job` and `spawn`."""

    def _ssl(self) -> ssl.SSLContext | None:
        if not self.ws_url.startswith("wss:"):
            return None
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _ws_loop(self) -> None:
        attempt = 0
        ever = False
        while not self._closing:
            try:
                async with ws_connect(self.ws_url, additional_headers=self.headers,
                                      ssl=self._ssl(), max_size=64 * 1024 * 1024,
                                      open_timeout=10, ping_interval=20,
                                      ping_timeout=60) as ws:
                    await ws.send(json.dumps({"type": "feature_flags",
                                              "data": {"supports_preview_metadata": True}}))
                    async for frame in ws:
                        if not self._connected.is_set():
                            # The server greets with a `status` only once it has filed
                            # the socket under our client id: before that, messages for a
                            # prompt submitted now could go nowhere.
                            self._connected.set()
                            if ever:
                                self.reconnects += 1
                                for job in list(self._jobs.values()):
                                    job.publish(Reconnected(job.prompt_id, attempt=attempt))
                                    self.spawn(self.check_job(job))
                            ever = True
                            attempt = 0
                        self._take(frame)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as exc:
                self.last_ws_error = redact_url(one_line(str(exc))) or type(exc).__name__
            was_connected = self._connected.is_set()
            self._connected.clear()
            for job in list(self._jobs.values()):
                job.gap = True
                if was_connected and not self._closing:
                    job.publish(Disconnected(job.prompt_id, reason=self.last_ws_error
                                           or "the server closed the connection"))
            if self._closing:
                return
            attempt += 1
            low, high = self.backoff
            delay = min(high, low * 2 ** min(attempt - 1, 16))
            await asyncio.sleep(delay * (0.75 + random.random() / 2))

    def _take(self, frame: str | bytes) -> None:
        """Dispatch one frame; one that can't be used is counted and skipped."""
        try:
            if isinstance(frame, bytes):
                event = parse_binary(frame)
                if event is not None:
                    event.prompt_id = event.prompt_id or self._running_pid
                    self._to_job(event)
                return
            event = parse_text(frame)
            if isinstance(event, Unknown) and event.type == "malformed":
                self._bad_frame(str(event.data))
            else:
                self._dispatch(event)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end live progress
            self._bad_frame(f"{type(exc).__name__}: {one_line(str(exc))[:200]}")

    def _bad_frame(self, reason: str) -> None:
        self.bad_frames += 1
        self.last_bad_frame = reason

    def _dispatch(self, event: Event) -> None:
        """A text frame's event: the client's own state, then the job it is about."""
        if isinstance(event, Status):
            self.queue_remaining = event.queue_remaining
            return
        if isinstance(event, ExecutionStart):
            self._running_pid = event.prompt_id
        elif isinstance(event, Executing):
            if event.prompt_id is None:       # sent on reconnect: the running node
                event.prompt_id = self._running_pid
            elif event.node is None:
                if event.prompt_id == self._running_pid:
                    self._running_pid = None
            else:
                self._running_pid = event.prompt_id
        elif isinstance(event, FeatureFlags):
            self.supports_preview_metadata = bool(event.flags.get("supports_preview_metadata"))
            return
        self._to_job(event)

    def _to_job(self, event: Event) -> None:
        job = self._jobs.get(event.prompt_id or "")
        if job is not None:
            job.feed(event)

    async def _watchdog(self) -> None:
        """Check quiet or unfollowed jobs against the server every ``poll_interval``."""
        while not self._closing:
            await asyncio.sleep(self.poll_interval)
            now = time.monotonic()
            for job in list(self._jobs.values()):
                if job.state == "submitting":
                    continue
                if not self.connected or now - job.last_event_at > self.quiet_after:
                    job.last_event_at = now
                    await self.check_job(job)
