"""Everything one running sandbox shares between its routes, gateway and control plane."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_provider_apollo.sandbox.faults import FaultInjector, SandboxFaults
from airflow_provider_apollo.sandbox.ratelimit import RateLimiter, SandboxLimits
from airflow_provider_apollo.sandbox.state import SandboxState


@dataclass
class SandboxRuntime:
    """State, quota and faults of one sandbox server, plus how it authenticates callers.

    :param state: CRM records, world and counters.
    :param api_key: the key callers send in ``X-Api-Key``.
    :param oauth_tokens: tokens accepted as ``Authorization: Bearer <token>``.
    :param master_key: whether ``api_key`` (and the OAuth tokens) have master access (else
        master-only endpoints answer 403).
    :param non_master_keys: further keys accepted in ``X-Api-Key`` that are never master keys.
    :param limiter: the rate limiter.
    :param injector: the fault injector.
    :param stopping: set when the server shuts down, so slow answers stop waiting.
    """

    state: SandboxState
    api_key: str
    oauth_tokens: Sequence[str] = ()
    master_key: bool = True
    non_master_keys: Sequence[str] = ()
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(SandboxLimits()))
    injector: FaultInjector = field(default_factory=lambda: FaultInjector(SandboxFaults()))
    stopping: threading.Event = field(default_factory=threading.Event)

    def caller_is_master(self, headers: dict[str, str]) -> bool | None:
        """Whether the caller holds master access; ``None`` when it is not authenticated.

        :param headers: request headers, names lower-cased.
        """
        key = headers.get("x-api-key")
        if key is not None and key == self.api_key:
            return self.master_key
        if key is not None and key in self.non_master_keys:
            return False
        scheme, _, token = headers.get("authorization", "").partition(" ")
        # An API key sent as a Bearer token is refused, as at Apollo: only OAuth tokens go there.
        if scheme.lower() == "bearer" and token and token in self.oauth_tokens:
            return self.master_key
        return None

    def reset(self) -> None:
        """Fresh world state, zeroed counters, restarted windows and fault sequence."""
        self.state.reset()
        self.limiter.reset()
        self.injector.reset()
