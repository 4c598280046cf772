"""The project as users get it: installed with pip and imported from anywhere, a plain checkout run by
datasets 3.x, a cache keyed by the code, logging in the `datasets` tree, md5 on FIPS machines."""

import ast
import glob
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig

import datasets
import pytest
from packaging.requirements import Requirement

import ist_s
from scene_text_seg import builder as engine
from scene_text_seg import inputs, registry
from tests.conftest import DATASETS_MAJOR, build

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = [
    *(f"{name}.py" for name in registry.DATASETS),
    "scene_text_seg",
    "dataset_card",
    "pyproject.toml",
    "setup.py",
    "requirements.txt",
    "README.md",
    "LICENSE",
]


def copy_checkout(target: str) -> str:
    """The files a clone holds that make the product (no tests), copied to `target`."""
    os.makedirs(target)
    for name in SHIPPED:
        source = os.path.join(REPO, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(target, name), ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    return target


def clean_env(**extra) -> dict:
    """This environment without anything that would put the checkout on sys.path."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, **extra}


def run(argv: list[str], cwd: str, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# What the installed distribution holds, asked of it in one process from an empty folder: where the modules
# come from, its requirements, each dataset's console command through its entry point (the card shipped
# and up to date), the stand-ins built, exported and previewed. A console wrapper itself runs below.
INSTALLED = """
import contextlib, importlib.metadata as metadata, io, json
import ist_s, scene_text_seg
commands = {}
for entry in metadata.distribution("ist_s").entry_points.select(group="console_scripts"):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = entry.load()(["card", "--check"])
    commands[entry.name] = [code, out.getvalue()]
ist_s.write_demo_inputs("in")
ds = ist_s.load("in", cache_dir="cache", verification_mode="no_checks")
options = ["--data-dir", "in", "--cache-dir", "cache", "--verification-mode", "no_checks"]
verbs = {}
for verb in (["export", "--out", "hub"], ["preview"]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        verbs[verb[0]] = [ist_s.main([*verb, *options]), out.getvalue()]
print(json.dumps({
    "files": [ist_s.__file__, scene_text_seg.__file__],
    "requires": metadata.requires("ist_s"),
    "commands": commands,
    "rows": {split: d.num_rows for split, d in ds.items()},
    "verbs": verbs,
}))
"""


def test_pip_install_gives_import_and_console_command_anywhere(tmp_path):
    """`pip install .` (not editable) into a fresh virtual environment, then used from an empty folder."""
    checkout = copy_checkout(str(tmp_path / "clone"))
    venv = str(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = sysconfig.get_paths(vars={"base": venv, "platbase": venv})["purelib"]
    # The dependencies (and pip, setuptools) come from this test environment, so nothing is downloaded.
    with open(os.path.join(site, "test_environment.pth"), "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")
    run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "."], cwd=checkout)
    shutil.rmtree(checkout)  # nothing may still come from the clone

    empty = tmp_path / "empty"
    empty.mkdir()
    installed = json.loads(run([python, "-c", INSTALLED], str(empty)).stdout.splitlines()[-1])
    assert all(path.startswith(site) for path in installed["files"])
    with open(os.path.join(REPO, "requirements.txt")) as f:
        runtime = {Requirement(line.strip()) for line in f if line.strip() and not line.startswith("#")}
    requires = {Requirement(r) for r in installed["requires"]}
    assert requires == runtime and "torch" not in {r.name for r in requires}
    assert sorted(installed["commands"]) == sorted(map(registry.command, registry.DATASETS))
    for console, (code, out) in installed["commands"].items():  # each dataset's command, each card shipped
        assert code == 0 and "is up to date" in out, (console, out)
        assert os.access(os.path.join(venv, "bin", console), os.X_OK), console
    assert installed["rows"] == {"train": 22, "test": 11}

    command = os.path.join(venv, "bin", "ist-s")
    demo = run([command, "demo", "--out", "demo.png"], str(empty), HF_HOME=str(tmp_path / "hf"))
    assert "$ ist-s build" in demo.stdout and (empty / "demo.png").stat().st_size > 0
    assert installed["verbs"]["export"][0] == 0 and "wrote hub" in installed["verbs"]["export"][1]
    assert (empty / "hub" / "README.md").is_file()
    assert installed["verbs"]["preview"] == [
        0,
        "wrote ist_s_preview.png (8 train images; text green, uncertain magenta)\n",
    ]


@pytest.mark.skipif(DATASETS_MAJOR >= 4, reason="datasets >= 4 refuses loading scripts")
def test_two_checkouts_each_run_their_own_engine_through_load_dataset(tmp_path, zip_inputs):
    """datasets 3.x copies the script alone into its module cache, one copy for identical scripts, its record
    naming the first checkout it came from: each plain checkout (never installed) must run the engine beside
    it, a second checkout with an edited engine its own, and an engine edited later gets a new cache folder.
    In one process, datasets 3.x serves the second checkout's identical script from the module it imported
    for the first: that build must be refused, naming both engines, never run with the first."""
    first, second = (copy_checkout(str(tmp_path / name)) for name in ("first", "second"))
    with open(os.path.join(second, "scene_text_seg", "builder.py"), "a") as f:
        f.write("\nPROBE = 'the second checkout'\n")
    code = (
        "import sys, datasets\n"
        "options = dict(data_dir=sys.argv[2], trust_remote_code=True, cache_dir=sys.argv[3], "
        "verification_mode='no_checks')\n"
        "ds = datasets.load_dataset(sys.argv[1], **options)\n"
        "engine = sys.modules['scene_text_seg']\n"
        "print(ds['test'].num_rows, engine.__file__, ds['test'].cache_files[0]['filename'], "
        "getattr(engine.builder, 'PROBE', None))\n"
        "for other in sys.argv[4:]:\n"
        "    try:\n"
        "        datasets.load_dataset(other, **options)\n"
        "    except ImportError as e:\n"
        "        print('refused:', e)\n"
    )
    env = {"HF_MODULES_CACHE": str(tmp_path / "modules")}

    def load(checkout: str, *then: str) -> list[str]:
        script = os.path.join(checkout, "ist_s.py")
        argv = [sys.executable, "-c", code, script, zip_inputs[0], str(tmp_path / "c"), *then]
        return run(argv, str(tmp_path), **env).stdout.splitlines()

    ran = {first: [load(first)[0].split()], second: [load(second)[0].split()]}
    *loaded, refused = load(first, os.path.join(second, "ist_s.py"))  # then the second, in the same process
    ran[first].append(loaded[0].split())
    copies = glob.glob(str(tmp_path / "modules" / "datasets_modules" / "datasets" / "ist_s" / "*" / "ist_s.py"))
    assert len(copies) == 1  # the case that matters: one cached copy serves both checkouts
    for checkout, probe in ((first, "None"), (second, "the second checkout")):
        for rows, engine_file, _, *found in ran[checkout]:
            assert rows == "6"
            assert engine_file == os.path.realpath(os.path.join(checkout, "scene_text_seg", "__init__.py"))
            assert " ".join(found) == probe
    assert refused.startswith("refused: ist_s: the script in ") and os.path.realpath(second) in refused
    assert os.path.realpath(os.path.join(first, "scene_text_seg")) in refused
    assert ran[first][0][2] == ran[first][1][2]  # the same code: the same cache folder, built once
    with open(os.path.join(first, "scene_text_seg", "pixels.py"), "a") as f:
        f.write("\n# a change to the engine\n")
    edited = load(first)[0].split()
    assert os.path.dirname(edited[2]) != os.path.dirname(ran[first][0][2])  # new code, new cache folder


def _edited_engine(tmp_path) -> str:
    copy = str(tmp_path / "engine")
    shutil.copytree(engine.ENGINE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(copy, "pixels.py"), "a") as f:
        f.write("\n# a change that could shape the rows\n")
    return copy


def test_changed_engine_code_gets_a_new_cache_folder(zip_inputs, cache_dir, tmp_path, monkeypatch):
    before = ist_s.prepare(zip_inputs[0], cache_dir=cache_dir, verification_mode="no_checks").cache_dir
    assert ist_s.prepare(zip_inputs[0], cache_dir=cache_dir, verification_mode="no_checks").cache_dir == before
    monkeypatch.setattr(engine, "ENGINE_DIR", _edited_engine(tmp_path))
    after = ist_s.prepare(zip_inputs[0], cache_dir=cache_dir, verification_mode="no_checks").cache_dir
    assert after != before
    assert os.path.basename(os.path.dirname(os.path.dirname(after))) == "ist_s"  # the folder keeps its name


def test_changed_script_gets_a_new_code_fingerprint(tmp_path, monkeypatch):
    import importlib.util

    def load_copy(folder: str, extra: str):
        os.makedirs(folder)
        path = os.path.join(folder, "ist_s.py")
        with open(os.path.join(REPO, "ist_s.py")) as f:
            source = f.read()
        with open(path, "w") as f:
            f.write(source + extra)
        spec = importlib.util.spec_from_file_location(f"ist_s_{os.path.basename(folder)}", path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return engine.code_fingerprint(module.IstS)

    assert load_copy(str(tmp_path / "same"), "") == engine.code_fingerprint(ist_s.IstS)
    assert load_copy(str(tmp_path / "edited"), "\n# edited\n") != engine.code_fingerprint(ist_s.IstS)


@pytest.mark.skipif(DATASETS_MAJOR >= 4, reason="datasets >= 4 refuses loading scripts")
def test_load_dataset_cache_follows_the_engine(zip_inputs, cache_dir, tmp_path, monkeypatch):
    script = os.path.join(REPO, "ist_s.py")
    options = {"data_dir": zip_inputs[0], "trust_remote_code": True, "cache_dir": cache_dir}
    before = datasets.load_dataset(script, verification_mode="no_checks", **options)["test"].cache_files
    monkeypatch.setattr(engine, "ENGINE_DIR", _edited_engine(tmp_path))
    after = datasets.load_dataset(script, verification_mode="no_checks", **options)["test"].cache_files
    assert os.path.dirname(after[0]["filename"]) != os.path.dirname(before[0]["filename"])


def test_logging_joins_the_datasets_logger_tree(zip_inputs, cache_dir, caplog):
    caplog.set_level(logging.NOTSET)
    previous = datasets.logging.get_verbosity()
    try:
        datasets.logging.set_verbosity_warning()
        build(zip_inputs[0], cache_dir)
        assert "skipped 2 image(s) without a label" not in caplog.text
        datasets.logging.set_verbosity_info()
        build(zip_inputs[0], cache_dir + "_again")
        assert "train: skipped 2 image(s) without a label" in caplog.text
    finally:
        datasets.logging.set_verbosity(previous)
    assert engine.logger.name.startswith("datasets.")


def test_md5_works_where_fips_forbids_md5_for_security(tmp_path, monkeypatch):
    real_new = hashlib.new

    def fips_new(name, data=b"", **kwargs):
        if name == "md5" and kwargs.get("usedforsecurity", True):
            raise ValueError("[digital envelope routines] unsupported")  # what a FIPS OpenSSL says
        return real_new(name, data, **kwargs)

    monkeypatch.setattr(hashlib, "new", fips_new)
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert inputs.hash_file(str(path), ("md5",))["md5"] == "900150983cd24fb0d6963f7d28e17f72"


def test_product_code_never_imports_the_tests():
    for path in [os.path.join(REPO, "ist_s.py"), *glob.glob(os.path.join(REPO, "scene_text_seg", "*.py"))]:
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] in ("tests", "benchmarks") for name in names), path


@pytest.mark.parametrize("name", registry.DATASETS)
def test_each_module_offers_the_same_shared_names(name):
    import importlib

    module = importlib.import_module(name)
    for shared in ("CLASS_NAMES", "IGNORE_INDEX", "ID2LABEL", "for_training", "compute_metrics", "InvalidInputError"):
        assert getattr(module, shared) is getattr(ist_s, shared)


def test_tests_that_need_the_training_stack_skip_without_it():
    """torch, transformers, accelerate and albumentations are test tools, not dependencies: a test that
    needs one asks for it with `pytest.importorskip`, so the suite skips (never fails) without it."""
    optional = {"torch", "torchvision", "transformers", "accelerate", "albumentations"}
    for path in glob.glob(os.path.join(REPO, "tests", "*.py")):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            imported = {name.split(".")[0] for name in names} & optional
            assert not imported, f"{os.path.basename(path)}:{node.lineno} imports {imported}: use pytest.importorskip"
