"""Request parsing and response helpers shared by the Apollo routes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime

_TRUE = (True, "true", "True", "1", 1)


async def read_params(request: Request, runtime: SandboxRuntime) -> dict[str, Any]:
    """Query string and JSON body merged, as Apollo reads them (the body wins).

    ``key[]=a&key[]=b`` becomes ``{"key": ["a", "b"]}``. An ``api_key`` is dropped and
    counted: the sandbox never authenticates with it, and the stats show who still sends it.

    :param request: the incoming request.
    :param runtime: the sandbox runtime (for the counter).
    """
    merged: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.endswith("[]"):
            merged.setdefault(key[:-2], []).append(value)
        else:
            merged[key] = value
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            raise unprocessable("The request body is not valid JSON; send a JSON object.") from None
        if not isinstance(body, dict):
            raise unprocessable("The request body must be a JSON object.")
        merged.update(body)
    if "api_key" in merged:
        merged.pop("api_key")
        with runtime.state.lock:
            runtime.state.traffic.api_key_in_request += 1
    return merged


def flag(params: dict[str, Any], name: str) -> bool:
    """A boolean parameter, sent as JSON or as a query-string word.

    :param params: request parameters.
    :param name: parameter name.
    """
    return params.get(name) in _TRUE


def int_param(
    params: dict[str, Any], name: str, default: int, *, maximum: int | None = None, clamp: bool = False
) -> int:
    """A positive integer parameter; 422 when it is not one (or above ``maximum`` unless ``clamp``).

    :param params: request parameters.
    :param name: parameter name.
    :param default: value when absent.
    :param maximum: largest allowed value.
    :param clamp: silently cap at ``maximum`` instead of refusing.
    """
    raw = params.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise unprocessable(f"{name} must be a positive integer; got {raw!r}") from None
    if value < 1:
        raise unprocessable(f"{name} must be >= 1; got {value}")
    if maximum is not None and value > maximum:
        if clamp:
            return maximum
        raise unprocessable(f"{name} must be between 1 and {maximum}; got {value}")
    return value


def endpoint_key(request: Request) -> str:
    """``"POST /api/v1/people/match"``: the gateway's name for the endpoint of this request.

    :param request: the incoming request.
    """
    return str(request.scope.get("sandbox_endpoint") or f"{request.method} {request.url.path}")


def charge(request: Request, runtime: SandboxRuntime, credits: float) -> None:
    """Record credits spent by this request in the ledger.

    :param request: the incoming request.
    :param runtime: the sandbox runtime.
    :param credits: credits spent.
    """
    with runtime.state.lock:
        runtime.state.traffic.charge(endpoint_key(request), credits)


def ok(body: Any) -> JSONResponse:
    """A 200 JSON answer.

    :param body: JSON-serialisable body.
    """
    return JSONResponse(body)


def require(params: dict[str, Any], names: tuple[str, ...], endpoint: str) -> None:
    """422 naming every field in ``names`` that is missing or empty, as Apollo answers it.

    :param params: request parameters.
    :param names: the fields Apollo's reference marks ``required`` for this endpoint.
    :param endpoint: e.g. ``POST /tasks``, named in the message.
    """
    missing = [name for name in names if params.get(name) in (None, "", [], {})]
    if missing:
        raise unprocessable(
            f"{endpoint} is missing required parameters: {', '.join(missing)}. "
            "Send every field Apollo's reference marks as required."
        )


def ids_param(params: dict[str, Any], name: str) -> list[str]:
    """A list-of-ids parameter; 422 when it is missing or not a list.

    :param params: request parameters.
    :param name: parameter name.
    """
    value = params.get(name)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise unprocessable(f"{name} must be a non-empty array of ids")
    return [str(item) for item in value]
