"""The lines at the top of every dataset module that find the engine, kept here once and written into each.

They run before the engine can be imported, so they cannot live in it as a function: `datasets` 3.x runs a
copy of a loading script from its modules cache (one copy for identical scripts, which two checkouts
share), and these lines find the engine beside the script the user named, not beside the copy. Each
dataset module holds them verbatim between `# ---- The engine` and the `scene_text_seg.api` import:

    python -m scene_text_seg.engine_lines            # write them into every registered dataset module
    python -m scene_text_seg.engine_lines my_set.py  # ... and into a new one
    python -m scene_text_seg.engine_lines --check    # exit 1 naming each module whose lines differ

`tests/test_registry.py` runs the check.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import registry

START = "# ---- The engine"
END = "from scene_text_seg.api import *"

LINES = '''\
# ---- The engine, found beside this file (written by `python -m scene_text_seg.engine_lines`: edit them there) ----


def _engine_folder() -> str:
    """The folder whose `scene_text_seg/` belongs with this file: the folder this file was loaded from.

    Imported as a module, that is this file's own folder. datasets 3.x runs a loading script from a copy
    in its modules cache, one copy for all identical scripts, so the copy's folder (and the `.json` beside
    it, which names whichever original came first) may belong to another checkout. The folder of the
    script this load names reaches the builder as `base_path`, held by the `DatasetModule` of the
    datasets frame that imports the copy (3.x is the last series that runs scripts: this does not move).
    """
    frame = sys._getframe(1)
    while frame is not None:
        kwargs = getattr(frame.f_locals.get("dataset_module"), "builder_kwargs", None)
        if isinstance(kwargs, dict) and kwargs.get("base_path"):
            return os.path.realpath(kwargs["base_path"])
        frame = frame.f_back
    return os.path.dirname(os.path.realpath(__file__))


def _import_engine() -> ModuleType:
    """The engine beside this file; the installed one, said in a log line, when there is none beside it.

    Imported inside a function on purpose: datasets 3.x reads a script's unindented import lines as
    PyPI requirements and would refuse a checkout that was never `pip install`ed.
    """
    folder = _engine_folder()
    beside = os.path.isfile(os.path.join(folder, "scene_text_seg", "__init__.py"))
    loaded = sys.modules.get("scene_text_seg")
    if beside and loaded is not None and os.path.dirname(os.path.dirname(os.path.realpath(loaded.__file__))) != folder:
        raise ImportError(
            f"{__name__} from {folder} needs the engine beside it, {os.path.join(folder, 'scene_text_seg')}, but this "
            f"process already runs the one in {os.path.dirname(loaded.__file__)}: load it in a new process"
        )
    if beside and sys.path[:1] != [folder]:
        sys.path.insert(0, folder)  # first, so that no other copy of the engine on the path is taken
    import scene_text_seg

    engine = os.path.dirname(os.path.realpath(scene_text_seg.__file__))
    if beside and os.path.dirname(engine) != folder:
        raise ImportError(f"{__name__} from {folder} needs the engine beside it, but {engine} was imported")
    if not beside:
        logging.getLogger(f"datasets.{__name__}").info(f"no engine beside {folder}: using the installed one, {engine}")
    return scene_text_seg


scene_text_seg = _import_engine()
if scene_text_seg:  # always; indented because datasets 3.x reads unindented imports as requirements (see above)
    from scene_text_seg.api import *  # noqa: F403 (constants, errors, training helpers: scene_text_seg/api.py)
'''


def checkout_modules() -> list[str]:
    """The path of every registered dataset module of the checkout this engine belongs to."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [os.path.join(root, f"{name}.py") for name in registry.DATASETS]


def with_lines(source: str, path: str) -> str:
    """`source` with its engine lines replaced by `LINES`; a ValueError naming `path` if it has none."""
    start = source.find(START)
    end = source.find(END, max(start, 0))
    if start < 0 or end < 0 or not source[:start].endswith("\n"):
        raise ValueError(f"{path}: expected the engine lines, from a line starting {START!r} to {END!r}; found none")
    end = source.find("\n", end)
    end = len(source) if end < 0 else end + 1
    return source[:start] + LINES + source[end:]


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the engine lines of the registered dataset modules and of PATHs."""
    parser = argparse.ArgumentParser(prog="python -m scene_text_seg.engine_lines", description=main.__doc__)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="a dataset module not yet registered")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a module differs")
    if argv is not None and not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv: expected a list of strings, e.g. ['--check'], got {argv!r}")
    args = parser.parse_args(argv)
    differ = []
    for path in dict.fromkeys([*checkout_modules(), *args.paths]):
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            wanted = with_lines(source, path)
        except OSError as e:
            parser.exit(2, f"error: {path}: cannot be read ({e.strerror or e})\n")
        except ValueError as e:
            parser.exit(2, f"error: {e}\n")
        if wanted == source:
            continue
        differ.append(path)
        if not args.check:  # written beside and moved into place: a module is never left half-written
            with open(f"{path}.partial", "w", encoding="utf-8") as f:
                f.write(wanted)
            os.replace(f"{path}.partial", path)
    verb = "differ: run `python -m scene_text_seg.engine_lines`" if args.check else "written"
    for path in differ:
        print(f"{path}: engine lines {verb}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
