#!/usr/bin/env python3
"""Build the documentation site with warnings as errors (a broken reference fails CI).

Runs ``sphinx-build -W --keep-going`` on ``docs/`` into ``docs/_build/html`` and reports the
number of warnings. Needs the ``docs`` extra (part of ``dev``): run it with the project's venv,
``.venv/bin/python scripts/build_docs.py``; ``scripts/run_tests.py`` does.

The build is offline: no intersphinx inventory or other remote resource is fetched.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DEFAULT_OUTPUT = DOCS / "_build" / "html"

#: Sphinx's one-line warnings look like ``path:line: WARNING: text [category]``.
_WARNING = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b")


def build(output: Path) -> tuple[int, list[str]]:
    """Build the HTML site into ``output``; return sphinx-build's exit code and its warnings."""
    with tempfile.TemporaryDirectory(prefix="apollo-docs-") as doctrees:
        command = [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",  # warnings are errors ...
            "--keep-going",  # ... but list them all before failing
            "-q",
            "-E",  # read every source again: a stale environment can hide a broken reference
            "-d",
            doctrees,
            str(DOCS),
            str(output),
        ]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    warnings = [line for line in result.stderr.splitlines() if _WARNING.search(line)]
    if result.returncode != 0 and not warnings:
        warnings = result.stderr.splitlines()[-20:]
    return result.returncode, warnings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the HTML goes")
    args = parser.parse_args(argv)
    if (args.output / ".buildinfo").exists():  # a previous site: drop pages that no longer exist
        shutil.rmtree(args.output)
    code, warnings = build(args.output)
    for line in warnings:
        print(line)
    print(f"docs: {len(warnings)} warnings; site in {args.output}")
    return 1 if code != 0 or warnings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
