"""Publishing: the checked-in card matches the builder; the export loads with no script; push's calls."""

import json
import os
import shutil

import datasets
import huggingface_hub
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from huggingface_hub.errors import HfHubHTTPError

import ist_s
from scene_text_seg import publish, synthetic
from tests.conftest import build, raw

PUBLISHED_SIZES = {
    "default": {"train": 979, "test": 496},
    "with_unlabeled": {"train": 1000, "test": 500},
    "words": {"train": 1000, "test": 500},
}


def test_checked_in_card_matches_the_builder(capsys):
    assert ist_s.main(["card", "--check"]) == 0
    card = DatasetCard.load(publish.card_path(ist_s.SPEC))
    for info in card.data.dataset_info:
        features = ist_s.IstS(config_name=info["config_name"]).info.features
        assert datasets.Features._from_yaml_list(info["features"]) == features
        assert {s["name"]: s["num_examples"] for s in info["splits"]} == PUBLISHED_SIZES[info["config_name"]]
    assert [c["config_name"] for c in card.data.configs] == ["default", "with_unlabeled", "words"]
    assert card.data.license == "cc-by-4.0"
    assert card.data.task_categories == ["image-segmentation"] and card.data.task_ids == ["semantic-segmentation"]
    assert "scene-text" in card.data.tags and card.data.size_categories == ["1K<n<10K"]


def test_card_check_fails_when_the_builder_disagrees(monkeypatch, capsys):
    monkeypatch.setitem(ist_s.EXPECTED_SPLIT_SIZES, "default", {"train": 980, "test": 496})
    assert ist_s.main(["card", "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_card_body_says_what_users_need():
    text = DatasetCard.load(publish.card_path(ist_s.SPEC)).text
    assert "| 255 | uncertain |" in text and "ignore index" in text
    for key in ("@inproceedings{bonechi2019cocots", "@article{bonechi2020weak", "@inproceedings{karatzas2015icdar"):
        assert key in text
    assert "CC BY 4.0" in text and "private or gated" in text
    assert "trust_remote_code=True" in text and "ist_s.load(" in text


@pytest.fixture(scope="module")
def exported(zip_inputs, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("export") / "hub")
    cache = str(tmp_path_factory.mktemp("export_cache"))
    splits = ist_s.export(zip_inputs[0], out, cache_dir=cache, verification_mode="no_checks")
    return out, cache, splits


def test_export_layout(exported, zip_inputs):
    out, _, splits = exported
    files = sorted(os.path.relpath(os.path.join(root, f), out) for root, _, names in os.walk(out) for f in names)
    # Two files a split: as many as a streamed split has shards, so DataLoader workers share them.
    assert files == [
        "README.md",
        *(
            f"data/{c}/{s}-0000{i}-of-00002.parquet"
            for c in ("default", "with_unlabeled")
            for s in ("test", "train")
            for i in (0, 1)
        ),
        "id2label.json",
    ]
    with open(os.path.join(out, "id2label.json")) as f:
        assert json.load(f) == {"0": "background", "1": "text"}
    card = DatasetCard.load(os.path.join(out, "README.md"))
    sizes = {i["config_name"]: {s["name"]: s["num_examples"] for s in i["splits"]} for i in card.data.dataset_info}
    assert sizes == {c: {s: v["num_examples"] for s, v in split.items()} for c, split in splits.items()}
    assert sizes["default"] == {"train": 10, "test": 6}
    assert card.text == DatasetCard.load(publish.card_path(ist_s.SPEC)).text


def test_export_embeds_the_bytes_in_image_sized_row_groups(exported, zip_inputs):
    out, cache, _ = exported
    paths = [os.path.join(out, f"data/with_unlabeled/train-0000{i}-of-00002.parquet") for i in (0, 1)]
    images = [image["bytes"] for path in paths for image in pq.read_table(path).column("image").to_pylist()]
    rows = raw(build(zip_inputs[0], cache, config="with_unlabeled")["train"])
    assert images == [r["image"]["bytes"] for r in rows]
    for path in paths:
        metadata = pq.ParquetFile(path).metadata
        assert all(metadata.row_group(i).num_rows <= 100 for i in range(metadata.num_row_groups))


@pytest.mark.parametrize("config", ["default", "with_unlabeled"])
def test_export_loads_with_no_script_like_the_builder(exported, zip_inputs, config, tmp_path):
    out, cache, _ = exported
    moved = str(tmp_path / "elsewhere")
    shutil.copytree(out, moved)  # the folder loads the same from any place
    direct = build(zip_inputs[0], cache, config=config)
    for folder in (out, moved):
        loaded = datasets.load_dataset(folder, config, cache_dir=str(tmp_path / "load_cache"))
        streamed = datasets.load_dataset(folder, config, streaming=True)
        for split in ("train", "test"):
            assert loaded[split].features == direct[split].features
            assert isinstance(loaded[split].features["mask_classes"].feature, datasets.ClassLabel)
            assert raw(loaded[split]) == raw(direct[split])
            assert raw(streamed[split]) == raw(direct[split])


def test_export_is_reproducible_and_shards(exported, zip_inputs, tmp_path):
    out, cache, _ = exported
    again = str(tmp_path / "again")
    ist_s.export(zip_inputs[0], again, cache_dir=cache, verification_mode="no_checks")
    for root, _, names in os.walk(out):
        for name in names:
            with (
                open(os.path.join(root, name), "rb") as a,
                open(os.path.join(again, os.path.relpath(root, out), name), "rb") as b,
            ):
                assert a.read() == b.read(), name
    small = str(tmp_path / "small")
    ist_s.export(
        zip_inputs[0], small, configs=("default",), cache_dir=cache, verification_mode="no_checks", max_shard_size="5KB"
    )
    shards = sorted(os.listdir(os.path.join(small, "data", "default")))
    assert len([s for s in shards if s.startswith("train-")]) > 1
    loaded = datasets.load_dataset(small, cache_dir=str(tmp_path / "c"))
    assert raw(loaded["train"]) == raw(build(zip_inputs[0], cache)["train"])
    assert [c["config_name"] for c in DatasetCard.load(os.path.join(small, "README.md")).data.configs] == ["default"]


def test_export_refuses_a_folder_that_is_not_an_export(zip_inputs, tmp_path, cache_dir, capsys):
    # Files beside the export's own are kept (see test_state_checks); one of its names is refused.
    (tmp_path / "mine.txt").write_text("keep me")
    (tmp_path / "README.md").write_text("my readme")
    code = ist_s.main(["export", "--data-dir", zip_inputs[0], "--out", str(tmp_path), "--cache-dir", cache_dir])
    err = capsys.readouterr().err
    assert code == 2 and "is not an earlier export (it has no id2label.json) and holds README.md," in err
    assert (tmp_path / "mine.txt").read_text() == "keep me" and (tmp_path / "README.md").read_text() == "my readme"


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records calls, and what the folder held at upload time."""

    calls: list = []
    refuse: bool = False

    def __init__(self, token=None):
        FakeHub.calls.append(("init", token))

    def create_repo(self, repo_id, **kwargs):
        if FakeHub.refuse:
            error = HfHubHTTPError.__new__(HfHubHTTPError)
            Exception.__init__(error, "403 Forbidden: you don't have the rights to create a dataset under 'org'\nmore")
            raise error
        FakeHub.calls.append(("create_repo", repo_id, kwargs))

    def create_branch(self, repo_id, **kwargs):
        FakeHub.calls.append(("create_branch", repo_id, kwargs))

    def upload_folder(self, **kwargs):
        folder = kwargs["folder_path"]
        files = sorted(os.path.relpath(os.path.join(r, f), folder) for r, _, names in os.walk(folder) for f in names)
        FakeHub.calls.append(("upload_folder", {k: v for k, v in kwargs.items() if k != "folder_path"}, files))
        return type("Commit", (), {"commit_url": f"https://hub.example/{kwargs['repo_id']}/commit/1"})()


@pytest.fixture
def fake_hub(monkeypatch):
    FakeHub.calls, FakeHub.refuse = [], False
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_logged_in")
    return FakeHub


def test_push_exports_then_uploads_with_these_arguments(fake_hub, zip_inputs, cache_dir, capsys):
    argv = ["push", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    code = ist_s.main([*argv, "--repo-id", "org/ist_s", "--private", "--revision", "v1", "--config", "default"])
    assert code == 0, capsys.readouterr().err
    assert "pushed org/ist_s: https://hub.example/org/ist_s/commit/1" in capsys.readouterr().out
    init, create, branch, upload = fake_hub.calls
    assert init == ("init", "hf_logged_in")
    assert create == ("create_repo", "org/ist_s", {"repo_type": "dataset", "private": True, "exist_ok": True})
    assert branch == ("create_branch", "org/ist_s", {"repo_type": "dataset", "branch": "v1", "exist_ok": True})
    _, arguments, files = upload
    assert arguments == {
        "repo_id": "org/ist_s",
        "repo_type": "dataset",
        "revision": "v1",
        "commit_message": "Upload IST_S (python ist_s.py push)",
        "delete_patterns": ["data/**"],
    }
    assert files == [
        "README.md",
        *(f"data/default/{s}-0000{i}-of-00002.parquet" for s in ("test", "train") for i in (0, 1)),
        "id2label.json",
    ]


def test_push_with_an_explicit_token_and_no_revision(fake_hub, zip_inputs, cache_dir):
    ist_s.push(zip_inputs[0], "org/ist_s", token="hf_given", cache_dir=cache_dir, verification_mode="no_checks")
    assert fake_hub.calls[0] == ("init", "hf_given")
    assert [c[0] for c in fake_hub.calls] == ["init", "create_repo", "upload_folder"]
    assert fake_hub.calls[-1][1]["revision"] is None


def test_push_without_a_token_is_a_one_line_error(fake_hub, monkeypatch, zip_inputs, capsys):
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    assert ist_s.main(["push", "--data-dir", zip_inputs[0], "--repo-id", "org/ist_s"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: no Hugging Face token: log in with `hf auth login`, or pass --token"
    assert fake_hub.calls == []


def test_push_refused_by_the_hub_is_a_one_line_error(fake_hub, zip_inputs, cache_dir, capsys):
    fake_hub.refuse = True
    argv = ["push", "--data-dir", zip_inputs[0], "--repo-id", "org/x", "--cache-dir", cache_dir]
    assert ist_s.main([*argv, "--verification-mode", "no_checks"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        last == "error: the Hub refused org/x: 403 Forbidden: you don't have the rights to create a dataset under 'org'"
    )


@pytest.mark.parametrize("made_by", ["datasets-3", "datasets-5"])
def test_exports_made_by_either_era_load_in_this_one(made_by, tmp_path):
    """Colleagues load a pushed dataset with whatever `datasets` they have."""
    from tests import make_export_fixtures

    inputs = str(tmp_path / "inputs")
    synthetic.write_inputs(inputs, **make_export_fixtures.FIXTURE_INPUTS)
    folder = os.path.join(os.path.dirname(make_export_fixtures.fixture_folder(0)), made_by)
    for config in ("default", "with_unlabeled", "words"):
        direct = build(inputs, str(tmp_path / "cache"), config=config)
        loaded = datasets.load_dataset(folder, config, cache_dir=str(tmp_path / "load_cache"))
        streamed = datasets.load_dataset(folder, config, streaming=True)
        for split in ("train", "test"):
            assert loaded[split].features == direct[split].features
            assert raw(loaded[split]) == raw(direct[split]) == raw(streamed[split])
