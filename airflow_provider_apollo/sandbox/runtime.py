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
    :param master_key: whether the key is a master key (else master-only endpoints answer 403).
    :param limiter: the rate limiter.
    :param injector: the fault injector.
    :param stopping: set when the server shuts down, so slow answers stop waiting.
    """

    state: SandboxState
    api_key: str
    oauth_tokens: Sequence[str] = ()
    master_key: bool = True
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(SandboxLimits()))
    injector: FaultInjector = field(default_factory=lambda: FaultInjector(SandboxFaults()))
    stopping: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        """Fresh world state, zeroed counters, restarted windows and fault sequence."""
        self.state.reset()
        self.limiter.reset()
        self.injector.reset()
