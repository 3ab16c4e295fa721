"""The FLUX tools as library data: read with checks, written back with comments kept, and
edited as text in the form."""

from __future__ import annotations

from workbench.fields import FORM_BY_KEY, field_text, set_field
from workbench.library import load_library
from workbench.presets import effective_params
from workbench.spec import (
    Outpaint,
    PromptSpec,
    Redux,
    Tools,
    tool_guidance,
    tools_problem,
    unset_default,
)
from workbench.specdata import spec_from_dict, spec_from_table, spec_to_dict

LIBRARY = '''format = 1
title = "Tools"

[[prompts]]
# the vase goes
name = "fill"
subject = "a pot of tulips"
source_image = "room.png"
mask = "room-mask.png"   # white = repaint
mask_grow = 8
outpaint = { left = 128, right = 64 }
control = "depth"
control_image = "depth.png"
control_strength = 0.85
redux = [
    { image = "a.png", strength = 0.5 },  # keep this comment
    "b.png",
]
'''


def test_tools_read_from_a_library_and_round_trip_with_comments(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(LIBRARY, encoding="utf-8")
    library = load_library(path)
    assert library.problems == []
    tools = library.prompts[0].tools
    assert tools == Tools(mask="room-mask.png", mask_grow=8, outpaint=Outpaint(128, 0, 64, 0),
                          control="depth", control_image="depth.png", control_strength=0.85,
                          redux=[Redux("a.png", 0.5), Redux("b.png", 1.0)])
    assert library.render() == LIBRARY   # unchanged: byte for byte
    library.prompts[0].tools.mask_feather = 12
    library.prompts[0].tools.redux[0].strength = 0.3
    text = library.render()
    assert "mask_feather = 12" in text and "# white = repaint" in text
    assert "strength = 0.3" in text and "# the vase goes" in text
    again = spec_from_dict(spec_to_dict(library.prompts[0]))
    assert again.tools == library.prompts[0].tools
    # new tables are written spaced, as the rest of a hand-written library
    library.prompts[0].tools.outpaint = Outpaint(left=32, bottom=16)
    library.prompts[0].tools.redux = [Redux("c.png", 0.25)]
    text = library.render()
    assert "outpaint = { left = 32, bottom = 16 }\n" in text
    assert 'redux = [{ image = "c.png", strength = 0.25 }]\n' in text
    assert load_library_text(tmp_path, text).prompts[0].tools == library.prompts[0].tools


def load_library_text(folder, text: str):
    path = folder / "again.toml"
    path.write_text(text, encoding="utf-8")
    return load_library(path)


def test_bad_tool_values_are_named_and_ignored_never_raised():
    problems: list[str] = []
    spec = spec_from_table({"name": "x", "mask": 3, "control": "pose",
                            "control_strength": float("nan"), "mask_grow": 10_000,
                            "mask_feather": True, "outpaint": {"left": -4},
                            "redux": [{"strength": 0.5}, {"image": "ok.png", "strength": 99}]},
                           "lib.toml: x", problems)
    text = "\n".join(problems)
    for key in ("`mask`", "`control`", "`control_strength`", "`mask_grow`",
                "`mask_feather`", "`outpaint.left`", "`redux[1]`", "`redux[2].strength`"):
        assert key in text, key
    assert spec.tools.redux == [Redux("ok.png", 1.0)] and spec.tools.outpaint is None
    problems.clear()
    spec_from_table({"name": "y", "outpaint": {"up": 4}}, "y", problems)
    assert "unknown side(s) 'up'" in problems[0]


def test_copies_do_not_share_tools_and_equality_sees_them():
    spec = PromptSpec(name="a", tools=Tools(outpaint=Outpaint(left=16), redux=[Redux("r.png")]))
    copy = spec.copy()
    copy.tools.redux[0].strength = 0.2
    copy.tools.outpaint.left = 32
    assert spec.tools.redux[0].strength == 1.0 and spec.tools.outpaint.left == 16
    assert copy != spec and spec.copy() == spec


def test_form_fields_parse_and_show_the_tools():
    spec = PromptSpec(name="a")
    assert set_field(spec, "outpaint", "left=256, right=128") is None
    assert spec.tools.outpaint == Outpaint(256, 0, 128, 0)
    assert field_text(spec, "outpaint") == "left=256 right=128"
    assert set_field(spec, "outpaint", "64") is None and spec.tools.outpaint.sides == (64,) * 4
    assert "write sides as left=256" in set_field(spec, "outpaint", "up=3")
    assert spec.tools.outpaint.sides == (64,) * 4  # a bad edit changes nothing
    assert set_field(spec, "redux", "a.png:0.6; C:/refs/b.png; c.png:1") is None
    assert spec.tools.redux == [Redux("a.png", 0.6), Redux("C:/refs/b.png"), Redux("c.png")]
    assert field_text(spec, "redux") == "a.png:0.6; C:/refs/b.png; c.png"
    assert "must be canny or depth" in set_field(spec, "control", "pose")
    assert set_field(spec, "control", " Canny ") is None and spec.tools.control == "canny"
    assert "from -512 to 512" in set_field(spec, "mask_grow", "900")
    assert "from 0 to 2" in set_field(spec, "control_strength", "3")
    for key in ("mask", "control_image", "redux", "source_image"):
        assert FORM_BY_KEY[key].completes_paths, key


def test_tool_guidance_defaults_and_what_cannot_run():
    fill = PromptSpec(name="f", source_image="s.png", tools=Tools(mask="m.png"))
    depth = PromptSpec(name="d", tools=Tools(control="depth", control_image="d.png"))
    redux = PromptSpec(name="r", tools=Tools(redux=[Redux("r.png")]))
    assert (tool_guidance(fill), tool_guidance(depth), tool_guidance(redux)) == (30.0, 10.0, None)
    assert effective_params(fill).guidance == 30.0 and effective_params(depth).guidance == 10.0
    assert effective_params(redux).guidance == 3.5
    assert effective_params(fill).denoise == 1.0   # Fill is no img2img
    assert tools_problem(fill) is None
    assert "needs a control_image" in tools_problem(PromptSpec(name="x", tools=Tools(
        control="canny")))
    schnell = fill.copy(model="schnell")
    assert "dev models" in tools_problem(schnell)
    assert tools_problem(redux.copy(model="schnell")) is None


def test_unset_parameters_show_what_a_tool_runs_with():
    fill = PromptSpec(name="f", source_image="s.png", tools=Tools(mask="m.png"))
    wider = PromptSpec(name="o", source_image="s.png", tools=Tools(outpaint=Outpaint(64)))
    canny = PromptSpec(name="c", tools=Tools(control="canny", control_image="c.png"))
    depth = PromptSpec(name="d", tools=Tools(control="depth", control_image="d.png"))
    redux = PromptSpec(name="r", tools=Tools(redux=[Redux("r.png")]))
    img2img = PromptSpec(name="i", source_image="s.png")
    assert [unset_default(s, "guidance") for s in (fill, wider, canny, depth, redux)] == [
        30.0, 30.0, 30.0, 10.0, 3.5]
    assert unset_default(fill, "width") == "the source image's"
    assert unset_default(wider, "height") == "the source image's plus the padding"
    assert unset_default(depth, "width") == "the control image's"
    assert unset_default(redux, "width") == 1024     # Redux makes a text-to-image size
    assert unset_default(img2img, "denoise") == 0.7 and unset_default(fill, "denoise") == 1.0
    assert unset_default(fill.copy(model="schnell"), "steps") == 4
    # what the run uses agrees with what the editor shows
    for spec in (fill, canny, depth, redux, img2img):
        assert effective_params(spec).guidance == unset_default(spec, "guidance")
        assert effective_params(spec).denoise == unset_default(spec, "denoise")
