"""``POST /_sandbox/activity``: a seeded burst of what reps do in Apollo's app between two exports.

Body (every key optional, counts default 0)::

    {"seed": 1,
     "update": 50, "create": 10, "delete": 5, "move_stage": 20,        # contacts
     "account_update": 5, "account_create": 2, "account_delete": 1,
     "deal_update": 3, "deal_create": 1,
     "task_complete": 4, "task_create": 2}

Each change goes through the same write path as the API (so ``updated_at`` is bumped to the
sandbox clock, several records in one millisecond as a real burst has). The contacts updated,
moved and deleted are distinct; created ones are not touched again in the same burst. Same
seed and same CRM state, same records chosen and same changes. The answer lists every id::

    {"seed": 1, "contacts": {"updated": [...], "created": [...], "deleted": [...],
     "moved_stage": [...]}, "accounts": {"updated", "created", "deleted"},
     "opportunities": {"updated", "created"}, "tasks": {"completed", "created"}}
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import _FIRST_NAMES, _LAST_NAMES

COUNT_KEYS = (
    "update",
    "create",
    "delete",
    "move_stage",
    "account_update",
    "account_create",
    "account_delete",
    "deal_update",
    "deal_create",
    "task_complete",
    "task_create",
)
_NEW_TITLES = ("Senior Director of Sales", "VP of Revenue", "Chief Data Officer", "Growth Lead")


def _counts(body: dict[str, Any]) -> tuple[int, dict[str, int]]:
    unknown = sorted(set(body) - {"seed", *COUNT_KEYS})
    if unknown:
        raise unprocessable(f"unknown activity keys {unknown}; send 'seed' and any of {list(COUNT_KEYS)}")
    counts: dict[str, int] = {}
    for key in COUNT_KEYS:
        value = body.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise unprocessable(f"{key} must be a non-negative integer; got {value!r}")
        counts[key] = value
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise unprocessable(f"seed must be an integer; got {seed!r}")
    return seed, counts


def _sample(rng: random.Random, ids: Sequence[str], count: int, what: str) -> list[str]:
    if count > len(ids):
        raise unprocessable(f"asked to change {count} {what} but only {len(ids)} exist; ask for fewer")
    return rng.sample(list(ids), count) if count else []


def run_activity(state: SandboxState, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a burst of rep activity and say what changed.

    :param state: the sandbox state.
    :param body: the request body (see the module docstring).
    """
    seed, n = _counts(body)
    rng = random.Random(seed)
    with state.lock:
        contact_ids = list(state.contacts)
        chosen = _sample(rng, contact_ids, n["update"] + n["move_stage"] + n["delete"], "contacts")
        updated = chosen[: n["update"]]
        moved = chosen[n["update"] : n["update"] + n["move_stage"]]
        deleted = chosen[n["update"] + n["move_stage"] :]
        accounts = _sample(rng, list(state.accounts), n["account_update"] + n["account_delete"], "accounts")
        deals = _sample(rng, list(state.opportunities), n["deal_update"], "opportunities")
        open_tasks = [t["id"] for t in state.tasks.values() if t["status"] == "scheduled"]
        completed = _sample(rng, open_tasks, n["task_complete"], "open tasks")
        if n["task_create"] and not contact_ids:
            raise unprocessable("task_create needs contacts to attach tasks to; seed some first")

        for contact_id in updated:
            state.update_contact(contact_id, _contact_edit(state, rng))
        stage_ids = [stage["id"] for stage in state.world.contact_stages]
        for contact_id in moved:
            current = state.contacts[contact_id]["contact_stage_id"]
            state.update_contact(
                contact_id, {"contact_stage_id": rng.choice([s for s in stage_ids if s != current])}
            )
        for contact_id in deleted:
            state.delete("contacts", contact_id)
        created = [_create_contact(state, rng) for _ in range(n["create"])]

        account_stage_ids = [stage["id"] for stage in state.world.account_stages]
        for account_id in accounts[: n["account_update"]]:
            current = state.accounts[account_id]["account_stage_id"]
            new_stage = rng.choice([s for s in account_stage_ids if s != current])
            state.update_account(account_id, {"account_stage_id": new_stage})
        for account_id in accounts[n["account_update"] :]:
            state.delete("accounts", account_id)
        new_accounts = [_create_account(state, rng) for _ in range(n["account_create"])]

        for deal_id in deals:
            amount = state.opportunities[deal_id]["amount"] or 0.0
            state.update_opportunity(deal_id, {"amount": amount + 1000.0 * (1 + rng.randrange(20))})
        live_accounts = list(state.accounts)
        new_deals = [
            state.create_opportunity(
                {
                    "name": f"Activity deal {rng.getrandbits(32):08x}",
                    "amount": 1000.0 * (1 + rng.randrange(100)),
                    **({"account_id": rng.choice(live_accounts)} if live_accounts else {}),
                }
            )["id"]
            for _ in range(n["deal_create"])
        ]
        state.complete_tasks(completed)
        live_contacts = list(state.contacts)
        task_contacts = [rng.choice(live_contacts) for _ in range(n["task_create"])]
        new_tasks = [
            task["id"]
            for task in (
                state.create_tasks(
                    task_contacts, {"type": "call", "priority": "medium", "status": "scheduled"}
                )
                if task_contacts
                else []
            )
        ]
    return {
        "seed": seed,
        "contacts": {"updated": updated, "created": created, "deleted": deleted, "moved_stage": moved},
        "accounts": {
            "updated": accounts[: n["account_update"]],
            "created": new_accounts,
            "deleted": accounts[n["account_update"] :],
        },
        "opportunities": {"updated": deals, "created": new_deals},
        "tasks": {"completed": completed, "created": new_tasks},
    }


def _contact_edit(state: SandboxState, rng: random.Random) -> dict[str, Any]:
    lead_source = next((f for f in state.world.custom_fields if f["name"] == "Lead Source"), None)
    if lead_source is not None and rng.random() < 0.5:
        return {"typed_custom_fields": {lead_source["id"]: f"Activity {rng.randrange(1000)}"}}
    return {"title": rng.choice(_NEW_TITLES)}


def _create_contact(state: SandboxState, rng: random.Random) -> str:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    fields: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "title": rng.choice(_NEW_TITLES),
        "email": f"{first}.{last}.{rng.getrandbits(40):010x}@activity.example.com".lower(),
        "owner_id": rng.choice([user["id"] for user in state.users]),
    }
    if state.accounts:
        account = state.accounts[rng.choice(list(state.accounts))]
        fields.update(account_id=account["id"], organization_name=account["name"])
    contact, _ = state.create_contact(fields, run_dedupe=False)
    return str(contact["id"])


def _create_account(state: SandboxState, rng: random.Random) -> str:
    tag = f"{rng.getrandbits(32):08x}"
    account, _ = state.create_account(
        {"name": f"Activity Account {tag}", "domain": f"activity-{tag}.example.org"}, run_dedupe=False
    )
    return str(account["id"])
