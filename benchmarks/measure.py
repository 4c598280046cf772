"""How benchmark figures are taken: each measurement in a fresh child process, runs of the two sides
of a ratio taken in turn (A B A B ...), the best of each kept."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "children.py")


def run_child(name: str, *args) -> dict:
    """Run one measurement in a fresh process; adds its peak RSS in MB."""
    env = {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}  # the table is the output
    process = subprocess.Popen(
        [sys.executable, CHILD_SCRIPT, name, json.dumps(args)], stdout=subprocess.PIPE, text=True, env=env
    )
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"benchmark child {name} failed")
    return json.loads(output.strip().splitlines()[-1])


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def best_of(repeats: int, name: str, *args, fresh_dir: str | None = None) -> dict:
    """The best of `repeats` runs: the fewest seconds, or the most images per second."""
    return best_of_interleaved(repeats, (name, *args), fresh_dir=fresh_dir)[0]


def best_of_interleaved(repeats: int, *runs: tuple, fresh_dir: str | None = None) -> list[dict]:
    """The best of `repeats` runs of each child in `runs` (name and arguments), run in turn (A B A B ...):
    a ratio of two then compares the same minutes of a machine whose speed drifts, where runs taken
    minutes apart can differ by a fifth. `fresh_dir` is emptied before every run (a build's cache), and
    what earlier runs wrote is flushed to disk first (`os.sync`), so no run pays for the one before it:
    a build writes ~1 GB at COCO's count, which the system otherwise writes back during the next run."""
    results: list[list[dict]] = [[] for _ in runs]
    for _ in range(repeats):
        for results_of, (name, *args) in zip(results, runs, strict=True):
            if fresh_dir:
                shutil.rmtree(fresh_dir, ignore_errors=True)
                os.makedirs(fresh_dir)
            if hasattr(os, "sync"):  # not on Windows
                os.sync()
            results_of.append(run_child(name, *args))
    return [min(results_of, key=_slowness) for results_of in results]


def _slowness(result: dict) -> float:
    return result["seconds"] if "seconds" in result else -result["images_per_second"]


def warm(data_dir: str) -> None:
    for name in os.listdir(data_dir):
        with open(os.path.join(data_dir, name), "rb") as f:
            while f.read(1 << 24):
                pass
