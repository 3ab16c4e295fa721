"""Asking a local vision model whether a picture shows each checklist item.

The model gets the picture and the checklist, and must answer JSON constrained by a JSON
Schema passed in Ollama's ``format``: per item ``present | partly | absent`` with a
one-line reason, plus the text it reads in the picture.  The answer is untrusted: it is
size- and depth-limited before and after parsing, every item must be answered, reasons and
the text read are cleaned of control characters and cut; a bad answer is asked for once
more (telling the model what was wrong), as decompose does, then reported.

Before the first request the model is checked through ``/api/show`` (installed? can it see
images?), exactly as the describe action does; answers are cached (`cache.VerdictCache`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..llm.answers import InvalidAnswer, clean_answer, strip_escapes
from ..llm.ollama import AnswerCut, LLMError, OllamaClient, TimedOut
from ..untrusted import JsonError, loads_json
from .cache import VerdictCache
from .checklist import Checklist
from .scoring import STATUSES

MAX_ANSWER_CHARS = 32_000
MAX_DEPTH = 6
MAX_REASON_CHARS = 160
MAX_SEEN_CHARS = 1000

SYSTEM = """\
You check a generated picture against the description it was made from, item by item.
For each item decide what the picture shows:
- "present": clearly there, as described;
- "partly": there, but clearly different from the description, or only some of it;
- "absent": not in the picture.
Give each a short reason (one line) naming what you actually see. Judge only what is
visible; do not guess. Then write out, letter for letter, any text written in the picture
("" if there is none). Answer with the JSON object only."""

RETRY = """\
Your answer could not be used: {problem}. Answer again with only the JSON object: an
"items" object with one entry for each of {keys}, each with "status" ("present",
"partly" or "absent") and "reason", and "text_seen"."""

_SYNONYMS = {
    "present": "present", "yes": "present", "visible": "present", "shown": "present",
    "true": "present", "partly": "partly", "partial": "partly", "partially": "partly",
    "somewhat": "partly", "absent": "absent", "no": "absent", "missing": "absent",
    "false": "absent", "not present": "absent",
}


@dataclass
class ItemVerdict:
    status: str
    reason: str = ""


@dataclass
class Verdict:
    """The model's answer for one picture, validated."""

    model: str
    items: dict[str, ItemVerdict]
    text_seen: str = ""
    cached: bool = False
    attempts: int = 1
    seconds: float = 0.0

    @property
    def statuses(self) -> dict[str, str]:
        return {key: item.status for key, item in self.items.items()}

    def answer_dict(self) -> dict[str, Any]:
        """What the cache keeps."""
        return {"items": {k: {"status": v.status, "reason": v.reason}
                          for k, v in self.items.items()},
                "text_seen": self.text_seen}


def verdict_schema(checklist: Checklist) -> dict[str, Any]:
    """The JSON Schema the answer is constrained by (Ollama ``format``)."""
    item = {"type": "object",
            "properties": {"status": {"type": "string", "enum": list(STATUSES)},
                           "reason": {"type": "string"}},
            "required": ["status", "reason"]}
    return {"type": "object",
            "properties": {"items": {"type": "object",
                                     "properties": {key: item for key in checklist.keys},
                                     "required": checklist.keys},
                           "text_seen": {"type": "string"}},
            "required": ["items", "text_seen"]}


def question(checklist: Checklist) -> str:
    lines = ["The picture was made from this description. Check each item:"]
    lines += [f'- {item.key}: {item.wanted}' for item in checklist.items]
    if checklist.texts:
        lines.append("The picture should carry written text; copy out what is actually "
                     "written, even if it is misspelled.")
    return "\n".join(lines)


def _status(value: Any) -> str | None:
    if isinstance(value, bool):
        return "present" if value else "absent"
    if not isinstance(value, str):
        return None
    return _SYNONYMS.get(" ".join(value.strip().strip(".!\"'").lower().split()))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _clean(text: Any, limit: int) -> str:
    """Model text as one line: escape sequences, controls and bidi overrides dropped
    (`textsafe` via `strip_escapes`), cut to ``limit``."""
    return _cut(" ".join(strip_escapes(text).split()), limit) if isinstance(text, str) else ""


def _load_answer(content: str) -> dict[str, Any]:
    """The answer's JSON object (size and depth capped by `untrusted.loads_json`); a JSON
    object wrapped in other words is dug out once."""
    if len(content) > MAX_ANSWER_CHARS:
        raise InvalidAnswer(f"the answer is {len(content)} characters long, more than the "
                            f"{MAX_ANSWER_CHARS} a checklist needs")
    text = clean_answer(content)
    try:
        data = loads_json(text, max_bytes=MAX_ANSWER_CHARS, max_depth=MAX_DEPTH)
    except JsonError as exc:
        start, end = text.find("{"), text.rfind("}")
        if not exc.syntax or not 0 <= start < end:
            raise _unusable(exc) from None
        try:
            data = loads_json(text[start:end + 1], max_bytes=MAX_ANSWER_CHARS,
                              max_depth=MAX_DEPTH)
        except JsonError:
            raise _unusable(exc) from None
    if not isinstance(data, dict):
        raise InvalidAnswer(f"a JSON {type(data).__name__}, not an object")
    return data


def _unusable(exc: JsonError) -> InvalidAnswer:
    if exc.syntax:
        return InvalidAnswer(f"not JSON: {exc.msg} at character {exc.pos}")
    return InvalidAnswer(f"the JSON is {exc.msg}")


def _raw_items(data: dict[str, Any]) -> dict[str, Any]:
    raw = data.get("items")
    if isinstance(raw, list):   # tolerated: [{"key": ..., "status": ..., "reason": ...}]
        raw = {str(e.get("key") or e.get("item") or ""): e for e in raw if isinstance(e, dict)}
    if not isinstance(raw, dict):
        raise InvalidAnswer('no "items" object in the answer')
    return raw


def _item(entry: Any) -> ItemVerdict | None:
    """One checklist answer (a status word, a boolean, or {status, reason}); None when
    it has no usable status."""
    if isinstance(entry, dict):
        status, reason = _status(entry.get("status")), entry.get("reason", "")
    else:
        status, reason = _status(entry), ""
    return None if status is None else ItemVerdict(status, _clean(reason, MAX_REASON_CHARS))


def parse_verdict(content: str, checklist: Checklist, model: str) -> Verdict:
    """The model's answer as a `Verdict`; raises `InvalidAnswer` saying what is wrong."""
    data = _load_answer(content)
    raw_items = _raw_items(data)
    items: dict[str, ItemVerdict] = {}
    missing, bad = [], []
    for key in checklist.keys:
        if key not in raw_items:
            missing.append(key)
        elif (item := _item(raw_items[key])) is None:
            bad.append(key)
        else:
            items[key] = item
    if missing:
        raise InvalidAnswer(f"no verdict for {', '.join(missing)}")
    if bad:
        raise InvalidAnswer(f"no present/partly/absent status for {', '.join(bad)}")
    return Verdict(model, items, _clean(data.get("text_seen", ""), MAX_SEEN_CHARS))


def verdict_from_cache(answer: dict[str, Any], checklist: Checklist, model: str
                       ) -> Verdict | None:
    try:
        verdict = parse_verdict(json.dumps(answer), checklist, model)
    except InvalidAnswer:
        return None
    verdict.cached = True
    return verdict


class VisionJudge:
    """Verdicts from one vision model on one Ollama server, cached."""

    def __init__(self, client: OllamaClient, model: str, *, cache: VerdictCache | None = None,
                 deadline: float = 300.0) -> None:
        self.client = client
        self.model = model
        self.cache = cache if cache is not None else VerdictCache()
        self.deadline = deadline
        self._ready = False

    async def ready(self) -> None:
        """Check the model is installed and can see (raises `ModelMissing`/`NoVision`/
        `NotReachable`); asked once."""
        if not self._ready:
            await self.client.ensure_vision(self.model)
            self._ready = True

    def cached(self, image_sha: str, checklist: Checklist) -> Verdict | None:
        answer = self.cache.get(image_sha, checklist.hash, self.model)
        return verdict_from_cache(answer, checklist, self.model) if answer else None

    async def verdict(self, image_sha: str, checklist: Checklist,
                      encoded: Callable[[], str] | str) -> Verdict:
        """The verdict for one picture (``encoded``: its base64 JPEG, or a function making
        it, called only when the cache has no answer)."""
        hit = self.cached(image_sha, checklist)
        if hit is not None:
            return hit
        await self.ready()
        image = encoded() if callable(encoded) else encoded
        verdict = await self._ask(checklist, image)
        self.cache.put(image_sha, checklist.hash, self.model, verdict.answer_dict())
        return verdict

    async def _ask(self, checklist: Checklist, image: str) -> Verdict:
        schema = verdict_schema(checklist)
        options = {"temperature": 0, "seed": 0,
                   "num_predict": 300 + 80 * len(checklist.items)}
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question(checklist), "images": [image]}]
        loop = asyncio.get_running_loop()
        started = loop.time()
        problem = ""
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(self.deadline):
                    result = await self.client.chat(self.model, messages, format=schema,
                                                    options=options)
                content = result.content
                verdict = parse_verdict(content, checklist, self.model)
            except TimeoutError:
                raise TimedOut(f"{self.model} did not answer within {self.deadline:g} s") \
                    from None
            except AnswerCut as exc:
                problem, content = "the answer was cut off at the length limit", exc.partial
            except InvalidAnswer as exc:
                problem = str(exc)
            else:
                verdict.attempts = attempt
                verdict.seconds = loop.time() - started
                return verdict
            messages = messages[:2] + [
                {"role": "assistant", "content": content[:2000]},
                {"role": "user", "content": RETRY.format(
                    problem=problem, keys=", ".join(checklist.keys))}]
        raise InvalidAnswer(f"{self.model} did not give a usable checklist answer twice "
                            f"({problem})")


__all__ = ["ItemVerdict", "LLMError", "Verdict", "VisionJudge", "parse_verdict", "question",
           "verdict_schema"]
