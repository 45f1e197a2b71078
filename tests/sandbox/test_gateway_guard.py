"""No Apollo route can skip authentication, key permission, faults or limits.

The gateway used to find routes with ``isinstance(route, starlette.routing.Route)``; newer
FastAPI wraps its routes, the list came back empty and every rule was silently skipped (a
wrong key got 200). These tests fail if any route the app serves is unguarded, whatever the
framework does with its router.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import MutableMapping
from typing import Any

import pytest
import requests

from airflow_provider_apollo.sandbox import ApolloSandbox
from airflow_provider_apollo.sandbox.app import build_app
from airflow_provider_apollo.sandbox.catalogue import CATALOGUE, ENDPOINTS, Catalogue, Endpoint
from airflow_provider_apollo.sandbox.gateway import API_PREFIXES, ApolloGateway, retry_after_header
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import generate_world

Message = MutableMapping[str, Any]


def served_routes(sandbox: ApolloSandbox) -> list[tuple[str, str]]:
    """``(method, path)`` of every route the app serves, from FastAPI's public OpenAPI schema."""
    app = build_app(sandbox.runtime).app
    with warnings.catch_warnings():
        # One handler serves PATCH and PUT (and GET and POST tasks/search): FastAPI warns
        # that their generated operation ids repeat, which does not matter here.
        warnings.simplefilter("ignore", UserWarning)
        schema = app.openapi()
    routes = []
    for path, operations in schema["paths"].items():
        for method in operations:
            routes.append((method.upper(), path))
    return routes


def test_the_app_serves_exactly_the_gateways_table(sb):
    served = {(method, path) for method, path in served_routes(sb) if not path.startswith("/_sandbox")}
    expected = {(e.method, f"{prefix}{e.path}") for e in ENDPOINTS for prefix in API_PREFIXES}

    assert served == expected, "an Apollo route the gateway does not know (or a stale table entry)"


@pytest.mark.slow  # one request per route of the app: over a second
def test_every_api_route_the_app_serves_answers_a_wrong_key_401(sb):
    routes = [(m, p) for m, p in served_routes(sb) if not p.startswith("/_sandbox")]
    assert len(routes) == 2 * len(ENDPOINTS)  # both prefixes; an empty walk cannot pass

    answers = {}
    for method, template in routes:
        url = sb.base_url + re.sub(r"\{[^}]+\}", "some-id", template)
        response = requests.request(method, url, headers={"X-Api-Key": "wrong"}, json={}, timeout=5)
        answers[f"{method} {template}"] = response.status_code

    assert {route: status for route, status in answers.items() if status != 401} == {}
    assert sb.stats()["unauthorized"] == len(routes)
    assert sb.stats()["contacts"]["total"] == 0


def test_an_unknown_api_path_needs_a_valid_key_before_it_is_a_404(sb, api):
    wrong = requests.get(api.url("/no_such_endpoint"), headers={"X-Api-Key": "wrong"}, timeout=5)

    assert wrong.status_code == 401
    assert api.get("/no_such_endpoint").status_code == 404


class _AlwaysOk:
    """Stands in for any router: answers 200 to everything and records what reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.reached.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def _call(gateway: ApolloGateway, method: str, path: str, key: str) -> int:
    """Status the gateway answers for one request (pure ASGI, no server, no framework)."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"",
        "headers": [(b"x-api-key", key.encode())],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(gateway(scope, receive, send))
    return int(sent[0]["status"])


@pytest.fixture
def bare_gateway() -> tuple[ApolloGateway, _AlwaysOk]:
    state = SandboxState(lambda: generate_world(seed=1, people=20))
    runtime = SandboxRuntime(state=state, api_key="master", non_master_keys=("limited",))
    inner = _AlwaysOk()
    return ApolloGateway(inner, runtime), inner


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.key)
def test_the_gateway_alone_refuses_a_wrong_key_whatever_the_router(bare_gateway, endpoint: Endpoint):
    gateway, inner = bare_gateway
    path = "/api/v1" + endpoint.path.replace("{id}", "x")

    assert _call(gateway, endpoint.method, path, "wrong") == 401
    assert _call(gateway, endpoint.method, path, "limited") == (403 if endpoint.master_only else 200)
    assert _call(gateway, endpoint.method, path, "master") == 200
    expected_reached = [f"{endpoint.method} {path}"] * (1 if endpoint.master_only else 2)
    assert inner.reached == expected_reached


def test_literal_paths_win_over_templated_ones():
    assert CATALOGUE.match("POST", "/contacts/search") == Endpoint("POST", "/contacts/search")
    assert CATALOGUE.match("GET", "/contacts/abc") == Endpoint("GET", "/contacts/{id}")
    assert CATALOGUE.match("GET", "/contacts/abc/extra") is None
    assert CATALOGUE.match("DELETE", "/contacts/abc") is None


def test_a_table_listing_an_endpoint_twice_is_refused():
    with pytest.raises(ValueError, match="listed twice"):
        Catalogue((Endpoint("GET", "/labels"), Endpoint("GET", "/labels")))


@pytest.mark.parametrize(
    ("seconds", "header"),
    [
        (1.0, "1"),
        (60.0, "60"),
        (0.35, "0.35"),
        (0.3501, "0.351"),
        (59.8734, "59.874"),
        (0.0, "0"),
        (2.5, "2.5"),
    ],
)
def test_retry_after_is_whole_seconds_when_whole_else_decimal_rounded_up(seconds: float, header: str):
    assert retry_after_header(seconds) == header
