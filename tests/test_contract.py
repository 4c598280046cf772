"""The contract every dataset and config keeps, stated as a table (in the spirit of TFDS's
DatasetBuilderTestCase): split counts on the synthetic inputs, unique keys, no image in two
splits, the schema, a reload served from the cache, streaming equal to Arrow, and a Hub export that
loads with no script to the same rows."""

import dataclasses
import hashlib
from collections.abc import Callable

import datasets
import pytest

import coco_ts
import ist_s
import mlt_s
from scene_text_seg import builder as engine
from scene_text_seg import publish, synthetic
from tests.conftest import raw

SCHEMA = datasets.Features(
    {
        "image_id": datasets.Value("string"),
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "mask_classes": datasets.Sequence(datasets.ClassLabel(names=["background", "text"])),
    }
)


@dataclasses.dataclass(frozen=True)
class Contract:
    builder: type
    config: str
    write_inputs: Callable[[str], object]  # writes the synthetic inputs into a folder
    splits: dict  # split -> rows on those inputs
    features: datasets.Features = dataclasses.field(default_factory=lambda: SCHEMA)

    def __str__(self) -> str:
        return f"{self.builder.SPEC.name}-{self.config}"


WORDS = datasets.Sequence(
    {
        "polygon": datasets.Sequence(datasets.Value("int32"), length=8),
        "text": datasets.Value("string"),
        "ignore": datasets.Value("bool"),
    }
)


def ist_s_inputs(folder: str) -> None:
    synthetic.write_inputs(folder, n_train=12, n_test=7, unlabeled={"train": {4, 9}, "test": {3}}, words=True)


CONTRACTS = [
    Contract(ist_s.IstS, "default", ist_s_inputs, {"train": 10, "test": 6}),
    Contract(ist_s.IstS, "with_unlabeled", ist_s_inputs, {"train": 12, "test": 7}),
    Contract(
        ist_s.IstS, "words", ist_s_inputs, {"train": 12, "test": 7}, datasets.Features({**SCHEMA, "words": WORDS})
    ),
    Contract(mlt_s.MltS, "default", synthetic.write_mlt_s_inputs, {"train": 14, "validation": 4}),
    Contract(mlt_s.MltS, "with_unlabeled", synthetic.write_mlt_s_inputs, {"train": 16, "validation": 5}),
    Contract(coco_ts.CocoTs, "default", synthetic.write_coco_ts_inputs, {"train": 15}),
    Contract(coco_ts.CocoTs, "cocotext_splits", synthetic.write_coco_ts_inputs, {"train": 9, "validation": 5}),
]
DATASETS = {ist_s.IstS, mlt_s.MltS, coco_ts.CocoTs}


def test_every_config_of_every_dataset_has_a_contract():
    stated = {(c.builder, c.config) for c in CONTRACTS}
    assert stated == {(cls, name) for cls in DATASETS for name in engine.config_names(cls)}


@pytest.fixture(scope="module", params=CONTRACTS, ids=str)
def prepared(request, tmp_path_factory):
    contract = request.param
    data_dir = str(tmp_path_factory.mktemp("inputs"))
    contract.write_inputs(data_dir)
    cache_dir = str(tmp_path_factory.mktemp("cache"))
    builder = engine.prepare(contract.builder, data_dir, contract.config, cache_dir, verification_mode="no_checks")
    return contract, data_dir, cache_dir, builder


def test_split_counts(prepared):
    contract, _, _, builder = prepared
    assert {split: info.num_examples for split, info in builder.info.splits.items()} == contract.splits
    assert {split: ds.num_rows for split, ds in builder.as_dataset().items()} == contract.splits


def test_keys_are_unique_within_each_split(prepared):
    for split, dataset in prepared[3].as_dataset().items():
        assert len(set(dataset["image_id"])) == dataset.num_rows, split


def test_no_image_is_in_two_splits(prepared):
    seen: dict[bytes, str] = {}
    for split, dataset in prepared[3].as_dataset().items():
        for row in raw(dataset):
            digest = hashlib.sha256(row["image"]["bytes"]).digest()
            assert digest not in seen, f"{row['image_id']} is in {seen[digest]} and {split}"
            seen[digest] = split


def test_schema(prepared):
    contract, _, _, builder = prepared
    assert builder.info.features == contract.features
    for dataset in builder.as_dataset().values():
        assert dataset.features == contract.features


def test_reload_is_served_from_the_cache(prepared, monkeypatch):
    contract, data_dir, cache_dir, builder = prepared
    monkeypatch.setattr(engine, "make_example", lambda *a: pytest.fail("rebuilt instead of served from the cache"))
    again = engine.prepare(contract.builder, data_dir, contract.config, cache_dir, verification_mode="no_checks")
    assert again.cache_dir == builder.cache_dir
    for split, dataset in again.as_dataset().items():
        assert raw(dataset) == raw(builder.as_dataset(split=split))


def test_streaming_equals_arrow(prepared):
    contract, data_dir, _, builder = prepared
    streamed = engine.load(contract.builder, data_dir, config=contract.config, streaming=True)
    assert set(streamed) == set(contract.splits)
    for split, stream in streamed.items():
        assert isinstance(stream, datasets.IterableDataset)
        assert stream.features == contract.features
        assert stream.num_shards >= 2  # DataLoader workers and nodes get work
        assert raw(stream) == raw(builder.as_dataset(split=split))


def test_the_export_loads_with_no_script_like_the_builder(prepared, tmp_path):
    contract, data_dir, cache_dir, builder = prepared
    out = str(tmp_path / "hub")
    publish.export(contract.builder, data_dir, out, (contract.config,), cache_dir, verification_mode="no_checks")
    loaded = datasets.load_dataset(out, contract.config, cache_dir=str(tmp_path / "load"))
    for split, dataset in builder.as_dataset().items():
        assert loaded[split].features == contract.features
        assert raw(loaded[split]) == raw(dataset)
