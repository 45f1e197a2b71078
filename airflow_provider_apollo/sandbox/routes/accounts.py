"""Account endpoints: create (with ``run_dedupe``), view, update, search, bulk, owners, stages."""

from __future__ import annotations

import copy

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.routes._io import flag, ids_param, ok, read_params
from airflow_provider_apollo.sandbox.routes.contacts import (
    bulk_create_answer,
    bulk_edits,
    check_edits,
    search_answer,
)
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The account routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    state = runtime.state

    def team() -> dict[str, object]:
        return {"id": state.world.team_id, "accounts_finder_empty": False}

    @router.post("/accounts")
    async def create_account(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            account, _existed = state.create_account(params, run_dedupe=flag(params, "run_dedupe"))
            return ok({"account": copy.deepcopy(account), "team": team()})

    @router.get("/accounts/{id}")
    async def get_account(request: Request, id: str) -> JSONResponse:
        await read_params(request, runtime)
        with state.lock:
            return ok({"account": copy.deepcopy(state.account(id))})

    @router.api_route("/accounts/{id}", methods=["PATCH", "PUT"])
    async def update_account(request: Request, id: str) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            return ok({"account": copy.deepcopy(state.update_account(id, params))})

    @router.post("/accounts/search")
    async def search_accounts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            return ok(search_answer("accounts", state.search_accounts(params), params))

    @router.post("/accounts/bulk_create")
    async def bulk_create_accounts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        return ok(
            bulk_create_answer(
                params,
                "accounts",
                lambda item, dedupe: state.create_account(item, run_dedupe=dedupe),
                state.lock,
                lambda item: state.check_fields("accounts", item),
            )
        )

    @router.post("/accounts/bulk_update")
    async def bulk_update_accounts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            edits = bulk_edits(params, "account")
            check_edits(state, edits, "accounts", state.account)
            updated = [copy.deepcopy(state.update_account(aid, fields)) for aid, fields in edits]
        return ok({"accounts": updated})

    @router.post("/accounts/update_owners")
    async def update_owners(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        account_ids = ids_param(params, "account_ids")
        with state.lock:
            for account_id in account_ids:
                state.account(account_id)
            fields = {"owner_id": params.get("owner_id")}
            return ok({"accounts": [copy.deepcopy(state.update_account(aid, fields)) for aid in account_ids]})

    @router.get("/account_stages")
    async def account_stages(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"account_stages": state.world.account_stages})

    return router
