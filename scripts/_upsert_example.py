"""The warehouse -> Apollo example's extras for ``run_example.py``: a seeded prospects table, a change.

Imported inside the project venv only (it writes the warehouse with the standard library's sqlite3).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DAG_ID = "example_apollo_warehouse_to_apollo"
#: A small sandbox CRM: some prospects are already contacts there (they get updated), most are new.
CRM_SIZES = {"crm_contacts": 300, "crm_accounts": 30, "crm_users": 3}
PROSPECTS = 400
ALREADY_CONTACTS = 100
#: Rows changed between the two runs of ``--twice`` (titles and scores); nothing else changes.
CHANGED = 25

_COLUMNS = (
    "prospect_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "company_name",
    "company_domain",
    "lifecycle_stage",
    "owner_email",
    "lead_source",
    "icp_score",
    "account_stage",
    "account_owner",
)
_TITLES = ("VP Sales", "Head of Data", "CTO", "Analytics Lead", "RevOps Manager")
_STAGES = ("Cold", "Approaching", "Interested")


def seed_prospects(database: Path, sandbox: Any) -> int:
    """Create ``prospects`` in ``database``: ``ALREADY_CONTACTS`` of the sandbox's contacts, the rest new."""
    owner = sandbox.state.world.user["email"]
    existing = [c for c in sandbox.state.contacts.values() if c.get("email")][:ALREADY_CONTACTS]
    rows: list[tuple[Any, ...]] = []
    for n in range(PROSPECTS):
        company = n % 40
        known: Mapping[str, Any] = existing[n] if n < len(existing) else {}
        rows.append(
            (
                f"P{n:05d}",
                known.get("email") or f"prospect{n}@company{company}.example.org",
                known.get("first_name") or f"First{n}",
                known.get("last_name") or f"Last{n}",
                _TITLES[n % len(_TITLES)],
                f"Company {company}",
                f"company{company}.example.org",
                _STAGES[n % len(_STAGES)],
                owner,
                "warehouse",
                50 + n % 50,
                "Cold" if company % 3 else "Active Opportunity",
                owner,
            )
        )
    with sqlite3.connect(database) as db:
        db.execute("DROP TABLE IF EXISTS prospects")
        db.execute(f"CREATE TABLE prospects ({', '.join(_COLUMNS)}, PRIMARY KEY (prospect_id))")
        db.executemany(f"INSERT INTO prospects VALUES ({', '.join('?' * len(_COLUMNS))})", rows)
    print(
        f"==> warehouse: table prospects seeded with {PROSPECTS} rows "
        f"({min(ALREADY_CONTACTS, len(existing))} already contacts in Apollo, 40 companies)"
    )
    return PROSPECTS


def change_some_rows(database: Path) -> None:
    """Between the runs: new titles and scores for ``CHANGED`` prospects (only those must be written)."""
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE prospects SET title = 'Chief Data Officer', icp_score = icp_score + 1 "
            "WHERE prospect_id IN (SELECT prospect_id FROM prospects ORDER BY prospect_id DESC LIMIT ?)",
            (CHANGED,),
        )
    print(f"\n==> warehouse: {CHANGED} prospects changed (title, ICP score): the 2nd run sends only those")


def print_upsert_counts(summary: Any) -> None:
    """The per-object counts of the DAG's summary task."""
    if not isinstance(summary, Mapping):
        return
    for name in ("accounts", "contacts"):
        counts = summary.get(name) or {}
        print(
            f"    {name:<9} rows {counts.get('rows')}: created {counts.get('created')}, updated "
            f"{counts.get('updated')}, unchanged {counts.get('unchanged')}, invalid {counts.get('invalid')}, "
            f"failed {counts.get('failed')} — {counts.get('calls')} calls, {counts.get('writes')} writes "
            f"(records found by {counts.get('lookup')})"
        )
    print(f"    enrolled in the sequence: {summary.get('enrolled')}")
