"""Credits spent and API calls per task, sent through Airflow's metrics (StatsD, Datadog, OpenTelemetry).

Two counters, incremented once per task try (and once per sensor poke), named as Airflow
names its own: the metric with ``dag_id`` and ``task_id`` as tags, for backends that keep
tags (OpenTelemetry, Datadog, StatsD with InfluxDB tags), and the same metric with
``.<dag_id>.<task_id>`` appended for plain StatsD, which drops tags. Airflow 3.2+ sends the
second form only while ``[metrics] legacy_names_on`` is true (its default), as for
``ti.start.<dag_id>.<task_id>``; a dot inside an id becomes ``__`` so that it does not add a
level to the name. Airflow's ``[metrics]`` prefix (``airflow.`` by default), allow list and
block list apply.

Metrics are best effort: a backend that fails is logged and never fails the task.
"""

from __future__ import annotations

import logging
from typing import Any

#: Apollo credits the task spent (as Apollo reported them), incremented when the task ends.
CREDITS_SPENT = "apollo.credits_spent"
#: HTTP requests the task sent to Apollo, retries included.
API_CALLS = "apollo.api_calls"

log = logging.getLogger(__name__)


def report_usage(*, dag_id: str, task_id: str, credits: float, calls: int) -> None:
    """Increment :data:`CREDITS_SPENT` by ``credits`` and :data:`API_CALLS` by ``calls`` for one task."""
    try:
        stats = _stats()
        tags = {"dag_id": dag_id, "task_id": task_id}
        per_task_names = _per_task_names_on()
        for metric, value in ((CREDITS_SPENT, credits), (API_CALLS, calls)):
            count = _count(value)
            stats.incr(metric, count, tags=tags)
            if per_task_names:
                stats.incr(f"{metric}.{_name_part(dag_id)}.{_name_part(task_id)}", count)
    except Exception:  # a metrics backend must never fail the task that spent the credits
        log.warning("Could not send the Apollo usage metrics of %s.%s.", dag_id, task_id, exc_info=True)


def _stats() -> Any:
    """Airflow's ``Stats`` where this Airflow keeps it (moved to the Task SDK in 3.2)."""
    try:
        from airflow.sdk.observability.stats import Stats
    except ImportError:
        try:
            from airflow.observability.stats import Stats  # type: ignore[no-redef,assignment,unused-ignore]
        except ImportError:  # Airflow 3.0 and 3.1
            from airflow.stats import Stats  # type: ignore[no-redef,unused-ignore]
    return Stats


def _per_task_names_on() -> bool:
    from airflow.providers.common.compat.sdk import conf

    return bool(conf.getboolean("metrics", "legacy_names_on", fallback=True))


def _count(value: float) -> int | float:
    """Whole numbers as ``int`` (``3|c``, not ``3.0|c`` on the StatsD wire)."""
    return int(value) if float(value).is_integer() else float(value)


def _name_part(value: str) -> str:
    """An id as one level of a dotted metric name (Airflow's own rule for task-group ids)."""
    return value.replace(".", "__")
