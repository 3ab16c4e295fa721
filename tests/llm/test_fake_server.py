"""The fake Ollama can be started by hand and answers plausibly without scripting."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.conftest import REPO


def test_runs_by_hand(closed_port):
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.ollama_server",
                             "--port", str(closed_port)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{closed_port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                tags = httpx.get(f"{url}/api/tags", timeout=1).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, proc.stderr.read1().decode()
                time.sleep(0.1)
        assert "gemma3:4b" in [m["name"] for m in tags["models"]]
        answer = httpx.post(f"{url}/api/chat", timeout=5, json={
            "model": "gemma3:4b", "stream": False,
            "messages": [{"role": "user", "content": "Rewrite:\n<<<\nfox in snow\n>>>"}]}).json()
        assert answer["message"]["content"].startswith("Fox in snow, shown in natural light")
        assert answer["done_reason"] == "stop"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_canned_decompose_and_kontext_answers(fake, assistant):
    proposal = await assistant.decompose('A red fox in snow. Watercolor. A sign reads "WINTER".')
    assert proposal.fields["subject"] == "A red fox in snow"
    assert proposal.fields["style"] == "Watercolor"
    assert proposal.fields["text"] == "WINTER"
    kontext = await assistant.kontext("make her smile, it's snowing")
    assert len(kontext.instructions) == 2


async def test_canned_fix_drops_the_quoted_problems(fake, assistant):
    proposal = await assistant.fix("A red fox, masterpiece, 8k. Watercolor.",
                                   ["'masterpiece' is a quality tag", "'8k' is a quality tag"])
    assert proposal.text.startswith("A red fox. Watercolor")
    assert "masterpiece" not in proposal.text and "8k" not in proposal.text
