"""The `datasets` builder every dataset of the family subclasses, and the helpers that drive it."""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import errno
import glob
import hashlib
import inspect
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Optional, Union

import datasets

from . import words
from .errors import CacheFolderError, CacheFolderFullError, InvalidInputError, SceneTextSegError
from .inputs import (
    Source,
    inputs_fingerprint,
    locate_inputs,
    read_split_assignment,
    readable_inputs,
    verify_inputs,
)
from .layout import Pair, plan_pairs, reassign_splits, shard
from .memory import dataloader_worker, frozen_while_forking, release_freed_memory
from .pixels import make_example
from .spec import CLASS_NAMES, DatasetSpec

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

EXAMPLE_THREADS = min(4, os.cpu_count() or 1)  # shared by the build processes; one stream uses them all
# Examples a thread makes in one task, handed over together: one hand-over (a future, a wake-up of the
# consumer) a task instead of one an example, which cost the consumer more time waiting than the
# examples took to make. The consumer finds a streamed split's batch (8-16 rows) made.
EXAMPLES_PER_TASK = 16
# Tasks made ahead of the one being consumed, per thread: enough that no thread waits on the consumer,
# few enough that memory stays flat (an example is its photo's and mask's bytes).
TASKS_AHEAD_PER_THREAD = 2
# Examples that take less than this to make (the median of the first task's, made here) are all made here:
# a thread hands the GIL over at each inflate, read and numpy call, and on a 2-core machine those hand-overs
# cost more than they win when an example is that short (COCO_TS's 640x480 pass-through masks, ~0.3 ms:
# two threads built it in 1.1x the time of one). Decoding a photo-sized label with PIL, or re-encoding
# one, takes milliseconds, most of them without the GIL: there threads pay (TextSeg: 0.67x the time).
INLINE_BELOW_SECONDS = 0.001
ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))


def features(with_words: bool = False) -> datasets.Features:
    """The schema shared by the family (DESIGN §2); configs with words add the `words` column."""
    columns = {
        "image_id": datasets.Value("string"),
        "image": datasets.Image(),
        "mask": datasets.Image(),
        "mask_classes": datasets.Sequence(datasets.ClassLabel(names=CLASS_NAMES)),
    }
    if with_words:
        columns["words"] = words.feature()
    return datasets.Features(columns)


def code_fingerprint(builder_cls: type) -> str:
    """A digest of the code that shapes the rows: every engine module and the dataset's script.

    `datasets` hashes only the script (3.x through `load_dataset`) or nothing (direct builder
    use), so a changed engine would otherwise be served Arrow files made by the old code.
    """
    digest = hashlib.sha256()
    for path in [*sorted(glob.glob(os.path.join(ENGINE_DIR, "*.py"))), inspect.getfile(builder_cls)]:
        with open(path, "rb") as f:
            digest.update(os.path.basename(path).encode() + b"\0" + f.read() + b"\0")
    return digest.hexdigest()[:16]


@dataclasses.dataclass
class SceneTextSegConfig(datasets.BuilderConfig):
    """A config of a scene-text segmentation dataset.

    Args:
        with_unlabeled: keep the images that have no mask (mask None).
        with_words: add each image's word polygons and transcriptions (the dataset's word files).
        assign_splits: divide the pairs by the dataset's split assignment file (COCO-Text's sets,
            TextSeg's split.json).
        labels_role: read the labels from this input instead of the dataset's `labels_role`
            (TextSeg's `v1`: the paper's labels).
        inputs_fingerprint: names, sizes, mtimes, inodes and ctimes of the inputs; set by the builder
            so that a changed input gets a new cache instead of the stale one.
        code_fingerprint: digest of the engine and the script; set by the builder so that changed
            code gets a new cache.
    """

    with_unlabeled: bool = False
    with_words: bool = False
    assign_splits: bool = False
    labels_role: Optional[str] = None
    inputs_fingerprint: Optional[str] = None
    code_fingerprint: Optional[str] = None


class InputErrorFromBuild(datasets.exceptions.DatasetGenerationError):
    """One of our input errors, carried out of the build as a DatasetGenerationError.

    `datasets` wraps whatever a generator raises in a DatasetGenerationError whose `__cause__`
    holds the real error, and with `num_proc` >= 2 that cause does not survive the trip back from
    the worker process (exceptions are pickled without it). This one holds the error in its args,
    which do survive, and prints as it: the same message whatever `num_proc` is.
    """

    def __init__(self, error: SceneTextSegError):
        super().__init__(error)

    def __str__(self) -> str:
        return str(self.args[0])


def input_error_in(error: BaseException) -> Optional[SceneTextSegError]:
    """Our input error behind `error` (itself, its causes and contexts, or a carried one), if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, InputErrorFromBuild):
            return error.args[0]
        if isinstance(error, SceneTextSegError):
            return error
        error = error.__cause__ or error.__context__
    return None


# Why a write can fail for want of room. EDQUOT is not defined everywhere (Windows).
OUT_OF_SPACE = {
    getattr(errno, name): why
    for name, why in (
        ("ENOSPC", "the disk is full"),
        ("EDQUOT", "the disk quota is spent"),
        ("EFBIG", "a file passed the file-size limit, ulimit -f"),
    )
    if hasattr(errno, name)
}


def out_of_space_in(error: BaseException) -> Optional[OSError]:
    """The OSError saying a disk ran out of room behind `error`, if any.

    Args:
        error: an error, searched with its causes and contexts.

    Returns:
        The first OSError whose errno is in OUT_OF_SPACE, else None.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in OUT_OF_SPACE:
            return error
        error = error.__cause__ or error.__context__
    return None


def cache_folder_full(error: OSError, folder: str) -> CacheFolderFullError:
    """The one-line error for a build whose cache folder ran out of room.

    Args:
        error: the OSError, its errno in OUT_OF_SPACE.
        folder: the cache folder, as the user gave it.

    Returns:
        The error to raise, naming the folder and the errno.
    """
    return CacheFolderFullError(
        f"the cache folder {folder} ran out of space during the build ({errno.errorcode[error.errno]}: "
        f"{OUT_OF_SPACE[error.errno]}): free space there or pass a cache_dir on another disk (--cache-dir), "
        f"then build again; nothing half-written was kept"
    )


def read_locally(module_name: str) -> None:
    """Mark a builder's module as already patched for streaming, so that `datasets` leaves it as written.

    `datasets` patches the module of a builder it makes (and its parents' modules), once per process, so
    that a script can stream remote files: its `open`, `os.path.*`, `glob.glob`, `gzip.open` and pandas'
    and scipy's readers are replaced by fsspec-backed versions, and scipy.io is imported to patch it
    (0.10-0.15 s where scipy is installed, in the first builder a process makes: before its build, or
    its load from the cache). The family reads its local inputs through `inputs.Source` alone, so its
    modules keep the standard library's functions, and the time. `datasets` skips a module whose
    `_patched_for_streaming` is set (3.6 and 5.x alike). Every module defining a builder of the family is
    marked, a new dataset's too (docs/adding-a-dataset.md): one that also holds another builder, which
    streams remote files through a patched `open`, would lose the patches."""
    module = sys.modules.get(module_name)
    if module is not None and not getattr(module, "_patched_for_streaming", None):
        module._patched_for_streaming = True


read_locally(__name__)  # the engine's own module, a parent of every builder of the family


class SceneTextSegBuilder(datasets.GeneratorBasedBuilder):
    """Image + text-mask pairs from manually downloaded archives; a subclass sets SPEC and its configs."""

    SPEC: DatasetSpec
    BUILDER_CONFIG_CLASS = SceneTextSegConfig
    DEFAULT_CONFIG_NAME = "default"
    DEFAULT_WRITER_BATCH_SIZE = 32  # rows per Arrow record batch at the least: see rows_per_record_batch

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        read_locally(cls.__module__)

    def __init__(self, *args, data_dir: Optional[str] = None, **kwargs):
        check_engine_beside(kwargs.get("base_path"), type(self))
        if data_dir is not None:
            data_dir = os.path.abspath(os.path.expanduser(str(data_dir)))
            config = kwargs.get("config_name") or self.DEFAULT_CONFIG_NAME
            kwargs["inputs_fingerprint"] = inputs_fingerprint(self.SPEC, data_dir, config)
        kwargs["code_fingerprint"] = code_fingerprint(type(self))
        self._verify_inputs = False  # set by download_and_prepare; streaming reads without hashing
        self._example_threads = EXAMPLE_THREADS
        # Rows per record batch of each split (see rows_per_record_batch), unless the caller chose them
        self._batch_rows: Optional[dict[str, int]] = None if kwargs.get("writer_batch_size") else {}
        super().__init__(*args, data_dir=data_dir, **kwargs)

    @property
    def manual_download_instructions(self) -> str:
        return self.SPEC.manual_download_instructions

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=self.SPEC.description,
            features=features(self.config.with_words),
            homepage=self.SPEC.homepage,
            license=self.SPEC.license,
            citation=self.SPEC.citation,
        )

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_split_kwargs):
        self._verify_inputs = verification_mode != datasets.VerificationMode.NO_CHECKS
        self._example_threads = max(1, EXAMPLE_THREADS // (prepare_split_kwargs.get("num_proc") or 1))
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_split_kwargs)

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        spec, config = self.SPEC, self.config
        located = locate_inputs(spec, config.data_dir, config.name)
        # Genuine inputs (every registered one is the published file) must give the published split sizes.
        genuine = self._verify_inputs and verify_inputs(spec, located)
        paths = readable_inputs(located, self._cache_dir_root)
        planned = plan(spec, paths, config)
        generators = []
        for split, pairs in planned.items():
            labels_role = spec.label_files_of(split, config.labels_role).role  # the input of this split's labels
            expected = spec.expected_split_sizes.get(config.name, {}).get(split)  # not published for every config
            if genuine and expected is not None and len(pairs) != expected:
                raise InvalidInputError(
                    f"{located[labels_role]}: gives {len(pairs)} {split} rows, expected {expected} on the "
                    f"published archives: is it the {spec.title} labels zip from {spec.labels_download}?"
                )
            generator = datasets.SplitGenerator(
                name=datasets.Split(split),
                # `shards` is the only list: datasets splits it between processes and streaming workers.
                gen_kwargs={
                    "shards": shard(pairs),
                    "image_paths": {role: paths[role] for role in sorted({pair.image_role for pair in pairs})},
                    "labels_path": paths[labels_role],
                    "words_path": paths[spec.words_role_of(split)] if config.with_words else None,
                },
            )
            generator.split_info.num_examples = len(pairs)  # progress bar total
            generators.append(generator)
            if self._batch_rows is not None:
                self._batch_rows[split] = rows_per_record_batch(pairs, paths, self.DEFAULT_WRITER_BATCH_SIZE)
        release_freed_memory()  # what listing the archives freed, before the build's own peak
        return generators

    def _prepare_split(self, split_generator: datasets.SplitGenerator, *args, **kwargs) -> None:
        # datasets forks the split's build processes in here when num_proc >= 2 and there are shards to share
        forks = (kwargs.get("num_proc") or 1) > 1 and len(split_generator.gen_kwargs.get("shards", ())) > 1
        if self._batch_rows and split_generator.name in self._batch_rows:  # read by each job's writer
            self._writer_batch_size = self._batch_rows[split_generator.name]
        with frozen_while_forking(forks):
            super()._prepare_split(split_generator, *args, **kwargs)

    def _prepare_split_single(self, *args, **kwargs):
        # Runs in each build process (or in this one when num_proc is 1): see InputErrorFromBuild.
        try:
            yield from super()._prepare_split_single(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as e:
            error = input_error_in(e)
            if error is None and (full := out_of_space_in(e)) is not None:
                error = cache_folder_full(full, self._cache_dir_root)
            if error is None:
                raise
            raise InputErrorFromBuild(error) from None

    def _generate_examples(
        self,
        shards: list[tuple[Pair, ...]],
        image_paths: dict[str, str],
        labels_path: str,
        words_path: Optional[str] = None,
    ) -> Iterator[tuple[str, dict]]:
        # Archives are opened here, per job: an open ZipFile cannot be sent to another process
        # (`open_zip` keeps one per process, so the shards of a job share it).
        images, labels = {role: Source(path) for role, path in image_paths.items()}, Source(labels_path)
        word_files = Source(words_path) if words_path is not None else None
        pairs = (pair for pairs in shards for pair in pairs)

        def make(pair: Pair) -> dict:
            return make_example(
                pair,
                images[pair.image_role],
                labels,
                word_files,
                label_values=self.SPEC.label_values,
                parse_word_file=self.SPEC.word_files.parse,
            )

        threads = threads_in_this_process(self._example_threads)
        yield from ((pair.image_id, example) for pair, example in made_in_order(pairs, make, threads))


# What an Arrow record batch holds at most, in photo bytes (IST_S's 32 rows of ~140 KB photos), as few rows as
# it takes (at least the builder's default): `datasets`' writer costs ~0.5 ms a batch on top of what each row
# costs, so COCO_TS's ~63 KB photos 32 to a batch spent ~35 us more a row writing than 80 to a batch do.
RECORD_BATCH_BYTES = 5 << 20
PHOTOS_SIZED = 64  # photos of a split, spread over it, whose mean size sets its rows per record batch


def rows_per_record_batch(pairs: Sequence[Pair], paths: Mapping[str, str], least: int) -> int:
    """Rows of a split per Arrow record batch: as many as hold ~RECORD_BATCH_BYTES of its photos (the mean
    of PHOTOS_SIZED spread over the split, as their archives declare them: a split's first photos can all
    come from one of its archives), at least `least`, at most 8 times that.

    Raises:
        ValueError: `least` is not an int of at least 1.
        InvalidInputError: a sampled photo cannot be sized (named).
    """
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise ValueError(f"least: expected an int of at least 1, found {least!r}")
    sample = pairs[:: max(1, len(pairs) // PHOTOS_SIZED)][:PHOTOS_SIZED]
    if not sample:
        return least
    sources = {role: Source(paths[role]) for role in {pair.image_role for pair in sample}}
    mean = sum(sources[pair.image_role].size(pair.image_member) for pair in sample) / len(sample)
    return max(least, min(8 * least, int(RECORD_BATCH_BYTES // max(mean, 1))))


def made_in_order(pairs: Iterable[Pair], make: Callable[[Pair], dict], threads: int) -> Iterator[tuple[Pair, dict]]:
    """(pair, make(pair)) for each pair, in order, made by `threads` threads a task of EXAMPLES_PER_TASK
    pairs at a time (one thread: made here, as they are asked for).

    Checking a mask means inflating it (zlib, which like PIL's decoders and numpy releases the GIL): a
    few threads make the next examples while this one is written or consumed. The first task is made
    here and timed: examples shorter than INLINE_BELOW_SECONDS (the median) are all made here, as threads
    would lose more to handing the GIL over than they gain. The tasks ahead are bounded
    (TASKS_AHEAD_PER_THREAD) so memory stays flat. An error is raised where its pair comes, after the
    examples before it.

    Args:
        pairs: the pairs, in the order their examples are wanted.
        make: makes one pair's example.
        threads: threads making examples, at least 1.

    Returns:
        An iterator of (pair, example).

    Raises:
        ValueError: `threads` is not an int of at least 1.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads: expected an int of at least 1, found {threads!r}")
    return _made_in_order(pairs, make, threads)


def _made_in_order(pairs: Iterable[Pair], make: Callable[[Pair], dict], threads: int) -> Iterator[tuple[Pair, dict]]:
    pairs = iter(pairs)
    if threads > 1:
        seconds = []
        for pair in itertools.islice(pairs, EXAMPLES_PER_TASK):
            started = time.perf_counter()
            example = make(pair)
            seconds.append(time.perf_counter() - started)
            yield pair, example
        typical = statistics.median(seconds) if seconds else 0.0
        if len(seconds) == EXAMPLES_PER_TASK and typical >= INLINE_BELOW_SECONDS:
            yield from _made_by_threads(pairs, make, threads)
            return
        logger.debug(f"examples made in this thread: {typical * 1e3:.2f} ms each")
    yield from ((pair, make(pair)) for pair in pairs)


def _made_by_threads(pairs: Iterator[Pair], make: Callable[[Pair], dict], threads: int) -> Iterator[tuple[Pair, dict]]:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)
    tasks = (tuple(itertools.islice(pairs, EXAMPLES_PER_TASK)) for _ in itertools.count())
    pending: collections.deque = collections.deque()
    abandoned = False
    try:
        for task in itertools.takewhile(bool, tasks):
            pending.append(pool.submit(_made, task, make))
            if len(pending) > threads * TASKS_AHEAD_PER_THREAD:
                yield from _delivered(pending.popleft())
        while pending:
            yield from _delivered(pending.popleft())
    except GeneratorExit:  # closed unfinished: by its consumer, or by the garbage collector
        abandoned = True
        raise
    finally:
        # A generator left unfinished (the writer failed: a full disk) is closed by the garbage collector,
        # in whichever thread it runs, even inside threading's own bookkeeping with a lock held that joining
        # a thread takes again: waiting for the threads there deadlocked the process. Abandoned, they are
        # told to stop and end on their own; their rows are not wanted.
        pool.shutdown(wait=not abandoned, cancel_futures=True)


def _made(task: tuple[Pair, ...], make: Callable[[Pair], dict]) -> tuple[list, Optional[Exception]]:
    """The task's (pair, example) up to the first error, and that error (None when all were made)."""
    made = []
    try:
        for pair in task:
            made.append((pair, make(pair)))
    except Exception as error:
        return made, error
    return made, None


def _delivered(future: concurrent.futures.Future) -> Iterator[tuple[Pair, dict]]:
    made, error = future.result()
    yield from made
    if error is not None:
        raise error


def plan(
    spec: DatasetSpec, paths: dict[str, str], config: SceneTextSegConfig, with_unlabeled: Optional[bool] = None
) -> dict[str, list[Pair]]:
    """The pairs of each split a build of `config` gives, from the inputs' listings (nothing is decoded):
    paired by the labels' layout, then divided by the split assignment when the config says so.

    Args:
        spec: the dataset's spec.
        paths: role -> readable input (`readable_inputs`).
        config: the config to plan.
        with_unlabeled: overrides the config's (`inventory` counts every image).

    Returns:
        split -> its pairs, in numeric order.
    """
    unlabeled = config.with_unlabeled if with_unlabeled is None else with_unlabeled
    planned = plan_pairs(spec, paths, unlabeled, config.with_words, config.labels_role)
    if config.assign_splits:
        assignment = spec.split_assignment
        assigned = read_split_assignment(assignment, paths[assignment.role])
        where = os.path.basename(paths[assignment.role]) + (f":{assignment.member}" if assignment.member else "")
        planned = reassign_splits(planned, assigned, where, complete=assignment.complete)
        logger.info(f"splits from {where}: " + ", ".join(f"{split} {len(p)}" for split, p in planned.items()))
    return planned


def check_engine_beside(base_path: Optional[str], builder_cls: type) -> None:
    """Refuse to build with an engine other than the one beside the loading script.

    datasets 3.x passes the folder of the script it was asked to load as `base_path`, and imports one
    module-cache copy for every identical script: in a process that loaded the script of one checkout,
    loading the same script from a second checkout gets the first's module, and with it the first's
    engine. The dataset module's own lines pick the right engine when a process imports it first; this
    catches the one case they cannot see."""
    if not base_path:
        return
    beside, running = (
        os.path.join(os.path.realpath(base_path), "scene_text_seg"),
        os.path.dirname(os.path.realpath(__file__)),
    )
    if os.path.isfile(os.path.join(beside, "__init__.py")) and beside != running:
        raise ImportError(
            f"{builder_cls.SPEC.name}: the script in {base_path} has its engine beside it, {beside}, but this process "
            f"runs the engine in {running} (datasets 3.x reuses the module of an identical "
            f"script loaded before): load it in a new process"
        )


def threads_in_this_process(threads: int) -> int:
    """The example threads for this process: a torch DataLoader worker shares the cores with the other
    workers (each streams its own shards), so it takes its share instead of all of them."""
    worker = dataloader_worker()
    return max(1, threads // worker.num_workers) if worker is not None else threads


@contextlib.contextmanager
def plain_input_errors(cache_folder: str) -> Iterator[None]:
    """`datasets` wraps errors raised while generating; surface ours as they were raised, and a
    write that failed for want of room in `cache_folder` as a CacheFolderFullError naming it.

    A build process translates what it meets itself (see InputErrorFromBuild), and its error
    arrives here whole; an OSError met here comes from this process's own writes after the rows
    (dataset_info.json), which `datasets` does not wrap.

    Args:
        cache_folder: the cache folder to name.

    Raises:
        SceneTextSegError: ours, as raised; CacheFolderFullError for a disk out of room.
    """
    try:
        yield
    except (datasets.exceptions.DatasetGenerationError, OSError) as e:
        error = input_error_in(e)
        if error is None and (full := out_of_space_in(e)) is not None:
            error = cache_folder_full(full, cache_folder)
        if error is None:
            raise
        raise error from None


def check_cache_folder(cache_dir: Optional[str]) -> None:
    """Fail early, naming the folder, when the cache cannot be written (datasets would name a lock file)."""
    folder = os.path.expanduser(cache_dir or datasets.config.HF_DATASETS_CACHE)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise CacheFolderError(
            f"cannot write to the cache folder {folder} ({e.strerror or e}): pass a writable cache_dir (--cache-dir)"
        ) from None


def prepare(
    builder_cls: type[SceneTextSegBuilder],
    data_dir: str,
    config: str = "default",
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
) -> SceneTextSegBuilder:
    """Build (or find in the cache) the Arrow files of one config; returns the ready builder.

    The cache is keyed by the inputs' names and stat identities (`inputs.file_identity`), so an
    input changed in any way is built again, never served from the old Arrow files.

    Args:
        builder_cls: the dataset's builder.
        data_dir: the folder holding the inputs.
        config: the config to build.
        cache_dir: the `datasets` cache folder (default: HF_DATASETS_CACHE).
        num_proc: build processes.
        verification_mode: `"no_checks"` skips the inputs' checksums.

    Returns:
        The builder, its Arrow files complete.

    Raises:
        CacheFolderError: the cache folder cannot be written; CacheFolderFullError (a subclass) when
            it ran out of space during the build (ENOSPC, EDQUOT, or EFBIG for a file-size limit):
            nothing half-written is kept, and a build after that starts over.
        SceneTextSegError: an input is missing or wrong (named).
    """
    check_cache_folder(cache_dir)
    builder = builder_cls(config_name=config, data_dir=str(data_dir), cache_dir=cache_dir)
    with plain_input_errors(builder._cache_dir_root):
        builder.download_and_prepare(num_proc=num_proc, verification_mode=verification_mode)
    return builder


def load(
    builder_cls: type[SceneTextSegBuilder],
    data_dir: str,
    split: Optional[str] = None,
    streaming: bool = False,
    config: str = "default",
    cache_dir: Optional[str] = None,
    num_proc: Optional[int] = None,
    verification_mode: Optional[str] = None,
) -> Union[datasets.DatasetDict, datasets.Dataset, datasets.IterableDatasetDict, datasets.IterableDataset]:
    """What `load_dataset(script, config, data_dir=...)` returns, on any `datasets` version.

    A `DatasetDict` (a `Dataset` when `split` is given); an `IterableDataset(Dict)` when
    streaming, which reads the archives in place and skips checksum verification. Arguments and
    errors as `prepare`'s.
    """
    if streaming:
        builder = builder_cls(config_name=config, data_dir=str(data_dir), cache_dir=cache_dir)
        return builder.as_streaming_dataset(split=split)
    return prepare(builder_cls, data_dir, config, cache_dir, num_proc, verification_mode).as_dataset(split=split)


def inventory(builder_cls: type[SceneTextSegBuilder], data_dir: str) -> dict[str, dict[str, int]]:
    """Images and labels per split, from the archives' listings (nothing is decoded)."""
    spec = builder_cls.SPEC
    config = config_named(builder_cls, builder_cls.DEFAULT_CONFIG_NAME)
    paths = readable_inputs(locate_inputs(spec, data_dir, config.name))
    counts = {}
    for split, pairs in plan(spec, paths, config, with_unlabeled=True).items():
        labelled = sum(pair.label_member is not None for pair in pairs)
        counts[split] = {"images": len(pairs), "labelled": labelled, "unlabeled": len(pairs) - labelled}
    return counts


def config_names(builder_cls: type[SceneTextSegBuilder]) -> tuple[str, ...]:
    return tuple(config.name for config in builder_cls.BUILDER_CONFIGS)


def config_named(builder_cls: type[SceneTextSegBuilder], name: str) -> SceneTextSegConfig:
    """The builder's config of that name (callers pass a name they checked, or the default's)."""
    return next(config for config in builder_cls.BUILDER_CONFIGS if config.name == name)


def config_features(builder_cls: type[SceneTextSegBuilder], name: str) -> datasets.Features:
    """The features of one config, without making a builder."""
    return features(config_named(builder_cls, name).with_words)
