"""Write the small Hub export that the other era's tests load: `python tests/make_export_fixtures.py`.

Run it once under datasets 3.6 and once under 5.x; each writes tests/data/exports/datasets-MAJOR/.
Colleagues load a pushed dataset with whatever `datasets` they have, so each era must read the other's.
"""

import os
import shutil
import sys
import tempfile

import datasets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import ist_s  # noqa: E402
from scene_text_seg import synthetic  # noqa: E402

FIXTURE_INPUTS = {"seed": 7, "n_train": 5, "n_test": 3, "words": True}


def fixture_folder(major: int) -> str:
    return os.path.join(HERE, "data", "exports", f"datasets-{major}")


if __name__ == "__main__":
    target = fixture_folder(int(datasets.__version__.split(".")[0]))
    with tempfile.TemporaryDirectory() as tmp:
        synthetic.write_inputs(os.path.join(tmp, "in"), **FIXTURE_INPUTS)
        shutil.rmtree(target, ignore_errors=True)
        ist_s.export(os.path.join(tmp, "in"), target, cache_dir=os.path.join(tmp, "c"), verification_mode="no_checks")
    print(f"wrote {target}")
