"""The Ollama wrapper: errors phrased for people, retry, timeouts, cancellation, unloading."""

from __future__ import annotations

import asyncio

import pytest

from tests.fakes.ollama_server import FakeOllama, Reply
from workbench.config import load_config
from workbench.llm.gpu import same_host, unload_before_jobs
from workbench.llm.ollama import (
    AnswerCut,
    LLMError,
    ModelMissing,
    NotReachable,
    OllamaClient,
    OutOfMemory,
    StreamBroken,
    TimedOut,
)

USER = [{"role": "user", "content": "a fox"}]


async def test_models_lists_what_is_installed(client):
    models = await client.models()
    names = [m.name for m in models]
    assert names[:2] == ["gemma3:4b", "llava:7b"]
    llava = models[1]
    assert (llava.family, llava.parameter_size, llava.size) == ("llama", "7B", 4_733_363_377)


async def test_capabilities_are_asked_once_per_model(fake, client):
    await client.ensure_vision("llava:7b")
    await client.ensure_vision("llava:7b")
    assert await client.capabilities("qwen3:4b") == ["completion", "tools", "thinking"]
    assert fake.seen("/api/show") == [{"model": "llava:7b"}, {"model": "qwen3:4b"}]


async def test_not_running(closed_port):
    async with OllamaClient(f"127.0.0.1:{closed_port}", retry_delay=0.01) as llm:
        expected = (f"Ollama is not reachable at 127.0.0.1:{closed_port}: start it with "
                    "`ollama serve` or set OLLAMA_HOST")
        with pytest.raises(NotReachable) as caught:
            await llm.models()
        assert str(caught.value) == expected
        with pytest.raises(NotReachable) as caught:
            await llm.chat("gemma3:4b", USER)
        assert str(caught.value) == expected


async def test_a_server_that_comes_up_during_the_backoff_is_reached(closed_port):
    async with OllamaClient(f"127.0.0.1:{closed_port}", retry_delay=0.4) as llm:
        task = asyncio.create_task(llm.chat("gemma3:4b", USER))
        await asyncio.sleep(0.1)
        async with FakeOllama() as fake:
            await fake.stop()
            await fake.start(closed_port)
            fake.queue("A fox.")
            result = await task
    assert result.content == "A fox."
    assert len(fake.chats) == 1


async def test_model_not_pulled(fake, client):
    with pytest.raises(ModelMissing) as caught:
        await client.chat("llama9:1b", USER)
    assert str(caught.value) == "model llama9:1b is not installed: run `ollama pull llama9:1b`"
    with pytest.raises(ModelMissing, match="ollama pull nope"):
        await client.ensure_model("nope")


async def test_out_of_memory(fake, client):
    with pytest.raises(OutOfMemory) as caught:
        await client.chat("llama3.3:70b", USER)
    message = str(caught.value)
    assert message.startswith("Ollama could not load llama3.3:70b: model requires more "
                              "system memory (42.6 GiB)")
    assert "smaller model" in message


async def test_bad_request_is_reported_with_its_status(fake, client):
    fake.queue(Reply(status=400, error="invalid format: schema too deep"))
    with pytest.raises(LLMError) as caught:
        await client.chat("gemma3:4b", USER)
    assert str(caught.value) == "Ollama error (400): invalid format: schema too deep"


async def test_error_line_in_the_middle_of_the_stream(fake, client):
    fake.queue(Reply("A red fox in the snow", error_after=2, error="llama runner exited"))
    seen: list[str] = []
    with pytest.raises(StreamBroken) as caught:
        await client.chat("gemma3:4b", USER, on_token=seen.append)
    assert seen == ["A", " red"]
    assert str(caught.value) == ("Ollama stopped in the middle of the answer: llama runner "
                                 "exited; nothing was changed")


async def test_cut_answer(fake, client):
    fake.queue(Reply("A red fox in the", done_reason="length"))
    with pytest.raises(AnswerCut) as caught:
        await client.chat("gemma3:4b", USER)
    assert caught.value.partial == "A red fox in the"
    assert "cut off" in str(caught.value)


async def test_slow_first_token_is_measured(fake, client):
    fake.queue(Reply("A fox.", first_token_delay=0.3))
    result = await client.chat("gemma3:4b", USER)
    assert result.first_token_s >= 0.3
    assert result.load_s == pytest.approx(0.012345678)


async def test_a_silent_server_times_out(fake):
    fake.queue(Reply("A fox.", first_token_delay=0.6))
    async with OllamaClient(fake.host, timeout=0.2) as llm:
        with pytest.raises(TimedOut, match="did not answer in time"):
            await llm.chat("gemma3:4b", USER)


async def test_cancelling_mid_stream_closes_the_stream(fake, client):
    fake.queue(Reply(" ".join(["word"] * 200), chunk_delay=0.02))
    first = asyncio.Event()
    seen: list[str] = []

    def on_token(piece: str) -> None:
        seen.append(piece)
        first.set()

    task = asyncio.create_task(client.chat("gemma3:4b", USER, on_token=on_token))
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if fake.aborted:
            break
        await asyncio.sleep(0.02)
    assert fake.aborted == 1
    assert 0 < len(seen) < 200
    # the client is still usable afterwards
    fake.queue("A fox.")
    assert (await client.chat("gemma3:4b", USER)).content == "A fox."


async def test_unload_frees_loaded_models(fake, client):
    await client.chat("gemma3:4b", USER)
    assert await client.loaded_models() == ["gemma3:4b"]
    assert await client.unload_all() == ["gemma3:4b"]
    assert fake.loaded == set()
    [unload] = fake.seen("/api/generate")
    assert unload["model"] == "gemma3:4b" and unload["keep_alive"] == 0 and "prompt" not in unload


def test_same_host():
    assert same_host("127.0.0.1:11434", "http://localhost:8188")
    assert same_host("http://gpu-box:11434", "http://GPU-BOX:8188/")
    assert not same_host("gpu-box:11434", "http://127.0.0.1:8188")


def test_unload_before_jobs_defaults_to_same_host_and_can_be_set(tmp_path):
    config = load_config(tmp_path / "none.toml", env={})
    assert unload_before_jobs(config)
    config = load_config(tmp_path / "none.toml", env={"OLLAMA_HOST": "10.0.0.5:11434"})
    assert not unload_before_jobs(config)
    path = tmp_path / "config.toml"
    path.write_text("[ollama]\nunload_before_jobs = false\n")
    assert not unload_before_jobs(load_config(path, env={}))


async def test_a_stream_that_ends_without_done_is_not_an_answer(fake, client):
    fake.queue(Reply("A red fox in the snow", stop_after=3))
    with pytest.raises(StreamBroken, match="ended before it was finished"):
        await client.chat("gemma3:4b", USER)


async def test_image_jobs_unload_ollama_models_on_a_shared_gpu(fake, tmp_path):
    """Before FLUX jobs, Ollama's loaded models are unloaded (keep_alive 0), once until
    the LLM is used again (the session's clients say so); nothing happens when off."""
    from workbench.config import load_config
    from workbench.llm.gpu import GpuSharing, sharing_for

    config = load_config(tmp_path / "none.toml", env={"OLLAMA_HOST": fake.host,
                                                       "COMFYUI_URL": "http://127.0.0.1:8188"})
    gpu = sharing_for(config)
    assert gpu is sharing_for(config) and isinstance(gpu, GpuSharing)
    async with OllamaClient.from_config(config) as client:
        await client.chat("gemma3:4b", [{"role": "user", "content": "hi"}])
    assert gpu.llm_used  # the session's client told it
    loaded = await OllamaClient(fake.host).loaded_models()
    assert loaded  # the fake now has gemma3:4b loaded
    assert await gpu.release_for_images() == loaded
    unloads = [b for b in fake.seen("/api/generate") if b.get("keep_alive") == 0]
    assert [u["model"] for u in unloads] == loaded
    assert await gpu.release_for_images() == []  # not used since: nothing asked
    assert len(fake.seen("/api/generate")) == len(unloads)
    config.ollama.unload_before_jobs = False
    off = GpuSharing.from_config(config)
    off.note_llm_used()
    assert await off.release_for_images() == []


async def test_release_is_silent_when_ollama_is_not_running(closed_port, tmp_path):
    from workbench.config import load_config
    from workbench.llm.gpu import GpuSharing

    config = load_config(tmp_path / "none.toml", env={"OLLAMA_HOST": f"127.0.0.1:{closed_port}"})
    gpu = GpuSharing.from_config(config)
    gpu.note_llm_used()
    assert await gpu.release_for_images() == []
