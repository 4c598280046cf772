"""Shared fixtures: synthetic inputs written once per session, a fresh cache per test."""

import os
import tempfile

# Before `datasets` is imported: never touch the user's cache or the network.
_SANDBOX = tempfile.mkdtemp(prefix="ist_s_tests_")
os.environ.setdefault("HF_HOME", os.path.join(_SANDBOX, "hf"))
os.environ["HF_DATASETS_CACHE"] = os.path.join(_SANDBOX, "datasets")
os.environ["HF_MODULES_CACHE"] = os.path.join(_SANDBOX, "modules")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import datasets  # noqa: E402
import pytest  # noqa: E402

import ist_s  # noqa: E402
from tests import synthetic  # noqa: E402

DATASETS_MAJOR = int(datasets.__version__.split(".")[0])


@pytest.fixture(scope="session")
def zip_inputs(tmp_path_factory):
    """(folder, expected): the three inputs as zips."""
    root = tmp_path_factory.mktemp("zip_inputs")
    return str(root), synthetic.write_inputs(str(root))


@pytest.fixture(scope="session")
def folder_inputs(tmp_path_factory):
    """The same inputs, as the folders the zips extract to."""
    root = tmp_path_factory.mktemp("folder_inputs")
    return str(root), synthetic.write_inputs(str(root), form="folder")


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


def raw(dataset):
    """Rows with image and mask left as stored bytes, for exact comparisons."""
    dataset = dataset.cast_column("image", datasets.Image(decode=False))
    return list(dataset.cast_column("mask", datasets.Image(decode=False)))


def build(data_dir, cache_dir, config="default", **kwargs):
    kwargs.setdefault("verification_mode", "no_checks")  # synthetic zips are not the published ones
    return ist_s.load(data_dir, config=config, cache_dir=cache_dir, **kwargs)
