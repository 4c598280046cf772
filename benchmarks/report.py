"""The table of a run, from the JSON `run.py` writes: as text for the terminal, as Markdown for the docs.

    python benchmarks/report.py benchmarks/last_run.json [--markdown]

docs/performance.md holds the Markdown table of `benchmarks/last_run.json` between two markers; a
test checks that it is what this renders (`python benchmarks/report.py --write-docs` rewrites it).
"""

from __future__ import annotations

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
LAST_RUN = os.path.join(HERE, "last_run.json")
DOCS_PAGE = os.path.join(os.path.dirname(HERE), "docs", "performance.md")
BEGIN, END = "<!-- table of benchmarks/last_run.json: begin -->", "<!-- table of benchmarks/last_run.json: end -->"


def machine_line(run: dict) -> str:
    machine = run["machine"]
    return f"machine: {machine['cores']} cores, Python {machine['python']}, datasets {machine['datasets']}"


def text_table(run: dict) -> str:
    lines = [f"$ {run['command']}", machine_line(run), f"{'figure':58} {'value':>8}  {'goal':9} detail"]
    for f in run["figures"]:
        missed = "   <-- MISSED" if f["missed"] else ""
        lines.append(f"{f['figure']:58} {f['value']:8.2f}  {f['goal']:9} {f['detail']}{missed}")
    misses = sum(f["missed"] for f in run["figures"])
    lines.append(f"{misses} figure(s) missed their goal" if misses else "every figure met its goal")
    return "\n".join(lines)


def markdown_table(run: dict) -> str:
    rows = [
        f"`{run['command']}` ({machine_line(run)[len('machine: ') :]}, {run['date']})",
        "",
        "| figure | value | goal | detail |",
        "|---|---:|---|---|",
    ]
    for f in run["figures"]:
        figure = f["figure"].strip().replace("|", "\\|")
        indent = "&nbsp;&nbsp;" if f["figure"].startswith(" ") else ""
        value = f"**{f['value']:.2f}** (missed)" if f["missed"] else f"{f['value']:.2f}"
        goal = f["goal"].replace("<", "&lt;").replace(">", "&gt;")
        rows.append(f"| {indent}{figure} | {value} | {goal} | {f['detail'].replace('|', '/')} |")
    return "\n".join(rows)


def docs_block(run: dict) -> str:
    return f"{BEGIN}\n{markdown_table(run)}\n{END}"


def with_table(page: str, run: dict) -> str:
    """The docs page with its table block replaced by the table of `run`."""
    start, end = page.index(BEGIN), page.index(END) + len(END)
    return page[:start] + docs_block(run) + page[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="?", default=LAST_RUN)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the table in {DOCS_PAGE}")
    args = parser.parse_args()
    with open(args.json, encoding="utf-8") as f:
        run = json.load(f)
    if args.write_docs:
        with open(DOCS_PAGE, encoding="utf-8") as f:
            page = f.read()
        with open(DOCS_PAGE, "w", encoding="utf-8") as f:
            f.write(with_table(page, run))
        return
    print(markdown_table(run) if args.markdown else text_table(run))


if __name__ == "__main__":
    main()
