"""``GET /_sandbox/records/<object>``: the truth about the CRM, for tests that compare a table with it.

``{"object": "contacts", "live": [{"id", "updated_at", ...fields}], "deleted": [ids],
"counts": {"live": n, "deleted": n}}``. The live records carry the fields an export or an
upsert maps (``PROJECTIONS``), or only those named in ``?fields=a,b`` (``id`` and
``updated_at`` always). ``updated_at`` is the sandbox's own clock of the last change, also
for accounts, deals and tasks, whose API shapes have no such field. At 120,000 contacts the answer is
tens of megabytes: it is serialised under the lock (a consistent snapshot) in chunks and
streamed, so no second copy of the records is built as Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import Record

PROJECTIONS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "id",
        "updated_at",
        "created_at",
        "first_name",
        "last_name",
        "name",
        "email",
        "title",
        "organization_name",
        "account_id",
        "owner_id",
        "contact_stage_id",
        "label_ids",
        "typed_custom_fields",
        "last_activity_date",
    ),
    "accounts": (
        "id",
        "updated_at",
        "created_at",
        "name",
        "domain",
        "phone",
        "owner_id",
        "account_stage_id",
        "label_ids",
        "typed_custom_fields",
        "last_activity_date",
    ),
    "opportunities": (
        "id",
        "updated_at",
        "created_at",
        "name",
        "amount",
        "owner_id",
        "account_id",
        "opportunity_stage_id",
        "stage_name",
        "is_closed",
        "is_won",
        "closed_date",
    ),
    "tasks": (
        "id",
        "updated_at",
        "created_at",
        "contact_id",
        "user_id",
        "type",
        "priority",
        "status",
        "due_at",
        "completed_at",
        "skipped_at",
    ),
}
#: Objects served whole (small lists from the team's fixtures).
FIXTURE_OBJECTS = (
    "sequences",
    "users",
    "labels",
    "contact_stages",
    "account_stages",
    "opportunity_stages",
    "typed_custom_fields",
)
OBJECTS = (*PROJECTIONS, *FIXTURE_OBJECTS)
_CHUNK = 2000


def _fixtures(state: SandboxState, name: str) -> list[Record]:
    world = state.world
    return {
        "sequences": world.sequences,
        "users": state.users,
        "labels": state.labels,
        "contact_stages": world.contact_stages,
        "account_stages": world.account_stages,
        "opportunity_stages": world.opportunity_stages,
        "typed_custom_fields": world.custom_fields,
    }[name]


def _wanted_fields(name: str, fields: str | None) -> tuple[str, ...] | None:
    if not fields:
        return PROJECTIONS.get(name)
    wanted = tuple(dict.fromkeys(["id", "updated_at", *(f.strip() for f in fields.split(",") if f.strip())]))
    allowed = PROJECTIONS.get(name)
    if allowed is not None:
        unknown = [field for field in wanted if field not in allowed]
        if unknown:
            raise unprocessable(f"fields {unknown} are not kept for {name}; choose from {list(allowed)}")
    return wanted


def truth_chunks(state: SandboxState, name: str, fields: str | None = None) -> list[str]:
    """The JSON text of the truth about ``name``, in chunks to stream one after another.

    :param state: the sandbox state.
    :param name: one of ``OBJECTS``.
    :param fields: comma-separated fields to keep (``id`` and ``updated_at`` always are).
    """
    if name not in OBJECTS:
        raise unprocessable(f"unknown object {name!r}; records are kept for {', '.join(OBJECTS)}")
    wanted = _wanted_fields(name, fields)
    with state.lock:
        if name in PROJECTIONS:
            records: dict[str, Record] = getattr(state, name)
            deleted = sorted(state.deleted.get(name, {}))
            live: Iterable[Record] = records.values()
        else:
            deleted, live = [], _fixtures(state, name)
        chunks = [f'{{"object": {json.dumps(name)}, "live": [']
        batch: list[str] = []
        count = 0
        for record in live:
            batch.append(json.dumps(_project(state, name, record, wanted)))
            count += 1
            if len(batch) == _CHUNK:
                chunks.append(("," if count > _CHUNK else "") + ",".join(batch))
                batch = []
        if batch:
            chunks.append(("," if count > len(batch) else "") + ",".join(batch))
        chunks.append(
            f'], "deleted": {json.dumps(deleted)}, '
            f'"counts": {json.dumps({"live": count, "deleted": len(deleted)})}}}'
        )
    return chunks


def _project(
    state: SandboxState, name: str, record: Record, wanted: tuple[str, ...] | None
) -> dict[str, Any]:
    updated_at = state.updated_at_of(name, record) if name in PROJECTIONS else record.get("updated_at")
    if wanted is None:
        return {**record, "updated_at": updated_at}
    return {field: updated_at if field == "updated_at" else record.get(field) for field in wanted}


def stream(chunks: list[str]) -> Iterator[bytes]:
    """The chunks as bytes for a streaming response.

    :param chunks: from ``truth_chunks``.
    """
    for chunk in chunks:
        yield chunk.encode()
