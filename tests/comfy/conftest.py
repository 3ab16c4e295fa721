"""Fixtures for the ComfyUI tests: the fake on a real port, a connected client, recordings."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tests.fakes.comfy_server import FakeComfy
from tests.fixtures import recorded
from workbench.comfy.client import ComfyClient


@pytest.fixture
def object_info():
    return recorded("object_info_flux.json")


@pytest.fixture
async def fake():
    server = FakeComfy()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(fake):
    comfy = ComfyClient(fake.url, poll_interval=0.2, backoff=(0.05, 0.5))
    await comfy.connect()
    try:
        yield comfy
    finally:
        await comfy.close()


class ThreadedFake:
    """The fake in its own thread and event loop, for code that calls asyncio.run (the CLI)."""

    def __init__(self, **knobs) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = self.call(self._make, knobs)
        self.url = self.call(self.fake.start)

    @staticmethod
    async def _make(knobs):
        return FakeComfy(**knobs)

    def call(self, fn, *args):
        return asyncio.run_coroutine_threadsafe(fn(*args), self.loop).result(30)

    def stop(self) -> None:
        self.call(self.fake.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def threaded_fake():
    made: list[ThreadedFake] = []

    def start(**knobs) -> ThreadedFake:
        server = ThreadedFake(**knobs)
        made.append(server)
        return server

    yield start
    for server in made:
        server.stop()


def write_library(folder: Path, body: str) -> Path:
    path = folder / "lib.toml"
    path.write_text('format = 1\ntitle = "Test"\n\n' + body, encoding="utf-8")
    return path


def small_t2i(seed: int = 42, text: str = "a red fox in the snow") -> dict:
    """The recorded dev t2i workflow, made small and quick."""
    workflow = recorded("workflow_flux_dev_t2i.json")
    workflow["7"]["inputs"].update(width=32, height=32)
    workflow["8"]["inputs"].update(steps=3, seed=seed)
    workflow["4"]["inputs"]["text"] = text
    return workflow
