"""Apollo's rate-limit headers read into a per-endpoint status, and what a 429 says.

Apollo counts requests per team and per endpoint in fixed minute, hour and day windows and
reports, after every answer, each window's limit, usage and requests left (two header
spellings for the day window; an unlimited window has an empty header). No header says when
a window resets; a 429 may carry ``Retry-After``: whole seconds or an HTTP date, and decimal
seconds are read too (a harmless extension that lets a compressed-time test server ask for
sub-second waits). Pure functions: the pacing decisions are ``quota.py``'s.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

WINDOWS: tuple[str, ...] = ("minute", "hour", "day")

# Header names per window and field; the first spelling is current, later ones are legacy.
_HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "minute": {
        "limit": ("x-rate-limit-minute",),
        "usage": ("x-minute-usage",),
        "left": ("x-minute-requests-left",),
    },
    "hour": {
        "limit": ("x-rate-limit-hourly", "x-rate-limit-hour"),
        "usage": ("x-hourly-usage", "x-hour-usage"),
        "left": ("x-hourly-requests-left", "x-hour-requests-left"),
    },
    "day": {
        "limit": ("x-rate-limit-24-hour", "x-rate-limit-daily"),
        "usage": ("x-24-hour-usage", "x-daily-usage"),
        "left": ("x-24-hour-requests-left", "x-daily-requests-left"),
    },
}

_WINDOW_PATTERN = re.compile(r"per\s+(minute|hour|day|24[\s-]*hours?)|(hourly|daily)", re.IGNORECASE)


@dataclass(frozen=True)
class WindowQuota:
    """One window as the last answer reported it; ``None`` fields were absent or unlimited.

    :param limit: requests allowed in the window.
    :param usage: requests counted so far.
    :param left: requests left before the window closes.
    """

    limit: int | None = None
    usage: int | None = None
    left: int | None = None

    @property
    def exhausted(self) -> bool:
        """Whether the answer said no request is left in this window."""
        return self.left is not None and self.left <= 0


@dataclass(frozen=True)
class QuotaStatus:
    """The rate-limit picture of one endpoint after its latest answer.

    :param endpoint: path template the windows belong to (e.g. ``people/bulk_match``).
    :param minute: the minute window.
    :param hour: the hour window.
    :param day: the 24-hour window.
    :param observed_at: the tracker clock's reading when the answer arrived.
    """

    endpoint: str
    minute: WindowQuota = field(default_factory=WindowQuota)
    hour: WindowQuota = field(default_factory=WindowQuota)
    day: WindowQuota = field(default_factory=WindowQuota)
    observed_at: float = 0.0

    def window(self, name: str) -> WindowQuota:
        """The window called ``name`` (``minute``, ``hour`` or ``day``)."""
        quota: WindowQuota = getattr(self, name)
        return quota

    def describe(self) -> str:
        """Short text for a log line, e.g. ``minute 12/30 left, hour 480/600 left``."""
        parts = []
        for name in WINDOWS:
            quota = self.window(name)
            if quota.left is None:
                continue
            limit = f"/{quota.limit}" if quota.limit is not None else ""
            parts.append(f"{name} {quota.left}{limit} left")
        return ", ".join(parts) if parts else "no limits reported"


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None  # Apollo sends an empty header for an unlimited window
    try:
        return int(float(text))
    except ValueError:
        return None


def parse_rate_limit_headers(headers: Mapping[str, str]) -> dict[str, WindowQuota] | None:
    """Read the rate-limit headers of one answer (both spellings, any case).

    :param headers: the response headers.
    :return: ``{"minute": WindowQuota, "hour": ..., "day": ...}``, or ``None`` when the answer
        carried no rate-limit header at all (nothing learned; keep what was known).
    """
    lowered = {str(key).lower(): value for key, value in headers.items()}
    if not any(
        name in lowered for spellings in _HEADERS.values() for names in spellings.values() for name in names
    ):
        return None
    windows: dict[str, WindowQuota] = {}
    for window, fields in _HEADERS.items():
        values: dict[str, int | None] = {}
        for field_name, names in fields.items():
            values[field_name] = next(
                (_to_int(lowered[name]) for name in names if name in lowered and lowered[name] is not None),
                None,
            )
        left = values["left"]
        if left is None and values["limit"] is not None and values["usage"] is not None:
            left = max(values["limit"] - values["usage"], 0)
        windows[window] = WindowQuota(limit=values["limit"], usage=values["usage"], left=left)
    return windows


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asks to wait in ``Retry-After`` (seconds, decimal seconds or an HTTP date).

    :param headers: the 429's headers.
    :param now: wall clock, for ``Retry-After`` given as an HTTP date.
    """
    lowered = {str(key).lower(): value for key, value in headers.items()}
    raw = (lowered.get("retry-after") or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now(), 0.0)


def window_named_in(message: str) -> str | None:
    """The window a 429 message names (``... is 600 times per hour``), if any.

    :param message: Apollo's 429 message.
    """
    match = _WINDOW_PATTERN.search(message)
    if not match:
        return None
    word = (match.group(1) or match.group(2)).lower()
    if word.startswith("24") or word == "daily":
        return "day"
    if word == "hourly":
        return "hour"
    return word
