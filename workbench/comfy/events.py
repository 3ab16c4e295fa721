"""What ComfyUI says over its WebSocket, as typed values.

The server sends JSON text frames ``{"type": ..., "data": ...}`` and binary preview frames
(a big-endian u32 event type first: 1 = preview image, 4 = preview image with metadata,
sent only after the ``feature_flags`` handshake).  `parse_text` and `parse_binary` turn
them into the dataclasses below; anything unknown becomes `Unknown` rather than an error,
because servers grow new message types.  `Disconnected`, `Reconnected` and `Lost` are the
client's own: the socket dropped, it came back (and the job was checked against /history),
or the server no longer knows the job.

This is where server text becomes our values, so it is made safe here, once: every id,
type name, exception message and traceback line passes `textsafe.sanitize` (no escape
sequence, control character or bidi override survives; Rich markup is left as text, shown
only through `rich.text.Text` or ``markup=False``).  Only what must match the server
exactly stays raw: the prompt id's routing is unaffected (our ids are plain) and image
references (`ImageRef`) are fetched by the name the server gave (shown escaped elsewhere).
Frames are parsed by `untrusted.loads_json` (depth and number limits); one that can't be
used is ``Unknown(type="malformed")`` (text) or a ValueError (binary), never a crash.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..textsafe import one_line, sanitize
from ..untrusted import JsonError, loads_json

#: A WebSocket text frame larger than this is not parsed (previews come as binary frames).
MAX_FRAME_JSON = 8 * 1024 * 1024


@dataclass(frozen=True)
class ImageRef:
    """An image the server holds: what /view needs to fetch it."""

    filename: str
    subfolder: str = ""
    type: str = "output"
    node_id: str = ""

    @classmethod
    def from_dict(cls, data: dict, node_id: str = "") -> ImageRef:
        return cls(str(data.get("filename", "")), str(data.get("subfolder", "") or ""),
                   str(data.get("type", "output") or "output"), node_id)


@dataclass
class Event:
    prompt_id: str | None = None


@dataclass
class Status(Event):
    queue_remaining: int = 0
    sid: str | None = None


@dataclass
class FeatureFlags(Event):
    flags: dict = field(default_factory=dict)


@dataclass
class ExecutionStart(Event):
    timestamp: int = 0


@dataclass
class ExecutionCached(Event):
    nodes: list[str] = field(default_factory=list)


@dataclass
class Executing(Event):
    """A node started; ``node is None`` marks the end of the prompt."""

    node: str | None = None


@dataclass
class Progress(Event):
    node: str | None = None
    value: int = 0
    max: int = 0


@dataclass
class NodeState:
    value: float
    max: float
    state: str


@dataclass
class ProgressState(Event):
    """Every node started so far (it grows; it is not a delta)."""

    nodes: dict[str, NodeState] = field(default_factory=dict)


@dataclass
class Executed(Event):
    node: str = ""
    images: list[ImageRef] = field(default_factory=list)
    output: dict = field(default_factory=dict)


@dataclass
class ExecutionSuccess(Event):
    timestamp: int = 0


@dataclass
class ExecutionError(Event):
    node_id: str = ""
    node_type: str = ""
    exception_type: str = ""
    exception_message: str = ""
    traceback: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)


@dataclass
class ExecutionInterrupted(Event):
    node_id: str = ""
    node_type: str = ""
    executed: list[str] = field(default_factory=list)


@dataclass
class Preview(Event):
    """A live preview image (JPEG or PNG bytes) from a sampler step."""

    node: str | None = None
    image_type: str = "image/jpeg"
    data: bytes = b""


@dataclass
class Unknown(Event):
    type: str = ""
    data: Any = None


@dataclass
class Disconnected(Event):
    """The WebSocket dropped; the client is reconnecting with backoff."""

    reason: str = ""


@dataclass
class Reconnected(Event):
    """The WebSocket came back after a drop; the job was checked against /history."""

    attempt: int = 0


@dataclass
class Lost(Event):
    """The server does not know the prompt any more (restarted, queue cleared)."""

    reason: str = ""




def _str_or_none(value: Any) -> str | None:
    """An id or a name from the server, safe to show (None stays None)."""
    return None if value is None else _name(value)


def _name(value: Any) -> str:
    return one_line(value)[:300]


def _text(value: Any) -> str:
    """A message from the server (an exception, a traceback line): lines kept."""
    return sanitize(value, multiline=True)[:20_000]


def _names(values: Any) -> list[str]:
    return [_name(v) for v in values] if isinstance(values, list) else []


def _int(value: Any) -> int:
    return int(value or 0)


def _status(pid, data: dict) -> Event:
    status = data.get("status") or {}
    info = status.get("exec_info") or {}
    return Status(pid, _int(info.get("queue_remaining", 0)), _str_or_none(data.get("sid")))


def _progress_state(pid, data: dict) -> Event:
    nodes = {_name(k): NodeState(float(v.get("value") or 0), float(v.get("max") or 0),
                                 _name(v.get("state", "")))
             for k, v in (data.get("nodes") or {}).items() if isinstance(v, dict)}
    return ProgressState(pid, nodes)


def _executed(pid, data: dict) -> Event:
    node = _name(data.get("node", ""))
    output = data.get("output") or {}
    images = [ImageRef.from_dict(i, node) for i in output.get("images") or []
              if isinstance(i, dict)]
    return Executed(pid, node, images, output)


def _execution_error(pid, data: dict) -> Event:
    return ExecutionError(pid, _name(data.get("node_id", "")), _name(data.get("node_type", "")),
                          _name(data.get("exception_type", "")),
                          _text(data.get("exception_message", "")),
                          [_text(t) for t in data.get("traceback") or []][:200],
                          _names(data.get("executed")))


#: message type -> (prompt id, data) -> event
_PARSERS: dict[str, Callable[[str | None, dict], Event]] = {
    "status": _status,
    "feature_flags": lambda pid, data: FeatureFlags(pid, dict(data)),
    "execution_start": lambda pid, data: ExecutionStart(pid, _int(data.get("timestamp"))),
    "execution_cached": lambda pid, data: ExecutionCached(pid, _names(data.get("nodes"))),
    "executing": lambda pid, data: Executing(pid, _str_or_none(data.get("node"))),
    "progress": lambda pid, data: Progress(pid, _str_or_none(data.get("node")),
                                           _int(data.get("value")), _int(data.get("max"))),
    "progress_state": _progress_state,
    "executed": _executed,
    "execution_success": lambda pid, data: ExecutionSuccess(pid, _int(data.get("timestamp"))),
    "execution_error": _execution_error,
    "execution_interrupted": lambda pid, data: ExecutionInterrupted(
        pid, _name(data.get("node_id", "")), _name(data.get("node_type", "")),
        _names(data.get("executed"))),
}


def _malformed(reason: str) -> Unknown:
    return Unknown(type="malformed", data=one_line(reason)[:300])


def parse_text(raw: str | dict) -> Event:
    """One JSON text frame as an `Event`: `Unknown` when the type is new, and
    ``Unknown(type="malformed")`` (``data``: why) when the frame can't be used."""
    try:
        message = loads_json(raw, max_bytes=MAX_FRAME_JSON) if isinstance(raw, str) else raw
        kind = message["type"]
        data = message.get("data") or {}
    except JsonError as exc:
        return _malformed(f"not usable JSON: {exc}")
    except (KeyError, TypeError, AttributeError):
        return _malformed("not a {type, data} message")
    if not isinstance(data, dict):
        return Unknown(type=_name(kind), data=data)
    pid = _str_or_none(data.get("prompt_id"))
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return Unknown(pid, type=_name(kind), data=data)
    try:
        return parser(pid, data)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        return _malformed(f"{_name(kind)} message with unusable data: {exc}")


def parse_binary(frame: bytes) -> Preview | None:
    """A binary frame as a `Preview` (type 1 or 4), ``None`` for other kinds; a
    ValueError when a preview frame is malformed."""
    if len(frame) < 4:
        raise ValueError(f"a binary frame of {len(frame)} bytes")
    (kind,) = struct.unpack(">I", frame[:4])
    if kind not in (1, 4):
        return None
    if len(frame) < 8:
        raise ValueError(f"a preview frame of {len(frame)} bytes")
    (value,) = struct.unpack(">I", frame[4:8])
    if kind == 1:
        return Preview(None, None, "image/png" if value == 2 else "image/jpeg", frame[8:])
    if 8 + value > len(frame):
        raise ValueError("preview metadata longer than its frame")
    try:
        meta = loads_json(frame[8:8 + value], max_bytes=64 * 1024)
    except JsonError as exc:
        raise ValueError(f"preview metadata: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError("preview metadata is not an object")
    return Preview(_str_or_none(meta.get("prompt_id")), _str_or_none(meta.get("node_id")),
                   _name(meta.get("image_type", "image/jpeg")), frame[8 + value:])


def events_from_history(entry: dict) -> list[Event]:
    """The terminal facts a /history entry records (its ``status.messages``)."""
    events: list[Event] = []
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    messages = status.get("messages") if isinstance(status.get("messages"), list) else []
    for item in messages:
        if isinstance(item, list) and len(item) == 2:
            events.append(parse_text({"type": item[0], "data": item[1]}))
    return events
