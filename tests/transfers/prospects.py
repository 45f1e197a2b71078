"""A ``prospects`` table for the upsert tests, and Apollo's state read back for comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_apollo._warehouse.sql import SqlDestination

COLUMNS = (
    "prospect_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "lifecycle_stage",
    "owner_email",
    "lead_source",
    "icp_score",
    "tags",
)
CONTACT_MAP = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "title": "title",
    "lifecycle_stage": "stage",
    "owner_email": "owner",
    "lead_source": "custom:Lead Source",
    "icp_score": "custom:ICP Score",
    "tags": "labels",
}
STAGES = ("Cold", "Approaching", "Interested")
TITLES = ("VP Sales", "Head of Data", "CTO", "Analytics Lead")
LABELS = ("Newsletter", "Partner Referral")


def prospects(count: int, owners: Sequence[str], existing_emails: Sequence[str] = ()) -> list[dict[str, Any]]:
    """``count`` valid rows; the first ``len(existing_emails)`` are contacts Apollo already has."""
    rows = []
    for n in range(count):
        rows.append(
            {
                "prospect_id": f"P{n:05d}",
                "email": existing_emails[n]
                if n < len(existing_emails)
                else f"p{n}@warehouse{n % 50}.example.org",
                "first_name": f"First{n}",
                "last_name": f"Last{n}",
                "title": TITLES[n % len(TITLES)],
                "lifecycle_stage": STAGES[n % len(STAGES)],
                "owner_email": owners[n % len(owners)],
                "lead_source": f"campaign-{n % 7}",
                "icp_score": 40 + n % 60,
                "tags": LABELS[n % 2] if n % 3 == 0 else None,
            }
        )
    return rows


def write_table(
    destination: SqlDestination, rows: Sequence[Mapping[str, Any]], table: str = "prospects"
) -> str:
    """Create ``table`` on the destination with ``rows``; its qualified name."""
    name = destination.qualified(table)
    destination.ensure_schema()
    destination.execute(f"DROP TABLE IF EXISTS {name}")
    columns = ", ".join(f"{c} {'INTEGER' if c == 'icp_score' else 'TEXT'}" for c in COLUMNS)
    destination.execute(f"CREATE TABLE {name} ({columns})")
    marks = ", ".join([destination.placeholder] * len(COLUMNS))
    cursor = destination.connection.cursor()
    cursor.executemany(
        f"INSERT INTO {name} VALUES ({marks})", [tuple(row.get(c) for c in COLUMNS) for row in rows]
    )
    destination.connection.commit()
    cursor.close()
    return name


def writes(stats: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Write requests by endpoint (``POST .../bulk_create``, ``bulk_update``, ``PATCH``), since ``before``."""
    now = stats["requests"]["by_endpoint"]
    then = before["requests"]["by_endpoint"] if before else {}
    return {
        key: now[key] - then.get(key, 0)
        for key in now
        if ("bulk_" in key or key.startswith("PATCH")) and now[key] - then.get(key, 0)
    }
