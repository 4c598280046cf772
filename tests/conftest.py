"""Shared fixtures: synthetic inputs written once per session, a fresh cache per test."""

import atexit
import dataclasses
import gc
import io
import os
import shutil
import sys
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
TRAINING_MARK = "training_stack"  # the mark (and xdist group) of the tests that import the training stack
TRAINING_STACK = ("transformers", "albumentations", "torch._dynamo")  # ~11 s to import beside torch's 3.5 s


# The slowest tests, longest first: each starts Python processes of its own (pip, the command line, a
# second pytest) or trains a model. With several workers (pytest-xdist, as CI runs the suite; nox hands
# a worker one test at a time) they start at once and the short tests fill in around them. Where
# collection put them, a worker was handed datasets 3.6's four packaging tests together with the 37
# tests after them while the other worker ran the rest and then sat idle: the suite stood still at 93%
# for minutes.
SLOWEST_FIRST = (
    "test_every_example_of_the_page_runs_as_written",
    "test_two_checkouts_each_run_their_own_engine_through_load_dataset",
    "test_pip_install_gives_import_and_console_command_anywhere",
    "test_a_trained_models_masks_score_as_segmentation_metrics_says",
    "test_bad_input_fails_cleanly_in_a_real_process",
    "test_a_child_reports_its_own_peak_memory_not_its_parents",
    "test_two_builds_at_once_on_one_cache_both_end_correct",
    "test_the_test_session_leaves_nothing_in_the_temporary_folder",
    "test_a_named_pipe_in_an_input_folder_is_refused_without_blocking",
    "test_a_file_size_limit_during_a_build_names_the_cache_folder_and_a_rerun_builds_whole",
    "test_a_build_killed_half_way_leaves_the_next_build_correct",
    "test_ctrl_c_during_a_real_build_prints_one_line_and_exits_130",
    "test_help_has_an_example_for_each_verb",
    "test_the_decoded_row_figures_time_every_loop_over_the_same_rows",
)


def pytest_report_header() -> str:
    """The era under test, on the run's first lines (CI runs the suite once an era)."""
    era = "scripts through load_dataset" if DATASETS_MAJOR < 4 else "the builder only"
    return f"datasets {datasets.__version__} ({era})"


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the xdist_group marks added here
def pytest_collection_modifyitems(items):
    """Run SLOWEST_FIRST first, in its order; every other test keeps its place (the sort is stable).

    The tests marked `training_stack` form one xdist group (`--dist loadgroup`, as nox runs the suite): one
    worker imports the training stack (TRAINING_STACK: ~11 s of CPU, ~25 s more the first time, when it
    compiles their bytecode) and runs them all, the other runs everything else and never imports it.
    """
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(getattr(item, "originalname", item.name), len(rank)))
    for item in items:
        if item.get_closest_marker(TRAINING_MARK):
            item.add_marker(pytest.mark.xdist_group(TRAINING_MARK))


@pytest.fixture(autouse=True)
def _training_stack_tests_are_marked(request):
    """Fails a test that is the first in its process to import the training stack (TRAINING_STACK) without
    the mark: it would have a second worker import it. torch alone is not watched: `datasets` imports it
    for every streamed split where it is installed (`IterableDataset`'s epoch counter).

    Once torch is in, the process's objects are moved out of the garbage collector's sight (`gc.freeze`):
    torch's and transformers' many long-lived objects made each full collection ~0.5 s, and pytest
    collects five times as the session ends."""
    marked = request.node.get_closest_marker(TRAINING_MARK) is not None
    if marked and getattr(request.config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        assert request.node.nodeid.endswith(f"@{TRAINING_MARK}"), "xdist did not see the group: mark it before xdist"
    before = {name for name in (*TRAINING_STACK, "torch") if name in sys.modules}
    yield
    imported = {name for name in (*TRAINING_STACK, "torch") if name in sys.modules} - before
    if imported & set(TRAINING_STACK) and not marked:
        names = ", ".join(sorted(imported & set(TRAINING_STACK)))
        pytest.fail(f"{request.node.nodeid} imported {names}: mark it @pytest.mark.{TRAINING_MARK}", pytrace=False)
    if imported:
        gc.collect()
        gc.freeze()


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


def copy_of(folder, tmp_path):
    """A copy of the inputs in `folder`, in tmp_path/inputs, for a test to damage."""
    data_dir = str(tmp_path / "inputs")
    shutil.copytree(folder, data_dir)
    return data_dir


def rewrite_zip(path, change):
    """Rewrite a zip with each member's bytes as `change(name, data)` gives them (None: dropped)."""
    with zipfile.ZipFile(path) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            changed = change(name, data)
            if changed is not None:
                archive.writestr(name, changed)


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
