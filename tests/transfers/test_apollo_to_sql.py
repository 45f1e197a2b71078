"""ApolloCrmExportOperator: arguments checked first, the Asset event carries what changed."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.transfers.apollo_to_sql import ApolloCrmExportOperator, as_flag, crm_export_asset

if TYPE_CHECKING:
    from airflow_provider_apollo._warehouse.sql import SqlDestination
    from airflow_provider_apollo.sandbox import ApolloSandbox


def test_an_unknown_object_is_refused_naming_the_argument() -> None:
    operator = ApolloCrmExportOperator(task_id="t", object="{{ params.object }}")
    operator.object = "leads"
    with pytest.raises(ApolloConfigurationError, match=r"object must be one of contacts, accounts"):
        operator.execute({})  # type: ignore[arg-type]
    assert "hook" not in operator.__dict__  # refused before any request


def test_reconcile_accepts_rendered_booleans_only() -> None:
    assert as_flag("True", "reconcile") is True and as_flag(False, "reconcile") is False
    with pytest.raises(ApolloConfigurationError, match="reconcile must be true or false"):
        as_flag("sometimes", "reconcile")


def test_a_literal_object_declares_its_asset() -> None:
    operator = ApolloCrmExportOperator(task_id="t", object="accounts")
    assert (
        [a.uri for a in operator.outlets] == [crm_export_asset("accounts").uri] == ["apollo://crm/accounts"]
    )


@pytest.mark.slow  # a seeded sandbox CRM
@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_the_export_returns_and_publishes_what_changed(
    crm_sandbox: ApolloSandbox, warehouse: SqlDestination
) -> None:
    operator = ApolloCrmExportOperator(task_id="export_contacts", object="contacts", lookback=timedelta(0))
    events: dict[Any, Any] = defaultdict(lambda: SimpleNamespace(extra={}))
    result = operator.execute({"run_id": "manual__1", "outlet_events": events})  # type: ignore[arg-type]
    assert result["object"] == "contacts" and result["created"] == 1500 and result["complete"] is True
    (asset,) = operator.outlets
    assert events[asset].extra == result
    assert warehouse.counts(operator_spec())["live"] == 1500


def operator_spec() -> Any:
    from airflow_provider_apollo._api.crm_objects import crm_object
    from airflow_provider_apollo.transfers._export_run import table_spec

    return table_spec(crm_object("contacts"))


@pytest.mark.slow  # a seeded sandbox CRM
@pytest.mark.parametrize("warehouse", ["sqlite"], indirect=True)
def test_export_path_gets_gzip_json_lines_and_a_manifest(
    crm_sandbox: ApolloSandbox, warehouse: SqlDestination, tmp_path: Any
) -> None:
    from airflow_provider_apollo._warehouse.object_storage import read_jsonl, storage_path

    operator = ApolloCrmExportOperator(
        task_id="export_accounts", object="accounts", export_path=str(tmp_path)
    )
    result = operator.execute({"run_id": "scheduled__2026-01-02T00:00:00+00:00"})  # type: ignore[arg-type]
    folder = tmp_path / "accounts" / "scheduled__2026-01-02T00_00_00_00_00"
    manifest = json.loads((folder / "_manifest.json").read_text())
    records = [r for part in manifest["parts"] for r in read_jsonl(storage_path(str(folder / part)))]
    assert len(records) == result["records"] == 150
    assert {r["id"] for r in records} == set(warehouse.live_ids(_accounts_spec()))


def _accounts_spec() -> Any:
    from airflow_provider_apollo._api.crm_objects import crm_object
    from airflow_provider_apollo.transfers._export_run import table_spec

    return table_spec(crm_object("accounts"))
