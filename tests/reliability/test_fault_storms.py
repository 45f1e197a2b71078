"""Fault storms (issue 6, part 1): the example DAGs lose nothing and duplicate nothing.

Each storm runs one example DAG with ``dag.test()`` against the sandbox while the sandbox
injects, per request: 10% 5xx, 5% 429 bursts, 2% dropped connections, 1% answers slower
than the client's timeout and 1% truncated JSON. The hook retries with its own budget
(connection extra ``max_retries``) and Airflow retries failed tasks (the DAGs declare
``retries=2``; ``dag.test()`` runs those retries in-process, with ``retry_delay`` set to 0).
The run must succeed and leave exactly the CRM state of a fault-free run of the same world:
the same contacts (by email, once each), the same enrolments, the same tasks, none twice.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_apollo.sandbox import ApolloSandbox, SandboxFaults
from airflow_provider_apollo.sandbox.faults import FaultInjector

DAG_IDS = ("example_apollo_prospecting", "example_apollo_hiring_signals")
#: The client gives up after this long; a "slow" answer comes later than that.
CLIENT_TIMEOUT_SECONDS = 0.4
SLOW_ANSWER_SECONDS = 0.8
HOOK_MAX_RETRIES = 4


def storm(seed: int) -> SandboxFaults:
    """The issue's fault profile, seeded."""
    return SandboxFaults(
        seed=seed,
        error_5xx=0.10,
        burst_429=0.05,
        drop_connection=0.02,
        slow=0.01,
        slow_seconds=SLOW_ANSWER_SECONDS,
        malformed_json=0.01,
    )


@pytest.fixture(scope="module")
def baselines(
    sandbox: ApolloSandbox,
    example_dags: Any,
    crm_fingerprint: Callable[[ApolloSandbox], dict[str, Any]],
    reset_world: Callable[[ApolloSandbox], None],
) -> dict[str, dict[str, Any]]:
    """Each DAG's fault-free run: the CRM state it leaves and the credits it spends."""
    results = {}
    for dag_id in DAG_IDS:
        reset_world(sandbox)
        run = example_dags.run(example_dags.load(dag_id))
        assert str(run.state) == "success", example_dags.states(run)
        stats = sandbox.stats()
        results[dag_id] = {
            "crm": crm_fingerprint(sandbox),
            "credits": stats["credits"]["total"],
            "requests": stats["requests"]["total"],
        }
        assert results[dag_id]["crm"]["contacts"], (
            f"{dag_id} created no contact: the storm would prove nothing"
        )
    reset_world(sandbox)
    return results


def _run_figures(
    run: Any,
    stats: dict[str, Any],
    crm: dict[str, Any],
    baseline: dict[str, Any],
    example_dags: Any,
    fast_waits: list[float],
) -> dict[str, Any]:
    """What one faulted run did, from the sandbox's counters, for docs/reliability.md."""
    tries = example_dags.attempts(run)
    return {
        "state": str(run.state),
        "requests": stats["requests"]["total"],
        "faults": stats["faults"]["by_kind"],
        "rate_limited": stats["rate_limited"],
        "credits": stats["credits"]["total"],
        "baseline_credits": baseline["credits"],
        "contacts": stats["contacts"]["total"],
        "enrolments": stats["sequence_enrolments"]["total"],
        "tasks": stats["tasks"]["total"],
        "duplicates": stats["contacts"]["duplicates_by_email"]
        + stats["tasks"]["duplicates"]
        + stats["sequence_enrolments"]["duplicates"],
        "task_retries": sum(n - 1 for n in tries.values() if n > 1),
        "hook_waits": len(fast_waits),
        "same_as_fault_free": crm == baseline["crm"],
    }


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_a_fault_storm_leaves_the_same_crm_state_as_a_fault_free_run(
    dag_id: str,
    fault_seed: int,
    clean_sandbox: ApolloSandbox,
    baselines: dict[str, dict[str, Any]],
    example_dags: Any,
    use_connection: Callable[..., None],
    fast_waits: list[float],
    record_figures: Callable[..., None],
    crm_fingerprint: Callable[[ApolloSandbox], dict[str, Any]],
) -> None:
    use_connection(timeout=CLIENT_TIMEOUT_SECONDS, max_retries=HOOK_MAX_RETRIES)
    clean_sandbox.configure(faults=storm(fault_seed))

    run = example_dags.run(example_dags.load(dag_id))

    stats = clean_sandbox.stats()
    crm = crm_fingerprint(clean_sandbox)
    baseline = baselines[dag_id]
    record_figures(
        "storms",
        f"{dag_id}/seed{fault_seed}",
        _run_figures(run, stats, crm, baseline, example_dags, fast_waits),
    )

    assert str(run.state) == "success", f"seed {fault_seed}: {example_dags.states(run)}"
    assert stats["contacts"]["duplicates_by_email"] == 0
    assert stats["tasks"]["duplicates"] == 0
    assert stats["sequence_enrolments"]["duplicates"] == 0
    missing = Counter(baseline["crm"]["contacts"]) - Counter(crm["contacts"])
    extra = Counter(crm["contacts"]) - Counter(baseline["crm"]["contacts"])
    assert not missing and not extra, f"contacts lost: {sorted(missing)}; contacts extra: {sorted(extra)}"
    assert crm["enrolments"] == baseline["crm"]["enrolments"]
    assert crm["tasks"] == baseline["crm"]["tasks"]


#: Every fault kind alone, at a rate that makes it fire several times per run.
FOCUSED_RATE = 0.3
FAULT_KINDS = ("error_5xx", "burst_429", "drop_connection", "slow", "malformed_json", "commit_then_drop")
#: The example DAGs' requests that create records: the only ones commit_then_drop can hit.
CREATE_ENDPOINTS = ("*/contacts/bulk_create", "*/emailer_campaigns/*/add_contact_ids", "*/tasks/bulk_create")


def _focused_faults(kind: str, seed: int) -> SandboxFaults:
    """``kind`` alone at FOCUSED_RATE, seeded so that it fires at least once in the run.

    Most kinds hit every request, so any seed fires several times. ``commit_then_drop`` only
    hits the two or three creates of a run: at 30 % a seed has about even odds of never
    firing, and a run where it never fired proves nothing. So it is aimed at the creates and
    given the first seed, from ``seed`` on, whose first draw is a fault (draws happen in
    request order, so that is the run's first create).
    """
    base = SandboxFaults(seed=seed, slow_seconds=SLOW_ANSWER_SECONDS)
    if kind != "commit_then_drop":
        return SandboxFaults.from_dict({kind: FOCUSED_RATE}, base=base)
    for candidate in itertools.count(seed * 1000):
        faults = SandboxFaults.from_dict(
            {"seed": candidate, kind: FOCUSED_RATE, "endpoints": CREATE_ENDPOINTS}, base=base
        )
        if FaultInjector(faults).draw("POST", "/api/v1/contacts/bulk_create", creates=True)[0] == kind:
            return faults
    raise AssertionError("unreachable: itertools.count never ends")


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_one_fault_kind_at_a_time_leaves_the_same_crm_state(
    dag_id: str,
    kind: str,
    focused_seed: int,
    clean_sandbox: ApolloSandbox,
    baselines: dict[str, dict[str, Any]],
    example_dags: Any,
    use_connection: Callable[..., None],
    fast_waits: list[float],
    record_figures: Callable[..., None],
    crm_fingerprint: Callable[[ApolloSandbox], dict[str, Any]],
) -> None:
    """The mixed storm rarely draws a slow or truncated answer; here each kind fires often."""
    use_connection(timeout=CLIENT_TIMEOUT_SECONDS, max_retries=HOOK_MAX_RETRIES)
    clean_sandbox.configure(faults=_focused_faults(kind, focused_seed))

    run = example_dags.run(example_dags.load(dag_id))

    stats = clean_sandbox.stats()
    crm = crm_fingerprint(clean_sandbox)
    baseline = baselines[dag_id]
    record_figures(
        "focused",
        f"{dag_id}/{kind}/seed{focused_seed}",
        _run_figures(run, stats, crm, baseline, example_dags, fast_waits),
    )

    assert stats["faults"]["by_kind"].get(kind, 0) >= 1, f"{kind} never fired: the run proves nothing"
    assert str(run.state) == "success", f"{kind}: {example_dags.states(run)}"
    assert stats["contacts"]["duplicates_by_email"] == 0
    assert stats["tasks"]["duplicates"] == 0
    assert stats["sequence_enrolments"]["duplicates"] == 0
    assert crm == baseline["crm"]
