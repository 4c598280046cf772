"""Every code block of README.md and docs/*.md runs as written, on the stand-ins the page names.

A page's ```python blocks run in order in one namespace, and the `ist-s` / `mlt-s` / `coco-ts` lines of
its ```bash and ```console blocks through each module's `main`, in document order, in a fresh working
folder holding the stand-in folders the page names (`ist_s_data`, ... as `demo --keep` writes them;
a page that runs `demo --keep NAME` itself gets no `NAME`). A block that cannot run here is preceded by
`<!-- not run: why -->`; nothing is injected into a block.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from scene_text_seg import registry

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", *sorted(os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, "docs", "*.md")))]
MODULES = {name: registry.dataset_module(name) for name in registry.DATASETS}
COMMANDS = {registry.command(name): module for name, module in MODULES.items()}
STAND_INS = {f"{name}_data": module for name, module in MODULES.items()}  # the folders `demo --keep` examples use
RUN = {"python", "bash", "console"}  # the languages that run; a block without one is shown, never run
NOT_RUN = re.compile(r"<!-- not run: (\S.*) -->")
SETUP = [
    "python3 -m pip install . && ist-s demo",
    "python3 -m pip install nox==2026.10.20 uv==0.13.9 && python3 -m nox",
]


@dataclasses.dataclass
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    not_run: str | None  # the reason, when the block is marked not to run


def code_blocks(page: str) -> list[Block]:
    with open(os.path.join(REPO, page), encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if not lines[index].startswith("```"):
            index += 1
            continue
        language, start = lines[index][3:].strip(), index
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
        before = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marked = NOT_RUN.fullmatch(before.strip())
        text = "\n".join(lines[start + 1 : end]) + "\n"
        blocks.append(Block(page, start + 1, language, text, marked.group(1) if marked else None))
        index = end + 1
    return blocks


OPTIONAL = {"torch", "transformers", "accelerate", "albumentations", "cv2"}
IMPORTED = re.compile(r"^(?:import|from)\s+(\w+)", re.MULTILINE)


def optional_imports(page: str) -> set[str]:
    """The test tools (never dependencies) that the page's Python blocks import."""
    blocks = [b for b in code_blocks(page) if b.language == "python" and b.not_run is None]
    return {name for block in blocks for name in IMPORTED.findall(block.text)} & OPTIONAL


def commands(block: Block) -> list[list[str]]:
    """The command lines of a shell block: `$ ` prompts and `#` comments dropped."""
    lines = [line.strip().removeprefix("$ ") for line in block.text.splitlines()]
    return [shlex.split(line, comments=True) for line in lines if line and not line.startswith("#")]


def run_command(argv: list[str], where: str) -> int:
    assert argv[0] in COMMANDS, f"{where}: {argv[0]!r} cannot run here: mark the block <!-- not run: why -->"
    try:
        return COMMANDS[argv[0]].main(argv[1:])
    except SystemExit as e:  # argparse: --version, --help
        return e.code


@pytest.fixture(scope="session")
def stand_ins(tmp_path_factory) -> dict[str, str]:
    """Each dataset's full demo set, written once, as `demo --keep NAME` writes it."""
    root = tmp_path_factory.mktemp("stand_ins")
    folders = {}
    for name, module in STAND_INS.items():
        folders[name] = str(root / name)
        module.SPEC.write_demo_inputs(folders[name])
    return folders


def run_page(page: str, stand_ins: dict[str, str], tmp_path, monkeypatch) -> dict:
    """Run every block of `page` that is not marked, in order; return the Python namespace."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # what a recipe's mkdtemp makes stays here
    blocks = [block for block in code_blocks(page) if block.language in RUN and block.not_run is None]
    shell = [argv for block in blocks if block.language != "python" for argv in commands(block)]
    kept_by_page = {argv[argv.index("--keep") + 1] for argv in shell if "--keep" in argv}
    with open(os.path.join(REPO, page), encoding="utf-8") as f:
        text = f.read()
    for name, folder in stand_ins.items():
        if name in text and name not in kept_by_page:
            os.symlink(folder, tmp_path / name)
    namespace: dict = {"__name__": "__main__"}
    for block in blocks:
        where = f"{page}:{block.line}"
        if block.language == "python":
            exec(compile(block.text, where, "exec"), namespace)
            continue
        for argv in commands(block):
            assert run_command(argv, where) == 0, f"{where}: {shlex.join(argv)} failed"
    return namespace


# ---- what some pages' examples must have done, beyond running -------------------------------------------


def check_readme(namespace: dict, out: str) -> None:
    assert {split: d.num_rows for split, d in namespace["dataset"].items()} == {"train": 22, "test": 11}
    assert "kept the stand-ins in ist_s_data" in out


def check_training(namespace: dict, out: str) -> None:
    torch = pytest.importorskip("torch")

    losses = namespace["losses"]  # recipe 1: 22 rows, then 24 streamed, in batches of 4
    assert len(losses) == 6 + 6 + 6 and np.mean(losses[-3:]) < np.mean(losses[:3])
    metrics, history = namespace["metrics"], namespace["trainer"].state.log_history  # recipe 2
    for key in ("eval_mean_iou", "eval_iou_text", "eval_iou_background", "eval_text_fscore", "eval_pixel_accuracy"):
        assert 0 <= metrics[key] <= 1, key
    assert np.isfinite(next(entry["train_loss"] for entry in history if "train_loss" in entry))
    assert len([entry for entry in history if "eval_iou_text" in entry]) == 3  # each epoch, then evaluate()
    for name in ("augmented", "processed"):  # recipe 3
        batch = next(iter(torch.utils.data.DataLoader(namespace[name], batch_size=4, num_workers=2, shuffle=True)))
        assert tuple(batch["pixel_values"].shape) == (4, 3, 128, 128), name
        assert set(torch.unique(batch["labels"]).tolist()) <= {0, 1, 255}, name
        assert batch["pixel_values"].min() < 0  # normalised
    edited = namespace["dataset"]  # recipe 4, then the rows section's `dataset`
    assert {int(k): v for k, v in namespace["id2label"].items()} == MODULES["ist_s"].ID2LABEL
    assert namespace["compute_metrics"] is MODULES["ist_s"].compute_metrics
    assert set(edited) == {"train", "test"} and tuple(namespace["ready"]["train"][0]["labels"].shape) == (512, 512)


def check_bad_input(namespace: dict, out: str) -> None:
    assert "ch4_training_images.zip: expected 90,667,586 bytes" in out  # the error was raised, and printed


def check_loading(namespace: dict, out: str) -> None:
    assert "IST_S inputs missing from" in out and "no_such_folder" in out
    assert namespace["every_image"]["train"].num_rows == 24 and namespace["test"].num_rows == 11


CHECKS = {
    "README.md": check_readme,
    "docs/training.md": check_training,
    "docs/bad-input.md": check_bad_input,
    "docs/loading.md": check_loading,
}


def page_params() -> list:
    """Each page, marked `training_stack` where its examples import the training stack (see conftest)."""
    training = {"torch", "transformers", "albumentations"}
    return [pytest.param(p, marks=pytest.mark.training_stack) if optional_imports(p) & training else p for p in PAGES]


@pytest.mark.parametrize("page", page_params())
def test_every_example_of_the_page_runs_as_written(page, stand_ins, tmp_path, monkeypatch, capsys):
    for module in sorted(optional_imports(page)):  # test tools, not dependencies: a page needing one is skipped
        pytest.importorskip(module)
    namespace = run_page(page, stand_ins, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    if page in CHECKS:
        CHECKS[page](namespace, out)


def test_every_block_runs_or_says_why_it_does_not():
    for page in PAGES:
        for block in code_blocks(page):
            assert block.language in RUN | {""}, f"{page}:{block.line}: unknown language {block.language!r}"
            if block.not_run is None and block.language in ("bash", "console"):
                for argv in commands(block):
                    assert argv[0] in COMMANDS, f"{page}:{block.line}: {argv[0]!r} runs nowhere: mark it not run"


def test_the_readme_set_up_commands_are_what_ci_and_the_install_test_run():
    (setup,) = [b for b in code_blocks("README.md") if b.not_run and "pip install" in b.text]
    assert [" ".join(argv) for argv in commands(setup)] == [" ".join(shlex.split(c)) for c in SETUP]
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        ci = [line for line in f.read().splitlines() if line.startswith("python3")]
    assert [line.replace(" --quiet", "") for line in ci] == [SETUP[1]]
    with open(os.path.join(REPO, "tests", "test_packaging.py"), encoding="utf-8") as f:
        install_test = f.read()
    # `pip install .` offline into a fresh venv, then the installed `ist-s demo`
    assert '"-m", "pip", "install",' in install_test and '"--no-index", "."]' in install_test
    assert 'os.path.join(venv, "bin", "ist-s")' in install_test and "[command, " + '"demo"' in install_test


def test_a_block_marked_not_run_is_skipped_and_every_other_one_runs(tmp_path, monkeypatch, stand_ins, capsys):
    (tmp_path / "page.md").write_text(
        "<!-- not run: it would stop the page -->\n```python\nraise SystemExit('ran')\n```\n\n"
        "```python\nran = True\n```\n\n```bash\nist-s --version\n```\n"
    )
    monkeypatch.setattr(f"{__name__}.REPO", str(tmp_path))
    blocks = code_blocks("page.md")
    assert [(b.line, b.language, b.not_run) for b in blocks] == [
        (2, "python", "it would stop the page"),
        (6, "python", None),
        (10, "bash", None),
    ]
    (tmp_path / "run").mkdir()
    assert run_page("page.md", stand_ins, tmp_path / "run", monkeypatch)["ran"] is True
    assert capsys.readouterr().out.startswith("ist-s ")


# ---- housekeeping: what the project leaves behind -----------------------------------------------------------


def test_the_test_session_leaves_nothing_in_the_temporary_folder(tmp_path):
    """A pytest run with the suite's conftest removes its sandbox (the datasets cache and modules) at exit."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (tmp_path / "test_tiny.py").write_text(
        "import os, tempfile\n"
        "def test_sandbox_in_use():\n"
        "    cache = os.environ['HF_DATASETS_CACHE']\n"
        "    assert os.path.basename(os.path.dirname(cache)).startswith('ist_s_tests_')\n"
        "    assert os.path.dirname(os.path.dirname(cache)) == tempfile.gettempdir()\n"
        "    os.makedirs(cache)\n"
        "    open(os.path.join(cache, 'left'), 'w').close()\n"
    )
    pytest_with_our_conftest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
    result = subprocess.run(
        [*pytest_with_our_conftest, "--rootdir", str(tmp_path), str(tmp_path / "test_tiny.py")],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(temporary), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # only our conftest
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert [name for name in os.listdir(temporary) if name.startswith("ist_s_tests_")] == []


def test_no_generated_image_is_committed():
    ignored = subprocess.run(
        ["git", "check-ignore", "ist_s_demo_preview.png", "coco_ts_preview.png", "demo_preview.png", "site/"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.stdout.split() == ["ist_s_demo_preview.png", "coco_ts_preview.png", "demo_preview.png", "site/"]
    tracked = subprocess.run(["git", "ls-files", "*.png"], cwd=REPO, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""
