"""The benchmark stand-ins mirror the real layout, and the byte-overhead figure holds on them.

Timings and memory are measured by `python benchmarks/run.py`, not here.
"""

import json
import os
import sys
import zipfile

import pytest

import ist_s
from benchmarks import children, figures, goals, measure, report
from scene_text_seg import builder, synthetic


@pytest.fixture(scope="module")
def tiny_stand_ins(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("stand_ins"))
    labelled = synthetic.write_stand_ins(root, processes=1, counts={"train": (6, 1), "test": (4, 1)})
    return root, labelled


def test_stand_ins_build_like_the_real_archives(tiny_stand_ins, cache_dir):
    root, labelled = tiny_stand_ins
    dataset = ist_s.load(root, cache_dir=cache_dir, verification_mode="no_checks")
    assert {split: dataset[split].num_rows for split in dataset} == labelled == {"train": 5, "test": 3}
    row = dataset["train"][0]
    assert row["image"].size == row["mask"].size == (1280, 720)
    assert row["mask_classes"] == [0, 1]


def test_arrow_holds_the_member_bytes_and_little_more(tiny_stand_ins, tmp_path, monkeypatch):
    root, _ = tiny_stand_ins
    monkeypatch.setattr(builder, "EXAMPLE_THREADS", builder.EXAMPLE_THREADS)  # the child sets it
    floor = children.child_floor("ist_s", root, str(tmp_path))
    built = children.child_build("ist_s", root, str(tmp_path / "cache"), 1, 1)
    assert built["rows"] == 8
    assert built["arrow_bytes"] / floor["member_bytes"] <= 1.02


def test_coco_stand_ins_hold_the_member_count_and_build(tmp_path):
    root = str(tmp_path / "coco")
    labelled = synthetic.write_coco_stand_ins(root, labelled=7, members=40, unique=2, processes=1)
    with zipfile.ZipFile(os.path.join(root, "train2014.zip")) as archive:
        assert len(archive.namelist()) == 40
    assert children.child_plan("coco_ts", root)["pairs"] == labelled == 7
    built = children.child_build("coco_ts", root, str(tmp_path / "cache"), 1, 1)
    floor = children.child_floor("coco_ts", root, str(tmp_path))
    assert built["rows"] == 7 and built["arrow_bytes"] / floor["member_bytes"] <= 1.02


def test_the_decoded_row_figures_time_every_loop_over_the_same_rows(tiny_stand_ins, cache_dir):
    timed = children.child_iterate("ist_s", tiny_stand_ins[0], cache_dir, rows=5, rounds=2)
    assert timed["rows"] == 5
    assert all(0 < timed[loop] < float("inf") for loop in ("bare", "indexed", "iterated", "streamed"))


def test_a_child_reports_its_own_peak_memory_not_its_parents(tiny_stand_ins):
    alone = measure.run_child("plan", "ist_s", tiny_stand_ins[0])["peak_rss_mb"]
    ballast = b"\x01" * int(alone * 3 * 2**20)  # this process now outweighs the child threefold
    beside_ballast = measure.run_child("plan", "ist_s", tiny_stand_ins[0])["peak_rss_mb"]
    assert len(ballast) / 2**20 > 2 * beside_ballast and 0.8 < beside_ballast / alone < 1.25


def test_the_table_flags_every_missed_goal():
    assert goals.row("x", 1.7, "ist_s.floor/num_proc_2", "")["missed"] is False  # >= 1.6
    assert goals.row("x", 1.5, "ist_s.floor/num_proc_2", "")["missed"] is True
    assert goals.row("x", 1.2, "ist_s.build/floor", "")["missed"] is True  # <= 1.10
    assert goals.row("x", 54.0, None, "")["missed"] is False
    with pytest.raises(KeyError, match=r"not in benchmarks/goals\.py"):
        goals.row("x", 1.0, "no such goal", "")


def test_interleaved_runs_take_turns_and_keep_the_best_of_each(monkeypatch, tmp_path):
    results = {
        "feed": iter([{"images_per_second": rate} for rate in (300.0, 340.0, 320.0)]),
        "build": iter([{"seconds": seconds} for seconds in (2.0, 1.5, 1.8)]),
    }
    calls = []
    fresh = tmp_path / "cache"

    def child(name, *args):
        assert fresh.is_dir() and not any(fresh.iterdir())  # emptied before every run
        (fresh / "written").write_text("")
        calls.append((name, *args))
        return next(results[name])

    monkeypatch.setattr(measure, "run_child", child)
    monkeypatch.setattr(os, "sync", lambda: calls.append(("sync",)))  # what runs before wrote, flushed first
    feed, build = measure.best_of_interleaved(3, ("feed", "arrow", 2), ("build", "data"), fresh_dir=str(fresh))
    assert [call[0] for call in calls] == ["sync", "feed", "sync", "build"] * 3 and calls[1] == ("feed", "arrow", 2)
    assert (feed["images_per_second"], build["seconds"]) == (340.0, 1.5)


def test_ten_small_builds_are_timed_back_to_back_against_one_big(monkeypatch, tmp_path):
    seconds = iter([12.0] + [1.3] * 10 + [11.0] + [1.2] * 10)
    calls = []

    def child(name, dataset, data_dir, *args):
        calls.append(data_dir)
        return {"seconds": next(seconds), "peak_rss_mb": 200.0 if data_dir == "big" else 180.0 + len(calls) % 3}

    monkeypatch.setattr(measure, "run_child", child)
    big, small, ten_small = figures.ten_small_builds_against_one(2, "big", "small", str(tmp_path / "cache"), 2)
    assert calls == (["big"] + ["small"] * 10) * 2
    assert big["seconds"] == 11.0 and ten_small == pytest.approx(12.0) and small["peak_rss_mb"] == 180.0


@pytest.mark.training_stack
@pytest.mark.parametrize("delivery", ["float32", "uint8", "uint8+convert"])
def test_every_feed_the_table_times_delivers_every_row(tiny_stand_ins, cache_dir, delivery):
    pytest.importorskip("torch")
    root, labelled = tiny_stand_ins
    for source in ("arrow", "streaming"):
        fed = children.child_feed(source, root, cache_dir, 0, delivery)
        assert fed["rows"] == labelled["train"] and fed["images_per_second"] > 0
    if delivery != "uint8+convert":
        assert children.child_handover(delivery, 0)["images_per_second"] > 0


def test_the_docs_show_the_table_of_the_last_run():
    with open(report.LAST_RUN, encoding="utf-8") as f:
        run = json.load(f)
    with open(report.DOCS_PAGE, encoding="utf-8") as f:
        page = f.read()
    assert report.docs_block(run) in page, "run `python benchmarks/report.py --write-docs`"
    for figure in run["figures"]:
        assert figure["goal"] == (str(goals.GOALS[figure["goal_key"]]) if figure["goal_key"] else "-")


def test_a_benchmark_runs_alone_without_ist_s_figures(monkeypatch, tmp_path, capsys):
    from benchmarks import field, run

    def no_ist_s(*args):
        raise AssertionError("IST_S's figures were run")

    asked = []
    monkeypatch.setattr(run, "ist_s_figures", no_ist_s)
    monkeypatch.setattr(run, "ist_s_stand_ins", no_ist_s)

    def decoded_figures(args, scratch, dataset):
        asked.append(dataset)
        return [goals.row("T", 0.9, None, "")]

    monkeypatch.setattr(field, "decoded_figures", decoded_figures)
    argv = ["run.py", "--no-ist-s", "--total-text", "--icdar13", "--workdir", str(tmp_path / "w"), "--json"]
    monkeypatch.setattr(sys, "argv", [*argv, str(tmp_path / "run.json")])
    run.main()
    assert asked == ["total_text", "icdar13_fst"] and "\nT " in capsys.readouterr().out
    with open(tmp_path / "run.json") as f:
        assert [row["figure"] for row in json.load(f)["figures"]] == ["T", "T"]
