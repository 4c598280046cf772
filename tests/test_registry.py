"""A dataset is one unit: its module, its card and its line in `scene_text_seg.registry`. Everything that
lists datasets reads the registry; forgetting the line fails here; a toy dataset registered from a
temporary module passes the whole contract; the public functions of every module show real signatures."""

import ast
import glob
import importlib
import inspect
import os
import sys
import textwrap
import types

import datasets
import pytest

from scene_text_seg import builder as engine
from scene_text_seg import engine_lines, publish, registry
from tests import contract

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC_FUNCTIONS = ("load", "prepare", "inventory", "export", "push", "main")


def _defines_a_builder(path: str) -> bool:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return any(
        isinstance(node, ast.ClassDef) and any(ast.unparse(base).endswith("SceneTextSegBuilder") for base in node.bases)
        for node in tree.body
    )


def test_every_dataset_module_in_the_checkout_is_registered():
    found = {
        os.path.basename(path)[:-3]
        for path in glob.glob(os.path.join(REPO, "*.py"))
        if os.path.basename(path) != "setup.py" and _defines_a_builder(path)
    }
    assert found == set(registry.DATASETS), "a dataset module missing from scene_text_seg/registry.py, or a stale line"


@pytest.mark.parametrize("name", registry.DATASETS)
def test_each_registered_dataset_is_a_whole_unit(name):
    module = registry.dataset_module(name)
    builder_cls = contract.builder_of(module)
    spec = builder_cls.SPEC
    assert spec.name == name and os.path.isfile(publish.card_path(spec))
    assert set(spec.stand_in_split_sizes) == set(engine.config_names(builder_cls))
    assert callable(spec.write_demo_inputs)
    for config, sizes in spec.expected_split_sizes.items():
        assert config in engine.config_names(builder_cls), f"{name}: expected sizes for an unknown config {config!r}"
        assert sizes, config


@pytest.mark.parametrize("name", registry.DATASETS)
def test_public_functions_show_every_parameter(name):
    module = registry.dataset_module(name)
    for public in PUBLIC_FUNCTIONS:
        function = getattr(module, public)
        signature = inspect.signature(function)
        parameters = list(signature.parameters.values())
        assert "builder_cls" not in signature.parameters and "self" not in signature.parameters
        assert all(p.annotation is not inspect.Parameter.empty for p in parameters), public
        assert signature.return_annotation is not inspect.Signature.empty, public
        positional = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert positional == {"export": ["data_dir", "out_dir"], "push": ["data_dir", "repo_id"], "main": ["argv"]}.get(
            public, ["data_dir"]
        ), public  # every option after those keyword-only
        doc = inspect.getdoc(function)
        assert "Args:" in doc and "Returns:" in doc, public
        assert all(p.name in doc for p in parameters), public


@pytest.mark.parametrize("name", registry.DATASETS)
def test_each_module_exports_its_names_and_no_stray_ones(name):
    module = registry.dataset_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    for public in module.__all__:
        assert hasattr(module, public), public
        assert not isinstance(getattr(module, public), types.ModuleType), public  # no os, sys, json
    assert set(PUBLIC_FUNCTIONS) <= set(module.__all__)
    assert module.load.__doc__ == registry.dataset_module(registry.DATASETS[0]).load.__doc__


def test_the_lines_that_find_the_engine_are_written_from_one_place(tmp_path, capsys):
    assert engine_lines.main(["--check"]) == 0, capsys.readouterr().out  # every registered module as written
    new = tmp_path / "my_set.py"
    with open(os.path.join(REPO, "ist_s.py"), encoding="utf-8") as f:
        source = f.read()
    new.write_text(source.replace("sys.path.insert(0, folder)", "sys.path.append(folder)"))
    assert engine_lines.main(["--check", str(new)]) == 1
    assert capsys.readouterr().out == f"{new}: engine lines differ: run `python -m scene_text_seg.engine_lines`\n"
    assert engine_lines.main([str(new)]) == 0 and new.read_text() == source
    new.write_text('"""A module without them."""\n')
    with pytest.raises(SystemExit, match="2"):
        engine_lines.main([str(new)])
    assert f"error: {new}: expected the engine lines, from a line starting" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["my_set.py"]  # nothing left beside it
    with pytest.raises(SystemExit, match="2"):
        engine_lines.main([str(tmp_path / "absent.py")])
    assert capsys.readouterr().err == f"error: {tmp_path / 'absent.py'}: cannot be read (No such file or directory)\n"
    with pytest.raises(TypeError, match=r"argv: expected a list of strings, e\.g\. \['--check'\], got '--check'"):
        engine_lines.main("--check")


def test_arguments_are_checked_where_they_are_given(zip_inputs):
    import ist_s

    bad = [
        ({"split": "validation"}, ValueError, r"Unknown value 'validation' for argument split\. Valid values are tr"),
        ({"config": "word"}, ValueError, r"argument config\. Valid values are default, with_unlabeled, words"),
        ({"num_proc": 0}, ValueError, r"num_proc: expected None or a whole number of at least 1, got 0"),
        ({"streaming": "yes"}, TypeError, r"streaming: expected True or False"),
        ({"verification_mode": "none"}, ValueError, r"argument verification_mode\. Valid values are all_checks"),
        ({"cache_dir": 3}, TypeError, r"cache_dir: expected a folder path, got int 3"),
    ]
    for options, error, message in bad:
        with pytest.raises(error, match=message):
            ist_s.load(zip_inputs[0], **options)
    with pytest.raises(TypeError, match=r"data_dir: expected the path of the folder holding the downloads, got None"):
        ist_s.load(None)
    with pytest.raises(TypeError, match=r"configs: expected a list of config names, e.g. \['default'\]"):
        ist_s.export(zip_inputs[0], "out", configs="default")
    for publish_options in ({"max_shard_size": 5.0}, {"verification_mode": "none"}):  # export and push alike
        with pytest.raises((TypeError, ValueError), match=r"max_shard_size: expected|argument verification_mode"):
            ist_s.export(zip_inputs[0], "out", **publish_options)
        with pytest.raises((TypeError, ValueError), match=r"max_shard_size: expected|argument verification_mode"):
            ist_s.push(zip_inputs[0], "org/name", **publish_options)
    with pytest.raises(TypeError, match=r"argv: expected a list of strings"):
        ist_s.main("build")
    with pytest.raises(TypeError):
        ist_s.load(zip_inputs[0], "train")  # options are keyword-only


TOY_MODULE = '''
"""TOY_TEXT: a dataset unit written for a test: facts, spec, builder, stand-in writer; nothing else."""

import datasets

import scene_text_seg
from scene_text_seg.spec import DatasetSpec, InputFile


def write_demo_inputs(folder):
    scene_text_seg.synthetic.write_inputs(folder, seed=7, n_train=5, n_test=3, unlabeled={"train": {2}, "test": set()})


SPEC = DatasetSpec(
    name="toy_text",
    pretty_name="TOY_TEXT: a toy",
    description="A toy.",
    citation="",
    homepage="https://example.org/toy",
    license="CC BY 4.0",
    inputs=(
        InputFile("ch4_training_images", "train_images", "https://example.org/toy"),
        InputFile("ch4_test_images", "test_images", "https://example.org/toy"),
        InputFile("IST_Segmentation_labels", "labels", "https://example.org/toy"),
    ),
    split_images={"train": ("train_images",), "test": ("test_images",)},
    split_words={"train": "train", "test": "test"},
    expected_split_sizes={"default": {"train": None, "test": None}},
    manual_download_instructions="Put the toy's three zips in one folder.",
    labels_download="https://example.org/toy",
    card_file="toy_text.md",
    tags=("toy",),
    write_demo_inputs=write_demo_inputs,
    stand_in_split_sizes={"default": {"train": 4, "test": 3}},
)


class ToyText(scene_text_seg.builder.SceneTextSegBuilder):
    SPEC = SPEC
    VERSION = datasets.Version("0.1.0")
    BUILDER_CONFIGS = [scene_text_seg.builder.SceneTextSegConfig(name="default", version=VERSION)]


_functions = scene_text_seg.api.DatasetFunctions(ToyText)
load, prepare, export = _functions.load, _functions.prepare, _functions.export
'''


def test_a_toy_dataset_registered_from_a_temporary_module_keeps_the_contract(tmp_path, monkeypatch):
    modules, cards = tmp_path / "modules", tmp_path / "cards"
    modules.mkdir()
    cards.mkdir()
    (modules / "toy_text.py").write_text(textwrap.dedent(TOY_MODULE))
    (cards / "toy_text.md").write_text("---\n---\n# TOY_TEXT\n\nA toy.\n")
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.setattr(registry, "DATASETS", (*registry.DATASETS, "toy_text"))
    monkeypatch.setattr(publish, "CARD_FOLDERS", (*publish.CARD_FOLDERS, str(cards)))
    monkeypatch.delitem(sys.modules, "toy_text", raising=False)
    toy = registry.dataset_module("toy_text")
    assert registry.command("toy_text") == "toy-text"
    prepared = contract.prepare(toy, "default", str(tmp_path / "run"))
    contract.check_all(prepared, str(tmp_path / "run"), monkeypatch)
    assert os.path.basename(os.path.dirname(os.path.dirname(prepared.builder.cache_dir))) == "toy_text"
    assert isinstance(toy.load(prepared.data_dir, split="test", cache_dir=prepared.cache_dir), datasets.Dataset)


def test_the_registry_refuses_an_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown value 'ist-s' for argument name\. Valid values are ist_s"):
        registry.dataset_module("ist-s")
    assert importlib.import_module("ist_s") is registry.dataset_module("ist_s")
