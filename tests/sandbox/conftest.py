"""The module's sandbox (tests/conftest.py), reset before each test; plain ``requests`` as client."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_apollo.sandbox import ApolloSandbox
from tests._support import CANARY_KEY


class Api:
    """A thin ``requests`` client for the sandbox: ``api.post("/contacts", json=...)``."""

    def __init__(self, sandbox: ApolloSandbox, key: str = CANARY_KEY) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["X-Api-Key"] = key

    def url(self, path: str) -> str:
        return f"{self.sandbox.base_url}/api/v1{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), timeout=10, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.url(path), timeout=10, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.put(self.url(path), timeout=10, **kwargs)

    def new_contact(self, **fields: Any) -> dict[str, Any]:
        """Create a contact and return it (asserts the call succeeded)."""
        response = self.post("/contacts", json=fields)
        assert response.status_code == 200, response.text
        contact: dict[str, Any] = response.json()["contact"]
        return contact

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.sandbox.base_url}/_sandbox{path}", timeout=10, **kwargs)


@pytest.fixture(scope="module")
def sandbox_options() -> dict[str, Any]:
    """A small seed-7 world: the sandbox's own tests need no more."""
    return {"seed": 7, "people": 300}


@pytest.fixture
def sb(clean_sandbox: ApolloSandbox) -> ApolloSandbox:
    """The module's sandbox, fresh: no records, zeroed counters, default limits, no faults."""
    return clean_sandbox


@pytest.fixture
def api(sb: ApolloSandbox) -> Api:
    return Api(sb)
