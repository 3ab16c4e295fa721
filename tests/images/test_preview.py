import io
import os
import time

import pytest
from PIL import Image
from rich.console import Console

from workbench import locations
from workbench.images import preview as pv
from workbench.images.graphics import GraphicsError, cell_pixels, detect_protocol
from workbench.images.preview import (
    PreviewError,
    ThumbnailCache,
    default_cache,
    fit,
    grid,
    halfblock_renderable,
    preview,
)


def save(path, size, colour=(200, 30, 30), mode="RGB"):
    Image.new(mode, size, colour).save(path)
    return path


def render(renderable, width=200):
    console = Console(file=io.StringIO(), width=width, color_system="truecolor",
                      legacy_windows=False)
    segments = list(console.render(renderable, console.options))
    text = "".join(s.text for s in segments)
    return text.rstrip("\n").split("\n"), segments


@pytest.mark.parametrize("size, box, expected", [
    ((1024, 1024), (100, 100), (100, 100)),
    ((1024, 512), (100, 100), (100, 50)),
    ((832, 1216), (100, 100), (68, 100)),
    ((64, 48), (100, 100), (100, 75)),   # small images are enlarged
])
def test_fit(size, box, expected):
    assert fit(size, box) == expected


def test_halfblocks_put_upper_pixel_in_background_and_lower_in_foreground():
    im = Image.new("RGB", (2, 4))
    colours = {(0, 0): (255, 0, 0), (0, 1): (0, 255, 0), (1, 0): (0, 0, 255),
               (1, 1): (9, 9, 9), (0, 2): (1, 2, 3), (0, 3): (4, 5, 6),
               (1, 2): (7, 8, 9), (1, 3): (10, 11, 12)}
    for xy, c in colours.items():
        im.putpixel(xy, c)
    lines, segments = render(halfblock_renderable(im))
    assert lines == ["▄▄", "▄▄"]
    cells = [s for s in segments if s.text == "▄"]
    got = [(s.style.bgcolor.triplet, s.style.color.triplet) for s in cells]
    assert [(tuple(b), tuple(f)) for b, f in got] == [
        ((255, 0, 0), (0, 255, 0)), ((0, 0, 255), (9, 9, 9)),
        ((1, 2, 3), (4, 5, 6)), ((7, 8, 9), (10, 11, 12))]


def test_preview_fits_the_pane(tmp_path):
    wide = save(tmp_path / "wide.png", (1024, 512))
    lines, segments = render(preview(wide, 100, 50))
    assert len(lines) == 25 and all(len(line) == 100 for line in lines)
    assert segments[0].style.bgcolor.triplet == (200, 30, 30)
    tall = save(tmp_path / "tall.png", (512, 1024))
    lines, _ = render(preview(tall, 100, 50))
    assert len(lines) == 50 and {len(line) for line in lines} == {50}


def test_transparent_pixels_are_flattened(tmp_path):
    path = save(tmp_path / "t.png", (4, 4), (255, 255, 255, 0), mode="RGBA")
    _, segments = render(preview(path, 4, 2))
    assert segments[0].style.bgcolor.triplet == pv.BACKGROUND


def thumbs(folder):
    return sorted(folder.glob("*/*.thumb"))


def test_thumbnail_cache_memory_then_disk_then_invalidated(tmp_path):
    src = save(tmp_path / "a.png", (640, 640))
    cache = default_cache()
    assert cache.folder == locations.cache_dir() / "thumbs"
    first = cache.get(src, (100, 100))
    assert (cache.misses, cache.hits, cache.disk_hits) == (1, 0, 0)
    assert first.size == (100, 100) and first.getpixel((50, 50)) == (200, 30, 30)
    cache.flush()                                  # written after the picture is handed back
    assert len(thumbs(cache.folder)) == 2          # the image's base, and this size
    assert cache.get(src, (100, 100)) is first
    assert cache.hits == 1
    fresh = ThumbnailCache(cache.folder)          # a new process: the disk copy is used
    again = fresh.get(src, (100, 100))
    assert (fresh.misses, fresh.disk_hits) == (0, 1) and again.tobytes() == first.tobytes()
    other = fresh.get(src, (50, 50))              # another pane size: from the same base
    assert (fresh.misses, fresh.disk_hits) == (0, 2) and other.size == (50, 50)
    fresh.flush()
    assert len(thumbs(cache.folder)) == 3
    save(src, (640, 640), (0, 0, 255))            # the file changed: not served stale
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert fresh.get(src, (100, 100)).getpixel((0, 0)) == (0, 0, 255)
    assert fresh.misses == 1


def test_base_thumbnail_is_at_most_256_a_side_and_keeps_the_aspect(tmp_path):
    src = save(tmp_path / "wide.png", (1344, 768))
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.get(src, (100, 100)).size == (100, 57)
    cache.flush()
    from PIL import Image

    key = cache.base_key(src)
    with Image.open(tmp_path / "thumbs" / key[:2] / f"{key}.thumb") as stored:
        assert stored.size == pv.base_size((1344, 768)) == (256, 146)
        assert stored.getpixel((10, 10)) == (200, 30, 30)      # lossless


def test_a_box_larger_than_the_base_decodes_the_image(tmp_path):
    src = tmp_path / "big.png"
    from PIL import Image

    image = Image.new("RGB", (1024, 1024), (10, 20, 30))
    image.putpixel((1023, 1023), (250, 250, 250))
    image.save(src)
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.get(src, (100, 100)).size == (100, 100)
    big = cache.get(src, (600, 600))              # e.g. true-pixel graphics
    assert big.size == (600, 600) and cache.misses == 2
    cache.flush()
    assert len(thumbs(tmp_path / "thumbs")) == 3  # the base, 100x100 and the large one
    assert ThumbnailCache(tmp_path / "thumbs").get(src, (600, 600)).size == (600, 600)


def test_small_images_are_enlarged_from_their_base(tmp_path):
    from PIL import Image

    src = tmp_path / "small.png"
    image = Image.new("RGB", (4, 4), (255, 0, 0))
    image.putpixel((0, 0), (0, 0, 255))
    image.save(src)
    cache = ThumbnailCache(tmp_path / "thumbs")
    big = cache.get(src, (40, 40))
    assert big.size == (40, 40)
    assert big.getpixel((9, 9)) == (0, 0, 255) and big.getpixel((10, 10)) == (255, 0, 0)
    cache.flush()
    fresh = ThumbnailCache(tmp_path / "thumbs")
    assert fresh.get(src, (80, 80)).getpixel((19, 19)) == (0, 0, 255)
    assert fresh.misses == 0


def test_remember_makes_the_base_once_so_later_previews_decode_nothing(tmp_path):
    src = save(tmp_path / "run.png", (1024, 1024), (5, 200, 90))
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.remember(src) is True
    assert cache.remember(src) is False          # already there
    assert cache.remember(tmp_path / "gone.png") is False
    later = ThumbnailCache(tmp_path / "thumbs")  # e.g. the TUI after a CLI run
    for box in ((24, 22), (100, 100), (118, 74)):
        assert later.get(src, box).getpixel((0, 0)) == (5, 200, 90)
    assert (later.misses, later.disk_hits) == (0, 3)


def test_remember_images_runs_in_the_pool(tmp_path):
    srcs = [save(tmp_path / f"{i}.png", (512, 512), (i, 0, 0)) for i in range(3)]
    futures = pv.remember_images(srcs + [tmp_path / "missing.png"])
    assert [f.result(timeout=30) for f in futures] == [True, True, True, False]
    assert len(thumbs(default_cache().folder)) == 3


def test_a_thumbnail_is_served_from_memory_until_it_is_written(tmp_path):
    src = save(tmp_path / "a.png", (512, 512), (7, 8, 9))
    cache = ThumbnailCache(tmp_path / "thumbs", memory_items=0)   # no LRU to hide behind
    cache.get(src, (100, 100))
    assert cache.get(src, (100, 100)).getpixel((0, 0)) == (7, 8, 9)
    assert cache.misses == 1                      # never decoded twice, written or not
    cache.flush()
    assert len(thumbs(tmp_path / "thumbs")) == 2


def test_a_cold_preview_queues_its_disk_writes_only_once_its_drawing_is_made(tmp_path,
                                                                            monkeypatch):
    from workbench.images import thumbnails

    src = save(tmp_path / "a.png", (1024, 1024), (40, 50, 60))
    cache = ThumbnailCache(tmp_path / "thumbs")
    pool, submitted, queued_while_drawing = thumbnails.thread_pool(), [], []
    draw = thumbnails.halfblock_renderable

    class CountingPool:
        def submit(self, *args, **kwargs):
            submitted.append(args[0])
            return pool.submit(*args, **kwargs)

    def drawing(image):
        queued_while_drawing.append(len(submitted))   # writes handed to the pool so far
        return draw(image)

    monkeypatch.setattr(thumbnails, "thread_pool", CountingPool)
    monkeypatch.setattr(thumbnails, "halfblock_renderable", drawing)
    picture = cache.halfblocks(src, (100, 100))
    assert queued_while_drawing == [0]
    assert picture.size == (100, 100) and submitted    # queued after it
    cache.flush()                                  # then the base and the pane are written
    assert len(thumbs(tmp_path / "thumbs")) == 2


def test_an_image_asked_for_by_many_threads_is_decoded_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    src = save(tmp_path / "a.png", (1024, 1024))
    cache = ThumbnailCache(tmp_path / "thumbs")
    boxes = [(24, 22), (100, 100), (50, 50), (30, 30)] * 3
    with ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda box: cache.get(src, box).size, boxes))
    assert sizes[:4] == [(22, 22), (100, 100), (50, 50), (30, 30)]
    assert cache.misses == 1


def test_memory_stays_bounded_and_disk_is_pruned(tmp_path):
    cache = ThumbnailCache(tmp_path / "thumbs", memory_items=4, disk_items=10)
    paths = [save(tmp_path / f"{i}.png", (64, 64), (i * 10, 0, 0)) for i in range(20)]
    for path in paths:
        cache.get(path, (16, 16))
    cache.flush()
    assert cache.memory_size == 4
    assert cache.prune() == 30                     # a base and a 16x16 each: 40 files
    assert len(thumbs(tmp_path / "thumbs")) == 10
    # the most recent ones are still served from memory
    cache.get(paths[-1], (16, 16))
    assert cache.hits == 1


def test_disk_is_pruned_to_its_byte_budget_newest_first(tmp_path):
    cache = ThumbnailCache(tmp_path / "thumbs", disk_bytes=1)
    paths = [save(tmp_path / f"{i}.png", (512, 512), (i * 10, 0, 0)) for i in range(3)]
    for i, path in enumerate(paths):
        cache.get(path, (256, 256))                 # the base is the thumbnail: one file
        cache.flush()
        key = cache.base_key(path)
        file = tmp_path / "thumbs" / key[:2] / f"{key}.thumb"
        os.utime(file, ns=(time.time_ns(), time.time_ns() + i * 10**9))
    sizes = [f.stat().st_size for f in thumbs(tmp_path / "thumbs")]
    assert len(sizes) == 3
    cache.disk_bytes = max(sizes)
    assert cache.prune() == 2
    [kept] = thumbs(tmp_path / "thumbs")
    key = cache.base_key(paths[-1])
    assert kept.name == f"{key}.thumb"


def test_unreadable_images_raise_preview_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnonsense")
    with pytest.raises(PreviewError, match="not a readable image"):
        preview(bad, 10, 5)
    with pytest.raises(PreviewError, match="no such file"):
        preview(tmp_path / "missing.png", 10, 5)


class FakeStream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty


def test_protocol_setting_forces_and_non_terminals_get_halfblocks():
    assert detect_protocol("kitty") == "kitty"
    assert detect_protocol("SIXEL") == "sixel"
    assert detect_protocol("halfblocks", stream=FakeStream(True)) == "halfblocks"
    assert detect_protocol("auto", stream=FakeStream(False)) == "halfblocks"
    assert detect_protocol("auto", stream=None) == "halfblocks"  # pytest captures stdout
    with pytest.raises(GraphicsError, match="image_protocol"):
        detect_protocol("iterm")


def test_cell_size_from_the_terminal_or_the_environment(monkeypatch):
    from workbench.images import graphics

    monkeypatch.setattr(graphics, "_winsize", lambda stream: (40, 120, 1200, 800))
    assert cell_pixels(FakeStream(True)) == (10, 20)
    monkeypatch.setattr(graphics, "_winsize", lambda stream: (40, 100, 900, 1000))
    assert cell_pixels(FakeStream(True)) == (9, 25)
    monkeypatch.setenv("TEXTUAL_CELL_WIDTH", "7")
    monkeypatch.setenv("TEXTUAL_CELL_HEIGHT", "15")
    assert cell_pixels(FakeStream(False)) == (7, 15)      # not a terminal: the environment
    monkeypatch.delenv("TEXTUAL_CELL_WIDTH")
    assert cell_pixels(FakeStream(False)) == (10, 20)


def test_true_pixel_renderables_come_from_textual_image(tmp_path):
    from textual_image.renderable.sixel import Image as SixelImage
    from textual_image.renderable.tgp import Image as TGPImage

    path = save(tmp_path / "a.png", (1024, 1024))
    assert isinstance(preview(path, 40, 20, protocol="kitty"), TGPImage)
    assert isinstance(preview(path, 40, 20, protocol="sixel"), SixelImage)


def test_grid_of_16_with_labels_and_placeholders(tmp_path):
    paths = [save(tmp_path / f"{i}.png", (256, 256), (i * 15, 100, 0)) for i in range(14)]
    paths += [None, tmp_path / "missing.png"]
    labels = [f"cell {i}" for i in range(16)]
    lines, segments = render(grid(paths, 4, (100, 48), labels=labels), width=100)
    assert len(lines) == 48
    assert "cell 0" in lines[11] and "cell 3" in lines[11] and "cell 15" in lines[47]
    assert "…" in "".join(lines[36:47]) and "unreadable" in "".join(lines[36:47])
    colours = {tuple(s.style.bgcolor.triplet) for s in segments
               if s.text == "▄" and s.style and s.style.bgcolor}
    assert {(i * 15, 100, 0) for i in range(14)} <= colours


def test_image_already_at_the_target_size(tmp_path):
    path = save(tmp_path / "exact.png", (20, 20), (1, 2, 3))
    thumb = ThumbnailCache(tmp_path / "t").get(path, (20, 20))
    assert thumb.size == (20, 20) and thumb.getpixel((5, 5)) == (1, 2, 3)


def test_odd_height_ends_with_upper_half_blocks():
    im = Image.new("RGB", (2, 3), (10, 20, 30))
    im.putpixel((1, 2), (200, 100, 50))
    lines, segments = render(halfblock_renderable(im))
    assert lines == ["▄▄", "▀▀"]
    last = [s for s in segments if s.text == "▀"]
    assert [tuple(s.style.color.triplet) for s in last] == [(10, 20, 30), (200, 100, 50)]
    assert all(s.style.bgcolor is None for s in last)


def test_drawings_are_kept_within_their_cell_budget(tmp_path):
    cache = ThumbnailCache(tmp_path / "thumbs", memory_cells=3 * 20 * 10)
    paths = [save(tmp_path / f"{i}.png", (64, 64), (i * 40, 0, 0)) for i in range(5)]
    first = preview(paths[0], 20, 10, cache=cache)
    assert preview(paths[0], 20, 10, cache=cache) is first   # drawn once, then reused
    for path in paths[1:]:
        preview(path, 20, 10, cache=cache)
    assert cache.memory_cells_used == 3 * 20 * 10             # the three most recent
    again = preview(paths[0], 20, 10, cache=cache)             # evicted: drawn again
    assert again is not first
    _, segments = render(again)
    assert tuple(segments[0].style.bgcolor.triplet) == (0, 0, 0)


def test_submitted_previews_land_as_futures(tmp_path):
    cache = ThumbnailCache(tmp_path / "thumbs")
    paths = [save(tmp_path / f"{i}.png", (300, 300), (0, i * 50, 0)) for i in range(4)]
    futures = [pv.submit_preview(p, 10, 5, cache=cache) for p in paths]
    for i, future in enumerate(futures):
        _, segments = render(future.result(timeout=30))
        assert tuple(segments[0].style.bgcolor.triplet) == (0, i * 50, 0)
    missing = pv.submit_preview(tmp_path / "gone.png", 10, 5, cache=cache)
    with pytest.raises(PreviewError, match="no such file"):
        missing.result(timeout=30)
    assert cache.misses == 4
