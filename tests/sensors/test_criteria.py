"""The done-criteria shared by the poking sensors and their triggers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from airflow_provider_apollo._airflow.arguments import as_string_list as string_list
from airflow_provider_apollo._api.batching import require_domain
from airflow_provider_apollo._api.criteria import (
    TASK_RESULT_FIELDS,
    PostingCriteria,
    TaskCriteria,
)
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.exceptions import ApolloConfigurationError

UTC = datetime.timezone.utc
MARCH_1 = datetime.datetime(2026, 3, 1, tzinfo=UTC)


class TestArguments:
    def test_string_list_wraps_one_string_strips_and_deduplicates(self) -> None:
        assert string_list("ids", " a ") == ["a"]
        assert string_list("ids", ["a", "b", "a", " b "]) == ["a", "b"]

    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            ([], "ids is empty"),
            (["a", ""], r"ids\[1\] must be a non-empty string"),
            (["a", 3], r"ids\[1\] must be a non-empty string; got int 3"),
            ({"a": 1}, r"ids\[0\] must be a non-empty string; got dict"),
            (None, "ids is required"),
            ("['a', 'b']", "render_template_as_native_obj=True"),
        ],
    )
    def test_string_list_names_the_argument_and_the_fault(self, value: Any, fragment: str) -> None:
        with pytest.raises(ApolloConfigurationError, match=fragment):
            string_list("ids", value)

    @pytest.mark.parametrize(
        ("raw", "domain"),
        [
            ("acme.com", "acme.com"),
            ("https://www.Acme.com/careers?x=1", "acme.com"),
            (" WWW.acme.io ", "acme.io"),
        ],
    )
    def test_domains_are_normalised_to_what_apollo_enriches_by(self, raw: str, domain: str) -> None:
        assert require_domain("organization_domains[0]", raw) == domain

    @pytest.mark.parametrize(
        "value",
        [
            "2026-03-01",
            "2026-03-01T00:00:00Z",
            "2026-03-01T01:00:00+01:00",
            datetime.datetime(2026, 3, 1),  # naive: taken as UTC
            datetime.datetime(2026, 2, 28, 19, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        ],
    )
    def test_timestamps_parse_to_the_same_utc_instant(self, value: Any) -> None:
        parsed = parse_instant("posted_after", value)
        assert parsed == MARCH_1
        assert parsed.utcoffset() == datetime.timedelta(0)

    @pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "P1D", "", 20260301])
    def test_unparseable_timestamps_name_the_argument(self, value: Any) -> None:
        with pytest.raises(ApolloConfigurationError, match="posted_after"):
            parse_instant("posted_after", value)


class TestPostingCriteria:
    def test_keeps_newer_postings_whose_title_has_a_keyword(self, make_posting: Any) -> None:
        criteria = PostingCriteria(MARCH_1, ("sales", "Revenue"))
        postings = [
            make_posting("Head of SALES", "2026-03-02T08:00:00.000+00:00"),  # kept: case-insensitive
            make_posting("VP Revenue Operations", "2026-03-01T00:00:01+00:00"),  # kept
            make_posting("Sales Engineer", "2026-03-01T00:00:00+00:00"),  # not strictly newer
            make_posting("Backend Engineer", "2026-03-05T00:00:00+00:00"),  # no keyword
            make_posting("Sales Director", "not a date"),  # cannot be shown new
            {"title": "Sales Lead"},  # no posted_at at all
        ]
        kept = criteria.select(postings)
        assert [p["title"] for p in kept] == ["Head of SALES", "VP Revenue Operations"]

    def test_no_keywords_means_any_title(self, make_posting: Any) -> None:
        criteria = PostingCriteria(MARCH_1)
        assert len(criteria.select([make_posting("Anything", "2026-03-02")])) == 1

    def test_json_round_trip(self) -> None:
        criteria = PostingCriteria(MARCH_1, ("sales",))
        state = criteria.to_json()
        assert state == {"posted_after": "2026-03-01T00:00:00+00:00", "title_keywords": ["sales"]}
        assert PostingCriteria.from_json(**state) == criteria


class TestTaskCriteria:
    def test_done_when_every_matching_task_reached_a_target_status(self, make_task: Any) -> None:
        criteria = TaskCriteria(contact_ids=("c1", "c2"), task_type="call")
        tasks = [
            make_task("t1", "completed", contact_id="c1"),
            make_task("t2", "completed", contact_id="c2"),
            make_task("t3", "scheduled", contact_id="c3"),  # other contact: ignored
            make_task("t4", "scheduled", contact_id="c1", type="action_item"),  # other type: ignored
        ]
        verdict = criteria.evaluate(tasks)
        assert verdict.done
        assert [t["id"] for t in verdict.reached] == ["t1", "t2"]
        assert verdict.summary == "2 of 2 matching tasks are completed"

    def test_not_done_while_one_is_pending(self, make_task: Any) -> None:
        verdict = TaskCriteria(contact_ids=("c1",)).evaluate(
            [make_task("t1", "completed"), make_task("t2", "scheduled")]
        )
        assert not verdict.done
        assert verdict.summary == "1 of 2 matching tasks are completed"

    def test_min_matches_is_enough(self, make_task: Any) -> None:
        criteria = TaskCriteria(contact_ids=("c1",), min_matches=2, target_statuses=("completed", "skipped"))
        tasks = [make_task("t1", "completed"), make_task("t2", "skipped"), make_task("t3", "scheduled")]
        verdict = criteria.evaluate(tasks)
        assert verdict.done
        assert {t["id"] for t in verdict.reached} == {"t1", "t2"}
        assert not criteria.evaluate(tasks[:1] + tasks[2:]).done

    def test_nothing_matching_is_never_done(self, make_task: Any) -> None:
        verdict = TaskCriteria(contact_ids=("nobody",)).evaluate([make_task("t1", "completed")])
        assert not verdict.done
        assert verdict.matching == 0
        assert "no task matches" in verdict.summary

    def test_a_requested_task_id_apollo_did_not_return_keeps_it_waiting(self, make_task: Any) -> None:
        verdict = TaskCriteria(task_ids=("t1", "t9")).evaluate([make_task("t1", "completed")])
        assert not verdict.done
        assert verdict.missing_task_ids == ["t9"]
        assert "not found: t9" in verdict.summary

    def test_results_are_compact_without_the_embedded_contact(self, make_task: Any) -> None:
        verdict = TaskCriteria(task_ids=("t1",)).evaluate([make_task("t1", "completed")])
        (result,) = verdict.reached
        assert tuple(result) == TASK_RESULT_FIELDS
        assert "contact" not in result
        assert "private@example.com" not in repr(result)

    def test_survives_the_trigger_serialization_round_trip(self) -> None:
        from airflow_provider_apollo.triggers.tasks import ApolloTasksTrigger

        criteria = TaskCriteria(("t1",), ("c1",), "call", ("completed", "skipped"), 1)
        trigger = ApolloTasksTrigger(apollo_conn_id="apollo_default", **criteria.to_json())
        _, kwargs = trigger.serialize()
        assert ApolloTasksTrigger(**kwargs).criteria == criteria
