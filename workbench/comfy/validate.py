"""Checking a workflow before it is sent, and explaining what the server said about it.

`check_workflow` reads the server's object_info and finds what ComfyUI would refuse:
unknown node types, missing inputs, broken links, numbers out of range or not numbers,
and values not in the server's lists, above all a model file that is not installed (the
message names the folder it belongs in and the files that are there).  It reports in the
server's own ``node_errors`` shape, so one set of wording (`explain_node_errors`) serves
both the local check and a 400 from POST /prompt.  `explain_rejection` covers the other
400/500 answers and `explain_execution_error` a failure while running.  Every message
names the node id and its title, and all server text passes through `textsafe.one_line`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..textsafe import one_line, sanitize
from .client import ComfyError
from .events import ExecutionError, ExecutionInterrupted
from .graph import is_link, title_of
from .models import TOOL_FILES

#: (node class, input) -> the models/ folder its file list comes from.
MODEL_FOLDERS: dict[tuple[str, str], str] = {
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("VAELoader", "vae_name"): "vae",
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("LoraLoader", "lora_name"): "loras",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
}
_MAX_SHOWN = 12
#: Nodes whose ``image`` lists the server's input folder (where uploads go).
_IMAGE_LOADERS = ("LoadImage", "LoadImageMask")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one node, ready to show."""

    node_id: str
    title: str
    class_type: str
    message: str
    input: str = ""

    def __str__(self) -> str:
        """The problem in words, safe to show whatever the server sent."""
        where = f"node {one_line(self.node_id)}" if self.node_id else "workflow"
        if self.title and self.node_id:
            where += f" “{one_line(self.title)}”"
        if self.class_type and self.class_type != self.title:
            where += f" ({one_line(self.class_type)})"
        return f"{where}: {sanitize(self.message, multiline=True)}"


class InvalidWorkflow(ComfyError):
    """The workflow would be (or was) refused; ``problems`` say where and why."""

    def __init__(self, problems: list[Problem], where: str = "") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the workflow{where} cannot run on this server:\n{lines}")


def _short(value: Any, limit: int = 120) -> str:
    text = one_line(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _files(names: list) -> str:
    names = [_short(n, 80) for n in names]
    if not names:
        return "the folder is empty"
    shown = ", ".join(names[:_MAX_SHOWN])
    more = f" and {len(names) - _MAX_SHOWN} more" if len(names) > _MAX_SHOWN else ""
    return f"the server has: {shown}{more}"


def _options(config: Any, object_info: dict | None, class_type: str, name: str) -> list | None:
    if isinstance(config, list) and config:
        if isinstance(config[0], list):
            return config[0]
        if config[0] == "COMBO" and len(config) > 1 and isinstance(config[1], dict):
            return config[1].get("options")
    if object_info and class_type in object_info:
        section = object_info[class_type].get("input", {})
        found = section.get("required", {}).get(name) or section.get("optional", {}).get(name)
        if found:
            return _options(found, None, class_type, name)
    return None


@dataclass
class _Error:
    """One server error entry, with what its wording needs."""

    kind: str
    name: str
    details: Any
    received: Any
    config: Any
    limits: dict
    extra: dict
    class_type: str
    workflow: dict
    object_info: dict | None
    message: str

    @property
    def wanted(self) -> str:
        return self.config[0] if isinstance(self.config, list) and self.config else "value"


def _not_in_list(e: _Error) -> str:
    options = _options(e.config, e.object_info, e.class_type, e.name) or []
    folder = MODEL_FOLDERS.get((e.class_type, e.name))
    if folder:
        tool = TOOL_FILES.get(str(e.received))
        return (f"{_short(e.name)} {_short(e.received)!r} is not installed in "
                f"models/{folder} on the server; {_files(options)}"
                + (f". {tool.advice()}" if tool is not None else ""))
    if e.class_type in _IMAGE_LOADERS:
        return (f"image {_short(e.received)!r} is not in the server's input folder "
                "(upload it first)")
    return f"{_short(e.name)} {_short(e.received)!r} is not one of: " + \
        ", ".join(_short(o, 40) for o in options[:_MAX_SHOWN])


def _type_mismatch(e: _Error) -> str:
    source = str((e.extra.get("linked_node") or ["?"])[0])
    wanted = e.wanted if e.wanted != "value" else "?"
    return (f"input {_short(e.name)} is connected to node {_short(source)} "
            f"“{_short(title_of(e.workflow, source), 60)}”, which gives "
            f"{_short(e.extra.get('received_type', '?'))}, but it needs {_short(wanted)}")


def _custom_check(e: _Error) -> str:
    if e.class_type in _IMAGE_LOADERS:
        return (f"{_short(e.details)} (the image is not in the server's input folder; "
                "upload it first)")
    return f"rejected by the node's own check: {_short(e.details)}"


#: error type -> its wording
_WORDING: dict[str, Callable[[_Error], str]] = {
    "required_input_missing": lambda e: f"required input {_short(e.name or e.details)} "
                                        "is missing",
    "value_not_in_list": _not_in_list,
    "value_smaller_than_min": lambda e: f"{_short(e.name or e.details)} = "
                                        f"{_short(e.received)} is below the minimum "
                                        f"{_short(e.limits.get('min', '?'))}",
    "value_bigger_than_max": lambda e: f"{_short(e.name or e.details)} = "
                                       f"{_short(e.received)} is above the maximum "
                                       f"{_short(e.limits.get('max', '?'))}",
    "invalid_input_type": lambda e: f"{_short(e.name)} = {_short(e.received)!r} is not a "
                                    f"valid {_short(e.wanted)}",
    "return_type_mismatch": _type_mismatch,
    "exception_during_inner_validation": lambda e: "a link of this node points to a node or "
                                                   "output that does not exist "
                                                   f"({_short(e.details)})",
    "exception_during_validation": lambda e: "could not be validated: a link points to a "
                                             f"missing node ({_short(e.details)})",
    "custom_validation_failed": _custom_check,
    "unknown_node_type": lambda e: f"node type {_short(e.class_type)} is not installed on "
                                   "the server (a custom node? install it, or export the "
                                   "workflow again)",
    "bad_link": lambda e: _short(e.details, 200),
}


def explain_error(error: dict, node_id: str, class_type: str, workflow: dict,
                  object_info: dict | None = None) -> Problem:
    """One entry of ``node_errors[...]["errors"]`` in words."""
    kind = str(error.get("type", ""))
    extra = error.get("extra_info") if isinstance(error.get("extra_info"), dict) else {}
    config = extra.get("input_config")
    limits = config[1] if isinstance(config, list) and len(config) > 1 and \
        isinstance(config[1], dict) else {}
    entry = _Error(kind, str(extra.get("input_name", "") or ""), error.get("details", ""),
                   extra.get("received_value"), config, limits, extra, str(class_type),
                   workflow, object_info, str(error.get("message", kind)))
    wording = _WORDING.get(kind)
    if wording is not None:
        message = wording(entry)
    else:
        message = _short(entry.message) + (f": {_short(entry.details)}"
                                           if entry.details else "")
    return Problem(str(node_id), title_of(workflow, str(node_id)) if str(node_id) in workflow
                   else "", str(class_type), message, entry.name)


def explain_node_errors(node_errors: dict, workflow: dict,
                        object_info: dict | None = None) -> list[Problem]:
    problems = []
    for node_id, entry in (node_errors or {}).items():
        if not isinstance(entry, dict):
            continue
        class_type = str(entry.get("class_type") or workflow.get(node_id, {}).get("class_type", ""))
        for error in entry.get("errors") or []:
            if isinstance(error, dict):
                problems.append(explain_error(error, str(node_id), class_type, workflow,
                                              object_info))
    return problems


def explain_rejection(status: int, body: Any, workflow: dict,
                      object_info: dict | None = None) -> list[Problem]:
    """A refused POST /prompt (400 JSON, or the 500 text ComfyUI gives for broken JSON)."""
    if not isinstance(body, dict):
        return [Problem("", "", "", f"the server answered HTTP {status}: {_short(body)}")]
    problems = explain_node_errors(body.get("node_errors") or {}, workflow, object_info)
    if problems:
        return problems
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    kind = str(error.get("type", ""))
    details = str(error.get("details", ""))
    node_id = ""
    if details.startswith("Node ID '#") and details.endswith("'"):
        node_id = details[len("Node ID '#"):-1]
    class_type = str(workflow.get(node_id, {}).get("class_type", "")) if node_id else ""
    if kind == "invalid_prompt" and "does not exist" in str(error.get("message", "")):
        return [explain_error({"type": "unknown_node_type"}, node_id, class_type, workflow)]
    if kind == "invalid_prompt":
        message = _short(error.get("message", "invalid workflow"))
    elif kind in ("prompt_no_outputs",):
        message = "the workflow has no output node (add a SaveImage or PreviewImage)"
    elif kind == "no_prompt":
        message = "the request carried no workflow"
    else:
        message = _short(error.get("message") or kind or f"HTTP {status}")
    title = title_of(workflow, node_id) if node_id in workflow else ""
    return [Problem(node_id, title, class_type, message)]


def explain_execution_error(error: ExecutionError, workflow: dict) -> Problem:
    kind = error.exception_type.rsplit(".", 1)[-1] or "error"
    return Problem(error.node_id, title_of(workflow, error.node_id)
                   if error.node_id in workflow else "", error.node_type,
                   f"failed while running: {_short(kind)}: "
                   f"{_short(error.exception_message.strip(), 300)}")


def explain_interrupted(event: ExecutionInterrupted, workflow: dict) -> Problem:
    return Problem(event.node_id, title_of(workflow, event.node_id)
                   if event.node_id in workflow else "", event.node_type,
                   "interrupted before it finished")


# -- the local check ----------------------------------------------------------------------

def _convert(kind: str, value: Any) -> Any:
    if kind == "INT":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value} is not a whole number")
        return int(value)
    if kind == "FLOAT":
        return float(value)
    if kind == "BOOLEAN":
        return bool(value)
    return str(value)


def check_workflow(workflow: dict, object_info: dict, *,
                   uploaded: set[str] | frozenset[str] = frozenset()) -> list[Problem]:
    """What the server would refuse in ``workflow``, as problems (empty: it would pass).
    ``uploaded`` names input images that will be there by the time it runs."""
    checker = _Checker(workflow, object_info, uploaded)
    has_output = False
    for node_id, node in workflow.items():
        class_type = node.get("class_type")
        if class_type not in object_info:
            checker.add(node_id, {"type": "unknown_node_type"})
            continue
        schema = object_info[class_type]
        has_output = has_output or bool(schema.get("output_node"))
        checker.check_node(node_id, node, schema)
    problems = explain_node_errors(checker.node_errors, workflow, object_info)
    if not has_output:
        problems.append(Problem("", "", "", "the workflow has no output node (add a SaveImage "
                                "or PreviewImage)"))
    return problems


class _Checker:
    """Collects what the server would say, in its own ``node_errors`` shape."""

    def __init__(self, workflow: dict, object_info: dict, uploaded) -> None:
        self.workflow, self.object_info, self.uploaded = workflow, object_info, uploaded
        self.node_errors: dict[str, dict] = {}

    def add(self, node_id: str, error: dict) -> None:
        node = self.workflow.get(node_id) or {}
        entry = self.node_errors.setdefault(node_id, {
            "errors": [], "dependent_outputs": [], "class_type": node.get("class_type", "")})
        entry["errors"].append(error)

    def check_node(self, node_id: str, node: dict, schema: dict) -> None:
        inputs = node.get("inputs") or {}
        required = schema.get("input", {}).get("required", {})
        optional = schema.get("input", {}).get("optional", {})
        for name in list(required) + [o for o in optional if o in inputs]:
            config = required.get(name) or optional[name]
            if name not in inputs:
                self.add(node_id, {"type": "required_input_missing", "details": name,
                                   "extra_info": {"input_name": name}})
            elif is_link(inputs[name]):
                self.check_link(node_id, name, config, inputs[name])
            else:
                self.check_value(node_id, node.get("class_type"), name, config, inputs[name])

    def check_link(self, node_id: str, name: str, config: list, value: list) -> None:
        source, index = value
        if source not in self.workflow:
            self.add(node_id, {"type": "bad_link", "details": f"input {name} links to node "
                               f"{source}, which is not in the workflow",
                               "extra_info": {"input_name": name}})
            return
        source_type = self.workflow[source].get("class_type")
        outputs = self.object_info.get(source_type, {}).get("output")
        if outputs is None:
            return
        if not 0 <= index < len(outputs):
            self.add(node_id, {"type": "bad_link", "details": f"input {name} uses output "
                               f"{index} of node {source}, which has only {len(outputs)}",
                               "extra_info": {"input_name": name}})
            return
        kind, received = config[0], outputs[index]
        if isinstance(kind, str) and kind not in ("COMBO", "*") and received != "*" \
                and not set(str(received).split(",")) & set(kind.split(",")):
            self.add(node_id, {"type": "return_type_mismatch", "extra_info": {
                "input_name": name, "input_config": config, "received_type": received,
                "linked_node": value}})

    def check_value(self, node_id: str, class_type: str, name: str, config: list,
                    value: Any) -> None:
        kind = config[0]
        extra = {"input_name": name, "input_config": config, "received_value": value}
        if class_type in _IMAGE_LOADERS and name == "image":
            options = _options(config, None, class_type, name) or []
            if value not in options and value not in self.uploaded:
                self.add(node_id, {"type": "value_not_in_list", "extra_info": extra})
        elif isinstance(kind, str) and kind in ("INT", "FLOAT", "BOOLEAN", "STRING"):
            self.check_number(node_id, name, config, value)
        else:
            options = _options(config, None, class_type, name)
            if options is not None and value not in options:
                self.add(node_id, {"type": "value_not_in_list", "extra_info": extra})

    def check_number(self, node_id: str, name: str, config: list, value: Any) -> None:
        kind = config[0]
        limits = config[1] if len(config) > 1 and isinstance(config[1], dict) else {}
        try:
            converted = _convert(kind, value)
        except (TypeError, ValueError):
            self.add(node_id, {"type": "invalid_input_type", "extra_info": {
                "input_name": name, "input_config": config, "received_value": value}})
            return
        if kind not in ("INT", "FLOAT"):
            return
        extra = {"input_name": name, "input_config": config, "received_value": converted}
        if "min" in limits and converted < limits["min"]:
            self.add(node_id, {"type": "value_smaller_than_min", "extra_info": extra})
        if "max" in limits and converted > limits["max"]:
            self.add(node_id, {"type": "value_bigger_than_max", "extra_info": dict(extra)})
