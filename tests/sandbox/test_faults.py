"""Faults: each kind as a `requests` client sees it, determinism per seed, targeting."""

from __future__ import annotations

import pytest
import requests

from airflow_provider_apollo.sandbox import SandboxFaults
from airflow_provider_apollo.sandbox.faults import FaultInjector

CONTACT = {"first_name": "Jon", "last_name": "Snow", "email": "jon@westeros.example.com"}


def test_error_5xx_does_nothing_and_answers_a_server_error(sb, api):
    sb.configure(faults=SandboxFaults(error_5xx=1.0))

    response = api.post("/contacts", json=CONTACT)

    assert response.status_code in (500, 502, 503)
    assert sb.stats()["contacts"]["total"] == 0
    assert sb.stats()["faults"] == {"total": 1, "by_kind": {"error_5xx": 1}}


def test_burst_429_has_retry_after_and_does_not_use_quota(sb, api):
    sb.configure(faults=SandboxFaults(burst_429=1.0))

    response = api.post("/contacts", json=CONTACT)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "message" in response.json()
    assert sb.stats()["contacts"]["total"] == 0


def test_drop_connection_is_a_connection_error_and_nothing_happens(sb, api):
    sb.configure(faults=SandboxFaults(drop_connection=1.0))

    with pytest.raises(requests.ConnectionError):
        api.post("/contacts", json=CONTACT)

    assert sb.stats()["contacts"]["total"] == 0


def test_commit_then_drop_creates_the_record_but_the_client_sees_a_connection_error(sb, api):
    sb.configure(faults=SandboxFaults(commit_then_drop=1.0))

    with pytest.raises(requests.ConnectionError):
        api.post("/contacts", json=CONTACT)
    reads_are_untouched = api.post("/contacts/search", json={})

    assert sb.stats()["contacts"]["total"] == 1  # the ambiguous write did happen
    assert reads_are_untouched.status_code == 200  # only endpoints that create are affected


def test_malformed_json_does_the_work_and_answers_a_truncated_body(sb, api):
    sb.configure(faults=SandboxFaults(malformed_json=1.0))

    response = api.post("/contacts", json=CONTACT)

    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert sb.stats()["contacts"]["total"] == 1


def test_slow_answer_exceeds_a_client_timeout(sb, api):
    sb.configure(faults=SandboxFaults(slow=1.0, slow_seconds=1.0))

    with pytest.raises(requests.Timeout):
        api.session.get(api.url("/auth/health"), timeout=0.2)


def test_a_slow_create_commits_even_when_the_client_gave_up(sb, api):
    """Apollo may act on a request it answers late: the record exists though the client timed out."""
    sb.configure(faults=SandboxFaults(slow=1.0, slow_seconds=0.5))

    with pytest.raises(requests.Timeout):
        api.session.post(
            api.url("/contacts"), json={"first_name": "Late", "email": "late@example.org"}, timeout=0.2
        )

    assert sb.stats()["contacts"]["total"] == 1


def test_faults_only_hit_the_chosen_endpoints_and_never_the_control_plane(sb, api):
    sb.configure(faults=SandboxFaults(error_5xx=1.0, endpoints=["/api/v1/people/*"]))

    assert api.post("/contacts/search", json={}).status_code == 200
    assert api.post("/people/match", json={"id": "x"}).status_code >= 500
    assert api.control("GET", "/stats").status_code == 200


def test_faults_can_target_methods(sb, api):
    sb.configure(faults=SandboxFaults(error_5xx=1.0, methods=["POST"]))

    assert api.get("/auth/health").status_code == 200
    assert api.post("/contacts/search", json={}).status_code >= 500


def test_same_seed_same_fault_sequence():
    def sequence(seed):
        injector = FaultInjector(SandboxFaults(seed=seed, error_5xx=0.2, drop_connection=0.2, slow=0.1))
        return [injector.draw("POST", "/api/v1/contacts", creates=True) for _ in range(200)]

    assert sequence(3) == sequence(3)
    assert sequence(3) != sequence(4)
    kinds = {kind for kind, _ in sequence(3)}
    assert kinds == {None, "error_5xx", "drop_connection", "slow"}


def test_fault_probabilities_are_validated():
    with pytest.raises(ValueError, match="between 0 and 1"):
        SandboxFaults(error_5xx=1.5)
    with pytest.raises(ValueError, match="add up to"):
        SandboxFaults(error_5xx=0.6, slow=0.6)
    with pytest.raises(ValueError, match="unknown faults keys"):
        SandboxFaults.from_dict({"errors": 0.1})
