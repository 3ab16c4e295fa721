"""Fixtures for the judge tests: pictures a test can tell apart, run folders made through
the real history code, and the fake Ollama on a real port."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.fakes.ollama_server import FakeOllama, FakeOllamaThread
from workbench.config import load_config
from workbench.runs.history import create_run, record_cell
from workbench.runs.plan import make_plan
from workbench.spec import PromptSpec

RED, GREEN, BLUE, GREY = (255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128)


def picture(colour=RED, seed: int = 0, size: int = 256, blur: float = 0.0) -> Image.Image:
    """A picture of ``colour`` with shapes placed by ``seed``: real edges (for sharpness
    and the hash), and an average colour near ``colour`` (for the fake's table)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    shade = tuple(max(0, c - 60) for c in colour)
    for _ in range(12):
        x, y = rng.randrange(size), rng.randrange(size)
        w, h = rng.randrange(size // 16, size // 5), rng.randrange(size // 16, size // 5)
        draw.rectangle((x, y, x + w, y + h), fill=shade)
        draw.line((rng.randrange(size), 0, rng.randrange(size), size - 1), fill=shade, width=2)
    return image.filter(ImageFilter.GaussianBlur(blur)) if blur else image


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def make_run(tmp_path):
    """``make_run(specs, {(variant, seed): [png bytes...]}, seeds=[...])`` -> run folder;
    cells not in the mapping are recorded as failed."""

    def make(specs, images, seeds=(1,), axes=(), failed=()):
        plan = make_plan(specs, seeds=list(seeds), axes=list(axes), name="judge test")
        run = create_run(plan, root=tmp_path / "runs")
        for cell in plan.cells():
            key = (cell.variant, cell.seed)
            if cell.id in failed or key not in images:
                record_cell(run, cell, [], None, status="error", error="VAE ran out of memory")
            else:
                record_cell(run, cell, images[key], None, server="http://127.0.0.1:8188")
        return run.folder

    return make


def fox(name="Fox", **fields) -> PromptSpec:
    values = {"subject": "a red fox", "action": "sitting in fresh snow", "style": "watercolor"}
    values.update(fields)
    return PromptSpec(name, **values)


@pytest.fixture
async def ollama():
    async with FakeOllama() as fake:
        yield fake


@pytest.fixture
def ollama_thread():
    with FakeOllamaThread() as fake:
        yield fake


@pytest.fixture
def config_for(tmp_path):
    def make(fake=None, host=None, **overrides):
        host = host or (fake.host if fake is not None else "127.0.0.1:9")
        return load_config(tmp_path / "no-config.toml", env={},
                           overrides={"ollama_host": host, **overrides})

    return make
