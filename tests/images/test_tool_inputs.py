"""The FLUX tools' images checked before anything is sent: masks, sizes, padding, and the
inputs of a spec by role."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, ImageDraw

from tests.fakes.comfy_server import decompression_bomb_png
from tests.tool_library import mask_png, png
from workbench.images.source import SourceImageError, check_source
from workbench.images.tool_inputs import (
    OutpaintError,
    ToolImageError,
    control_notes,
    load_mask,
    plan_outpaint,
    plan_tool_size,
)
from workbench.runs.inputs import InputCache, InputError, is_image_role, load_inputs
from workbench.spec import Outpaint, PromptSpec, Redux, Tools


def _grey(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_mask_becomes_one_grey_channel_of_the_source_size(tmp_path):
    path = tmp_path / "m.png"
    path.write_bytes(mask_png((200, 100), (50, 25, 149, 74)))
    checked = load_mask(path, (200, 100))
    grey = _grey(checked.image.data)
    assert grey.mode == "L" and grey.size == (200, 100)
    assert grey.getpixel((100, 50)) == 255 and grey.getpixel((5, 5)) == 0
    assert checked.repainted == pytest.approx(0.25, abs=0.01)
    assert checked.notes == [] and checked.image.upload_name == "m.png"


def test_a_transparent_brush_mask_and_a_coloured_one_are_read_by_brightness(tmp_path):
    rgba = Image.new("RGBA", (64, 64), (255, 255, 255, 0))          # transparent white
    ImageDraw.Draw(rgba).rectangle((16, 16, 47, 47), fill=(255, 255, 255, 255))
    rgba.save(tmp_path / "brush.png")
    checked = load_mask(tmp_path / "brush.png", (64, 64))
    grey = _grey(checked.image.data)
    assert grey.getpixel((0, 0)) == 0 and grey.getpixel((32, 32)) == 255
    assert any("transparent parts count as black" in n for n in checked.notes)
    red = Image.new("RGB", (64, 64), (0, 0, 0))
    ImageDraw.Draw(red).rectangle((0, 0, 31, 63), fill=(255, 255, 255))
    ImageDraw.Draw(red).rectangle((40, 0, 63, 63), fill=(255, 0, 0))
    red.save(tmp_path / "red.png")
    checked = load_mask(tmp_path / "red.png", (64, 64))
    assert any("has colours" in n for n in checked.notes)
    assert _grey(checked.image.data).getpixel((50, 10)) < 128  # pure red is dark: kept


def test_mask_size_resized_with_a_note_or_refused_for_another_shape(tmp_path):
    (tmp_path / "half.png").write_bytes(mask_png((100, 50)))
    checked = load_mask(tmp_path / "half.png", (200, 100))
    assert checked.image.size == (200, 100)
    assert checked.notes == ["the mask is 100x50, the source 200x100: the mask was resized "
                             "to fit"]
    (tmp_path / "square.png").write_bytes(mask_png((100, 100)))
    with pytest.raises(ToolImageError) as caught:
        load_mask(tmp_path / "square.png", (200, 100))
    assert str(caught.value).startswith("mask ") and "a different shape" in str(caught.value)


def test_empty_and_all_white_masks_are_refused(tmp_path):
    (tmp_path / "black.png").write_bytes(png((64, 64), 0, "L"))
    (tmp_path / "white.png").write_bytes(png((64, 64), 255, "L"))
    with pytest.raises(ToolImageError, match="is empty"):
        load_mask(tmp_path / "black.png", (64, 64))
    with pytest.raises(ToolImageError, match="all white"):
        load_mask(tmp_path / "white.png", (64, 64))


def test_a_rotated_mask_is_turned_upright_like_its_source(tmp_path):
    # stored 100x50 with EXIF "rotate 90": the user sees it 50x100, as ComfyUI will
    image = Image.new("L", (100, 50), 0)
    ImageDraw.Draw(image).rectangle((0, 0, 49, 49), fill=255)
    exif = Image.Exif()
    exif[0x0112] = 6
    image.convert("RGB").save(tmp_path / "turned.jpg", exif=exif)
    checked = load_mask(tmp_path / "turned.jpg", (50, 100))
    assert checked.image.size == (50, 100) and checked.notes == []


@pytest.mark.parametrize("content, why", [
    (b"", "empty"), (b"not an image at all", "not an image file"),
    (png((64, 64))[:60], "damaged or truncated"),
])
def test_corrupt_mask_files_name_the_mask(tmp_path, content, why):
    (tmp_path / "bad.png").write_bytes(content)
    with pytest.raises(ToolImageError) as caught:
        load_mask(tmp_path / "bad.png", (64, 64))
    assert why in str(caught.value) and str(caught.value).startswith("mask ")


def test_a_fifo_or_folder_as_an_image_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "src.png").write_bytes(png((64, 64)))
    for name in ("pipe.png", "folder.png"):
        spec = PromptSpec(name="t", subject="x", tools=Tools(control="canny",
                                                             control_image=name))
        with pytest.raises(ToolImageError) as caught:
            load_inputs(spec, tmp_path)
        assert "control image" in str(caught.value) and "not a regular file" in str(caught.value)


def test_inputs_by_role_with_their_notes_and_a_cache(tmp_path):
    (tmp_path / "src.png").write_bytes(png((320, 240)))
    (tmp_path / "m.png").write_bytes(mask_png((160, 120)))
    (tmp_path / "ref.png").write_bytes(png((100, 100), (200, 40, 40)))
    spec = PromptSpec(name="t", subject="x", source_image="src.png",
                      tools=Tools(mask="m.png", redux=[Redux("ref.png"), Redux("ref.png", 0.4)]))
    cache = InputCache()
    inputs = load_inputs(spec, tmp_path, cache=cache)
    assert set(inputs.images) == {"source", "mask", "redux_1", "redux_2"}
    assert inputs.images["mask"].size == (320, 240) and inputs.sizes["source"] == (320, 240)
    assert any("resized" in note for note in inputs.notes)
    again = load_inputs(spec, tmp_path, cache=cache)
    assert again.images["redux_1"] is inputs.images["redux_1"]   # read once
    assert all(is_image_role(role) for role in inputs.images)
    assert not is_image_role("redux_0") and not is_image_role("style")
    with pytest.raises(InputError, match="no source_image"):
        load_inputs(PromptSpec(name="t", tools=Tools(mask="m.png")), tmp_path)
    with pytest.raises(ToolImageError, match="Redux reference .*does not exist"):
        load_inputs(PromptSpec(name="t", tools=Tools(redux=[Redux("gone.png")])), tmp_path)
    with pytest.raises(SourceImageError, match="source image"):
        load_inputs(PromptSpec(name="t", source_image="gone.png"), tmp_path)


def test_tool_sizes_snap_to_16_and_large_images_fit_about_1mp():
    assert (plan_tool_size((768, 512)).width, plan_tool_size((768, 512)).height) == (768, 512)
    snapped = plan_tool_size((1000, 700))
    assert (snapped.width, snapped.height) == (992, 704) and "snapped" in snapped.notes[0]
    big = plan_tool_size((4000, 3000))
    assert big.width * big.height <= 1.1 * 2**20 and big.width % 16 == big.height % 16 == 0
    asked = plan_tool_size((512, 512), (1024, None))
    assert "requested size 1024x? was not applied" in asked.notes[0]


def test_outpaint_padding_snaps_and_stays_within_what_flux_makes():
    plan = plan_outpaint((1024, 768), Outpaint(left=100, top=7, right=0, bottom=250))
    assert (plan.left, plan.top, plan.right, plan.bottom) == (96, 16, 0, 256)
    assert (plan.width, plan.height) == (1120, 1040)
    assert plan.notes and "snapped to multiples of 16" in plan.notes[0]
    wide = plan_outpaint((1024, 1024), Outpaint(256, 256, 256, 256))
    assert any("past about 2 MP" in n for n in wide.notes)
    with pytest.raises(OutpaintError, match="more than FLUX can make"):
        plan_outpaint((1024, 1024), Outpaint(left=1024, right=512))


def test_control_images_that_do_not_look_right_get_a_note():
    photo = check_source(png((64, 64), (200, 80, 40)))
    assert "depth map" in control_notes(photo, "depth")[0]
    assert control_notes(photo, "canny") == []
    edges = Image.new("RGB", (64, 64), 0)
    ImageDraw.Draw(edges).line((0, 32, 63, 32), fill=(255, 255, 255))
    buffer = io.BytesIO()
    edges.save(buffer, "PNG")
    assert "edge map already" in control_notes(check_source(buffer.getvalue()), "canny")[0]
    grey = check_source(png((64, 64), 128, "L"))
    assert control_notes(grey, "depth") == []


def test_a_rotated_control_image_is_turned_upright_like_a_source(tmp_path):
    # stored 100x50 with EXIF "rotate 90" (a phone photo): ComfyUI and the user see 50x100
    image = Image.new("RGB", (100, 50), (30, 30, 30))
    ImageDraw.Draw(image).rectangle((0, 0, 9, 49), fill=(250, 250, 250))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / "photo.jpg", exif=exif)
    spec = PromptSpec(name="t", subject="x", tools=Tools(control="canny",
                                                         control_image="photo.jpg"))
    control = load_inputs(spec, tmp_path).images["control_image"]
    assert control.size == (50, 100)
    upright = Image.open(io.BytesIO(control.data))
    assert upright.size == (50, 100) and upright.getexif().get(0x0112, 1) == 1
    assert upright.convert("L").getpixel((25, 2)) > 200   # the bright edge is now on top


@pytest.mark.parametrize("content, why", [
    (b"", "empty"), (b"GIF89a not really", "only PNG, JPEG and WEBP"),
    (b"plain text", "not an image file"),
    (png((64, 64))[:60], "damaged or truncated"),
    (decompression_bomb_png(), "decompression bomb"),
])
@pytest.mark.parametrize("role", ["control image", "Redux reference"])
def test_corrupt_control_images_and_references_are_named_and_refused(tmp_path, content, why,
                                                                     role):
    (tmp_path / "bad.png").write_bytes(content)
    tools = Tools(control="depth", control_image="bad.png") if role == "control image" \
        else Tools(redux=[Redux("bad.png")])
    with pytest.raises(ToolImageError) as caught:
        load_inputs(PromptSpec(name="t", subject="x", tools=tools), tmp_path)
    assert why in str(caught.value) and str(caught.value).startswith(role)
