"""Apache Airflow provider for the Apollo.io sales-intelligence API."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"

# Fail fast on an unsupported Airflow: the operators import ``airflow.sdk``, which only
# exists from Airflow 3.0 on. Checked lazily so that importing the package stays cheap.
from importlib.metadata import PackageNotFoundError, version

_airflow_version: str | None
try:
    _airflow_version = version("apache-airflow")
except PackageNotFoundError:  # pragma: no cover - exercised only on a broken install
    _airflow_version = None

if _airflow_version is not None and int(_airflow_version.split(".")[0]) < 3:  # pragma: no cover
    raise RuntimeError(
        f"airflow-provider-apollo {__version__} needs Apache Airflow 3.0 or newer; "
        f"found {_airflow_version}. Upgrade Airflow or pin an older provider."
    )
