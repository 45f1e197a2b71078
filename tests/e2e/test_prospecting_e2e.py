"""example_apollo_prospecting end to end on the sandbox: what it spends, creates and enrols, twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

DAG_ID = "example_apollo_prospecting"


@dataclass
class ProspectingRuns:
    """The sandbox's stats before and after each of two runs, and each run's summary."""

    before: dict[str, Any]
    after_first: dict[str, Any]
    after_second: dict[str, Any]
    first: dict[str, Any]
    second: dict[str, Any]


@pytest.fixture(scope="module")
def runs(sandbox: Any, example_dags: Any) -> ProspectingRuns:
    """The prospecting DAG run twice, as the scheduler would on two consecutive days."""
    dag = example_dags.load(DAG_ID)
    before = sandbox.stats()
    first = example_dags.result(example_dags.run(dag), "summary")
    after_first = sandbox.stats()
    second = example_dags.result(example_dags.run(dag), "summary")
    after_second = sandbox.stats()
    print(
        f"\nprospecting run 1: {after_first['requests']['total'] - before['requests']['total']} API calls, "
        f"{after_first['credits']['total'] - before['credits']['total']:g} credits; "
        f"run 2: {after_second['requests']['total'] - after_first['requests']['total']} API calls, "
        f"{after_second['credits']['total'] - after_first['credits']['total']:g} credits"
    )
    return ProspectingRuns(before, after_first, after_second, first, second)


def test_first_run_finds_enriches_and_enrols_people(runs: ProspectingRuns) -> None:
    summary = runs.first
    assert summary["found"] == 25  # the default max_people; the sandbox world has more matches
    assert summary["enriched"] + summary["not_found"] == summary["found"]
    assert summary["existing_contacts"] == 0
    assert summary["skipped_budget"] == 0
    assert summary["contacts_created"] == summary["enriched"]
    assert summary["enrolled"] > 0
    # Every contact is either enrolled or skipped with a reason (no email, unverified email...).
    assert summary["enrolled"] + sum(summary["skipped"].values()) == summary["contacts_created"]


def test_first_run_spends_one_credit_per_match(runs: ProspectingRuns, stats_growth: Any) -> None:
    credits = stats_growth(runs.after_first, runs.before, "credits", "total")
    assert credits == runs.first["credits_spent"] == runs.first["enriched"]
    assert credits <= 50  # the DAG's default max_credits


def test_first_run_leaves_the_crm_in_the_expected_state(runs: ProspectingRuns, stats_growth: Any) -> None:
    assert stats_growth(runs.after_first, runs.before, "contacts", "total") == runs.first["contacts_created"]
    assert (
        stats_growth(runs.after_first, runs.before, "sequence_enrolments", "total") == runs.first["enrolled"]
    )
    assert runs.after_first["contacts"]["duplicates_by_email"] == 0
    assert runs.after_first["sequence_enrolments"]["duplicates"] == 0


def test_first_run_sends_enrichment_in_batches_of_ten(runs: ProspectingRuns, stats_growth: Any) -> None:
    bulk_match = stats_growth(
        runs.after_first, runs.before, "requests", "by_endpoint", "POST /api/v1/people/bulk_match"
    )
    assert bulk_match == -(-runs.first["found"] // 10)
    assert (
        stats_growth(runs.after_first, runs.before, "requests", "by_endpoint", "POST /api/v1/people/match")
        == 0
    )


def test_second_run_spends_no_credit_and_creates_nothing(runs: ProspectingRuns, stats_growth: Any) -> None:
    assert stats_growth(runs.after_second, runs.after_first, "credits", "total") == 0
    assert stats_growth(runs.after_second, runs.after_first, "contacts", "total") == 0
    assert stats_growth(runs.after_second, runs.after_first, "sequence_enrolments", "total") == 0
    assert runs.after_second["contacts"]["duplicates_by_email"] == 0
    assert runs.after_second["sequence_enrolments"]["duplicates"] == 0


def test_second_run_reads_everyone_back_from_the_crm(runs: ProspectingRuns) -> None:
    summary = runs.second
    assert summary["found"] == runs.first["found"]
    assert summary["enriched"] == 0
    assert summary["credits_spent"] == 0
    assert summary["existing_contacts"] == runs.first["enriched"]
    assert summary["contacts_created"] == 0
    assert summary["enrolled"] == 0
    assert summary["skipped"].get("already_in_sequence", 0) == runs.first["enrolled"]
