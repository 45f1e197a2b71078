"""The bad-input catalogue (issue 6, part 4): refused clearly, before anything is spent.

Every case builds an operator or sensor the way a DAG author could get it wrong (or a
connection an admin could get wrong), runs it against the sandbox, and asserts that:

1. it fails with ``ApolloConfigurationError`` whose message names the wrong argument, and
2. the sandbox received no request and charged no credit (the check ran first).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest.mock import MagicMock

import pendulum
import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.contacts import (
    ApolloCreateContactsOperator,
    ApolloUpdateContactStageOperator,
)
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)
from airflow_provider_apollo.operators.generic import ApolloOperator
from airflow_provider_apollo.operators.search import (
    ApolloSearchOrganizationsOperator,
    ApolloSearchPeopleOperator,
)
from airflow_provider_apollo.operators.sequences import (
    ApolloAddToSequenceOperator,
    ApolloRemoveFromSequenceOperator,
)
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sandbox import ApolloSandbox
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

BAD_CONN = "apollo_bad_input"
PEOPLE = [{"email": "ann@acme.example", "first_name": "Ann", "last_name": "Lee"}]
ENRICHMENT_RESULT = {"status": "matched", "input": PEOPLE[0], "person": {"id": "p-1"}}


@dataclass(frozen=True)
class BadInput:
    """One mistake: what is built, the argument the error must name, and the connection used.

    :param build: makes the operator or sensor (a constructor may already refuse).
    :param argument: text the error message must contain (the argument, extra or field).
    :param connection: changes to the sandbox connection (``{"extra": {...}}``, ``{"host": ...}``).
    :param bug: the provider bug this case exposes (the case is then a strict xfail).
    """

    build: Callable[[str], Any]
    argument: str
    connection: dict[str, Any] | None = None
    bug: str | None = None


def wrong(value: Any) -> Any:
    """A value of the wrong type, passed on purpose (what a template or an XCom can produce)."""
    return value


def search_people(**kwargs: Any) -> Callable[[str], Any]:
    return lambda conn: ApolloSearchPeopleOperator(
        task_id="search", apollo_conn_id=conn, **{"filters": {"person_titles": ["vp"]}, **kwargs}
    )


def _connection_case(argument: str, **connection: Any) -> BadInput:
    return BadInput(search_people(), argument, connection)


CASES: dict[str, BadInput] = {
    # ------------------------------------------------------------------ connection
    "conn-no-api-key": _connection_case("password", password=None),
    "conn-blank-api-key": _connection_case("password", password="   "),
    "conn-timeout-not-a-number": _connection_case("timeout", extra={"timeout": "fast"}),
    "conn-timeout-negative": _connection_case("timeout", extra={"timeout": -1}),
    "conn-timeout-zero": _connection_case("timeout", extra={"timeout": 0}),
    "conn-max-retries-not-a-number": _connection_case("max_retries", extra={"max_retries": "many"}),
    "conn-max-retries-negative": _connection_case("max_retries", extra={"max_retries": -2}),
    "conn-max-retries-bool": _connection_case("max_retries", extra={"max_retries": True}),
    "conn-unknown-auth-type": _connection_case("auth_type", extra={"auth_type": "basic"}),
    "conn-max-quota-wait-text": _connection_case("max_quota_wait", extra={"max_quota_wait": "forever"}),
    "conn-host-ftp-scheme": _connection_case("host", host="ftp://127.0.0.1"),
    "conn-host-plain-http-not-loopback": _connection_case("clear text", host="http://apollo.example.com"),
    "conn-host-with-query-string": _connection_case("query", host="https://api.apollo.io/?api_key=x"),
    "conn-extras-not-json": _connection_case("extra", extra="{timeout: 5"),
    "conn-extras-a-list": _connection_case("extra", extra="[1, 2]"),
    # ----------------------------------------------------------- search operators
    "search-unknown-filter-key": BadInput(search_people(filters={"person_title": ["vp"]}), "person_title"),
    "search-filters-not-a-mapping": BadInput(search_people(filters=["vp"]), "filters"),
    "search-per-page-zero": BadInput(search_people(per_page=0), "per_page"),
    "search-per-page-above-100": BadInput(search_people(per_page=101), "per_page"),
    "search-per-page-text": BadInput(search_people(per_page="ten"), "per_page"),
    "search-max-records-negative": BadInput(search_people(max_records=-1), "max_records"),
    "search-max-records-text": BadInput(search_people(max_records="lots"), "max_records"),
    "search-employee-range-unparseable": BadInput(
        search_people(filters={"organization_num_employees_ranges": ["a lot"]}),
        "organization_num_employees_ranges",
    ),
    "search-organizations-people-filter": BadInput(
        lambda conn: ApolloSearchOrganizationsOperator(
            task_id="orgs", apollo_conn_id=conn, filters={"person_titles": ["vp"]}
        ),
        "person_titles",
    ),
    # ------------------------------------------------------------------ enrichment
    "enrich-people-none": BadInput(
        lambda c: ApolloEnrichPeopleOperator(task_id="e", apollo_conn_id=c, people=wrong(None)), "people"
    ),
    "enrich-people-a-string": BadInput(
        lambda c: ApolloEnrichPeopleOperator(task_id="e", apollo_conn_id=c, people=wrong("ann@acme.example")),
        "people[0]",
    ),
    "enrich-person-not-identified": BadInput(
        lambda c: ApolloEnrichPeopleOperator(task_id="e", apollo_conn_id=c, people=[{"title": "VP"}]),
        "people[0]",
    ),
    "enrich-phone-reveal-without-webhook": BadInput(
        lambda c: ApolloEnrichPeopleOperator(
            task_id="e", apollo_conn_id=c, people=PEOPLE, reveal_phone_number=True
        ),
        "webhook_url",
    ),
    "enrich-webhook-not-a-url": BadInput(
        lambda c: ApolloEnrichPeopleOperator(
            task_id="e", apollo_conn_id=c, people=PEOPLE, reveal_phone_number=True, webhook_url="hooks/phones"
        ),
        "webhook_url",
    ),
    "enrich-max-credits-negative": BadInput(
        lambda c: ApolloEnrichPeopleOperator(task_id="e", apollo_conn_id=c, people=PEOPLE, max_credits=-5),
        "max_credits",
    ),
    "enrich-bad-on-budget-exhausted": BadInput(
        lambda c: ApolloEnrichPeopleOperator(
            task_id="e", apollo_conn_id=c, people=PEOPLE, on_budget_exhausted="explode"
        ),
        "on_budget_exhausted",
    ),
    "enrich-organizations-not-a-domain": BadInput(
        lambda c: ApolloEnrichOrganizationsOperator(task_id="o", apollo_conn_id=c, domains=["not a domain"]),
        "domains[0]",
    ),
    "enrich-organizations-number": BadInput(
        lambda c: ApolloEnrichOrganizationsOperator(task_id="o", apollo_conn_id=c, domains=wrong([42])),
        "domains[0]",
    ),
    # -------------------------------------------------------------------- contacts
    "contacts-not-mappings": BadInput(
        lambda c: ApolloCreateContactsOperator(task_id="c", apollo_conn_id=c, contacts=wrong([1, 2])),
        "contacts[0]",
    ),
    "contacts-empty-label": BadInput(
        lambda c: ApolloCreateContactsOperator(
            task_id="c", apollo_conn_id=c, contacts=PEOPLE, label_names=[""]
        ),
        "label_names[0]",
    ),
    "contacts-stage-id-and-name": BadInput(
        lambda c: ApolloCreateContactsOperator(
            task_id="c", apollo_conn_id=c, contacts=PEOPLE, contact_stage_id="s-1", contact_stage_name="Cold"
        ),
        "contact_stage_id",
    ),
    "update-stage-neither-id-nor-name": BadInput(
        lambda c: ApolloUpdateContactStageOperator(task_id="u", apollo_conn_id=c, contact_ids=["c-1"]),
        "contact_stage_id",
    ),
    "update-stage-ids-not-a-list-of-ids": BadInput(
        lambda c: ApolloUpdateContactStageOperator(
            task_id="u", apollo_conn_id=c, contact_ids=[{"name": "no id"}], contact_stage_id="s-1"
        ),
        "contact_ids[0]",
    ),
    # ------------------------------------------------------------------- sequences
    "sequence-neither-id-nor-name": BadInput(
        lambda c: ApolloAddToSequenceOperator(
            task_id="s", apollo_conn_id=c, contact_ids=["c-1"], email_account_id="ea-1"
        ),
        "sequence_id",
    ),
    "sequence-id-and-name": BadInput(
        lambda c: ApolloAddToSequenceOperator(
            task_id="s",
            apollo_conn_id=c,
            contact_ids=["c-1"],
            sequence_id="q-1",
            sequence_name="Q",
            email_account_id="e",
        ),
        "sequence_name",
    ),
    "sequence-no-sender": BadInput(
        lambda c: ApolloAddToSequenceOperator(
            task_id="s", apollo_conn_id=c, contact_ids=["c-1"], sequence_id="q-1"
        ),
        "email_account",
    ),
    "sequence-contact-id-a-number": BadInput(
        lambda c: ApolloAddToSequenceOperator(
            task_id="s", apollo_conn_id=c, contact_ids=wrong([123]), sequence_id="q-1", email_account_id="e"
        ),
        "contact_ids[0]",
    ),
    "sequence-enrichment-result-as-contact": BadInput(
        lambda c: ApolloAddToSequenceOperator(
            task_id="s",
            apollo_conn_id=c,
            contact_ids=[ENRICHMENT_RESULT],
            sequence_id="q-1",
            email_account_id="e",
        ),
        "contact_ids[0]",
    ),
    "remove-bad-mode": BadInput(
        lambda c: ApolloRemoveFromSequenceOperator(
            task_id="r", apollo_conn_id=c, sequence_ids=["q-1"], contact_ids=["c-1"], mode="delete"
        ),
        "mode",
    ),
    "remove-no-sequence": BadInput(
        lambda c: ApolloRemoveFromSequenceOperator(
            task_id="r", apollo_conn_id=c, sequence_ids=[], contact_ids=["c-1"]
        ),
        "sequence_ids",
    ),
    # ----------------------------------------------------------------------- tasks
    "tasks-bad-type": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t", apollo_conn_id=c, contact_ids=["c-1"], due_at="2026-03-01T09:00:00Z", type="meeting"
        ),
        "type",
    ),
    "tasks-bad-priority": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t",
            apollo_conn_id=c,
            contact_ids=["c-1"],
            due_at="2026-03-01T09:00:00Z",
            priority="urgent",
        ),
        "priority",
    ),
    "tasks-due-at-unparseable": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t", apollo_conn_id=c, contact_ids=["c-1"], due_at="next tuesday"
        ),
        "due_at",
    ),
    "tasks-due-at-time-only": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t", apollo_conn_id=c, contact_ids=["c-1"], due_at="12:00"
        ),
        "due_at",
    ),
    "tasks-contact-without-id": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t", apollo_conn_id=c, contact_ids=[{"email": "a@b.example"}], due_at="2026-03-01"
        ),
        "contact_ids[0]",
    ),
    "tasks-zero-create-attempts": BadInput(
        lambda c: ApolloCreateTasksOperator(
            task_id="t", apollo_conn_id=c, contact_ids=["c-1"], due_at="2026-03-01", max_create_attempts=0
        ),
        "max_create_attempts",
    ),
    # --------------------------------------------------------------------- generic
    "generic-bad-method": BadInput(
        lambda c: ApolloOperator(task_id="g", apollo_conn_id=c, method="FETCH", endpoint="accounts/search"),
        "method",
    ),
    "generic-absolute-url": BadInput(
        lambda c: ApolloOperator(
            task_id="g", apollo_conn_id=c, method="POST", endpoint="https://evil.example.com/api/v1/accounts"
        ),
        "endpoint",
    ),
    "generic-path-traversal": BadInput(
        lambda c: ApolloOperator(
            task_id="g", apollo_conn_id=c, method="GET", endpoint="accounts/../../admin"
        ),
        "endpoint",
    ),
    "generic-body-on-get": BadInput(
        lambda c: ApolloOperator(
            task_id="g", apollo_conn_id=c, method="GET", endpoint="accounts/a-1", data={"x": 1}
        ),
        "data",
    ),
    "generic-api-key-in-body": BadInput(
        lambda c: ApolloOperator(
            task_id="g", apollo_conn_id=c, method="POST", endpoint="accounts/search", data={"api_key": "k"}
        ),
        "api_key",
    ),
    # --------------------------------------------------------------------- sensors
    "postings-neither-ids-nor-domains": BadInput(
        lambda c: ApolloJobPostingsSensor(task_id="p", apollo_conn_id=c), "organization_domains"
    ),
    "postings-posted-after-unparseable": BadInput(
        lambda c: ApolloJobPostingsSensor(
            task_id="p", apollo_conn_id=c, organization_ids=["o-1"], posted_after="last week"
        ),
        "posted_after",
    ),
    "postings-empty-domain": BadInput(
        lambda c: ApolloJobPostingsSensor(task_id="p", apollo_conn_id=c, organization_domains=[""]),
        "organization_domains",
    ),
    "postings-keywords-a-number": BadInput(
        lambda c: ApolloJobPostingsSensor(
            task_id="p", apollo_conn_id=c, organization_ids=["o-1"], title_keywords=wrong(5)
        ),
        "title_keywords",
    ),
    "postings-per-page-too-big": BadInput(
        lambda c: ApolloJobPostingsSensor(
            task_id="p", apollo_conn_id=c, organization_ids=["o-1"], per_page=10**6
        ),
        "per_page",
    ),
    "tasks-sensor-nothing-to-watch": BadInput(
        lambda c: ApolloTasksSensor(task_id="w", apollo_conn_id=c), "task_ids"
    ),
    "tasks-sensor-min-matches-zero": BadInput(
        lambda c: ApolloTasksSensor(task_id="w", apollo_conn_id=c, task_ids=["t-1"], min_matches=0),
        "min_matches",
    ),
    "tasks-sensor-per-page-too-big": BadInput(
        lambda c: ApolloTasksSensor(task_id="w", apollo_conn_id=c, task_ids=["t-1"], per_page=500), "per_page"
    ),
    "tasks-sensor-no-target-status": BadInput(
        lambda c: ApolloTasksSensor(task_id="w", apollo_conn_id=c, task_ids=["t-1"], target_statuses=[]),
        "target_statuses",
    ),
    "tasks-sensor-filters-not-a-mapping": BadInput(
        lambda c: ApolloTasksSensor(task_id="w", apollo_conn_id=c, filters=wrong(["completed"])), "filters"
    ),
}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A safety net: a provider bug must not make a test connect beyond 127.0.0.1."""
    import urllib3.util.connection

    connect = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0]
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"the provider tried to connect to {host}: refused by the test")
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)


@pytest.fixture
def bad_connection(sandbox: ApolloSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``bad_connection(**changes)``: the sandbox connection under ``apollo_bad_input``, altered."""

    def set_connection(changes: dict[str, Any] | None) -> None:
        connection: dict[str, Any] = json.loads(sandbox.connection_json)
        for key, value in (changes or {}).items():
            if value is None:
                connection.pop(key, None)
            else:
                connection[key] = value
        monkeypatch.setenv(f"AIRFLOW_CONN_{BAD_CONN.upper()}", json.dumps(connection))

    yield set_connection


def _context() -> Any:
    """What an operator or sensor reads from the task context here."""
    return {
        "ti": MagicMock(name="ti"),
        "data_interval_start": pendulum.datetime(2026, 1, 1, tz="UTC"),
        "data_interval_end": pendulum.datetime(2026, 1, 2, tz="UTC"),
        "task_state_store": None,
    }


def _run(task: Any) -> Any:
    """One try: ``execute`` for operators, one ``poke`` for sensors."""
    from airflow.sdk import BaseSensorOperator

    if isinstance(task, BaseSensorOperator):
        return task.poke(_context())
    return task.execute(_context())


def _cases() -> list[Any]:
    return [
        pytest.param(
            case, id=name, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        )
        for name, case in CASES.items()
    ]


@pytest.mark.parametrize("case", _cases())
def test_bad_input_is_refused_by_name_before_any_request(
    case: BadInput,
    clean_sandbox: ApolloSandbox,
    fast_waits: list[float],
    bad_connection: Callable[..., None],
    canary_key: str,
    record_figures: Callable[..., None],
    request: pytest.FixtureRequest,
) -> None:
    bad_connection(case.connection)
    before = clean_sandbox.stats()

    with pytest.raises(ApolloConfigurationError) as raised:
        _run(case.build(BAD_CONN))

    after = clean_sandbox.stats()
    message = str(raised.value)
    record_figures(
        "bad_input",
        request.node.callspec.id,
        {"argument": case.argument, "error": type(raised.value).__name__, "message": message[:160]},
    )
    assert case.argument in message, f"the error does not name {case.argument!r}: {message}"
    assert canary_key not in message
    assert after["requests"]["total"] == before["requests"]["total"], after["requests"]["by_endpoint"]
    assert after["credits"]["total"] == before["credits"]["total"]


def test_an_unknown_sequence_name_fails_after_one_free_lookup_and_enrols_nobody(
    clean_sandbox: ApolloSandbox, record_figures: Callable[..., None]
) -> None:
    """A name can only be checked by asking Apollo: free sequence searches only (the name, then the
    team's sequences for the error to list), nothing enrolled or spent."""
    operator = ApolloAddToSequenceOperator(
        task_id="s", contact_ids=["c-1"], sequence_name="No Such Sequence", email_account_id="ea-1"
    )

    with pytest.raises(ApolloConfigurationError, match="No Such Sequence") as raised:
        operator.execute(_context())

    stats = clean_sandbox.stats()
    record_figures(
        "bad_input",
        "sequence-unknown-name",
        {"argument": "sequence_name", "message": str(raised.value)[:160]},
    )
    assert "sequence_name" in str(raised.value)
    assert set(stats["requests"]["by_endpoint"]) == {"POST /api/v1/emailer_campaigns/search"}
    assert stats["credits"]["total"] == 0
    assert stats["sequence_enrolments"]["total"] == 0
