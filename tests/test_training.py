"""Streaming into trainers: worker and node sharding, trainer tensors, and the README's training loop."""

import os
import re

import numpy as np
import pytest
from datasets.distributed import split_dataset_by_node

import ist_s
from scene_text_seg import layout
from tests.conftest import build

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_split_by_node_gives_disjoint_halves_that_make_the_split(zip_inputs):
    streamed = ist_s.load(zip_inputs[0], split="train", streaming=True, config="with_unlabeled")
    everything = [row["image_id"] for row in streamed]
    halves = [[row["image_id"] for row in split_dataset_by_node(streamed, rank, 2)] for rank in (0, 1)]
    assert halves[0] and halves[1] and set(halves[0]).isdisjoint(halves[1])
    assert sorted(halves[0] + halves[1], key=layout.natural_key) == everything


def test_training_transform_follows_the_segmentation_convention(zip_inputs, cache_dir):
    _, expected = zip_inputs
    train = build(zip_inputs[0], cache_dir, config="with_unlabeled")["train"]
    train.set_transform(ist_s.training_transform)
    for index, image_id in enumerate(expected["train"]):
        row, item = train[index], expected["train"][image_id]
        pixels, labels = row["pixel_values"], row["labels"]
        assert pixels.dtype == np.float32 and pixels.shape[0] == 3 and 0 <= pixels.min() <= pixels.max() <= 1
        assert labels.dtype == np.int64 and labels.shape == pixels.shape[1:]
        if item.mask is None:
            assert (labels == ist_s.IGNORE_INDEX).all()
        else:
            np.testing.assert_array_equal(labels, item.mask)  # 255 kept as the ignore index
    assert any((train[i]["labels"] == 255).any() for i in range(len(expected["train"])))


def test_training_transform_resizes_labels_without_inventing_values(zip_inputs, cache_dir):
    train = build(zip_inputs[0], cache_dir)["train"]
    train.set_transform(lambda batch: ist_s.training_transform(batch, size=(48, 80)))
    for row in train:
        assert row["pixel_values"].shape == (3, 48, 80) and row["labels"].shape == (48, 80)
        assert set(np.unique(row["labels"])) <= {0, 1, 255}


def test_streaming_map_gives_what_set_transform_gives(zip_inputs, cache_dir):
    arrow = build(zip_inputs[0], cache_dir)["test"]
    arrow.set_transform(ist_s.training_transform)
    streamed = ist_s.load(zip_inputs[0], split="test", streaming=True)
    mapped = streamed.map(ist_s.training_transform, batched=True, batch_size=4, remove_columns=["image", "mask"])
    for index, row in enumerate(mapped):
        np.testing.assert_array_equal(row["pixel_values"], arrow[index]["pixel_values"])
        np.testing.assert_array_equal(row["labels"], arrow[index]["labels"])


def test_dataloader_workers_read_every_streamed_example_exactly_once(zip_inputs):
    torch = pytest.importorskip("torch")
    streamed = ist_s.load(zip_inputs[0], split="train", streaming=True, config="with_unlabeled")
    assert streamed.num_shards >= 2
    ids = streamed.select_columns(["image_id"])
    loader = torch.utils.data.DataLoader(ids, batch_size=3, num_workers=2, collate_fn=lambda rows: rows)
    seen = [row["image_id"] for batch in loader for row in batch]
    assert sorted(seen, key=layout.natural_key) == [row["image_id"] for row in ids]


def test_dataloader_over_arrow_gives_trainer_tensors(zip_inputs, cache_dir):
    torch = pytest.importorskip("torch")
    train = build(zip_inputs[0], cache_dir)["train"]
    train.set_transform(lambda batch: ist_s.training_transform(batch, size=(24, 40)))
    batch = next(iter(torch.utils.data.DataLoader(train, batch_size=4, num_workers=2)))
    assert batch["pixel_values"].dtype == torch.float32 and tuple(batch["pixel_values"].shape) == (4, 3, 24, 40)
    assert batch["labels"].dtype == torch.int64 and tuple(batch["labels"].shape) == (4, 24, 40)


def test_the_readme_training_loop_runs_and_learns(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    with open(README, encoding="utf-8") as f:
        example = re.search(r"<!-- training-example -->\s*```python\n(.*?)```", f.read(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(example, "README training example", "exec"), namespace)
    losses = namespace["losses"]
    assert len(losses) >= 10 and np.mean(losses[-3:]) < np.mean(losses[:3])
