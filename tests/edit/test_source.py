"""Source image checks (format by content, corrupt, too big, bombs, EXIF) and img2img sizes."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from tests.edit.conftest import make_image
from tests.fakes.comfy_server import decompression_bomb_png
from workbench.images.source import (
    SourceImageError,
    check_source,
    img2img_size,
    load_source,
    plan_img2img_size,
)


def _error(path) -> str:
    with pytest.raises(SourceImageError) as info:
        load_source(path)
    assert str(path) in str(info.value)  # every message names the file
    return info.value.problem


def test_a_good_png_is_uploaded_as_is(tmp_path):
    path = make_image(tmp_path / "start.png", (40, 24))
    source = load_source(path)
    assert (source.width, source.height, source.format) == (40, 24, "PNG")
    assert source.data == path.read_bytes() and not source.oriented
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert source.upload_name == "start.png"


def test_format_is_read_from_the_content_not_the_name(tmp_path):
    jpeg_named_png = make_image(tmp_path / "photo.png", fmt="JPEG")
    source = load_source(jpeg_named_png)
    assert source.format == "JPEG" and source.upload_name == "photo.jpg"
    webp = load_source(make_image(tmp_path / "w.webp", fmt="WEBP"))
    assert webp.format == "WEBP"
    gif_named_png = make_image(tmp_path / "anim.png", fmt="GIF")
    assert "is a GIF file; only PNG, JPEG and WEBP" in _error(gif_named_png)
    bmp = make_image(tmp_path / "x.jpg", fmt="BMP")
    assert "is a BMP file" in _error(bmp)
    text = tmp_path / "notes.png"
    text.write_text("hello, not a picture")
    assert "not an image file" in _error(text)


def test_missing_empty_and_folder(tmp_path):
    assert "does not exist" in _error(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty" in _error(tmp_path / "empty.png")
    assert "is a folder, not a regular file" in _error(tmp_path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_corrupt_files_are_refused(tmp_path, fmt):
    good = make_image(tmp_path / "good", (64, 64), fmt=fmt).read_bytes()
    truncated = tmp_path / f"cut.{fmt.lower()}"
    truncated.write_bytes(good[: len(good) // 2])
    assert f"damaged or truncated {fmt} file" in _error(truncated)


def test_png_with_a_broken_checksum_is_refused(tmp_path):
    data = bytearray(make_image(tmp_path / "good.png", (16, 16)).read_bytes())
    data[0x1D] ^= 0xFF  # inside the IHDR chunk: its CRC no longer matches
    bad = tmp_path / "crc.png"
    bad.write_bytes(bytes(data))
    assert "damaged" in _error(bad)


def test_larger_than_4096_is_refused_with_its_size(tmp_path):
    wide = make_image(tmp_path / "wide.png", (4097, 8))
    assert "4097x8, larger than the 4096x4096 limit" in _error(wide)
    edge = load_source(make_image(tmp_path / "edge.png", (4096, 8)))
    assert edge.width == 4096


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(decompression_bomb_png())  # claims 40000x40000 in a few hundred bytes
    assert "decompression bomb" in _error(bomb)
    smaller = tmp_path / "bomb2.png"
    smaller.write_bytes(decompression_bomb_png(side=9000))  # 81 MP: under Pillow's own limit
    assert "decompression bomb" in _error(smaller)


@pytest.mark.parametrize("orientation, size, marker", [
    (6, (24, 40), (20, 3)),   # rotate 90° clockwise to view: the top-left goes top-right
    (8, (24, 40), (3, 36)),   # rotate 90° counter-clockwise: it goes bottom-left
    (3, (40, 24), (36, 20)),  # upside down
    (1, (40, 24), (3, 3)),    # upright already
])
def test_exif_orientation_is_applied(tmp_path, orientation, size, marker):
    path = make_image(tmp_path / "phone.jpg", (40, 24), fmt="JPEG", orientation=orientation)
    source = load_source(path)
    assert source.size == size
    assert source.oriented == (orientation != 1)
    image = Image.open(io.BytesIO(source.data))
    assert image.size == size
    red, green, _ = image.convert("RGB").getpixel(marker)
    assert green > 150 and red < 100  # the marked corner is where the viewer sees it
    if source.oriented:
        assert image.format == "PNG" and source.upload_name == "phone.png"
        assert source.sha256 == hashlib.sha256(source.data).hexdigest()


def test_check_source_works_on_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    assert check_source(buffer.getvalue(), "mem.png").size == (8, 8)
    with pytest.raises(SourceImageError, match="mem.gif"):
        check_source(b"GIF89a" + bytes(20), "mem.gif")


@pytest.mark.parametrize("size, snapped", [
    ((1024, 1024), (1024, 1024)), ((1001, 667), (1008, 672)), ((33, 17), (32, 16)),
    ((7, 5), (16, 16)), ((4096, 2731), (4096, 2736)),
])
def test_img2img_size_snaps_the_source_to_16(size, snapped):
    width, height = img2img_size(*size)
    assert (width, height) == snapped and width % 16 == 0 and height % 16 == 0


@pytest.mark.parametrize("size", [(3000, 2000), (640, 480), (4000, 1000), (512, 1536)])
def test_img2img_size_about_one_megapixel_keeps_the_aspect(size):
    width, height = img2img_size(*size, fit_1mp=True)
    assert width % 16 == 0 and height % 16 == 0
    assert abs(width * height - 1024 * 1024) / (1024 * 1024) < 0.05
    assert abs(width / height - size[0] / size[1]) / (size[0] / size[1]) < 0.03


def test_a_differing_requested_size_is_flagged_not_applied():
    plan = plan_img2img_size((1001, 667), (1024, 1024))
    assert (plan.width, plan.height) == (1008, 672)
    assert any("requested size 1024x1024 differs" in note for note in plan.notes)
    same = plan_img2img_size((1024, 768), (1024, 768))
    assert same.notes == [] and (same.width, same.height) == (1024, 768)
    assert any("768" in n for n in plan_img2img_size((1024, 768), (None, 800)).notes)


def test_image_candidates_for_a_path_picker(tmp_path, monkeypatch):
    from workbench.images.source import image_candidates

    (tmp_path / "shots").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("cat.png", "Car.JPG", "cat.txt", "shots/dog.webp"):
        (tmp_path / name).write_bytes(b"x")
    root = str(tmp_path)
    assert image_candidates(root + "/") == [f"{root}/shots/", f"{root}/Car.JPG",
                                            f"{root}/cat.png"]
    assert image_candidates(root + "/ca") == [f"{root}/cat.png"]
    assert image_candidates(root + "/.") == [f"{root}/.hidden/"]
    assert image_candidates(root + "/shots/") == [f"{root}/shots/dog.webp"]
    monkeypatch.chdir(tmp_path)
    assert image_candidates("sh") == ["shots/"]
    assert image_candidates("shots/d") == ["shots/dog.webp"]
    assert image_candidates(root + "/nope/") == []
