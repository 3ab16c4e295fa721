"""A fake Ollama on 127.0.0.1 and the real client pointed at it."""

from __future__ import annotations

import socket

import pytest

from tests.fakes.ollama_server import FakeOllama
from workbench.llm.actions import Assistant
from workbench.llm.ollama import OllamaClient


@pytest.fixture
async def fake():
    async with FakeOllama() as server:
        yield server


@pytest.fixture
async def client(fake):
    async with OllamaClient(fake.host, retry_delay=0.01) as llm:
        yield llm


@pytest.fixture
def assistant(client):
    return Assistant(client, model="gemma3:4b", vision_model="llava:7b")


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
