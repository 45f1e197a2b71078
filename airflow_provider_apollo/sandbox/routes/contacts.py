"""Contact endpoints: create (with and without ``run_dedupe``), view, update, search, bulk, stages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox import render
from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.routes._io import flag, ids_param, int_param, ok, read_params
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime
from airflow_provider_apollo.sandbox.state import SandboxState
from airflow_provider_apollo.sandbox.world import Record

MAX_BULK_RECORDS = 100
# apollo-api-notes.md, Pagination: "per_page is 1..100 for searches".
MAX_PER_PAGE = 100
# contacts-api.md, Search for Contacts: "per_page | how many contacts to return per page.
# Max = 200". No error is documented above it, so a larger page is capped at 200.
MAX_CONTACTS_PER_PAGE = 200
# docs.apollo.io/docs/search-for-contacts: "this endpoint has a display limit of 50,000 records
# (100 records per page, up to 500 pages)". What Apollo answers past it is unverified
# (apollo-crm-export-notes.md); the sandbox answers an empty page with the true totals, and
# never a record past the 50,000th, whatever the page size.
DISPLAY_MAX_PAGES = 500
DISPLAY_MAX_RECORDS = 50_000
# Bulk Update Contacts (docs.apollo.io/reference/bulk-update-contacts): "You can update up to
# 1000 contacts per request; requests with more than 1000 contacts are rejected with a 422".
MAX_BULK_UPDATE_RECORDS = 1000


def search_answer(
    key: str,
    records: list[Record],
    params: dict[str, Any],
    *,
    max_per_page: int = MAX_PER_PAGE,
    refuse_above: bool = False,
) -> dict[str, Any]:
    """One page of a saved-record search in Apollo's shape (``pagination`` and friends).

    ``per_page`` above ``max_per_page`` is capped (the answer's pagination says so), or
    answers 422 with ``refuse_above`` where Apollo documents that it refuses it.

    :param key: the list's key, e.g. ``"contacts"``.
    :param records: every matching record.
    :param params: request parameters (``page``, ``per_page``).
    :param max_per_page: the largest page Apollo documents for this search.
    :param refuse_above: answer 422 instead of capping.
    """
    page = int_param(params, "page", 1)
    per_page = int_param(params, "per_page", 25, maximum=max_per_page, clamp=not refuse_above)
    start = (page - 1) * per_page
    shown: list[Record] = []
    if page <= DISPLAY_MAX_PAGES and start < DISPLAY_MAX_RECORDS:
        shown = records[start : min(start + per_page, DISPLAY_MAX_RECORDS)]
    return {
        key: copy.deepcopy(shown),
        "breadcrumbs": [],
        "partial_results_only": False,
        "disable_eu_prospecting": False,
        "partial_results_limit": 10000,
        "pagination": render.pagination(page, per_page, len(records)),
        "num_fetch_result": None,
    }


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The contact routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    _add_contact_record_routes(router, runtime)
    _add_contact_bulk_routes(router, runtime)
    return router


def _add_contact_record_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """One contact at a time: create, read, update, search."""
    state = runtime.state

    def labels_of(contact: Record) -> list[Record]:
        return [copy.deepcopy(label) for label in state.labels if label["id"] in contact["label_ids"]]

    @router.post("/contacts")
    async def create_contact(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            contact, reason = state.create_contact(params, run_dedupe=flag(params, "run_dedupe"))
            answer: dict[str, Any] = {
                "contact": copy.deepcopy(contact),
                "labels": labels_of(contact),
                "team": {"id": state.world.team_id, "contacts_finder_empty": False},
            }
        if reason is not None:
            answer["dedupe_result"] = {
                "found_existing": True,
                "match_reason": reason,
                "existing_contact_id": contact["id"],
            }
        return ok(answer)

    @router.get("/contacts/{id}")
    async def get_contact(request: Request, id: str) -> JSONResponse:
        await read_params(request, runtime)
        with state.lock:
            contact = state.contact(id)
            return ok({"contact": copy.deepcopy(contact), "labels": labels_of(contact)})

    @router.api_route("/contacts/{id}", methods=["PATCH", "PUT"])
    async def update_contact(request: Request, id: str) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            contact = state.update_contact(id, params)
            return ok({"contact": copy.deepcopy(contact), "labels": labels_of(contact)})

    @router.post("/contacts/search")
    async def search_contacts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            found = state.search_contacts(params)
            return ok(search_answer("contacts", found, params, max_per_page=MAX_CONTACTS_PER_PAGE))


def _add_contact_bulk_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Many contacts at a time: bulk create and update, stages, owners."""
    state = runtime.state

    @router.post("/contacts/bulk_create")
    async def bulk_create_contacts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        return ok(
            bulk_create_answer(
                params,
                "contacts",
                lambda item, dedupe: state.create_contact(item, run_dedupe=dedupe),
                state.lock,
                lambda item: state.check_fields("contacts", item),
            )
        )

    @router.post("/contacts/bulk_update")
    async def bulk_update_contacts(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        with state.lock:
            edits = bulk_edits(params, "contact")
            check_edits(state, edits, "contacts", state.contact)
            updated = [copy.deepcopy(state.update_contact(cid, fields)) for cid, fields in edits]
        return ok({"contacts": updated})

    @router.post("/contacts/update_stages")
    async def update_stages(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        contact_ids = ids_param(params, "contact_ids")
        stage_id = params.get("contact_stage_id")
        with state.lock:
            for contact_id in contact_ids:
                state.contact(contact_id)
            fields = {"contact_stage_id": stage_id}
            return ok({"contacts": [copy.deepcopy(state.update_contact(cid, fields)) for cid in contact_ids]})

    @router.post("/contacts/update_owners")
    async def update_owners(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        contact_ids = ids_param(params, "contact_ids")
        with state.lock:
            for contact_id in contact_ids:
                state.contact(contact_id)
            fields = {"owner_id": params.get("owner_id")}
            return ok({"contacts": [copy.deepcopy(state.update_contact(cid, fields)) for cid in contact_ids]})

    @router.get("/contact_stages")
    async def contact_stages(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        return ok({"contact_stages": state.world.contact_stages})


def bulk_create_answer(
    params: dict[str, Any],
    kind: str,
    create: Callable[[dict[str, Any], bool], tuple[Record, Any]],
    lock: AbstractContextManager[Any],
    check: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, list[Record]]:
    """``{"created_<kind>": [...], "existing_<kind>": [...]}`` for a ``<kind>/bulk_create``.

    Every entry is checked before any is created, so a bad entry creates nothing.

    :param params: the request's parameters; ``params[kind]`` holds the records.
    :param kind: ``contacts`` or ``accounts``.
    :param create: creates one record, ``(fields, run_dedupe) -> (record, existed)``.
    :param lock: the state lock, held while creating.
    :param check: raises the 422 an entry's fields would raise (owner, stage, custom fields).
    """
    items = params.get(kind)
    if not isinstance(items, list) or not items:
        raise unprocessable(f"{kind} must be a non-empty array of {kind[:-1]} objects")
    if len(items) > MAX_BULK_RECORDS:
        raise unprocessable(f"{kind} can hold at most {MAX_BULK_RECORDS} per call; got {len(items)}")
    if not all(isinstance(item, dict) for item in items):
        raise unprocessable(f"each entry of {kind} must be an object")
    run_dedupe = flag(params, "run_dedupe")
    created: list[Record] = []
    existing: list[Record] = []
    with lock:
        if check is not None:
            for item in items:
                check(item)
        for item in items:
            record, existed = create(item, run_dedupe)
            (existing if existed else created).append(copy.deepcopy(record))
    return {f"created_{kind}": created, f"existing_{kind}": existing}


def check_edits(
    state: SandboxState,
    edits: list[tuple[str, dict[str, Any]]],
    kind: str,
    lookup: Callable[[str], Record],
) -> None:
    """Refuse a bulk update before any write: too many records, an unknown or deleted id, or a
    field value the record would refuse (each edit is tried on a copy), so a bad entry
    changes nothing.

    :param state: the sandbox state (its lock is held by the caller).
    :param edits: ``(id, fields)`` pairs from ``bulk_edits``.
    :param kind: ``contacts`` or ``accounts``.
    :param lookup: ``state.contact`` or ``state.account`` (422 for unknown or deleted ids).
    """
    if len(edits) > MAX_BULK_UPDATE_RECORDS:
        raise unprocessable(
            f"{kind}/bulk_update takes at most {MAX_BULK_UPDATE_RECORDS} {kind} per request; "
            f"got {len(edits)}. Send them in batches."
        )
    for record_id, fields in edits:
        lookup(record_id)
        state.check_fields(kind, fields)


def bulk_edits(params: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    """``(id, fields)`` pairs from either bulk-update spelling Apollo accepts.

    ``{"<kind>_ids": [...], <fields>}`` applies the same fields to every record;
    ``{"<kind>_attributes": [{"id": ..., <fields>}, ...]}`` gives each record its own.

    :param params: request parameters.
    :param kind: ``contact`` or ``account``.
    """
    attributes = params.get(f"{kind}_attributes")
    if attributes is not None:
        if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and a.get("id") for a in attributes
        ):
            raise unprocessable(f"{kind}_attributes must be an array of objects, each with an 'id'")
        return [(str(a["id"]), {k: v for k, v in a.items() if k != "id"}) for a in attributes]
    ids = ids_param(params, f"{kind}_ids")
    fields = {k: v for k, v in params.items() if k != f"{kind}_ids"}
    return [(record_id, fields) for record_id in ids]
