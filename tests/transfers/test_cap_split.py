"""Past the 500-page cap with proof, on a fake Apollo (requests-mock): split, two ends, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests_mock as requests_mock_module

from airflow_provider_apollo._api.crm_objects import crm_object
from airflow_provider_apollo._warehouse.sql import SqlDestination
from airflow_provider_apollo._warehouse.state import ExportStateStore
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.transfers._crm_export import CrmExport
from airflow_provider_apollo.transfers._export_run import table_spec
from airflow_provider_apollo.transfers._slices import IncompleteReadError

BASE = "https://api.apollo.io/api/v1"
CAP_PAGES = 500


class FakeContacts:
    """``contacts/search`` over a list, sorted and paged like Apollo, with the display cap."""

    def __init__(self, stages: dict[str | None, int], *, partial: bool = False) -> None:
        self.contacts: list[dict[str, Any]] = []
        n = 0
        for stage, count in stages.items():
            for _ in range(count):
                stamp = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00.{n % 1000:03d}Z"
                self.contacts.append(
                    {"id": f"c{n:07d}", "contact_stage_id": stage, "created_at": stamp, "updated_at": stamp}
                )
                n += 1
        self.partial = partial
        self.pages_served = 0
        self._sorted: dict[Any, list[dict[str, Any]]] = {}

    def search(self, request: Any, context: Any) -> dict[str, Any]:
        body = request.json()
        stages = tuple(body.get("contact_stage_ids") or ())
        field = str(body.get("sort_by_field") or "").removeprefix("contact_")
        key = (stages, field, bool(body.get("sort_ascending")), len(self.contacts))
        if key not in self._sorted:  # Apollo sorts once per query; so does the fake (fast tests)
            found = [c for c in self.contacts if not stages or c["contact_stage_id"] in stages]
            if field:
                found.sort(key=lambda c: (c[field], c["id"]), reverse=not body.get("sort_ascending"))
            self._sorted[key] = found
        found = self._sorted[key]
        page, per_page = int(body["page"]), int(body["per_page"])
        self.pages_served += 1
        shown = found[(page - 1) * per_page : page * per_page] if page <= CAP_PAGES else []
        return {
            "contacts": shown,
            "partial_results_only": self.partial,
            "pagination": {"page": page, "per_page": per_page, "total_entries": len(found)},
        }

    def stages(self, request: Any, context: Any) -> dict[str, Any]:
        return {"contact_stages": [{"id": s} for s in {c["contact_stage_id"] for c in self.contacts} if s]}


@pytest.fixture
def fake_apollo(monkeypatch: pytest.MonkeyPatch) -> Iterator[requests_mock_module.Mocker]:
    # One request at a time: requests-mock is not made for concurrent sends (the sandbox tests are).
    connection = {
        "conn_type": "apollo",
        "password": "canary-KEY-5e1f0c7a9b3d",
        "extra": {"quota_store": "none", "max_concurrency": 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", json.dumps(connection))
    with requests_mock_module.Mocker() as mocker:
        yield mocker


@pytest.fixture
def sqlite_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlDestination]:
    monkeypatch.setenv(
        "AIRFLOW_CONN_APOLLO_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")})
    )
    with SqlDestination("apollo_warehouse") as destination:
        yield destination


def serve(mocker: requests_mock_module.Mocker, fake: FakeContacts) -> None:
    mocker.post(f"{BASE}/contacts/search", json=fake.search)
    mocker.get(f"{BASE}/contact_stages", json=fake.stages)


def export(destination: SqlDestination) -> Any:
    return CrmExport(ApolloHook(), crm_object("contacts"), destination, lookback=timedelta(hours=1)).run()


@pytest.mark.slow  # tens of thousands of fake contacts paged
def test_over_the_cap_is_split_by_stage_and_read_whole(
    fake_apollo: requests_mock_module.Mocker, sqlite_warehouse: SqlDestination
) -> None:
    # 62,000 contacts: one stage over the cap (read from both ends), two under it.
    fake = FakeContacts({"s1": 52_000, "s2": 7_000, "s3": 3_000})
    serve(fake_apollo, fake)
    result = export(sqlite_warehouse)
    assert result.complete and result.created == 62_000
    assert sqlite_warehouse.counts(table_spec(crm_object("contacts"))) == {"live": 62_000, "deleted": 0}
    # ceil(N/100) = 620 pages of data, + the whole query's page 1, the stages list, the probe,
    # + the two-ended stage's overlap page and the short last pages of each slice.
    assert result.calls <= 620 + 6, result.calls
    assert ExportStateStore(sqlite_warehouse).load("contacts").cursor is not None


@pytest.mark.slow  # tens of thousands of fake contacts paged
def test_records_outside_every_stage_fail_loudly_and_keep_the_cursor(
    fake_apollo: requests_mock_module.Mocker, sqlite_warehouse: SqlDestination
) -> None:
    serve(fake_apollo, FakeContacts({"s1": 30_000, None: 21_000}))
    with pytest.raises(IncompleteReadError, match=r"(?s)51,000.*display cap.*21,000 records are outside"):
        export(sqlite_warehouse)
    assert ExportStateStore(sqlite_warehouse).load("contacts").cursor is None


@pytest.mark.slow  # tens of thousands of fake contacts paged
def test_a_stage_beyond_both_ends_fails_naming_the_cap(
    fake_apollo: requests_mock_module.Mocker, sqlite_warehouse: SqlDestination
) -> None:
    fake = FakeContacts({"s1": 100_001})
    serve(fake_apollo, fake)
    with pytest.raises(IncompleteReadError, match=r"100,001 contacts.*500 pages x 100"):
        export(sqlite_warehouse)
    assert fake.pages_served <= 4  # refused while planning, before paging anything


def test_partial_results_are_not_taken_for_a_complete_read(
    fake_apollo: requests_mock_module.Mocker, sqlite_warehouse: SqlDestination
) -> None:
    serve(fake_apollo, FakeContacts({"s1": 250}, partial=True))
    with pytest.raises(IncompleteReadError, match="partial_results_only"):
        export(sqlite_warehouse)
    assert ExportStateStore(sqlite_warehouse).load("contacts").cursor is None


def test_a_record_tying_with_the_cursor_is_read_even_without_lookback(
    fake_apollo: requests_mock_module.Mocker, sqlite_warehouse: SqlDestination
) -> None:
    fake = FakeContacts({"s1": 300})
    serve(fake_apollo, fake)
    export(sqlite_warehouse)
    cursor = ExportStateStore(sqlite_warehouse).load("contacts").cursor
    assert cursor == max(c["updated_at"] for c in fake.contacts)
    # Stamped in the cursor's millisecond, but not yet visible when the cursor was taken.
    fake.contacts.append(
        {"id": "c-tie", "contact_stage_id": "s1", "created_at": cursor, "updated_at": cursor}
    )
    hook = ApolloHook()
    again = CrmExport(hook, crm_object("contacts"), sqlite_warehouse, lookback=timedelta(0)).run()
    assert again.mode == "incremental" and again.created == 1
    assert hook.requests_sent == 1
    assert "c-tie" in set(sqlite_warehouse.live_ids(table_spec(crm_object("contacts"))))
