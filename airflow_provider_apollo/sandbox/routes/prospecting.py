"""Apollo's database endpoints: health, people and organization search, enrichment, job postings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox import prospecting, render
from airflow_provider_apollo.sandbox.errors import ApolloApiError, unprocessable
from airflow_provider_apollo.sandbox.routes._io import charge, flag, int_param, ok, read_params
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime
from airflow_provider_apollo.sandbox.world import Record

# Apollo displays at most 500 pages of 100 records; later pages come back empty.
MAX_SEARCH_PAGE = 500
# api-reference-legacy.txt, People Search and Organization Search: "per_page (optional) An
# integer to load per_page results on a page. Should be in inclusive range [1, 100]"; a
# page size outside it answers 422 (the range is a documented contract, not a cap).
MAX_SEARCH_PER_PAGE = 100
MAX_BULK_DETAILS = 10
MAX_JOB_POSTINGS_PER_PAGE = 10_000
MOBILE_REVEAL_CREDITS = 8


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The prospecting routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    _add_search_routes(router, runtime)
    _add_people_enrichment_routes(router, runtime)
    _add_organization_routes(router, runtime)
    return router


def _add_search_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Health, the free people search, the retired legacy search, job postings."""
    world = runtime.state.world

    @router.get("/auth/health")
    async def auth_health() -> JSONResponse:
        return ok({"is_logged_in": True})

    @router.post("/mixed_people/api_search")
    async def people_api_search(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        page = int_param(params, "page", 1)
        per_page = int_param(params, "per_page", 10, maximum=MAX_SEARCH_PER_PAGE)
        matches = prospecting.search_people(world, params)
        window = [] if page > MAX_SEARCH_PAGE else prospecting.page_of(matches, page, per_page)
        orgs = world.organizations_by_id
        refreshed = world.reference_time.isoformat()
        people = [render.person_for_search(p, orgs[p["organization_id"]], refreshed) for p in window]
        charge(request, runtime, 0)
        return ok({"total_entries": len(matches), "people": people})

    @router.post("/mixed_people/search")
    async def people_legacy_search(request: Request) -> JSONResponse:
        await read_params(request, runtime)
        raise unprocessable(
            "mixed_people/search is no longer available to API callers; "
            "use mixed_people/api_search (no credits, no emails) and enrich with people/match."
        )

    @router.get("/organizations/{id}/job_postings")
    async def job_postings(request: Request, id: str) -> JSONResponse:
        params = await read_params(request, runtime)
        page = int_param(params, "page", 1)
        per_page = int_param(params, "per_page", 10, maximum=MAX_JOB_POSTINGS_PER_PAGE)
        with runtime.state.lock:
            postings = runtime.state.job_postings(id)
        charge(request, runtime, 1.0)
        return ok(
            {
                "organization_job_postings": prospecting.page_of(postings, page, per_page),
                "pagination": render.pagination(page, per_page, len(postings)),
            }
        )


def _add_people_enrichment_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """People enrichment, one or ten at a time (credits; mobile reveals need a webhook)."""
    world = runtime.state.world

    def enrich(details: dict[str, Any], params: dict[str, Any]) -> tuple[Record | None, float]:
        person = prospecting.match_person(world, details)
        if person is None:
            return None, 0.0
        reveal_mobile = flag(params, "reveal_phone_number") and bool(person["mobile_phone"])
        answer = render.person_enriched(
            person,
            world.organizations_by_id[person["organization_id"]],
            reveal_personal_emails=flag(params, "reveal_personal_emails"),
            reveal_mobile=reveal_mobile,
        )
        return answer, 1.0 + (MOBILE_REVEAL_CREDITS if reveal_mobile else 0.0)

    def check_phone_reveal(params: dict[str, Any]) -> None:
        if flag(params, "reveal_phone_number") and not params.get("webhook_url"):
            raise ApolloApiError(
                400,
                {
                    "error": "Please add a valid 'webhook_url' parameter when using "
                    "'reveal_phone_number'. Phone numbers are delivered asynchronously to it.",
                    "error_code": "INVALID_PARAMETERS",
                },
            )

    @router.post("/people/match")
    async def people_match(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        check_phone_reveal(params)
        person, credits = enrich(params, params)
        charge(request, runtime, credits)
        return ok({"person": person if person is not None else render.person_stub(params)})

    @router.post("/people/bulk_match")
    async def people_bulk_match(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        details = params.get("details")
        if not isinstance(details, list) or not details:
            raise unprocessable("details must be a non-empty array of people to match")
        if len(details) > MAX_BULK_DETAILS:
            raise unprocessable(
                f"details can hold at most {MAX_BULK_DETAILS} people per call; got {len(details)}"
            )
        check_phone_reveal(params)
        matches: list[Record | None] = []
        credits = 0.0
        for item in details:
            person, cost = enrich(item if isinstance(item, dict) else {}, params)
            matches.append(person)
            credits += cost
        found = [m for m in matches if m is not None]
        charge(request, runtime, credits)
        return ok(
            {
                "status": "success",
                "error_code": None,
                "error_message": None,
                "total_requested_enrichments": len(details),
                "unique_enriched_records": len({m["id"] for m in found}),
                "missing_records": len(details) - len(found),
                "credits_consumed": credits,
                "matches": matches,
            }
        )


def _add_organization_routes(router: APIRouter, runtime: SandboxRuntime) -> None:
    """Organization enrichment and the organization search."""
    world = runtime.state.world

    @router.get("/organizations/enrich")
    async def organization_enrich(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        domain = str(params.get("domain") or "")
        if not domain:
            raise unprocessable("domain is required, e.g. ?domain=example.com")
        org = prospecting.find_organization_by_domain(world, domain)
        charge(request, runtime, 1.0 if org else 0.0)
        return ok({"organization": render.organization(org)} if org else {})

    @router.post("/organizations/bulk_enrich")
    async def organization_bulk_enrich(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        domains = params.get("domains")
        if isinstance(domains, str):
            domains = [domains]
        if not isinstance(domains, list) or not domains:
            raise unprocessable("domains must be a non-empty array of domains")
        if len(domains) > MAX_BULK_DETAILS:
            raise unprocessable(f"domains can hold at most {MAX_BULK_DETAILS} per call; got {len(domains)}")
        unique = list(dict.fromkeys(str(d).strip().lower() for d in domains))
        found = [org for d in unique if (org := prospecting.find_organization_by_domain(world, d))]
        charge(request, runtime, float(len(found)))
        return ok(
            {
                "status": "success",
                "error_code": None,
                "error_message": None,
                "total_requested_domains": len(domains),
                "unique_domains": len(unique),
                "unique_enriched_records": len(found),
                "missing_records": len(unique) - len(found),
                "organizations": [render.organization(org) for org in found],
            }
        )

    @router.post("/mixed_companies/search")
    async def companies_search(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        page = int_param(params, "page", 1)
        per_page = int_param(params, "per_page", 10, maximum=MAX_SEARCH_PER_PAGE)
        matches = prospecting.search_organizations(world, params)
        window = [] if page > MAX_SEARCH_PAGE else prospecting.page_of(matches, page, per_page)
        with runtime.state.lock:
            accounts_by_org = {a["organization_id"]: a for a in runtime.state.accounts.values()}
        # Organizations the team already saved come back as its accounts, as in Apollo.
        accounts = [dict(accounts_by_org[o["id"]]) for o in window if o["id"] in accounts_by_org]
        organizations = [render.organization(o) for o in window if o["id"] not in accounts_by_org]
        charge(request, runtime, 1.0)
        return ok(
            {
                "breadcrumbs": [],
                "partial_results_only": False,
                "disable_eu_prospecting": False,
                "partial_results_limit": MAX_SEARCH_PAGE * 100,
                "pagination": render.pagination(page, per_page, len(matches)),
                "accounts": accounts,
                "organizations": organizations,
                "model_ids": [o["id"] for o in window],
                "num_fetch_result": None,
            }
        )
