"""What ComfyUI says over its WebSocket, as typed values.

The server sends JSON text frames ``{"type": ..., "data": ...}`` and binary preview frames
(a big-endian u32 event type first: 1 = preview image, 4 = preview image with metadata,
sent only after the ``feature_flags`` handshake).  `parse_text` and `parse_binary` turn
them into the dataclasses below; anything unknown becomes `Unknown` rather than an error,
because servers grow new message types.  `Disconnected`, `Reconnected` and `Lost` are the
client's own: the socket dropped, it came back (and the job was checked against /history),
or the server no longer knows the job.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
    return None if value is None else str(value)


def _status(pid, data: dict) -> Event:
    info = (data.get("status") or {}).get("exec_info") or {}
    return Status(pid, int(info.get("queue_remaining", 0)), _str_or_none(data.get("sid")))


def _progress_state(pid, data: dict) -> Event:
    nodes = {str(k): NodeState(float(v.get("value") or 0), float(v.get("max") or 0),
                               str(v.get("state", "")))
             for k, v in (data.get("nodes") or {}).items() if isinstance(v, dict)}
    return ProgressState(pid, nodes)


def _executed(pid, data: dict) -> Event:
    node = str(data.get("node", ""))
    output = data.get("output") or {}
    images = [ImageRef.from_dict(i, node) for i in output.get("images") or []
              if isinstance(i, dict)]
    return Executed(pid, node, images, output)


def _execution_error(pid, data: dict) -> Event:
    return ExecutionError(pid, str(data.get("node_id", "")), str(data.get("node_type", "")),
                          str(data.get("exception_type", "")),
                          str(data.get("exception_message", "")),
                          [str(t) for t in data.get("traceback") or []],
                          [str(n) for n in data.get("executed") or []])


#: message type -> (prompt id, data) -> event
_PARSERS: dict[str, Callable[[str | None, dict], Event]] = {
    "status": _status,
    "feature_flags": lambda pid, data: FeatureFlags(pid, dict(data)),
    "execution_start": lambda pid, data: ExecutionStart(pid, int(data.get("timestamp") or 0)),
    "execution_cached": lambda pid, data: ExecutionCached(
        pid, [str(n) for n in data.get("nodes") or []]),
    "executing": lambda pid, data: Executing(pid, _str_or_none(data.get("node"))),
    "progress": lambda pid, data: Progress(pid, _str_or_none(data.get("node")),
                                           int(data.get("value") or 0),
                                           int(data.get("max") or 0)),
    "progress_state": _progress_state,
    "executed": _executed,
    "execution_success": lambda pid, data: ExecutionSuccess(
        pid, int(data.get("timestamp") or 0)),
    "execution_error": _execution_error,
    "execution_interrupted": lambda pid, data: ExecutionInterrupted(
        pid, str(data.get("node_id", "")), str(data.get("node_type", "")),
        [str(n) for n in data.get("executed") or []]),
}


def parse_text(raw: str | dict) -> Event:
    """One JSON text frame as an `Event` (`Unknown` when the type is new or malformed)."""
    try:
        message = json.loads(raw) if isinstance(raw, str) else raw
        kind = message["type"]
        data = message.get("data") or {}
        if not isinstance(data, dict):
            return Unknown(type=str(kind), data=data)
    except (ValueError, KeyError, TypeError):
        return Unknown(type="malformed", data=raw)
    pid = _str_or_none(data.get("prompt_id"))
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        return Unknown(pid, type=str(kind), data=data)
    try:
        return parser(pid, data)
    except (TypeError, ValueError, AttributeError):
        return Unknown(type=str(kind), data=data)


def parse_binary(frame: bytes) -> Preview | None:
    """A binary frame as a `Preview` (type 1 or 4), or ``None`` for other kinds."""
    if len(frame) < 8:
        return None
    (kind,) = struct.unpack(">I", frame[:4])
    if kind == 1:
        (image_type,) = struct.unpack(">I", frame[4:8])
        return Preview(None, None, "image/png" if image_type == 2 else "image/jpeg", frame[8:])
    if kind == 4:
        (length,) = struct.unpack(">I", frame[4:8])
        try:
            meta = json.loads(frame[8:8 + length])
        except ValueError:
            return None
        if not isinstance(meta, dict):
            return None
        return Preview(_str_or_none(meta.get("prompt_id")), _str_or_none(meta.get("node_id")),
                       str(meta.get("image_type", "image/jpeg")), frame[8 + length:])
    return None


def events_from_history(entry: dict) -> list[Event]:
    """The terminal facts a /history entry records (its ``status.messages``)."""
    events: list[Event] = []
    for item in (entry.get("status") or {}).get("messages") or []:
        if isinstance(item, list) and len(item) == 2:
            events.append(parse_text({"type": item[0], "data": item[1]}))
    return events
