"""The Airflow matrix's venvs, installed as Airflow's users install a release.

Airflow's install instructions pin every dependency to what the release was tested with (its
constraints file). Those files are not reachable from CI, so each venv is resolved with
``uv pip install --exclude-newer <cutoff> apache-airflow==X.Y.Z``: only what the package index
had shortly after the release. The cutoff comes from the index itself (the upload time of the
release's files, PEP 700) plus ``RELEASE_MARGIN``.

The provider and its own requirements then go on top under a constraint file frozen from that
install (``uv pip freeze``), so nothing Airflow resolved can move. Airflow providers are left
out of the freeze, as Airflow's ``constraints-no-providers`` file leaves them out: providers are
upgraded independently of Airflow, and this provider needs a newer
``apache-airflow-providers-common-compat`` than any older Airflow shipped with.

uv itself comes from PyPI, pinned, into ``.venv-af-uv``: CI has nothing but Python. Its cache
(``~/.cache/uv``) makes a reinstall take seconds. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV_VENV = ROOT / ".venv-af-uv"
UV = UV_VENV / "bin" / "uv"
#: Pinned, as Airflow's own CI pins its uv: a new uv must not change how a venv resolves.
UV_VERSION = "0.13.9"
INDEX_URL = "https://pypi.org/simple"
#: The release's sibling distributions (apache-airflow-core, apache-airflow-task-sdk) are uploaded
#: by the same release job, seconds to minutes around the ``apache-airflow`` files (3.2.2's
#: task SDK 41 s after them). One day admits them all, and at most one day of later releases of
#: anything else: Airflow froze its constraints at the release candidate, days before.
RELEASE_MARGIN = timedelta(days=1)
#: Upload times of the targets' files, used only when the index cannot be asked (printed when
#: used). From https://pypi.org/simple/apache-airflow/ on 2026-12-04.
KNOWN_UPLOADS: dict[str, str] = {
    "3.0.6": "2025-08-29T15:56:17Z",
    "3.1.8": "2026-03-11T19:28:09Z",
    "3.2.2": "2026-05-29T05:20:10Z",
}
#: Bumped when the install recipe below changes, so existing venvs are rebuilt.
RECIPE = "uv-exclude-newer-1"


def _uv_environment() -> dict[str, str]:
    """uv never fetches a Python of its own: each venv uses the interpreter running this script."""
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def ensure_uv() -> Path:
    """The pinned uv, installed with pip into its own venv the first time."""
    if UV.exists():
        found = subprocess.run([str(UV), "--version"], capture_output=True, text=True).stdout.split()
        if found[1:2] == [UV_VERSION]:
            return UV
    print(f"==> {UV_VENV.name}: installing uv {UV_VERSION} from PyPI", flush=True)
    if not (UV_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(UV_VENV)], check=True)
    subprocess.run(
        [
            str(UV_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"uv=={UV_VERSION}",
        ],
        check=True,
    )
    return UV


def _release_files(version: str) -> list[dict[str, str]]:
    """The index's files of ``apache-airflow==version`` (the PEP 691 JSON simple API)."""
    request = urllib.request.Request(
        f"{INDEX_URL}/apache-airflow/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        files: list[dict[str, str]] = json.load(answer)["files"]
    names = (f"apache_airflow-{version}-", f"apache_airflow-{version}.tar.gz", f"apache-airflow-{version}.")
    return [f for f in files if f["filename"].startswith(names)]


def release_cutoff(version: str) -> str:
    """``--exclude-newer`` for an Airflow release: its newest file's upload time + the margin."""
    try:
        uploads = [f["upload-time"] for f in _release_files(version) if f.get("upload-time")]
        source = "the index"
    except OSError as error:
        uploads, source = [], f"KNOWN_UPLOADS: the index is unreachable ({error})"
    if not uploads:
        if version not in KNOWN_UPLOADS:
            raise SystemExit(
                f"No upload time for apache-airflow=={version} from {INDEX_URL} and none in "
                "KNOWN_UPLOADS: check the version exists on PyPI, or add its upload time there."
            )
        uploads = [KNOWN_UPLOADS[version]]
        source = source if source != "the index" else "KNOWN_UPLOADS: the index gave no upload time"
    released = max(datetime.fromisoformat(u.replace("Z", "+00:00")) for u in uploads)
    cutoff = (released + RELEASE_MARGIN).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(
        f"    apache-airflow {version} uploaded {released:%Y-%m-%d %H:%M}Z ({source}): "
        f"dependencies as of {cutoff}",
        flush=True,
    )
    return cutoff


def _uv_pip(python: Path, *args: str) -> str:
    result = subprocess.run(
        [str(UV), "pip", *args, "--python", str(python)],
        cwd=ROOT,
        env=_uv_environment(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"uv pip {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}")
    for line in result.stderr.splitlines():  # uv's "Resolved ... / Installed ... in 1.2s"
        if line.startswith(("Resolved", "Prepared", "Installed", "Uninstalled")):
            print(f"    uv: {line.strip()}", flush=True)
    return result.stdout


def _frozen(python: Path) -> dict[str, str]:
    """``{name: "name==version"}`` of what the venv holds."""
    lines = _uv_pip(python, "freeze", "--exclude-editable").splitlines()
    return {line.split("==")[0].lower(): line for line in lines if "==" in line}


def ensure_venv(venv: Path, airflow: str) -> None:
    """Install ``apache-airflow==airflow`` as of its release, then the project on top, once per change."""
    python = venv / "bin" / "python"
    cutoff = release_cutoff(airflow)
    stamp = venv / ".installed"
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + f"{airflow} {cutoff} {UV_VERSION} {RECIPE}".encode()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and python.exists():
        print(f"==> {venv.name}: Airflow {airflow} already installed", flush=True)
        return
    uv = ensure_uv()
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run(
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=_uv_environment()
    )
    print(f"==> {venv.name}: installing Airflow {airflow} with the dependencies of its release", flush=True)
    _uv_pip(python, "install", "--exclude-newer", cutoff, f"apache-airflow=={airflow}")
    airflows = _frozen(python)
    constraints = venv / "airflow-constraints.txt"
    pinned = [line for name, line in airflows.items() if not name.startswith("apache-airflow-providers-")]
    constraints.write_text("\n".join(sorted(pinned)) + "\n")
    print(f"==> {venv.name}: adding the project, {len(pinned)} of Airflow's packages pinned", flush=True)
    _uv_pip(python, "install", "-c", str(constraints), "-e", f"{ROOT}[dev]")
    after = _frozen(python)
    for name, line in sorted(airflows.items()):
        if after.get(name) != line:
            print(f"    provider step moved {line} -> {after.get(name, 'removed')}", flush=True)
    stamp.write_text(digest)
