"""Task endpoints: create, bulk create, search. Tasks are never deduplicated, as in Apollo."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.routes._io import ok, read_params
from airflow_provider_apollo.sandbox.routes.contacts import search_answer
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime


def _contact_ids(params: dict[str, Any]) -> list[str]:
    value = params.get("contact_ids")
    if value is None and params.get("contact_id"):
        value = [params["contact_id"]]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise unprocessable("contact_ids (or contact_id) must name at least one contact")
    return [str(item) for item in value]


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The task routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    state = runtime.state

    @router.post("/tasks")
    async def create_task(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        tasks = copy.deepcopy(state.create_tasks(_contact_ids(params), params))
        # One contact is the usual call; ``tasks`` carries all of them when several were named.
        return ok({"task": tasks[0], "tasks": tasks})

    @router.post("/tasks/bulk_create")
    async def bulk_create_tasks(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        tasks = copy.deepcopy(state.create_tasks(_contact_ids(params), params))
        return ok({"success": True, "tasks": tasks})

    @router.api_route("/tasks/search", methods=["POST", "GET"])
    async def search_tasks(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            found = state.search_tasks(params)
            answer = search_answer("tasks", found, params)
        answer["pipeline_total"] = len(found)
        return ok(answer)

    return router
