"""Nothing silently wrong after the build: the training transform's arguments are checked when it is
made (never at the first row), the columns it reads are found or named, and what `augment` returns is
checked on every row."""

import datasets
import numpy as np
import PIL.Image
import pytest

import ist_s
from scene_text_seg import transform
from tests.conftest import build


@pytest.fixture(scope="module")
def built(zip_inputs, tmp_path_factory):
    """The default config's splits, built once for this module."""
    return build(zip_inputs[0], str(tmp_path_factory.mktemp("checks_cache")))


@pytest.fixture
def no_row_read(monkeypatch):
    """Fail the test if any row is decoded: a check must come when the transform is made."""

    def refuse(*args, **kwargs):
        raise AssertionError("a row was read before the arguments were checked")

    monkeypatch.setattr(transform, "decode_image", refuse)
    monkeypatch.setattr(transform, "decode_mask", refuse)
    monkeypatch.setattr(transform, "resized_labels", refuse)


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---- columns ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["arrow", "streaming"])
def test_a_renamed_mask_column_is_named_not_read_as_all_ignore(zip_inputs, built, streaming, no_row_read):
    rows = ist_s.load(zip_inputs[0], split="train", streaming=True) if streaming else built["train"]
    renamed = rows.rename_columns({"mask": "label"})
    with pytest.raises(ValueError) as error:
        ist_s.for_training(renamed, size=(24, 40))
    message = one_line(error)
    assert "no column 'mask' (label_column)" in message and "'label'" in message and "label_column=" in message
    assert "image_id" in message  # the dataset's columns are listed


@pytest.mark.parametrize("streaming", [False, True], ids=["arrow", "streaming"])
def test_label_column_reads_a_renamed_mask_column(zip_inputs, built, streaming):
    rows = ist_s.load(zip_inputs[0], split="train", streaming=True) if streaming else built["train"]
    expected = [row["labels"] for row in ist_s.for_training(built["train"], size=(24, 40))]
    ready = ist_s.for_training(rows.rename_columns({"mask": "label"}), size=(24, 40), label_column="label")
    got = [row["labels"] for row in ready]
    assert len(got) == len(expected) and any((labels == 1).any() for labels in got)
    for labels, wanted in zip(got, expected, strict=True):
        np.testing.assert_array_equal(labels, wanted)


def test_a_renamed_image_column_is_named_and_image_column_reads_it(built, no_row_read):
    renamed = built.rename_columns({"image": "pixel_source"})  # a DatasetDict: the split is named
    with pytest.raises(ValueError) as error:
        ist_s.for_training(renamed)
    message = one_line(error)
    assert message.startswith("split 'train' has no column 'image' (image_column)") and "'pixel_source'" in message
    ist_s.for_training(renamed, image_column="pixel_source")  # accepted; rows are read below, not here


def test_image_column_option_gives_the_same_rows(built):
    renamed = built["test"].rename_columns({"image": "photo", "mask": "label"})
    ready = ist_s.for_training(renamed, image_column="photo", label_column="label")
    for row, wanted in zip(ready, ist_s.for_training(built["test"]), strict=True):
        np.testing.assert_array_equal(row["pixel_values"], wanted["pixel_values"])
        np.testing.assert_array_equal(row["labels"], wanted["labels"])


def test_a_column_that_is_not_an_image_is_refused(built, no_row_read):
    with pytest.raises(ValueError) as error:
        ist_s.for_training(built["train"], label_column="image_id")
    message = one_line(error)
    assert "column 'image_id' (label_column) is Value(" in message and "not a datasets.Image()" in message
    assert "['image', 'mask']" in message  # the Image columns it has


def test_a_dataset_without_an_image_column(built, no_row_read):
    with pytest.raises(ValueError, match=r"the dataset has no column 'image' \(image_column\)"):
        ist_s.for_training(built["train"].remove_columns("image"))


def test_an_iterable_dataset_whose_features_are_unknown(zip_inputs):
    streamed = ist_s.load(zip_inputs[0], split="test", streaming=True)
    unknown = streamed.map(lambda batch: batch, batched=True)
    assert unknown.features is None  # what a map without features= leaves
    with pytest.raises(ValueError) as error:
        ist_s.for_training(unknown)
    message = one_line(error)
    assert "unknown features" in message and "cast(features)" in message and "features=" in message
    restored = ist_s.for_training(unknown.cast(streamed.features), size=(24, 40))  # what the message says to do
    assert len(list(restored)) == 6


def test_label_column_none_gives_rows_without_labels(built):
    """Rows without labels (inference): pixel_values only, never labels made up of 255."""
    plain = ist_s.for_training(built["test"], size=(24, 40))
    for rows in (built["test"], built["test"].remove_columns("mask")):
        ready = ist_s.for_training(rows, size=(24, 40), label_column=None)
        examples = list(ready)
        assert examples and all(set(example) == {"pixel_values"} for example in examples)
        for example, wanted in zip(examples, plain, strict=True):
            np.testing.assert_array_equal(example["pixel_values"], wanted["pixel_values"])
    with pytest.raises(ValueError, match="augment transforms image and mask together"):
        ist_s.TrainingTransform(label_column=None, augment=lambda image, mask: {"image": image, "mask": mask})


def test_the_transform_names_a_column_its_batch_lacks(built):
    batch = built["train"][:2]
    with pytest.raises(ValueError) as error:
        ist_s.TrainingTransform(label_column="label")(batch)
    message = one_line(error)
    assert "the batch has no column 'label' (label_column)" in message and "'mask'" in message
    assert message.endswith("(a Trainer needs remove_unused_columns=False)")  # the usual way to lose them
    renamed = {("photo" if key == "image" else key): value for key, value in batch.items()}
    with pytest.raises(ValueError, match=r"the batch has no column 'image' \(image_column\)"):
        ist_s.training_transform(renamed)
    with pytest.raises(TypeError, match=r"got one row: pass dataset\[i : i \+ 1\]"):
        ist_s.training_transform(built["train"][0])
    assert ist_s.training_transform(renamed, image_column="photo")["labels"].shape[0] == 2


# ---- arguments, checked when the transform is made -------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 512, 512.0, (0, 0), (0, 8), (-4, 8), (24.0, 40.0), (24, 40.5), (True, 8), (24,), (24, 40, 3), "24x40", {}],
)
def test_a_bad_size_is_refused_naming_size(built, size, no_row_read):
    with pytest.raises(ValueError) as error:
        ist_s.for_training(built["train"], size=size)
    message = one_line(error)
    assert message.startswith("size must be") and repr(size) in message
    assert "(512, 512)" in message or f"({size}, {size})" in message  # how to ask for a square
    with pytest.raises(ValueError, match="size must be"):
        ist_s.TrainingTransform(size=size)
    if size in (0, 512):  # 512.0 too
        square = "give (512, 512) for a square"
        assert message == f"size must be (height, width), two positive ints; got the single number {size!r}: {square}"


def test_good_sizes_are_taken_as_height_and_width(built):
    for size in ([24, 40], (np.int64(24), 40), np.array([24, 40])):
        row = ist_s.for_training(built["train"], size=size)[0]
        assert row["pixel_values"].shape == (3, 24, 40) and row["labels"].shape == (24, 40)


@pytest.mark.parametrize(
    ("mean", "std", "wrong"),
    [
        (transform.IMAGENET_MEAN, (0.229, 0.0, 0.225), "std must be > 0"),
        (transform.IMAGENET_MEAN, (0.229, -0.2, 0.225), "std must be > 0"),
        ((0.5, 0.5), transform.IMAGENET_STD, "mean must be 3 finite numbers"),
        ((0.5,) * 4, transform.IMAGENET_STD, "mean must be 3 finite numbers"),
        (transform.IMAGENET_MEAN, (0.2, float("nan"), 0.2), "std must be 3 finite numbers"),
        ((0.5, float("inf"), 0.5), transform.IMAGENET_STD, "mean must be 3 finite numbers"),
        (0.5, transform.IMAGENET_STD, "mean must be 3 finite numbers"),
        ("rgb", transform.IMAGENET_STD, "mean must be 3 finite numbers"),
        (transform.IMAGENET_MEAN, ("0.2", "0.2", "0.2"), "std must be 3 finite numbers"),
        (np.zeros((3, 1)), transform.IMAGENET_STD, "mean must be 3 finite numbers"),  # said on one line
    ],
)
def test_bad_mean_or_std_is_refused_before_pixels_turn_nan(built, mean, std, wrong, no_row_read):
    with pytest.raises(ValueError, match=wrong) as error:
        ist_s.for_training(built["train"], mean=mean, std=std)
    one_line(error)
    with pytest.raises(ValueError, match=wrong):
        ist_s.training_transform({"image": [], "mask": []}, mean=mean, std=std)


@pytest.mark.training_stack
def test_device_feed_refuses_a_zero_std():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="std must be > 0"):
        ist_s.DeviceFeed([], mean=transform.IMAGENET_MEAN, std=(0.2, 0.2, 0))


def test_mean_and_std_as_arrays_still_normalise(built):
    mean, std = np.array(transform.IMAGENET_MEAN), np.array(transform.IMAGENET_STD, np.float32)
    listed = ist_s.for_training(built["train"], mean=transform.IMAGENET_MEAN, std=transform.IMAGENET_STD)[0]
    arrays = ist_s.for_training(built["train"], mean=mean, std=std)[0]
    np.testing.assert_allclose(arrays["pixel_values"], listed["pixel_values"], rtol=1e-6)


@pytest.mark.parametrize(
    ("options", "error", "wrong"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
        ({"batch_size": -2}, ValueError, "batch_size must be a positive int"),
        ({"batch_size": 2.5}, ValueError, "batch_size must be a positive int"),
        ({"batch_size": True}, ValueError, "batch_size must be a positive int"),
        ({"augment": "flip"}, TypeError, "augment must be callable"),
        ({"dct_scaling": "no"}, TypeError, "dct_scaling must be True or False, got 'no'"),
        ({"uint8": 1}, TypeError, "uint8 must be True or False, got 1"),
        ({"image_column": None}, TypeError, "image_column must be a column name"),
        ({"label_column": 3}, TypeError, "label_column must be a column name"),
        ({"label_column": "image"}, ValueError, "image_column and label_column must differ"),
    ],
)
def test_bad_options_are_refused_naming_the_argument(built, options, error, wrong, no_row_read):
    with pytest.raises(error, match=wrong) as raised:
        ist_s.for_training(built, **options)
    one_line(raised)


# ---- what augment returns, checked on every row ----------------------------------------------------


def returning(make):
    """An augment whose result `make(image, mask)` gives."""
    return lambda image, mask: make(image, mask)


BAD_AUGMENTS = {
    "None": (returning(lambda image, mask: None), "a dict holding 'image' and 'mask'; it returned None$"),
    "no mask": (
        returning(lambda image, mask: {"image": image}),
        r"a dict holding 'image' and 'mask'; it returned dict with keys \['image'\] \('image': ndarray uint8",
    ),
    "a tuple": (returning(lambda image, mask: (image, mask)), "a dict holding 'image' and 'mask'; it returned tuple"),
    "a CHW image": (
        returning(lambda image, mask: {"image": image.transpose(2, 0, 1), "mask": mask}),
        "the image as uint8 HWC with 3 channels",
    ),
    "a greyscale image": (
        returning(lambda image, mask: {"image": image[..., 0], "mask": mask}),
        "the image as uint8 HWC with 3 channels",
    ),
    "a float image": (
        returning(lambda image, mask: {"image": image / 255.0, "mask": mask}),
        "the image as uint8 HWC with 3 channels.*'image': ndarray float64",
    ),
    "an HxWx1 mask": (
        returning(lambda image, mask: {"image": image, "mask": mask[..., None]}),
        r"the mask as HW integer labels.*'mask': ndarray uint8 \(\d+, \d+, 1\)",
    ),
    "a float mask": (
        returning(lambda image, mask: {"image": image, "mask": mask.astype(np.float32)}),
        "the mask as HW integer labels.*'mask': ndarray float32",
    ),
    "an image cropped alone": (
        returning(lambda image, mask: {"image": image[2:], "mask": mask}),
        "a mask of the image's height and width",
    ),
    "a transposed mask": (
        returning(lambda image, mask: {"image": image, "mask": mask.T}),
        "a mask of the image's height and width",
    ),
    "mask values beyond uint8": (
        returning(lambda image, mask: {"image": image, "mask": mask.astype(np.int64) + 300}),
        "mask values that fit uint8",
    ),
}


@pytest.mark.parametrize("case", list(BAD_AUGMENTS))
@pytest.mark.parametrize("size", [None, (24, 40)], ids=["own size", "resized"])
def test_a_bad_augment_result_is_refused_naming_augment(built, case, size):
    augment, wrong = BAD_AUGMENTS[case]
    ready = ist_s.for_training(built["train"], size=size, augment=augment)
    with pytest.raises(ValueError, match=f"^augment must return {wrong}") as error:
        ready[:4]
    one_line(error)


def test_an_augment_result_is_described_by_its_keys_dtypes_and_shapes(built):
    height, width = np.asarray(built["train"][0]["image"]).shape[:2]
    assert height != width  # so that a transposed mask is the wrong shape
    ready = ist_s.for_training(built["train"], augment=returning(lambda image, mask: {"image": image, "mask": mask.T}))
    with pytest.raises(ValueError) as error:
        ready[0]
    assert one_line(error).endswith(
        f"it returned dict with keys ['image', 'mask'] ('image': ndarray uint8 ({height}, {width}, 3), "
        f"'mask': ndarray uint8 ({width}, {height}))"
    )


def test_a_good_augment_still_works(built):
    """A flip, handing the mask back as int64 (as some libraries do): labels flipped, uint8 on the way."""
    flip = returning(lambda image, mask: {"image": image[:, ::-1], "mask": mask[:, ::-1].astype(np.int64), "x": 1})
    plain = ist_s.for_training(built["train"], uint8=True)
    flipped = ist_s.for_training(built["train"], augment=flip, uint8=True)
    for index in range(len(built["train"])):
        row, wanted = flipped[index], plain[index]
        assert row["labels"].dtype == np.uint8
        np.testing.assert_array_equal(row["labels"], wanted["labels"][:, ::-1])
        np.testing.assert_array_equal(row["pixel_values"], wanted["pixel_values"][:, :, ::-1])
    sized = ist_s.for_training(built["train"], size=(24, 40), augment=flip)[:3]
    assert sized["pixel_values"].shape == (3, 3, 24, 40) and sized["labels"].shape == (3, 24, 40)


def test_a_mask_off_its_image_grid_is_refused_where_nothing_resizes_both():
    image, mask = PIL.Image.new("RGB", (4, 3)), PIL.Image.new("L", (3, 4), 1)  # a transposed mask
    with pytest.raises(ValueError, match="'mask' is 3x4, its image 4x3: a mask must be on its image's pixel grid"):
        ist_s.training_transform({"image": [image], "mask": [mask]})
    resized = ist_s.training_transform({"image": [image], "mask": [mask]}, size=(6, 8))  # each resized to size
    assert resized["pixel_values"].shape == (1, 3, 6, 8) and (resized["labels"] == 1).all()


def test_a_users_own_dataset_with_other_column_names():
    """A plain in-memory Dataset (no builder) with renamed columns, as a user's own data would be."""
    photo = {"bytes": _png(np.zeros((3, 4, 3), np.uint8)), "path": None}
    mask = {"bytes": _png(np.ones((3, 4), np.uint8)), "path": None}
    features = datasets.Features({"pixels": datasets.Image(), "label": datasets.Image()})
    own = datasets.Dataset.from_dict({"pixels": [photo], "label": [mask]}, features=features)
    with pytest.raises(ValueError, match="no column 'image'"):
        ist_s.for_training(own)
    row = ist_s.for_training(own, image_column="pixels", label_column="label")[0]
    assert row["pixel_values"].shape == (3, 3, 4) and (row["labels"] == 1).all()


def _png(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    PIL.Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()
