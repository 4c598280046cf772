"""Publishing: the dataset card generated from the builder, a Hub repo folder that loads with no
script on any `datasets` version, and push."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Optional

import datasets
from datasets.utils.py_utils import convert_file_size_to_int

from .builder import (
    ENGINE_DIR,
    OUT_OF_SPACE,
    SceneTextSegBuilder,
    config_features,
    config_names,
    out_of_space_in,
    prepare,
)
from .errors import PublishError, SceneTextSegError
from .inputs import find_input
from .layout import shard_count
from .spec import ID2LABEL, DatasetSpec

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

# The cards' prose lives in dataset_card/ of a checkout; an installed copy ships it as scene_text_seg/cards/.
CARD_FOLDERS = (os.path.join(ENGINE_DIR, "cards"), os.path.join(os.path.dirname(ENGINE_DIR), "dataset_card"))


def card_path(dataset: DatasetSpec) -> str:
    """The checked-in card of `dataset` (its YAML generated, its prose written by hand)."""
    for folder in CARD_FOLDERS:
        path = os.path.join(folder, dataset.card_file)
        if os.path.isfile(path):
            return path
    raise PublishError(f"no dataset card {dataset.card_file!r} in {' or '.join(CARD_FOLDERS)}: is the install whole?")


def _portable_yaml_features(features: datasets.Features) -> list:
    """The features as card YAML that datasets 3.x and 5.x read back alike.

    5.x writes `list:` for what 3.x calls a Sequence, and 3.x reads `list:` as a plain
    Python list; both read `sequence:` as their own list-of-ClassLabel type. 5.x writes a
    Sequence of a dict (`words`) as a `struct:` of lists, which 3.x reads as a dict of Sequences;
    both read 3.x's `sequence: [fields]` as their own form of it.
    """

    def rename(node):
        if isinstance(node, dict):
            fields = node.get("struct")
            if isinstance(fields, list) and fields and all(isinstance(f, dict) and "list" in f for f in fields):
                sequence = [{"name": f["name"], **_as_field(f["list"])} for f in fields]
                return rename({**{k: v for k, v in node.items() if k != "struct"}, "sequence": sequence})
            return {("sequence" if key == "list" else key): rename(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rename(item) for item in node]
        return node

    return rename(features._to_yaml_list())


def _as_field(feature_yaml) -> dict:
    """A feature's YAML as the body of a named field: a bare dtype becomes {"dtype": ...}."""
    return {"dtype": feature_yaml} if isinstance(feature_yaml, str) else dict(feature_yaml)


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def card_metadata(builder_cls: type[SceneTextSegBuilder], splits: dict[str, dict[str, dict]]) -> dict:
    """The card's YAML: Hub fields, `configs` (split -> Parquet files) and `dataset_info`, per config.

    `splits` maps config -> split -> {"num_examples": n[, "num_bytes": b]}; datasets 5.x only
    trusts (and verifies) split sizes that come with num_bytes, known after a build.
    """
    dataset = builder_cls.SPEC
    configs, infos = [], []
    for config, sizes in splits.items():
        files = [{"split": split, "path": f"data/{config}/{split}-*"} for split in sizes]
        configs.append(
            {"config_name": config, **({"default": True} if config == "default" else {}), "data_files": files}
        )
        # A split whose size is not published is named without one.
        split_list = [
            {"name": split, **{k: v for k, v in info.items() if v is not None}} for split, info in sizes.items()
        ]
        # Plain fresh objects per config: a shared one would be written as a YAML anchor and alias.
        yaml_features = json.loads(json.dumps(_portable_yaml_features(config_features(builder_cls, config))))
        infos.append({"config_name": config, "features": yaml_features, "splits": split_list})
    licence = {"license": dataset.hub_license}  # the labels' licence
    if dataset.hub_license_name:
        licence.update(license_name=dataset.hub_license_name, license_link=dataset.homepage)
    return {
        **licence,
        "pretty_name": dataset.pretty_name,
        "language": list(dataset.languages),
        "task_categories": ["image-segmentation"],
        "task_ids": ["semantic-segmentation"],
        "size_categories": [
            _size_category(max(sum(info["num_examples"] or 0 for info in sizes.values()) for sizes in splits.values()))
        ],
        "tags": list(dataset.tags),
        "configs": configs,
        "dataset_info": infos,
    }


def render_card(
    builder_cls: type[SceneTextSegBuilder], splits: dict[str, dict[str, dict]], body: Optional[str] = None
) -> str:
    """The dataset card: YAML generated from the builder, the prose of the checked-in card."""
    from huggingface_hub import DatasetCard, DatasetCardData

    if body is None:
        body = DatasetCard.load(card_path(builder_cls.SPEC)).text
    data = DatasetCardData(**card_metadata(builder_cls, splits))
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))


# What an export writes, and all it ever replaces or removes in its folder: the rest (a Hub clone's
# .git/ and .gitattributes, notes) is kept. data/ is ours whole: a shard of an earlier export that
# this one does not write would be read as part of a split.
EXPORT_ENTRIES = ("data", "README.md", "id2label.json")
EXPORT_MARK = "id2label.json"  # the file that tells an earlier export from a folder of someone else's


def export(
    builder_cls: type[SceneTextSegBuilder],
    data_dir: str,
    out_dir: str,
    configs: Optional[tuple[str, ...]] = None,
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
    max_shard_size: str = "500MB",
) -> dict[str, dict[str, dict]]:
    """Write a Hub dataset repo folder: Parquet shards with the bytes embedded, the card, id2label.json.

    `load_dataset(out_dir)` then needs no script on any `datasets` version. The export owns `data/`,
    `README.md` and `id2label.json` and writes nothing else: over an earlier export it replaces
    those three (`data/` whole) and keeps everything beside them (a clone's `.git/`,
    `.gitattributes`, notes). Everything is written beside `out_dir` first and swapped in at the
    end, so a failed export leaves the folder as it was.

    Args:
        builder_cls: the dataset's builder.
        data_dir: the folder holding the dataset's inputs.
        out_dir: a new folder, an earlier export, or a folder holding none of the three entries an
            export writes (a fresh clone of an empty Hub repo).
        configs: the configs to export; defaults to every config whose inputs are all present
            (those whose optional inputs are missing are skipped and logged).
        cache_dir: the `datasets` cache folder of the builds.
        num_proc: build processes.
        verification_mode: `"no_checks"` skips the inputs' checksums.
        max_shard_size: the largest Parquet file, e.g. `"500MB"`.

    Returns:
        The splits' sizes as the card states them: config -> split -> {"num_examples", "num_bytes"}.

    Raises:
        PublishError: `out_dir` is a file, or is not an earlier export and already holds `data`,
            `README.md` or `id2label.json` (named); or the export's disk ran out of space.
        SceneTextSegError: a build failed (its input named).
    """
    configs = configs or configs_with_inputs(builder_cls, data_dir)
    check_export_folder(out_dir)
    try:
        with staging_folder(out_dir, EXPORT_ENTRIES) as staging:
            return _write_export(
                builder_cls, data_dir, staging, configs, max_shard_size, cache_dir, num_proc, verification_mode
            )
    except OSError as e:
        full = None if isinstance(e, SceneTextSegError) else out_of_space_in(e)  # ours already name their folder
        if full is None:
            raise
        raise PublishError(
            f"the disk of {os.path.dirname(os.path.realpath(out_dir))} ran out of space while the export was "
            f"written beside {out_dir} ({errno.errorcode[full.errno]}: {OUT_OF_SPACE[full.errno]}): free space "
            f"there or export to another disk; {out_dir} is as it was"
        ) from None


def check_export_folder(out_dir: str) -> None:
    """Refuse, before building anything, a folder an export would spoil.

    Args:
        out_dir: the export's folder: missing, an earlier export (it holds id2label.json), or a
            folder holding none of EXPORT_ENTRIES.

    Raises:
        PublishError: `out_dir` is a file, or someone else's folder holding one of EXPORT_ENTRIES
            (named).
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise PublishError(f"{out_dir} is a file: expected a folder to write the export to")
    if not os.path.isdir(out_dir) or os.path.lexists(os.path.join(out_dir, EXPORT_MARK)):
        return
    colliding = [name for name in EXPORT_ENTRIES if os.path.lexists(os.path.join(out_dir, name))]
    if colliding:
        raise PublishError(
            f"{out_dir} is not an earlier export (it has no {EXPORT_MARK}) and holds {', '.join(colliding)}, "
            f"which an export writes: move them away or choose another folder"
        )


def configs_with_inputs(builder_cls: type[SceneTextSegBuilder], data_dir: str) -> tuple[str, ...]:
    """The configs whose inputs are all in `data_dir` (every config, when even the required ones are not,
    so that the build names what is missing)."""
    spec, present = builder_cls.SPEC, []
    for config in config_names(builder_cls):
        missing = [s.filename for s in spec.inputs_for(config).values() if find_input(data_dir, s) is None]
        if not missing:
            present.append(config)
        elif not any(s.filename in missing for s in spec.required_inputs().values()):
            logger.info(f"config {config!r} skipped: it needs {', '.join(missing)} (ask for it with --config {config})")
    return tuple(present) or config_names(builder_cls)


@contextlib.contextmanager
def staging_folder(target: str, entries: tuple[str, ...]) -> Iterator[str]:
    """A new folder beside `target` to write into; if the block succeeds, its `entries` take the place
    of those of `target` (which is made if missing), and nothing else of `target` is touched.

    A failure, in the block or in the swap, leaves `target` as it was; no staging or retired folder
    is left behind either way.

    Args:
        target: the folder to fill.
        entries: the names the block writes and `target` gives up.

    Yields:
        The staging folder.
    """
    target = os.path.realpath(target)  # beside the folder itself, on its disk, when `target` is a link
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{name}.partial-", dir=parent)
    try:
        yield staging
        if not os.path.isdir(target):
            os.rename(staging, target)  # the whole folder at once
        else:
            swap_entries(staging, target, [e for e in entries if os.path.lexists(os.path.join(staging, e))])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_entries(source: str, target: str, entries: list[str]) -> None:
    """Move each of `entries` from `source` into `target`, replacing the entry there of that name.

    The old entries are moved aside first (into a folder beside `target`, removed at the end); if a
    move fails, the new entries moved so far go back and the old ones return to their places. (Only
    if that too fails is the folder of old entries left, for the user to recover them from.)

    Args:
        source: the folder holding the new entries.
        target: the folder whose entries they replace.
        entries: the names to move, each present in `source`.
    """
    parent, name = os.path.split(target)
    retired = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
    moved_aside, moved_in = [], []
    try:
        for entry in entries:
            if os.path.lexists(os.path.join(target, entry)):
                os.rename(os.path.join(target, entry), os.path.join(retired, entry))
                moved_aside.append(entry)
        for entry in entries:
            os.rename(os.path.join(source, entry), os.path.join(target, entry))
            moved_in.append(entry)
    except BaseException:
        for entry in moved_in:
            os.rename(os.path.join(target, entry), os.path.join(source, entry))
        for entry in moved_aside:
            os.rename(os.path.join(retired, entry), os.path.join(target, entry))
        os.rmdir(retired)  # empty again
        raise
    shutil.rmtree(retired)


def write_atomically(path: str, text: str) -> None:
    """Write a text file through a temporary file beside it: readers see the old file or the new, whole."""
    folder, name = os.path.split(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    try:
        with open(descriptor, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _write_export(
    builder_cls: type[SceneTextSegBuilder],
    data_dir: str,
    out_dir: str,
    configs: tuple[str, ...],
    max_shard_size: str,
    cache_dir: Optional[str],
    num_proc: Optional[int],
    verification_mode: Optional[str],
) -> dict[str, dict[str, dict]]:
    shard_bytes = convert_file_size_to_int(max_shard_size)
    data_root = os.path.join(out_dir, "data")
    splits = {}
    for config in configs:
        builder = prepare(builder_cls, data_dir, config, cache_dir, num_proc, verification_mode)
        splits[config] = {}
        for split in builder.info.splits:
            dataset = builder.as_dataset(split=split)
            # Files of at most max_shard_size, and as many as a streamed split has shards: a streamed
            # Parquet split gives each DataLoader worker (and each node) whole files.
            count = max(1, math.ceil(dataset.data.nbytes / shard_bytes), shard_count(dataset.num_rows))
            os.makedirs(os.path.join(data_root, config), exist_ok=True)
            for index in range(count):
                path = os.path.join(data_root, config, f"{split}-{index:05d}-of-{count:05d}.parquet")
                # Row groups of 100 rows (datasets' size for image data); bytes are copied as stored.
                dataset.shard(count, index, contiguous=True).to_parquet(path)
            splits[config][split] = {
                "num_examples": dataset.num_rows,
                "num_bytes": builder.info.splits[split].num_bytes,
            }
    with open(os.path.join(out_dir, "id2label.json"), "w", encoding="utf-8") as f:
        json.dump({str(k): v for k, v in ID2LABEL.items()}, f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(render_card(builder_cls, splits))
    return splits


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the Hub could not be reached (no network, refused, timed out, offline mode).

    huggingface_hub raises its HTTP client's transport errors as they are (httpx's `TransportError`
    family in 1.x and later, `requests`' `RequestException`, an OSError, before); the classes are
    matched by name so that neither client needs to be imported here.
    """
    names = {cls.__name__ for cls in type(error).__mro__}
    return isinstance(error, (OSError, TimeoutError)) or bool(names & {"TransportError", "RequestException"})


def push(
    builder_cls: type[SceneTextSegBuilder],
    data_dir: str,
    repo_id: str,
    private: bool = False,
    token: Optional[str] = None,
    revision: Optional[str] = None,
    **export_options,
) -> str:
    """Export to a temporary folder and upload it as the dataset repo `repo_id`; returns the commit URL.

    Re-pushing the same data uploads nothing new: the export is byte-for-byte reproducible and
    the Hub skips files it already holds.
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    token = token or huggingface_hub.get_token()
    if not token:
        raise PublishError("no Hugging Face token: log in with `hf auth login`, or pass --token")
    with tempfile.TemporaryDirectory(prefix=f"{builder_cls.SPEC.name}_push_") as scratch:
        folder = os.path.join(scratch, "repo")
        export(builder_cls, data_dir, folder, **export_options)
        api = huggingface_hub.HfApi(token=token)
        try:
            api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
            if revision is not None:
                api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
            commit = api.upload_folder(
                repo_id=repo_id,
                repo_type="dataset",
                folder_path=folder,
                revision=revision,
                commit_message=f"Upload {builder_cls.SPEC.title} (python {builder_cls.SPEC.name}.py push)",
                delete_patterns=["data/**"],  # shards of an earlier push that this one does not have
            )
        except HfHubHTTPError as e:
            reason = str(e).splitlines()[0]
            raise PublishError(f"the Hub refused {repo_id}: {reason}") from None
        except Exception as e:
            if not unreachable(e):
                raise
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            raise PublishError(
                f"the Hub could not be reached ({reason}): check the network connection (and HF_ENDPOINT, "
                f"HF_HUB_OFFLINE), then push again; the export itself can be written with `export`"
            ) from None
    return str(getattr(commit, "commit_url", commit))
