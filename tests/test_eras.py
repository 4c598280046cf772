"""Both eras of `datasets`: 3.x runs the script through `load_dataset`; 4.x/5.x use the builder directly."""

import os

import datasets
import pytest

import ist_s
from scene_text_seg import registry
from tests.conftest import DATASETS_MAJOR, build, raw

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ist_s.py")
scripts_supported = pytest.mark.skipif(DATASETS_MAJOR >= 4, reason="datasets >= 4 refuses loading scripts")


@scripts_supported
@pytest.mark.parametrize("config", ["default", "with_unlabeled"])
def test_load_dataset_runs_the_script(zip_inputs, cache_dir, config):
    loaded = datasets.load_dataset(
        SCRIPT,
        config,
        data_dir=zip_inputs[0],
        trust_remote_code=True,
        cache_dir=cache_dir,
        verification_mode="no_checks",
    )
    direct = build(zip_inputs[0], cache_dir + "_direct", config=config)
    assert loaded["train"].features == direct["train"].features
    for split in ("train", "test"):
        assert raw(loaded[split]) == raw(direct[split])


@scripts_supported
def test_load_dataset_streams_the_script(zip_inputs, cache_dir):
    streamed = datasets.load_dataset(SCRIPT, data_dir=zip_inputs[0], trust_remote_code=True, streaming=True)
    assert streamed["train"].num_shards >= 2
    assert raw(streamed["test"]) == raw(build(zip_inputs[0], cache_dir)["test"])


@scripts_supported
def test_load_dataset_without_data_dir_gives_the_instructions(cache_dir):
    with pytest.raises(datasets.exceptions.ManualDownloadError, match=r"ch4_training_images\.zip"):
        datasets.load_dataset(SCRIPT, trust_remote_code=True, cache_dir=cache_dir)


@scripts_supported
def test_load_dataset_names_missing_inputs(tmp_path, cache_dir):
    # The script runs as a copy in datasets' module cache: its error class is that copy's.
    with pytest.raises(FileNotFoundError, match=r"IST_Segmentation_labels\.zip") as error:
        datasets.load_dataset(SCRIPT, data_dir=str(tmp_path), trust_remote_code=True, cache_dir=cache_dir)
    assert type(error.value).__name__ == "MissingInputError"


@pytest.mark.skipif(DATASETS_MAJOR < 4, reason="datasets 3.x still runs scripts")
def test_new_datasets_refuses_the_script_so_ist_s_load_is_the_way(zip_inputs, cache_dir):
    with pytest.raises(Exception, match=r"(?i)script"):
        datasets.load_dataset(SCRIPT, data_dir=zip_inputs[0], cache_dir=cache_dir)
    assert ist_s.load(zip_inputs[0], cache_dir=cache_dir, verification_mode="no_checks")["train"].num_rows > 0


def test_missing_data_dir_in_the_builder_api():
    # datasets 3.x raises its own ManualDownloadError with our instructions; 5.x never does, so we do.
    expected = (ist_s.MissingInputError, datasets.exceptions.ManualDownloadError)
    with pytest.raises(expected, match=r"ch4_training_images\.zip"):
        ist_s.IstS().as_streaming_dataset()


@scripts_supported
@pytest.mark.parametrize("name", registry.DATASETS)
def test_load_dataset_runs_every_dataset_script(name, tmp_path, cache_dir):
    module = registry.dataset_module(name)
    module.SPEC.write_demo_inputs(str(tmp_path))
    script = os.path.join(os.path.dirname(SCRIPT), f"{name}.py")
    loaded = datasets.load_dataset(
        script, data_dir=str(tmp_path), trust_remote_code=True, cache_dir=cache_dir, verification_mode="no_checks"
    )
    direct = module.load(str(tmp_path), cache_dir=cache_dir + "_direct", verification_mode="no_checks")
    assert set(loaded) == set(direct)
    for split in direct:
        assert raw(loaded[split]) == raw(direct[split])
    assert os.path.basename(loaded[next(iter(direct))].cache_files[0]["filename"]).startswith(name)
