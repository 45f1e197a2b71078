"""ApolloTasksSensor: validation, poking, deferral, and what goes over the wire."""

from __future__ import annotations

import datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
import requests_mock as requests_mock_module
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloTransientError
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor
from airflow_provider_apollo.triggers.tasks import ApolloTasksTrigger


def sensor(hook: Any = None, **kwargs: Any) -> ApolloTasksSensor:
    kwargs.setdefault("task_id", "wait_for_completed_calls")
    built = ApolloTasksSensor(**kwargs)
    if hook is not None:
        built.hook = hook
    return built


def context() -> dict[str, Any]:
    return {"ti": MagicMock(name="ti")}


class TestValidation:
    def test_something_to_watch_is_required(self) -> None:
        with pytest.raises(ApolloConfigurationError, match="say which tasks to watch"):
            ApolloTasksSensor(task_id="s")

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"contact_ids": ["c1"], "min_matches": 0}, "min_matches must be None or a whole number >= 1"),
            ({"contact_ids": ["c1"], "per_page": 101}, "per_page must be a whole number from 1 to 100"),
            ({"contact_ids": ["c1"], "target_statuses": []}, "target_statuses is empty"),
        ],
    )
    def test_static_arguments_fail_at_parse_time(self, kwargs: dict[str, Any], fragment: str) -> None:
        with pytest.raises(ApolloConfigurationError, match=fragment):
            ApolloTasksSensor(task_id="s", **kwargs)

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"task_ids": ["t1", ""]}, r"task_ids\[1\]"),
            (
                {"contact_ids": [{"status": "matched", "input": {}, "person": {"id": "p1"}}]},
                "enrichment result",
            ),
            ({"contact_ids": "['c1', 'c2']"}, "render_template_as_native_obj"),
            ({"filters": ["type", "call"]}, "filters must be a mapping"),
            ({"task_type": "  "}, "task_type must be a non-empty string"),
        ],
    )
    def test_rendered_arguments_fail_before_any_request(
        self, fake_hook_class: Any, kwargs: dict[str, Any], fragment: str
    ) -> None:
        hook = fake_hook_class()
        with pytest.raises(ApolloConfigurationError, match=fragment):
            sensor(hook, **kwargs).poke(context())
        assert hook.calls == []

    def test_task_type_does_not_shadow_the_operator_task_type(self) -> None:
        built = sensor(task_type="call", contact_ids=["c1"])
        assert built.task_type == "ApolloTasksSensor"  # Airflow's own property, untouched
        assert built.apollo_task_type == "call"


class TestPoke:
    def test_done_when_every_call_of_the_contacts_is_completed(
        self, fake_hook_class: Any, make_task: Any
    ) -> None:
        hook = fake_hook_class(
            tasks=[
                make_task("t1", "completed", contact_id="c1"),
                make_task("t2", "completed", contact_id="c2"),
                make_task("t3", "scheduled", contact_id="c2", type="outreach_manual_email"),
            ]
        )
        result = sensor(hook, contact_ids=["c1", "c2"], task_type="call").poke(context())
        assert result.is_done
        assert [(t["id"], t["contact_id"], t["status"]) for t in result.xcom_value] == [
            ("t1", "c1", "completed"),
            ("t2", "c2", "completed"),
        ]
        assert all("contact" not in t for t in result.xcom_value)
        # contact_ids narrow the search itself, too; the type goes in so the hook's note names it.
        assert hook.calls == [("iter_tasks", {"contact_ids": ["c1", "c2"], "task_types": ["call"]})]

    def test_contact_records_are_taken_as_the_operators_take_them(
        self, fake_hook_class: Any, make_task: Any
    ) -> None:
        """``contact_ids=contacts.output`` (ApolloCreateContactsOperator's records) works, as documented."""
        hook = fake_hook_class(tasks=[make_task("t1", "completed", contact_id="c1")])
        records = [{"id": "c1", "email": "a@x.example"}, {"id": "c2", "email": "b@x.example"}, "c1"]
        result = sensor(hook, contact_ids=records, task_ids=[{"id": "t1", "status": "scheduled"}]).poke(
            context()
        )
        assert result.is_done
        assert [t["id"] for t in result.xcom_value] == ["t1"]
        assert hook.calls == [("iter_tasks", {"contact_ids": ["c1", "c2"]})]

    @pytest.mark.parametrize("kwargs", [{"contact_ids": []}, {"task_ids": [], "task_type": "call"}])
    def test_empty_input_is_done_at_once_without_a_request(
        self, fake_hook_class: Any, kwargs: dict[str, Any], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Nobody new today: nothing to wait for, no search (which would watch every task instead)."""
        hook = fake_hook_class(tasks=[])
        result = sensor(hook, **kwargs).poke(context())
        assert result.is_done
        assert result.xcom_value == []
        assert hook.calls == []
        assert "nothing to wait for" in capsys.readouterr().out

    def test_empty_input_does_not_defer(self, fake_hook_class: Any) -> None:
        hook = fake_hook_class(tasks=[])
        assert sensor(hook, contact_ids=[], deferrable=True).execute(context()) == []
        assert hook.calls == []

    def test_waits_while_one_is_scheduled(self, fake_hook_class: Any, make_task: Any) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "completed"), make_task("t2", "scheduled")])
        result = sensor(hook, task_ids=["t1", "t2"]).poke(context())
        assert not result.is_done
        assert result.xcom_value is None

    def test_min_matches(self, fake_hook_class: Any, make_task: Any) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "completed"), make_task("t2", "scheduled")])
        result = sensor(hook, task_ids=["t1", "t2"], min_matches=1).poke(context())
        assert result.is_done
        assert [t["id"] for t in result.xcom_value] == ["t1"]

    def test_user_filters_are_sent_as_given(self, fake_hook_class: Any, make_task: Any) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "completed")])
        sensor(hook, filters={"user_ids": ["u1"], "contact_ids": ["c1"]}, contact_ids=["c1", "c2"]).poke(
            context()
        )
        assert hook.calls == [("iter_tasks", {"user_ids": ["u1"], "contact_ids": ["c1"]})]

    def test_no_matching_task_is_logged_and_not_done(
        self, fake_hook_class: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = sensor(fake_hook_class(tasks=[]), contact_ids=["c1"]).poke(context())
        assert not result.is_done
        assert "No task matches yet" in capsys.readouterr().out

    def test_the_poke_line_counts_in_good_english_and_names_the_type_checked(
        self, fake_hook_class: Any, make_task: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "completed", contact_id="c1")])
        sensor(hook, contact_ids=["c1"], task_type="call").poke(context())
        logged = capsys.readouterr().out
        assert "0 credits spent by this poke, 0 by this try (1 API call)." in logged
        assert hook.calls[0][1]["task_types"] == ["call"]  # what the hook's filter note reports

    def test_defaults(self) -> None:
        built = sensor(contact_ids=["c1"])
        assert (built.poke_interval, built.mode, built.target_statuses) == (300, "reschedule", ("completed",))


class TestDeferrable:
    def test_defers_with_the_same_selection(self, fake_hook_class: Any, make_task: Any) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "scheduled")])
        deferring = sensor(
            hook,
            deferrable=True,
            contact_ids=[{"id": "c1", "email": "a@x.example"}],  # records, as the operators take them
            task_type="call",
            min_matches=1,
            timeout=600,
        )
        with pytest.raises(TaskDeferred) as deferred:
            deferring.execute(context())
        trigger = deferred.value.trigger
        assert isinstance(trigger, ApolloTasksTrigger)
        assert deferred.value.timeout == datetime.timedelta(seconds=600)
        assert trigger.serialize()[1] == {
            "apollo_conn_id": "apollo_default",
            "filters": {"contact_ids": ["c1"], "task_types": ["call"]},
            "task_ids": [],
            "contact_ids": ["c1"],
            "task_type": "call",
            "target_statuses": ["completed"],
            "min_matches": 1,
            "per_page": 100,
            "poll_interval": 300.0,
        }

    def test_returns_at_once_when_already_done(self, fake_hook_class: Any, make_task: Any) -> None:
        hook = fake_hook_class(tasks=[make_task("t1", "completed")])
        result = sensor(hook, deferrable=True, task_ids=["t1"]).execute(context())
        assert [t["id"] for t in result] == ["t1"]

    def test_execute_complete_error_event(self) -> None:
        event = {
            "status": "error",
            "message": "Apollo failed on POST tasks/search (503).",
            "error_type": "ApolloTransientError",
        }
        with pytest.raises(ApolloTransientError, match="503"):
            sensor(task_ids=["t1"]).execute_complete(context(), event)


def test_one_poke_through_the_real_hook(apollo_connection: None, make_task: Any) -> None:
    base = "https://api.apollo.io/api/v1"
    with requests_mock_module.Mocker() as api:
        api.post(
            f"{base}/tasks/search",
            [
                {
                    "json": {
                        "tasks": [make_task("t1", "completed")],
                        "pagination": {"page": 1, "total_pages": 2},
                    }
                },
                {
                    "json": {
                        "tasks": [make_task("t2", "skipped")],
                        "pagination": {"page": 2, "total_pages": 2},
                    }
                },
            ],
        )
        result = sensor(task_ids=["t1", "t2"], target_statuses=["completed", "skipped"]).poke(context())
    assert [t["id"] for t in result.xcom_value] == ["t1", "t2"]
    assert [r.json()["page"] for r in api.request_history] == [1, 2]
