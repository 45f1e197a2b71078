"""ApolloJobPostingsSensor in a run triggered without a logical date (no data interval)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import MagicMock

import pendulum
import pytest

from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor

ORG_A = "5e66b6381e05b4008c8331b8"


@pytest.fixture
def hook(fake_hook_class: Any, make_posting: Any) -> Any:
    return fake_hook_class(
        organizations={"acme.com": ORG_A},
        postings={
            ORG_A: [
                make_posting("Account Executive", "2026-03-02T09:00:00.000+00:00", "before_run"),
                make_posting("Sales Director", "2026-03-05T09:00:00.000+00:00", "after_run"),
            ]
        },
    )


def no_logical_date_context(run_after: pendulum.DateTime) -> dict[str, Any]:
    """What Airflow 3 gives a run triggered without a logical date: no logical_date, ds, data interval."""
    return {"dag_run": SimpleNamespace(run_after=run_after), "ti": MagicMock(name="ti")}


def test_without_a_data_interval_the_default_is_the_runs_run_after(hook: Any) -> None:
    sensor = ApolloJobPostingsSensor(task_id="wait", organization_domains=["acme.com"])
    sensor.hook = hook  # replaces the cached_property

    result = sensor.poke(no_logical_date_context(pendulum.datetime(2026, 3, 4, tz="UTC")))

    assert result.is_done
    assert [p["id"] for p in result.xcom_value[0]["postings"]] == ["after_run"]


def test_a_data_interval_when_there_is_one_still_wins_over_run_after(hook: Any) -> None:
    sensor = ApolloJobPostingsSensor(task_id="wait", organization_domains=["acme.com"])
    sensor.hook = hook
    context = {
        **no_logical_date_context(pendulum.datetime(2026, 3, 4, tz="UTC")),
        "data_interval_start": pendulum.datetime(2026, 3, 1, tz="UTC"),
    }

    result = sensor.poke(context)

    assert [p["id"] for p in result.xcom_value[0]["postings"]] == ["before_run", "after_run"]
