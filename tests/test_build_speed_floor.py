"""The floor every build is measured against reads the pairs the build reads, for every dataset."""

import importlib
import os

import pytest

from benchmarks import children, goals
from scene_text_seg import inputs, layout, synthetic


def stand_ins(dataset: str, root: str) -> None:
    if dataset == "ist_s":
        synthetic.write_stand_ins(root, processes=1, counts={"train": (6, 1), "test": (4, 1)})
    elif dataset == "mlt_s":
        synthetic.write_mlt_s_inputs(root, per_zip=1, n_validation=3, words=False)
    else:
        synthetic.write_coco_stand_ins(root, labelled=7, members=40, unique=2, processes=1)


@pytest.mark.parametrize("dataset", ["ist_s", "mlt_s", "coco_ts"])
def test_the_floor_reads_every_pair_the_build_writes(tmp_path, dataset):
    root = str(tmp_path / "in")
    stand_ins(dataset, root)
    built = children.child_build(dataset, root, str(tmp_path / "cache"), 1, 1)
    out = tmp_path / "out"
    out.mkdir()
    floor = children.child_floor(dataset, root, str(out))
    assert floor["pairs"] == built["rows"] > 0
    assert os.path.getsize(out / "floor.bin") == floor["member_bytes"]
    assert f"{dataset}.build/floor" in goals.GOALS


@pytest.mark.parametrize("dataset", ["ist_s", "mlt_s", "coco_ts"])
def test_the_floor_pairs_each_mask_with_the_image_the_build_pairs_it_with(tmp_path, dataset):
    root = str(tmp_path / "in")
    stand_ins(dataset, root)
    spec = importlib.import_module(dataset).SPEC
    paths = inputs.locate_inputs(spec, root)
    planned = layout.plan_pairs(spec, paths, with_unlabeled=False)
    built = {
        (os.path.basename(paths[pair.image_role]), pair.image_member, pair.label_member)
        for pairs in planned.values()
        for pair in pairs
    }
    floor = {
        (os.path.basename(images.filename), image, mask)
        for _, mask, images, image in children.paired_members(dataset, root)
    }
    assert floor == built


def test_the_builds_with_two_processes_have_goals_against_the_floor():
    assert str(goals.GOALS["coco_ts.floor/num_proc_2"]) == str(goals.GOALS["ist_s.floor/num_proc_2"]) == ">= 1.60"
    assert goals.GOALS["coco_ts.build/floor"].met(1.15) and not goals.GOALS["coco_ts.build/floor"].met(1.16)
