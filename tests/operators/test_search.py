from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.search import (
    ApolloSearchOrganizationsOperator,
    ApolloSearchPeopleOperator,
)


def _people(count: int) -> list[dict[str, Any]]:
    return [{"id": f"p{i}", "first_name": f"Ann{i}", "title": "VP Sales"} for i in range(count)]


def test_people_search_returns_the_people_and_logs_calls(hook, attach, context, capsys):
    hook.iter_people.return_value = iter(_people(3))
    hook.requests_sent = 1
    op = attach(
        ApolloSearchPeopleOperator(task_id="s", filters={"person_titles": ["VP Sales"]}, max_records=3)
    )

    result = op.execute(context)

    assert result == _people(3)
    # Three wanted: one page of three, not a page of 100.
    hook.iter_people.assert_called_once_with(
        {"person_titles": ["VP Sales"]}, max_records=3, per_page=3, legacy=False
    )
    assert "Found 3 people; 0 credits spent in 1 call." in capsys.readouterr().out


def test_people_search_max_records_none_means_everything(hook, attach, context):
    hook.iter_people.return_value = iter(_people(250))
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, max_records=None, legacy=True))

    assert len(op.execute(context)) == 250
    hook.iter_people.assert_called_once_with({}, max_records=None, per_page=100, legacy=True)


def test_unknown_filter_key_fails_and_no_output_file_is_written(hook, attach, context, tmp_path):
    def refuse(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        raise ApolloConfigurationError("Unknown people-search filter 'titles'; did you mean 'person_titles'?")
        yield {}  # pragma: no cover - makes this a generator, like the hook's

    hook.iter_people.side_effect = refuse
    target = tmp_path / "people.jsonl"
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={"titles": ["CEO"]}, output_path=str(target)))

    with pytest.raises(ApolloConfigurationError, match="person_titles"):
        op.execute(context)
    assert not target.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": ["person_titles"]}, "filters must be a mapping"),
        ({"filters": {}, "max_records": 0}, "max_records must be None or an integer >= 1"),
        ({"filters": {}, "max_records": "lots"}, "max_records"),
        ({"filters": {}, "per_page": 101}, "per_page must be an integer from 1 to 100"),
        ({"filters": {}, "output_path": ""}, "output_path"),
    ],
)
def test_people_search_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    op = attach(ApolloSearchPeopleOperator(task_id="s", **kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_people_search_streams_to_output_path(hook, attach, context, tmp_path):
    hook.iter_people.return_value = iter(_people(5))
    target = tmp_path / "out" / "people.jsonl"
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, output_path=str(target)))

    result = op.execute(context)

    assert result == {"path": str(target), "count": 5}
    lines = target.read_text().splitlines()
    assert [json.loads(line) for line in lines] == _people(5)


def test_a_failure_while_paging_leaves_no_half_written_output(hook, attach, context, tmp_path):
    """Page 1 was written when page 2 failed: the file goes, so nobody reads it as complete."""
    target = tmp_path / "people.jsonl"

    def pages(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from _people(2)
        raise ConnectionError("page 2 failed")

    hook.iter_people.side_effect = pages
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, output_path=str(target)))

    with pytest.raises(ConnectionError):
        op.execute(context)
    assert not target.exists()


def test_a_downstream_operator_reads_records_from_an_upstream_output_path(hook, attach, context, tmp_path):
    """``output_path`` keeps big results out of XCom; the next operator reads the file back."""
    from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator

    hook.iter_people.return_value = iter(_people(3))
    search = attach(
        ApolloSearchPeopleOperator(task_id="s", filters={}, output_path=str(tmp_path / "people.jsonl"))
    )
    reference = search.execute(context)
    hook.find_existing_contacts.return_value = [None, None, None]
    hook.bulk_enrich_people.side_effect = lambda details, **kwargs: [{"id": d["id"]} for d in details]
    enrich = attach(ApolloEnrichPeopleOperator(task_id="e", people=reference))

    results = enrich.execute(context)

    assert [r["input"] for r in results] == _people(3)
    assert [r["status"] for r in results] == ["matched"] * 3


def test_an_output_reference_whose_file_was_cut_is_refused(hook, attach, context, tmp_path):
    from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator

    target = tmp_path / "people.jsonl"
    target.write_text(json.dumps(_people(1)[0]) + "\n")
    enrich = attach(ApolloEnrichPeopleOperator(task_id="e", people={"path": str(target), "count": 3}))

    with pytest.raises(ApolloConfigurationError, match="holds 1 records where the upstream task wrote 3"):
        enrich.execute(context)
    assert hook.method_calls == []


def test_people_search_surfaces_the_display_cap(hook, attach, context, capsys, monkeypatch):
    monkeypatch.setattr("airflow_provider_apollo.operators.search.DISPLAY_CAP", 4)
    hook.iter_people.return_value = iter(_people(4))
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, max_records=None))

    op.execute(context)

    log = capsys.readouterr().out
    assert "display cap of 4 people" in log
    assert "Split it" in log


def test_no_cap_warning_when_max_records_asked_for_exactly_that(hook, attach, context, capsys, monkeypatch):
    monkeypatch.setattr("airflow_provider_apollo.operators.search.DISPLAY_CAP", 4)
    hook.iter_people.return_value = iter(_people(4))
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, max_records=4))

    op.execute(context)

    assert "display cap" not in capsys.readouterr().out


def test_people_search_templates_filters_max_records_and_output_path():
    op = ApolloSearchPeopleOperator(
        task_id="s",
        filters={"person_locations": ["{{ params.country }}"]},
        max_records="{{ params.n }}",
        output_path="/data/{{ ds }}/people.jsonl",
    )
    op.render_template_fields({"params": {"country": "Germany", "n": 20}, "ds": "2026-03-01"})

    assert op.filters == {"person_locations": ["Germany"]}
    assert op.max_records == "20"
    assert op.output_path == "/data/2026-03-01/people.jsonl"


def test_rendered_max_records_string_is_accepted(hook, attach, context):
    hook.iter_people.return_value = iter(_people(2))
    op = attach(ApolloSearchPeopleOperator(task_id="s", filters={}, max_records="20"))
    op.execute(context)
    hook.iter_people.assert_called_once_with({}, max_records=20, per_page=20, legacy=False)


def test_organization_search_logs_pages_and_credits(hook: MagicMock, attach, context, capsys):
    organizations = [{"id": f"o{i}", "name": f"Org {i}"} for i in range(230)]

    def pages(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for index, organization in enumerate(organizations):
            if index % 100 == 0:
                hook.credits_spent += 1
                hook.requests_sent += 1
            yield organization

    hook.iter_organizations.side_effect = pages
    op = attach(
        ApolloSearchOrganizationsOperator(
            task_id="o", filters={"organization_locations": ["Berlin"]}, max_records=None
        )
    )

    result = op.execute(context)

    assert result == organizations
    hook.iter_organizations.assert_called_once_with(
        {"organization_locations": ["Berlin"]}, max_records=None, per_page=100
    )
    assert (
        "Found 230 organizations in 3 pages of up to 100; 3 credits spent in 3 calls."
        in capsys.readouterr().out
    )


def test_organization_search_output_path(hook, attach, context, tmp_path):
    hook.iter_organizations.return_value = iter([{"id": "o1"}, {"id": "o2"}])
    target = tmp_path / "orgs.jsonl"
    op = attach(ApolloSearchOrganizationsOperator(task_id="o", filters={}, output_path=f"file://{target}"))

    result = op.execute(context)

    assert result["count"] == 2
    assert target.read_text() == '{"id":"o1"}\n{"id":"o2"}\n'


def test_a_search_that_finds_nobody_says_which_filters_were_sent_and_where_the_sandbox_names_are(
    apollo_sandbox, context, capsys
):
    """The README's first try, 'VP Sales' on the sandbox (whose titles read 'VP of Sales')."""
    from airflow_provider_apollo.hooks.apollo import ApolloHook

    operator = ApolloSearchPeopleOperator(
        task_id="search", filters={"person_titles": ["VP Sales"], "person_locations": ["United States"]}
    )
    operator.hook = ApolloHook()
    assert operator.execute(context) == []
    logged = capsys.readouterr().out
    assert "Found 0 people" in logged
    assert '"person_titles": ["VP Sales"]' in logged and '"person_locations": ["United States"]' in logged
    assert "check each value" in logged
    assert f"GET {apollo_sandbox.base_url}/_sandbox/world" in logged


def test_a_search_that_finds_nobody_on_apollo_does_not_mention_the_sandbox(hook, attach, context, capsys):
    hook.iter_people.return_value = iter([])
    hook.base_url = "https://api.apollo.io/api/v1"
    attach(ApolloSearchPeopleOperator(task_id="s", filters={"person_titles": ["CRO"]})).execute(context)
    logged = capsys.readouterr().out
    assert '"person_titles": ["CRO"]' in logged
    assert "_sandbox" not in logged
