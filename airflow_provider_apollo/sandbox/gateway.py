"""The ASGI layer in front of the Apollo routes: auth, faults, rate limits, headers, counters.

Order per request, as a client sees it at Apollo: authentication (401), key permission
(403), then infrastructure faults, then the quota (429), then the endpoint itself. Requests
refused with 401/403/429 or failed by a fault before the endpoint ran change nothing.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.routing import Match, Route

from airflow_provider_apollo.sandbox.ratelimit import endpoint_group
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIXES = ("/api/v1", "/v1")
CONTROL_PREFIX = "/_sandbox"
_CREATE_ENDPOINTS = frozenset(
    {
        "POST /contacts",
        "POST /contacts/bulk_create",
        "POST /accounts",
        "POST /accounts/bulk_create",
        "POST /tasks",
        "POST /tasks/bulk_create",
        "POST /opportunities",
        "POST /emailer_campaigns/{id}/add_contact_ids",
    }
)
# Apollo answers these only to a master key (people API search too, in practice).
_MASTER_ONLY = frozenset(
    {"GET /users/search", "POST /usage_stats/api_usage_stats", "POST /mixed_people/api_search"}
)


class DropConnection(Exception):
    """The ASGI server in use does not let the sandbox close a connection without answering."""


async def drop_connection(send: Send) -> None:
    """Close the client's socket without an HTTP answer (``requests`` sees a ConnectionError).

    uvicorn's ``send`` is a bound method of its per-request cycle, which holds the socket's
    transport; closing it is the only way an ASGI app can hang up mid-request.

    :param send: the server's ASGI ``send`` callable, unwrapped.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise DropConnection("this ASGI server does not expose its transport; run the sandbox under uvicorn")
    transport.close()
    # Let the server notice the disconnect before the app returns, so it does not try to
    # send its own 500 on a closed socket.
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _send_simple(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
    await _send_simple(send, status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)


class ApolloGateway:
    """Wraps the FastAPI app; everything under ``/api/v1`` and ``/v1`` goes through it.

    :param app: the FastAPI application with the Apollo routes and the control plane.
    :param runtime: the sandbox runtime.
    """

    def __init__(self, app: Any, runtime: SandboxRuntime) -> None:
        self.app = app
        self.runtime = runtime
        self._routes: list[Route] = [r for r in app.routes if isinstance(r, Route)]

    def _template(self, scope: Scope) -> tuple[str, str] | None:
        """``(prefix, template)`` of the Apollo route serving this request, if any."""
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                for prefix in API_PREFIXES:
                    if route.path.startswith(f"{prefix}/"):
                        return prefix, route.path.removeprefix(prefix)
        return None

    def _authenticate(self, headers: dict[str, str]) -> bool:
        if headers.get("x-api-key") == self.runtime.api_key:
            return True
        scheme, _, token = headers.get("authorization", "").partition(" ")
        # An API key sent as a Bearer token is refused, as at Apollo: only OAuth tokens go there.
        return scheme.lower() == "bearer" and token in self.runtime.oauth_tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        found = self._template(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        await self._handle(scope, receive, send, found[1])

    async def _handle(self, scope: Scope, receive: Receive, send: Send, api_path: str) -> None:
        runtime = self.runtime
        state = runtime.state
        method = scope["method"]
        endpoint = f"{method} {api_path}"
        stats_key = f"{method} /api/v1{api_path}"
        scope["sandbox_endpoint"] = stats_key
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with state.lock:
            state.traffic.requests[stats_key] += 1
            if b"api_key=" in scope.get("query_string", b""):
                state.traffic.api_key_in_request += 1

        if not self._authenticate(headers):
            with state.lock:
                state.traffic.unauthorized += 1
            await _send_simple(send, 401, b"Invalid access credentials.", "text/plain; charset=utf-8")
            return
        if endpoint in _MASTER_ONLY and not runtime.master_key:
            with state.lock:
                state.traffic.forbidden += 1
            await _send_json(
                send,
                403,
                {
                    "error": f"api/v1{api_path} is not accessible with this access token. "
                    "Use a master API key (Settings > Integrations > API keys) for this endpoint.",
                    "error_code": "API_INACCESSIBLE",
                },
            )
            return

        fault, status = runtime.injector.draw(method, scope["path"], creates=endpoint in _CREATE_ENDPOINTS)
        if fault is not None:
            with state.lock:
                state.traffic.faults[fault] += 1
        if fault == "error_5xx":
            await _send_simple(
                send, status, f"{status} sandbox-injected server error".encode(), "text/plain; charset=utf-8"
            )
            return
        if fault == "burst_429":
            await _send_json(
                send,
                429,
                {
                    "message": f"Too many requests to api/v1{api_path} (sandbox-injected burst). "
                    "Retry shortly."
                },
                {"retry-after": "1", "x-sandbox-retry-after-exact": "1.0"},
            )
            return
        if fault == "drop_connection":
            await drop_connection(send)
            return
        verdict = runtime.limiter.hit(endpoint, endpoint_group(api_path))
        if not verdict.allowed:
            with state.lock:
                state.traffic.rate_limited[stats_key] += 1
            retry_after = verdict.retry_after or 0.0
            await _send_json(
                send,
                429,
                {
                    "message": f"The maximum number of api calls allowed for api/v1{api_path} is "
                    f"{verdict.limit} times per {verdict.window}. Please upgrade your plan from "
                    "https://app.apollo.io/#/settings/plans/upgrade."
                },
                {
                    **verdict.headers,
                    "retry-after": str(max(1, math.ceil(retry_after))),
                    "x-sandbox-retry-after-exact": f"{retry_after:.3f}",
                },
            )
            return

        extra = [(k.encode(), v.encode()) for k, v in verdict.headers.items()]
        if fault == "slow":
            # Like Apollo under load, act on the request now and answer late: a client that
            # times out leaves a committed record behind (the ambiguous-write case).
            answer: list[Message] = []

            async def keep(message: Message) -> None:
                answer.append(message)

            await self.app(scope, receive, _with_headers(keep, extra))
            deadline = asyncio.get_running_loop().time() + runtime.injector.faults.slow_seconds
            # Sleep in short steps so a server shutdown does not wait for the full delay.
            while asyncio.get_running_loop().time() < deadline:
                if runtime.stopping.is_set():
                    await drop_connection(send)
                    return
                await asyncio.sleep(min(0.05, max(0.0, deadline - asyncio.get_running_loop().time())))
            for message in answer:
                await send(message)
            return
        if fault == "commit_then_drop":
            await self.app(scope, receive, _swallow)
            await drop_connection(send)
            return
        if fault == "malformed_json":
            await self.app(scope, receive, _truncating(send, extra))
            return
        await self.app(scope, receive, _with_headers(send, extra))


async def _swallow(message: Message) -> None:
    """An ASGI ``send`` that discards the answer (the work is done, the client never hears)."""


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


def _truncating(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """Buffer the answer, then send only the first half of its body, as a broken proxy would."""
    start: Message = {}
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        cut = body[: max(1, len(body) // 2)]
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers += [(b"content-length", str(len(cut)).encode()), *extra]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": cut})

    return wrapped
