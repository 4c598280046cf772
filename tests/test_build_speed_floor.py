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


def test_every_build_goal_of_the_table_is_a_build_against_its_floor(tmp_path, monkeypatch):
    from argparse import Namespace

    from benchmarks import figures

    ran, shipped = [], min(4, os.cpu_count() or 1)
    if shipped == 1:
        pytest.skip("the build as shipped is the one-thread build on one core")

    def child(name, *args, **kwargs):
        ran.append((name, *args))
        build = {(1, shipped): 2.2, (2, shipped): 1.2}.get(tuple(args[3:5]), 3.3)
        seconds = {"floor": 2.0, "build": build}.get(name, 1.0)
        return {
            "seconds": seconds,
            "images_per_second": 100.0,
            "rows": 10,
            "pairs": 10,
            "arrow_bytes": 100,
            "member_bytes": 100,
            "peak_rss_mb": 200.0,
            **{loop: 1.0 for loop in ("bare", "indexed", "iterated", "streamed")},
        }

    monkeypatch.setattr(figures, "run_child", child)
    monkeypatch.setattr(figures, "best_of", lambda repeats, name, *args, **kwargs: child(name, *args))
    monkeypatch.setattr(figures, "best_of_interleaved", lambda repeats, *runs, **kwargs: [child(*run) for run in runs])
    monkeypatch.setattr(figures, "warm", lambda folder: None)
    for folder, name in (("coco_ts_1x", "COCO_TS_labels.zip"), ("coco_ts_0.1x", "COCO_TS_labels.zip")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_bytes(b"")
    (tmp_path / "mlt_s_400").mkdir()
    (tmp_path / "mlt_s_400" / "MLT_S_labels.zip").write_bytes(b"")
    args = Namespace(workdir=str(tmp_path), repeats=1, rows=10, scale10=False, mlt_pairs=400)
    scratch = str(tmp_path / "scratch")
    table = figures.ist_s_figures(args, "data", scratch) + figures.coco_figures(args, scratch)
    table += figures.mlt_figures(args, scratch)
    by_goal = {row["goal_key"]: row for row in table if row["goal_key"]}
    for dataset in ("ist_s", "coco_ts", "mlt_s"):
        assert by_goal[f"{dataset}.build/floor"]["value"] == pytest.approx(2.2 / 2.0)  # the build as shipped
    for dataset in ("ist_s", "coco_ts"):
        assert by_goal[f"{dataset}.floor/num_proc_2"]["value"] == pytest.approx(2.0 / 1.2)
    pil_rows = [row for row in table if "PIL-decoding loop" in row["figure"]]
    assert len(pil_rows) == 2 and {row["goal_key"] for row in pil_rows} == {None}  # context only


@pytest.mark.parametrize("dataset", ["total_text", "icdar13_fst"])
def test_the_decoded_floor_reads_every_pair_the_build_writes_and_copies_scale_them(tmp_path, dataset):
    from benchmarks import field

    distinct, scaled = str(tmp_path / "distinct"), str(tmp_path / "scaled")
    getattr(synthetic, field.DECODED[dataset]["writer"])(distinct, n_train=4, n_test=2)
    field.scaled_copy(distinct, scaled, 3)
    once = children.child_build(dataset, distinct, str(tmp_path / "cache1"), 1, 1)
    built = children.child_build(dataset, scaled, str(tmp_path / "cache3"), 1, 1)
    assert built["rows"] == 3 * once["rows"] > 0  # every copy pairs: image, label, table renamed alike
    out = tmp_path / "out"
    out.mkdir()
    floor = field.child_decoded_floor(dataset, scaled, str(out))
    assert floor["pairs"] == built["rows"]
    assert f"{dataset}.build/floor" in goals.GOALS and f"{dataset}.floor/num_proc_2" in goals.GOALS
