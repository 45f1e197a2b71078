"""The CRM export against the sandbox, to SQLite and a real PostgreSQL: complete, incremental, deletes."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_apollo._api.crm_objects import CRM_OBJECTS, crm_object
from airflow_provider_apollo._warehouse.records import TableSpec
from airflow_provider_apollo._warehouse.sql import SqlDestination
from airflow_provider_apollo._warehouse.state import ExportStateStore
from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks._transport import quota_store
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.transfers._crm_export import CrmExport
from airflow_provider_apollo.transfers._export_run import ExportResult, table_spec
from tests.transfers.truth import CLEAN, compare, problems

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox


pytestmark = pytest.mark.slow  # a seeded sandbox CRM, exported several times: seconds each
LOOKBACK = timedelta(minutes=5)
ACTIVITY = {
    "seed": 3,
    "update": 40,
    "create": 25,
    "delete": 12,
    "move_stage": 20,
    "account_update": 7,
    "account_create": 3,
    "account_delete": 2,
    "deal_update": 4,
    "deal_create": 2,
    "task_complete": 9,
    "task_create": 5,
}


def export_all(destination: SqlDestination, *, reconcile: bool = False) -> dict[str, ExportResult]:
    results = {}
    for name in CRM_OBJECTS:
        hook = ApolloHook()
        export = CrmExport(hook, crm_object(name), destination, lookback=LOOKBACK, reconcile=reconcile)
        results[name] = export.run()
    return results


def assert_matches_truth(sandbox: ApolloSandbox, destination: SqlDestination) -> None:
    for name in CRM_OBJECTS:
        counts = compare(sandbox.base_url, destination, name)
        assert problems(counts) == CLEAN, (name, counts)
        assert counts["live"] > 0, name


def test_export_then_activity_then_export_matches_the_truth(
    crm_sandbox: ApolloSandbox, warehouse: SqlDestination
) -> None:
    first = export_all(warehouse)
    assert first["contacts"].mode == "full" and first["contacts"].created == 1500
    assert first["contacts"].calls <= math.ceil(1500 / 100) + 2  # + the newest-update probe
    assert_matches_truth(crm_sandbox, warehouse)

    did = crm_sandbox.activity(**ACTIVITY)
    second = export_all(warehouse)
    contacts = second["contacts"]
    assert contacts.mode == "incremental"
    changed = ACTIVITY["update"] + ACTIVITY["create"] + ACTIVITY["move_stage"]
    # Only what changed (plus the lookback's overlap, which is empty here) is read.
    assert contacts.calls <= math.ceil(changed / 100) + 1, contacts
    assert contacts.created == ACTIVITY["create"]
    # An update and a stage move may touch the same contact: one row update.
    assert 0 < contacts.updated <= ACTIVITY["update"] + ACTIVITY["move_stage"], (contacts, did)
    assert second["accounts"].created == ACTIVITY["account_create"]
    assert second["accounts"].deleted == ACTIVITY["account_delete"]
    assert second["tasks"].created == ACTIVITY["task_create"]
    for name in CRM_OBJECTS:
        if name != "contacts":
            assert problems(compare(crm_sandbox.base_url, warehouse, name)) == CLEAN, name
    # Deleted contacts appear only after a reconcile (an incremental read cannot see them).
    after = compare(crm_sandbox.base_url, warehouse, "contacts")
    assert {**problems(after), "deleted_but_live": 0} == CLEAN
    assert after["deleted_but_live"] == ACTIVITY["delete"]

    third = export_all(warehouse, reconcile=True)
    assert third["contacts"].mode == "reconcile" and third["contacts"].deleted == ACTIVITY["delete"]
    assert third["contacts"].created == 0 and third["contacts"].updated == 0
    assert_matches_truth(crm_sandbox, warehouse)


def test_a_run_killed_half_way_is_continued_and_loses_nothing(
    crm_sandbox: ApolloSandbox, warehouse: SqlDestination, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = crm_object("contacts")

    class Killed(Exception):
        pass

    writes = {"flushes": 0}
    original = SqlDestination.upsert

    def dying_upsert(self: SqlDestination, *args: Any, **kwargs: Any) -> Any:
        writes["flushes"] += 1
        if writes["flushes"] == 2:  # the second batch of rows: the first is committed
            raise Killed("worker lost")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SqlDestination, "upsert", dying_upsert)
    with pytest.raises(Killed):
        CrmExport(ApolloHook(), contacts, warehouse, lookback=LOOKBACK).run()
    monkeypatch.setattr(SqlDestination, "upsert", original)
    state = ExportStateStore(warehouse).load("contacts")
    done_pages = state.progress["next_page"] - 1
    assert state.cursor is None and 1 <= done_pages < 15
    # The rows and the progress were committed together: exactly the pages it says are done.
    assert warehouse.counts(crm_object_spec()) == {"live": done_pages * 100, "deleted": 0}

    hook = ApolloHook()
    resumed = CrmExport(hook, contacts, warehouse, lookback=LOOKBACK).run()
    assert resumed.complete and resumed.created == 1500 - done_pages * 100
    assert hook.requests_sent == 15 - done_pages  # only the pages not yet written: nothing read twice
    assert problems(compare(crm_sandbox.base_url, warehouse, "contacts")) == CLEAN
    assert ExportStateStore(warehouse).load("contacts").cursor is not None


def crm_object_spec() -> TableSpec:
    return table_spec(crm_object("contacts"))


def test_a_run_cut_by_a_closed_hourly_window_resumes_without_rereading(
    crm_sandbox: ApolloSandbox, warehouse: SqlDestination, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider_apollo.sandbox import SandboxLimits, WindowLimits

    contacts = crm_object("contacts")
    # The hour window holds 8 calls: 1 plan page + 1 newest-update probe + 6 more pages.
    crm_sandbox.configure(limits=SandboxLimits(other=WindowLimits(per_hour=8)))
    with pytest.raises(ApolloQuotaExhaustedError, match=r"(?s)per-hour.*saved its progress") as cut:
        CrmExport(ApolloHook(), contacts, warehouse, lookback=LOOKBACK).run()
    assert "next run continues" in str(cut.value)
    saved = ExportStateStore(warehouse).load("contacts")
    assert saved.cursor is None and saved.progress["next_page"] >= 2
    stored = warehouse.counts(crm_object_spec())["live"]
    assert stored == (saved.progress["next_page"] - 1) * 100

    crm_sandbox.configure(limits=SandboxLimits())  # the window reopened...
    # ...and the next run is an hour later: the host's quota store no longer holds it closed.
    monkeypatch.setattr(quota_store, "default_store_directory", lambda: tmp_path / "an-hour-later")
    hook = ApolloHook()
    resumed = CrmExport(hook, contacts, warehouse, lookback=LOOKBACK).run()
    assert resumed.complete and resumed.created == 1500 - stored
    assert hook.requests_sent == 15 - (saved.progress["next_page"] - 1)
    assert problems(compare(crm_sandbox.base_url, warehouse, "contacts")) == CLEAN
