"""Compare an exported table with the sandbox's truth (``GET /_sandbox/records/<object>``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from airflow_provider_apollo._warehouse.sql import SqlDestination


def truth(base_url: str, name: str) -> dict[str, Any]:
    """``{"live": [...], "deleted": [...]}`` of ``name`` as the sandbox knows it."""
    root = base_url.split("/api/v1")[0]
    answer = requests.get(f"{root}/_sandbox/records/{name}", timeout=120)
    answer.raise_for_status()
    return dict(answer.json())


def compare(base_url: str, destination: SqlDestination, name: str) -> dict[str, int]:
    """Missing, stale, deleted-but-live and live-but-marked-deleted rows of ``apollo_<name>``.

    Stale: a field the truth shows differs from the stored raw record (``updated_at`` is compared
    only where the API record carries one: the sandbox keeps it internally for deals and tasks).
    """
    known = truth(base_url, name)
    rows = destination.execute(f"SELECT id, raw, deleted_at FROM {destination.qualified('apollo_' + name)}")
    stored = {str(r[0]): (json.loads(r[1]), r[2]) for r in rows}
    counts = {"live": 0, "missing": 0, "stale": 0, "deleted_but_live": 0, "live_but_marked_deleted": 0}
    for record in known["live"]:
        counts["live"] += 1
        row = stored.get(record["id"])
        if row is None:
            counts["missing"] += 1
            continue
        raw, deleted_at = row
        if deleted_at is not None:
            counts["live_but_marked_deleted"] += 1
        if _differs(record, raw):
            counts["stale"] += 1
    for record_id in known["deleted"]:
        row = stored.get(record_id)
        if row is not None and row[1] is None:
            counts["deleted_but_live"] += 1
    return counts


def _differs(record: Mapping[str, Any], raw: Mapping[str, Any]) -> bool:
    for field, value in record.items():
        if field not in raw and field == "updated_at":
            continue
        if raw.get(field) != value:
            return True
    return False


CLEAN = {"missing": 0, "stale": 0, "deleted_but_live": 0, "live_but_marked_deleted": 0}


def problems(counts: Mapping[str, int]) -> dict[str, int]:
    """The counts that must be zero."""
    return {k: counts[k] for k in CLEAN}
