"""scene_text_seg: the engine under ist_s, mlt_s, coco_ts and the benchmarks (Hugging Face `datasets` builders).

One module per concern, in the order data flows:

    registry   the datasets of the family, one line each
    spec       what a dataset script declares (inputs, splits, counts, texts); the label format
    errors     the errors, each naming the file or archive member
    archive    a zip's member table kept compact; members read through zipfile
    tar        tar archives: a .tar read in place, a .tar.gz inflated once into the cache
    jsonpieces a large JSON document read in pieces, strictly and to its end (COCO-Text's annotations)
    inputs     finding the manual downloads, verifying checksums, reading archive members
    layout     the labels' layout detected from folder names; image + label pairs; shards
    labels     label decoders: threshold, non-white and colour rules; the minimal PNG every decoded mask is
    pixels     one example: JPEG headers and EXIF orientation, PNG masks checked (value tables) and stored as L
    memory     DataLoader workers told apart, freed memory kept there for the next row, and handed
               back once a build is planned
    builder    the `datasets` builder the dataset scripts subclass; prepare / load / inventory
    words      ICDAR word files parsed and put on the decoded grid; detection targets
    transform  rows into trainer inputs: the training transform, `for_training`
    feed       batches to the model: `collate`, `DeviceFeed`
    metrics    text-segmentation metrics from confusion matrices
    evaluation a model's predicted masks scored against a split, the same way for every dataset
               (`scene_text_seg.evaluate(dataset, predictions)`)
    inspect    stats and preview
    publish    dataset card, Hub export, push
    synthetic  seeded stand-ins for the demo, the tests and the benchmarks
    cli        the command line
    api        the names every dataset module offers its users
    engine_lines  the lines that find the engine, written into every dataset module
"""

__version__ = "0.2.0"

__all__ = [
    "api",
    "archive",
    "builder",
    "cli",
    "errors",
    "evaluate",
    "evaluation",
    "feed",
    "inputs",
    "inspect",
    "jsonpieces",
    "labels",
    "layout",
    "memory",
    "metrics",
    "pixels",
    "publish",
    "registry",
    "spec",
    "synthetic",
    "tar",
    "transform",
    "words",
]

# Every module, so that `import scene_text_seg` is the one import a dataset script needs.
from . import (
    api,
    archive,
    builder,
    cli,
    errors,
    evaluation,
    feed,
    inputs,
    inspect,
    jsonpieces,
    labels,
    layout,
    memory,
    metrics,
    pixels,
    publish,
    registry,
    spec,
    synthetic,
    tar,
    transform,
    words,
)
from .evaluation import evaluate
