"""Ambiguous failures (issue 6, part 2): a write that may have happened is never done twice.

* The sandbox commits a create and then drops the connection (``commit_then_drop``): the
  client never learns that its contacts, tasks or enrolments exist.
* A create answered later than the client's timeout: the client gives up and cannot know
  what happened. (The sandbox does not commit a request whose client has gone, so this
  case proves the reconcile path, not a late commit: see docs/reliability.md.)
* A worker process is killed (SIGKILL) between two batches of a task, and the task is run
  again from the start.

Each time, the final sandbox state has every record exactly once.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_apollo.hooks._transport.api_call import ApiCall
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
from airflow_provider_apollo.operators.sequences import ApolloAddToSequenceOperator
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults

DUE_AT = "2026-03-02T09:00:00Z"
SEQUENCE = "Sandbox Outreach"
SENDER = "sdr@sandbox.example.com"


def people(count: int, *, prefix: str = "p") -> list[dict[str, Any]]:
    """Contact fields for ``count`` distinct people."""
    return [
        {
            "first_name": f"Name{i}",
            "last_name": f"{prefix.title()}{i}",
            "email": f"{prefix}{i}@reliability.example",
            "organization_name": "Reliability Inc",
        }
        for i in range(count)
    ]


@pytest.fixture
def fault_once(clean_sandbox: ApolloSandbox, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``fault_once(faults, endpoint)``: ``faults`` apply until the first request to ``endpoint`` ends.

    The hook's single send path is wrapped: the moment the first attempt at the endpoint
    returns or fails, the sandbox's faults are switched off, so the retry meets a healthy API.
    """

    def arm(faults: SandboxFaults, endpoint: str) -> None:
        original = ApolloHook._do_api_call
        fired = False

        def do_api_call(self: ApolloHook, call: ApiCall) -> Any:
            nonlocal fired
            try:
                return original(self, call)
            finally:
                if not fired and fnmatch.fnmatchcase(call.template, endpoint):
                    fired = True
                    clean_sandbox.configure(faults=SandboxFaults())

        clean_sandbox.configure(faults=faults)
        monkeypatch.setattr(ApolloHook, "_do_api_call", do_api_call)

    return arm


def _contacts(count: int) -> list[dict[str, Any]]:
    return ApolloHook().bulk_create_contacts(people(count, prefix="seed"))


def _context() -> Any:
    return {"ti": None}


def test_contacts_whose_create_answer_was_lost_are_created_once(
    clean_sandbox: ApolloSandbox,
    fault_once: Callable[..., None],
    use_connection: Callable[..., None],
    fast_waits: list[float],
) -> None:
    use_connection(max_retries=3)
    fault_once(
        SandboxFaults(commit_then_drop=1.0, endpoints=["*/contacts/bulk_create"]), "contacts/bulk_create"
    )

    records: Any = ApolloCreateContactsOperator(task_id="c", contacts=people(12)).execute(_context())

    stats = clean_sandbox.stats()
    assert stats["faults"]["by_kind"] == {"commit_then_drop": 1}
    # The lost attempt, then a look-up that found them all: nothing resent.
    assert stats["requests"]["by_endpoint"]["POST /api/v1/contacts/bulk_create"] == 1
    assert stats["contacts"] == {"total": 12, "duplicates_by_email": 0}
    assert sorted(r["email"] for r in records) == sorted(p["email"] for p in people(12))


def test_enrolments_whose_answer_was_lost_are_made_once(
    clean_sandbox: ApolloSandbox,
    fault_once: Callable[..., None],
    use_connection: Callable[..., None],
    fast_waits: list[float],
) -> None:
    use_connection(max_retries=3)
    contact_ids = [c["id"] for c in _contacts(8)]
    fault_once(
        SandboxFaults(commit_then_drop=1.0, endpoints=["*/add_contact_ids"]),
        "emailer_campaigns/*/add_contact_ids",
    )

    result = ApolloAddToSequenceOperator(
        task_id="s",
        contact_ids=contact_ids,
        sequence_name=SEQUENCE,
        email_account=SENDER,
        sequence_unverified_email=True,  # the seeded contacts' emails are not verified
    ).execute(_context())

    stats = clean_sandbox.stats()
    assert stats["faults"]["by_kind"] == {"commit_then_drop": 1}
    assert stats["sequence_enrolments"] == {"total": 8, "duplicates": 0}
    # The lost attempt enrolled them; the retry finds them there: each one is accounted for.
    skipped = result["skipped"]
    accounted = set(result["added"]) | {c for c, reason in skipped.items() if reason == "already_in_sequence"}
    assert accounted == set(contact_ids), result


@pytest.mark.parametrize(
    "kind",
    ["commit_then_drop", "error_5xx", "malformed_json", "slow"],
    ids=lambda kind: f"first-create-{kind}",
)
def test_tasks_whose_create_may_have_happened_are_created_once(
    kind: str,
    clean_sandbox: ApolloSandbox,
    fault_once: Callable[..., None],
    use_connection: Callable[..., None],
    fast_waits: list[float],
    record_figures: Callable[..., None],
) -> None:
    """Tasks are never deduplicated by Apollo: the operator must look before creating again."""
    use_connection(max_retries=3, timeout=0.4)
    contact_ids = [c["id"] for c in _contacts(6)]
    faults = SandboxFaults(endpoints=["*/tasks/bulk_create"], slow_seconds=0.8)
    fault_once(SandboxFaults.from_dict({kind: 1.0}, base=faults), "tasks/bulk_create")

    tasks = ApolloCreateTasksOperator(
        task_id="t", contact_ids=contact_ids, due_at=DUE_AT, task_type="call"
    ).execute(_context())
    if kind == "slow":
        time.sleep(0.8)  # past the slow answer: had the server committed it late, it would count now

    stats = clean_sandbox.stats()
    record_figures(
        "ambiguous",
        f"tasks/{kind}",
        {
            "tasks": stats["tasks"],
            "bulk_creates": stats["requests"]["by_endpoint"].get("POST /api/v1/tasks/bulk_create"),
            "searches": stats["requests"]["by_endpoint"].get("POST /api/v1/tasks/search"),
        },
    )
    assert stats["faults"]["by_kind"] == {kind: 1}
    assert stats["tasks"] == {"total": 6, "duplicates": 0}
    assert sorted(t["contact_id"] for t in tasks) == sorted(contact_ids)


# --------------------------------------------------------------------------- killed worker
_WORKER = textwrap.dedent(
    """
    import json, sys
    from airflow_provider_apollo.operators.contacts import ApolloCreateContactsOperator
    from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator

    kind, payload, due_at = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    if kind == "contacts":
        operator = ApolloCreateContactsOperator(task_id="c", contacts=payload)
    else:
        operator = ApolloCreateTasksOperator(
            task_id="t", contact_ids=payload, due_at=due_at, task_type="call"
        )
    operator.execute({"ti": None})
    """
)


@pytest.fixture
def worker(sandbox: ApolloSandbox) -> Iterator[Callable[[str, Any], subprocess.Popen[bytes]]]:
    """``worker(kind, payload)``: a separate process running one operator, as an Airflow worker would."""
    started: list[subprocess.Popen[bytes]] = []

    def start(kind: str, payload: Any) -> subprocess.Popen[bytes]:
        env = {**os.environ, **sandbox.env}
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER, kind, json.dumps(payload), DUE_AT],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def _kill_when(
    process: subprocess.Popen[bytes], condition: Callable[[], bool], *, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the worker finished before it could be killed: slow it down"
        assert time.monotonic() < deadline, "the first batch never landed"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.parametrize("kind", ["contacts", "tasks"])
def test_a_worker_killed_between_batches_then_rerun_creates_each_record_once(
    kind: str,
    clean_sandbox: ApolloSandbox,
    worker: Callable[[str, Any], subprocess.Popen[bytes]],
    record_figures: Callable[..., None],
) -> None:
    """150 records go in two batches (100 + 50); the worker dies after the first one landed."""
    if kind == "contacts":
        payload: Any = people(150)
        endpoint, count = "*/contacts/bulk_create", lambda: clean_sandbox.stats()["contacts"]["total"]
    else:
        payload = [c["id"] for c in ApolloHook().bulk_create_contacts(people(150, prefix="t"))]
        endpoint, count = "*/tasks/bulk_create", lambda: clean_sandbox.stats()["tasks"]["total"]
    # Every create waits 1.5 s before it is done: time enough to kill the worker in between.
    clean_sandbox.configure(faults=SandboxFaults(slow=1.0, slow_seconds=1.5, endpoints=[endpoint]))

    process = worker(kind, payload)
    _kill_when(process, lambda: count() >= 100)
    landed_before_kill = count()
    clean_sandbox.configure(faults=SandboxFaults())

    if kind == "contacts":
        ApolloCreateContactsOperator(task_id="c", contacts=payload).execute(_context())
    else:
        ApolloCreateTasksOperator(task_id="t", contact_ids=payload, due_at=DUE_AT, task_type="call").execute(
            _context()
        )

    stats = clean_sandbox.stats()
    record_figures(
        "killed_worker",
        kind,
        {"landed_before_kill": landed_before_kill, "contacts": stats["contacts"], "tasks": stats["tasks"]},
    )
    assert process.returncode == -signal.SIGKILL
    assert 100 <= landed_before_kill < 150
    if kind == "contacts":
        assert stats["contacts"] == {"total": 150, "duplicates_by_email": 0}
    else:
        assert stats["tasks"] == {"total": 150, "duplicates": 0}
