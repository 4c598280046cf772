"""Shared fixtures: synthetic inputs written once per session, a fresh cache per test."""

import atexit
import dataclasses
import io
import os
import shutil
import tempfile
import zipfile

# Before `datasets` is imported: never touch the user's cache or the network.
_SANDBOX = tempfile.mkdtemp(prefix="ist_s_tests_")
_SESSION_PID = os.getpid()


def _remove_sandbox() -> None:
    """Remove the sandbox when the test process exits: after the last test and every fixture's finaliser.

    Processes forked from it (DataLoader workers, build processes) leave it to the process that made it.
    """
    if os.getpid() == _SESSION_PID:
        shutil.rmtree(_SANDBOX, ignore_errors=True)


atexit.register(_remove_sandbox)
os.environ.setdefault("HF_HOME", os.path.join(_SANDBOX, "hf"))
os.environ["HF_DATASETS_CACHE"] = os.path.join(_SANDBOX, "datasets")
os.environ["HF_MODULES_CACHE"] = os.path.join(_SANDBOX, "modules")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pytest  # noqa: E402

import ist_s  # noqa: E402
from scene_text_seg import inputs, synthetic  # noqa: E402

DATASETS_MAJOR = int(datasets.__version__.split(".")[0])

LABELS = "IST_Segmentation_labels.zip"
MEMBER = "IST_Segmentation_labels/train/img_1.png"  # a mask the synthetic labels zip holds
IMAGES = "ch4_training_images.zip"


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


def copy_with(zip_inputs, folder, archive, replace=None, add=None, drop=None):
    """A copy of the zip inputs in `folder`, with members of one archive replaced, added or removed."""
    src, _ = zip_inputs
    data_dir = os.path.join(folder, "inputs")
    shutil.copytree(src, data_dir)
    with (
        zipfile.ZipFile(os.path.join(src, archive)) as original,
        zipfile.ZipFile(os.path.join(data_dir, archive), "w") as out,
    ):
        for info in original.infolist():
            if drop and info.filename in drop:
                continue
            out.writestr(info.filename, (replace or {}).get(info.filename, original.read(info.filename)))
        for name, data in (add or {}).items():
            out.writestr(name, data)
    return data_dir


def png(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    PIL.Image.fromarray(array, mode).save(buffer, "PNG")
    return buffer.getvalue()


def replace_input(monkeypatch, role, **changes):
    """Swap one row of IST_S's input table (what builds and `verify` read) for this test."""
    spec = ist_s.IstS.SPEC
    table = tuple(dataclasses.replace(s, **changes) if s.role == role else s for s in spec.inputs)
    monkeypatch.setattr(ist_s.IstS, "SPEC", dataclasses.replace(spec, inputs=table))
    return ist_s.IstS.SPEC.required_inputs()[role]


def register_synthetic_images(monkeypatch, data_dir):
    """Make the synthetic image zips in `data_dir` the 'published' ones: their size and md5 in the table."""
    for role in ("train_images", "test_images"):
        path = os.path.join(data_dir, ist_s.IstS.SPEC.required_inputs()[role].filename)
        md5 = inputs.hash_file(path, ("md5",))["md5"]
        replace_input(monkeypatch, role, size=os.path.getsize(path), digest=f"md5:{md5}")


def cli(capsys, *argv):
    """`python ist_s.py ARGV`, run in this process: (exit code, stdout, stderr)."""
    try:
        code = ist_s.main(list(argv))
    except SystemExit as e:  # argparse: --help, usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
