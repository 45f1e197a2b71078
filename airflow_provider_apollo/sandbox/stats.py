"""Traffic counters and the credits ledger behind ``GET /_sandbox/stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrafficStats:
    """What clients did to the sandbox: requests, refusals, faults and credits spent."""

    requests: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    credits: dict[str, float] = field(default_factory=dict)
    unauthorized: int = 0
    forbidden: int = 0
    api_key_in_request: int = 0

    def charge(self, endpoint: str, credits: float) -> None:
        """Add ``credits`` to the ledger under ``endpoint`` (``"POST /api/v1/people/match"``).

        :param endpoint: endpoint key.
        :param credits: credits spent; zero charges are recorded too, so every
            credit-bearing call shows up in the ledger.
        """
        self.credits[endpoint] = round(self.credits.get(endpoint, 0.0) + credits, 6)

    def as_dict(self) -> dict[str, Any]:
        """The traffic part of the stats JSON."""
        return {
            "requests": {"total": sum(self.requests.values()), "by_endpoint": dict(self.requests)},
            "rate_limited": sum(self.rate_limited.values()),
            "rate_limited_by_endpoint": dict(self.rate_limited),
            "faults": {"total": sum(self.faults.values()), "by_kind": dict(self.faults)},
            "credits": {"total": round(sum(self.credits.values()), 6), "by_endpoint": dict(self.credits)},
            "unauthorized": self.unauthorized,
            "forbidden": self.forbidden,
            "api_key_in_request": self.api_key_in_request,
        }
