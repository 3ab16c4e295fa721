import io

import pytest
from PIL import Image, ImageFilter

from tests.judge.conftest import BLUE, RED, picture, png
from workbench.judge import pixels
from workbench.judge.pixels import (
    ImageProblem,
    decode_image,
    load_image,
    measure,
    picture_distance,
    same_picture,
)


def test_a_blurred_copy_is_less_sharp_and_order_follows_blur():
    image = picture(RED, seed=3, size=512)
    scores = [measure(image.filter(ImageFilter.GaussianBlur(r)) if r else image).sharpness
              for r in (0, 1, 2, 4)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 4 * scores[2]
    assert not measure(image).sharpness_low
    assert measure(image.filter(ImageFilter.GaussianBlur(4))).sharpness_low


def test_sharpness_does_not_depend_much_on_size():
    small = measure(picture(RED, seed=5, size=512)).sharpness
    big = measure(picture(RED, seed=5, size=512).resize((1024, 1024),
                                                       Image.Resampling.NEAREST)).sharpness
    assert big == pytest.approx(small, rel=0.35)


def test_flat_picture_has_no_sharpness():
    assert measure(Image.new("RGB", (64, 64), (90, 90, 90))).sharpness == 0.0


def test_clipping_shares():
    image = Image.new("RGB", (100, 100), (128, 128, 128))
    image.paste((255, 255, 255), (0, 0, 100, 20))     # 20 % blown out
    image.paste((0, 0, 0), (0, 20, 100, 23))          # 3 % crushed
    m = measure(image)
    assert m.clipped_highlights == pytest.approx(0.20)
    assert m.clipped_shadows == pytest.approx(0.03)
    assert m.clipped
    calm = measure(picture(RED, seed=1))
    # pure red is not "white": the grey value of (255, 0, 0) is 76
    assert calm.clipped_highlights == 0 and not calm.clipped


def test_same_picture_for_identical_and_re_encoded_images():
    image = picture(RED, seed=7)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    again = decode_image(out.getvalue()).image
    a, b = measure(image), measure(again)
    assert picture_distance(a.fingerprint, a.fingerprint) == 0
    assert picture_distance(a.fingerprint, b.fingerprint) <= pixels.SAME_DISTANCE
    assert same_picture(a, b)
    bigger = measure(image.resize((512, 512), Image.Resampling.BICUBIC))
    assert same_picture(a, bigger)


def test_different_pictures_are_not_the_same():
    a = measure(picture(RED, seed=1))
    b = measure(picture(RED, seed=2))          # same colour, other shapes
    c = measure(picture(BLUE, seed=1))         # same shapes, other colour
    assert not same_picture(a, b) and not same_picture(a, c)
    assert picture_distance(a.fingerprint, b.fingerprint) > 4 * pixels.SAME_DISTANCE


def test_a_local_change_is_a_visible_change():
    base = picture(RED, seed=4, size=512)
    changed = base.copy()
    changed.paste((255, 255, 255), (300, 300, 330, 320))   # a small white patch: 0.2 %
    assert not same_picture(measure(base), measure(changed))


def test_distance_survives_junk():
    assert picture_distance("ff", "ffff") == 255
    assert picture_distance("zz", "zz") == 255
    assert picture_distance("", "") == 255


def test_unreadable_images_say_why(tmp_path):
    with pytest.raises(ImageProblem, match="missing"):
        load_image(tmp_path / "gone.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageProblem, match="empty"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageProblem, match="not an image that can be read"):
        load_image(tmp_path / "junk.png")
    from tests.fakes.comfy_server import decompression_bomb_png

    (tmp_path / "bomb.png").write_bytes(decompression_bomb_png())
    with pytest.raises(ImageProblem, match="too many pixels"):
        load_image(tmp_path / "bomb.png")


def test_only_regular_files_are_read(tmp_path, monkeypatch):
    """A FIFO named like a result would block a plain read forever: refused at once."""
    import os

    fifo = tmp_path / "v0-s1-1.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageProblem, match="is a FIFO"):
        load_image(fifo)
    with pytest.raises(ImageProblem, match="is a folder"):
        load_image(tmp_path)
    monkeypatch.setattr(pixels, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.png").write_bytes(png(picture(RED, size=128)))
    with pytest.raises(ImageProblem, match="more than the 1000 bytes limit to check"):
        load_image(tmp_path / "big.png")


def test_odd_modes_are_flattened(tmp_path):
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))      # fully transparent red
    loaded = decode_image(png(rgba))
    assert loaded.image.mode == "RGB" and loaded.image.getpixel((0, 0)) == (255, 255, 255)
    grey16 = Image.new("I;16", (32, 32), 30000)
    assert decode_image(png(grey16)).image.mode == "RGB"
    assert len(decode_image(png(rgba)).sha256) == 64


def test_the_same_picture_in_files_with_other_metadata_is_one_picture():
    """A real ComfyUI re-renders a repeated prompt (its cache keeps only the last prompt's
    outputs) and SaveImage writes each cell's own spec into the PNG: the files differ, the
    picture the vision model is asked about does not."""
    from PIL import PngImagePlugin

    def with_text(image, note):
        info = PngImagePlugin.PngInfo()
        info.add_text("workbench", note)
        out = io.BytesIO()
        image.save(out, "PNG", pnginfo=info)
        return out.getvalue()

    one = decode_image(with_text(picture(RED, seed=1), '{"name": "sign"}'))
    two = decode_image(with_text(picture(RED, seed=1), '{"name": "sign again"}'))
    other = decode_image(with_text(picture(RED, seed=2), '{"name": "sign"}'))
    assert one.sha256 != two.sha256
    assert one.picture_sha256 == two.picture_sha256 != other.picture_sha256


def test_model_copy_is_a_small_jpeg():
    import base64

    encoded = pixels.for_model(picture(RED, size=1500), max_side=256)
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert image.format == "JPEG" and max(image.size) == 256
