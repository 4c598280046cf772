"""The goals, as data: each figure with a goal names it by key here; the table marks a missed one.

A goal is a bound on a ratio of two things measured in the same run (or on a peak memory in MB). A build's
time is measured against its dataset's floor (`children.child_floor`).
"""

from __future__ import annotations

import dataclasses
import operator
from typing import Optional


@dataclasses.dataclass(frozen=True)
class Goal:
    op: str  # "<=" or ">="
    bound: float

    def met(self, value: float) -> bool:
        return {"<=": operator.le, ">=": operator.ge}[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}" if self.bound >= 10 else f"{self.op} {self.bound:.2f}"


GOALS = {
    # IST_S at its real counts (and 10x)
    "ist_s.build/floor": Goal("<=", 1.10),
    "ist_s.floor/num_proc_2": Goal(">=", 1.6),
    "ist_s.arrow_bytes/member_bytes": Goal("<=", 1.02),
    "ist_s.peak_rss_mb": Goal("<=", 500),
    "ist_s.peak_rss_10x/1x": Goal("<=", 1.10),
    "ist_s.time_10x/10_times_1x": Goal("<=", 1.10),
    "ist_s.indexed/bare": Goal(">=", 0.85),
    "ist_s.streamed/iterated": Goal(">=", 0.8),
    # the training feed against its one-core limit (source, delivery, workers)
    "feed.arrow.float32.0": Goal(">=", 0.85),
    "feed.arrow.uint8.2": Goal(">=", 1.6),
    "feed.streaming.float32.0": Goal(">=", 0.85),
    "feed.streaming.uint8.2": Goal(">=", 1.6),
    "parquet/arrow_stream": Goal(">=", 0.9),
    # COCO_TS at COCO's member count
    "coco_ts.build/floor": Goal("<=", 1.15),
    "coco_ts.floor/num_proc_2": Goal(">=", 1.6),
    "coco_ts.peak_rss_mb": Goal("<=", 500),
    "coco_ts.peak_rss_1x/0.1x": Goal("<=", 1.10),
    "coco_ts.time_1x/ten_0.1x": Goal("<=", 1.10),
    "coco_ts.streamed/iterated": Goal(">=", 0.8),
    # the field's benchmarks
    "textseg.build/floor": Goal("<=", 1.10),
    "evaluate/two_mask_loop": Goal("<=", 1.20),
    # ... whose labels are decoded, not inflated: against reading them and decoding each once with PIL
    "total_text.build/floor": Goal("<=", 1.10),
    "total_text.floor/num_proc_2": Goal(">=", 1.7),
    "icdar13_fst.build/floor": Goal("<=", 1.10),
    "icdar13_fst.floor/num_proc_2": Goal(">=", 1.7),
    # MLT_S (stand-ins of a few hundred pairs in its real layout)
    "mlt_s.build/floor": Goal("<=", 1.10),
}


def row(figure: str, value: float, goal: Optional[str], detail: str) -> dict:
    """One figure of the table; `goal` is a key of GOALS, or None for a figure shown as context."""
    if goal is not None and goal not in GOALS:
        raise KeyError(f"goal {goal!r} is not in benchmarks/goals.py GOALS")
    target = GOALS.get(goal)
    return {
        "figure": figure,
        "value": value,
        "goal_key": goal,
        "goal": str(target) if target else "-",
        "detail": detail,
        "missed": bool(target and not target.met(value)),
    }


def ratio(figure: str, numerator: dict, denominator: dict, goal: Optional[str], key: str = "seconds") -> dict:
    a, b = numerator[key], denominator[key]
    unit = " s" if key == "seconds" else "/s"
    return row(figure, a / b, goal, f"{a:.2f}{unit} / {b:.2f}{unit}")
