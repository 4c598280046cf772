"""The floors' one loop: what every build's floor does with a pair once it has read it (children.child_floor
for the zip datasets, field.child_textseg_floor for TextSeg's tar.gz archives)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable

import numpy as np


def pixel_data(png: bytes) -> bytes:
    """A PNG's IDAT bodies joined: its pixel data, one zlib stream (nothing checked)."""
    pos, idat = 8, []
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind == b"IDAT":
            idat.append(png[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return b"".join(idat)


def write_pairs(pairs: Iterable[tuple[bytes, bytes]], out_dir: str) -> dict:
    """For each (image, mask): the mask's pixel data inflated once with the fastest inflate installed (zlib-ng
    when it is there, as the build uses) and a max taken over it; both written to one file, synced at the end.

    Returns:
        {"member_bytes": bytes written, "pairs": pairs written}.
    """
    from scene_text_seg.pixels import zlib

    member_bytes = count = 0
    with open(os.path.join(out_dir, "floor.bin"), "wb") as out:
        for image, mask in pairs:
            np.frombuffer(zlib.decompress(pixel_data(mask)), np.uint8).max()
            out.write(image)
            out.write(mask)
            member_bytes += len(image) + len(mask)
            count += 1
        out.flush()
        os.fsync(out.fileno())
    return {"member_bytes": member_bytes, "pairs": count}
