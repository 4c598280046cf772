"""What pyproject.toml cannot say statically: one module and one console command per registered dataset.

The registry (`scene_text_seg/registry.py`) is read as text, not imported: the build has none of the
package's dependencies.
"""

import ast
import os

from setuptools import setup


def registered_datasets() -> tuple[str, ...]:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scene_text_seg", "registry.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["DATASETS"]:
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError(f"{path}: no DATASETS = (...) line")


DATASETS = registered_datasets()
setup(
    py_modules=list(DATASETS),
    entry_points={"console_scripts": [f"{name.replace('_', '-')} = {name}:main" for name in DATASETS]},
)
