"""Scenario 3: API calls and credits per person of the prospecting pipeline, run twice.

The provider side is ``example_apollo_prospecting`` itself, run with ``dag.test()`` on a
SQLite metadata DB against the sandbox (search -> enrich -> create contacts -> add to a
sequence), then run again the same day over the same people. The hand-rolled side does the
same four steps with ``HttpHook`` + tenacity: a search, one ``people/match`` per person,
one ``POST /contacts`` per enriched person (``run_dedupe`` on, so it at least creates no
duplicate), then looks up the sequence and mailbox and enrols the contacts. Each side
starts on a freshly reset sandbox; the sandbox's counters are read after each run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import StartGate, quiet_logging, run_children
from benchmarks.report import Table, verdict

TITLE = "3. Calls and credits per person (example_apollo_prospecting, run twice)"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
DAG_ID = "example_apollo_prospecting"
ENRICHMENT_ENDPOINTS = ("POST /api/v1/people/match", "POST /api/v1/people/bulk_match")
TARGET_ENRICH_CALLS_PER_PERSON = 0.1
BULK_SIZE = 10


@dataclass(frozen=True)
class Sizes:
    """The runs' sizes.

    :param confs: DAG params to override, one pair of runs each (``{}``: the example as shipped).
    :param world_people: people in the sandbox world (seed 42, the example's fixtures).
    """

    confs: tuple[Mapping[str, Any], ...]
    world_people: int


QUICK = Sizes(confs=({"max_people": 5, "max_credits": 5},), world_people=5000)
# As shipped (25 people: bulk calls of 10 cannot reach 0.1 calls per person), and a bigger day;
# a bigger world, so that the example's filters match 200 people.
FULL = Sizes(confs=({}, {"max_people": 200, "max_credits": 200}), world_people=30_000)


@dataclass(frozen=True)
class PipelineJob:
    """What a side's child process needs.

    :param base_url: the sandbox (for its stats between runs).
    :param conf: DAG params to override.
    """

    base_url: str
    conf: Mapping[str, Any]


def _stats(base_url: str) -> dict[str, Any]:
    import requests

    answer: dict[str, Any] = requests.get(f"{base_url}/_sandbox/stats", timeout=30).json()
    return answer


def provider_pipeline(job: PipelineJob, gate: StartGate) -> dict[str, Any]:
    """Run the example DAG twice with ``dag.test()``; the sandbox's stats after each run.

    :param job: the sandbox and params.
    :param gate: waits for the parent (which resets the sandbox).
    """
    quiet_logging()
    import importlib.util

    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(EXAMPLE_DAGS)
    from airflow.models.xcom import XComModel
    from airflow.utils.db import initdb
    from airflow.utils.session import create_session

    initdb()
    spec = importlib.util.spec_from_file_location(DAG_ID, EXAMPLE_DAGS / f"{DAG_ID}.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {DAG_ID} from {EXAMPLE_DAGS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    gate()
    runs = []
    for _ in range(2):
        run = dag.test(run_conf=dict(job.conf) or None)
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        with create_session() as session:
            row = session.scalars(
                XComModel.get_many(run_id=run.run_id, dag_ids=DAG_ID, task_ids="summary", key="return_value")
            ).first()
            summary = XComModel.deserialize_value(row) if row is not None else {}
        runs.append(
            {
                "state": str(run.state),
                "task_states": states,
                "people": int(summary.get("found", 0)),
                "stats": _stats(job.base_url),
            }
        )
    return {"runs": runs}


def _hand_rolled_once(client: Any, conf: Mapping[str, Any]) -> int:
    """The pipeline as users write it; returns the number of people found."""
    people = client.iter_people(conf["filters"], max_records=conf["max_people"])
    contact_ids = []
    for person in people:
        enriched = client.enrich_person({"id": person["id"]})
        if enriched is None:
            continue
        contact = client.post(
            "contacts",
            {
                "first_name": enriched.get("first_name"),
                "last_name": enriched.get("last_name"),
                "email": enriched.get("email"),
                "title": enriched.get("title"),
                "organization_name": (enriched.get("organization") or {}).get("name"),
                "label_names": [conf["label"]],
                "run_dedupe": True,
            },
        )["contact"]
        contact_ids.append(contact["id"])
    sequences = client.post("emailer_campaigns/search", {"q_name": conf["sequence_name"]})[
        "emailer_campaigns"
    ]
    mailboxes = client.get("email_accounts")["email_accounts"]
    mailbox = next(m["id"] for m in mailboxes if m.get("email") == conf["email_account"])
    if contact_ids:
        client.post(
            f"emailer_campaigns/{sequences[0]['id']}/add_contact_ids",
            {
                "emailer_campaign_id": sequences[0]["id"],
                "contact_ids": contact_ids,
                "send_email_from_email_account_id": mailbox,
            },
        )
    return len(people)


def hand_rolled_pipeline(job: PipelineJob, gate: StartGate) -> dict[str, Any]:
    """The same four steps with ``HttpHook`` + tenacity, twice; the sandbox's stats after each.

    :param job: the sandbox and the resolved params (``filters``, ``max_people``...).
    :param gate: waits for the parent.
    """
    quiet_logging()
    from benchmarks.baseline import HandRolledApollo

    client = HandRolledApollo()
    gate()
    runs = []
    for _ in range(2):
        found = _hand_rolled_once(client, job.conf)
        runs.append({"state": "success", "people": found, "stats": _stats(job.base_url)})
    return {"runs": runs}


def _dag_params(conf: Mapping[str, Any]) -> dict[str, Any]:
    """The example's params (its defaults, overridden by ``conf``), as the hand-rolled side needs them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{DAG_ID}_params", EXAMPLE_DAGS / f"{DAG_ID}.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {DAG_ID} from {EXAMPLE_DAGS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = {name: module.dag.params[name] for name in module.dag.params}
    params.update(conf)
    params["filters"] = {
        key: params[key]
        for key in (
            "person_titles",
            "person_seniorities",
            "person_locations",
            "organization_num_employees_ranges",
        )
    }
    return params


def _counters(stats: Mapping[str, Any]) -> dict[str, float]:
    by_endpoint = stats["requests"]["by_endpoint"]
    return {
        "calls": float(sum(n for key, n in by_endpoint.items() if "/_sandbox" not in key)),
        "enrich_calls": float(sum(by_endpoint.get(key, 0) for key in ENRICHMENT_ENDPOINTS)),
        "credits": float(stats["credits"]["total"]),
        "contacts": float(stats["contacts"]["total"]),
        "rate_limited": float(stats["rate_limited"]),
    }


def _measure_pair(sandbox: Any, conf: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Both sides, two runs each, for one set of params; each side on a freshly reset sandbox."""
    params = _dag_params(conf)
    sides = (
        ("provider (example DAG)", provider_pipeline, PipelineJob(sandbox.base_url, dict(conf))),
        ("hand-rolled", hand_rolled_pipeline, PipelineJob(sandbox.base_url, params)),
    )
    results: dict[str, list[dict[str, Any]]] = {}
    for name, worker, job in sides:
        _, (report,) = run_children(worker, [job], before_start=sandbox.reset)
        results[name] = report["runs"]
    return results


def _add_rows(
    table: Table, results: Mapping[str, list[dict[str, Any]]]
) -> dict[tuple[str, int], dict[str, float]]:
    """One row per side and run, from the growth of the sandbox's counters; returns the figures."""
    figures: dict[tuple[str, int], dict[str, float]] = {}
    for name, runs in results.items():
        previous = {"calls": 0.0, "enrich_calls": 0.0, "credits": 0.0, "contacts": 0.0, "rate_limited": 0.0}
        for number, run_report in enumerate(runs, start=1):
            now = _counters(run_report["stats"])
            delta = {key: now[key] - previous[key] for key in now}
            previous = now
            people = max(1, int(run_report["people"]))
            figures[(name, number)] = {**delta, "people": people}
            table.add_row(
                f"{name}, run {number}",
                int(run_report["people"]),
                int(delta["calls"]),
                delta["calls"] / people,
                delta["enrich_calls"] / people,
                delta["credits"],
                delta["credits"] / people,
                int(delta["contacts"]),
                run_report["state"],
            )
            if run_report["state"] != "success":
                table.note(
                    f"{name} run {number} ended {run_report['state']}: {run_report.get('task_states')}"
                )
    return figures


def _add_verdicts(table: Table, conf: Mapping[str, Any], provider: Mapping[int, Mapping[str, float]]) -> None:
    first, second = provider[1], provider[2]
    people = int(first["people"])
    per_person = first["enrich_calls"] / people
    floor = math.ceil(people / BULK_SIZE) / people
    table.note(
        f"params {dict(conf) or '(the example as shipped)'}: {people} people; the fewest enrichment calls "
        f"per person for {people} is ceil(n/10)/n = {floor:.3f}"
    )
    table.note(
        verdict(
            per_person <= TARGET_ENRICH_CALLS_PER_PERSON,
            f"provider run 1 enrichment calls per person {per_person:.3f}",
            f"<= {TARGET_ENRICH_CALLS_PER_PERSON}",
        )
    )
    table.note(verdict(second["credits"] == 0, f"provider run 2 credits {second['credits']:g}", "0"))
    table.note(
        verdict(second["contacts"] == 0, f"provider run 2 new contacts {int(second['contacts'])}", "0")
    )


COLUMNS = [
    "side, run",
    "people",
    "API calls",
    "calls / person",
    "enrichment calls / person",
    "credits",
    "credits / person",
    "new contacts",
    "run state",
]


def run(quick: bool) -> list[Table]:
    """Run both sides, each twice, on a reset sandbox, and compare per person.

    :param quick: fewer people for CI.
    """
    from airflow_provider_apollo.sandbox import ApolloSandbox
    from benchmarks.environment import BASELINE_CONN_ID, baseline_connection_json

    sizes = QUICK if quick else FULL
    tables = []
    with ApolloSandbox(seed=42, people=sizes.world_people) as sandbox:
        os.environ.update(sandbox.env)
        os.environ[f"AIRFLOW_CONN_{BASELINE_CONN_ID.upper()}"] = baseline_connection_json(
            sandbox.base_url, sandbox.api_key
        )
        for conf in sizes.confs:
            label = ", ".join(f"{k}={v}" for k, v in conf.items()) or "as shipped"
            table = Table(f"{TITLE}, {label}", COLUMNS)
            figures = _add_rows(table, _measure_pair(sandbox, conf))
            provider = {
                number: figures[(name, number)] for name, number in figures if name.startswith("provider")
            }
            table.note(
                f"sandbox world: {sizes.world_people:,} people (seed 42), reset before each side; "
                "run 2 searches the same day's people again"
            )
            _add_verdicts(table, conf, provider)
            tables.append(table)
    return tables
