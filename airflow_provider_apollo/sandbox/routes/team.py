"""Team endpoints: opportunities, users, mailboxes, labels, custom fields, stages, API usage."""

from __future__ import annotations

import copy
import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.catalogue import CATALOGUE
from airflow_provider_apollo.sandbox.routes._io import ok, read_params
from airflow_provider_apollo.sandbox.routes.contacts import search_answer
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime

#: Rails-style action names Apollo's usage keys use for record and collection routes.
_RECORD_ACTIONS = {"GET": "show", "PATCH": "update", "PUT": "update", "DELETE": "destroy"}
_COLLECTION_ACTIONS = {"GET": "index", "POST": "create"}


def usage_key(method: str, api_path: str) -> str:
    """Apollo's usage-stats key for an endpoint: a JSON ``[controller, action]`` pair.

    ``POST /contacts/search`` is ``["api/v1/contacts", "search"]``; record routes take the
    action from the method (``PATCH /contacts/{id}`` is ``["api/v1/contacts", "update"]``)
    and so do collections (``POST /contacts`` is ``["api/v1/contacts", "create"]``).

    :param method: the HTTP method.
    :param api_path: path template relative to ``/api/v1``, e.g. ``/contacts/search``.
    """
    segments = api_path.strip("/").split("/")
    if segments[-1].startswith("{"):
        controller, action = segments[:-1], _RECORD_ACTIONS.get(method, method.lower())
    elif len(segments) == 1:
        controller, action = segments, _COLLECTION_ACTIONS.get(method, method.lower())
    else:
        controller, action = segments[:-1], segments[-1]
    return json.dumps(["/".join(["api/v1", *controller]), action])


def _add_usage(
    into: dict[str, dict[str, int | None]], usage: dict[str, dict[str, int | None]]
) -> dict[str, dict[str, int | None]]:
    """Merge the usage of two methods sharing one key (``GET`` and ``POST tasks/search``)."""
    for window, figures in usage.items():
        merged = into[window]
        consumed = (merged["consumed"] or 0) + (figures["consumed"] or 0)
        merged["consumed"] = consumed
        merged["left_over"] = None if merged["limit"] is None else max(0, merged["limit"] - consumed)
    return into


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The team routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    _add_opportunity_routes(router, runtime)
    _add_team_routes(router, runtime)
    return router


def _add_opportunity_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Deals: create, search, read, update, and their stages."""
    state = runtime.state

    @router.post("/opportunities")
    async def create_opportunity(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        return ok({"opportunity": copy.deepcopy(state.create_opportunity(params))})

    # apollo-crm-export-notes.md: "GET /opportunities/search (the official CLI sends POST)
    # [unverified which]": both are served, sharing one rate-limit count per method.
    @router.api_route("/opportunities/search", methods=["GET", "POST"])
    async def search_opportunities(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            return ok(search_answer("opportunities", state.search_opportunities(params), params))

    @router.get("/opportunities/{id}")
    async def get_opportunity(request: Request, id: str) -> JSONResponse:
        await read_params(request, runtime)
        with state.lock:
            return ok({"opportunity": copy.deepcopy(state.opportunity(id))})

    @router.patch("/opportunities/{id}")
    async def update_opportunity(request: Request, id: str) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            return ok({"opportunity": copy.deepcopy(state.update_opportunity(id, params))})

    @router.get("/opportunity_stages")
    async def opportunity_stages(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"opportunity_stages": state.world.opportunity_stages})


def _add_team_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """What the team has: users, mailboxes, labels, custom fields, API usage."""
    state = runtime.state

    @router.get("/users/search")
    async def users(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            return ok(search_answer("users", state.users, params))

    @router.get("/email_accounts")
    async def email_accounts(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"email_accounts": state.world.email_accounts})

    @router.get("/labels")
    async def labels(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        with state.lock:
            # Apollo answers a bare JSON array here, unlike every other list endpoint.
            return ok(copy.deepcopy(state.labels))

    @router.get("/typed_custom_fields")
    async def typed_custom_fields(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"typed_custom_fields": state.world.custom_fields})

    @router.get("/fields")
    async def fields(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"fields": state.world.custom_fields})

    @router.post("/usage_stats/api_usage_stats")
    async def api_usage_stats(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        answer: dict[str, dict[str, dict[str, int | None]]] = {}
        # From the gateway's table, not the router: the same endpoints the limiter counts.
        for endpoint in sorted(CATALOGUE.endpoints, key=lambda e: (e.path, e.method)):
            usage = runtime.limiter.usage(endpoint.key, endpoint.group)
            key = usage_key(endpoint.method, endpoint.path)
            answer[key] = _add_usage(answer[key], usage) if key in answer else usage
        return ok(answer)
