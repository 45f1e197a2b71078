"""The ASGI layer in front of the Apollo routes: auth, faults, rate limits, headers, counters.

Order per request, as a client sees it at Apollo: authentication (401), key permission
(403), then infrastructure faults, then the quota (429), then the endpoint itself. Requests
refused with 401/403/429 or failed by a fault before the endpoint ran change nothing.

This is plain ASGI middleware: every request under ``/api/v1`` and ``/v1`` is authenticated
before anything else, and the endpoint is looked up in the gateway's own table
(:mod:`~airflow_provider_apollo.sandbox.catalogue`), never in the web framework's router,
so a router change cannot let a request skip a rule.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow_provider_apollo.sandbox.catalogue import CATALOGUE, Catalogue
from airflow_provider_apollo.sandbox.ratelimit import Verdict
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIXES = ("/api/v1", "/v1")


def api_path_of(path: str) -> str | None:
    """The part of ``path`` after ``/api/v1`` or ``/v1``; ``None`` when it is not an API path.

    :param path: the request path, e.g. ``/api/v1/contacts/search``.
    """
    for prefix in API_PREFIXES:
        if path == prefix or path.startswith(f"{prefix}/"):
            return path.removeprefix(prefix) or "/"
    return None


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` for a wait: whole seconds when whole, else decimal seconds (``0.35``).

    Apollo sends whole seconds; the sandbox compresses time, so its waits are often a
    fraction of a second, and ``Retry-After: 0`` or ``1`` would make clients wait wrongly.
    Decimal seconds are a harmless extension of RFC 9110's delay-seconds that the provider
    reads. The wait is rounded up to the millisecond so a client never comes back early.

    :param seconds: the wait, >= 0.
    """
    millis = max(0, math.ceil(round(seconds * 1000, 6)))
    whole, rest = divmod(millis, 1000)
    return str(whole) if rest == 0 else f"{whole}.{rest:03d}".rstrip("0")


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

    def __init__(self, app: Any, runtime: SandboxRuntime, catalogue: Catalogue = CATALOGUE) -> None:
        self.app = app
        self.runtime = runtime
        self.catalogue = catalogue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        api_path = api_path_of(scope["path"]) if scope["type"] == "http" else None
        if api_path is None:
            await self.app(scope, receive, send)
            return
        await self._handle(scope, receive, send, api_path)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, api_path: str) -> None:
        runtime = self.runtime
        state = runtime.state
        method = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        endpoint = self.catalogue.match(method, api_path)
        stats_key = f"{method} /api/v1{endpoint.path}" if endpoint else None
        if stats_key is not None:
            scope["sandbox_endpoint"] = stats_key
            with state.lock:
                state.traffic.requests[stats_key] += 1
                if b"api_key=" in scope.get("query_string", b""):
                    state.traffic.api_key_in_request += 1

        # Every API path is authenticated, served or not: an unknown path answers 404 only
        # to a caller with a valid key, as at Apollo.
        is_master = runtime.caller_is_master(headers)
        if is_master is None:
            with state.lock:
                state.traffic.unauthorized += 1
            await _send_simple(send, 401, b"Invalid access credentials.", "text/plain; charset=utf-8")
            return
        if endpoint is None or stats_key is None:
            await self.app(scope, receive, send)
            return
        if endpoint.master_only and not is_master:
            with state.lock:
                state.traffic.forbidden += 1
            await _send_json(
                send,
                403,
                {
                    "error": f"api/v1{endpoint.path} is not accessible with this access token. "
                    "Use a master API key (Settings > Integrations > API keys) for this endpoint.",
                    "error_code": "API_INACCESSIBLE",
                },
            )
            return

        fault, status = runtime.injector.draw(method, scope["path"], creates=endpoint.creates)
        if fault is not None:
            with state.lock:
                state.traffic.faults[fault] += 1
        if await _answered_by_fault(send, fault, status, endpoint.path):
            return
        verdict = runtime.limiter.hit(endpoint.key, endpoint.group)
        if not verdict.allowed:
            with state.lock:
                state.traffic.rate_limited[stats_key] += 1
            await _send_rate_limited(send, verdict, endpoint.path)
            return
        extra = [(k.encode(), v.encode()) for k, v in verdict.headers.items()]
        await self._serve(scope, receive, send, fault, extra)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, fault: str | None, extra: list[tuple[bytes, bytes]]
    ) -> None:
        """Let the app act on the request; ``fault`` decides what the client then hears of it."""
        if fault == "slow":
            await self._serve_late(scope, receive, send, extra)
        elif fault == "commit_then_drop":
            await self.app(scope, receive, _swallow)
            await drop_connection(send)
        elif fault == "malformed_json":
            await self.app(scope, receive, _truncating(send, extra))
        else:
            await self.app(scope, receive, _with_headers(send, extra))

    async def _serve_late(
        self, scope: Scope, receive: Receive, send: Send, extra: list[tuple[bytes, bytes]]
    ) -> None:
        """Like Apollo under load, act on the request now and answer late: a client that times
        out leaves a committed record behind (the ambiguous-write case)."""
        runtime = self.runtime
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


async def _answered_by_fault(send: Send, fault: str | None, status: int, path: str) -> bool:
    """Answer for a fault that refuses the request before any work; ``False`` when none did."""
    if fault == "error_5xx":
        await _send_simple(
            send, status, f"{status} sandbox-injected server error".encode(), "text/plain; charset=utf-8"
        )
        return True
    if fault == "burst_429":
        await _send_json(
            send,
            429,
            {"message": f"Too many requests to api/v1{path} (sandbox-injected burst). Retry shortly."},
            {"retry-after": retry_after_header(1.0)},
        )
        return True
    if fault == "drop_connection":
        await drop_connection(send)
        return True
    return False


async def _send_rate_limited(send: Send, verdict: Verdict, path: str) -> None:
    """Apollo's 429 for a closed window, with its rate-limit headers and ``Retry-After``."""
    retry_after = verdict.retry_after or 0.0
    await _send_json(
        send,
        429,
        {
            "message": f"The maximum number of api calls allowed for api/v1{path} is "
            f"{verdict.limit} times per {verdict.window}. Please upgrade your plan from "
            "https://app.apollo.io/#/settings/plans/upgrade."
        },
        {**verdict.headers, "retry-after": retry_after_header(retry_after)},
    )


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
