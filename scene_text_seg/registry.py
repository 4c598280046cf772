"""The datasets of the family: one line each. The command line, the packaging and every test read it.

A dataset is a module beside this package (`ist_s.py`: its facts, `SPEC`, builder and stand-in
writer), its card (`dataset_card/<name>.md`) and its line here; docs/adding-a-dataset.md says how.
Names only, never imports: the engine does not depend on the datasets, and `setup.py` reads this
file without importing the package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Module name of each dataset, in the order they are listed to users. Its console command is the
# name with dashes (`ist-s`), its cache folder the name itself.
DATASETS = (
    "ist_s",
    "mlt_s",
    "coco_ts",
    "textseg",
    "total_text",
    "icdar13_fst",
)


def command(name: str) -> str:
    """The console command of the dataset module `name`: `ist_s` -> `ist-s`."""
    return name.replace("_", "-")


def dataset_module(name: str) -> ModuleType:
    """The module of a registered dataset (imported on first use)."""
    if name not in DATASETS:
        raise ValueError(f"Unknown value {name!r} for argument name. Valid values are {', '.join(DATASETS)}.")
    return importlib.import_module(name)


def dataset_modules() -> tuple[ModuleType, ...]:
    """Every registered dataset's module, in registry order."""
    return tuple(dataset_module(name) for name in DATASETS)
