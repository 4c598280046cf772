"""The command line, and every bad input failing cleanly through it: exit code, culprit named, no traceback."""

import importlib
import json
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib

import numpy as np
import PIL.Image
import pytest

import ist_s
import scene_text_seg
from scene_text_seg import cli as command_line
from scene_text_seg import inputs, inspect, pixels, synthetic
from tests.conftest import (
    IMAGES,
    LABELS,
    MEMBER,
    build,
    cli,
    copy_with,
    png,
    raw,
    register_synthetic_images,
    replace_input,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*argv, cwd=None, env=None):
    """`python ist_s.py ARGV` in a fresh process."""
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "ist_s.py"), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_build_prints_a_summary(zip_inputs, cache_dir, capsys):
    argv = ["build", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    assert "train:    10 rows  (2 image(s) without a label skipped: --config with_unlabeled keeps them)" in out
    assert " test:     6 rows  (1 image(s) without a label skipped: --config with_unlabeled keeps them)" in out
    assert f"cache: {cache_dir}" in out and "took " in out


def test_data_dir_defaults_to_env_then_dot_data(zip_inputs, cache_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IST_S_DATA_DIR", zip_inputs[0])
    args = command_line.build_parser(ist_s.IstS, "ist-s").parse_args(["build"])
    assert args.data_dir == zip_inputs[0]
    monkeypatch.delenv("IST_S_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "build", "--cache-dir", cache_dir)
    assert code == 2 and f"IST_S inputs missing from {tmp_path / 'data'} (it does not exist)" in err


def test_verify_reports_each_input(zip_inputs, tmp_path, capsys):
    code, out, err = cli(capsys, "verify", "--data-dir", zip_inputs[0])
    assert code == 2  # synthetic image zips are not the published ones
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line and not line.startswith(" ")}
    sha256 = inputs.hash_file(os.path.join(zip_inputs[0], LABELS))["sha256"]
    assert sha256 in lines[LABELS] and lines[LABELS].endswith("unregistered")
    assert lines[IMAGES].endswith("MISMATCH") and "expected 90,667,586 bytes" in out
    assert lines["Challenge4_Test_Task4_GT.zip"].endswith("absent")
    assert "not the published file" in err


def test_verify_reports_a_digest_mismatch(zip_inputs, capsys, monkeypatch):
    path = os.path.join(zip_inputs[0], "ch4_test_images.zip")
    replace_input(monkeypatch, "test_images", size=os.path.getsize(path), digest="md5:" + "0" * 32)
    code, out, _ = cli(capsys, "verify", "--data-dir", zip_inputs[0])
    actual = inputs.hash_file(path, ("md5",))["md5"]
    assert code == 2
    assert f"  expected md5:{'0' * 32}, got md5:{actual}" in out


def test_verify_passes_when_every_input_matches(zip_inputs, capsys, monkeypatch):
    register_synthetic_images(monkeypatch, zip_inputs[0])
    code, out, _ = cli(capsys, "verify", "--data-dir", zip_inputs[0])
    assert code == 0
    assert out.count(" ok\n") == 2


def test_stats(zip_inputs, cache_dir, capsys):
    _, expected = zip_inputs
    code, out, _ = cli(
        capsys,
        "stats",
        "--json",
        "--data-dir",
        zip_inputs[0],
        "--cache-dir",
        cache_dir,
        "--verification-mode",
        "no_checks",
    )
    assert code == 0
    stats = json.loads(out)
    for split, items in expected.items():
        masks = [item.mask for item in items.values() if item.mask is not None]
        pixels = sum(mask.size for mask in masks)
        assert stats[split]["rows"] == len(masks)
        assert stats[split]["unlabeled_images"] == len(items) - len(masks)
        assert stats[split]["text_pixel_fraction"] == round(sum(int((m == 1).sum()) for m in masks) / pixels, 6)
        assert stats[split]["uncertain_pixel_fraction"] == round(sum(int((m == 255).sum()) for m in masks) / pixels, 6)
        assert stats[split]["images_without_text"] == 0
        assert sum(stats[split]["image_sizes"].values()) == len(items)
        assert set(stats[split]["image_sizes"]) == {"40x24", "24x40"}


def test_preview_draws_text_and_uncertain_in_two_colours(zip_inputs, cache_dir, tmp_path, capsys):
    out_png = str(tmp_path / "grid.png")
    argv = ["preview", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    code, out, _ = cli(capsys, *argv, "--out", out_png, "--n", "3", "--seed", "1")
    assert code == 0 and "wrote" in out
    colours = {tuple(c) for c in np.asarray(PIL.Image.open(out_png).convert("RGB")).reshape(-1, 3)}
    green = [c for c in colours if c[1] > 150 and c[0] < 150 and c[2] < 150]
    magenta = [c for c in colours if c[0] > 150 and c[2] > 120 and c[1] < 100]
    assert green and magenta


def test_preview_overlay_marks_exactly_the_mask():
    image = PIL.Image.new("RGB", (4, 2), (10, 10, 10))
    mask = PIL.Image.fromarray(np.array([[0, 1, 255, 0], [0, 0, 1, 0]], np.uint8), "L")
    out = np.asarray(inspect.overlay(image, mask))
    assert (out[0, 0] == 10).all() and (out[1, 3] == 10).all()
    assert out[0, 1][1] > 100 and out[1, 2][1] > 100 and out[0, 2][0] > 100 and out[0, 2][2] > 100


def test_demo_runs_the_whole_pipeline(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "demo", "--out", "demo.png")
    assert code == 0, err
    for step in ("build", "stats", "preview"):
        assert f"$ python ist_s.py {step}" in out
    assert PIL.Image.open(tmp_path / "demo.png").size[0] > 600


def test_help_has_an_example_for_each_verb(capsys):
    for verb in ("build", "verify", "stats", "preview", "demo", "export", "push", "card", "evaluate"):
        code, out, _ = cli(capsys, verb, "--help")
        assert code == 0 and "example: python ist_s.py " + verb in out
    result = run("--help")  # once in a real process: the script runs as a program
    assert result.returncode == 0 and "Start with `python ist_s.py demo`" in result.stdout


def test_usage_error_exits_2(capsys):
    code, _, err = cli(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


@pytest.mark.parametrize("name", ["ist_s", "mlt_s", "coco_ts"])
def test_version_names_the_command_and_the_engine_version(name, capsys):
    module = importlib.import_module(name)
    with pytest.raises(SystemExit) as exit:
        module.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"{name.replace('_', '-')} {scene_text_seg.__version__}\n"


def test_a_negative_seed_is_a_usage_error_naming_the_option(zip_inputs, capsys):
    code, _, err = cli(capsys, "preview", "--data-dir", zip_inputs[0], "--seed", "-1")
    assert code == 2 and "argument --seed: expected at least 0, found -1" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["ist_s", "mlt_s", "coco_ts"])
def test_demo_keep_writes_every_input_keeps_them_and_says_what_to_try(name, tmp_path, capsys, monkeypatch):
    module = importlib.import_module(name)
    monkeypatch.chdir(tmp_path)
    code, out, err = _main(module, capsys, "demo", "--keep", "kept", "--out", "demo.png")
    assert code == 0, err
    kept = sorted(os.listdir(tmp_path / "kept"))
    assert kept == sorted(spec.filename for spec in module.SPEC.inputs)  # optional inputs (words) too
    prog = f"python {name}.py"
    tries = [line.strip() for line in out.splitlines() if line.startswith(f"  {prog} ")]
    assert f"{prog} build --data-dir kept --verification-mode no_checks" in tries
    for line in tries:  # every printed command runs as printed
        code, _, err = _main(module, capsys, *shlex.split(line)[2:])
        assert code == 0, (line, err)
    python = out.split("and in Python:\n", 1)[1]
    namespace = {}
    exec(textwrap.dedent(python), namespace)
    assert namespace["dataset"].num_rows == module.load("kept", verification_mode="no_checks").num_rows


def test_demo_keep_refuses_a_folder_that_holds_files(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "ch4_test_images.zip").write_bytes(b"the real one")
    code, _, err = cli(capsys, "demo", "--keep", "downloads")
    assert (
        code == 2 and err == "error: --keep 'downloads': expected a new or empty folder, found one that holds files\n"
    )
    assert (tmp_path / "downloads" / "ch4_test_images.zip").read_bytes() == b"the real one"
    assert not (tmp_path / "ist_s_demo_preview.png").exists()


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("verb", "where"),
    [
        ("build", "scene_text_seg.builder.SceneTextSegBuilder._generate_examples"),  # while rows are made
        ("verify", "scene_text_seg.inputs.hash_file"),  # while inputs are hashed
        ("demo", "scene_text_seg.cli.render_preview"),  # in the demo's last step
    ],
)
def test_ctrl_c_prints_one_line_and_exits_130(verb, where, zip_inputs, cache_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(where, _interrupt)
    options = {
        "build": ["--data-dir", zip_inputs[0], "--cache-dir", cache_dir, "--verification-mode", "no_checks"],
        "verify": ["--data-dir", zip_inputs[0]],
        "demo": ["--cache-dir", cache_dir],
    }[verb]
    try:
        code, _, err = cli(capsys, verb, *options)
    except KeyboardInterrupt:  # caught here, or pytest would stop the whole run
        pytest.fail("Ctrl-C escaped the command line as a traceback")
    assert (code, err) == (130, "interrupted\n")
    with pytest.raises(KeyboardInterrupt):  # --debug shows where it stopped
        ist_s.main([verb, *options, "--debug"])


# A build whose rows come slowly, and which says so on stderr once rows are being made (in every build
# process: they are forked with the patch), so that Ctrl-C surely falls in the middle of it.
ROWS_SLOWLY = """
import signal, sys, time
# Python leaves SIGINT ignored when its parent did (a background job of a non-interactive shell, as some
# CI runners start the tests): here, as in a terminal, Ctrl-C raises KeyboardInterrupt.
signal.signal(signal.SIGINT, signal.default_int_handler)
import ist_s
from scene_text_seg import builder

make_rows = builder.SceneTextSegBuilder._generate_examples

def slowly(self, *args, **kwargs):
    for row in make_rows(self, *args, **kwargs):
        print("making rows", file=sys.stderr, flush=True)
        time.sleep(0.5)
        yield row

builder.SceneTextSegBuilder._generate_examples = slowly
sys.exit(ist_s.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("num_proc", ["1", "2"])
def test_ctrl_c_during_a_real_build_prints_one_line_and_exits_130(num_proc, zip_inputs, tmp_path):
    argv = ["build", "--data-dir", zip_inputs[0], "--cache-dir", str(tmp_path / "cache"), "--num-proc", num_proc]
    process = subprocess.Popen(
        [sys.executable, "-c", ROWS_SLOWLY, *argv, "--verification-mode", "no_checks"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, which gets the SIGINT as a terminal's would
    )
    before = []
    try:
        for line in process.stderr:
            before.append(line)
            if line == "making rows\n":
                break
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert before[-1] == "making rows\n", "".join(before)
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "interrupted" and "KeyboardInterrupt" not in err, err


def _main(module, capsys, *argv):
    """A dataset module's command line, in this process: (exit code, stdout, stderr)."""
    try:
        code = module.main(list(argv))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ---- bad input: non-zero exit, the culprit named, no traceback -----------------------------------------


def _bomb_png() -> bytes:
    """A ~100-byte PNG that declares a 100000 x 100000 image."""

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return (
        pixels.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def _jpeg_from(zip_inputs, member="img_2.jpg"):
    with zipfile.ZipFile(os.path.join(zip_inputs[0], IMAGES)) as archive:
        return archive.read(member)


def _break(name, zip_inputs, folder):
    """Return a data_dir with one kind of damage, and the message the command line must print."""
    if name == "missing input":
        os.makedirs(folder)
        return folder, r"inputs missing from .*ch4_training_images\.zip.*ch4_test_images\.zip"
    if name == "truncated zip":
        data_dir = copy_with(zip_inputs, folder, IMAGES)
        path = os.path.join(data_dir, IMAGES)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
        return data_dir, r"ch4_training_images\.zip is not a readable zip archive"
    if name == "corrupt zip member":
        data_dir = copy_with(zip_inputs, folder, IMAGES)
        path = os.path.join(data_dir, IMAGES)
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("img_3.jpg")
        with open(path, "r+b") as f:  # flip bytes inside the member's compressed data
            f.seek(info.header_offset + 30 + len(info.filename) + 200)
            f.write(b"\x00\xff" * 8)
        return data_dir, r"ch4_training_images\.zip:img_3\.jpg: (cannot be read|corrupt|truncated)"
    if name == "html page":
        data_dir = copy_with(zip_inputs, folder, IMAGES)
        with open(os.path.join(data_dir, "ch4_test_images.zip"), "wb") as f:
            f.write(b"<!DOCTYPE html><html><body>Please log in</body></html>")
        return data_dir, r"ch4_test_images\.zip is not a readable zip archive.*HTML page"
    mask_damage = {
        "mask value": (png(np.full((24, 40), 7, np.uint8), "L"), r"pixel values \[7\] outside"),
        "mask size": (png(np.zeros((20, 40), np.uint8), "L"), r"mask is 40x20, expected the image's size 40x24"),
        "multi-channel mask": (
            png(np.zeros((24, 40, 3), np.uint8), "RGB"),
            r"expected a single-channel mask, found 3 channels",
        ),
        "decompression bomb": (_bomb_png(), r"mask is 100000x100000, expected"),
    }
    if name in mask_damage:
        data, message = mask_damage[name]
        return copy_with(zip_inputs, folder, LABELS, replace={MEMBER: data}), f"{LABELS}:{MEMBER}: {message}"
    if name == "truncated jpeg":
        jpeg = _jpeg_from(zip_inputs)
        data_dir = copy_with(zip_inputs, folder, IMAGES, replace={"img_2.jpg": jpeg[: len(jpeg) // 2]})
        return data_dir, r"ch4_training_images\.zip:img_2\.jpg: truncated JPEG"
    if name == "corrupt jpeg":
        jpeg = _jpeg_from(zip_inputs)
        garbage = jpeg[:2] + bytes(range(256)) * 4 + jpeg[-2:]
        data_dir = copy_with(zip_inputs, folder, IMAGES, replace={"img_2.jpg": garbage})
        return data_dir, r"ch4_training_images\.zip:img_2\.jpg: corrupt JPEG"
    if name == "same stem twice":
        data_dir = copy_with(zip_inputs, folder, LABELS, add={"IST_Segmentation_labels/train/IMG_2.PNG": b""})
        return data_dir, r"two files share the name 'IMG_2' \(ignoring case\)"
    if name == "split unknown":
        data_dir = copy_with(zip_inputs, folder, LABELS, add={"IST_Segmentation_labels/extra/img_5.png": b""})
        return data_dir, r"cannot tell the split of 1 label\(s\): IST_Segmentation_labels\.zip:.*extra/img_5\.png"
    if name == "climbing member":
        data_dir = copy_with(zip_inputs, folder, LABELS, add={"../../train/img_1.png": b"x"})
        return data_dir, r"a member name climbs out of the archive: '\.\./\.\./train/img_1\.png'"
    raise AssertionError(name)


BREAKS = [
    "missing input",
    "truncated zip",
    "corrupt zip member",
    "html page",
    "mask value",
    "mask size",
    "multi-channel mask",
    "decompression bomb",
    "truncated jpeg",
    "corrupt jpeg",
    "same stem twice",
    "split unknown",
    "climbing member",
]


@pytest.mark.parametrize("damage", BREAKS)
def test_bad_input_fails_cleanly(zip_inputs, tmp_path, cache_dir, capsys, damage):
    data_dir, message = _break(damage, zip_inputs, str(tmp_path / "d"))
    code, out, err = cli(
        capsys, "build", "--data-dir", data_dir, "--cache-dir", cache_dir, "--verification-mode", "no_checks"
    )
    assert code == 2, (out, err)
    assert any(line.startswith("error: ") for line in err.splitlines()) and "Traceback" not in err
    assert re.search(message, err, re.S), err
    assert not os.path.exists(os.path.join(str(tmp_path), "train"))  # nothing written outside


@pytest.mark.parametrize("damage", ["html page", "mask value"])
def test_bad_input_fails_cleanly_in_a_real_process(zip_inputs, tmp_path, cache_dir, damage):
    data_dir, message = _break(damage, zip_inputs, str(tmp_path / "d"))
    options = ["--data-dir", data_dir, "--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    result = run("build", *options)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and re.search(message, result.stderr, re.S)
    if damage == "mask value":  # raised in a build thread: --debug lets it through, for its traceback
        with pytest.raises(ist_s.InvalidInputError, match=message):
            ist_s.main(["build", *options, "--debug"])


def test_checksum_mismatch_fails_build_cleanly(zip_inputs, cache_dir, capsys):
    code, _, err = cli(capsys, "build", "--data-dir", zip_inputs[0], "--cache-dir", cache_dir)
    assert code == 2 and "ch4_training_images.zip: expected 90,667,586 bytes, found" in err
    assert "Traceback" not in err


# ---- interrupted and concurrent builds ---------------------------------------------------------------


SLOW_BUILD = """
import sys, time
sys.path.insert(0, {repo!r})
import ist_s
import scene_text_seg
from scene_text_seg import builder
real = builder.make_example
def slow(*args, **kwargs):
    time.sleep(0.1)
    return real(*args, **kwargs)
builder.make_example = slow
ist_s.prepare({data_dir!r}, cache_dir={cache_dir!r}, verification_mode="no_checks")
"""


def test_a_build_killed_half_way_leaves_the_next_build_correct(zip_inputs, cache_dir, tmp_path):
    code = SLOW_BUILD.format(repo=REPO, data_dir=zip_inputs[0], cache_dir=cache_dir)
    victim = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while time.time() < deadline and not any(d.endswith(".incomplete") for d, _, _ in os.walk(cache_dir)):
        time.sleep(0.05)
    time.sleep(0.5)  # a few examples into the train split
    victim.kill()
    assert victim.wait() == -9
    assert any(d.endswith(".incomplete") for d, _, _ in os.walk(cache_dir)), "killed before it started writing"
    after = build(zip_inputs[0], cache_dir)
    clean = build(zip_inputs[0], str(tmp_path / "clean"))
    for split in ("train", "test"):
        assert raw(after[split]) == raw(clean[split])
    assert not any(d.endswith(".incomplete") for d, _, _ in os.walk(cache_dir))


def test_two_builds_at_once_on_one_cache_both_end_correct(zip_inputs, cache_dir, tmp_path):
    argv = [sys.executable, os.path.join(REPO, "ist_s.py"), "build", "--data-dir", zip_inputs[0]]
    argv += ["--cache-dir", cache_dir, "--verification-mode", "no_checks"]
    both = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in both]
    for code, out, err in results:
        assert code == 0, err
        assert "train:    10 rows" in out
    clean = build(zip_inputs[0], str(tmp_path / "clean"))
    shared = build(zip_inputs[0], cache_dir)
    for split in ("train", "test"):
        assert raw(shared[split]) == raw(clean[split])


def test_synthetic_generator_is_reproducible(tmp_path):
    synthetic.write_inputs(str(tmp_path / "a"), seed=3)
    synthetic.write_inputs(str(tmp_path / "b"), seed=3)
    assert synthetic.checksums(str(tmp_path / "a")) == synthetic.checksums(str(tmp_path / "b"))
