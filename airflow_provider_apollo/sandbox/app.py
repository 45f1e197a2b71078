"""The sandbox's ASGI application: Apollo's routes under ``/api/v1`` and ``/v1``, the control plane."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox import control
from airflow_provider_apollo.sandbox.errors import ApolloApiError
from airflow_provider_apollo.sandbox.gateway import API_PREFIXES, ApolloGateway
from airflow_provider_apollo.sandbox.routes import accounts, contacts, prospecting, sequences, tasks, team
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime


def build_app(runtime: SandboxRuntime) -> ApolloGateway:
    """The ASGI app serving one sandbox.

    :param runtime: state, quota, faults and credentials of the sandbox.
    """
    app = FastAPI(
        title="Apollo sandbox",
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
    )

    @app.exception_handler(ApolloApiError)
    async def apollo_error(request: Request, error: ApolloApiError) -> JSONResponse:
        return JSONResponse(error.body, status_code=error.status)

    for module in (prospecting, contacts, accounts, sequences, tasks, team):
        router = module.build_router(runtime)
        for prefix in API_PREFIXES:
            app.include_router(router, prefix=prefix)
    app.include_router(control.build_router(runtime))
    return ApolloGateway(app, runtime)
