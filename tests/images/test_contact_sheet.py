from PIL import Image

from workbench.images.contact_sheet import (
    BACKGROUND,
    CELL_BACKGROUND,
    plan_grid,
    plan_sheet,
    render_sheet,
    save_sheet,
    sheet_tile,
    word_changes,
)
from workbench.runs.plan import make_axis, make_plan
from workbench.spec import PromptSpec

PALETTE = [(220, 20, 20), (20, 160, 40), (30, 60, 220), (230, 200, 0), (150, 0, 150),
           (0, 170, 170)]


def centre(box):
    return ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)


def dark_pixels(sheet, box):
    return sum(sheet.crop(box).convert("L").histogram()[:100])


def test_grid_cells_hold_their_images_and_labels_sit_in_their_bands(tmp_path):
    paths = []
    for i, colour in enumerate(PALETTE):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (512, 512) if i != 4 else (512, 256), colour).save(path)
        paths.append(path)
    images = [paths[:3], paths[3:5] + [None]]
    sheet, layout = render_sheet(images, ["A: a red fox", "B: an arctic fox"],
                                 ["seed 1", "seed 2", "seed 3"], title="Fox vs Fox",
                                 notes=["A: A red fox.", "B: An arctic fox."], cell_size=96)
    assert sheet.size == layout.size
    for r, row in enumerate(layout.cells):
        for c, box in enumerate(row):
            assert box[2] - box[0] == 96 and box[3] - box[1] == 96
            if r == 1 and c == 2:
                # missing: grey cell with a word in it, no image box
                assert layout.images[r][c] is None
                assert sheet.getpixel((box[2] - 3, box[3] - 3)) == CELL_BACKGROUND
                assert dark_pixels(sheet, box) == 0 and sheet.crop(box).getcolors(10000)
                continue
            expected = PALETTE[r * 3 + c]
            for dx, dy in ((0, 0), (-30, -10), (30, 10)):
                x, y = centre(box)
                assert sheet.getpixel((x + dx, y + dy)) == expected, (r, c)
    # the wide image (512x256) is letterboxed: grey bands above and below it
    wide = layout.cells[1][1]
    assert layout.images[1][1] == (wide[0], wide[1] + 24, wide[2], wide[1] + 72)
    assert sheet.getpixel((centre(wide)[0], wide[1] + 5)) == CELL_BACKGROUND
    # cells never overlap and the gaps between them are background
    a, b = layout.cells[0][0], layout.cells[0][1]
    assert a[2] < b[0] and sheet.getpixel((a[2] + 2, centre(a)[1])) == BACKGROUND
    # labels: ink inside every header band, none in the gap above the grid
    for box in layout.column_headers + layout.row_headers + [layout.title]:
        assert dark_pixels(sheet, box) > 20, box
    assert dark_pixels(sheet, layout.footer) == 0  # footer is grey text
    assert sheet.crop(layout.footer).convert("L").getextrema()[0] < 180
    header_bottom = layout.column_headers[0][3]
    gap = (layout.cells[0][0][0], header_bottom + 1, layout.cells[0][-1][2],
           layout.cells[0][0][1])
    assert dark_pixels(sheet, gap) == 0
    # column headers are above their own column
    for header, cell in zip(layout.column_headers, layout.cells[0]):
        assert header[0] == cell[0] and header[3] < cell[1]
    save_sheet(sheet, tmp_path / "sheet.png")
    assert Image.open(tmp_path / "sheet.png").size == sheet.size


def test_plan_grid_rows_are_variants_columns_the_rest():
    plan = make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Fox B", subject="an arctic fox")], seeds=[1, 2, 3],
                     axes=[make_axis("guidance", [2.5, 3.5])])
    grid = plan_grid(plan)
    assert len(grid.cells) == 2 and all(len(row) == 6 for row in grid.cells)
    assert grid.column_labels[:2] == ["seed 1 · guidance 2.5", "seed 1 · guidance 3.5"]
    assert grid.row_labels == ["A", "B: -A red +An arctic"]
    assert grid.cells[1][3] == plan.cell_at((1, 1, 1)).id
    assert sorted(c for row in grid.cells for c in row) == sorted(c.id for c in plan.cells())
    assert grid.notes == ["A: A red fox.", "B: An arctic fox."]
    single = plan_grid(make_plan([PromptSpec("Fox")], seeds=[1],
                                 axes=[make_axis("steps", [10, 20, 30])]))
    assert single.row_labels == ["steps 10", "steps 20", "steps 30"]


def test_plan_sheet_places_each_cells_image(tmp_path):
    plan = make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Fox B", subject="an arctic fox")], seeds=[1, 2])
    images = {}
    for i, cell in enumerate(plan.cells()):
        images[cell.id] = Image.new("RGB", (64, 64), PALETTE[i])
    sheet, layout, grid = plan_sheet(plan, images, cell_size=64)
    for r, row in enumerate(grid.cells):
        for c, cid in enumerate(row):
            index = [cell.id for cell in plan.cells()].index(cid)
            assert sheet.getpixel(centre(layout.cells[r][c])) == PALETTE[index]


def test_word_changes():
    assert word_changes("a red fox in snow", "an arctic fox in snow") == "-a red +an arctic"
    assert word_changes("same", "same") == ""


def test_captions_are_printed_under_each_cell_and_move_nothing_else():
    """A judge's scores go in a line under each cell: the cells keep their images, the
    caption band holds ink only where a caption was given."""
    plan = make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Fox B", subject="an arctic fox")], seeds=[1, 2])
    images = {cell.id: Image.new("RGB", (64, 64), PALETTE[i])
              for i, cell in enumerate(plan.cells())}
    plain, _, _ = plan_sheet(plan, images, cell_size=64)
    captions = {"v0-s1": "adherence 82% | text ok", "v1-s2": "adherence 40% | same as A"}
    sheet, layout, grid = plan_sheet(plan, images, cell_size=64, captions=captions)
    assert sheet.width == plain.width and sheet.height > plain.height
    for r, row in enumerate(grid.cells):
        for c, cid in enumerate(row):
            box = layout.cells[r][c]
            index = [cell.id for cell in plan.cells()].index(cid)
            assert sheet.getpixel(centre(box)) == PALETTE[index]
            band = (box[0], box[3] + 1, box[2], box[3] + 14)
            assert (dark_pixels(sheet, band) > 0) == (cid in captions), cid


def test_a_tile_made_from_downloaded_bytes_draws_the_same_sheet_as_the_file(tmp_path):
    """The runner makes each cell's sheet picture from the bytes it downloaded; the sheet
    must be pixel for pixel the one drawn by reading the files (PNG, JPEG, alpha, tall)."""
    import io

    from PIL import ImageDraw

    plan = make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Fox B", subject="an arctic fox")], seeds=[1, 2])
    kinds = [("PNG", "RGB", (700, 700)), ("JPEG", "RGB", (900, 600)),
             ("PNG", "RGBA", (300, 500)), ("PNG", "RGB", (40, 90))]
    paths, tiles = {}, {}
    for i, (cell, (fmt, mode, size)) in enumerate(zip(plan.cells(), kinds)):
        image = Image.new(mode, size, PALETTE[i] + ((128,) if mode == "RGBA" else ()))
        ImageDraw.Draw(image).ellipse((5, 5, size[0] // 2, size[1] // 3), fill=PALETTE[-1])
        out = io.BytesIO()
        image.save(out, fmt)
        path = tmp_path / f"{cell.id}.{fmt.lower()}"
        path.write_bytes(out.getvalue())
        paths[cell.id] = path
        tiles[cell.id] = sheet_tile(out.getvalue(), 128)
    from_files, _, _ = plan_sheet(plan, paths, cell_size=128)
    from_tiles, _, _ = plan_sheet(plan, tiles, cell_size=128)
    assert from_tiles.tobytes() == from_files.tobytes()
    assert all(max(t.size) == 128 for t in tiles.values())
    assert sheet_tile(b"not an image") is None


def test_a_sheet_filled_in_as_cells_arrive_is_the_sheet_drawn_at_once(tmp_path):
    """`SheetCanvas`: pictures put in any order (one replaced, one taken away again), its
    rows encoded between puts, gives a PNG with exactly `plan_sheet`'s pixels."""
    import io
    import random

    from workbench.images.sheet_canvas import SheetCanvas

    plan = make_plan([PromptSpec("Fox", subject="a red fox"),
                      PromptSpec("Fox B", subject="an arctic fox"),
                      PromptSpec("Fox C", subject="a fennec fox")], seeds=[1, 2, 3])
    rng = random.Random(7)
    pictures = {}
    for i, cell in enumerate(plan.cells()):
        noise = Image.frombytes("RGB", (24, 24), rng.randbytes(24 * 24 * 3))
        pictures[cell.id] = noise.resize((96, 80)) if i % 2 else Image.new("RGB", (96, 96),
                                                                          PALETTE[i % 6])
    path = tmp_path / "last.png"
    Image.new("RGB", (50, 120), PALETTE[1]).save(path)
    ids = list(pictures)
    canvas = SheetCanvas(plan, cell_size=96)
    canvas.put(ids[0], pictures[ids[1]])     # replaced below
    canvas.put(ids[4], pictures[ids[4]])     # taken away below ("missing")
    canvas.encode()
    for cid in reversed(ids[:-1]):
        canvas.put(cid, pictures[cid])
        canvas.encode(complete_only=True)   # rows whose every cell has its picture
    canvas.put(ids[4], None)
    canvas.put(ids[-1], path)
    expected = {**pictures, ids[4]: None, ids[-1]: path}
    drawn_at_once, _, _ = plan_sheet(plan, expected, cell_size=96)
    png = Image.open(io.BytesIO(canvas.png()))
    assert png.format == "PNG" and png.size == drawn_at_once.size
    assert png.convert("RGB").tobytes() == drawn_at_once.tobytes()
    assert canvas.shown == set(ids) - {ids[4]}


def test_a_png_encoded_in_bands_reads_back_exactly():
    import io
    import random
    import zlib

    from workbench.images.band_png import assemble_png, deflate_band

    rng = random.Random(3)
    image = Image.frombytes("RGB", (37, 23), rng.randbytes(37 * 23 * 3))
    bands = [(0, 1), (1, 9), (9, 10), (10, 23)]     # one-row bands too
    png = assemble_png(image.size, [deflate_band(image.crop((0, top, 37, bottom)))
                                    for top, bottom in bands])
    back = Image.open(io.BytesIO(png))
    assert back.mode == "RGB" and back.tobytes() == image.tobytes()
    idat = png.index(b"IDAT")
    length = int.from_bytes(png[idat - 4:idat], "big")
    filtered = zlib.decompress(png[idat + 4:idat + 4 + length])   # checks its adler-32
    assert len(filtered) == 23 * (1 + 37 * 3)
