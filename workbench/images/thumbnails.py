"""Thumbnails: what every terminal preview starts from, made once, cached on disk and in
memory, in one shared thread pool.

A 1024x1024 result is far more than a pane of 100x50 cells can show.  Each image gets one
*base* thumbnail (at most `BASE` pixels a side: the integer ``reduce`` of the decoded
PNG, or JPEG's ``draft``, then Lanczos) kept on disk under ``<cache dir>/thumbs``, keyed by
the file's path, mtime and size; a pane of any size is made from it in about a
millisecond.  The base is made the first time the image is shown, or as soon as a run has
written the image (`remember_images`), so a grid of a finished run, opened by any process,
decodes no PNG.  Only a box larger than the base (true-pixel graphics) decodes the image
again, and gets a thumbnail of its own on disk.  The few most recent thumbnails and bases
are kept in memory (small LRUs), with the last half-block drawings (bounded by their cell
count), so a pane or a grid of 16 redraws at once while memory stays flat however many
images go by.

Thumbnails are made in a small shared thread pool (Pillow decodes without the GIL):
`preview.submit_preview` hands back a future, so a grid draws each tile as it lands.
What a preview makes is written to the disk after its drawing is made, never beside it.
Pillow is imported on first use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .. import locations
from .halfblocks import HalfBlocks, flatten, halfblock_renderable
from .shrink import (
    BASE,
    PreviewError,
    base_size,
    fit,
    from_base,
    make_base,
    open_checked,
    shrink,
)

if TYPE_CHECKING:
    from PIL import Image

#: Thumbnails kept decoded in memory (each at most a pane's pixels: ~100x100 for half-blocks).
MEMORY_ITEMS = 48
#: Half-block drawings kept in memory, in cells (~0.6 kB each: a 100x50 pane is 5,000).
MEMORY_CELLS = 20_000
#: Base thumbnails kept decoded in memory (each at most 256x256: ~260 kB).
MEMORY_BASES = 8
#: Thumbnails kept on disk before the oldest are pruned: bases (~80 kB) and the sizes
#: made from them (a grid tile ~2 kB, a 100x50 pane ~20 kB), at most DISK_BYTES in all.
DISK_ITEMS = 4000
DISK_BYTES = 200 * 2**20
THUMB_VERSION = 2  # bump to invalidate every cached thumbnail


class ThumbnailCache:
    """Thumbnails on disk (``folder``) and the most recent few in memory (LRU), with the
    last half-block drawings of them (LRU bounded by ``memory_cells``).

    On disk each image has one *base* thumbnail (at most `BASE` pixels a side) that every
    half-block pane of it is made from in a millisecond, whatever the pane's size; it is
    made the first time the image is previewed, or by `remember` as soon as a run has
    written the image, so a grid opened later (after a CLI run too) is drawn from the
    bases, not from the megapixel PNGs.  A box larger than the base (true-pixel graphics)
    gets a thumbnail of its own.

    Safe to call from worker threads (the TUI makes thumbnails off the UI thread); an
    image asked for by several threads at once is decoded once."""

    def __init__(self, folder: Path | None = None, memory_items: int = MEMORY_ITEMS,
                 disk_items: int = DISK_ITEMS, memory_cells: int = MEMORY_CELLS,
                 disk_bytes: int = DISK_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else locations.cache_dir() / "thumbs"
        self.memory_items = memory_items
        self.disk_items = disk_items
        self.disk_bytes = disk_bytes
        self.memory_cells = memory_cells
        self._memory: OrderedDict[str, Image.Image] = OrderedDict()
        self._bases: OrderedDict[str, Image.Image] = OrderedDict()
        self._pictures: OrderedDict[str, tuple[HalfBlocks, int]] = OrderedDict()
        self._picture_cells = 0
        self._lock = threading.Lock()
        self._making: dict[str, tuple[threading.Lock, int]] = {}
        self._writes = 0
        self._unwritten: dict[str, Image.Image] = {}   # made, queued for the disk
        self._writing: set[Future[None]] = set()
        self.hits = self.disk_hits = self.misses = 0

    def _ident(self, path: Path) -> str:
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError:
            raise PreviewError(f"{path}: no such file") from None
        return f"{THUMB_VERSION}|{path}|{stat.st_mtime_ns}|{stat.st_size}"

    def key(self, path: Path, box: tuple[int, int]) -> str:
        ident = f"{self._ident(path)}|{box[0]}x{box[1]}"
        return hashlib.sha1(ident.encode("utf-8", "surrogateescape")).hexdigest()

    def base_key(self, path: Path) -> str:
        ident = f"{self._ident(path)}|base"
        return hashlib.sha1(ident.encode("utf-8", "surrogateescape")).hexdigest()

    def get(self, path: Path, box: tuple[int, int]) -> Image.Image:
        """The thumbnail of ``path`` fitted to ``box`` pixels (shared; don't modify it)."""
        made: list[str] = []
        try:
            return self._get(self.key(path, box), path, box, made)
        finally:
            self._write_later(made)

    def _get(self, key: str, path: Path, box: tuple[int, int],
             made: list[str]) -> Image.Image:
        """The thumbnail from memory, disk or the image; the keys of thumbnails made on
        the way are added to ``made``, for the caller to `_write_later` once whatever
        waits for the picture has it."""
        with self._lock:
            image = self._memory.get(key)
            if image is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return image
        image = self._from_disk_or_source(key, path, box, made)
        with self._lock:
            self._memory[key] = image
            self._memory.move_to_end(key)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        return image

    def _from_disk_or_source(self, key: str, path: Path, box: tuple[int, int],
                             made: list[str]) -> Image.Image:
        image = self._read(key)  # this size, made before: the smallest file to read
        if image is not None:
            self.disk_hits += 1
            return image
        base_key = self.base_key(path)
        with self._making_lock(base_key):  # one decode of an image however many ask
            base = self._base(base_key)
            image = from_base(base, box) if base is not None else None
            if image is not None:
                self.disk_hits += 1
            else:
                self.misses += 1
                image, base = self._decode(path, box, need_base=base is None)
                if base is not None:
                    self._keep_base(base_key, base)
                    self._hold(base_key, base, made)
        if image is not base:
            self._hold(key, image, made)
        return image

    @staticmethod
    def _decode(path: Path, box: tuple[int, int], *, need_base: bool
                ) -> tuple[Image.Image, Image.Image | None]:
        """The thumbnail for ``box`` decoded from the image itself, and the base made on
        the way (None when the box wants more than a base has, or one exists)."""
        with open_checked(Path(path)) as im:
            target, base = fit(im.size, box), base_size(im.size)
            try:
                whole = base == im.size  # a small image: its base is all of it
                if need_base and (whole or (target[0] <= base[0] and target[1] <= base[1])):
                    made = shrink(im, base)
                    return from_base(made, box) or shrink(made, target), made
                return shrink(im, target), None
            except (OSError, ValueError, SyntaxError) as exc:
                raise PreviewError(f"{path}: not a readable image: {exc}") from None

    def remember(self, path: Path) -> bool:
        """Make ``path``'s base thumbnail now if there is none (a run has just written
        the image); True if one was made.  Unreadable files are skipped quietly."""
        try:
            base_key = self.base_key(path)
            with self._making_lock(base_key):
                if self._file(base_key).is_file():
                    return False
                base = make_base(path)
                self._store(self._file(base_key), base)
        except (PreviewError, OSError):
            return False
        return True

    def _base(self, base_key: str) -> Image.Image | None:
        with self._lock:
            base = self._bases.get(base_key)
            if base is not None:
                self._bases.move_to_end(base_key)
                return base
        base = self._read(base_key)
        if base is not None:
            if max(base.size) > BASE:
                return None  # not a base this version made
            self._keep_base(base_key, base)
        return base

    def _keep_base(self, base_key: str, base: Image.Image) -> None:
        with self._lock:
            self._bases[base_key] = base
            self._bases.move_to_end(base_key)
            while len(self._bases) > MEMORY_BASES:
                self._bases.popitem(last=False)

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{_SUFFIX}"

    def _read(self, key: str) -> Image.Image | None:
        with self._lock:
            image = self._unwritten.get(key)
        if image is not None:
            return image
        file = self._file(key)
        if not file.is_file():
            return None
        from PIL import Image

        try:
            with Image.open(file) as cached:
                cached.load()
                return flatten(cached) if cached.mode != "RGB" else cached.copy()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            return None

    @contextmanager
    def _making_lock(self, key: str):
        with self._lock:
            lock, users = self._making.get(key, (None, 0))
            if lock is None:
                lock = threading.Lock()
            self._making[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._making[key]
                if users <= 1:
                    del self._making[key]
                else:
                    self._making[key] = (lock, users - 1)

    def halfblocks(self, path: Path, box: tuple[int, int]) -> HalfBlocks:
        """The thumbnail of ``path`` fitted to ``box`` drawn as half-blocks, the drawing
        itself kept in memory too (drawing costs about as much as decoding)."""
        key = self.key(path, box)
        with self._lock:
            found = self._pictures.get(key)
            if found is not None:
                self._pictures.move_to_end(key)
                return found[0]
        made: list[str] = []
        try:
            image = self._get(key, path, box, made)
            picture = halfblock_renderable(image)
        finally:
            self._write_later(made)  # the drawing is made: only now compete with it for CPU
        cells = image.width * ((image.height + 1) // 2)
        with self._lock:
            if key not in self._pictures and cells <= self.memory_cells:
                self._pictures[key] = (picture, cells)
                self._picture_cells += cells
                while self._picture_cells > self.memory_cells:
                    _, (_, gone) = self._pictures.popitem(last=False)
                    self._picture_cells -= gone
        return picture

    def prefetch(self, paths: Sequence[Path | str | None], box: tuple[int, int],
                 workers: int | None = None) -> None:
        """Make the thumbnails of ``paths`` in parallel (Pillow decodes without the GIL),
        skipping unreadable files; call it when images arrive so previews find them."""
        todo = [Path(p) for p in paths if p is not None]
        if len(todo) < 2 or in_pool():
            for path in todo:
                self._quiet_get(path, box)
            return
        for future in [thread_pool().submit(self._quiet_get, path, box) for path in todo]:
            future.result()

    def _quiet_get(self, path: Path, box: tuple[int, int]) -> None:
        try:
            self.get(path, box)
        except PreviewError:
            pass

    def _hold(self, key: str, image: Image.Image, made: list[str]) -> None:
        """Keep a thumbnail just made in memory until it is written (any thread asking
        for it meanwhile is served from there), and note it in ``made`` for
        `_write_later`."""
        with self._lock:
            self._unwritten[key] = image
        made.append(key)

    def _write_later(self, keys: list[str]) -> None:
        """Write the thumbnails held under ``keys`` to the disk in the pool, after the
        previews already asked for (the pool runs its work in order).  Called once the
        picture they were made for is drawn: WebP encodes running beside the drawing
        slowed a cold preview by 20-27 ms on a busy 2-core machine."""
        if not keys:
            return
        future = thread_pool().submit(self._write, keys)
        with self._lock:
            self._writing.add(future)
        future.add_done_callback(self._written)

    def _written(self, future: Future[None]) -> None:
        with self._lock:
            self._writing.discard(future)

    def _write(self, keys: list[str]) -> None:
        for key in keys:
            with self._lock:
                image = self._unwritten.get(key)
            if image is not None:
                self._store(self._file(key), image)
                with self._lock:
                    self._unwritten.pop(key, None)

    def flush(self, timeout: float | None = 30) -> None:
        """Wait until every thumbnail made so far is on disk."""
        with self._lock:
            pending = list(self._writing)
        for future in pending:
            future.result(timeout=timeout)

    def _store(self, file: Path, image: Image.Image) -> None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            kind, options = _thumbnail_format()
            image.save(tmp, kind, **options)
            os.replace(tmp, file)
        except (OSError, ValueError):
            return  # a cache that can't be written just isn't a cache
        self._writes += 1
        if self._writes % 100 == 0:
            self.prune()

    def prune(self) -> int:
        """Delete the oldest thumbnails beyond ``disk_items`` or ``disk_bytes``; returns
        how many went."""
        try:
            files = [(f.stat(), f) for f in self.folder.glob(f"*/*{_SUFFIX}")]
        except OSError:
            return 0
        files.sort(key=lambda item: item[0].st_mtime, reverse=True)   # newest first
        kept = total = 0
        gone = 0
        for stat, file in files:
            total += stat.st_size
            if kept < self.disk_items and total <= self.disk_bytes:
                kept += 1
                continue
            file.unlink(missing_ok=True)
            gone += 1
        return gone

    @property
    def memory_size(self) -> int:
        return len(self._memory)

    @property
    def memory_cells_used(self) -> int:
        """Cells of the half-block drawings kept in memory (at most ``memory_cells``)."""
        return self._picture_cells


_SUFFIX = ".thumb"   # WebP (lossless) where Pillow has it, else PNG: Pillow reads either


def _thumbnail_format() -> tuple[str, dict]:
    """How thumbnails are written: lossless WebP at its fastest setting (about 3 ms and
    80 kB for a 256x256 base, against 6-10 ms and 110 kB as PNG), PNG where Pillow was
    built without WebP.  Lossless, so a flat area stays exactly flat."""
    from PIL import features

    if features.check("webp"):
        return "WEBP", {"lossless": True, "quality": 0, "method": 0}
    return "PNG", {"compress_level": 1}


# -- the decoding pool -----------------------------------------------------------------------------

_POOL_PREFIX = "wb-preview"
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_pool() -> ThreadPoolExecutor:
    """The process-wide pool thumbnails are made in: as many threads as cores (2 to 4),
    so a grid's tiles land one after another instead of all at the end."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = min(4, max(2, os.cpu_count() or 2))
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=_POOL_PREFIX)
        return _pool


def in_pool() -> bool:
    # A pool thread waiting on the pool could wait forever: it works alone instead.
    return threading.current_thread().name.startswith(_POOL_PREFIX)


_default: ThumbnailCache | None = None


def default_cache() -> ThumbnailCache:
    """The process-wide cache under the current `locations.cache_dir`."""
    global _default
    folder = locations.cache_dir() / "thumbs"
    if _default is None or _default.folder != folder:
        _default = ThumbnailCache(folder)
    return _default


def remember_images(paths: Sequence[Path | str]) -> list[Future[bool]]:
    """Make the base thumbnails of images a run has just written, in the shared pool and
    without waiting (`ThumbnailCache.remember`): a preview or grid of them opened later,
    in this process or another, starts from the bases.  The futures say which were made;
    nobody needs to wait on them (a process waits for the pool when it exits)."""
    cache = default_cache()
    return [thread_pool().submit(cache.remember, Path(path)) for path in paths]
