"""ComfyUI's ``validate_prompt``, run against the recorded node set.

It follows the server's own rules (execution.py of 0.3.64) so the fake rejects exactly
what a real server rejects, with the same error shapes as the recorded ``error_*.json``:
unknown or missing class_type, no output node, then per output node a depth-first check
of every input — required inputs present, links to an existing node and output of a
matching type, values converted to INT/FLOAT/STRING/BOOLEAN (numeric strings pass), min
and max, combo lists, and the custom checks of the image loaders (the file must be in
the input folder).  Exceptions inside the walk become ``exception_during_*`` errors, as
on the server.  An output whose graph is invalid is dropped; the prompt is refused only
when no output is left.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Nodes with a custom input check (VALIDATE_INPUTS): the image must exist.
CUSTOM_VALIDATED = {"LoadImage": ("image",), "LoadImageMask": ("image",),
                    "LoadImageOutput": ("image",)}
CONVERTERS: dict[str, Callable[[Any], Any]] = {"INT": int, "FLOAT": float, "STRING": str,
                                               "BOOLEAN": bool}

FileExists = Callable[[str], bool]


@dataclass
class Rejected:
    """A whole-prompt refusal: HTTP status and JSON body."""

    status: int
    body: dict


def error(kind: str, message: str, details: str = "") -> Rejected:
    return Rejected(400, {"error": {"type": kind, "message": message, "details": details,
                                    "extra_info": {}}, "node_errors": {}})


def is_output_node(schema: dict | None) -> bool:
    return bool(schema and schema.get("output_node"))


def validate_prompt(prompt: dict, info: dict, file_exists: FileExists
                    ) -> Rejected | tuple[list[str], dict]:
    """(outputs to run, node_errors) or a `Rejected` with the server's error body."""
    outputs: list[str] = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node:
            return error("invalid_prompt", "Cannot execute because a node is missing the "
                         "class_type property.", f"Node ID '#{node_id}'")
        class_type = node["class_type"]
        if not isinstance(class_type, str) or class_type not in info:
            return error("invalid_prompt", f"Cannot execute because node {class_type} does "
                         "not exist.", f"Node ID '#{node_id}'")
        if is_output_node(info[class_type]):
            outputs.append(node_id)
    if not outputs:
        return error("prompt_no_outputs", "Prompt has no outputs")

    checker = _Checker(prompt, info, file_exists)
    good: list[str] = []
    node_errors: dict[str, dict] = {}
    for out in outputs:
        try:
            valid = checker.node(out)
        except Exception as exc:
            valid = False
            checker.validated[out] = (False, [{
                "type": "exception_during_validation",
                "message": "Exception when validating node", "details": str(exc),
                "extra_info": {"exception_type": _type_name(exc),
                               "traceback": traceback.format_tb(exc.__traceback__)}}])
        if valid:
            good.append(out)
            continue
        for node_id, (ok, reasons) in checker.validated.items():
            # nodes downstream of a bad one are invalid without errors of their own
            if ok or not reasons:
                continue
            entry = node_errors.setdefault(node_id, {
                "errors": reasons, "dependent_outputs": [],
                "class_type": prompt[node_id]["class_type"]})
            entry["dependent_outputs"].append(out)
    if not good:
        return Rejected(400, {"error": {"type": "prompt_outputs_failed_validation",
                                        "message": "Prompt outputs failed validation",
                                        "details": "", "extra_info": {}},
                              "node_errors": node_errors})
    return good, node_errors


class _Checker:
    """validate_inputs, memoised per node like the server's ``validated`` dict."""

    def __init__(self, prompt: dict, info: dict, file_exists: FileExists) -> None:
        self.prompt, self.info, self.file_exists = prompt, info, file_exists
        self.validated: dict[str, tuple[bool, list]] = {}

    def node(self, node_id: str) -> bool:
        if node_id in self.validated:
            return self.validated[node_id][0]
        node = self.prompt[node_id]
        inputs = node["inputs"]            # a node without "inputs" raises, as on the server
        class_type = node["class_type"]
        schema = self.info[class_type]["input"]
        required = schema.get("required") or {}
        optional = schema.get("optional") or {}
        custom = CUSTOM_VALIDATED.get(class_type, ())
        errors: list[dict] = []
        valid = True
        for name in [*required, *[o for o in optional if o not in required]]:
            declared = required.get(name) or optional[name]
            if not self._input(name, declared, inputs, required, custom, errors):
                valid = False
        errors.extend(self._custom_errors(inputs, custom))
        valid = valid and not errors
        self.validated[node_id] = (valid, errors)
        return valid

    def _input(self, name: str, declared: list, inputs: dict, required: dict,
               custom: tuple[str, ...], errors: list) -> bool:
        """Check one declared input, adding what is wrong to `errors`; False when it is a
        link that is bad or leads to an invalid node."""
        kind = declared[0]
        extra = declared[1] if len(declared) > 1 else {}
        config = [kind, extra]   # the server quotes (type, options) in its errors
        if name not in inputs:
            if name in required:
                errors.append({"type": "required_input_missing",
                               "message": "Required input is missing", "details": name,
                               "extra_info": {"input_name": name}})
            return True
        value = inputs[name]
        if isinstance(value, list):
            return self._link(name, value, config, errors)
        problem = _value_error(name, value, kind, extra, config, name in custom)
        if problem:
            errors.append(problem)
        return True

    def _custom_errors(self, inputs: dict, custom: tuple[str, ...]) -> list[dict]:
        """The image loaders' own check: a constant image name must be a stored file."""
        errors = []
        for name in custom:
            if name in inputs and not isinstance(inputs[name], list) \
                    and not self.file_exists(str(inputs[name])):
                errors.append({"type": "custom_validation_failed",
                               "message": "Custom validation failed for node",
                               "details": f"{name} - Invalid image file: {inputs[name]}",
                               "extra_info": {"input_name": name}})
        return errors

    def _link(self, name: str, value: list, config: list, errors: list) -> bool:
        if len(value) != 2:
            errors.append({"type": "bad_linked_input",
                           "message": "Bad linked input, must be a length-2 list of "
                                      "[node_id, slot_index]", "details": name,
                           "extra_info": {"input_name": name, "input_config": config,
                                          "received_value": value}})
            return False
        source, index = value
        source_class = self.prompt[source]["class_type"]   # KeyError escapes, as on the server
        received = tuple(self.info[source_class]["output"])[index]  # a bad index too
        if not types_match(received, config[0]):
            errors.append({
                "type": "return_type_mismatch",
                "message": "Return type mismatch between linked nodes",
                "details": f"{name}, received_type({received}) mismatch "
                           f"input_type({config[0]})",
                "extra_info": {"input_name": name, "input_config": config,
                               "received_type": received, "linked_node": value}})
            return False
        try:
            return self.node(source)
        except Exception as exc:
            self.validated[source] = (False, [{
                "type": "exception_during_inner_validation",
                "message": "Exception when validating inner node", "details": str(exc),
                "extra_info": {"input_name": name, "input_config": config,
                               "exception_message": str(exc),
                               "exception_type": _type_name(exc),
                               "traceback": traceback.format_tb(exc.__traceback__),
                               "linked_node": value}}])
            return False


def _value_error(name: str, value: Any, kind: Any, extra: dict, config: list,
                 custom_checked: bool) -> dict | None:
    """What is wrong with a constant input: not convertible to its type, or (unless the
    node checks it itself) out of range or not in its list."""
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if isinstance(kind, str) and kind in CONVERTERS:
        try:
            value = CONVERTERS[kind](value)
        except Exception as exc:
            return {"type": "invalid_input_type",
                    "message": f"Failed to convert an input value to a {kind} value",
                    "details": f"{name}, {value}, {exc}",
                    "extra_info": {"input_name": name, "input_config": config,
                                   "received_value": value,
                                   "exception_message": str(exc)}}
    if custom_checked:
        return None
    return _range_or_list(name, value, kind, extra, config)


def _range_or_list(name: str, value: Any, kind: Any, extra: dict, config: list) -> dict | None:
    if "min" in extra and value < extra["min"]:
        return {"type": "value_smaller_than_min",
                "message": f"Value {value} smaller than min of {extra['min']}",
                "details": name, "extra_info": {"input_name": name, "input_config": config,
                                                "received_value": value}}
    if "max" in extra and value > extra["max"]:
        return {"type": "value_bigger_than_max",
                "message": f"Value {value} bigger than max of {extra['max']}",
                "details": name, "extra_info": {"input_name": name, "input_config": config,
                                                "received_value": value}}
    if isinstance(kind, list) or kind == "COMBO":
        options = kind if isinstance(kind, list) else extra.get("options", [])
        if value not in options:
            shown, config_out = (f"(list of length {len(options)})", None) \
                if len(options) > 20 else (str(options), config)
            return {"type": "value_not_in_list", "message": "Value not in list",
                    "details": f"{name}: '{value}' not in {shown}",
                    "extra_info": {"input_name": name, "input_config": config_out,
                                   "received_value": value}}
    return None


def types_match(received: Any, wanted: Any) -> bool:
    """The server's validate_node_input: equal, ``*`` on either side, or overlapping
    comma-separated type lists; a combo list input takes no link of another type."""
    if received == wanted or "*" in (received, wanted):
        return True
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in wanted.split(",")})


def _type_name(exc: BaseException) -> str:
    module = type(exc).__module__
    name = type(exc).__qualname__
    return name if module == "builtins" else f"{module}.{name}"
