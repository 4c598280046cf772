"""Speed, memory and streaming benchmarks on realistic stand-ins; prints one table, flagging misses.

    python benchmarks/run.py [--scale10] [--coco] [--textseg] [--total-text] [--icdar13] [--evaluate] [--mlt]
                             [--no-ist-s] [--repeats 3] [--workdir DIR] [--keep] [--json PATH]

Every figure is a ratio of two things measured in the same run, since machines are noisy; the runs
behind a ratio with a goal are mostly taken in turn (A B A B ...), best of each. Timed parts run
after a warm-up read, in fresh child processes (`children.py`; peak RSS: each child's own,
`VmHWM`). Stand-ins are written to a temporary folder (progress on stderr) and removed at the end
unless --keep. The modules: `children` (what a child measures), `measure` (how runs are taken),
`goals` (the goals, as data), `figures` (what is compared with what), `report` (the table, as text
and as the docs' Markdown, from the JSON `--json` writes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from importlib.metadata import version

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import field, report
from benchmarks.figures import _synthetic, coco_figures, ist_s_figures, mlt_figures
from benchmarks.measure import progress, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="where stand-ins are written (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the stand-ins (and reuse them next time)")
    parser.add_argument("--scale10", action="store_true", help="also measure IST_S at 10x the pairs")
    parser.add_argument("--coco", action="store_true", help="also measure COCO_TS at its real member count")
    parser.add_argument("--textseg", action="store_true", help="also measure TextSeg's build at its count")
    parser.add_argument("--total-text", action="store_true", help="also measure Total-Text's build at its count")
    parser.add_argument("--icdar13", action="store_true", help="also measure ICDAR 2013 FST's build at its count")
    parser.add_argument("--evaluate", action="store_true", help="also measure evaluate on 1,000 predictions")
    parser.add_argument("--mlt", action="store_true", help="also measure MLT_S (stand-ins of --mlt-pairs pairs)")
    parser.add_argument("--no-ist-s", action="store_true", help="leave out IST_S's own figures (the others alone)")
    parser.add_argument("--mlt-pairs", type=int, default=400, help="pairs of the MLT_S stand-ins (default 400)")
    parser.add_argument("--rows", type=int, default=300, help="rows for the decoded-iteration figures")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help=f"also write the run as JSON here (the docs' table: {report.LAST_RUN})")
    args = parser.parse_args()
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="scene_text_seg_bench_")
    try:
        scratch = os.path.join(args.workdir, "scratch")
        table = [] if args.no_ist_s else ist_s_figures(args, ist_s_stand_ins(args.workdir), scratch)
        if args.coco:
            table += coco_figures(args, scratch)
        if args.textseg:
            table += field.textseg_figures(args, scratch)
        if args.total_text:
            table += field.decoded_figures(args, scratch, "total_text")
        if args.icdar13:
            table += field.decoded_figures(args, scratch, "icdar13_fst")
        if args.evaluate:
            table += field.evaluate_figures(args, scratch)
        if args.mlt:
            table += mlt_figures(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        else:
            shutil.rmtree(os.path.join(args.workdir, "scratch"), ignore_errors=True)

    run = {
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0], "datasets": version("datasets")},
        "figures": table,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(run, f, indent=1)
            f.write("\n")
    print(report.text_table(run))


def ist_s_stand_ins(workdir: str) -> str:
    """IST_S's stand-ins at its counts, written once into `workdir` and read through once (warm)."""
    data = os.path.join(workdir, "ist_s_x1")
    if not os.path.exists(os.path.join(data, "IST_Segmentation_labels.zip")):
        progress(f"writing IST_S stand-ins to {data}")
        _synthetic().write_stand_ins(data, progress=progress)
    warm(data)
    return data


if __name__ == "__main__":
    main()
