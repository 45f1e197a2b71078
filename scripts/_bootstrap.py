"""The project's virtual environment, shared by ``run_tests.py`` and ``run_example.py``.

Only the standard library: this runs before the venv exists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# Both scripts install ``-e .[dev]``: one stamp, so one install serves both.
STAMP = VENV / ".installed-pyproject-sha256"


def ensure_environment() -> None:
    """Create ``.venv`` and install the project into it, unless ``pyproject.toml`` is unchanged."""
    if not PYTHON.exists():
        print(f"==> creating virtual environment in {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("==> installing airflow-provider-apollo[dev] (first run takes a minute or two)", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[dev]"],
        check=True,
        cwd=ROOT,
    )
    STAMP.write_text(digest)
