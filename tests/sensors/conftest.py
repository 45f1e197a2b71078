"""Fixtures for the sensor tests: a hook double that behaves (and bills) like Apollo."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from tests._support import set_connection


class FakeApolloHook:
    """The three ApolloHook methods the sensors call, over in-memory data.

    Job postings cost 1 credit per page and a found organization 1 credit, as on Apollo;
    every call is recorded so tests can assert what was asked and how often.

    :param postings: organization id -> its job postings.
    :param organizations: domain -> organization id (absent: Apollo does not know it).
    :param tasks: every task of the team.
    """

    def __init__(
        self,
        *,
        postings: Mapping[str, list[dict[str, Any]]] | None = None,
        organizations: Mapping[str, str] | None = None,
        tasks: list[dict[str, Any]] | None = None,
    ) -> None:
        self.postings = dict(postings or {})
        self.organizations = dict(organizations or {})
        self.tasks = list(tasks or [])
        self.credits_spent = 0.0
        self.requests_sent = 0
        self.calls: list[tuple[str, Any]] = []

    def bulk_enrich_organizations(self, domains: Sequence[str]) -> list[dict[str, Any] | None]:
        self.calls.append(("bulk_enrich_organizations", list(domains)))
        self.requests_sent += 1
        found: list[dict[str, Any] | None] = []
        for domain in domains:
            org_id = self.organizations.get(domain)
            found.append({"id": org_id, "primary_domain": domain} if org_id else None)
            self.credits_spent += 1 if org_id else 0
        return found

    def iter_job_postings(self, organization_id: str, *, per_page: int = 100) -> Iterator[dict[str, Any]]:
        self.calls.append(("iter_job_postings", (organization_id, per_page)))
        postings = self.postings.get(organization_id, [])
        pages = max(1, -(-len(postings) // per_page))
        self.credits_spent += pages
        self.requests_sent += pages
        yield from postings

    def iter_tasks(self, filters: Mapping[str, Any], *, per_page: int = 100) -> Iterator[dict[str, Any]]:
        self.calls.append(("iter_tasks", dict(filters)))
        self.requests_sent += 1
        yield from self.tasks


class FakeTaskStateStore:
    """``context["task_state_store"]``: survives between the pokes of a test, like the real one."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        # A JSON round trip, as the real store does: nothing but JSON survives.
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    def set(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))


def posting(title: str, posted_at: str, posting_id: str | None = None) -> dict[str, Any]:
    """A job posting shaped like Apollo's sample answer."""
    return {
        "id": posting_id or f"jp-{abs(hash((title, posted_at))) % 10**8}",
        "title": title,
        "url": "https://jobs.example/1",
        "city": "Austin",
        "state": "Texas",
        "country": "United States",
        "last_seen_at": posted_at,
        "posted_at": posted_at,
    }


def task(task_id: str, status: str, *, contact_id: str = "c1", type: str = "call") -> dict[str, Any]:
    """A task shaped like Apollo's answer, with the embedded contact it carries."""
    return {
        "id": task_id,
        "contact_id": contact_id,
        "account_id": "a1",
        "user_id": "u1",
        "type": type,
        "status": status,
        "priority": "high",
        "due_at": "2026-03-02T09:00:00+00:00",
        "completed_at": "2026-03-02T10:00:00+00:00" if status == "completed" else None,
        "note": None,
        "contact": {"id": contact_id, "email": "private@example.com", "phone_numbers": []},
    }


@pytest.fixture
def apollo_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apollo_default`` pointing at the real API host (requests are mocked) with a canary key."""
    set_connection(monkeypatch, extra={"max_retries": 0})


@pytest.fixture
def make_posting() -> Any:
    """The :func:`posting` factory (test modules cannot import conftest in importlib mode)."""
    return posting


@pytest.fixture
def make_task() -> Any:
    """The :func:`task` factory."""
    return task


@pytest.fixture
def fake_hook_class() -> type[FakeApolloHook]:
    """The :class:`FakeApolloHook` class."""
    return FakeApolloHook


@pytest.fixture
def state_store() -> FakeTaskStateStore:
    """A fresh task state store."""
    return FakeTaskStateStore()
