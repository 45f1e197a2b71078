"""ApolloJobPostingsSensor: validation, poking, domain resolution, credits, deferral."""

from __future__ import annotations

import datetime
from typing import Any
from unittest.mock import MagicMock

import pendulum
import pytest
import requests_mock as requests_mock_module
from airflow.exceptions import AirflowRescheduleException
from airflow.providers.common.compat.sdk import DAG, AirflowException, TaskDeferred
from airflow.sdk.execution_time import macros

from airflow_provider_apollo.exceptions import ApolloAuthenticationError, ApolloConfigurationError
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.triggers.job_postings import ApolloJobPostingsTrigger
from tests._support import CANARY_KEY

INTERVAL_START = pendulum.datetime(2026, 3, 1, tz="UTC")
ORG_A, ORG_B = "5e66b6381e05b4008c8331b8", "5f5e1d2c3b4a596877665544"


@pytest.fixture
def hook(fake_hook_class: Any, make_posting: Any) -> Any:
    return fake_hook_class(
        organizations={"acme.com": ORG_A, "globex.io": ORG_B},
        postings={
            ORG_A: [
                make_posting("Account Executive", "2026-03-02T09:00:00.000+00:00", "jp1"),
                make_posting("Sales Engineer", "2026-02-20T09:00:00.000+00:00", "jp2"),  # too old
            ],
            ORG_B: [make_posting("Data Engineer", "2026-03-03T09:00:00.000+00:00", "jp3")],
        },
    )


def sensor(hook: Any = None, **kwargs: Any) -> ApolloJobPostingsSensor:
    kwargs.setdefault("task_id", "wait_for_job_postings")
    if "organization_ids" not in kwargs:
        kwargs.setdefault("organization_domains", ["acme.com", "globex.io"])
    built = ApolloJobPostingsSensor(**kwargs)
    if hook is not None:
        built.hook = hook  # replaces the cached_property
    return built


def context(**extra: Any) -> dict[str, Any]:
    return {"data_interval_start": INTERVAL_START, "ti": MagicMock(name="ti"), **extra}


class TestValidation:
    @pytest.mark.parametrize(
        "kwargs",
        [
            {"organization_ids": ["x"], "organization_domains": ["acme.com"]},
            {"organization_domains": None},
        ],
    )
    def test_exactly_one_of_ids_or_domains(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(
            ApolloConfigurationError, match="exactly one of organization_ids or organization_domains"
        ):
            ApolloJobPostingsSensor(task_id="s", **kwargs)

    @pytest.mark.parametrize("per_page", [0, 10_001, "100", True])
    def test_per_page_range(self, per_page: Any) -> None:
        with pytest.raises(ApolloConfigurationError, match="per_page"):
            sensor(per_page=per_page)

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"posted_after": "last tuesday"}, "posted_after='last tuesday' is not an ISO 8601"),
            ({"organization_domains": ["acme.com", 7]}, r"organization_domains\[1\]"),
            ({"organization_ids": "['a', 'b']"}, "render_template_as_native_obj"),
            ({"title_keywords": ["sales", None]}, r"title_keywords\[1\]"),
        ],
    )
    def test_bad_arguments_fail_before_any_request(
        self, hook: Any, kwargs: dict[str, Any], fragment: str
    ) -> None:
        with pytest.raises(ApolloConfigurationError, match=fragment):
            sensor(hook, **kwargs).poke(context())
        assert hook.calls == []

    @pytest.mark.parametrize("kwargs", [{"organization_domains": []}, {"organization_ids": []}])
    def test_an_empty_watch_list_is_done_at_once_without_a_request(
        self, hook: Any, kwargs: dict[str, Any]
    ) -> None:
        """An upstream task found no organization today: nothing to wait for, nothing spent."""
        result = sensor(hook, **kwargs).poke(context())
        assert result.is_done and result.xcom_value == []
        assert hook.calls == []

    def test_organization_and_account_records_give_their_organization_ids(self) -> None:
        from airflow_provider_apollo.sensors.job_postings import organization_ids

        records = [{"id": "org1", "name": "Acme"}, {"id": "acct9", "organization_id": "org2"}, "org3", "org1"]
        assert organization_ids(records) == ["org1", "org2", "org3"]
        with pytest.raises(ApolloConfigurationError, match=r"organization_ids\[0\]"):
            organization_ids([{"name": "no id"}])

    def test_no_posted_after_and_no_data_interval_says_what_to_pass(self, hook: Any) -> None:
        with pytest.raises(ApolloConfigurationError, match=r"no data interval.*Pass posted_after"):
            sensor(hook).poke({"data_interval_start": None})
        assert hook.calls == []

    def test_domains_apollo_does_not_know_fail_clearly(self, hook: Any) -> None:
        with pytest.raises(ApolloConfigurationError, match="knows none of organization_domains"):
            sensor(hook, organization_domains=["nowhere.example"]).poke(context())


class TestPoke:
    def test_returns_the_hiring_organizations_and_their_matching_postings(self, hook: Any) -> None:
        result = sensor(hook, title_keywords=["account executive", "sales"]).poke(context())
        assert result.is_done
        assert result.xcom_value == [
            {
                "organization_id": ORG_A,
                "organization_domain": "acme.com",
                "postings": [hook.postings[ORG_A][0]],
            }
        ]
        assert hook.calls == [
            ("bulk_enrich_organizations", ["acme.com", "globex.io"]),
            ("iter_job_postings", (ORG_A, 100)),
            ("iter_job_postings", (ORG_B, 100)),
        ]

    def test_not_done_without_new_matching_postings(self, hook: Any) -> None:
        result = sensor(hook, title_keywords=["marketing"]).poke(context())
        assert not result.is_done
        assert result.xcom_value is None

    def test_ids_are_watched_without_any_enrichment(self, hook: Any) -> None:
        result = sensor(hook, organization_ids=[ORG_B], per_page=500).poke(context())
        assert result.xcom_value == [
            {"organization_id": ORG_B, "organization_domain": None, "postings": hook.postings[ORG_B]}
        ]
        assert hook.calls == [("iter_job_postings", (ORG_B, 500))]

    def test_posted_after_overrides_the_data_interval(self, hook: Any) -> None:
        result = sensor(hook, posted_after="2026-02-01T00:00:00Z", title_keywords=["sales"]).poke(context())
        assert [p["id"] for p in result.xcom_value[0]["postings"]] == ["jp2"]

    def test_unknown_domains_are_warned_about_and_skipped(
        self, hook: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        result = sensor(hook, organization_domains=["https://www.ACME.com/jobs", "nowhere.example"]).poke(
            context()
        )
        assert [entry["organization_domain"] for entry in result.xcom_value] == ["acme.com"]
        logged = capsys.readouterr().out
        assert "Apollo knows no organization for: nowhere.example" in logged
        assert f"acme.com={ORG_A}" in logged  # the ids, so users can pass them instead

    def test_domains_resolve_once_across_pokes_of_one_try(self, hook: Any) -> None:
        poking = sensor(hook, title_keywords=["marketing"], mode="poke")
        for _ in range(3):
            poking.poke(context())
        assert [name for name, _ in hook.calls].count("bulk_enrich_organizations") == 1

    def test_domains_resolve_once_across_reschedules(self, hook: Any, state_store: Any) -> None:
        # Each reschedule builds a new sensor instance: only the task state store survives.
        for _ in range(3):
            sensor(hook, title_keywords=["marketing"]).poke(context(task_state_store=state_store))
        assert [name for name, _ in hook.calls].count("bulk_enrich_organizations") == 1
        assert hook.credits_spent == 2 + 3 * 2  # two domains once, then one page per org per poke

    def test_changed_domains_are_resolved_again(self, hook: Any, state_store: Any) -> None:
        sensor(hook).poke(context(task_state_store=state_store))
        sensor(hook, organization_domains=["globex.io"]).poke(context(task_state_store=state_store))
        assert [args for name, args in hook.calls if name == "bulk_enrich_organizations"] == [
            ["acme.com", "globex.io"],
            ["globex.io"],
        ]

    def test_each_poke_logs_the_credits_it_spent(self, hook: Any, capsys: pytest.CaptureFixture[str]) -> None:
        poking = sensor(hook, title_keywords=["marketing"], mode="poke")
        poking.poke(context())
        poking.poke(context())
        logged = capsys.readouterr().out
        assert "0 of 2 organizations hiring" in logged
        assert "4 credits spent by this poke, 4 by this try" in logged  # 2 lookups + 2 pages
        assert "2 credits spent by this poke, 6 by this try" in logged

    def test_short_poke_interval_warns_about_credits(
        self, hook: Any, capsys: pytest.CaptureFixture[str]
    ) -> None:
        sensor(hook, poke_interval=60, mode="poke").execute(context())
        assert "poke_interval=60 s: every poke pages the job postings" in capsys.readouterr().out

    def test_reschedule_mode_reschedules_when_not_done(self, hook: Any) -> None:
        ti = MagicMock(name="ti")
        ti.get_first_reschedule_date.return_value = None
        with pytest.raises(AirflowRescheduleException):
            sensor(hook, title_keywords=["marketing"]).execute(context(ti=ti))

    def test_defaults_are_frugal(self) -> None:
        built = sensor()
        assert (built.poke_interval, built.mode, built.per_page) == (3600, "reschedule", 100)


class TestTemplating:
    def test_templated_arguments_render(self, hook: Any) -> None:
        with DAG("t", schedule=None, start_date=INTERVAL_START, render_template_as_native_obj=True):
            templated = sensor(
                hook,
                organization_domains="{{ params.domains }}",
                title_keywords="{{ params.keywords }}",
                posted_after="{{ (data_interval_start - macros.timedelta(days=30)).isoformat() }}",
                params={"domains": ["acme.com"], "keywords": ["sales"]},
            )
        ctx = context()
        ctx.update(params={"domains": ["acme.com"], "keywords": ["sales"]}, macros=macros)
        templated.render_template_fields(ctx)
        assert templated.organization_domains == ["acme.com"]
        assert templated.posted_after == "2026-01-30T00:00:00+00:00"
        result = templated.poke(ctx)
        # "Sales Engineer" (Feb 20) is inside the 30-day window; "Account Executive" has no keyword.
        assert [p["id"] for p in result.xcom_value[0]["postings"]] == ["jp2"]


class TestDeferrable:
    def test_defers_with_the_resolved_ids_when_not_done(self, hook: Any) -> None:
        deferring = sensor(
            hook, deferrable=True, title_keywords=["marketing"], timeout=7200, poke_interval=1800
        )
        with pytest.raises(TaskDeferred) as deferred:
            deferring.execute(context())
        trigger = deferred.value.trigger
        assert isinstance(trigger, ApolloJobPostingsTrigger)
        assert deferred.value.method_name == "execute_complete"
        assert deferred.value.timeout == datetime.timedelta(seconds=7200)
        _, kwargs = trigger.serialize()
        assert kwargs["organizations"] == [
            {"id": ORG_A, "domain": "acme.com"},
            {"id": ORG_B, "domain": "globex.io"},
        ]
        assert kwargs["posted_after"] == "2026-03-01T00:00:00+00:00"
        assert kwargs["title_keywords"] == ["marketing"]
        assert kwargs["poll_interval"] == 1800
        # One lookup and one look before deferring; the trigger never enriches.
        assert [name for name, _ in hook.calls] == [
            "bulk_enrich_organizations",
            "iter_job_postings",
            "iter_job_postings",
        ]

    def test_returns_at_once_when_already_done(self, hook: Any) -> None:
        result = sensor(hook, deferrable=True, title_keywords=["account executive"]).execute(context())
        assert [entry["organization_id"] for entry in result] == [ORG_A]

    def test_execute_complete_returns_the_trigger_data(self) -> None:
        data = [{"organization_id": ORG_A, "organization_domain": None, "postings": []}]
        event = {"status": "success", "data": data, "credits_spent": 3, "requests_sent": 3, "polls": 2}
        assert sensor().execute_complete(context(), event) == data

    def test_execute_complete_raises_the_same_error_class(self) -> None:
        event = {
            "status": "error",
            "message": "Apollo refused the API key for GET organizations/x/job_postings (401).",
            "error_type": "ApolloAuthenticationError",
        }
        with pytest.raises(ApolloAuthenticationError, match="failed while deferred: Apollo refused"):
            sensor().execute_complete(context(), event)

    def test_execute_complete_refuses_an_unknown_status(self) -> None:
        with pytest.raises(AirflowException, match="unknown status 'timeout'"):
            sensor().execute_complete(context(), {"status": "timeout", "message": "no postings in 20 h"})


class TestAgainstTheApi:
    """One poke through the real ApolloHook: what goes over the wire."""

    def test_requests_sent_and_result(self, apollo_connection: None, make_posting: Any) -> None:
        base = "https://api.apollo.io/api/v1"
        new = make_posting("Sales Manager", "2026-03-04T10:00:00.000+00:00", "jp9")
        with requests_mock_module.Mocker() as api:
            api.get(
                f"{base}/organizations/{ORG_A}/job_postings",
                json={"organization_job_postings": [new], "pagination": {"page": 1, "total_pages": 1}},
            )
            result = ApolloJobPostingsSensor(
                task_id="s", organization_ids=[ORG_A], title_keywords=["sales"]
            ).poke(context())
        assert result.xcom_value == [
            {"organization_id": ORG_A, "organization_domain": None, "postings": [new]}
        ]
        (request,) = api.request_history
        assert request.qs == {"page": ["1"], "per_page": ["100"]}
        assert request.headers["X-Api-Key"] == CANARY_KEY
        assert "canary" not in request.url
