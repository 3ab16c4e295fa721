"""The LLM actions: rewrite, fix, translate, expand, decompose, kontext, describe.

Each action renders its template (`templates`), asks a model through `OllamaClient`, and
parses the answer into a `Proposal`.  A proposal never applies itself: the caller shows it
and, when the user accepts, calls `apply_to` to get a changed copy of the spec.  Model text
is untrusted: it is cleaned (reasoning, markdown fences, wrapping quotes, escape sequences
removed) before it becomes a proposal, and `display_text` is what may be shown.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import locations
from ..spec import TEXT_FIELDS, PromptSpec
from ..textsafe import printable
from ..untrusted import read_json_file
from .answers import (
    InvalidAnswer,
    clean_answer,
    diagnostic_messages,
    parse_fields,
    parse_instructions,
    quoted_text,
)
from .ollama import ChatResult, LLMError, OllamaClient, TokenCallback
from .templates import Templates, load_templates

TEXT_ACTIONS: tuple[str, ...] = ("rewrite", "fix", "translate", "expand")
#: Images are sent no larger than this on their long side: enough for a description, and
#: small enough to keep the request (and the vision model's work) cheap.
DESCRIBE_MAX_SIDE = 1024
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_IMAGE_PIXELS = 100_000_000

DECOMPOSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in TEXT_FIELDS},
    "required": list(TEXT_FIELDS),
    "additionalProperties": False,
}
KONTEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"instructions": {"type": "array", "items": {"type": "string"},
                                    "minItems": 1}},
    "required": ["instructions"],
    "additionalProperties": False,
}


@dataclass
class Timings:
    first_token_s: float | None = None
    total_s: float = 0.0
    load_s: float = 0.0


@dataclass
class Proposal:
    """What a model proposes; nothing is changed until the caller accepts it.

    ``text`` for the text actions and describe, ``fields`` (every text field, ``""`` when
    empty) for decompose, ``instructions`` for kontext (``text`` then holds them one per
    line).  ``thinking`` is the reasoning of a thinking model, never part of the answer.
    """

    action: str
    original: str
    model: str
    text: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    instructions: list[str] = field(default_factory=list)
    thinking: str = ""
    timings: Timings = field(default_factory=Timings)
    attempts: int = 1
    cached: bool = False
    #: Things the user should check before accepting (e.g. in-image text that changed).
    warnings: list[str] = field(default_factory=list)

    @property
    def display_text(self) -> str:
        """The proposal as text safe to print (no escape sequences or control characters);
        widgets must still show it as `rich.text.Text`, never as markup."""
        if self.fields:
            return "\n".join(f"{name}: {printable(value)}" for name, value in self.fields.items()
                             if value)
        return printable(self.text)

    def apply_to(self, spec: PromptSpec) -> PromptSpec:
        """A copy of ``spec`` with the proposal accepted (the spec itself is not touched).

        Fields replace the structured fields and leave raw mode; a text replaces the raw text
        when the spec is raw, and otherwise becomes its raw text (the fields are kept)."""
        if self.action == "decompose":
            return spec.copy(raw="", **{name: self.fields.get(name, "") for name in TEXT_FIELDS})
        if self.action == "kontext" and self.instructions:
            # one change per edit (Kontext's rule): the first here, the rest are steps
            # that follow it (`chains.add_edits_after`), not one run-on instruction
            from ..compose import sentence

            return spec.copy(raw=sentence(self.instructions[0]), model="kontext")
        if not self.text:
            raise ValueError(f"a {self.action} proposal has no text to apply")
        return spec.copy(raw=self.text)

    def apply_fields(self, spec: PromptSpec, names: Iterable[str]) -> PromptSpec:
        """Accept only some fields of a decompose proposal."""
        names = [n for n in names if n in TEXT_FIELDS]
        return spec.copy(**{name: self.fields.get(name, "") for name in names})


# -- images -------------------------------------------------------------------------------

def image_for_model(path: Path, max_side: int = DESCRIBE_MAX_SIDE) -> tuple[str, str]:
    """``(sha256 of the file, base64 PNG/JPEG downscaled to max_side)``.

    Opened defensively: size-capped, decompression bombs refused, EXIF rotation applied,
    anything odd (alpha, palette, 16-bit) flattened to RGB.  Raises `LLMError` with a
    readable message for an unreadable file."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise LLMError(f"{path}: {size // (1024 * 1024)} MiB is too large to describe")
        data = path.read_bytes()
    except OSError as exc:
        raise LLMError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise LLMError(f"{path}: {image.width}x{image.height} is too many pixels")
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, (255, 255, 255))
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=90)
    except LLMError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError) as exc:
        raise LLMError(f"{path}: not an image that can be read ({exc})") from exc
    return digest, base64.b64encode(out.getvalue()).decode("ascii")


def describe_cache_dir() -> Path:
    return locations.cache_dir() / "describe"


def _cache_file(folder: Path, digest: str, model: str) -> Path:
    safe_model = re.sub(r"[^A-Za-z0-9._-]+", "_", model)
    return folder / f"{digest}.{safe_model}.json"


# -- the actions ----------------------------------------------------------------------------------

class Assistant:
    """The actions over one Ollama server, with the default text and vision models."""

    def __init__(self, client: OllamaClient, *, model: str, vision_model: str = "",
                 templates: Templates | None = None, cache_dir: Path | None = None,
                 think: bool | None = None) -> None:
        self.client = client
        self.model = model
        self.vision_model = vision_model or model
        self.templates = templates or load_templates()
        self.cache_dir = cache_dir
        self.think = think

    @classmethod
    def from_config(cls, config, client: OllamaClient | None = None, *,
                    model: str = "") -> Assistant:
        return cls(client or OllamaClient.from_config(config),
                   model=model or config.ollama.model,
                   vision_model=config.ollama.vision_model)

    # -- text actions --------------------------------------------------------------------------
    async def rewrite(self, text: str, *, model: str = "",
                      on_token: TokenCallback | None = None) -> Proposal:
        return await self._text_action("rewrite", text, model, on_token)

    async def fix(self, text: str, diagnostics: Sequence[Any], *, model: str = "",
                  on_token: TokenCallback | None = None) -> Proposal:
        messages = diagnostic_messages(diagnostics)
        if not messages:
            raise LLMError("nothing to fix: the linter found no problems")
        listing = "\n".join(f"- {m}" for m in messages)
        return await self._text_action("fix", text, model, on_token, diagnostics=listing)

    async def translate(self, text: str, *, model: str = "",
                        on_token: TokenCallback | None = None) -> Proposal:
        return await self._text_action("translate", text, model, on_token)

    async def expand(self, idea: str, *, model: str = "",
                     on_token: TokenCallback | None = None) -> Proposal:
        return await self._text_action("expand", idea, model, on_token)

    async def run_text(self, action: str, text: str, *, diagnostics: Sequence[Any] = (),
                       model: str = "", on_token: TokenCallback | None = None) -> Proposal:
        """Any action by name (what the CLI and the TUI's action menu call)."""
        if action == "fix":
            return await self.fix(text, diagnostics, model=model, on_token=on_token)
        if action in TEXT_ACTIONS:
            return await self._text_action(action, text, model, on_token)
        if action == "decompose":
            return await self.decompose(text, model=model, on_token=on_token)
        if action == "kontext":
            return await self.kontext(text, model=model, on_token=on_token)
        raise ValueError(f"unknown action {action!r}")

    async def _text_action(self, action: str, text: str, model: str,
                           on_token: TokenCallback | None, **values: str) -> Proposal:
        if not text.strip():
            raise LLMError(f"nothing to {action}: the prompt is empty")
        template = self.templates[action]
        model = model or self.model
        messages = [{"role": "system", "content": template.render_system(**values)},
                    {"role": "user", "content": template.render_user(text=text, **values)}]
        result = await self.client.chat(model, messages, options=template.options,
                                        think=self.think, on_token=on_token)
        answer = clean_answer(result.content)
        if not answer:
            raise InvalidAnswer(f"{model} gave an empty answer; nothing was changed")
        proposal = _proposal(action, text, result, text=answer)
        for quoted in quoted_text(text):
            if quoted not in answer:
                proposal.warnings.append(f'the in-image text "{quoted}" is not in the '
                                         "proposal as written")
        return proposal

    # -- decompose ---------------------------------------------------------------------------
    async def decompose(self, text: str, *, model: str = "",
                        on_token: TokenCallback | None = None) -> Proposal:
        """Free-form prompt -> the structured fields, through Ollama's structured output;
        one retry (telling the model what was wrong) when the answer does not validate."""
        if not text.strip():
            raise LLMError("nothing to decompose: the prompt is empty")
        template = self.templates["decompose"]
        model = model or self.model
        names = ", ".join(TEXT_FIELDS)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": template.render_system(fields=names)},
            {"role": "user", "content": template.render_user(text=text, fields=names)}]
        started = time.perf_counter()
        problem = ""
        for attempt in (1, 2):
            result = await self.client.chat(model, messages, format=DECOMPOSE_SCHEMA,
                                            options=template.options, think=self.think,
                                            on_token=on_token)
            try:
                fields = parse_fields(result.content)
            except InvalidAnswer as exc:
                problem = str(exc)
                messages = messages[:2] + [
                    {"role": "assistant", "content": result.content},
                    {"role": "user", "content": template.render_retry(problem=problem,
                                                                      fields=names)}]
                continue
            proposal = _proposal("decompose", text, result, fields=fields)
            proposal.attempts = attempt
            proposal.timings.total_s = time.perf_counter() - started
            return proposal
        raise InvalidAnswer(f"{model} did not give usable fields twice ({problem}); "
                            "nothing was changed")

    # -- kontext -------------------------------------------------------------------------------
    async def kontext(self, wish: str, *, model: str = "",
                      on_token: TokenCallback | None = None) -> Proposal:
        """A wish -> clear single-change Kontext edit instructions."""
        if not wish.strip():
            raise LLMError("nothing to turn into instructions: the wish is empty")
        template = self.templates["kontext"]
        model = model or self.model
        messages = [{"role": "system", "content": template.render_system()},
                    {"role": "user", "content": template.render_user(text=wish)}]
        result = await self.client.chat(model, messages, format=KONTEXT_SCHEMA,
                                        options=template.options, think=self.think,
                                        on_token=on_token)
        instructions = parse_instructions(result.content)
        return _proposal("kontext", wish, result, text="\n".join(instructions),
                         instructions=instructions)

    # -- describe ------------------------------------------------------------------------------
    async def describe(self, image: Path, *, model: str = "",
                       on_token: TokenCallback | None = None) -> Proposal:
        """Describe a source image with a vision model (checked first), cached by the
        image's sha256 and the model, so asking twice costs one request."""
        model = model or self.vision_model
        # Decoding and downscaling a large photo takes a while: keep it off the event loop.
        digest, encoded = await asyncio.to_thread(image_for_model, Path(image))
        cache = _cache_file(self.cache_dir or describe_cache_dir(), digest, model)
        cached = _read_cache(cache)
        if cached:
            return Proposal("describe", str(image), model, text=cached, cached=True)
        await self.client.ensure_vision(model)
        template = self.templates["describe"]
        messages = [{"role": "system", "content": template.render_system()},
                    {"role": "user", "content": template.render_user(),
                     "images": [encoded]}]
        result = await self.client.chat(model, messages, options=template.options,
                                        on_token=on_token)
        answer = clean_answer(result.content)
        if not answer:
            raise InvalidAnswer(f"{model} gave an empty description")
        _write_cache(cache, {"sha256": digest, "model": model, "text": answer})
        return _proposal("describe", str(image), result, text=answer)


def _proposal(action: str, original: str, result: ChatResult, **kwargs: Any) -> Proposal:
    return Proposal(action, original, result.model, thinking=result.thinking,
                    timings=Timings(result.first_token_s, result.total_s, result.load_s),
                    **kwargs)


def _read_cache(path: Path) -> str:
    try:
        data = read_json_file(path)
    except (OSError, ValueError):
        return ""
    text = data.get("text") if isinstance(data, dict) else None
    return text if isinstance(text, str) else ""


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    from ..atomic import write_atomic

    try:
        write_atomic(path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except OSError:  # a cache that can't be written only costs a request next time
        pass
