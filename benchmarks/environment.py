"""Where the benchmarks run: an isolated Airflow home, and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

#: The connection id the hand-rolled baseline's ``HttpHook`` uses.
BASELINE_CONN_ID = "apollo_http"


def isolate_airflow() -> Path:
    """Point Airflow at a throw-away home with SQLite, before anything imports ``airflow``.

    Child processes inherit the environment, so they share the same home. A home already
    chosen by the caller (``AIRFLOW_HOME`` set) is kept.
    """
    home = os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(prefix="apollo-benchmarks-")
    os.environ["AIRFLOW_HOME"] = home
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    # Task and hook logging would drown the tables; the sandbox counts what matters.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    return Path(home)


def baseline_connection_json(base_url: str, api_key: str) -> str:
    """The ``http`` connection a user writes for ``HttpHook``: host, port, and the key as a header.

    ``HttpHook`` sends every key of the connection's extra as a request header.

    :param base_url: the sandbox's ``http://127.0.0.1:PORT``.
    :param api_key: the API key.
    """
    scheme, _, address = base_url.partition("://")
    host, _, port = address.partition(":")
    return json.dumps(
        {
            "conn_type": "http",
            "host": host,
            "port": int(port) if port else None,
            "schema": scheme,
            "extra": {"X-Api-Key": api_key, "Content-Type": "application/json"},
        }
    )


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _memory_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_description() -> list[str]:
    """Lines that say what the figures were measured on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = _memory_total_gib()
    return [
        f"CPU: {_cpu_model()}; nproc {usable} (os.cpu_count {os.cpu_count()})",
        f"RAM: {memory:.1f} GiB" if memory is not None else "RAM: unknown",
        f"OS: {platform.platform()}",
        f"Python {sys.version.split()[0]} ({platform.python_implementation()})",
        f"apache-airflow {_package_version('apache-airflow')}, "
        f"apache-airflow-providers-http {_package_version('apache-airflow-providers-http')}, "
        f"airflow-provider-apollo {_package_version('airflow-provider-apollo')}, "
        f"requests {_package_version('requests')}, tenacity {_package_version('tenacity')}",
    ]
