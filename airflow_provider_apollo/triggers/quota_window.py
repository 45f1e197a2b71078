"""ApolloQuotaWindowTrigger: wait in the triggerer until a closed Apollo quota window reopens.

An operator that met a closed hourly or daily window defers to this trigger instead of
sleeping in its worker slot (``operators/_quota_deferral.py``). The trigger sends no request
and reads no connection: it sleeps until the instant the window should reopen, then fires
one ``reopened`` event. The operator resumes on a worker and probes the window itself, so
pacing stays in one place (the hook's quota tracker and store), never in the triggerer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

#: The ``status`` of the one event this trigger fires.
REOPENED = "reopened"
#: How long a window whose reopening Apollo did not state can stay closed at most.
_WINDOW_SECONDS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}


def seconds_until_reopening(error: BaseException) -> float | None:
    """How long until the window behind a quota error reopens; ``None`` if it cannot say.

    Apollo's ``Retry-After`` when it gave one, else the window's whole length (the longest
    it can stay closed: Apollo does not say when its fixed windows reset).

    :param error: an ``ApolloQuotaExhaustedError`` (or its ``ApolloQuotaFloorReached``).
    """
    seconds = getattr(error, "retry_after", None)
    if seconds is None:
        seconds = _WINDOW_SECONDS.get(str(getattr(error, "window", None) or ""))
    return None if seconds is None else max(float(seconds), 0.0)


class ApolloQuotaWindowTrigger(BaseTrigger):
    """Sleep until ``moment`` (a timezone-aware instant), then fire ``{"status": "reopened"}``.

    :param moment: when the window should have reopened (ISO 8601 with offset, or a datetime).
    :param endpoint: the endpoint whose window closed, for the log and the event.
    :param window: ``minute``, ``hour`` or ``day``.
    """

    def __init__(self, *, moment: datetime | str, endpoint: str | None, window: str | None) -> None:
        super().__init__()
        self.moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        if self.moment.tzinfo is None:
            raise ValueError(f"ApolloQuotaWindowTrigger moment must carry a timezone, got {moment!r}")
        self.endpoint = endpoint
        self.window = window
        # Not serialized: tests replace them so no test really waits.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and JSON-only keyword arguments."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"moment": self.moment.isoformat(), "endpoint": self.endpoint, "window": self.window},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep until the window reopens (in slices, so a restarted triggerer is not late), then fire."""
        self.log.info(
            "Waiting for Apollo's per-%s window of %s to reopen at %s; no worker slot is held.",
            self.window or "?",
            self.endpoint or "?",
            self.moment.isoformat(),
        )
        while (left := (self.moment - self._now()).total_seconds()) > 0:
            await self._sleep(min(left, 60.0))
        yield TriggerEvent(
            {
                "status": REOPENED,
                "endpoint": self.endpoint,
                "window": self.window,
                "moment": self.moment.isoformat(),
            }
        )
