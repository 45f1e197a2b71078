"""Scenario 4: what the provider costs every DAG parse.

Airflow parses DAG files over and over, each time in a process that has Airflow loaded but
not the providers a file imports. So the figure that matters is the import time the
operators and sensors add on top of ``airflow.sdk``, in a fresh interpreter, and the parse
time of each example DAG. Each is the median of repeated fresh interpreters; HTTP
provider's operators and sensors are measured the same way beside them. Sockets are
refused while the provider's modules load: any attempt is reported as network at import.

Bytecode is cached for every subject alike, as for installed packages: the interpreters
share a throw-away ``PYTHONPYCACHEPREFIX`` filled by one warm-up run per subject (an
editable install under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile the
provider's sources at every import while site-packages keep their ``.pyc`` files).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import median
from benchmarks.report import Table, verdict

TITLE = "4. Parse-time cost"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
TARGET_EXTRA_IMPORT_MS = 50.0

# Runs in a fresh interpreter: time `airflow.sdk`, then the subject's modules, with sockets refused.
_CHILD = r"""
import importlib, json, socket, sys, time
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[1:3]) if len(args) > 1 else repr(args))
    raise OSError("network access while importing")
started = time.perf_counter()
import airflow.sdk
from airflow.sdk import DAG, BaseOperator, BaseSensorOperator, BaseHook
sdk_done = time.perf_counter()
for owner, name in ((socket.socket, "connect"), (socket.socket, "connect_ex"), (socket, "create_connection"),
                    (socket, "getaddrinfo")):
    setattr(owner, name, refuse)
subject = json.loads(sys.argv[1])
if subject["kind"] == "modules":
    for module in subject["modules"]:
        importlib.import_module(module)
    done = time.perf_counter()
    print(json.dumps({"sdk": sdk_done - started, "extra": done - sdk_done, "network": attempts}))
else:
    import importlib.util
    def parse(name):
        spec = importlib.util.spec_from_file_location(name, subject["path"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return [v for v in vars(module).values() if isinstance(v, DAG)]
    dags = parse("first_parse")
    first = time.perf_counter()
    parse("second_parse")
    second = time.perf_counter()
    print(json.dumps({"sdk": sdk_done - started, "first": first - sdk_done, "again": second - first,
                      "tasks": sum(len(d.tasks) for d in dags), "network": attempts}))
"""


@dataclass(frozen=True)
class Sizes:
    """How many fresh interpreters per figure.

    :param repeats: interpreters per subject (the median is reported).
    :param warm_up: cache bytecode alike for every subject, filled by one unmeasured run each
        (without it, the environment's own bytecode settings apply).
    """

    repeats: int
    warm_up: bool


QUICK = Sizes(repeats=1, warm_up=False)
FULL = Sizes(repeats=9, warm_up=True)


def _public_modules(package: str) -> list[str]:
    """Every public module of ``package``, found on disk (importing it would skew the timing)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(next(iter(spec.submodule_search_locations)))
    return [
        f"{package}.{path.stem}"
        for path in sorted(folder.glob("*.py"))
        if not path.stem.startswith("_") and path.stem != "__init__"
    ] or [package]


def _interpreter_environment(pycache: str) -> dict[str, str]:
    """This process's environment, with bytecode written to and read from ``pycache``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _fresh_interpreter(subject: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(subject)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing {subject} failed:\n{result.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _import_subjects() -> dict[str, list[str]]:
    apollo = [
        *_public_modules("airflow_provider_apollo.operators"),
        *_public_modules("airflow_provider_apollo.sensors"),
    ]
    http = ["airflow.providers.http.operators.http", "airflow.providers.http.sensors.http"]
    return {
        "airflow-provider-apollo operators + sensors": apollo,
        "apache-airflow-providers-http operators + sensors": http,
    }


def run(quick: bool) -> list[Table]:
    """Measure import and parse cost in fresh interpreters.

    :param quick: one interpreter per figure instead of nine.
    """
    sizes = QUICK if quick else FULL
    if not sizes.warm_up:
        # Filling a bytecode cache for all of Airflow costs more than the quick run itself.
        return _measure(sizes, os.environ.copy())
    with tempfile.TemporaryDirectory(prefix="apollo-benchmark-pycache-") as pycache:
        return _measure(sizes, _interpreter_environment(pycache))


def _measure(sizes: Sizes, env: dict[str, str]) -> list[Table]:
    subjects = _import_subjects()
    dag_files = sorted(EXAMPLE_DAGS.glob("example_*.py"))
    if sizes.warm_up:  # fill the bytecode cache
        for modules in subjects.values():
            _fresh_interpreter({"kind": "modules", "modules": modules}, env)
        for path in dag_files:
            _fresh_interpreter({"kind": "dag", "path": str(path)}, env)

    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in subjects}
    for _ in range(sizes.repeats):
        # Interleaved, so a slow moment on a shared machine hits every subject alike.
        for name, modules in subjects.items():
            samples[name].append(_fresh_interpreter({"kind": "modules", "modules": modules}, env))

    imports = Table(
        TITLE + ": import time over `import airflow.sdk`",
        ["subject", "modules", "import airflow.sdk (ms)", "extra import (ms)", "network at import"],
    )
    for name, modules in subjects.items():
        runs = samples[name]
        imports.add_row(
            name,
            len(modules),
            1000 * median([r["sdk"] for r in runs]),
            1000 * median([r["extra"] for r in runs]),
            sum(len(r["network"]) for r in runs),
        )
    apollo_name = next(iter(subjects))
    apollo_extra = 1000 * median([r["extra"] for r in samples[apollo_name]])
    apollo_network = sum(len(r["network"]) for r in samples[apollo_name])
    imports.note(
        f"median of {sizes.repeats} fresh interpreters per subject, subjects interleaved, bytecode cached"
    )
    imports.note(f"apollo modules: {', '.join(subjects[apollo_name])}")
    target = f"<= {TARGET_EXTRA_IMPORT_MS:g} ms"
    imports.note(verdict(apollo_extra <= TARGET_EXTRA_IMPORT_MS, f"{apollo_extra:.1f} ms", target))
    imports.note(verdict(apollo_network == 0, f"{apollo_network} socket attempts at import", "0"))

    parses = Table(
        TITLE + ": example DAG parse time (after `airflow.sdk`)",
        ["DAG file", "tasks", "first parse (ms)", "re-parse (ms)", "network at parse"],
    )
    for path in dag_files:
        runs = [_fresh_interpreter({"kind": "dag", "path": str(path)}, env) for _ in range(sizes.repeats)]
        parses.add_row(
            path.name,
            runs[0]["tasks"],
            1000 * median([r["first"] for r in runs]),
            1000 * median([r["again"] for r in runs]),
            sum(len(r["network"]) for r in runs),
        )
    parses.note("first parse includes importing the provider; re-parse: the same file again, same process")
    return [imports, parses]
