"""Apache Airflow provider for the Apollo.io sales-intelligence API."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

# Fail fast on an unsupported Airflow: 3.0 is the lowest minor CI proves (docs/airflow-versions.md);
# Airflow 2 has neither the task SDK nor the names the provider imports.
from importlib.metadata import PackageNotFoundError, version

_airflow_version: str | None
try:
    _airflow_version = version("apache-airflow")
except PackageNotFoundError:  # pragma: no cover - exercised only on a broken install
    _airflow_version = None

_MINIMUM_AIRFLOW = (3, 0)


def _major_minor(version_text: str) -> tuple[int, ...]:
    """``(3, 1)`` for ``"3.1.8"`` or ``"3.1.0rc1"``."""
    from packaging.version import Version

    return Version(version_text).release[:2]


if _airflow_version is not None and _major_minor(_airflow_version) < _MINIMUM_AIRFLOW:  # pragma: no cover
    raise RuntimeError(
        f"airflow-provider-apollo {__version__} needs Apache Airflow 3.0 or newer; "
        f"found {_airflow_version}. Upgrade Airflow or pin an older provider."
    )
