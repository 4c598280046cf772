"""The contract every config of every dataset keeps, as plain checks (in the spirit of TFDS's
DatasetBuilderTestCase): split counts on the dataset's stand-ins, unique keys, no image in two splits,
the schema, a reload served from the cache, streaming equal to Arrow, a Hub export that loads with
no script to the same rows, and the same rows from two build processes. `tests/test_contract.py` runs
them for every registered dataset; a new dataset needs no line here."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from types import ModuleType

import datasets
import pytest

from scene_text_seg import builder as engine
from scene_text_seg import publish
from tests.conftest import raw

SCHEMA = datasets.Features(
    {
        "image_id": datasets.Value("string"),
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "mask_classes": datasets.Sequence(datasets.ClassLabel(names=["background", "text"])),
    }
)
# One words schema for the whole family: any polygon length, the dataset's language or script, COCO-Text's class.
WORDS = datasets.Sequence(
    {
        "polygon": datasets.Sequence(datasets.Value("float32")),
        "text": datasets.Value("string"),
        "ignore": datasets.Value("bool"),
        "language": datasets.Value("string"),
        "class": datasets.Value("string"),
    }
)


def expected_features(builder_cls: type, config: str) -> datasets.Features:
    """The family's schema: the same for every dataset, `words` added by configs with words."""
    with_words = next(c for c in builder_cls.BUILDER_CONFIGS if c.name == config).with_words
    return datasets.Features({**SCHEMA, "words": WORDS}) if with_words else SCHEMA


def builder_of(module: ModuleType) -> type:
    """The dataset's builder: the module's one `SceneTextSegBuilder` subclass."""
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, engine.SceneTextSegBuilder)
        and value is not engine.SceneTextSegBuilder
        and value.__module__ == module.__name__
    ]
    assert len(found) == 1, f"{module.__name__} defines {len(found)} builders, expected one"
    return found[0]


@dataclasses.dataclass
class Prepared:
    module: ModuleType
    builder_cls: type
    config: str
    data_dir: str
    cache_dir: str
    builder: engine.SceneTextSegBuilder

    @property
    def splits(self) -> dict[str, int]:
        return self.builder_cls.SPEC.stand_in_split_sizes[self.config]


def prepare(module: ModuleType, config: str, folder: str) -> Prepared:
    """The dataset's stand-ins written into `folder` and built for `config`."""
    builder_cls = builder_of(module)
    data_dir, cache_dir = os.path.join(folder, "inputs"), os.path.join(folder, "cache")
    builder_cls.SPEC.write_demo_inputs(data_dir)
    built = engine.prepare(builder_cls, data_dir, config, cache_dir, verification_mode="no_checks")
    return Prepared(module, builder_cls, config, data_dir, cache_dir, built)


def check_split_counts(p: Prepared) -> None:
    assert {split: info.num_examples for split, info in p.builder.info.splits.items()} == p.splits
    assert {split: ds.num_rows for split, ds in p.builder.as_dataset().items()} == p.splits


def check_unique_keys(p: Prepared) -> None:
    for split, dataset in p.builder.as_dataset().items():
        assert len(set(dataset["image_id"])) == dataset.num_rows, split


def check_no_image_in_two_splits(p: Prepared) -> None:
    seen: dict[bytes, str] = {}
    for split, dataset in p.builder.as_dataset().items():
        for row in raw(dataset):
            digest = hashlib.sha256(row["image"]["bytes"]).digest()
            assert digest not in seen, f"{row['image_id']} is in {seen[digest]} and {split}"
            seen[digest] = split


def check_schema(p: Prepared) -> None:
    features = expected_features(p.builder_cls, p.config)
    assert p.builder.info.features == features
    for dataset in p.builder.as_dataset().values():
        assert dataset.features == features


def check_reload_is_served_from_the_cache(p: Prepared, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        engine, "make_example", lambda *a, **kw: pytest.fail("rebuilt instead of served from the cache")
    )
    again = engine.prepare(p.builder_cls, p.data_dir, p.config, p.cache_dir, verification_mode="no_checks")
    assert again.cache_dir == p.builder.cache_dir
    for split, dataset in again.as_dataset().items():
        assert raw(dataset) == raw(p.builder.as_dataset(split=split))


def check_streaming_equals_arrow(p: Prepared) -> None:
    streamed = p.module.load(p.data_dir, config=p.config, streaming=True)
    assert set(streamed) == set(p.splits)
    for split, stream in streamed.items():
        assert isinstance(stream, datasets.IterableDataset)
        assert stream.features == expected_features(p.builder_cls, p.config)
        assert stream.num_shards >= 2  # DataLoader workers and nodes get work
        assert raw(stream) == raw(p.builder.as_dataset(split=split))


def check_export_loads_with_no_script(p: Prepared, folder: str) -> None:
    out = os.path.join(folder, "hub")
    publish.export(p.builder_cls, p.data_dir, out, (p.config,), p.cache_dir, verification_mode="no_checks")
    loaded = datasets.load_dataset(out, p.config, cache_dir=os.path.join(folder, "load"))
    for split, dataset in p.builder.as_dataset().items():
        assert loaded[split].features == expected_features(p.builder_cls, p.config)
        assert raw(loaded[split]) == raw(dataset)


def check_two_processes_give_the_same_rows(p: Prepared, folder: str) -> None:
    """Built by two processes (num_proc=2, each its shards), every split holds the one-process build's rows."""
    two = engine.prepare(p.builder_cls, p.data_dir, p.config, folder, num_proc=2, verification_mode="no_checks")
    one = p.builder.as_dataset()
    for split, rows in two.as_dataset().items():
        assert raw(rows) == raw(one[split]), f"{p.module.__name__} {p.config} {split}"


def check_all(p: Prepared, folder: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check of the contract, in turn (what test_contract.py runs one test each)."""
    check_split_counts(p)
    check_unique_keys(p)
    check_no_image_in_two_splits(p)
    check_schema(p)
    check_streaming_equals_arrow(p)
    check_export_loads_with_no_script(p, folder)
    check_two_processes_give_the_same_rows(p, os.path.join(folder, "two_processes"))
    check_reload_is_served_from_the_cache(p, monkeypatch)
