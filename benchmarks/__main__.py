"""``python -m benchmarks [--quick] [--only NAME ...] [--markdown PATH]``: print every table.

Exits 1 only when a scenario crashes (its traceback is printed and the others still run);
missed targets are reported in the tables, not through the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import time
import traceback
from pathlib import Path

from benchmarks import SCENARIOS
from benchmarks.environment import isolate_airflow, machine_description
from benchmarks.report import Table, render_markdown, render_text


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The command line.

    :param argv: arguments after the program name.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, well under a minute (CI)")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, metavar="NAME", help=f"run only these: {SCENARIOS}"
    )
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    return parser.parse_args(argv)


def tree_revision() -> str:
    """The measured tree's git commit (``+`` if it has uncommitted changes), or ``unknown``."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+" if dirty else "")


def main(argv: list[str]) -> int:
    """Run the chosen scenarios and print their tables; 1 if any crashed.

    :param argv: arguments after the program name.
    """
    args = parse_arguments(argv)
    isolate_airflow()  # before any scenario imports airflow
    command = "python -m benchmarks" + (" --quick" if args.quick else "")
    print(f"$ {command}")
    revision = tree_revision()
    print(f"  tree: {revision}")
    for line in machine_description():
        print(f"  {line}")
    print(flush=True)

    tables: list[Table] = []
    crashed: list[str] = []
    started = time.monotonic()
    for name in args.only or SCENARIOS:
        scenario_started = time.monotonic()
        try:
            scenario = importlib.import_module(f"benchmarks.{name}")
            results: list[Table] = scenario.run(quick=args.quick)
        except Exception:
            crashed.append(name)
            print(f"!! scenario {name} crashed:\n{traceback.format_exc()}", flush=True)
            continue
        for table in results:
            table.note(f"scenario ran in {time.monotonic() - scenario_started:.1f}s")
            print(render_text(table) + "\n", flush=True)
        tables.extend(results)

    total = time.monotonic() - started
    print(f"all scenarios ran in {total:.1f}s" + (f"; CRASHED: {', '.join(crashed)}" if crashed else ""))
    if args.markdown:
        header = [f"Command: `{command}` (all scenarios in {total:.0f}s), tree {revision}", ""]
        header += [f"- {line}" for line in machine_description()]
        body = "\n\n".join(render_markdown(table) for table in tables)
        args.markdown.write_text("\n".join(header) + "\n\n" + body + "\n")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
