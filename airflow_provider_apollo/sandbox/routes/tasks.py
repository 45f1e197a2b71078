"""Task endpoints: create, bulk create, search. Tasks are never deduplicated, as in Apollo."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.routes._io import ok, read_params, require
from airflow_provider_apollo.sandbox.routes.contacts import search_answer
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime


def required_task_fields(contact_field: str) -> tuple[str, ...]:
    """The fields a task create must carry; ``contact_field`` names the contact(s).

    Apollo's current reference marks these Body Params "required": the task owner
    ``user_id``, the contact(s), ``type``, ``status`` and ``due_at``, while ``priority``
    "Defaults to medium" (docs.apollo.io/reference/create-a-task with ``contact_id``,
    .../bulk-create-tasks with ``contact_ids``). The legacy reference marked only
    ``priority`` and ``contact_ids``; apollo-api-notes.md says the current reference wins.

    :param contact_field: ``contact_id`` (single create) or ``contact_ids`` (bulk create).
    """
    return ("user_id", contact_field, "type", "status", "due_at")


# tasks/search: "requesting too many may trigger a 422 error like Per page not supported"
# (search-for-tasks, per_page: 100 per page at most).
MAX_TASKS_PER_PAGE = 100


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
        # The single create names its contact ``contact_id``; ``contact_ids`` is accepted too.
        contact_field = "contact_ids" if params.get("contact_ids") else "contact_id"
        require(params, required_task_fields(contact_field), "POST /tasks")
        tasks = copy.deepcopy(state.create_tasks(_contact_ids(params), params))
        # One contact is the usual call; ``tasks`` carries all of them when several were named.
        return ok({"task": tasks[0], "tasks": tasks})

    @router.post("/tasks/bulk_create")
    async def bulk_create_tasks(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        require(params, required_task_fields("contact_ids"), "POST /tasks/bulk_create")
        tasks = copy.deepcopy(state.create_tasks(_contact_ids(params), params))
        return ok({"success": True, "tasks": tasks})

    @router.api_route("/tasks/search", methods=["POST", "GET"])
    async def search_tasks(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            found = state.search_tasks(params)
            answer = search_answer("tasks", found, params, max_per_page=MAX_TASKS_PER_PAGE, refuse_above=True)
        answer["pipeline_total"] = len(found)
        return ok(answer)

    return router
