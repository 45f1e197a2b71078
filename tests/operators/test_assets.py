"""``output_path`` as an outlet Asset: declared at parse time when the path is literal.

The scheduling itself (a producer run queues the consumer DAG, the consumer reads the event's
file) runs on the sandbox in tests/e2e/test_assets_and_links_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from airflow.sdk import Asset

from airflow_provider_apollo.operators.assets import output_asset, output_asset_uri
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)
from airflow_provider_apollo.operators.search import (
    ApolloSearchOrganizationsOperator,
    ApolloSearchPeopleOperator,
)

#: Every operator that takes output_path, with its other required arguments.
WITH_OUTPUT_PATH: list[tuple[type[Any], dict[str, Any]]] = [
    (ApolloSearchPeopleOperator, {"filters": {}}),
    (ApolloSearchOrganizationsOperator, {"filters": {}}),
    (ApolloEnrichPeopleOperator, {"people": []}),
    (ApolloEnrichOrganizationsOperator, {"domains": []}),
    (ApolloCreateContactsOperator, {"contacts": []}),
]
OPERATOR_NAMES = [operator_class.__name__ for operator_class, _ in WITH_OUTPUT_PATH]


@pytest.mark.parametrize(("operator_class", "required"), WITH_OUTPUT_PATH, ids=OPERATOR_NAMES)
def test_a_literal_output_path_is_declared_as_an_outlet_asset(operator_class: Any, required: Any, tmp_path):
    path = tmp_path / "apollo" / "out.jsonl"

    op = operator_class(task_id="t", output_path=str(path), **required)

    assert op.outlets == [Asset(uri=path.as_uri())]
    assert op.outlets == [output_asset(str(path))]  # what a consumer DAG schedules on


@pytest.mark.parametrize(("operator_class", "required"), WITH_OUTPUT_PATH, ids=OPERATOR_NAMES)
def test_a_templated_output_path_declares_nothing_but_keeps_the_users_outlets(
    operator_class: Any, required: Any
):
    mine = Asset(uri="s3://bucket/apollo/daily/")

    bare = operator_class(task_id="t", output_path="/data/{{ ds }}/out.jsonl", **required)
    declared = operator_class(task_id="u", output_path="/data/{{ ds }}/out.jsonl", outlets=[mine], **required)

    assert bare.outlets == []
    assert declared.outlets == [mine]
    assert declared.output_path == "/data/{{ ds }}/out.jsonl"  # stored unchanged, rendered at run time


def test_no_output_path_no_outlet():
    assert ApolloSearchPeopleOperator(task_id="t", filters={}).outlets == []


def test_the_users_outlet_for_the_same_file_is_not_declared_twice(tmp_path):
    path = tmp_path / "out.jsonl"
    op = ApolloSearchPeopleOperator(
        task_id="t", filters={}, output_path=str(path), outlets=[Asset(uri=path.as_uri())]
    )
    assert op.outlets == [Asset(uri=path.as_uri())]


@pytest.mark.parametrize(
    ("output_path", "uri"),
    [
        ("/data/apollo/people.jsonl", "file:///data/apollo/people.jsonl"),
        ("file:///data/apollo/people.jsonl", "file:///data/apollo/people.jsonl"),
        ("/data/my files/people.jsonl", "file:///data/my%20files/people.jsonl"),
        # The connection id ObjectStoragePath reads from the user part is not part of the data's name.
        ("s3://aws_default@bucket/apollo/people.jsonl", "s3://bucket/apollo/people.jsonl"),
        ("gs://bucket/people.jsonl", "gs://bucket/people.jsonl"),
        ("people.jsonl", None),  # relative: a different file on each machine
        ("/data/{{ ds }}/people.jsonl", None),  # rendered only at run time
        ("/data/{% if params.eu %}eu{% endif %}.jsonl", None),
    ],
)
def test_asset_uri_of_an_output_path(output_path: str, uri: str | None):
    assert output_asset_uri(output_path) == uri


def test_output_asset_refuses_a_path_without_a_fixed_uri():
    with pytest.raises(ValueError, match=r"outlets=\[Asset"):
        output_asset("/data/{{ ds }}/people.jsonl")


class _OutletEvents:
    """Airflow's outlet event accessors, keyed by the Asset's URI as Airflow keys them.

    (Airflow 3.1's ``Asset`` cannot be hashed itself, so a plain dict would not do.)
    """

    def __init__(self) -> None:
        self.by_uri: dict[str, Any] = {}

    def __getitem__(self, asset: Any) -> Any:
        return self.by_uri.setdefault(asset.uri, MagicMock(extra={}))


def test_the_written_files_reference_becomes_the_asset_events_extra(hook, tmp_path):
    path = tmp_path / "people.jsonl"
    hook.iter_people.return_value = iter([{"id": "p1"}, {"id": "p2"}])
    op = ApolloSearchPeopleOperator(task_id="t", filters={}, output_path=str(path))
    op.hook = hook
    outlet_events = _OutletEvents()

    result = op.execute({"ti": MagicMock(), "outlet_events": outlet_events})

    assert result == {"path": str(path), "count": 2}
    assert outlet_events[Asset(uri=path.as_uri())].extra == result
    assert Path(result["path"]).read_text().count("\n") == 2
