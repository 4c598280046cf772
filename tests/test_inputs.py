"""Finding, verifying and reading the inputs: layouts, checksums, and every kind of bad input."""

import io
import os
import re
import struct
import warnings
import zipfile
import zlib

import numpy as np
import PIL.Image
import pytest

import ist_s
from scene_text_seg import inputs, layout, pixels, synthetic
from tests.conftest import LABELS, MEMBER, build, copy_with, raw, register_synthetic_images, replace_input

LAYOUTS = {
    "top/train,test": synthetic.Layout(),
    "MLT_S style": synthetic.Layout("IST_S_labels/", {"train": "training_labels", "test": "validation_labels"}),
    "no top folder, capitals": synthetic.Layout("", {"train": "Train", "test": "TEST"}),
    "deep": synthetic.Layout("a/b/", {"train": "ist_training/png", "test": "ist_testing/png"}),
    "camel case sets": synthetic.Layout("IST_S/", {"train": "TrainingSet", "test": "TestSet"}),
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_label_layouts_are_detected(tmp_path, cache_dir, layout):
    expected = synthetic.write_inputs(str(tmp_path), layout=layout)
    dataset = build(str(tmp_path), cache_dir)
    for split in ("train", "test"):
        assert dataset[split]["image_id"] == [k for k, v in expected[split].items() if v.mask is not None]


@pytest.mark.parametrize(
    ("member", "split"),
    [
        ("IST_S/train/img_1.png", "train"),
        ("training_labels/img_1.png", "train"),
        ("x/Testing/img_1.png", "test"),
        ("img_1.png", None),
        ("labels/img_1.png", None),
        ("train/test/img_1.png", None),
        ("trainee/img_1.png", None),
        ("IST_S/train_img_1.png", None),
        ("TrainingSet/img_1.png", "train"),
        ("ist_s/TestLabels/img_1.png", "test"),
        ("testimonials/img_1.png", None),
    ],
)
def test_split_of(member, split):
    assert layout.split_of(member, ist_s.SPLIT_WORDS) == split


def test_missing_inputs_are_listed_together(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "ch4_test_images.zip").write_bytes(b"")
    with pytest.raises(ist_s.MissingInputError) as error:
        ist_s.load(str(tmp_path))
    message = str(error.value)
    assert "ch4_training_images.zip" in message and "IST_Segmentation_labels.zip" in message
    assert "ch4_test_images.zip (" not in message  # present: not listed as missing
    assert "rrc.cvc.uab.es" in message and "download_ist_s.html" in message
    assert "notes.txt" in message


def test_checksum_mismatch_names_file_expected_and_actual(zip_inputs, cache_dir, monkeypatch):
    data_dir, _ = zip_inputs
    path = os.path.join(data_dir, "ch4_training_images.zip")
    spec = replace_input(monkeypatch, "train_images", size=None)
    actual = inputs.hash_file(path, ("md5",))["md5"]
    with pytest.raises(ist_s.ChecksumMismatchError) as error:
        ist_s.load(data_dir, cache_dir=cache_dir)
    assert re.search(f"ch4_training_images.zip: expected md5:{spec.digest[4:]}, got md5:{actual}", str(error.value))
    written = [name for _, _, files in os.walk(cache_dir) for name in files if not name.endswith(".lock")]
    assert written == []  # nothing half-made is left to be served


def test_size_mismatch_is_reported_before_hashing(zip_inputs, cache_dir):
    with pytest.raises(ist_s.ChecksumMismatchError, match=r"expected 90,667,586 bytes, found"):
        ist_s.load(zip_inputs[0], cache_dir=cache_dir)


def test_no_checks_skips_hashing(zip_inputs, cache_dir, monkeypatch):
    monkeypatch.setattr(inputs, "hash_file", lambda *a, **k: pytest.fail("hashed under no_checks"))
    assert build(zip_inputs[0], cache_dir)["train"].num_rows > 0


def test_genuine_archives_must_give_the_published_split_sizes(zip_inputs, cache_dir, monkeypatch):
    register_synthetic_images(monkeypatch, zip_inputs[0])
    with pytest.raises(ist_s.InvalidInputError, match=r"gives 10 train rows, expected 979"):
        ist_s.load(zip_inputs[0], cache_dir=cache_dir)


def test_genuine_archives_at_full_size_build(tmp_path, cache_dir, monkeypatch, caplog):
    unlabeled = {"train": set(range(1, 1001, 48)), "test": {7, 70, 170, 444}}  # 21 and 4 unlabeled
    synthetic.write_inputs(str(tmp_path), n_train=1000, n_test=500, size=(16, 12), unlabeled=unlabeled, junk=False)
    register_synthetic_images(monkeypatch, str(tmp_path))
    with caplog.at_level("INFO", logger="datasets.scene_text_seg"):
        default = ist_s.load(str(tmp_path), cache_dir=cache_dir)
    assert {s: d.num_rows for s, d in default.items()} == {"train": 979, "test": 496}
    assert re.search(r"IST_Segmentation_labels.zip has no published checksum; its sha256:[0-9a-f]{64}", caplog.text)
    with_unlabeled = ist_s.load(str(tmp_path), config="with_unlabeled", cache_dir=cache_dir)
    assert {s: d.num_rows for s, d in with_unlabeled.items()} == {"train": 1000, "test": 500}


def test_folder_inputs_are_logged_as_unverifiable(folder_inputs, cache_dir, caplog):
    with caplog.at_level("INFO", logger="datasets.scene_text_seg"):
        ist_s.load(folder_inputs[0], cache_dir=cache_dir, verification_mode="basic_checks")
    assert "ch4_training_images/ is an extracted folder: there is no archive digest to check" in caplog.text


# ---- layout errors: each names the members -------------------------------------------------


def test_layout_errors_name_the_members(zip_inputs, tmp_path, cache_dir):
    cases = [
        ({"add": {"IST_Segmentation_labels/img_99.png": b""}}, r"cannot tell the split of 1 label\(s\): .*img_99.png"),
        ({"add": {"IST_Segmentation_labels/train/IMG_1.png": b""}}, r"two files share the name 'IMG_1'.*img_1.png"),
        ({"add": {"IST_Segmentation_labels/test/img_77.png": b""}}, r"1 test label\(s\) have no image .*img_77.png"),
    ]
    for number, (change, message) in enumerate(cases):
        data_dir = copy_with(zip_inputs, tmp_path / str(number), LABELS, **change)
        with pytest.raises(ist_s.InvalidInputError, match=message):
            build(data_dir, cache_dir)


def test_a_split_without_labels_is_an_error(zip_inputs, tmp_path, cache_dir):
    with zipfile.ZipFile(os.path.join(zip_inputs[0], LABELS)) as archive:
        test_members = [n for n in archive.namelist() if "/test/" in n]
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, drop=set(test_members))
    with pytest.raises(ist_s.InvalidInputError, match=r"holds no test labels"):
        build(data_dir, cache_dir)


def test_low_bit_depth_masks_are_read_by_sample_value(zip_inputs, tmp_path, cache_dir):
    """A 4-bit grayscale PNG holding 0/1: Pillow scales it to 0/17; the label is the stored 1."""
    values = np.zeros((24, 40), np.uint8)
    values[2:5, 3:9] = 1
    four_bit = PIL.Image.fromarray(values * 17, "L")
    buffer = io.BytesIO()
    four_bit.save(buffer, "PNG", bits=4)
    assert buffer.getvalue()[24] == 4  # bit depth in IHDR
    data_dir = copy_with(zip_inputs, tmp_path, LABELS, replace={MEMBER: buffer.getvalue()})
    row = build(data_dir, cache_dir)["train"][0]
    assert row["image_id"] == "img_1"
    np.testing.assert_array_equal(np.asarray(row["mask"]), values)
    assert row["mask_classes"] == [0, 1]


def test_palette_masks_are_stored_without_reencoding():
    values = np.zeros((30, 50), np.uint8)
    values[5:10, 5:20], values[4, 4:21] = 1, 255
    image = PIL.Image.fromarray(values, "P")
    image.putpalette([0, 0, 0, 200, 0, 0] + [9, 9, 9] * 253 + [255, 255, 255])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    mask = pixels.read_mask(buffer.getvalue(), "m.png", {(50, 30)})
    decoded = PIL.Image.open(io.BytesIO(mask.png))
    assert decoded.mode == "L"
    np.testing.assert_array_equal(np.asarray(decoded), values)
    assert mask.classes == [0, 1]
    assert pixels.png_parts(buffer.getvalue(), "m.png").pixel_data in mask.png  # compressed pixels reused as they are


def test_grayscale_masks_keep_their_compressed_pixels_in_a_minimal_png(zip_inputs, cache_dir):
    _, expected = zip_inputs
    rows = raw(build(zip_inputs[0], cache_dir)["train"])
    checked = 0
    with zipfile.ZipFile(os.path.join(zip_inputs[0], LABELS)) as archive:
        for row in rows:
            if expected["train"][row["image_id"]].mask_mode == "L":
                original = archive.read(f"IST_Segmentation_labels/train/{row['image_id']}.png")
                stored = row["mask"]["bytes"]
                assert pixels.png_parts(original, "x").pixel_data == pixels.png_parts(stored, "x").pixel_data
                assert chunk_kinds(stored) == [b"IHDR", b"IDAT", b"IEND"]
                checked += 1
    assert checked


def chunk_kinds(png: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        assert (
            zlib.crc32(png[pos + 4 : pos + 8 + length])
            == struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])[0]
        )
        kinds.append(kind)
        pos += 12 + length
    return kinds


def _jpeg(size):
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    PIL.Image.fromarray(noise, "RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def test_jpeg_end_marker_is_looked_for_after_the_image_data():
    """Trailing bytes after the end marker are fine; an EXIF thumbnail's end marker does not hide a truncation."""
    plain, thumbnail = _jpeg((40, 24)), _jpeg((8, 8))
    tiff = b"II*\x00" + struct.pack("<IHI", 8, 0, 0)
    body = b"Exif\x00\x00" + tiff + thumbnail
    tagged = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + plain[2:]
    assert pixels.jpeg_header(tagged + b"\x00" * 5000, "x.jpg") == ((40, 24), 1)
    with pytest.raises(ist_s.InvalidInputError, match=r"x\.jpg: truncated JPEG \(no end-of-image marker"):
        pixels.jpeg_header(tagged[:-200], "x.jpg")
    with pytest.raises(ist_s.InvalidInputError, match=r"x\.jpg: truncated JPEG \(it ends inside its header\)"):
        pixels.jpeg_header(tagged[:40], "x.jpg")


def test_oversized_members_are_refused_unread(zip_inputs, tmp_path, cache_dir, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_MEMBER_BYTES", 500)  # the synthetic JPEGs are ~1 KB
    with pytest.raises(ist_s.InvalidInputError, match=r"ch4_training_images\.zip:img_1\.jpg: [\d,]+ bytes, more than"):
        build(zip_inputs[0], cache_dir)


def test_a_jpeg_declaring_a_huge_image_is_refused():
    plain = _jpeg((40, 24))
    frame = plain.index(b"\xff\xc0")  # baseline frame header: length, precision, height, width
    huge = plain[: frame + 5] + struct.pack(">HH", 60000, 60000) + plain[frame + 9 :]
    with pytest.raises(ist_s.InvalidInputError, match=r"big\.jpg: corrupt JPEG \(Image size \(3600000000 pixels\)"):
        pixels.jpeg_header(huge, "big.jpg")


def test_unfiltered_masks_are_counted_without_a_pil_decode(monkeypatch):
    """Rows with filter 0 are counted straight from the inflated data; filtered rows go through PIL; both agree."""
    values = np.zeros((30, 50), np.uint8)
    values[5:10, 5:20], values[4, 4:21] = 1, 255
    rows = b"".join(b"\x00" + values[y].tobytes() for y in range(30))
    header = struct.pack(">IIBBBBB", 50, 30, 8, 0, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    unfiltered = (
        pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    buffer = io.BytesIO()
    PIL.Image.fromarray(values, "L").save(buffer, "PNG")  # PIL filters grey rows adaptively
    filtered = buffer.getvalue()
    assert pixels.scan_pixel_data(pixels.png_parts(filtered, "f"), "f") is None  # filtered rows: PIL decodes
    through_pil = pixels.read_mask(filtered, "f.png", {(50, 30)})
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: pytest.fail("decoded with PIL"))
    direct = pixels.read_mask(unfiltered, "u.png", {(50, 30)})
    monkeypatch.undo()
    assert direct.classes == through_pil.classes == [0, 1]
    for mask in (direct, through_pil):
        np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), values)
    bad = values.copy()
    bad[0, 0] = 7
    rows = b"".join(b"\x00" + bad[y].tobytes() for y in range(30))
    wrong = pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    with pytest.raises(ist_s.InvalidInputError, match=r"w\.png: pixel values \[7\] outside"):
        pixels.read_mask(wrong, "w.png", {(50, 30)})


def _filtered_row(kind: int, row: list, above: list) -> bytes:
    """One row of 8-bit samples written with PNG filter `kind` (1 Sub, 2 Up, 3 Average, 4 Paeth), as the PNG
    specification defines them (a plain reference, one sample at a time)."""

    def paeth(a: int, b: int, c: int) -> int:
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else b if pb <= pc else c

    out = []
    for x, value in enumerate(row):
        a, b, c = (row[x - 1] if x else 0), above[x], (above[x - 1] if x else 0)
        predicted = {0: 0, 1: a, 2: b, 3: (a + b) // 2, 4: paeth(a, b, c)}[kind]
        out.append((value - predicted) & 0xFF)
    return bytes([kind, *out])


@pytest.mark.parametrize("colour", [0, 3], ids=["grey", "palette"])
@pytest.mark.parametrize("one_piece_bytes", [pixels.ONE_PIECE_BYTES, 0], ids=["one-piece", "pieces"])
def test_rows_of_every_filter_type_are_unfiltered_to_the_map_they_hold(colour, one_piece_bytes, monkeypatch):
    """Filtered rows are unfiltered from the inflated data already checked (one piece) or by PIL's decode of
    the PNG (larger); both give the map back, whatever filter each row uses. An unknown filter type is named."""
    monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", one_piece_bytes)
    width, height = 37, 25
    values = np.random.default_rng(colour).choice(np.array([0, 1, 255], np.uint8), (height, width), p=[0.7, 0.2, 0.1])
    kinds = [y % 5 for y in range(height)]  # every type, the first row too (Up and Paeth see a zero row above)

    def png(kinds: list) -> bytes:
        above, rows = [0] * width, b""
        for y, kind in enumerate(kinds):
            row = values[y].tolist()
            rows += _filtered_row(kind, row, above) if kind <= 4 else bytes([kind, *row])
            above = row

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        palette = chunk(b"PLTE", bytes(range(256)) * 3) if colour == 3 else b""
        header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
        return (
            pixels.PNG_SIGNATURE
            + chunk(b"IHDR", header)
            + palette
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b"")
        )

    decoded_again = []
    opened = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: decoded_again.append(1) or opened(*a, **k))
    mask = pixels.read_mask(png(kinds), "m.png", {(width, height)})
    np.testing.assert_array_equal(np.asarray(opened(io.BytesIO(mask.png))), values)
    assert mask.classes == [0, 1] and bool(decoded_again) == (one_piece_bytes == 0)
    kinds[7], kinds[11] = 5, 9
    with pytest.raises(ist_s.InvalidInputError, match=r"m\.png: corrupt PNG \(.*") as refused:
        pixels.read_mask(png(kinds), "m.png", {(width, height)})
    if one_piece_bytes:
        assert "row 7 has filter type 5; PNG defines types 0-4" in str(refused.value)  # the first such row


@pytest.mark.parametrize("mode", ["L", "P"])
def test_interlaced_masks_are_decoded_by_pil_whatever_their_size(mode):
    """Adam7 rows are not a mask's rows: an interlaced mask is never unfiltered as if it were not."""
    values = np.random.default_rng(2).choice(np.array([0, 1, 255], np.uint8), (21, 34), p=[0.7, 0.2, 0.1])
    passes = b"".join(  # Adam7: each pass's rows, unfiltered (PIL writes no interlaced PNG)
        b"\0" + row.tobytes() for x0, y0, dx, dy in pixels.ADAM7_PASSES for row in values[y0::dy, x0::dx] if row.size
    )

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 34, 21, 8, 0 if mode == "L" else 3, 0, 0, 1)
    palette = chunk(b"PLTE", bytes(range(256)) * 3) if mode == "P" else b""
    data = pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + palette + chunk(b"IDAT", zlib.compress(passes))
    data += chunk(b"IEND", b"")
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(data))), values)
    mask = pixels.read_mask(data, "m.png", {(34, 21)})
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), values)
    assert pixels.grey_samples(data, palette_indices=True) is None


@pytest.mark.parametrize("field, value", [(26, 1), (27, 1), (28, 2)], ids=["compression", "filter-method", "interlace"])
def test_a_header_declaring_an_unknown_method_is_refused(field, value):
    """PNG defines compression method 0, filter method 0 and interlace 0 or 1; PIL refuses the rest, and a
    mask stored with them could not be decoded later. The header names what it declares."""
    values = np.zeros((6, 9), np.uint8)
    values[2:4, 3:6] = 1
    buffer = io.BytesIO()
    PIL.Image.fromarray(values, "L").save(buffer, "PNG")
    header = bytearray(buffer.getvalue()[16:29])
    header[field - 16] = value
    body = b"IHDR" + bytes(header)
    data = buffer.getvalue()[:12] + body + struct.pack(">I", zlib.crc32(body)) + buffer.getvalue()[33:]
    with pytest.raises(ist_s.InvalidInputError, match=r"^m\.png: corrupt PNG \(its header declares compression method"):
        pixels.read_mask(data, "m.png", {(9, 6)})
    assert pixels.grey_samples(data) is None  # evaluation leaves it to PIL, which refuses it


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 200_001])
def test_stored_blocks_inflate_to_the_bytes_they_hold(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    stream = pixels.stored_zlib(data)
    assert zlib.decompress(stream.tobytes()) == data and stream.size == size + 6 + 5 * max(1, -(-size // 65_535))


@pytest.mark.parametrize("present", [[0], [1], [0, 1], [0, 255], [255], [0, 1, 255]])
def test_mask_values_are_counted_as_a_full_count_counts_them(present):
    """Maps of 0 and 1 alone (a max and one count), with 255 (an add and two counts), or with a stray value."""
    rng = np.random.default_rng(3)
    for trial in range(66):
        # The last six as large as IST_S's maps and over: added into the thread's scratch, reused map after map
        size = int(rng.integers(0, 3000)) if trial < 60 else pixels.SCRATCH_FROM_BYTES * 3 // 2 + trial
        values = rng.choice(np.array(present, np.uint8), size)
        if trial % 3 == 0 and values.size:  # a stray value sends it to the full count
            values[rng.integers(0, values.size)] = rng.integers(2, 255)
        np.testing.assert_array_equal(pixels.count_values(values), np.bincount(values, minlength=256))
        if values.size >= 6:  # as PIL's decode and the stream's rows reach it: 2-D, and a view that skips
            grid = values[: values.size // 3 * 3].reshape(3, -1)
            for view in (grid, grid[:, ::2], grid.T, grid[:, 1:]):
                np.testing.assert_array_equal(pixels.count_values(view), np.bincount(view.ravel(), minlength=256))


def test_sixteen_bit_masks_are_read_by_value_and_never_wrap():
    values = np.zeros((24, 40), np.uint16)
    values[3:6, 4:9] = 1
    buffer = io.BytesIO()
    PIL.Image.fromarray(values).save(buffer, "PNG")
    mask = pixels.read_mask(buffer.getvalue(), "m.png", {(40, 24)})
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), values)
    values[0, 0] = 256  # would read as 0 (background) if squeezed into a byte
    buffer = io.BytesIO()
    PIL.Image.fromarray(values).save(buffer, "PNG")
    with pytest.raises(ist_s.InvalidInputError, match=r"m\.png: pixel values \[256\] outside"):
        pixels.read_mask(buffer.getvalue(), "m.png", {(40, 24)})


@pytest.mark.parametrize("filtered_row", [None, 250])
def test_masks_larger_than_a_piece_are_counted_exactly(filtered_row, monkeypatch):
    """Rows that straddle the inflate pieces, and a filtered row in the middle (PIL must decode)."""
    monkeypatch.setattr(pixels, "INFLATE_PIECE", 50_000)
    monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", 0)  # as a mask of over 4 MiB is inflated
    width, height = 333, 500  # 167,000 inflated bytes: four pieces, rows cut at odd places
    values = np.random.default_rng(0).choice(np.array([0, 1, 255], np.uint8), (height, width), p=[0.8, 0.1, 0.1])
    rows = bytearray()
    for y in range(height):
        if y == filtered_row:  # filter 1 (Sub): each byte stored as the difference to its left neighbour
            rows += b"\x01" + bytes(int(values[y, x]) - int(values[y, x - 1] if x else 0) & 0xFF for x in range(width))
        else:
            rows += b"\x00" + values[y].tobytes()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    png = (
        pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")
    )
    counts = pixels.scan_pixel_data(pixels.png_parts(png, "m"), "m")
    if filtered_row is None:
        np.testing.assert_array_equal(counts, np.bincount(values.ravel(), minlength=256))
    else:
        assert counts is None
    mask = pixels.read_mask(png, "m.png", {(width, height)})
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), values)


@pytest.mark.parametrize("one_piece_bytes", [pixels.ONE_PIECE_BYTES, 0], ids=["one-piece", "pieces"])
@pytest.mark.parametrize("inflate", ["zlib_ng", "zlib"])
def test_bytes_after_the_pixel_streams_end_are_left_as_pil_leaves_them(inflate, one_piece_bytes, monkeypatch):
    """A stream that ends before its IDAT does: checked and counted, never read on (past its end, zlib keeps
    handing the rest back as unconsumed, and a loop on it never ended)."""
    monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", one_piece_bytes)
    monkeypatch.setattr(pixels, "INFLATE_PIECE", 2_000)
    if inflate == "zlib":
        monkeypatch.setattr(pixels, "zlib", zlib)
    width, height = 120, 90
    values = np.random.default_rng(2).choice(np.array([0, 1, 255], np.uint8), (height, width))
    rows = b"".join(b"\x00" + values[y].tobytes() for y in range(height))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    stream = zlib.compress(rows) + b"junk after the end"
    png = pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    counts = pixels.scan_pixel_data(pixels.png_parts(png, "m.png"), "m.png")
    np.testing.assert_array_equal(counts, np.bincount(values.ravel(), minlength=256))
    mask = pixels.read_mask(png, "m.png", {(width, height)})
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mask.png))), values)


@pytest.mark.parametrize("one_piece_bytes", [pixels.ONE_PIECE_BYTES, 0], ids=["one-piece", "pieces"])
@pytest.mark.parametrize("inflate", ["zlib_ng", "zlib"])
def test_masks_are_checked_alike_whichever_zlib_inflates_them(inflate, one_piece_bytes, monkeypatch):
    """zlib-ng (a requirement, ~6x faster) and the standard library's zlib (the fallback) count the same
    values and refuse the same broken streams: cut short, ending early, too long, corrupt; inflated in one
    piece, as masks up to 4 MiB are, or in pieces (of 2,000 bytes here, cut mid-row)."""
    monkeypatch.setattr(pixels, "ONE_PIECE_BYTES", one_piece_bytes)
    monkeypatch.setattr(pixels, "INFLATE_PIECE", 2_000)
    if inflate == "zlib":
        monkeypatch.setattr(pixels, "zlib", zlib)
    else:
        assert pixels.zlib.__name__ == "zlib_ng.zlib_ng"  # installed with the requirements, so used
    width, height = 120, 90
    values = np.random.default_rng(1).choice(np.array([0, 1, 255], np.uint8), (height, width))
    rows = b"".join(b"\x00" + values[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)

    def png(stream: bytes) -> bytes:
        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        return pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")

    def scan(stream: bytes):
        return pixels.scan_pixel_data(pixels.png_parts(png(stream), "m.png"), "m.png")

    np.testing.assert_array_equal(scan(zlib.compress(rows)), np.bincount(values.ravel(), minlength=256))
    with pytest.raises(ist_s.InvalidInputError, match="the compressed stream is cut short"):
        scan(zlib.compress(rows)[:-40])
    with pytest.raises(ist_s.InvalidInputError, match=r"inflates to 9,680 bytes.*the stream ends early"):
        scan(zlib.compress(rows[: 80 * (width + 1)]))
    with pytest.raises(ist_s.InvalidInputError, match="longer than its header declares"):
        scan(zlib.compress(rows + b"\x00" * (width + 1)))
    with pytest.raises(ist_s.InvalidInputError, match="does not inflate"):
        scan(zlib.compress(rows)[:2] + b"\xff" * 50)
    mapping = {0: 0, 1: 1, 255: 0}  # a decoder that changes a value: the rows are mapped as they inflate
    mapped = pixels.read_mask(png(zlib.compress(rows)), "m.png", {(width, height)}, mapping)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(io.BytesIO(mapped.png))), (values == 1).astype(np.uint8))
    for broken, message in (
        (zlib.compress(rows)[:-40], "the compressed stream is cut short"),
        (zlib.compress(rows[: 80 * (width + 1)]), "the stream ends early"),
        (zlib.compress(rows + b"\x00" * (width + 1)), "longer than its header declares"),
        (zlib.compress(rows + rows[: width + 1]), "longer than its header declares"),
    ):
        with pytest.raises(ist_s.InvalidInputError, match=message):
            pixels.read_mask(png(broken), "m.png", {(width, height)}, mapping)


def _variant_jpeg(mode="RGB", size=(23, 17), **options) -> bytes:
    buffer = io.BytesIO()
    PIL.Image.new(mode, size, "white" if mode != "CMYK" else (0, 0, 0, 0)).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _segment(data: bytes, marker: int) -> int:
    """Where the segment with this marker starts (its FF byte)."""
    return next(body - 4 for m, body, _ in pixels._jpeg_segments(data) if m == marker)


def _jpeg_variants() -> dict:
    exif = PIL.Image.Exif()
    exif[pixels.EXIF_ORIENTATION] = 6
    plain = _variant_jpeg()
    sof = _segment(plain, 0xC0)
    dqt = _segment(plain, 0xDB)
    app0 = _segment(plain, 0xE0)
    return {
        "plain": plain,
        "grey": _variant_jpeg("L"),
        "cmyk": _variant_jpeg("CMYK"),
        "progressive": _variant_jpeg(progressive=True, optimize=True),
        "restart interval": _variant_jpeg(restart_marker_blocks=1),
        "subsampled": _variant_jpeg(subsampling=2, quality=30),
        "exif orientation": _variant_jpeg(exif=exif.tobytes()),
        "icc profile": _variant_jpeg(icc_profile=b"\0" * 200),
        "comment": _variant_jpeg(comment=b"a comment"),
        "xmp": _variant_jpeg(xmp=b'<x tiff:Orientation="8"/>'),
        "12-bit frame": plain[: sof + 4] + b"\x0c" + plain[sof + 5 :],
        "two-component frame": plain[: sof + 9] + b"\x02" + plain[sof + 10 :],
        "zero height": plain[: sof + 5] + b"\0\0" + plain[sof + 7 :],
        "short table": plain[: dqt + 2] + b"\x00\x42" + plain[dqt + 4 :],  # one table, cut short
        "short jfif": plain[:app0] + b"\xff\xe0\x00\x07JFIF\x00" + plain[app0 + 2 + 16 :],
        "huge": plain[: sof + 5] + struct.pack(">HH", 60000, 60000) + plain[sof + 9 :],
        "frame one byte long": plain[: sof + 2] + b"\x00\x12" + plain[sof + 4 : sof + 19] + b"\0" + plain[sof + 19 :],
    }


@pytest.mark.parametrize("limit", [PIL.Image.MAX_IMAGE_PIXELS, 0], ids=["pil-limit", "no-pixel-allowed"])
@pytest.mark.parametrize("name", list(_jpeg_variants()))
def test_a_jpeg_header_reads_as_pil_reads_it_whether_or_not_pil_is_opened(name, limit, monkeypatch):
    """Plain headers are read without PIL (`pixels.plain_jpeg_size`); every header reads (or fails) alike."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", limit)
    data = _jpeg_variants()[name]

    def read() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            try:
                return pixels.jpeg_header(data, "x.jpg")
            except pixels.InvalidInputError as e:
                return str(e)

    fast, read_without_pil = read(), pixels.plain_jpeg_size(data, list(pixels._jpeg_segments(data)))
    monkeypatch.setattr(pixels, "plain_jpeg_size", lambda data, segments: None)
    assert fast == read()  # PIL's answer
    plain = name in ("plain", "grey", "progressive", "restart interval", "subsampled")  # CMYK: Adobe APP14
    assert (read_without_pil is not None) == (plain and limit != 0), read_without_pil
