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

from dataclasses import dataclass
from typing import Any

from ..textsafe import one_line
from .client import ComfyError
from .events import ExecutionError, ExecutionInterrupted
from .graph import is_link, title_of

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


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one node, ready to show."""

    node_id: str
    title: str
    class_type: str
    message: str
    input: str = ""

    def __str__(self) -> str:
        where = f"node {self.node_id}" if self.node_id else "workflow"
        if self.title and self.node_id:
            where += f" “{one_line(self.title)}”"
        if self.class_type and self.class_type != self.title:
            where += f" ({one_line(self.class_type)})"
        return f"{where}: {self.message}"


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


def explain_error(error: dict, node_id: str, class_type: str, workflow: dict,
                  object_info: dict | None = None) -> Problem:
    """One entry of ``node_errors[...]["errors"]`` in words."""
    kind = str(error.get("type", ""))
    extra = error.get("extra_info") if isinstance(error.get("extra_info"), dict) else {}
    name = str(extra.get("input_name", "") or "")
    details = error.get("details", "")
    received = extra.get("received_value")
    config = extra.get("input_config")
    limits = config[1] if isinstance(config, list) and len(config) > 1 and \
        isinstance(config[1], dict) else {}
    if kind == "required_input_missing":
        message = f"required input {_short(name or details)} is missing"
    elif kind == "value_not_in_list":
        options = _options(config, object_info, class_type, name) or []
        folder = MODEL_FOLDERS.get((class_type, name))
        if folder:
            message = (f"{_short(name)} {_short(received)!r} is not installed in "
                       f"models/{folder} on the server; {_files(options)}")
        elif class_type == "LoadImage":
            message = (f"image {_short(received)!r} is not in the server's input folder "
                       "(upload it first)")
        else:
            message = f"{_short(name)} {_short(received)!r} is not one of: " + \
                ", ".join(_short(o, 40) for o in options[:_MAX_SHOWN])
    elif kind == "value_smaller_than_min":
        message = f"{_short(name or details)} = {_short(received)} is below the minimum " \
                  f"{_short(limits.get('min', '?'))}"
    elif kind == "value_bigger_than_max":
        message = f"{_short(name or details)} = {_short(received)} is above the maximum " \
                  f"{_short(limits.get('max', '?'))}"
    elif kind == "invalid_input_type":
        wanted = config[0] if isinstance(config, list) and config else "value"
        message = f"{_short(name)} = {_short(received)!r} is not a valid {_short(wanted)}"
    elif kind == "return_type_mismatch":
        linked = extra.get("linked_node") or ["?"]
        source = str(linked[0])
        wanted = config[0] if isinstance(config, list) and config else "?"
        message = (f"input {_short(name)} is connected to node {_short(source)} "
                   f"“{_short(title_of(workflow, source), 60)}”, which gives "
                   f"{_short(extra.get('received_type', '?'))}, but it needs {_short(wanted)}")
    elif kind == "exception_during_inner_validation":
        message = (f"a link of this node points to a node or output that does not exist "
                   f"({_short(details)})")
    elif kind == "exception_during_validation":
        message = f"could not be validated: a link points to a missing node ({_short(details)})"
    elif kind == "custom_validation_failed":
        if class_type == "LoadImage":
            message = (f"{_short(details)} (the image is not in the server's input folder; "
                       "upload it first)")
        else:
            message = f"rejected by the node's own check: {_short(details)}"
    elif kind == "unknown_node_type":
        message = (f"node type {_short(class_type)} is not installed on the server "
                   "(a custom node? install it, or export the workflow again)")
    elif kind == "bad_link":
        message = _short(details, 200)
    else:
        message = f"{_short(error.get('message', kind))}" + \
            (f": {_short(details)}" if details else "")
    return Problem(str(node_id), title_of(workflow, str(node_id)) if str(node_id) in workflow
                   else "", str(class_type), message, name)


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
    node_errors: dict[str, dict] = {}

    def add(node_id: str, error: dict) -> None:
        node = workflow.get(node_id) or {}
        entry = node_errors.setdefault(node_id, {"errors": [], "dependent_outputs": [],
                                                 "class_type": node.get("class_type", "")})
        entry["errors"].append(error)

    has_output = False
    for node_id, node in workflow.items():
        class_type = node.get("class_type")
        if class_type not in object_info:
            add(node_id, {"type": "unknown_node_type"})
            continue
        schema = object_info[class_type]
        has_output = has_output or bool(schema.get("output_node"))
        inputs = node.get("inputs") or {}
        required = schema.get("input", {}).get("required", {})
        optional = schema.get("input", {}).get("optional", {})
        for name in list(required) + [o for o in optional if o in inputs]:
            config = required.get(name) or optional[name]
            kind = config[0]
            limits = config[1] if len(config) > 1 and isinstance(config[1], dict) else {}
            if name not in inputs:
                add(node_id, {"type": "required_input_missing", "details": name,
                              "extra_info": {"input_name": name}})
                continue
            value = inputs[name]
            if is_link(value):
                source, index = value
                if source not in workflow:
                    add(node_id, {"type": "bad_link", "details":
                                  f"input {name} links to node {source}, which is not in the "
                                  "workflow", "extra_info": {"input_name": name}})
                    continue
                source_type = workflow[source].get("class_type")
                outputs = object_info.get(source_type, {}).get("output")
                if outputs is None:
                    continue
                if not 0 <= index < len(outputs):
                    add(node_id, {"type": "bad_link", "details":
                                  f"input {name} uses output {index} of node {source}, which "
                                  f"has only {len(outputs)}", "extra_info": {"input_name": name}})
                    continue
                received = outputs[index]
                if isinstance(kind, str) and kind not in ("COMBO", "*") and received != "*" \
                        and not set(str(received).split(",")) & set(kind.split(",")):
                    add(node_id, {"type": "return_type_mismatch", "extra_info": {
                        "input_name": name, "input_config": config, "received_type": received,
                        "linked_node": value}})
                continue
            if class_type == "LoadImage" and name == "image":
                options = _options(config, None, class_type, name) or []
                if value not in options and value not in uploaded:
                    add(node_id, {"type": "value_not_in_list", "extra_info": {
                        "input_name": name, "input_config": config, "received_value": value}})
                continue
            if isinstance(kind, str) and kind in ("INT", "FLOAT", "BOOLEAN", "STRING"):
                try:
                    converted = _convert(kind, value)
                except (TypeError, ValueError):
                    add(node_id, {"type": "invalid_input_type", "extra_info": {
                        "input_name": name, "input_config": config, "received_value": value}})
                    continue
                if kind in ("INT", "FLOAT"):
                    if "min" in limits and converted < limits["min"]:
                        add(node_id, {"type": "value_smaller_than_min", "extra_info": {
                            "input_name": name, "input_config": config,
                            "received_value": converted}})
                    if "max" in limits and converted > limits["max"]:
                        add(node_id, {"type": "value_bigger_than_max", "extra_info": {
                            "input_name": name, "input_config": config,
                            "received_value": converted}})
            else:
                options = _options(config, None, class_type, name)
                if options is not None and value not in options:
                    add(node_id, {"type": "value_not_in_list", "extra_info": {
                        "input_name": name, "input_config": config, "received_value": value}})
    problems = explain_node_errors(node_errors, workflow, object_info)
    if not has_output:
        problems.append(Problem("", "", "", "the workflow has no output node (add a SaveImage "
                                "or PreviewImage)"))
    return problems
