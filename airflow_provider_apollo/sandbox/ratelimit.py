"""Apollo's fixed-window rate limits: per endpoint, per minute/hour/day, with its headers.

Apollo counts each endpoint separately, with the limits of the endpoint's group. The sandbox
does the same, and lets tests shorten the windows (a 2-second "minute") so quota behaviour
can be exercised without waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

ENDPOINT_GROUPS = ("enrichment", "bulk_enrichment", "search", "other")
WINDOWS = ("minute", "hour", "day")

_GROUP_BY_PATH = {
    "/people/match": "enrichment",
    "/organizations/enrich": "enrichment",
    "/people/bulk_match": "bulk_enrichment",
    "/organizations/bulk_enrich": "bulk_enrichment",
    "/mixed_people/api_search": "search",
    "/mixed_people/search": "search",
    "/mixed_companies/search": "search",
    "/organizations/{id}/job_postings": "search",
}


def endpoint_group(api_path: str) -> str:
    """The limit group of an Apollo path template relative to ``/api/v1``.

    :param api_path: e.g. ``"/people/bulk_match"``.
    """
    return _GROUP_BY_PATH.get(api_path, "other")


@dataclass(frozen=True)
class WindowLimits:
    """Calls allowed per window; ``None`` is unlimited (Apollo then sends an empty header).

    :param per_minute: calls per minute window.
    :param per_hour: calls per hour window.
    :param per_day: calls per day window.
    """

    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None

    def limit(self, window: str) -> int | None:
        """The limit for ``window`` (``minute``, ``hour`` or ``day``)."""
        return {"minute": self.per_minute, "hour": self.per_hour, "day": self.per_day}[window]

    def for_bulk(self) -> WindowLimits:
        """The limits of the bulk twin of an endpoint with these limits.

        apollo-api-notes.md, Rate limits: "Bulk endpoints get about half of the single
        endpoint's per-minute limit". Only the minute window is halved: the hourly and daily
        limits are the single endpoint's.
        """
        half = None if self.per_minute is None else max(1, self.per_minute // 2)
        return replace(self, per_minute=half)


@dataclass(frozen=True)
class SandboxLimits:
    """Rate limits of the sandbox. Defaults follow a paid plan, so tests are not throttled.

    :param enrichment: ``people/match`` and ``organizations/enrich``.
    :param bulk_enrichment: ``people/bulk_match`` and ``organizations/bulk_enrich``; default
        (``None``) half of ``enrichment``'s per-minute limit and the same hourly and daily ones.
    :param search: ``mixed_people/*``, ``mixed_companies/search``, job postings.
    :param other: every other Apollo endpoint (CRM, sequences, tasks...).
    :param minute_seconds: length of the "minute" window (shorten it in tests).
    :param hour_seconds: length of the "hour" window.
    :param day_seconds: length of the "day" window.
    :param legacy_headers: send ``x-rate-limit-daily``/``x-daily-usage``/``x-daily-requests-left``
        instead of the ``24-hour`` spellings, as older Apollo answers do.
    """

    enrichment: WindowLimits = field(default_factory=lambda: WindowLimits(1000, 10000, 50000))
    bulk_enrichment: WindowLimits | None = None
    search: WindowLimits = field(default_factory=lambda: WindowLimits(600, 6000, 30000))
    other: WindowLimits = field(default_factory=lambda: WindowLimits(600, 6000, 30000))
    minute_seconds: float = 60.0
    hour_seconds: float = 3600.0
    day_seconds: float = 86400.0
    legacy_headers: bool = False

    def __post_init__(self) -> None:
        for name in ("minute_seconds", "hour_seconds", "day_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SandboxLimits.{name} must be > 0, got {getattr(self, name)!r}")

    @classmethod
    def unlimited(cls, **overrides: Any) -> SandboxLimits:
        """No limit anywhere (every limit header empty).

        :param overrides: other ``SandboxLimits`` fields.
        """
        nothing = WindowLimits()
        return cls(
            **{
                "enrichment": nothing,
                "search": nothing,
                "other": nothing,
                **overrides,
            }
        )

    @classmethod
    def free_plan(cls, **overrides: Any) -> SandboxLimits:
        """Apollo's free-plan figures (enrichment 50/min, 200/hour, 600/day).

        :param overrides: other ``SandboxLimits`` fields.
        """
        return cls(
            **{
                "enrichment": WindowLimits(50, 200, 600),
                "search": WindowLimits(50, 200, 600),
                "other": WindowLimits(50, 200, 600),
                **overrides,
            }
        )

    def for_group(self, group: str) -> WindowLimits:
        """The limits of one endpoint group.

        :param group: one of ``ENDPOINT_GROUPS``.
        """
        if group not in ENDPOINT_GROUPS:
            raise ValueError(f"unknown endpoint group {group!r}; expected one of {ENDPOINT_GROUPS}")
        if group == "bulk_enrichment" and self.bulk_enrichment is None:
            return self.enrichment.for_bulk()
        limits: WindowLimits = getattr(self, group)
        return limits

    def window_seconds(self, window: str) -> float:
        """The configured length of ``window``."""
        seconds: float = getattr(self, f"{window}_seconds")
        return seconds

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: SandboxLimits | None = None) -> SandboxLimits:
        """Limits from JSON (control plane, CLI): groups as ``{"per_minute": n, ...}`` dicts.

        :param data: fields to set; groups may be partial (unset windows keep ``base``'s value).
        :param base: limits to start from; default ``SandboxLimits()``.
        """
        current = base or cls()
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key in ENDPOINT_GROUPS:
                if not isinstance(value, dict):
                    raise ValueError(f"limits.{key} must be an object like {{'per_minute': 10}}")
                unknown = set(value) - {"per_minute", "per_hour", "per_day"}
                if unknown:
                    raise ValueError(f"limits.{key} has unknown keys {sorted(unknown)}")
                changes[key] = replace(current.for_group(key), **value)
            elif key in ("minute_seconds", "hour_seconds", "day_seconds", "legacy_headers"):
                changes[key] = value
            else:
                raise ValueError(f"unknown limits key {key!r}")
        return replace(current, **changes)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one ``RateLimiter.hit``.

    :param allowed: the request may proceed (and was counted).
    :param headers: Apollo's rate-limit headers for the response.
    :param window: the exhausted window when refused.
    :param limit: that window's limit when refused.
    :param retry_after: seconds until that window resets when refused.
    """

    allowed: bool
    headers: dict[str, str]
    window: str | None = None
    limit: int | None = None
    retry_after: float | None = None


class RateLimiter:
    """Fixed windows aligned to the limiter's start, shared by every client of one server.

    :param limits: the configured limits.
    :param clock: monotonic clock, injectable for tests.
    """

    def __init__(self, limits: SandboxLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits = limits
        self._origin = clock()
        # (endpoint, window) -> (window index, calls counted in it)
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}

    @property
    def limits(self) -> SandboxLimits:
        """The limits in force."""
        return self._limits

    def configure(self, limits: SandboxLimits) -> None:
        """Change limits at runtime; usage so far is kept.

        :param limits: the new limits.
        """
        with self._lock:
            self._limits = limits

    def reset(self) -> None:
        """Forget all usage and restart the windows now."""
        with self._lock:
            self._counts.clear()
            self._origin = self._clock()

    def _position(self, window: str, now: float) -> tuple[int, float]:
        length = self._limits.window_seconds(window)
        elapsed = now - self._origin
        index = math.floor(elapsed / length)
        return index, (index + 1) * length - elapsed

    def _used(self, endpoint: str, window: str, index: int) -> int:
        stored = self._counts.get((endpoint, window))
        return stored[1] if stored and stored[0] == index else 0

    def hit(self, endpoint: str, group: str) -> Verdict:
        """Count one call to ``endpoint`` unless a window is exhausted (then nothing is counted).

        :param endpoint: the endpoint key, e.g. ``"people/bulk_match"``.
        :param group: its limit group.
        """
        with self._lock:
            now = self._clock()
            limits = self._limits.for_group(group)
            positions = {window: self._position(window, now) for window in WINDOWS}
            exhausted = [
                (window, limit, positions[window][1])
                for window in WINDOWS
                if (limit := limits.limit(window)) is not None
                and self._used(endpoint, window, positions[window][0]) >= limit
            ]
            if exhausted:
                # The client has to wait for the slowest exhausted window anyway.
                window, limit, retry_after = max(exhausted, key=lambda item: item[2])
                headers = self._headers(endpoint, limits, positions)
                return Verdict(False, headers, window, limit, retry_after)
            for window in WINDOWS:
                index = positions[window][0]
                self._counts[(endpoint, window)] = (index, self._used(endpoint, window, index) + 1)
            return Verdict(True, self._headers(endpoint, limits, positions))

    def usage(self, endpoint: str, group: str) -> dict[str, dict[str, int | None]]:
        """``{"minute": {"limit", "consumed", "left_over"}, ...}`` for the usage-stats endpoint.

        :param endpoint: the endpoint key.
        :param group: its limit group.
        """
        with self._lock:
            now = self._clock()
            limits = self._limits.for_group(group)
            answer: dict[str, dict[str, int | None]] = {}
            for window in WINDOWS:
                used = self._used(endpoint, window, self._position(window, now)[0])
                limit = limits.limit(window)
                left = None if limit is None else max(0, limit - used)
                answer[window] = {"limit": limit, "consumed": used, "left_over": left}
            return answer

    def _headers(
        self, endpoint: str, limits: WindowLimits, positions: dict[str, tuple[int, float]]
    ) -> dict[str, str]:
        legacy = self._limits.legacy_headers
        names = {
            "minute": ("x-rate-limit-minute", "x-minute-usage", "x-minute-requests-left"),
            "hour": ("x-rate-limit-hourly", "x-hourly-usage", "x-hourly-requests-left"),
            "day": (
                ("x-rate-limit-daily", "x-daily-usage", "x-daily-requests-left")
                if legacy
                else ("x-rate-limit-24-hour", "x-24-hour-usage", "x-24-hour-requests-left")
            ),
        }
        headers: dict[str, str] = {}
        for window in WINDOWS:
            limit_name, usage_name, left_name = names[window]
            used = self._used(endpoint, window, positions[window][0])
            limit = limits.limit(window)
            headers[limit_name] = "" if limit is None else str(limit)
            headers[usage_name] = str(used)
            headers[left_name] = "" if limit is None else str(max(0, limit - used))
        return headers
