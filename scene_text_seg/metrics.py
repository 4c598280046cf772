"""Text-segmentation metrics: confusion matrices over class-id maps, and the scores read from them.

torch is imported only by `compute_metrics` (the Trainer form), never at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from .spec import CLASS_NAMES


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_classes: int = len(CLASS_NAMES)) -> np.ndarray:
    """Counts [label, prediction] over the pixels whose label is a class (255 and Trainer's -100 padding skipped)."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} differ in shape")
    valid = (labels >= 0) & (labels < num_classes)
    pairs = labels[valid].astype(np.int64) * num_classes + predictions[valid].astype(np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes)[: num_classes * num_classes].reshape(
        num_classes, num_classes
    )


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def metrics_from_confusion(confusion: np.ndarray) -> dict[str, float]:
    """Per-class IoU, mean IoU, text precision / recall / F-score, pixel accuracy.

    A value is NaN only where it is undefined (0/0): the IoU of a class absent from both labels and
    predictions, every value when all labels are 255. Mean IoU averages the defined IoUs. The text
    F-score is 2·tp / (2·tp + fp + fn): 0 when text was missed entirely or only predicted.
    """
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
    predictions: Union[np.ndarray, Sequence[np.ndarray]], labels: Union[np.ndarray, Sequence[np.ndarray]]
) -> dict[str, float]:
    """Text-segmentation metrics over one label map, a batch (N, H, W), or lists of maps of any sizes.

    `predictions` hold class ids (0 background, 1 text); pixels labelled 255 (uncertain) are ignored,
    as is Trainer's -100 padding. Keys: pixel_accuracy, mean_iou, iou_background, iou_text (the text
    IoU), text_precision, text_recall, text_fscore.
    """
    if isinstance(predictions, np.ndarray) and isinstance(labels, np.ndarray):
        return metrics_from_confusion(confusion_matrix(predictions, labels))
    confusion = sum(
        (confusion_matrix(p, t) for p, t in zip(predictions, labels, strict=True)),
        np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64),
    )
    return metrics_from_confusion(confusion)


def compute_metrics(eval_prediction: Any, chunk: int = 8) -> dict[str, float]:
    """`Trainer(compute_metrics=...)`: logits (N, C, h, w) at any resolution, labels (N, H, W).

    The logits are upsampled bilinearly to the labels' size before the argmax (SegFormer's are 1/4
    scale), a few images at a time so memory stays small; then `segmentation_metrics`.
    """
    import torch  # the Trainer's own dependency; never imported by the package at module level

    logits, labels = eval_prediction[0], eval_prediction[1]
    if isinstance(logits, (tuple, list)):  # models that return more than logits
        logits = logits[0]
    labels = np.asarray(labels)
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), np.int64)
    with torch.no_grad():
        for start in range(0, len(labels), chunk):
            scores = torch.from_numpy(np.asarray(logits[start : start + chunk], np.float32))
            scores = torch.nn.functional.interpolate(
                scores, size=labels.shape[-2:], mode="bilinear", align_corners=False
            )
            confusion += confusion_matrix(scores.argmax(dim=1).numpy(), labels[start : start + chunk])
    return metrics_from_confusion(confusion)
