"""Scenario 9: a closed hourly window, waited for in a worker slot or in the triggerer.

One enrichment of 30 people (3 bulk calls) on a key whose hourly window holds 2 bulk calls:
the third call finds the window closed. Side by side, on the same sandbox:

* **sleeping wait** (``deferrable=False``, the connection's ``max_quota_wait`` above the
  closure): the task sleeps in its worker slot until the window reopens;
* **deferred wait** (``deferrable=True``): the task saves what it paid for and defers; the
  quota-window trigger waits (in the triggerer: no worker slot), then ``execute_complete``
  resumes on a worker and enriches the rest.

The hour is compressed (``hour_seconds``) and ``max_quota_sleep`` with it (60 s of a real
hour). Worker-slot seconds are the time spent inside ``execute``/``execute_complete``; a real
deployment adds one task start-up on a worker per resume (a few seconds) to the deferred side,
against the whole closure (up to an hour) on the sleeping side.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from unittest.mock import MagicMock

from benchmarks.report import Table, verdict

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

TITLE = "9. Closed hourly window: deferred wait vs sleeping wait"
PEOPLE = 30
BULK_PER_HOUR = 2
#: The deferred side must hold a worker slot at most this fraction of the sleeping side's time.
TARGET_SLOT_RATIO = 0.25


@dataclass(frozen=True)
class Sizes:
    """:param hour_seconds: the compressed hour."""

    hour_seconds: float


QUICK = Sizes(hour_seconds=2.0)
FULL = Sizes(hour_seconds=20.0)


@dataclass
class Side:
    """One side's figures."""

    slot_seconds: float = 0.0
    triggerer_seconds: float = 0.0
    wall_seconds: float = 0.0
    deferrals: int = 0
    credits: float = 0.0
    rate_limited: int = 0
    matched: int = 0


def _connect(sandbox: ApolloSandbox, max_quota_wait: float) -> None:
    connection = json.loads(sandbox.connection_json)
    connection["extra"] = json.dumps({"quota_store": "none", "max_quota_wait": max_quota_wait})
    os.environ["AIRFLOW_CONN_APOLLO_DEFAULT"] = json.dumps(connection)


def _operator(people: list[dict[str, Any]], *, deferrable: bool, max_quota_sleep: float) -> Any:
    from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator

    return ApolloEnrichPeopleOperator(
        task_id="enrich",
        people=people,
        skip_existing_contacts=False,
        deferrable=deferrable,
        max_quota_sleep=max_quota_sleep,
    )


async def _first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise RuntimeError("the quota-window trigger fired nothing")


def _run_side(sandbox: ApolloSandbox, people: list[dict[str, Any]], *, deferrable: bool, hour: float) -> Side:
    from airflow.providers.common.compat.sdk import TaskDeferred

    side = Side()
    context: dict[str, Any] = {"ti": MagicMock(name="ti")}
    max_quota_sleep = 60.0 * hour / 3600.0  # the default 60 s of a real hour
    sandbox.reset()
    started = time.monotonic()
    resume: tuple[Any, dict[str, Any]] | None = None
    while True:
        operator = _operator(people, deferrable=deferrable, max_quota_sleep=max_quota_sleep)
        slot_started = time.monotonic()
        try:
            if resume is None:
                results = operator.execute(context)
            else:
                results = operator.execute_complete(context, event=resume[0], **resume[1])
        except TaskDeferred as deferred:
            side.slot_seconds += time.monotonic() - slot_started
            side.deferrals += 1
            waited = time.monotonic()
            event = asyncio.run(_first_event(deferred.trigger))
            side.triggerer_seconds += time.monotonic() - waited
            resume = (event, deferred.kwargs)
            continue
        side.slot_seconds += time.monotonic() - slot_started
        break
    side.wall_seconds = time.monotonic() - started
    stats = sandbox.stats()
    side.credits = float(stats["credits"]["total"])
    side.rate_limited = int(stats["rate_limited"])
    side.matched = sum(row["status"] == "matched" for row in results)
    return side


def run(quick: bool) -> list[Table]:
    """Both sides on one sandbox; one table.

    :param quick: the small size (CI).
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxLimits

    sizes = QUICK if quick else FULL
    limits = SandboxLimits.from_dict(
        {
            "bulk_enrichment": {"per_minute": None, "per_hour": BULK_PER_HOUR},
            "hour_seconds": sizes.hour_seconds,
        }
    )
    table = Table(
        TITLE,
        [
            "wait",
            "worker-slot s",
            "triggerer s",
            "wall s",
            "deferrals",
            "credits",
            "429s",
            "matched",
        ],
    )
    with ApolloSandbox(seed=7, limits=limits) as sandbox:
        people = [{"id": person["id"]} for person in sandbox.state.world.people[:PEOPLE]]
        _connect(sandbox, max_quota_wait=sizes.hour_seconds * 2)
        sleeping = _run_side(sandbox, people, deferrable=False, hour=sizes.hour_seconds)
        deferred = _run_side(sandbox, people, deferrable=True, hour=sizes.hour_seconds)
    for name, side in (("sleeping (deferrable=False)", sleeping), ("deferred (deferrable=True)", deferred)):
        table.add_row(
            name,
            side.slot_seconds,
            side.triggerer_seconds,
            side.wall_seconds,
            side.deferrals,
            side.credits,
            side.rate_limited,
            side.matched,
        )
    ratio = deferred.slot_seconds / sleeping.slot_seconds if sleeping.slot_seconds else float("nan")
    table.note(
        f"{PEOPLE} people, {BULK_PER_HOUR} bulk calls per 'hour' of {sizes.hour_seconds:g} s; "
        f"max_quota_sleep {60 * sizes.hour_seconds / 3600:.3g} s (60 s of a real hour)"
    )
    table.note(f"worker-slot seconds, deferred / sleeping: {ratio:.3f}")
    table.note(verdict(ratio <= TARGET_SLOT_RATIO, f"{ratio:.3f}", f"<= {TARGET_SLOT_RATIO}"))
    table.note(
        "same credits on both sides: " + ("yes" if deferred.credits == sleeping.credits == PEOPLE else "NO")
    )
    table.note("a real deployment adds one task start-up per resume to the deferred side's slot time")
    return [table]
