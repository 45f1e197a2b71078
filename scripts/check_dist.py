#!/usr/bin/env python3
"""Build the sdist and the wheel as a user's ``pip`` would, and check what they hold.

1. ``python -m build``: the sdist, then the wheel built *from the sdist* (so a file missing
   from the sdist breaks the wheel here, not on a user's machine), in an isolated
   environment with the declared ``build-system.requires``. A Python warning printed by the
   build (setuptools deprecations: a licence table, a classifier...) fails the check.
2. ``twine check --strict``: the metadata and the README render as PyPI would show them.
3. The wheel holds ``py.typed``, ``get_provider_info.py``, the Airflow provider entry point,
   LICENSE and NOTICE, the version of ``airflow_provider_apollo.__version__``, and nothing
   outside the package (no ``tests/``, no ``example_dags/``).
4. The sdist holds LICENSE, NOTICE, ``pyproject.toml`` and the package.

Usage: ``.venv/bin/python scripts/check_dist.py [--keep DIR]`` (needs ``build`` and ``twine``,
in the ``dev`` extra). Exit code 0 when every check passes.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_apollo"
DIST_NAME = "airflow_provider_apollo"

#: A warning in the build log: ``build`` prints Python warnings as ``WARNING <message>``
#: (e.g. setuptools' "`project.license` as a TOML table is deprecated"), distutils-style
#: commands as ``warning: <command>: <message>`` (e.g. a MANIFEST.in line matching nothing).
_BUILD_WARNING = re.compile(r"^\s*WARNING\b|^warning: |\b\w+Warning\b")


def declared_version() -> str:
    """``__version__`` as written in the package's ``__init__.py`` (read, not imported)."""
    tree = ast.parse((ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        ):
            return str(ast.literal_eval(node.value))
    raise SystemExit(f"{PACKAGE}/__init__.py has no __version__ = '...' assignment")


def build(outdir: Path) -> list[str]:
    """Build both distributions into ``outdir``; return the problems found in the build log."""
    # Without PYTHONDONTWRITEBYTECODE, which makes setuptools print "byte-compiling is
    # disabled" warnings that say nothing about the package.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    log = result.stdout + result.stderr
    if result.returncode != 0:
        return ["python -m build failed:", *log.splitlines()[-30:]]
    warnings = dict.fromkeys(line.strip() for line in log.splitlines() if _BUILD_WARNING.search(line))
    return [f"build printed a warning: {line}" for line in warnings]


def twine_check(paths: list[Path]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, paths)],
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return []
    return ["twine check --strict failed:", *(result.stdout + result.stderr).splitlines()]


def wheel_problems(wheel: Path, version: str) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"{DIST_NAME}-{version}.dist-info"
        metadata = archive.read(f"{dist_info}/METADATA").decode() if f"{dist_info}/METADATA" in names else ""
        entry_points = (
            archive.read(f"{dist_info}/entry_points.txt").decode()
            if f"{dist_info}/entry_points.txt" in names
            else ""
        )
    problems = [
        f"wheel lacks {required}"
        for required in (
            f"{PACKAGE}/py.typed",
            f"{PACKAGE}/get_provider_info.py",
            f"{dist_info}/licenses/LICENSE",
            f"{dist_info}/licenses/NOTICE",
            f"{dist_info}/METADATA",
        )
        if required not in names
    ]
    strays = sorted(name for name in names if not name.startswith((f"{PACKAGE}/", f"{dist_info}/")))
    problems += [f"wheel holds a file outside the package: {name}" for name in strays]
    problems += [
        f"wheel holds {name}"
        for name in sorted(names)
        if re.search(r"(^|/)(tests|example_dags)/", name) or "__pycache__" in name
    ]
    if f"Version: {version}\n" not in metadata:
        problems.append(f"wheel METADATA does not say Version: {version}")
    if "License-Expression: Apache-2.0\n" not in metadata:
        problems.append("wheel METADATA has no License-Expression: Apache-2.0")
    if "apache_airflow_provider" not in entry_points or "get_provider_info" not in entry_points:
        problems.append("wheel has no apache_airflow_provider entry point (Airflow would not find it)")
    return problems


def sdist_problems(sdist: Path, version: str) -> list[str]:
    prefix = f"{DIST_NAME}-{version}/"
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(prefix) for name in archive.getnames()}
    required = (
        "LICENSE",
        "NOTICE",
        "pyproject.toml",
        "PKG-INFO",
        f"{PACKAGE}/__init__.py",
        f"{PACKAGE}/py.typed",
    )
    return [f"sdist lacks {name}" for name in required if name not in names]


def describe(wheel: Path, sdist: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        wheel_files = archive.namelist()
    with tarfile.open(sdist) as archive:
        sdist_files = [member.name for member in archive.getmembers() if member.isfile()]
    return (
        f"wheel {wheel.name}: {len(wheel_files)} files, {wheel.stat().st_size / 1024:.0f} KiB; "
        f"sdist {sdist.name}: {len(sdist_files)} files, {sdist.stat().st_size / 1024:.0f} KiB"
    )


def check(outdir: Path) -> list[str]:
    version = declared_version()
    problems = build(outdir)
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [*problems, f"expected one wheel and one sdist in {outdir}, found {wheels + sdists}"]
    problems += twine_check([*wheels, *sdists])
    problems += wheel_problems(wheels[0], version)
    problems += sdist_problems(sdists[0], version)
    print(describe(wheels[0], sdists[0]))
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--keep", type=Path, help="build into this folder and keep the files")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        problems = check(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="apollo-dist-") as outdir:
            problems = check(Path(outdir))
    for problem in problems:
        print(problem)
    print("dist: OK" if not problems else f"dist: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
