"""The photo look of the synthetic stand-ins (what the demo shows) and the preview's tile captions."""

import collections
import io

import numpy as np
import PIL.Image
import pytest

import coco_ts
import mlt_s
from scene_text_seg import inspect, synthetic
from tests.conftest import build, raw

TEXT_FREE = {"train": {5, 6}, "test": {2}}


@pytest.fixture(scope="module", params=[(40, 24), (320, 180)], ids=["tests' size", "demo size"])
def photo_inputs(request, tmp_path_factory):
    """(folder, expected): IST_S inputs in the photo look, with words and text-free images."""
    root = str(tmp_path_factory.mktemp("photo"))
    return root, synthetic.write_inputs(root, size=request.param, look="photo", words=True, text_free=TEXT_FREE)


def labelled(expected):
    """(split, image_id, Expected) of every image with a mask."""
    return [(s, k, v) for s, items in expected.items() for k, v in items.items() if v.mask is not None]


def inside(polygon, shape):
    """Pixels (row, column) inside a convex quadrilateral, its edges included."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    corners = np.asarray(polygon, float).reshape(4, 2)
    crosses = np.stack(
        [
            (b[0] - a[0]) * (ys - a[1]) - (b[1] - a[1]) * (xs - a[0])
            for a, b in zip(corners, np.roll(corners, -1, 0), strict=True)
        ]
    )
    return (crosses >= 0).all(axis=0) | (crosses <= 0).all(axis=0)


def on_mask_grid(item, raw_map):
    """A map drawn on the photo's raw grid, moved to the grid the mask was drawn on."""
    if item.grid != "oriented":
        return raw_map
    image = PIL.Image.fromarray(raw_map.astype(np.uint8) * 255, "L")
    return np.asarray(image.transpose(synthetic.ORIENTATION_TRANSPOSE[item.orientation])) > 0


def raw_shape(item):
    with PIL.Image.open(io.BytesIO(item.photo)) as photo:
        return photo.size[::-1]


def regions(pixels):
    """How many 8-connected regions the True pixels form."""
    left, count = set(zip(*np.nonzero(pixels), strict=True)), 0
    while left:
        count += 1
        stack = [left.pop()]
        while stack:
            y, x = stack.pop()
            for near in [(y + dy, x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]:
                if near in left:
                    left.remove(near)
                    stack.append(near)
    return count


def test_masks_are_drawn_from_glyphs_not_boxes(photo_inputs):
    _, expected = photo_inputs
    checked = 0
    for split, image_id, item in labelled(expected):
        text = item.mask == 1
        if image_id in {f"img_{n}" for n in TEXT_FREE[split]}:
            continue
        ys, xs = np.nonzero(text)
        assert len(ys), image_id
        assert regions(text) > 1, image_id  # letters, not one block
        box_area = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        assert text.sum() < 0.8 * box_area, image_id  # not a filled rectangle
        checked += 1
    assert checked >= 12


def test_every_text_pixel_lies_inside_its_word_polygon(photo_inputs):
    _, expected = photo_inputs
    for _, image_id, item in labelled(expected):
        shape = raw_shape(item)
        legible = [p for p, ignore in zip(item.words["polygon"], item.words["ignore"], strict=True) if not ignore]
        covered = np.zeros(item.mask.shape, bool)
        for polygon in item.words["polygon"]:
            xs, ys = polygon[::2], polygon[1::2]
            assert 0 <= min(xs) and max(xs) < shape[1] and 0 <= min(ys) and max(ys) < shape[0], image_id
        for polygon in legible:
            word = on_mask_grid(item, inside(polygon, shape))
            assert (item.mask[word] == 1).any(), (image_id, polygon)  # each word holds text
            covered |= word
        assert not (item.mask[~covered] == 1).any(), image_id  # and no text lies outside the words


def test_the_uncertain_ring_surrounds_text_where_the_mode_can_hold_it(photo_inputs):
    _, expected = photo_inputs
    modes = collections.Counter()
    for _, image_id, item in labelled(expected):
        modes[item.mask_mode] += 1
        if item.mask_mode in ("1", "P2"):  # 1-bit and 2-colour masks cannot hold 255: no ring
            assert set(np.unique(item.mask)) <= {0, 1}, image_id
            continue
        padded = np.pad(item.mask, 1, constant_values=255)
        height, width = item.mask.shape
        neighbours = [
            padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
        ]
        text = item.mask == 1
        assert all((n[text] != 0).all() for n in neighbours), image_id  # text never touches background
        if text.any():
            assert ((item.mask == 255) & np.any([n == 1 for n in neighbours], axis=0)).any(), image_id
    assert {"L", "P", "1", "P2"} <= set(modes)


def test_text_free_images_have_no_text_pixel_and_only_dont_care_words(photo_inputs):
    _, expected = photo_inputs
    for split, numbers in TEXT_FREE.items():
        for number in numbers:
            item = expected[split][f"img_{number}"]
            assert item.mask is not None and not item.mask.any()
            assert item.words["ignore"] and all(item.words["ignore"])
            assert set(item.words["text"]) == {"###"}


def test_photo_look_is_seeded(tmp_path):
    first = synthetic.write_inputs(str(tmp_path / "a"), seed=7, look="photo", words=True)
    again = synthetic.write_inputs(str(tmp_path / "b"), seed=7, look="photo", words=True)
    other = synthetic.write_inputs(str(tmp_path / "c"), seed=8, look="photo", words=True)
    assert synthetic.checksums(str(tmp_path / "a")) == synthetic.checksums(str(tmp_path / "b"))
    for split, items in first.items():
        for image_id, item in items.items():
            assert item.photo == again[split][image_id].photo
            assert item.words == again[split][image_id].words
    assert [i.photo for i in first["train"].values()] != [i.photo for i in other["train"].values()]
    assert [i.words for i in first["train"].values()] != [i.words for i in other["train"].values()]


def test_the_smallest_size_still_holds_words(tmp_path):
    expected = synthetic.write_inputs(str(tmp_path), size=synthetic.MIN_PHOTO_SIZE, look="photo")
    for _, image_id, item in labelled(expected):
        assert (item.mask == 1).any(), image_id


@pytest.mark.parametrize(
    "writer", [synthetic.write_inputs, synthetic.write_mlt_s_inputs, synthetic.write_coco_ts_inputs]
)
def test_writers_name_a_bad_look_or_a_size_too_small(writer, tmp_path):
    with pytest.raises(ValueError, match=r"^look: expected one of 'boxes', 'photo', found 'cartoon'$"):
        writer(str(tmp_path), look="cartoon")
    with pytest.raises(ValueError, match=r"^size: look='photo' needs at least 24x16 pixels, found 23x40$"):
        writer(str(tmp_path), size=(23, 40), look="photo")


def test_photo_inputs_load_to_what_the_generator_expects(photo_inputs, cache_dir):
    """Masks decode to Expected.mask; once decoded, every text pixel lies inside a legible word's polygon."""
    root, expected = photo_inputs
    dataset = build(root, cache_dir, config="words")
    for split, items in expected.items():
        for row in dataset[split]:
            item = items[row["image_id"]]
            if row["mask"] is None:
                assert item.mask is None
                continue
            mask = np.asarray(row["mask"])
            np.testing.assert_array_equal(mask, item.mask)
            assert row["image"].size == row["mask"].size
            legible = np.zeros(mask.shape, bool)
            for polygon, ignore in zip(row["words"]["polygon"], row["words"]["ignore"], strict=True):
                if not ignore:
                    legible |= inside(polygon, mask.shape)
            assert not (mask[~legible] == 1).any(), row["image_id"]


def test_sister_stand_ins_in_the_photo_look_load_as_expected(tmp_path):
    """MLT_S (JPEG, PNG, GIF photos) and COCO_TS (grey JPEGs among them) in the photo look."""
    for module, writer in ((mlt_s, synthetic.write_mlt_s_inputs), (coco_ts, synthetic.write_coco_ts_inputs)):
        root = str(tmp_path / module.__name__)
        expected = writer(root, look="photo")
        dataset = module.load(root, cache_dir=str(tmp_path / "cache"), verification_mode="no_checks")
        modes = set()
        for split, rows in dataset.items():
            for row in rows:
                np.testing.assert_array_equal(np.asarray(row["mask"]), expected[split][row["image_id"]].mask)
                modes.add(row["image"].mode)
        extensions = {item.extension for items in expected.values() for item in items.values()}
        if module is mlt_s:
            assert extensions == {".jpg", ".JPG", ".png", ".gif"}
        else:
            assert extensions == {".jpg"} and modes == {"L", "RGB"}  # grey JPEGs among COCO's


# ---- preview captions ----------------------------------------------------------------------------------------


def expected_caption(image_id, item):
    notes = []
    if item.mask is None:
        notes.append("unlabelled")
    elif not (item.mask == 1).any():
        notes.append("no text")
    if item.orientation not in (None, 1) and item.grid != "raw":  # a tag on the raw grid is cleared
        notes.append("EXIF-turned")
    return f"{image_id}: {', '.join(notes)}" if notes else image_id


@pytest.fixture(scope="module")
def every_image(tmp_path_factory):
    """(expected, dataset): tiny photo-look inputs built with every image (config with_unlabeled)."""
    root = str(tmp_path_factory.mktemp("captions"))
    expected = synthetic.write_inputs(root, look="photo", text_free=TEXT_FREE)
    return expected, build(root, str(tmp_path_factory.mktemp("cache")), config="with_unlabeled")


def test_tile_captions_name_unlabelled_text_free_and_exif_turned_rows(every_image):
    expected, dataset = every_image
    captions = [inspect.tile_caption(row) for split in ("train", "test") for row in raw(dataset[split])]
    wanted = [expected_caption(k, expected[s][k]) for s in ("train", "test") for k in dataset[s]["image_id"]]
    assert captions == wanted
    for note in ("unlabelled", "no text", "EXIF-turned"):
        assert any(note in caption for caption in captions), note
    assert "img_1" in captions  # a labelled, upright photo with text gets its image_id alone
    assert "img_4: unlabelled, EXIF-turned" in captions
    assert "img_5: no text" in captions


def test_tile_caption_reads_a_decoded_mask_and_refuses_a_decoded_photo(every_image):
    _, dataset = every_image
    stored, decoded = raw(dataset["train"])[4], dataset["train"][4]
    assert inspect.tile_caption({**stored, "mask": decoded["mask"]}) == inspect.tile_caption(stored)
    with pytest.raises(TypeError, match=r"^row\['image'\]: expected the stored form .*got .*Image"):
        inspect.tile_caption(decoded)
    with pytest.raises(ValueError, match=r"^row: expected the columns image_id, image and mask, missing mask$"):
        inspect.tile_caption({"image_id": "x", "image": stored["image"]})
    with pytest.raises(TypeError, match=r"^row: expected a dataset row"):
        inspect.tile_caption(["img_1"])


def test_render_preview_draws_every_row_and_checks_its_arguments(every_image):
    _, dataset = every_image
    grid = inspect.render_preview(dataset["train"], n=100, cell=64)
    rows = -(-dataset["train"].num_rows // 4)
    assert grid.size == (4 + 4 * 68, 4 + rows * (48 + 22))
    for argument, value, error in (("n", 0, ValueError), ("seed", -1, ValueError), ("cell", 8, ValueError)):
        with pytest.raises(error, match=f"^{argument}: expected at least"):
            inspect.render_preview(dataset["train"], **{argument: value})
    with pytest.raises(TypeError, match=r"^n: expected an integer, got float 2.0$"):
        inspect.render_preview(dataset["train"], n=2.0)
    with pytest.raises(TypeError, match=r"^dataset: expected a datasets.Dataset"):
        inspect.render_preview(dataset)
    with pytest.raises(ValueError, match=r"^dataset: expected the columns image_id, image and mask, missing mask"):
        inspect.render_preview(dataset["train"].remove_columns("mask"))
    with pytest.raises(ValueError, match=r"^dataset: expected at least one row"):
        inspect.render_preview(dataset["train"].select([]))
