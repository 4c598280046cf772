"""Freed memory kept for the next row where the training feed decodes, freed memory handed back once a
build is planned, the heap kept out of the collector's sight while build processes are forked, and which
process is a DataLoader worker (the builder sizes its example threads by
it, the transform tunes memory by it).

Every row the feed decodes a photo and a mask (about a megabyte each) and makes a few arrays of that
size. Freed, that memory goes back to the kernel (Pillow frees an image's block as the image goes;
glibc unmaps large blocks and trims the top of its heap), and taking it again costs a page fault per
4 KiB page. On the 2-core benchmark machine that was 600 faults and ~0.9 ms of system time a row in
each DataLoader worker, against ~4.5 ms of decoding. Nothing here changes what is decoded.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
from collections.abc import Iterator
from typing import Any, Optional

import PIL.Image

# Two blocks (a photo and its mask) suffice; a few more cover augmentations' copies.
IMAGE_BLOCKS_KEPT = 4

# glibc's own ceiling for the threshold it raises as large blocks are freed (32 MiB on 64-bit), and the
# trim threshold it pairs with it (twice that): what it would settle on, set from the start.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

_kept_in_process: Optional[int] = None  # the pid that has its settings: DataLoader workers are forked


def keep_freed_memory() -> None:
    """Once a process: let Pillow keep `IMAGE_BLOCKS_KEPT` freed image blocks (each at most Pillow's
    block size, 16 MB) for the next row; in a DataLoader worker, also let glibc keep freed memory
    (large blocks below `MMAP_THRESHOLD` from its heap, up to `TRIM_THRESHOLD` free at its top).

    A worker exists to run the transform, so its allocator is tuned; the process that trains is not
    touched beyond Pillow's cache. Left as they are: `PILLOW_BLOCKS_MAX`, `MALLOC_TRIM_THRESHOLD_` or
    `MALLOC_MMAP_THRESHOLD_` set in the environment (set one to keep a library's default), a larger
    block cache, and C libraries other than glibc.
    """
    global _kept_in_process
    if _kept_in_process == os.getpid():
        return
    _kept_in_process = os.getpid()
    if "PILLOW_BLOCKS_MAX" not in os.environ and PIL.Image.core.get_blocks_max() < IMAGE_BLOCKS_KEPT:
        PIL.Image.core.set_blocks_max(IMAGE_BLOCKS_KEPT)
    chosen = {"MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"} & os.environ.keys()
    if dataloader_worker() is not None and not chosen:
        tune_allocator()


def tune_allocator() -> bool:
    """Tell the C library to serve blocks below `MMAP_THRESHOLD` from its heap and keep up to
    `TRIM_THRESHOLD` free at the heap's top; True when it took both (glibc does, musl ignores them,
    others have no `mallopt`)."""
    mallopt = _c_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def release_freed_memory() -> bool:
    """Give memory freed inside the C library's heap back to the system (glibc's `malloc_trim`); True
    when there is such a call. Planning a build lists whole archives and leaves megabytes freed in
    the heap (9 MB for COCO's 82,783 members), which glibc keeps once freed blocks have raised its
    mmap threshold; handed back, they do not count in the build's peak."""
    malloc_trim = _c_function("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True


@contextlib.contextmanager
def frozen_while_forking(forks: bool) -> Iterator[None]:
    """While `forks` (datasets forks its build processes, num_proc >= 2), every object of this process is
    moved out of the cyclic collector's sight (`gc.freeze`), as Python's documentation advises before a
    fork, and let back after. A forked process's collections would otherwise walk every object it
    inherited and write to each one's header, copying each page they touch: with COCO_TS's plan in the
    heap, its build processes started 0.13 s after the split began instead of 0.33, with 18,000 fewer
    page faults. Objects are still freed when nothing refers to them; only cycles wait for the thaw.
    A process that had frozen objects itself is left as it is: thawing would let go of its own."""
    if not forks or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _c_function(name: str) -> Any:
    """A function of the C library this process runs on, or None (not there, or no C library to ask:
    `ctypes.CDLL(None)` is for Unix)."""
    try:
        return getattr(ctypes.CDLL(None), name, None)
    except (OSError, TypeError):
        return None


def dataloader_worker() -> Any:
    """The torch DataLoader worker this process is (`get_worker_info()`: its id, `num_workers`, ...),
    or None in any other process. torch is never imported here to find out."""
    data = sys.modules.get("torch.utils.data")
    return data.get_worker_info() if data is not None else None
