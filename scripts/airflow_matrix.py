#!/usr/bin/env python3
"""The provider on the older Airflow 3 minors CI proves, each in its own venv.

The project's ``.venv`` holds the newest Airflow (the whole suite, the example DAGs and the
deployment test run there). This script proves the older minors, installed as their users
install them: each Airflow with the dependencies of its release, the provider on top without
moving any of them (``_matrix_venv.py``: uv, ``--exclude-newer`` the release's upload date):

* ``imports``: every module of the package imports, and Airflow is the pinned release;
* ``registration``: ``airflow providers list`` / ``providers hooks`` show the provider and its
  ``apollo`` connection type, and the UI's connection form offers it with its fields;
* ``unit``: the lowest minor runs the suite without ``tests/e2e``; the others the tests that
  go through Airflow (``AIRFLOW_FACING_TESTS``); each target's ``gaps`` are left out, with why;
* ``example``: ``airflow dags test example_apollo_prospecting`` on the sandbox, run state
  ``success``, contacts created, no duplicates, the API key nowhere in the output.

Each minor lives in ``.venv-afXY`` (gitignored), reinstalled only when ``pyproject.toml``, the
release or the recipe changed (uv's cache, ``~/.cache/uv``, makes that take seconds).

Usage::

    python3 scripts/airflow_matrix.py               # every target below
    python3 scripts/airflow_matrix.py --only 3.1    # one target

Only the standard library is used: this runs before any venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _matrix_venv

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAG = "example_apollo_prospecting"
# pytest's exit code when it collected no test: a run that tests nothing is a failure here.
PYTEST_NO_TESTS = 5
STEP_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Target:
    """One Airflow version and what CI proves on it.

    ``unit`` is ``"full"`` (every test but ``tests/e2e``, which the newest Airflow runs) or
    ``"airflow"`` (``AIRFLOW_FACING_TESTS``: the tests that go through Airflow; the rest is the
    provider's own logic, proven on the floor and the newest Airflow). ``gaps``: the pytest
    ``--deselect``/``--ignore`` arguments for what this version lacks, each with the reason.
    """

    airflow: str
    unit: str
    gaps: tuple[tuple[str, str], ...] = ()
    #: Airflow 3.0's ``airflow dags test`` prints its DEBUG lines, among them each value it masks
    #: (``Sending request msg=MaskSecret(value=...)``; 3.0 masks every connection's password).
    prints_masked_secrets: bool = False

    @property
    def minor(self) -> str:
        return ".".join(self.airflow.split(".")[:2])

    @property
    def venv(self) -> Path:
        return ROOT / f".venv-af{self.minor.replace('.', '')}"


#: Airflow 3.0 and 3.1's task SDK drop an env connection whose extras are not a JSON object
#: (AirflowNotFoundException: "isn't defined") before the provider can read and name them.
_EXTRAS_NOT_AN_OBJECT = "the task SDK drops an env connection whose extras are not a JSON object"
_EXTRAS_GAPS = (
    (
        "--deselect=tests/hooks/_transport/test_connection.py::test_extras_that_are_not_a_json_object_are_refused",
        _EXTRAS_NOT_AN_OBJECT,
    ),
    (
        "--deselect=tests/hooks/_transport/test_connection.py::test_empty_extras_mean_the_defaults",
        _EXTRAS_NOT_AN_OBJECT,
    ),
    (
        "--deselect=tests/reliability/test_bad_input_catalogue.py::"
        "test_bad_input_is_refused_by_name_before_any_request[conn-extras",
        _EXTRAS_NOT_AN_OBJECT,
    ),
)

#: The older minors run the Airflow-facing tests (the newest, in the main venv, runs everything;
#: the rest of the suite is the provider's own logic). Each runs the prospecting example.
TARGETS: dict[str, Target] = {
    "3.0": Target(
        "3.0.6",
        "airflow",
        (
            *_EXTRAS_GAPS,
            (
                "--deselect=tests/hooks/test_connection_form.py",
                "3.0's API server builds the connection form's extra fields only with Flask-AppBuilder",
            ),
            (
                "--deselect=tests/reliability/test_secret_hygiene.py::"
                "test_the_canary_key_appears_nowhere_after_runs_with_faults_and_failures",
                "3.0.6's in-process task runner (dag.test) prints each value it masks, the key "
                "included, in its DEBUG line 'Sending request msg=MaskSecret(value=...)'",
            ),
        ),
        prints_masked_secrets=True,
    ),
    "3.1": Target("3.1.8", "airflow", _EXTRAS_GAPS),
    "3.2": Target("3.2.2", "airflow"),
}

#: Tests whose outcome depends on Airflow: operators, sensors, triggers and the hook (through
#: Airflow's connections, context, XCom, templating and logging), the example DAGs, bad input.
#: Not ``tests/reliability/test_secret_hygiene.py``: 3 minutes on 3.2.2 (70 s on 3.0.6), beyond
#: the matrix's budget (and 3.0 cannot pass it: see its gaps). The newest Airflow runs it, and
#: every minor's example check looks for the API key in the whole output of ``airflow dags test``.
AIRFLOW_FACING_TESTS = (
    "tests/operators",
    "tests/sensors",
    "tests/triggers",
    "tests/hooks",
    "tests/example_dags",
    "tests/hooks/_transport/test_connection.py",
    "tests/_airflow/test_templating.py",
    "tests/test_airflow_floor.py",
    "tests/reliability/test_bad_input_catalogue.py",
)
#: Left out of every unit run: ``tests/e2e`` (the newest Airflow runs it), the two files the
#: registration check runs, and the fault storms: ~8 minutes of retries against a faulty sandbox
#: (the provider's own logic, not Airflow's).
UNIT_ALWAYS_LEFT_OUT = (
    "--ignore=tests/e2e",
    "--ignore=tests/hooks/test_connection_form.py",
    "--ignore=tests/test_get_provider_info.py",
    "--ignore=tests/reliability/test_fault_storms.py",
)


# --------------------------------------------------------------------------- install
def _python(target: Target) -> Path:
    return target.venv / "bin" / "python"


def ensure_venv(target: Target) -> None:
    """The target's venv: Airflow with its release's dependencies, the project on top (``_matrix_venv``)."""
    _matrix_venv.ensure_venv(target.venv, target.airflow)


# ----------------------------------------------------------------------------- checks
def airflow_env(home: Path) -> dict[str, str]:
    """This process's environment with an isolated Airflow home on SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        }
    )
    return env


def run(command: list[str], env: dict[str, str], *, timeout: float = STEP_TIMEOUT_SECONDS) -> str:
    """Run a command; its output, or an ``AssertionError`` with the output's end when it fails."""
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command[:4])} exited {result.returncode}:\n{output[-4000:]}")
    return output


IMPORT_EVERYTHING = """
import importlib, importlib.metadata, pkgutil, sys
import airflow_provider_apollo as package
wanted = sys.argv[1]
found = importlib.metadata.version("apache-airflow")
assert found == wanted, f"pip changed Airflow: {found} installed, {wanted} pinned"
modules = pkgutil.walk_packages(package.__path__, package.__name__ + ".")
names = [m.name for m in modules if not m.name.endswith("__main__")]  # __main__ would run the CLI
for name in names:
    importlib.import_module(name)
print(f"{len(names)} modules import on Airflow {found}")
"""


def check_imports(target: Target, env: dict[str, str]) -> str:
    output = run([str(_python(target)), "-c", IMPORT_EVERYTHING, target.airflow], env)
    return next(line for line in output.splitlines() if "modules import on Airflow" in line)


def check_registration(target: Target, env: dict[str, str]) -> str:
    """``tests/test_get_provider_info.py`` runs ``airflow providers list`` / ``providers hooks``."""
    files = ["tests/hooks/test_connection_form.py", "tests/test_get_provider_info.py"]
    gaps = [argument for argument, _reason in target.gaps]
    summary = pytest_run([*_pytest(target), *files, *gaps], env)
    form = "" if any("test_connection_form" in g for g in gaps) else ", connection form offers it"
    return f"provider listed, apollo connection type registered{form} ({summary})"


def _pytest(target: Target) -> list[str]:
    return [str(_python(target)), "-m", "pytest", "-p", "no:cacheprovider", "-m", "not deployment"]


def pytest_run(command: list[str], env: dict[str, str]) -> str:
    """Run pytest; its summary line. ``tests/conftest.py`` makes the session's own Airflow home."""
    own_home = {k: v for k, v in env.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
    result = subprocess.run(
        command, env=own_home, cwd=ROOT, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS
    )
    output = result.stdout + result.stderr
    if result.returncode == PYTEST_NO_TESTS:
        raise AssertionError("pytest collected no tests")
    if result.returncode != 0:
        raise AssertionError(f"pytest exited {result.returncode}:\n{output[-6000:]}")
    summaries = [line for line in output.splitlines() if re.search(r"\d+ passed", line)]
    if not summaries:
        raise AssertionError(f"pytest passed nothing:\n{output[-3000:]}")
    return summaries[-1].strip("= ")


def check_unit(target: Target, env: dict[str, str]) -> str:
    """The target's unit subset without ``UNIT_ALWAYS_LEFT_OUT`` and the target's gaps."""
    selection = ["tests"] if target.unit == "full" else list(AIRFLOW_FACING_TESTS)
    gaps = [argument for argument, _reason in target.gaps]
    return pytest_run([*_pytest(target), *selection, *UNIT_ALWAYS_LEFT_OUT, *gaps], env)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sandbox_stats(base_url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{base_url}/_sandbox/stats", timeout=10) as answer:
        stats: dict[str, object] = json.load(answer)
        return stats


LATEST_RUN_STATE = """
import sys
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from sqlalchemy import select
with create_session() as session:
    query = select(DagRun).where(DagRun.dag_id == sys.argv[1]).order_by(DagRun.id.desc())
    run = session.scalars(query).first()
    print(f"RUN_STATE={None if run is None else run.state}")
"""


def check_example(target: Target, env: dict[str, str]) -> str:
    """``airflow dags test`` of the prospecting example against a sandbox on loopback."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    key = f"matrix-key-{os.urandom(4).hex()}"
    sandbox = subprocess.Popen(
        [str(target.venv / "bin" / "apollo-sandbox"), "--port", str(port), "--api-key", key],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                before = _sandbox_stats(base_url)
                break
            except OSError:
                if time.monotonic() > deadline or sandbox.poll() is not None:
                    raise AssertionError("the sandbox did not start") from None
                time.sleep(0.5)
        connection = json.dumps({"conn_type": "apollo", "host": base_url, "password": key})
        env = {**env, "AIRFLOW_CONN_APOLLO_DEFAULT": connection}
        airflow = str(target.venv / "bin" / "airflow")
        run([airflow, "db", "migrate"], env)
        output = run([airflow, "dags", "test", EXAMPLE_DAG], env, timeout=300)
        answer = run([str(_python(target)), "-c", LATEST_RUN_STATE, EXAMPLE_DAG], env)
        state = next(line for line in answer.splitlines() if line.startswith("RUN_STATE=")).split("=", 1)[1]
        assert state == "success", f"{EXAMPLE_DAG} ended {state}:\n{output[-6000:]}"
        leaks = [
            line
            for line in output.splitlines()
            if key in line and not (target.prints_masked_secrets and "MaskSecret(value=" in line)
        ]
        assert not leaks, "the API key is in the output of airflow dags test:\n" + "\n".join(leaks[:5])
        after = _sandbox_stats(base_url)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    contacts = after["contacts"]["total"] - before["contacts"]["total"]  # type: ignore[index,operator]
    credits = after["credits"]["total"] - before["credits"]["total"]  # type: ignore[index,operator]
    assert contacts > 0, f"the run created no contact: {after}"
    assert after["contacts"]["duplicates_by_email"] == 0, after  # type: ignore[index]
    return f"{EXAMPLE_DAG}: success, {contacts} contacts, {credits:g} credits"


CHECKS = {
    "imports": check_imports,
    "registration": check_registration,
    "unit": check_unit,
    "example": check_example,
}


def prove(target: Target) -> list[str]:
    """Run the target's checks; the names of those that failed."""
    started = time.monotonic()
    ensure_venv(target)
    failed = []
    with tempfile.TemporaryDirectory(prefix=f"apollo-af{target.minor}-") as home:
        env = airflow_env(Path(home))
        for name in CHECKS:
            check_started = time.monotonic()
            try:
                outcome = CHECKS[name](target, env)
                print(
                    f"    Airflow {target.airflow} {name}: ok ({outcome}) "
                    f"in {time.monotonic() - check_started:.0f}s",
                    flush=True,
                )
            except (AssertionError, subprocess.TimeoutExpired) as error:
                failed.append(f"{target.airflow} {name}")
                print(
                    f"    Airflow {target.airflow} {name}: FAILED in "
                    f"{time.monotonic() - check_started:.0f}s\n{error}",
                    flush=True,
                )
    print(f"==> Airflow {target.airflow}: {time.monotonic() - started:.0f}s", flush=True)
    return failed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    every = TARGETS
    parser.add_argument("--only", choices=sorted(every), action="append", help="run only this minor")
    args = parser.parse_args(argv)
    targets = [every[minor] for minor in args.only] if args.only else list(TARGETS.values())
    started = time.monotonic()
    failed = [name for target in targets for name in prove(target)]
    print(f"==> matrix took {time.monotonic() - started:.0f}s", flush=True)
    if failed:
        print(f"==> matrix FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("==> matrix passed: " + ", ".join(t.airflow for t in targets), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
