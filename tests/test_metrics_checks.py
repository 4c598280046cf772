"""The metrics score only what they can: hand-computed confusion matrices for every accepted form of
input, and one-line errors naming the argument for every input they refuse."""

import contextlib
import logging

import numpy as np
import pytest

import ist_s
from scene_text_seg import metrics
from scene_text_seg.metrics import MetricInputError, MetricInputTypeError, confusion_matrix, metrics_from_confusion


def expected(confusion) -> dict:
    """The metrics of a hand-computed confusion matrix (row = label, column = prediction)."""
    return pytest.approx(metrics_from_confusion(np.array(confusion, np.int64)), nan_ok=True)


@contextlib.contextmanager
def refused(error: type, *fragments: str):
    """Like pytest.raises(error), and the error's one-line message holds every fragment."""
    with pytest.raises(error) as info:
        yield
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# ---- accepted inputs, against hand-computed confusion matrices ----------------------------------------


def test_perfect_prediction():
    labels = np.array([[0, 1], [1, 0]], np.uint8)
    np.testing.assert_array_equal(confusion_matrix(labels, labels), [[2, 0], [0, 2]])
    assert ist_s.segmentation_metrics(labels, labels) == expected([[2, 0], [0, 2]])
    assert ist_s.segmentation_metrics(labels, labels)["text_fscore"] == 1


def test_no_text_anywhere():
    zeros = np.zeros((3, 5), np.int64)
    np.testing.assert_array_equal(confusion_matrix(zeros, zeros), [[15, 0], [0, 0]])
    scores = ist_s.segmentation_metrics(zeros, zeros)
    assert scores["iou_background"] == 1 and np.isnan(scores["iou_text"]) and np.isnan(scores["text_fscore"])


def test_all_ignored():
    predictions, labels = np.array([[0, 1], [1, 1]]), np.full((2, 2), 255)
    np.testing.assert_array_equal(confusion_matrix(predictions, labels), [[0, 0], [0, 0]])
    assert all(np.isnan(value) for value in ist_s.segmentation_metrics(predictions, labels).values())


def test_trainer_padding_is_ignored():
    predictions, labels = np.array([[1, 1, 0, 0]]), np.array([[1, 0, -100, -100]])
    np.testing.assert_array_equal(confusion_matrix(predictions, labels), [[0, 1], [0, 1]])


def test_bool_predictions_are_text_masks():
    predictions = np.array([[True, False], [False, True]])
    labels = np.array([[1, 1], [0, 1]], np.uint8)
    np.testing.assert_array_equal(confusion_matrix(predictions, labels), [[1, 0], [1, 2]])
    assert ist_s.segmentation_metrics(predictions, labels) == expected([[1, 0], [1, 2]])


def test_every_integer_dtype_counts_the_same():
    predictions = np.array([[0, 1, 1], [1, 0, 0]])
    labels = np.array([[0, 1, 255], [0, 0, 1]])
    for predicted_type in (np.uint8, np.int8, np.int16, np.uint16, np.int32, np.int64, np.uint64):
        for label_type in (np.uint8, np.int16, np.uint16, np.int32, np.int64):
            confusion = confusion_matrix(predictions.astype(predicted_type), labels.astype(label_type))
            np.testing.assert_array_equal(confusion, [[2, 1], [1, 1]], err_msg=f"{predicted_type} {label_type}")


def test_counts_every_step_of_a_large_map():
    """More pixels than one counting step: every step is counted, including a short last one."""
    size = 3 * metrics._CHUNK + 17
    labels = np.zeros(size, np.int64)
    labels[::3] = 1
    labels[1::7] = 255
    predictions = np.zeros(size, np.uint8)
    predictions[::2] = 1
    reference = np.zeros((2, 2), np.int64)
    for label in (0, 1):
        for prediction in (0, 1):
            reference[label, prediction] = np.count_nonzero((labels == label) & (predictions == prediction))
    np.testing.assert_array_equal(confusion_matrix(predictions, labels), reference)
    assert reference.sum() == size - np.count_nonzero(labels == 255)


def test_sequences_of_any_sizes_and_generators():
    predictions = [np.array([[1, 0]]), np.array([[True], [True], [False]])]
    labels = [np.array([[1, 1]]), np.array([[1], [255], [0]])]
    assert ist_s.segmentation_metrics(predictions, labels) == expected([[1, 0], [1, 2]])
    assert ist_s.segmentation_metrics(iter(predictions), iter(labels)) == expected([[1, 0], [1, 2]])


@pytest.mark.training_stack
def test_one_channel_is_the_text_logit():
    pytest.importorskip("torch")
    logits = np.array([[[[3.0, -3.0], [-0.5, 0.25]]]], np.float32)  # (1, 1, 2, 2): text where > 0
    labels = np.array([[[1, 0], [1, 1]]])
    assert ist_s.compute_metrics((logits, labels)) == expected([[1, 0], [1, 2]])
    quarter = np.full((2, 1, 1, 1), -1.0, np.float32)
    quarter[0] = 2.0  # image 0 text everywhere, image 1 background, at 1/4 of the labels' size
    labels = np.zeros((2, 4, 4), np.int64)
    labels[0, 0] = 1
    assert ist_s.compute_metrics((quarter, labels)) == expected(
        [[16, 12], [0, 4]]
    )  # image 0: 12 false text, 4 text hits


@pytest.mark.training_stack
def test_two_channels_at_lower_resolution_are_upsampled_bilinearly_then_argmaxed():
    pytest.importorskip("torch")
    EvalPrediction = pytest.importorskip("transformers").EvalPrediction

    logits = np.zeros((1, 2, 2, 2), np.float32)
    logits[0, 1, :, 0], logits[0, 1, :, 1] = 1.0, -1.0  # text margin +1 left, -1 right
    # bilinear 2 -> 4 (align_corners=False) samples columns at 0, 0.25, 0.75, 1: margins 1, .5, -.5, -1
    labels = np.array([[[255, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0]]])
    # column 0: 3 text hits; column 1: 4; column 2: 4 text missed; column 3: 4 background hits
    prediction = EvalPrediction(predictions=(logits, "hidden states"), label_ids=labels)
    assert ist_s.compute_metrics(prediction) == expected([[4, 0], [4, 7]])
    assert ist_s.compute_metrics((logits, labels)) == expected([[4, 0], [4, 7]])
    assert ist_s.compute_metrics([[logits], labels]) == expected([[4, 0], [4, 7]])


@pytest.mark.training_stack
def test_two_channels_agree_with_torch_argmax_and_ties_are_background():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(5, 2, 6, 9)).astype(np.float32)
    labels = rng.choice(np.array([0, 1, 255]), size=(5, 24, 36))
    upsampled = torch.nn.functional.interpolate(torch.from_numpy(logits), size=(24, 36), mode="bilinear")
    reference = confusion_matrix(upsampled.argmax(dim=1).numpy(), labels)
    assert ist_s.compute_metrics((logits, labels), chunk=2) == expected(reference)
    tied = np.ones((1, 2, 2, 2), np.float32)  # torch's argmax picks the first of equal scores
    assert ist_s.compute_metrics((tied, np.array([[[0, 0], [1, 1]]]))) == expected([[2, 0], [2, 0]])


@pytest.mark.training_stack
def test_one_channel_probabilities_are_warned_about(caplog):
    pytest.importorskip("torch")
    probabilities = np.full((1, 1, 2, 2), 0.2, np.float32)
    with caplog.at_level(logging.WARNING, logger="datasets"):
        ist_s.compute_metrics((probabilities, np.zeros((1, 2, 2), np.int64)))
    assert "probabilities" in caplog.text


def test_where_names_the_file():
    with refused(MetricInputError, "preds/img_3.png", "2 in 1 pixel"):
        confusion_matrix(
            np.array([[0, 2]]), np.array([[0, 1]]), where="preds/img_3.png", labels_where="ist_s test img_3"
        )
    with refused(MetricInputError, "ist_s test img_3", "7 in 1 pixel"):
        confusion_matrix(
            np.array([[0, 1]]), np.array([[0, 7]]), where="preds/img_3.png", labels_where="ist_s test img_3"
        )


# ---- refused inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2, 3, -1, 255, -100])
def test_predictions_outside_the_classes(value):
    predictions, labels = np.array([[0, 1, value, value]]), np.array([[0, 1, 0, 0]])
    with refused(MetricInputError, "predictions", f"{value} in 2 pixels", "0..1"):
        ist_s.segmentation_metrics(predictions, labels)
    with refused(ValueError, "predictions[1]", str(value)):
        ist_s.segmentation_metrics([labels, predictions], [labels, labels])


def test_a_0_255_mask_gets_a_hint_and_many_values_are_summed_up():
    with refused(MetricInputError, "255 in 1 pixel", "0/255 mask"):
        confusion_matrix(np.array([0, 255], np.uint8), np.array([0, 1]))
    with refused(MetricInputError, "2, 3, 4, 5 and 3 other values in 8 pixels"):
        confusion_matrix(np.array([2, 3, 4, 5, 6, 7, 8, 8]), np.zeros(8, np.int64))


def test_float_predictions_are_refused_with_the_argmax_hint():
    probabilities = np.array([[0.2, 0.9]])
    with refused(MetricInputTypeError, "predictions", "float64", "argmax", "logits > 0"):
        ist_s.segmentation_metrics(probabilities, np.array([[0, 1]]))
    with refused(TypeError, "predictions[0]", "float32"):
        ist_s.segmentation_metrics([probabilities.astype(np.float32)], [np.array([[0, 1]])])
    with refused(TypeError, "labels", "float64", "astype"):
        confusion_matrix(np.array([0, 1]), np.array([0.0, 1.0]))
    with refused(TypeError, "predictions", "<U1"):
        confusion_matrix(np.array(["a", "b"]), np.array([0, 1]))


@pytest.mark.parametrize("value", [7, 2, -1, 254, 1000, -200, 70000])
def test_labels_that_are_neither_classes_nor_ignored(value):
    labels = np.array([[0, 1, value, 255, -100]], np.int64)
    with refused(MetricInputError, "labels", f"{value} in 1 pixel", "255, -100"):
        ist_s.segmentation_metrics(np.zeros((1, 5), np.int64), labels)


def test_labels_out_of_range_in_a_later_step_of_a_large_map():
    labels = np.zeros(2 * metrics._CHUNK + 5, np.int64)
    labels[-1] = 7
    labels[metrics._CHUNK + 3] = 300
    with refused(MetricInputError, "labels", "7, 300 in 2 pixels"):
        confusion_matrix(np.zeros_like(labels), labels)
    predictions = np.zeros(labels.size, np.uint8)
    predictions[-2] = 9
    with refused(MetricInputError, "predictions", "9 in 1 pixel"):
        confusion_matrix(predictions, np.zeros_like(labels))
    with refused(MetricInputError, "labels", "300 in 1 pixel"):
        confusion_matrix(np.zeros(5, np.int64), np.array([0, 1, 300, 255, 0], np.uint16))


def test_shapes_must_match_pair_by_pair():
    with refused(MetricInputError, "predictions", "(2, 3)", "labels", "(3, 2)"):
        ist_s.segmentation_metrics(np.zeros((2, 3), np.int64), np.zeros((3, 2), np.int64))
    predictions = [np.zeros((2, 2), np.int64), np.zeros((4, 5), np.int64)]
    labels = [np.zeros((2, 2), np.int64), np.zeros((4, 6), np.int64)]
    with refused(MetricInputError, "predictions[1] has shape (4, 5)", "labels[1] has (4, 6)"):
        ist_s.segmentation_metrics(predictions, labels)


def test_sequences_must_have_equal_lengths():
    maps = [np.zeros((2, 2), np.int64)] * 3
    with refused(MetricInputError, "predictions has 3 maps", "labels has 2"):
        ist_s.segmentation_metrics(maps, maps[:2])
    with refused(MetricInputError, "labels ended after 2 maps", "predictions"):
        ist_s.segmentation_metrics(iter(maps), iter(maps[:2]))
    with refused(MetricInputError, "predictions ended after 1 maps"):
        ist_s.segmentation_metrics(iter(maps[:1]), maps)
    with refused(MetricInputTypeError, "predictions", "int"):
        ist_s.segmentation_metrics(3, maps)
    with refused(MetricInputTypeError, "labels[0]"):
        ist_s.segmentation_metrics([[[0, 1], [0, 1]]], [[[0, 1], [0]]])


def test_arguments_of_confusion_matrix_and_metrics_from_confusion():
    with refused(MetricInputError, "num_classes", "0"):
        confusion_matrix(np.zeros(2, np.int64), np.zeros(2, np.int64), num_classes=0)
    with refused(MetricInputTypeError, "num_classes", "float"):
        confusion_matrix(np.zeros(2, np.int64), np.zeros(2, np.int64), num_classes=2.0)
    for wrong in (np.zeros((3, 3), np.int64), np.zeros((2, 2)), np.array([[1, -1], [0, 0]])):
        with refused(MetricInputError, "confusion"):
            metrics_from_confusion(wrong)


@pytest.mark.parametrize(
    ("shape", "fragments"),
    [
        ((2, 3, 4, 4), ("logits", "(2, 3, 4, 4)", "C = 2", "1 (text logit)")),
        ((2, 4, 4, 2), ("logits", "(2, 4, 4, 2)", "channels last", "transpose(0, 3, 1, 2)")),
        ((2, 4, 4, 1), ("logits", "(2, 4, 4, 1)", "channels last")),
        ((2, 4, 4), ("logits", "(2, 4, 4)", "segmentation_metrics")),
        ((2, 1, 2, 4, 4), ("logits", "(2, 1, 2, 4, 4)")),
    ],
)
@pytest.mark.training_stack
def test_logits_of_other_shapes(shape, fragments):
    pytest.importorskip("torch")
    with refused(MetricInputError, *fragments):
        ist_s.compute_metrics((np.zeros(shape, np.float32), np.zeros((2, 4, 4), np.int64)))


@pytest.mark.training_stack
def test_labels_must_pair_with_the_logits():
    pytest.importorskip("torch")
    logits = np.zeros((2, 2, 4, 4), np.float32)
    with refused(MetricInputError, "labels", "N = 2", "(3, 4, 4)"):
        ist_s.compute_metrics((logits, np.zeros((3, 4, 4), np.int64)))
    with refused(MetricInputError, "labels", "(2, 1, 4, 4)"):
        ist_s.compute_metrics((logits, np.zeros((2, 1, 4, 4), np.int64)))
    labels = np.zeros((2, 4, 4), np.int64)
    labels[1, 0, 0] = 7
    with refused(MetricInputError, "labels[0:2]", "7 in 1 pixel"):
        ist_s.compute_metrics((logits, labels))


@pytest.mark.training_stack
def test_eval_prediction_forms_refused():
    pytest.importorskip("torch")
    EvalPrediction = pytest.importorskip("transformers").EvalPrediction

    logits, labels = np.zeros((1, 2, 2, 2), np.float32), np.zeros((1, 2, 2), np.int64)
    with refused(MetricInputTypeError, "eval_prediction", "dict"):
        ist_s.compute_metrics({"logits": logits, "labels": labels})
    with refused(MetricInputError, "eval_prediction", "no labels"):
        ist_s.compute_metrics(EvalPrediction(predictions=logits, label_ids=None))
    with refused(MetricInputTypeError, "logits", "int64"):
        ist_s.compute_metrics((logits.astype(np.int64), labels))
    with refused(MetricInputError, "chunk"):
        ist_s.compute_metrics((logits, labels), chunk=0)


@pytest.mark.training_stack
def test_non_finite_logits_are_refused_not_scored_as_background():
    pytest.importorskip("torch")
    logits = np.zeros((3, 2, 4, 4), np.float32)
    logits[2, 1, 1, 1] = np.nan
    labels = np.zeros((3, 4, 4), np.int64)
    for value in (np.nan, np.inf, -np.inf):
        logits[2, 1, 1, 1] = value
        with pytest.raises(ValueError, match=r"logits hold NaN or infinity \(a diverged model\?\) in image\(s\) \[2\]"):
            metrics.compute_metrics((logits, labels))
    logits[2, 1, 1, 1] = 1e30  # large but finite: scored
    labels[2, 1, 1] = 1
    assert metrics.compute_metrics((logits, labels))["iou_text"] == 1.0


def test_a_bool_mask_from_pil_counts_as_text_where_true():
    import PIL.Image

    mask = PIL.Image.fromarray(np.array([[0, 255, 255], [0, 0, 255]], np.uint8)).convert("1")
    predicted = np.asarray(mask)  # bool, but each True is stored as the byte 255
    assert predicted.dtype == np.bool_
    labels = np.array([[0, 1, 1], [0, 0, 0]])
    assert confusion_matrix(predicted, labels).tolist() == [[3, 1], [0, 2]]


@pytest.mark.parametrize("seed", range(6))
def test_the_counted_binary_path_agrees_with_the_histogram(seed):
    """0/1 uint8 predictions against uint8 labels take a counting shortcut; int64 copies take the histogram."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 300)), int(rng.integers(1, 400)))  # one step, several, a partial last
    labels = rng.choice(np.array([0, 1, 255], np.uint8), size=shape, p=[0.6, 0.3, 0.1])
    predictions = (rng.random(shape) < 0.4).astype(np.uint8)
    counted = metrics.confusion_matrix(predictions, labels)
    expected = metrics.confusion_matrix(predictions.astype(np.int64), labels.astype(np.int64))
    np.testing.assert_array_equal(counted, expected)
    assert counted.sum() == np.count_nonzero(labels != 255)
    wide = np.zeros((shape[0], shape[1] + 1), np.uint8), np.zeros((shape[0], shape[1] + 1), np.uint8)
    wide[0][:, 1:], wide[1][:, 1:] = predictions, labels  # views that skip a column, as PNG rows are cut
    np.testing.assert_array_equal(metrics.confusion_matrix(wide[0][:, 1:], wide[1][:, 1:]), expected)
    if seed % 2:  # a label that is no class reaches the histogram, which names it
        labels.flat[int(rng.integers(labels.size))] = 7
        with pytest.raises(metrics.MetricInputError, match="7"):
            metrics.confusion_matrix(predictions, labels)
