"""Text-segmentation metrics: confusion matrices over class-id maps, and the scores read from them.

Every input is checked where it enters: predictions must be class ids, labels class ids or an ignore
value, shapes must pair up. A value the metrics cannot score is an error naming the argument (or the
file, through `where`), never a pixel counted as some class. The checks fold into the one pass that
counts the pixels, on data already in the CPU cache: no extra pass through memory.

torch is imported only by `compute_metrics` (the Trainer form), never at module level.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Union

import datasets
import numpy as np

from .errors import InvalidInputError
from .spec import CLASS_NAMES, IGNORE_INDEX

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

IGNORE_VALUES = (IGNORE_INDEX, -100)  # 255 "uncertain"; -100 is the padding of transformers' Trainer
_CHUNK = 1 << 16  # pixels counted per step: a step's codes stay in the CPU cache
_SHOWN_VALUES = 4  # offending values named in an error; the rest are counted


class MetricInputError(InvalidInputError):
    """Predictions, labels or logits the metrics cannot score; the message names the argument or file."""


class MetricInputTypeError(MetricInputError, TypeError):
    """An input of a type or dtype the metrics cannot score (float scores where class ids belong, ...)."""


# ---- one pair of maps: checked and counted ------------------------------------------------------------


def confusion_matrix(
    predictions: Any,
    labels: Any,
    num_classes: int = len(CLASS_NAMES),
    *,
    where: str = "predictions",
    labels_where: str = "labels",
) -> np.ndarray:
    """Checks one pair of maps and counts [label, prediction] over the pixels whose label is a class.

    Pixels labelled 255 (uncertain) or -100 (Trainer's padding) are skipped. Any shape is accepted as
    long as both have it (one map (H, W), a batch (N, H, W), ...).

    Args:
        predictions: class ids, integers in [0, num_classes); a bool array is read as a text mask
            (False background, True text).
        labels: class ids in [0, num_classes) or an ignore value (255, -100); bool is read as above.
        num_classes: the number of classes, 1 to 255.
        where: what `predictions` is called in an error, e.g. the path of a predicted mask file.
        labels_where: what `labels` is called in an error.

    Returns:
        An int64 array (num_classes, num_classes): row = label, column = prediction.

    Raises:
        MetricInputTypeError: (a TypeError) an input is not an integer or bool array: float scores
            (take the argmax), strings, objects.
        MetricInputError: (a ValueError) the shapes differ, a prediction is not a class id, or a label
            is neither a class id nor an ignore value; the message names up to four of the values and
            counts their pixels.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise MetricInputTypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if not 1 <= num_classes <= IGNORE_INDEX:
        raise MetricInputError(f"num_classes must be 1 to {IGNORE_INDEX} (255 is the ignore value), got {num_classes}")
    predictions = _class_ids(predictions, where, scores_hint=True)
    labels = _class_ids(labels, labels_where)
    if predictions.shape != labels.shape:
        raise MetricInputError(
            f"{where} has shape {predictions.shape} but {labels_where} has {labels.shape}: "
            "they must match pixel for pixel"
        )
    offset = -min(IGNORE_VALUES) if labels.dtype.kind == "i" else 0  # row of label value v: v + offset
    table = _joint_histogram(predictions, labels, num_classes, offset, where, labels_where)
    _check_label_rows(table, num_classes, offset, labels_where)
    return table[offset : offset + num_classes]


def _class_ids(values: Any, where: str, scores_hint: bool = False) -> np.ndarray:
    """`values` as an integer array, bool read as 0/1; refuses floats, strings and objects, naming `where`.

    Args:
        values: anything `numpy.asarray` takes.
        where: what `values` is called in an error.
        scores_hint: say how scores become class ids (argmax, or one channel's logit > 0).

    Returns:
        The array (a uint8 copy for bool, no copy for integers).

    Raises:
        MetricInputTypeError: not an integer or bool array, or not an array at all (ragged lists).
    """
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):  # ragged nested lists
        raise MetricInputTypeError(
            f"{where} is not an array of class ids: numpy cannot make one array of this {type(values).__name__} "
            "(rows of different lengths?)"
        ) from None
    if array.dtype == np.bool_:  # converted, not viewed: PIL's mode "1" arrays hold True as the byte 255
        return array.astype(np.uint8)
    if array.dtype.kind in "iu":
        return array
    if array.dtype.kind == "f":
        hint = (
            "scores? take their argmax over the class axis (one channel of text logits: logits > 0)"
            if scores_hint
            else "convert with .astype(np.int64) if the values are whole numbers"
        )
        raise MetricInputTypeError(f"{where} must hold integer class ids, got dtype {array.dtype}: {hint}")
    raise MetricInputTypeError(f"{where} must hold integer class ids, got dtype {array.dtype}")


def _joint_histogram(
    predictions: np.ndarray, labels: np.ndarray, num_classes: int, offset: int, where: str, labels_where: str
) -> np.ndarray:
    """Pixel counts per (label value + offset, prediction).

    The common case, 0/1 predictions against a stored mask, is counted whole without a histogram
    (`_count_binary`). Anything else is counted 65,536 pixels (one step) at a time: each step checks its
    predictions' range (and its labels' where their dtype can leave -100..255) on data already in the
    cache, so the checks add no pass over memory.
    """
    rows = offset + IGNORE_INDEX + 1
    counts = np.zeros(rows * num_classes, np.int64)
    binary_maps = num_classes == 2 and offset == 0 and predictions.dtype == labels.dtype == np.uint8
    if binary_maps and _count_binary(predictions, labels, counts):
        return counts.reshape(rows, num_classes)
    code_type = np.int16 if rows * num_classes <= np.iinfo(np.int16).max else np.int32
    signed_predictions = predictions.dtype.kind == "i"
    bounded_labels = labels.dtype == np.uint8  # every uint8 value has a row
    flat_predictions, flat_labels = predictions.reshape(-1), labels.reshape(-1)
    for start in range(0, flat_labels.size, _CHUNK):
        predicted, actual = flat_predictions[start : start + _CHUNK], flat_labels[start : start + _CHUNK]
        if predicted.max() >= num_classes or (signed_predictions and predicted.min() < 0):
            raise _not_class_ids(predictions, num_classes, where)
        if not bounded_labels and (actual.max() > IGNORE_INDEX or actual.min() < -offset):
            raise _not_labels(labels, num_classes, labels_where)
        codes = actual.astype(code_type)
        if offset:
            codes += offset
        codes *= num_classes
        np.add(codes, predicted, out=codes, casting="unsafe")  # predicted is in [0, num_classes): exact
        counts += np.bincount(codes, minlength=rows * num_classes)
    return counts.reshape(rows, num_classes)


def _count_binary(predicted: np.ndarray, actual: np.ndarray, counts: np.ndarray) -> bool:
    """Add uint8 predictions against uint8 labels (any shape, both the same) to `counts` (rows of 2: label
    value * 2 + prediction) by a few whole-array counts instead of a histogram, when every prediction is 0
    or 1 and every label 0, 1 or 255 (False, nothing added, else: the histogram names what is wrong).

    Labels one added (mod 256) are 1, 2 and 0, so the ignored pixels are the zeros, and a prediction (0 or 1)
    greater than that is text predicted on an ignored pixel; predictions AND labels are the text predicted
    on text or ignored pixels. Nine passes over the pixels, each long enough for numpy to release the GIL."""
    if predicted.max(initial=0) > 1:
        return False
    shifted = actual + np.uint8(1)
    if shifted.max(initial=0) > 2:
        return False
    size, ignored = actual.size, actual.size - np.count_nonzero(shifted)
    labelled = np.count_nonzero(actual)  # text and ignored
    predicted_text = np.count_nonzero(predicted)
    on_labelled = np.count_nonzero(predicted & actual)  # 1 & 1 and 1 & 255 are both 1
    on_ignored = np.count_nonzero(predicted > shifted) if ignored else 0
    true_positive = on_labelled - on_ignored
    text = labelled - ignored
    counts[0 * 2 + 1] += predicted_text - on_labelled  # background predicted text
    counts[0 * 2 + 0] += size - labelled - (predicted_text - on_labelled)
    counts[1 * 2 + 1] += true_positive
    counts[1 * 2 + 0] += text - true_positive
    counts[IGNORE_INDEX * 2 + 1] += on_ignored
    counts[IGNORE_INDEX * 2 + 0] += ignored - on_ignored
    return True


def _check_label_rows(table: np.ndarray, num_classes: int, offset: int, labels_where: str) -> None:
    """Refuses labels the histogram counted under a value that is neither a class nor ignored."""
    pixels = table.sum(axis=1)
    present = np.flatnonzero(pixels)  # the few values the labels hold
    values = present - offset
    wrong = ~_is_label(values, num_classes)
    if wrong.any():
        raise MetricInputError(_label_message(values[wrong], pixels[present][wrong], num_classes, labels_where))


def _not_class_ids(predictions: np.ndarray, num_classes: int, where: str) -> MetricInputError:
    """The error for predictions outside [0, num_classes), naming the values (the error path may be slow)."""
    wrong = predictions[(predictions < 0) | (predictions >= num_classes)]
    values, pixels = np.unique(wrong, return_counts=True)
    hint = ""
    if values.tolist() == [IGNORE_INDEX] and num_classes == 2:
        hint = " (a 0/255 mask? map 255 to 1)"
    return MetricInputError(
        f"{where} must hold class ids 0..{num_classes - 1}, found {_values_and_pixels(values, pixels)}{hint}"
    )


def _not_labels(labels: np.ndarray, num_classes: int, labels_where: str) -> MetricInputError:
    """The error for labels outside the range of class ids and ignore values."""
    values, pixels = np.unique(labels[~_is_label(labels, num_classes)], return_counts=True)
    return MetricInputError(_label_message(values, pixels, num_classes, labels_where))


def _is_label(values: np.ndarray, num_classes: int) -> np.ndarray:
    """Whether each value is a class id or an ignore value (comparisons: `np.isin` costs ~0.1 ms a call)."""
    ignored = np.zeros(values.shape, bool)
    for value in IGNORE_VALUES:
        ignored |= values == value
    return (values >= 0) & (values < num_classes) | ignored


def _label_message(values: np.ndarray, pixels: np.ndarray, num_classes: int, labels_where: str) -> str:
    ignore = ", ".join(str(value) for value in IGNORE_VALUES)
    return (
        f"{labels_where} must hold class ids 0..{num_classes - 1} or an ignore value ({ignore}), "
        f"found {_values_and_pixels(values, pixels)}"
    )


def _values_and_pixels(values: np.ndarray, pixels: np.ndarray) -> str:
    """'2, 3 in 12 pixels', or '2, 3, 4, 5 and 6 other values in 90 pixels'."""
    shown = ", ".join(str(value) for value in values[:_SHOWN_VALUES].tolist())
    more = f" and {len(values) - _SHOWN_VALUES} other values" if len(values) > _SHOWN_VALUES else ""
    total = int(pixels.sum())
    return f"{shown}{more} in {total} pixel{'s' if total != 1 else ''}"


# ---- scores -------------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def metrics_from_confusion(confusion: np.ndarray) -> dict[str, float]:
    """Per-class IoU, mean IoU, text precision / recall / F-score, pixel accuracy.

    A value is NaN only where it is undefined (0/0): the IoU of a class absent from both labels and
    predictions, every value when all labels are 255. Mean IoU averages the defined IoUs. The text
    F-score is 2·tp / (2·tp + fp + fn): 0 when text was missed entirely or only predicted.

    Args:
        confusion: counts (2, 2), row = label, column = prediction (as `confusion_matrix` returns,
            or a sum of them).

    Returns:
        pixel_accuracy, mean_iou, iou_background, iou_text, text_precision, text_recall, text_fscore.

    Raises:
        MetricInputError: `confusion` is not a (2, 2) array of non-negative integer counts.
    """
    confusion = np.asarray(confusion)
    size = len(CLASS_NAMES)
    if confusion.shape != (size, size) or confusion.dtype.kind not in "iu" or (confusion < 0).any():
        raise MetricInputError(
            f"confusion must be ({size}, {size}) non-negative integer counts, got {confusion.dtype} {confusion.shape}"
        )
    true_positives = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    ious = [_ratio(true_positives[c], actual[c] + predicted[c] - true_positives[c]) for c in range(len(confusion))]
    defined = [iou for iou in ious if not np.isnan(iou)]
    text = 1
    tp, fp, fn = true_positives[text], predicted[text] - true_positives[text], actual[text] - true_positives[text]
    return {
        "pixel_accuracy": _ratio(true_positives.sum(), confusion.sum()),
        "mean_iou": float(np.mean(defined)) if defined else float("nan"),
        **{f"iou_{name}": iou for name, iou in zip(CLASS_NAMES, ious, strict=True)},
        "text_precision": _ratio(tp, tp + fp),
        "text_recall": _ratio(tp, tp + fn),
        "text_fscore": _ratio(2 * tp, 2 * tp + fp + fn),
    }


def segmentation_metrics(
    predictions: Union[np.ndarray, Iterable[Any]], labels: Union[np.ndarray, Iterable[Any]]
) -> dict[str, float]:
    """Text-segmentation metrics over one label map, a batch (N, H, W), or lists of maps of any sizes.

    Pixels labelled 255 (uncertain) or -100 (Trainer's padding) are ignored.

    Args:
        predictions: class ids (0 background, 1 text) as integers, or bool text masks: one array,
            or a sequence of maps paired one to one with `labels`.
        labels: class ids or an ignore value (255, -100), in the same form.

    Returns:
        pixel_accuracy, mean_iou, iou_background, iou_text, text_precision, text_recall, text_fscore
        (NaN where undefined, see `metrics_from_confusion`).

    Raises:
        MetricInputTypeError: float scores (take the argmax), strings or objects where class ids belong.
        MetricInputError: the sequences differ in length, a pair differs in shape (the error names its
            index, as `predictions[3]`), or a value is neither a class id nor, in labels, ignored.
    """
    if isinstance(predictions, np.ndarray) and isinstance(labels, np.ndarray):
        return metrics_from_confusion(confusion_matrix(predictions, labels))
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64)
    for index, predicted, actual in _pairs(predictions, labels):
        confusion += confusion_matrix(predicted, actual, where=f"predictions[{index}]", labels_where=f"labels[{index}]")
    return metrics_from_confusion(confusion)


def _pairs(predictions: Iterable[Any], labels: Iterable[Any]) -> Iterator[tuple[int, Any, Any]]:
    """(index, prediction, label) map by map; unequal lengths are an error naming both."""
    lengths = {name: _length(value) for name, value in (("predictions", predictions), ("labels", labels))}
    if None not in lengths.values() and lengths["predictions"] != lengths["labels"]:
        raise MetricInputError(
            f"predictions has {lengths['predictions']} maps but labels has {lengths['labels']}: they pair up one to one"
        )
    missing = object()
    pairs = itertools.zip_longest(_iterate(predictions, "predictions"), _iterate(labels, "labels"), fillvalue=missing)
    for index, (predicted, actual) in enumerate(pairs):
        if predicted is missing or actual is missing:
            short, long = ("predictions", "labels") if predicted is missing else ("labels", "predictions")
            raise MetricInputError(f"{short} ended after {index} maps but {long} has more: they pair up one to one")
        yield index, predicted, actual


def _length(value: Any) -> Union[int, None]:
    try:
        return len(value)
    except TypeError:  # a generator, or a 0-d array
        return None


def _iterate(value: Any, name: str) -> Iterator[Any]:
    try:
        return iter(value)
    except TypeError:
        raise MetricInputTypeError(
            f"{name} must be an array or a sequence of maps, got {type(value).__name__}"
        ) from None


# ---- the Trainer form ---------------------------------------------------------------------------------


def compute_metrics(eval_prediction: Any, chunk: int = 8) -> dict[str, float]:
    """`Trainer(compute_metrics=...)`: logits (N, C, h, w) at any resolution, labels (N, H, W).

    The logits are upsampled bilinearly to the labels' size (SegFormer's are 1/4 scale), a few images
    at a time so memory stays small, then read as classes: with C = 2 the argmax (a tie is background);
    with C = 1 the channel is the text logit (before the sigmoid) and a pixel is text where it is > 0.

    Args:
        eval_prediction: a transformers `EvalPrediction`, or a (logits, labels) pair. The logits may
            be a tuple or list whose first item is the logits (models that return more).
        chunk: images upsampled at a time.

    Returns:
        The keys of `segmentation_metrics`.

    Raises:
        MetricInputTypeError: `eval_prediction` is neither form, or the logits are not float scores.
        MetricInputError: logits not (N, 2, h, w) or (N, 1, h, w) (the error says when they look
            channels-last), labels not (N, H, W) with the same N, or a label is neither a class id nor
            an ignore value.
    """
    import torch  # the Trainer's own dependency; never imported by the package at module level

    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise MetricInputError(f"chunk must be a positive int, got {chunk!r}")
    logits, labels = _logits_and_labels(eval_prediction)
    logits = _checked_logits(logits)
    labels = _checked_labels(labels, logits.shape)
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64)
    with torch.no_grad():
        for start in range(0, len(labels), chunk):
            margins = _text_margins(logits[start : start + chunk])
            finite = np.isfinite(margins)
            if not finite.all():  # scored, a diverged model reads as "all background" (upsampled, inf becomes NaN)
                bad = np.flatnonzero(~finite.reshape(len(margins), -1).all(axis=1)) + start
                raise MetricInputError(
                    f"logits hold NaN or infinity (a diverged model?) in image(s) {[int(i) for i in bad[:4]]}: "
                    f"they cannot be scored"
                )
            margins = torch.from_numpy(margins)
            margins = torch.nn.functional.interpolate(
                margins, size=labels.shape[-2:], mode="bilinear", align_corners=False
            )
            confusion += confusion_matrix(
                (margins[:, 0] > 0).numpy(),
                labels[start : start + chunk],
                labels_where=f"labels[{start}:{start + len(margins)}]",
            )
    return metrics_from_confusion(confusion)


def _logits_and_labels(eval_prediction: Any) -> tuple[Any, Any]:
    """(logits, labels) out of an EvalPrediction or a pair; the first item when the logits are a tuple."""
    if hasattr(eval_prediction, "predictions") and hasattr(eval_prediction, "label_ids"):
        logits, labels = eval_prediction.predictions, eval_prediction.label_ids
    elif isinstance(eval_prediction, (tuple, list)) and len(eval_prediction) == 2:
        logits, labels = eval_prediction
    else:
        raise MetricInputTypeError(
            f"eval_prediction must be a transformers EvalPrediction or a (logits, labels) pair, "
            f"got {type(eval_prediction).__name__}"
        )
    if labels is None:
        raise MetricInputError("eval_prediction has no labels (label_ids is None): the eval dataset needs `labels`")
    if isinstance(logits, (tuple, list)):  # models that return more than logits: the logits come first
        if not logits:
            raise MetricInputError("eval_prediction's logits are an empty tuple")
        logits = logits[0]
    return logits, labels


def _checked_logits(logits: Any) -> np.ndarray:
    logits = np.asarray(logits)
    if logits.ndim != 4 or logits.shape[1] not in (1, 2):
        raise MetricInputError(
            f"logits must be (N, C, H, W) with C = 2 (class scores) or 1 (text logit), got shape {logits.shape}"
            + _logits_hint(logits.shape)
        )
    if logits.dtype.kind != "f":
        raise MetricInputTypeError(f"logits must be float scores, got dtype {logits.dtype}")
    if logits.shape[1] == 1 and logits.size and 0 <= logits.min() and logits.max() <= 1:
        logger.warning(
            "compute_metrics: the one-channel logits are all in [0, 1]: if they are probabilities (after a "
            "sigmoid), every pixel counts as text; pass the logits (text where logit > 0)"
        )
    return logits


def _text_margins(logits: np.ndarray) -> np.ndarray:
    """(n, 1, h, w) float32: by how much text wins; > 0 is text (the argmax, ties to background).

    For two channels the margin is text minus background, taken before the upsampling: bilinear
    interpolation is linear, so its sign is the argmax of the upsampled scores, at half the cost (and
    torch's argmax over a 2-long axis is some hundred times slower than one comparison).
    """
    logits = np.asarray(logits, np.float32)
    return logits if logits.shape[1] == 1 else logits[:, 1:] - logits[:, :1]


def _logits_hint(shape: tuple[int, ...]) -> str:
    if len(shape) == 4 and shape[-1] in (1, 2):
        return ": channels last? pass logits.transpose(0, 3, 1, 2)"
    if len(shape) == 3:
        return ": class-id maps go to segmentation_metrics; one text logit per pixel needs a channel, logits[:, None]"
    return ""


def _checked_labels(labels: Any, logits_shape: tuple[int, ...]) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 3 or len(labels) != logits_shape[0]:
        raise MetricInputError(
            f"labels must be (N, H, W) with N = {logits_shape[0]} as in logits {logits_shape}, got shape {labels.shape}"
        )
    return labels
