"""Seeded fault injection: the failures a client of Apollo meets in production.

One uniform draw per eligible request picks at most one fault, so a given seed and
request sequence always injects the same faults in the same places.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

FAULT_KINDS = (
    "error_5xx",
    "burst_429",
    "drop_connection",
    "slow",
    "malformed_json",
    "commit_then_drop",
)


@dataclass(frozen=True)
class SandboxFaults:
    """Probabilities (0..1, summing to at most 1) of each fault per Apollo request.

    :param seed: seed of the fault sequence.
    :param error_5xx: answer 500, 502 or 503 without doing anything.
    :param burst_429: answer 429 (with ``Retry-After: 1``) although the quota is not exhausted.
    :param drop_connection: close the socket without answering and without doing anything.
    :param slow: wait ``slow_seconds`` before answering normally (beyond a client's timeout).
    :param slow_seconds: how long a slow answer waits.
    :param malformed_json: do the work, then answer 200 with a truncated JSON body.
    :param commit_then_drop: on endpoints that create records, create them, then close the
        socket: the client cannot know whether its write happened.
    :param endpoints: only requests whose path matches one of these glob patterns
        (``"/api/v1/people/*"``, ``"*/tasks*"``); default every Apollo endpoint.
    :param methods: only these HTTP methods; default all.
    """

    seed: int = 0
    error_5xx: float = 0.0
    burst_429: float = 0.0
    drop_connection: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 35.0
    malformed_json: float = 0.0
    commit_then_drop: float = 0.0
    endpoints: Sequence[str] | None = None
    methods: Sequence[str] | None = None

    def __post_init__(self) -> None:
        for kind in FAULT_KINDS:
            probability = getattr(self, kind)
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"SandboxFaults.{kind} must be between 0 and 1, got {probability!r}")
        total = sum(getattr(self, kind) for kind in FAULT_KINDS)
        if total > 1.0 + 1e-9:
            raise ValueError(f"SandboxFaults probabilities add up to {total:.3f}; they must not exceed 1")
        if self.slow_seconds < 0:
            raise ValueError(f"SandboxFaults.slow_seconds must be >= 0, got {self.slow_seconds!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: SandboxFaults | None = None) -> SandboxFaults:
        """Faults from JSON (control plane, CLI); keys not given keep ``base``'s value.

        :param data: fields to set.
        :param base: faults to start from; default none at all.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown faults keys {sorted(unknown)}; expected some of {sorted(known)}")
        return replace(base or cls(), **data)

    def applies_to(self, method: str, path: str) -> bool:
        """Whether requests ``method path`` are eligible for faults.

        :param method: HTTP method.
        :param path: the request path, e.g. ``/api/v1/people/bulk_match``.
        """
        if self.methods is not None and method.upper() not in {m.upper() for m in self.methods}:
            return False
        if self.endpoints is None:
            return True
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.endpoints)


class FaultInjector:
    """Draws the fault (or none) for each request, deterministically for a seed.

    :param faults: the configured probabilities.
    """

    def __init__(self, faults: SandboxFaults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)

    @property
    def faults(self) -> SandboxFaults:
        """The configuration in force."""
        return self._faults

    def configure(self, faults: SandboxFaults) -> None:
        """Replace the configuration and restart the seeded sequence.

        :param faults: the new configuration.
        """
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    def reset(self) -> None:
        """Restart the seeded sequence."""
        self.configure(self._faults)

    def draw(self, method: str, path: str, *, creates: bool) -> tuple[str | None, int]:
        """The fault for this request and, for ``error_5xx``, the status code.

        :param method: HTTP method.
        :param path: request path.
        :param creates: the endpoint creates records (``commit_then_drop`` only applies there).
        """
        with self._lock:
            faults = self._faults
            if not faults.applies_to(method, path):
                return None, 0
            if not any(getattr(faults, kind) for kind in FAULT_KINDS):
                return None, 0
            roll = self._rng.random()
            status = self._rng.choice((500, 502, 503))
            threshold = 0.0
            for kind in FAULT_KINDS:
                threshold += getattr(faults, kind)
                if roll < threshold:
                    if kind == "commit_then_drop" and not creates:
                        return None, 0
                    return kind, status
            return None, 0
