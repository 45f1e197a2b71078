"""The control plane under ``/_sandbox/``: stats, reset, world events and runtime configuration.

Outside Apollo's namespace, needs no API key, and answers loopback clients only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse

from airflow_provider_apollo.sandbox import records
from airflow_provider_apollo.sandbox.activity import COUNT_KEYS as ACTIVITY_KEYS
from airflow_provider_apollo.sandbox.activity import run_activity
from airflow_provider_apollo.sandbox.crm_seed import CrmSizes
from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.faults import SandboxFaults
from airflow_provider_apollo.sandbox.ratelimit import SandboxLimits
from airflow_provider_apollo.sandbox.routes._io import ids_param
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
#: What the control plane serves, as ``GET /_sandbox/world`` lists it.
CONTROL_ENDPOINTS = (
    "GET /_sandbox/stats",
    "POST /_sandbox/reset",
    "GET /_sandbox/world",
    "GET /_sandbox/config",
    "POST /_sandbox/config",
    "POST /_sandbox/job_postings",
    "POST /_sandbox/tasks/complete",
    "POST /_sandbox/activity",
    "GET /_sandbox/records/{object}",
)


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    if host not in _LOOPBACK and not host.startswith("127."):
        raise HTTPException(403, "The sandbox control plane only answers loopback clients.")


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise unprocessable("The request body is not valid JSON; send a JSON object.") from None
    if not isinstance(data, dict):
        raise unprocessable("The request body must be a JSON object.")
    return data


#: How many of the world's job titles ``GET /_sandbox/world`` lists, the most common first.
_TITLES_LISTED = 60


def world_summary(runtime: SandboxRuntime) -> dict[str, Any]:
    """What a test or a demo needs to know about the generated world, in one small object.

    :param runtime: the sandbox runtime.
    """
    world = runtime.state.world
    with runtime.state.lock:
        hiring = [org for org in world.organizations if runtime.state.job_postings(org["id"])][:10]
        return {
            "seed": world.seed,
            "counts": {
                "organizations": len(world.organizations),
                "people": len(world.people),
                "people_with_email": len(world.people_by_email),
                "job_postings": sum(len(p) for p in world.job_postings.values())
                + sum(len(p) for p in runtime.state.added_job_postings.values()),
            },
            "user": world.user,
            "users": runtime.state.users,
            "crm": {
                **runtime.state.crm_seeded.as_config(),
                "live": {
                    "contacts": len(runtime.state.contacts),
                    "accounts": len(runtime.state.accounts),
                    "opportunities": len(runtime.state.opportunities),
                    "tasks": len(runtime.state.tasks),
                },
                "deleted": {kind: len(ids) for kind, ids in runtime.state.deleted.items()},
                "records_objects": list(records.OBJECTS),
                "activity_keys": ["seed", *ACTIVITY_KEYS],
            },
            "control_endpoints": list(CONTROL_ENDPOINTS),
            "email_accounts": world.email_accounts,
            "sequences": world.sequences,
            "contact_stages": world.contact_stages,
            "account_stages": world.account_stages,
            "opportunity_stages": world.opportunity_stages,
            "labels": runtime.state.labels,
            "sample_domains": [org["primary_domain"] for org in world.organizations[:10]],
            "sample_organizations_hiring": [
                {"id": org["id"], "name": org["name"], "primary_domain": org["primary_domain"]}
                for org in hiring
            ],
            # What a people search's person_titles can match: a newcomer's "VP Sales" finds
            # nobody in a world whose titles read "VP of Sales".
            "titles": [
                title for title, _ in Counter(p["title"] for p in world.people).most_common(_TITLES_LISTED)
            ],
            "sample_people": [
                {"id": p["id"], "name": p["name"], "email": p["email"], "title": p["title"]}
                for p in world.people[:10]
            ],
        }


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The control-plane routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter(prefix="/_sandbox", dependencies=[Depends(_loopback_only)])
    _add_inspection_routes(router, runtime)
    _add_steering_routes(router, runtime)
    return router


def _add_inspection_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Read and reset the sandbox: counters, world, reset."""
    state = runtime.state

    @router.get("/stats")
    async def stats() -> JSONResponse:
        return JSONResponse(state.stats())

    @router.post("/reset")
    async def reset() -> JSONResponse:
        runtime.reset()
        return JSONResponse({"reset": True})

    @router.get("/world")
    async def world() -> JSONResponse:
        return JSONResponse(world_summary(runtime))


def _add_steering_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Change the sandbox: post job postings, complete tasks, read and set limits and faults."""
    state = runtime.state

    @router.post("/job_postings")
    async def job_postings(request: Request) -> JSONResponse:
        data = await _json_object(request)
        postings = data.get("postings")
        if not isinstance(postings, list):
            raise unprocessable("postings must be an array of {'title': ..., 'posted_at': iso} objects")
        created = state.add_job_postings(str(data.get("organization_id") or ""), postings)
        return JSONResponse({"organization_job_postings": created})

    @router.post("/tasks/complete")
    async def complete_tasks(request: Request) -> JSONResponse:
        data = await _json_object(request)
        return JSONResponse({"tasks": state.complete_tasks(ids_param(data, "task_ids"))})

    @router.post("/activity")
    async def activity(request: Request) -> JSONResponse:
        return JSONResponse(run_activity(state, await _json_object(request)))

    @router.get("/records/{name}")
    async def truth(name: str, fields: str | None = None) -> StreamingResponse:
        chunks = records.truth_chunks(state, name, fields)
        return StreamingResponse(records.stream(chunks), media_type="application/json")

    @router.get("/config")
    async def get_config() -> JSONResponse:
        return JSONResponse(config_of(runtime))

    @router.post("/config")
    async def configure(request: Request) -> JSONResponse:
        data = await _json_object(request)
        unknown = set(data) - {"limits", "faults", *CrmSizes.config_keys()}
        if unknown:
            raise unprocessable(
                f"unknown config keys {sorted(unknown)}; send 'limits', 'faults' and/or "
                f"{sorted(CrmSizes.config_keys())}"
            )
        try:
            # The CRM's sizes take effect on the next POST /_sandbox/reset (seeding is a reset).
            sizes = state.crm_sizes.with_config(data)
            limits = (
                SandboxLimits.from_dict(data["limits"], runtime.limiter.limits) if "limits" in data else None
            )
            faults = (
                SandboxFaults.from_dict(data["faults"], runtime.injector.faults) if "faults" in data else None
            )
        except (TypeError, ValueError) as error:
            raise unprocessable(str(error)) from None
        if limits is not None:
            runtime.limiter.configure(limits)
        if faults is not None:
            runtime.injector.configure(faults)
        state.crm_sizes = sizes
        return JSONResponse(config_of(runtime))


def config_of(runtime: SandboxRuntime) -> dict[str, Any]:
    """The limits and faults in force, as JSON.

    :param runtime: the sandbox runtime.
    """
    from dataclasses import asdict

    faults = asdict(runtime.injector.faults)
    for key in ("endpoints", "methods"):
        faults[key] = list(faults[key]) if faults[key] is not None else None
    limits = asdict(runtime.limiter.limits)
    # Show the bulk limits in force, also when they are derived from the enrichment ones.
    limits["bulk_enrichment"] = asdict(runtime.limiter.limits.for_group("bulk_enrichment"))
    state = runtime.state
    return {
        "limits": limits,
        "faults": faults,
        **state.crm_sizes.as_config(),
        # The sizes seeded now; they become crm_* above at the next POST /_sandbox/reset.
        "crm_seeded": state.crm_seeded.as_config(),
        "crm_applies_on": "reset",
    }
