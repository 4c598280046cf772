"""The labels' layout, detected from folder names, and the image + label pairs of each split."""

from __future__ import annotations

import copy
import dataclasses
import lzma
import math
import pickle
import re
import zipfile
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from typing import Optional

import datasets

from .errors import InvalidInputError
from .inputs import Source, printable, some
from .spec import (
    ICDAR_WORD_FILES,
    CharacterColours,
    DatasetSpec,
    LabelDecoder,
    LabelFiles,
    WordFilesPerImage,
    WordsFile,
)
from .words import empty_words

logger = datasets.utils.logging.get_logger(f"datasets.{__name__}")

PAIRS_PER_SHARD = 64  # ~10 MB of JPEGs: 16 train / 8 test shards on the full IST_S
# What may follow a split word inside one folder-name word: "trainset", "testlabels", "TrainingSet".
SPLIT_WORD_SUFFIXES = ("", "set", "sets", "data", "label", "labels", "gt", "mask", "masks", "map", "maps", "images")


def is_junk(member: str) -> bool:
    """macOS resource forks, dot-files and the like: never data."""
    member = member.replace("\\", "/")
    # Most names are told by three substring tests (COCO's 82,783 are listed when planning): a part starts
    # with "." only where the name does or holds "/.", and is "__MACOSX" only where the name holds it.
    if not member.startswith(".") and "/." not in member and "__MACOSX" not in member:
        return False
    return any(part.startswith(".") or part == "__MACOSX" for part in member.split("/"))


def _splits_named_by(folder: str, split_words: Mapping[str, str]) -> set[str]:
    # Words of a folder name: split at non-letters and at camelCase humps ("TrainingSet" -> training, set).
    words = re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", folder).lower())
    return {
        split
        for word in words
        for name, split in split_words.items()
        if word.startswith(name) and word[len(name) :] in SPLIT_WORD_SUFFIXES
    }


def split_of(member: str, split_words: Mapping[str, str]) -> Optional[str]:
    """The split a label belongs to, from the folders in its path; None if none or several."""
    folders = member.replace("\\", "/").split("/")[:-1]
    named = set().union(*(_splits_named_by(folder, split_words) for folder in folders))
    return named.pop() if len(named) == 1 else None


def stem(member: str) -> str:
    """The file name without its extension, as `os.path.splitext` cuts it (leading dots are no extension),
    in string methods: this runs for every member of a listing (0.3 us a name where slicing at `rfind`s
    took 0.8)."""
    name = member.rpartition("/")[2]
    if "\\" in name:
        name = name.rpartition("\\")[2]
    base = name.rpartition(".")[0]
    return base if base.strip(".") else name


NUMBERS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """img_2 before img_10: numeric order, never the archive's listing order."""
    return tuple(int(part) if part.isdecimal() else part for part in NUMBERS.split(name.lower()))


def is_data_file(member: str, extensions: tuple[str, ...]) -> bool:
    return not is_junk(member) and member.lower().endswith(extensions)


# Archives a download may hold inside itself (a zip zipped again): nothing in them is read.
NESTED_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".rar", ".7z")


def refuse_nested_archive(source: Source, member: str) -> None:
    """An archive inside an input (double-zipped downloads hold one) is an error naming it: the images
    or labels in it would otherwise be missing from the build without a word. Junk is never refused.

    Raises:
        InvalidInputError: `member` is an archive (.zip, .tar, .tar.gz, .tgz, .rar, .7z, any case).
    """
    if member.lower().endswith(NESTED_ARCHIVES) and not is_junk(member):
        raise InvalidInputError(
            f"{source.where(member)}: an archive inside {source.label}, whose files are not read: "
            f"extract it and pass the inner archive or folder in place of {source.label}"
        )


def labels_by_split(
    labels: Source,
    splits: tuple[str, ...],
    split_words: Mapping[str, str],
    suffix: str = "",
    files: Optional[LabelFiles] = None,
) -> dict[str, dict]:
    """Detect the labels' layout: label files at any depth, the split named by a folder on the path (a source
    of one split takes every label, whatever its folders are called).

    Args:
        labels: the labels input.
        splits: the splits it holds labels of.
        split_words: folder word -> split.
        suffix: a label's stem is its image's stem and this (TextSeg's `a00004_maskfg.png`), when `files`
            is not given.
        files: how labels are named after their images (prefix, suffix, extensions: ICDAR 2013's
            `gt_img_1.png` and `100_GT.bmp`, Total-Text's `img61.JPG`); PNGs named `<image>{suffix}.png`
            when None. Files of those extensions named otherwise are counted and passed over.

    Returns:
        split -> lower-cased image stem -> label member.

    Raises:
        InvalidInputError: a label whose split no folder names, a split with no label, or two labels of one
            image (names compared ignoring case).
    """
    files = files or LabelFiles(suffix=suffix)
    extensions = tuple(extension.lower() for extension in files.extensions)
    by_split: dict[str, list[tuple[str, str]]] = {split: [] for split in splits}  # (image stem, label member)
    undetermined, other = [], 0
    for member in labels.members():
        if is_junk(member) or not member.lower().endswith(extensions):
            refuse_nested_archive(labels, member)
            continue
        image_stem = label_image_stem(member, files)
        if image_stem is None:
            other += 1
            continue
        split = splits[0] if len(splits) == 1 else split_of(member, split_words)
        if split is None:
            undetermined.append(member)
        else:
            by_split[split].append((image_stem.lower(), member))
    if other:
        logger.info(f"{labels.label}: passed over {other} file(s) not named {files.pattern}")
    if undetermined:
        shown = some(labels.where(m) for m in undetermined)
        words = "/".join(split_words)
        raise InvalidInputError(
            f"cannot tell the split of {len(undetermined)} label(s): {shown}. Expected each label under a folder "
            f"naming its split ({words}), e.g. labels/{splits[0]}/img_1.png"
        )
    for split, members in by_split.items():
        if not members:
            named = f"named {files.pattern}" if files.prefix or files.suffix or extensions != (".png",) else ""
            raise InvalidInputError(
                f"{labels.path} holds no {split} labels: expected "
                + (f"files {named}" if named else "PNGs")
                + (f" under a folder naming the {split} split" if len(splits) > 1 else "")
            )
    return {split: labels_by_image(found, labels.where) for split, found in by_split.items()}


def stem_between(name: str, prefix: str, suffix: str) -> Optional[str]:
    """`name` without `prefix` and `suffix` (compared ignoring case); None when it lacks either, or when
    nothing is left between them."""
    lowered = name.lower()
    if len(name) <= len(prefix) + len(suffix) or not (
        lowered.startswith(prefix.lower()) and lowered.endswith(suffix.lower())
    ):
        return None
    return name[len(prefix) : len(name) - len(suffix)]


def label_image_stem(member: str, files: LabelFiles) -> Optional[str]:
    """The stem of the image a label file belongs to (`gt_img_12.png` -> `img_12`, `100_GT.bmp` -> `100`),
    None for a file not named as `files` says (prefix and suffix compared ignoring case)."""
    return stem_between(stem(member), files.prefix, files.suffix)


def labels_by_image(labels: Iterable[tuple[str, str]], where: Callable[[str], str]) -> dict[str, str]:
    """Lower-cased image stem -> label member, from (lower-cased image stem, label member); two labels of one
    image (`img61.jpg` and `img61.JPG`) are an error."""
    found: dict[str, str] = {}
    for key, member in labels:
        if key in found:
            raise _same_name_error(found[key], member, where)
        found[key] = member
    return found


def _same_name_error(first: str, again: str, where: Callable[[str], str]) -> InvalidInputError:
    """Two files of one input whose stems differ only by case (`img61.jpg` and `img61.JPG`), named by `where`."""
    return InvalidInputError(
        f"two files share the name {stem(again)!r} (ignoring case): {where(first)} and {where(again)}"
    )


def label_tables(labels: Source, members: Iterable[str], extension: str) -> dict[str, str]:
    """Label member -> the member beside it holding its table (the same name with `extension`, any case: ICDAR
    2013's `100_GT.bmp` -> `100_GT.txt`), from the listing; labels without one are one error naming them."""
    beside = {
        member.rsplit(".", 1)[0].lower(): member
        for member in labels.members()
        if member.lower().endswith(extension.lower())
    }
    tables, missing = {}, []
    for member in members:
        table = beside.get(member.rsplit(".", 1)[0].lower())
        if table is None:
            missing.append(member)
        else:
            tables[member] = table
    if missing:
        shown = some(labels.where(m) for m in sorted(missing, key=natural_key))
        raise InvalidInputError(
            f"{len(missing)} label(s) have no colour table beside them (the same name ending in {extension}): {shown}"
        )
    return tables


def image_stem(member: str, word_files: WordFilesPerImage = ICDAR_WORD_FILES) -> Optional[str]:
    """The stem of the image a word file describes (`gt_img_12.txt` -> `img_12`), None for a file not
    named as `word_files` says."""
    return stem_between(member.replace("\\", "/").rsplit("/", 1)[-1], word_files.prefix, word_files.suffix)


def words_by_image(source: Source, word_files: WordFilesPerImage = ICDAR_WORD_FILES) -> dict[str, str]:
    """Lower-cased image stem -> word-file member, for every file of `source` named as `word_files` says."""
    found: dict[str, str] = {}
    for member in source.members():
        key = None if is_junk(member) else image_stem(member, word_files)
        if key is None:
            continue
        if key.lower() in found:
            raise InvalidInputError(
                f"two word files describe the image {key!r} (ignoring case): {source.where(found[key.lower()])} "
                f"and {source.where(member)}"
            )
        found[key.lower()] = member
    return found


def pair_words(
    split: str, images: dict[str, str], words: dict[str, str], source: Source, word_files: WordFilesPerImage
) -> dict[str, str]:
    """Image stem -> its ground-truth member; an image without one, or one without an image, is an error."""
    without_words = sorted(set(images) - set(words), key=natural_key)
    if without_words:
        shown = some(printable(images[s]) for s in without_words)
        raise InvalidInputError(
            f"{len(without_words)} {split} image(s) have no word file ({word_files.prefix}<image>{word_files.suffix}) "
            f"in {source.label}: {shown}"
        )
    orphans = sorted(set(words) - set(images), key=natural_key)
    if orphans:
        shown = some(source.where(words[s]) for s in orphans)
        raise InvalidInputError(f"{len(orphans)} {split} word file(s) describe no image of the split: {shown}")
    return words


@dataclasses.dataclass(frozen=True)
class Pair:
    image_id: str
    image_member: str
    label_member: Optional[str]
    words_member: Optional[str] = None  # its ICDAR word file, for configs with words
    image_role: str = ""  # which input holds the image, when a split's images span several archives
    words_script: bool = False  # its word file's lines carry a script (ICDAR 2017 MLT)
    # Its words, on the raw grid, when a dataset gives every image's words in one file (read once, when planning)
    words: Optional[dict] = dataclasses.field(default=None, compare=False)
    # How its label is decoded, for a split whose labels have their own (DatasetSpec.split_labels); None: the
    # dataset's `label_values`. And the member beside the label holding its colour table (CharacterColours).
    label_decoder: Optional[LabelDecoder] = dataclasses.field(default=None, compare=False)
    label_table: Optional[str] = None


def images_by_stem(
    images: dict[str, Source], extensions: tuple[str, ...], wanted: Optional[Container[str]] = None
) -> tuple[dict[str, tuple[str, str]], int]:
    """Lower-cased stem -> (role, member) over every image archive of a split, a stem twice being an
    error, and how many images were left out. With `wanted`, only those stems are kept (and checked):
    a build without unlabelled images never holds the others (68,093 of COCO's 82,783)."""
    found: dict[str, tuple[str, str]] = {}
    left_out = 0
    for role, source in images.items():
        by_stem: dict[str, str] = {}
        twice = None  # the first stem named twice: an error once the whole listing has been checked
        # One name at a time, lower-cased once (is_data_file and stem, inlined: this runs for every name)
        for member in source.members():
            lowered = member.lower()
            if not lowered.endswith(extensions) or is_junk(member):
                if lowered.endswith(NESTED_ARCHIVES):
                    refuse_nested_archive(source, member)
                continue
            key = stem(lowered)  # the lower-cased stem: case changes no '/', '\\' or '.'
            if wanted is not None and key not in wanted:  # most of a large listing
                left_out += 1
            elif key in by_stem:
                twice = twice or (by_stem[key], member)
            else:
                by_stem[key] = member
        if twice:
            raise _same_name_error(*twice, source.where)
        for key, member in by_stem.items():
            if key in found:
                first = images[found[key][0]].where(found[key][1])
                raise InvalidInputError(
                    f"two images share the name {stem(member)!r} (ignoring case): {first} and {source.where(member)}"
                )
            found[key] = (role, member)
    return found, left_out


def plan_split(
    split: str,
    images: dict[str, Source],
    labels: dict[str, str],
    with_unlabeled: bool,
    extensions: tuple[str, ...],
    words: Optional[Source] = None,
    words_script: bool = False,
    words_file: Optional[WordsFile] = None,
    word_files: WordFilesPerImage = ICDAR_WORD_FILES,
) -> list[Pair]:
    """Pair images (from one or several archives, by role) with labels (and word files) by stem within
    one split, in numeric order. Only listings are read, and a `words_file` (every image's words in one file)."""
    # Word files describe every image, labelled or not: with them, every image is paired first. One words
    # file for all (COCO-Text) annotates far more images than are labelled: only the paired ones are wanted.
    per_image_words = words is not None and words_file is None
    wanted = None if with_unlabeled or per_image_words else labels
    image_by_stem, left_out = images_by_stem(images, extensions, wanted)
    words_by_stem: dict[str, str] = {}
    given_words: dict[str, dict] = {}
    if per_image_words:
        members = {key: member for key, (_, member) in image_by_stem.items()}
        words_by_stem = pair_words(split, members, words_by_image(words, word_files), words, word_files)
    elif words is not None:
        given_words = read_words_file(words, words_file, image_by_stem if with_unlabeled else labels)
    orphans = sorted(set(labels) - set(image_by_stem), key=natural_key)
    if orphans:
        shown = some(printable(labels[s]) for s in orphans)
        where = ", ".join(source.label for source in images.values())
        raise InvalidInputError(f"{len(orphans)} {split} label(s) have no image of the same name in {where}: {shown}")
    pairs = [
        Pair(
            stem(member),
            member,
            labels.get(key),
            words_by_stem.get(key),
            role,
            words_script=words_script and per_image_words,
            words=given_words.get(key, empty_words()) if words is not None and not per_image_words else None,
        )
        for key, (role, member) in image_by_stem.items()
        if with_unlabeled or key in labels
    ]
    unlabeled = left_out + len(image_by_stem) - len(labels)
    if unlabeled and not with_unlabeled:
        logger.info(f"{split}: skipped {unlabeled} image(s) without a label")
    return sorted(pairs, key=lambda pair: natural_key(pair.image_id))


def plan_pairs(
    dataset: DatasetSpec,
    paths: dict[str, str],
    with_unlabeled: bool,
    with_words: bool = False,
    labels_role: Optional[str] = None,
) -> dict[str, list[Pair]]:
    """The pairs of every split, from the archives' listings (nothing is decoded); each split's labels from
    the input its `DatasetSpec.label_files_of` names (`labels_role`: a config's other labels input, TextSeg's
    `v1`). One input holding several splits' images or word files (Total-Text's `Images/Train` and
    `Images/Test`) is divided by the split each folder names, as the labels are."""
    label_files = {split: dataset.label_files_of(split, labels_role) for split in dataset.split_images}
    labels_per_split: dict[str, dict[str, str]] = {}
    for role in dict.fromkeys(files.role for files in label_files.values()):
        splits = tuple(split for split, files in label_files.items() if files.role == role)
        found = labels_by_split(Source(paths[role]), splits, dataset.split_words, files=label_files[splits[0]])
        labels_per_split.update(found)
    shared = shared_roles([*(role for roles in dataset.split_images.values() for role in set(roles))])
    shared_words = shared_roles([dataset.words_roles[split] for split in dataset.split_images if with_words])
    planned = {}
    for split, roles in dataset.split_images.items():
        images = {
            role: SplitFolder(Source(paths[role]), split, dataset.split_words, dataset.image_extensions)
            if role in shared
            else Source(paths[role])
            for role in roles
        }
        words = None
        if with_words:
            role = dataset.words_roles[split]
            words = Source(paths[role])
            if role in shared_words:
                words = SplitFolder(words, split, dataset.split_words, (dataset.word_files.suffix,))
        pairs = plan_split(
            split,
            images,
            labels_per_split[split],
            with_unlabeled,
            dataset.image_extensions,
            words,
            dataset.words_script,
            dataset.words_file,
            dataset.word_files,
        )
        if split in dataset.split_labels:  # the pairs carry their labels' own decoder (and its tables)
            planned[split] = with_decoder(pairs, label_files[split], Source(paths[label_files[split].role]))
        else:
            planned[split] = pairs
    return planned


def shared_roles(roles: list[str]) -> set[str]:
    """The roles named more than once: inputs holding the files of several splits."""
    return {role for role in roles if roles.count(role) > 1}


def with_decoder(pairs: list[Pair], files: LabelFiles, labels: Source) -> list[Pair]:
    """The pairs, each labelled one carrying `files.decoder` and, for a decoder reading a table beside each label
    (ICDAR 2013's colour tables), that table's member (all of them checked present now, from the listing)."""
    members = [pair.label_member for pair in pairs if pair.label_member is not None]
    decoder = files.decoder
    tables = label_tables(labels, members, decoder.table_extension) if isinstance(decoder, CharacterColours) else {}
    return [
        dataclasses.replace(pair, label_decoder=decoder, label_table=tables.get(pair.label_member))
        if pair.label_member is not None
        else pair
        for pair in pairs
    ]


class SplitFolder:
    """The members of an input that lie under a folder naming one split, for an input holding the files of
    several splits (Total-Text's `Images/Train` and `Images/Test`); a data file (one of `extensions`) under no
    folder naming a split, or under folders naming several, is an error naming it, never dropped silently.
    Everything else is the input's own (`where`, `read`, `label`, ...)."""

    def __init__(self, source: Source, split: str, split_words: Mapping[str, str], extensions: tuple[str, ...]):
        self.source, self.split, self.split_words = source, split, split_words
        self.extensions = tuple(extension.lower() for extension in extensions)

    def members(self) -> Iterator[str]:
        undetermined = []
        for member in self.source.members():
            split = split_of(member, self.split_words)
            if split == self.split:
                yield member
            elif split is None and is_data_file(member, self.extensions):
                undetermined.append(member)
        if undetermined:
            shown = some(self.source.where(m) for m in undetermined)
            raise InvalidInputError(
                f"cannot tell the split of {len(undetermined)} file(s) of {self.source.label}: {shown}. Expected each "
                f"under a folder naming its split ({'/'.join(self.split_words)}), e.g. Train/img1.jpg"
            )

    def __getattr__(self, name: str) -> object:
        return getattr(self.source, name)


def read_words_file(source: Source, words_file: WordsFile, wanted: Container[str]) -> dict[str, dict]:
    """Lower-cased image stem -> its words, from the one annotation file (at any depth) of `source`."""
    name = words_file.member
    members = [m for m in source.members() if not is_junk(m) and m.replace("\\", "/").rsplit("/", 1)[-1] == name]
    if len(members) != 1:
        found = some(source.where(m) for m in members)
        raise InvalidInputError(
            f"{source.label}: expected one {name}, found {len(members)}" + (f": {found}" if found else "")
        )
    where = source.where(members[0])
    try:
        with source.open(members[0]) as stream:
            return words_file.read(stream, where, wanted)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as e:
        raise InvalidInputError(f"{where}: cannot be read ({printable(str(e))})") from None


def reassign_splits(
    planned: dict[str, list[Pair]], assigned: dict[str, str], source: str, complete: bool = False
) -> dict[str, list[Pair]]:
    """The pairs divided anew by an external assignment (lower-cased image stem -> split), in the
    assignment's split order; pairs it does not name are counted and logged, never dropped silently.

    Args:
        planned: the labelled pairs, by the split the labels' layout gave them.
        assigned: lower-cased image stem -> split, as the assignment file reads.
        source: how messages name the assignment file, e.g. "cocotext.v2.zip:cocotext.v2.json".
        complete: every image the assignment names must be among the pairs (a benchmark's split file).

    Returns:
        split -> its pairs in numeric order, for every split the assignment names.

    Raises:
        InvalidInputError: no pair is named by the assignment (it is not the file for these images), or
            a split it names would hold no pair, or (`complete`) an image it names has no pair.
    """
    splits: dict[str, list[Pair]] = {split: [] for split in dict.fromkeys(assigned.values())}
    unassigned = []
    for pair in (pair for pairs in planned.values() for pair in pairs):
        split = assigned.get(pair.image_id.lower())
        (splits[split] if split is not None else unassigned).append(pair)
    labelled = len(unassigned) + sum(map(len, splits.values()))
    if len(unassigned) == labelled:
        raise InvalidInputError(
            f"{source}: none of the {labelled} labelled image(s) ({some([p.image_id for p in unassigned], 3)}) is in "
            f"its splits, which name {len(assigned):,} other image(s) ({some(sorted(assigned)[:3], 3)}): "
            f"is it the split file for these images?"
        )
    empty = [split for split, pairs in splits.items() if not pairs]
    if empty:
        held = ", ".join(f"{len(pairs)} in {split}" for split, pairs in splits.items() if pairs)
        raise InvalidInputError(
            f"{source}: puts none of the {labelled} labelled image(s) in {' or '.join(empty)} ({held}, "
            f"{len(unassigned)} in no split): expected every split it names to hold some"
        )
    if complete:
        paired = {pair.image_id.lower() for pairs in splits.values() for pair in pairs}
        absent = sorted((stem for stem in assigned if stem not in paired), key=natural_key)
        if absent:
            shown = some(f"{stem} ({assigned[stem]})" for stem in absent)
            raise InvalidInputError(
                f"{source}: names {len(absent)} image(s) that have no image and label pair in the inputs: {shown}"
            )
    if unassigned:
        shown = some(pair.image_id for pair in unassigned)
        logger.warning(f"{len(unassigned)} labelled image(s) are in no split of {source}, so in no split here: {shown}")
    return {split: sorted(pairs, key=lambda pair: natural_key(pair.image_id)) for split, pairs in splits.items()}


def shard_count(rows: int) -> int:
    """Shards for a split of `rows`: about PAIRS_PER_SHARD each, at least 2 when possible, so
    num_proc, DataLoader workers and nodes all have work."""
    return min(rows, max(2, math.ceil(rows / PAIRS_PER_SHARD)))


class Shard(tuple):
    """A run of a split's pairs: what datasets hands to one build process or streaming worker.

    It pickles as one blob of the standard library's C pickler. datasets sends each build process its
    shards with dill, whose pure-Python pickler took 0.38 s for each of COCO_TS's two jobs (14,690 pairs),
    one job after the other, while the processes waited; this way it takes 0.01 s. Pairs holding what only
    dill can pickle (a lambda in a decoder) are left to the pickler at hand, pair by pair.
    """

    __slots__ = ()

    def __reduce__(self):
        try:
            blob = pickle.dumps(tuple(self), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # what the C pickler cannot pickle, whatever it raises (PicklingError, TypeError, ...)
            return Shard, (tuple(self),)
        return _unpickled_shard, (blob,)

    def __copy__(self) -> Shard:
        return self  # immutable, as a tuple is: `copy.copy` would otherwise pickle it through __reduce__

    def __deepcopy__(self, memo: dict) -> Shard:
        return Shard(copy.deepcopy(pair, memo) for pair in self)


def _unpickled_shard(blob: bytes) -> Shard:
    return Shard(pickle.loads(blob))


def shard(pairs: list[Pair]) -> list[Shard]:
    """Contiguous shards (see `shard_count`)."""
    count = shard_count(len(pairs))
    return [Shard(pairs[i * len(pairs) // count : (i + 1) * len(pairs) // count]) for i in range(count)]
