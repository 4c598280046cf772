"""The command line: thin handlers over the engine's functions, for any dataset of the family.

python ist_s.py VERB ...      (or the console command `ist-s VERB ...`)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import signal
import sys
import tempfile
import time
import types
from typing import Optional

import datasets

from . import __version__
from . import builder as engine
from .errors import SceneTextSegError
from .evaluation import evaluate
from .inputs import check_inputs
from .inspect import compute_stats, decoded_label_values, render_preview
from .publish import card_path, export, push, render_card, write_atomically


def _print_summary(builder: engine.SceneTextSegBuilder, counts: dict, seconds: float) -> None:
    width = max(5, *(len(split) for split in builder.info.splits))
    for split, info in builder.info.splits.items():
        note = "kept, mask None" if builder.config.with_unlabeled else "skipped"
        if not builder.config.with_unlabeled and "with_unlabeled" in engine.config_names(type(builder)):
            note += ": --config with_unlabeled keeps them"
        unlabeled = f"  ({counts[split]['unlabeled']} image(s) without a label {note})" if split in counts else ""
        print(f"{split:>{width}}: {info.num_examples:5d} rows{unlabeled}")
    print(f"cache: {builder.cache_dir}")
    print(f"took {seconds:.1f} s")


def _cmd_build(args) -> int:
    started = time.perf_counter()
    builder = engine.prepare(
        args.builder_cls, args.data_dir, args.config, args.cache_dir, args.num_proc, args.verification_mode
    )
    _print_summary(builder, engine.inventory(args.builder_cls, args.data_dir), time.perf_counter() - started)
    return 0


def _cmd_verify(args) -> int:
    checks = check_inputs(args.builder_cls.SPEC, args.data_dir, progress=True)
    print(f"{'file':46} {'size':>12}  {'sha256':64}  {'md5':32}  status")
    for check in checks:
        name = check.spec.filename if check.path is None or os.path.isfile(check.path) else check.spec.name + "/"
        size = f"{check.size:,}" if check.size is not None else "-"
        sha256, md5 = check.digests.get("sha256", "-"), check.digests.get("md5", "-")
        print(f"{name:46} {size:>12}  {sha256:64}  {md5:32}  {check.status}")
        if check.problem:
            print(f"  {check.problem}")
    bad = [c for c in checks if c.status in ("MISMATCH", "missing")]
    if bad:
        print(f"error: {len(bad)} input(s) missing or not the published file", file=sys.stderr)
        return 2
    return 0


def _load(args, config: str, split: Optional[str] = None):
    return engine.load(
        args.builder_cls, args.data_dir, split, False, config, args.cache_dir, args.num_proc, args.verification_mode
    )


def _cmd_stats(args) -> int:
    dataset = _load(args, args.config)
    stats = {split: compute_stats(dataset[split]) for split in dataset}
    decoded = decoded_label_values(args.builder_cls, args.data_dir, args.config, args.cache_dir)
    for split, values in decoded.items():
        stats[split]["label_values_decoded"] = values
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for split, numbers in stats.items():
        sizes = ", ".join(f"{size} ({count})" for size, count in numbers["image_sizes"].items())
        print(f"{split}:")
        print(f"  rows (labelled pairs)   {numbers['rows']}")
        print(f"  unlabeled images        {numbers['unlabeled_images']}")
        print(f"  image sizes             {sizes}")
        formats = ", ".join(f"{name} ({count})" for name, count in numbers["image_formats"].items())
        print(f"  image formats           {formats}")
        if numbers["gifs_with_several_frames"]:
            print(f"  GIFs of several frames  {numbers['gifs_with_several_frames']} (the first frame is the image)")
        print(f"  text pixels             {numbers['text_pixel_fraction']:.2%}")
        print(f"  uncertain pixels        {numbers['uncertain_pixel_fraction']:.2%}")
        print(f"  images without text     {numbers['images_without_text']}")
        if "words_per_image" in numbers:
            print(f"  words per image         {numbers['words_per_image']:.2f}")
            print(f"  don't-care words        {numbers['dont_care_word_share']:.2%}")
        if "label_values_decoded" in numbers:
            pixels = ", ".join(f"{mapping}: {count:,}" for mapping, count in numbers["label_values_decoded"].items())
            print(f"  label values decoded    {pixels} (pixels)")
    return 0


SCORES = (  # (key of segmentation_metrics, how the table names it), the field's headline score first
    ("iou_text", "text IoU (fgIoU)"),
    ("text_precision", "text precision"),
    ("text_recall", "text recall"),
    ("text_fscore", "text F-score"),
    ("mean_iou", "mean IoU"),
    ("iou_background", "background IoU"),
    ("pixel_accuracy", "pixel accuracy"),
)


def _cmd_evaluate(args) -> int:
    spec = args.builder_cls.SPEC
    splits = spec.splits_of(args.config)
    if args.split not in splits:
        print(
            f"error: the {args.config} config has no split {args.split!r}: choose {', '.join(splits)}", file=sys.stderr
        )
        return 2
    dataset = _load(args, args.config, args.split)
    scores = evaluate(dataset, args.predictions)
    if args.json:  # a score undefined on this split (NaN) is null: NaN is not JSON
        print(json.dumps({key: None if math.isnan(value) else value for key, value in scores.items()}, indent=2))
        return 0
    print(f"{args.split} ({args.config}): {dataset.num_rows} masks scored against {args.predictions}, 255 ignored")
    for key, name in SCORES:
        value = scores[key]
        print(f"  {name:20} {'undefined' if math.isnan(value) else f'{value:.2%}'}")
    return 0


def _cmd_preview(args) -> int:
    dataset = _load(args, args.config, args.split)
    render_preview(dataset, args.n, args.seed).save(args.out)
    words = "; words outlined blue, don't-care orange" if "words" in dataset.features else ""
    print(
        f"wrote {args.out} ({min(args.n, dataset.num_rows)} {args.split} images; text green, uncertain magenta{words})"
    )
    return 0


def _cmd_demo(args) -> int:
    if args.keep is None:
        with tempfile.TemporaryDirectory(prefix=f"{args.builder_cls.SPEC.name}_demo_") as folder:
            _run_demo(args, os.path.join(folder, "data"), args.cache_dir or os.path.join(folder, "cache"))
        return 0
    _check_keep_folder(args.keep)
    # Kept stand-ins are built into the datasets cache the next commands read, so they start from it.
    _run_demo(args, args.keep, args.cache_dir)
    _print_next_steps(args)
    return 0


def _check_keep_folder(folder: str) -> None:
    """Refuse a folder that holds anything: the stand-ins would overwrite downloads of the same names."""
    if os.path.exists(folder) and not (os.path.isdir(folder) and not os.listdir(folder)):
        raise UsageError(f"--keep {folder!r}: expected a new or empty folder, found one that holds files")


def _run_demo(args, data_dir: str, cache_dir: Optional[str]) -> None:
    spec = args.builder_cls.SPEC
    spec.write_demo_inputs(data_dir)
    print(f"demo inputs (synthetic stand-ins for the downloads) in {data_dir}: {sorted(os.listdir(data_dir))}")
    # The stand-in archives are not the published ones: their checksums cannot match.
    common = {
        "builder_cls": args.builder_cls,
        "data_dir": data_dir,
        "cache_dir": cache_dir,
        "num_proc": None,
        "verification_mode": "no_checks",
    }
    first_split = next(iter(spec.split_images))
    steps = [
        ("build", _cmd_build, {"config": "default"}),
        ("stats", _cmd_stats, {"config": _every_image_config(args.builder_cls), "json": False}),
        ("preview", _cmd_preview, {"config": "default", "split": first_split, "n": 8, "seed": 0, "out": args.out}),
    ]
    for name, handler, options in steps:
        print(f"\n$ {args.prog} {name}")
        handler(types.SimpleNamespace(**common, **options))


def _print_next_steps(args) -> None:
    """What to try on the kept stand-ins: commands and Python, with the checksum check they need off."""
    name, folder = args.builder_cls.SPEC.name, args.keep
    options = f"--data-dir {shlex.quote(folder)} --verification-mode no_checks"
    print(f"\nkept the stand-ins in {folder}; try next (stand-ins need no_checks: they are not the published files):")
    for verb in ("build", "stats --json", "preview --out preview.png"):
        print(f"  {args.prog} {verb} {options}")
    print("  and in Python:")
    print(f"    import {name}")
    print(f"    dataset = {name}.load({folder!r}, verification_mode='no_checks')")


def _every_image_config(builder_cls: type[engine.SceneTextSegBuilder]) -> str:
    """The config stats read by default: `with_unlabeled` where the dataset has it, so every image counts."""
    names = engine.config_names(builder_cls)
    return "with_unlabeled" if "with_unlabeled" in names else names[0]


def _export_options(args) -> dict:
    return {
        "configs": (args.config,) if args.config else None,
        "cache_dir": args.cache_dir,
        "num_proc": args.num_proc,
        "verification_mode": args.verification_mode,
        "max_shard_size": args.max_shard_size,
    }


def _cmd_export(args) -> int:
    sizes = export(args.builder_cls, args.data_dir, args.out, **_export_options(args))
    for config, splits in sizes.items():
        print(f"{config}: " + ", ".join(f"{split} {info['num_examples']} rows" for split, info in splits.items()))
    print(f"wrote {args.out}: load it with datasets.load_dataset({args.out!r})")
    return 0


def _cmd_push(args) -> int:
    url = push(
        args.builder_cls, args.data_dir, args.repo_id, args.private, args.token, args.revision, **_export_options(args)
    )
    print(f"pushed {args.repo_id}: {url}")
    return 0


def _cmd_card(args) -> int:
    spec = args.builder_cls.SPEC
    published = {
        config: {split: {"num_examples": rows} for split, rows in sizes.items()}
        for config, sizes in spec.expected_split_sizes.items()
    }
    expected = render_card(args.builder_cls, published)
    path = card_path(spec)
    with open(path, encoding="utf-8") as f:
        current = f.read()
    if args.check:
        if current != expected:
            print(f"{path} is out of date: run `{args.prog} card`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    write_atomically(path, expected)
    print(f"wrote {path}")
    return 0


EXAMPLES = {
    "build": "build --data-dir ~/{name}_downloads --num-proc 2",
    "verify": "verify --data-dir ~/{name}_downloads",
    "stats": "stats --data-dir ~/{name}_downloads --json",
    "preview": "preview --data-dir ~/{name}_downloads --out grid.png --split {split} --n 8 --seed 1",
    "demo": "demo --keep {name}_data",
    "export": "export --data-dir ~/{name}_downloads --out {name}_hub",
    "push": "push --data-dir ~/{name}_downloads --repo-id my-org/{name} --private",
    "card": "card --check",
    "evaluate": "evaluate --data-dir ~/{name}_downloads --predictions predicted_masks --split {split} --json",
}


class UsageError(SceneTextSegError):
    """A command line option that cannot be honoured as given (exit 2, like argparse's usage errors)."""


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected at least {least}, found {value}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse names the option in its error).

    Raises:
        argparse.ArgumentTypeError: `text` is not a whole number, or is below 1.
    """
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number of at least 0, e.g. a seed (argparse names the option in its error).

    Raises:
        argparse.ArgumentTypeError: `text` is not a whole number, or is negative.
    """
    return _whole_number(text, 0)


def _options(spec) -> dict[str, argparse.ArgumentParser]:
    """Groups of options, each given only to the verbs that honour it."""

    def group() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)

    data, cache, build, debug = group(), group(), group(), group()
    data.add_argument(
        "--data-dir",
        default=os.environ.get(spec.env_var, "data"),
        help=f"folder holding the downloads (default: ${spec.env_var}, then ./data)",
    )
    cache.add_argument("--cache-dir", help="datasets cache folder (default: datasets' own)")
    build.add_argument("--num-proc", type=positive_int, help="processes for the build (shards are split between them)")
    build.add_argument(
        "--verification-mode",
        choices=[mode.value for mode in datasets.VerificationMode],
        help="no_checks skips hashing the inputs (default: basic_checks, which hashes them)",
    )
    debug.add_argument("--debug", action="store_true", help="show the traceback on errors")
    return {"data": data, "cache": cache, "build": build, "debug": debug}


def build_parser(builder_cls: type[engine.SceneTextSegBuilder], prog: str) -> argparse.ArgumentParser:
    spec = builder_cls.SPEC
    configs, splits = engine.config_names(builder_cls), list(spec.split_images)
    groups = _options(spec)
    parser = argparse.ArgumentParser(
        prog=prog,
        description=f"{spec.pretty_name}, as a Hugging Face dataset.",
        epilog=f"Start with `{prog} demo`: it needs no download.",
    )
    parser.set_defaults(builder_cls=builder_cls, prog=prog)
    parser.add_argument("--version", action="version", version=f"{spec.name.replace('_', '-')} {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, handler, help: str, options: tuple[str, ...], config: Optional[str] = None):
        example = f"{prog} " + EXAMPLES[name].format(name=spec.name, split=splits[-1])
        parents = [groups[option] for option in (*options, "debug")]
        sub = verbs.add_parser(name, parents=parents, help=help, description=help, epilog=f"example: {example}")
        sub.set_defaults(handler=handler)
        if config is not None:
            sub.add_argument("--config", default=config, choices=configs, help=f"default: {config}")
        return sub

    def publishing(sub):
        sub.add_argument("--config", choices=configs, help="one config only (default: all)")
        sub.add_argument("--max-shard-size", default="500MB", help="largest Parquet file (default: 500MB)")

    building = ("data", "cache", "build")
    verb("build", _cmd_build, "Prepare every split in the datasets cache and summarise them.", building, "default")
    verb("verify", _cmd_verify, "Hash every input and compare it with the published checksums.", ("data",))
    stats_help = "Per split, over every image: rows, unlabeled, sizes, pixel fractions (and words)."
    stats = verb("stats", _cmd_stats, stats_help, building, _every_image_config(builder_cls))
    stats.add_argument("--json", action="store_true", help="print JSON for machines")
    preview = verb("preview", _cmd_preview, "Save a grid of images with their masks overlaid.", building, "default")
    preview.add_argument("--out", default=f"{spec.name}_preview.png", help="PNG to write")
    preview.add_argument("--split", default=splits[0], choices=splits)
    preview.add_argument("--n", type=positive_int, default=8, help="how many images")
    preview.add_argument("--seed", type=non_negative_int, default=0, help="which images (seeded choice)")
    demo = verb("demo", _cmd_demo, "Run build, stats and preview on a small synthetic input set.", ("cache",))
    demo.add_argument("--out", default=f"{spec.name}_demo_preview.png", help="PNG the preview is written to")
    demo.add_argument(
        "--keep",
        metavar="DIR",
        help="write the stand-ins (every input of every config) into DIR, a new or empty folder, and keep them",
    )
    export_help = "Write a Hub dataset repo folder (Parquet + card) that needs no script."
    export_verb = verb("export", _cmd_export, export_help, building)
    export_verb.add_argument("--out", required=True, help="folder to write (new, or an earlier export)")
    publishing(export_verb)
    push_verb = verb("push", _cmd_push, "Export, then upload to a Hub dataset repo (created if needed).", building)
    push_verb.add_argument("--repo-id", required=True, help="ORG/NAME on the Hub")
    push_verb.add_argument("--private", action="store_true", help="create the repo private")
    push_verb.add_argument("--token", help="Hub token (default: the logged-in one)")
    push_verb.add_argument("--revision", help="branch to push to (created if needed)")
    publishing(push_verb)
    evaluate_help = "Score a folder of predicted masks (<image_id>.png) against a split: text IoU, P/R/F, mean IoU."
    evaluate_verb = verb("evaluate", _cmd_evaluate, evaluate_help, building, "default")
    evaluate_verb.add_argument(
        "--predictions", required=True, help="folder of <image_id>.png masks: 0/1, or 0/255 with 255 = text"
    )
    every_split = list(dict.fromkeys(split for sizes in spec.expected_split_sizes.values() for split in sizes))
    evaluate_verb.add_argument("--split", default=splits[-1], choices=every_split, help=f"default: {splits[-1]}")
    evaluate_verb.add_argument("--json", action="store_true", help="print JSON for machines (null: undefined)")
    card = verb("card", _cmd_card, "Regenerate the dataset card's YAML from the builder.", ())
    card.add_argument("--check", action="store_true", help="exit 1 if the checked-in card is out of date")
    return parser


def _prog(name: str) -> str:
    """How the user called us: the console command (`ist-s`) or the script (`python ist_s.py`)."""
    command = name.replace("_", "-")
    return command if os.path.basename(sys.argv[0]) == command else f"python {name}.py"


# Whether this process is running a verb: processes it forks meanwhile (datasets' build pool) leave
# Ctrl-C to it. Without that each worker printed its own KeyboardInterrupt traceback; the verb's
# process stops them itself as it unwinds (the pool is terminated on the way out).
_running_a_verb = False


def _leave_ctrl_c_to_the_verb() -> None:
    if _running_a_verb:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere workers are spawned, not forked
    os.register_at_fork(after_in_child=_leave_ctrl_c_to_the_verb)


def _raised_while_interrupted(error: BaseException) -> bool:
    """Whether `error` was raised while a Ctrl-C was unwinding: datasets' process pool, cleaning up in a
    `finally`, turns the KeyboardInterrupt into a TimeoutError whose context is the interrupt."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def main(builder_cls: type[engine.SceneTextSegBuilder], argv: Optional[list[str]] = None, prog: str = "") -> int:
    """Run one verb of a dataset's command line.

    Args:
        builder_cls: the dataset's builder (`ist_s.IstS`, ...).
        argv: the arguments after the command name (default: `sys.argv[1:]`).
        prog: the command's name in messages (default: `ist-s` when run as that console command,
            else `python ist_s.py`).

    Returns:
        The exit code: 0 done, 2 bad input or usage, 130 interrupted (Ctrl-C), 1 anything else;
        one `error: ...` (or `interrupted`) line on stderr and no traceback unless `--debug`.
    """
    args = build_parser(builder_cls, prog or _prog(builder_cls.SPEC.name)).parse_args(argv)
    # Our INFO lines (skipped images, sha256 of the labels) reach stderr through the `datasets`
    # logger tree's own handler; the level is ours alone, so datasets itself stays as quiet as set.
    engine_logger = logging.getLogger("datasets.scene_text_seg")
    level = engine_logger.level
    engine_logger.setLevel(logging.INFO)
    global _running_a_verb
    running, _running_a_verb = _running_a_verb, True
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except (SceneTextSegError, datasets.exceptions.ManualDownloadError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if args.debug:
            raise
        if _raised_while_interrupted(e):
            print("interrupted", file=sys.stderr)
            return 130
        print(f"error: {type(e).__name__}: {e} (run with --debug for the traceback)", file=sys.stderr)
        return 1
    finally:
        _running_a_verb = running
        engine_logger.setLevel(level)
