import pytest

from tests.fakes.comfy_server import decompression_bomb_png, render_png
from workbench.images.validate import UnsafeImage, check_image


def test_check_image_refuses_bombs_and_junk():
    assert check_image(render_png("x", 1, 20, 10)) == (20, 10, "PNG")
    with pytest.raises(UnsafeImage, match="decompression bomb|pixel limit"):
        check_image(decompression_bomb_png())
    with pytest.raises(UnsafeImage, match="pixel limit"):
        check_image(render_png("x", 1, 64, 64), max_pixels=1000)
    with pytest.raises(UnsafeImage, match="not a readable image"):
        check_image(b"<html>not an image</html>")
