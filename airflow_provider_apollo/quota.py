"""Apollo's rate-limit headers, parsed into a per-endpoint status, and the pacing decisions.

Apollo counts requests per team and per endpoint in fixed minute, hour and day windows and
reports, after every answer, each window's limit, usage and requests left (two header
spellings for the day window). No header says when a window resets; a 429 may carry
``Retry-After``: whole seconds or an HTTP date, and decimal seconds are read too (a
harmless extension that lets a compressed-time test server ask for sub-second waits).

Pacing (:class:`QuotaTracker`), per endpoint path template:

* a window known to be closed (a 429 told us until when) -> wait until it reopens;
* a window whose requests-left reached 0 with no known reopening time -> let exactly one
  request through as a probe: its 429 ``Retry-After`` says when the window reopens, so at
  most one 429 is provoked per window instead of a storm;
* a wait longer than ``max_quota_wait`` -> fail fast with ``ApolloQuotaExhaustedError``
  naming the window and when it should reopen, as does an hourly/daily 429 without
  ``Retry-After`` (waiting blindly for hours would only block a worker).

State is per process and guarded by a lock. Several processes sharing one key converge
because every answer's headers (the server's shared truth) overwrite what a process knew.
"""

from __future__ import annotations

import email.utils
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError

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

# Arrive a little after the reopening instant: client and server clocks tick apart.
REOPEN_MARGIN_SECONDS = 0.05
# How long a thread waits before re-checking while another thread's probe is in flight.
PROBE_POLL_SECONDS = 0.05

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


@dataclass(frozen=True)
class PacingDecision:
    """What to do before sending the next request to an endpoint.

    :param wait: seconds to sleep first (0: send now).
    :param window: the window that imposes the wait or the probe.
    :param probe: this request is the one probe of a window whose reopening is unknown.
    """

    wait: float = 0.0
    window: str | None = None
    probe: bool = False


@dataclass
class _EndpointState:
    status: QuotaStatus | None = None
    reopen_at: dict[str, float] = field(default_factory=dict)
    probing: bool = False


class QuotaTracker:
    """Thread-safe per-endpoint quota knowledge and pacing decisions (see module docstring).

    :param max_quota_wait: longest wait (seconds) for a window before failing fast.
    :param clock: monotonic clock; injected so tests never really wait.
    """

    def __init__(self, *, max_quota_wait: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_quota_wait = max_quota_wait
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoints: dict[str, _EndpointState] = {}

    def _state(self, endpoint: str) -> _EndpointState:
        return self._endpoints.setdefault(endpoint, _EndpointState())

    def status(self, endpoint: str) -> QuotaStatus | None:
        """The last status seen for ``endpoint`` (a path template), if any."""
        with self._lock:
            state = self._endpoints.get(endpoint)
            return state.status if state else None

    def statuses(self) -> dict[str, QuotaStatus]:
        """The last status of every endpoint seen so far."""
        with self._lock:
            return {name: s.status for name, s in self._endpoints.items() if s.status is not None}

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> QuotaStatus | None:
        """Record the rate-limit headers of an answer (any status) and end a probe.

        :param endpoint: path template of the request.
        :param headers: the answer's headers.
        """
        windows = parse_rate_limit_headers(headers)
        with self._lock:
            state = self._state(endpoint)
            state.probing = False
            if windows is None:
                return state.status
            state.status = QuotaStatus(endpoint=endpoint, observed_at=self._clock(), **windows)
            return state.status

    def release(self, endpoint: str) -> None:
        """End a probe that got no answer (connection error), so others may try.

        :param endpoint: path template of the request.
        """
        with self._lock:
            self._state(endpoint).probing = False

    def observe_rate_limited(self, endpoint: str, *, window: str | None, retry_after: float | None) -> None:
        """Learn from a 429 when the window reopens, or fail fast when waiting cannot help.

        :param endpoint: path template of the request.
        :param window: the window Apollo's message names (``None``: not said, assume minute).
        :param retry_after: seconds from ``Retry-After`` (``None`` when absent).
        :raises ApolloQuotaExhaustedError: the hour/day window is closed for longer than
            ``max_quota_wait``, or for an unknown time.
        """
        name = window or "minute"
        if retry_after is None and name not in ("hour", "day"):
            return  # a minute window: the retry policy backs off
        with self._lock:
            state = self._state(endpoint)
            state.probing = False
            # Remembered even when failing fast: other requests of this process in flight or
            # queued then fail at once instead of probing the closed window again.
            reopen = self._clock() + (math.inf if retry_after is None else retry_after)
            state.reopen_at[name] = max(reopen, state.reopen_at.get(name, reopen))
        if retry_after is None or retry_after > self.max_quota_wait:
            raise self._exhausted(endpoint, name, retry_after)

    def plan(self, endpoint: str) -> PacingDecision:
        """Decide whether the next request to ``endpoint`` may go now.

        :param endpoint: path template of the request.
        :raises ApolloQuotaExhaustedError: the wait would exceed ``max_quota_wait``.
        """
        with self._lock:
            state = self._state(endpoint)
            now = self._clock()
            wait, wait_window, unknown_window = 0.0, None, None
            for name in WINDOWS:
                reopen = state.reopen_at.get(name)
                if reopen is not None and reopen > now:
                    if reopen - now > wait:
                        wait, wait_window = reopen - now, name
                    continue
                quota = state.status.window(name) if state.status else None
                if quota is not None and quota.exhausted:
                    seen_after_reopen = reopen is None or (
                        state.status is not None and state.status.observed_at >= reopen
                    )
                    if seen_after_reopen and unknown_window is None:
                        unknown_window = name
            if wait_window is not None:
                if wait > self.max_quota_wait:
                    raise self._exhausted(endpoint, wait_window, wait if math.isfinite(wait) else None)
                return PacingDecision(wait=wait + REOPEN_MARGIN_SECONDS, window=wait_window)
            if unknown_window is not None:
                if state.probing:
                    return PacingDecision(wait=PROBE_POLL_SECONDS, window=unknown_window)
                state.probing = True
                return PacingDecision(window=unknown_window, probe=True)
            return PacingDecision()

    def _exhausted(self, endpoint: str, window: str, reopens_in: float | None) -> ApolloQuotaExhaustedError:
        return quota_exhausted_error(
            endpoint=endpoint, window=window, reopens_in=reopens_in, max_quota_wait=self.max_quota_wait
        )


def quota_exhausted_error(
    *, endpoint: str, window: str, reopens_in: float | None, max_quota_wait: float
) -> ApolloQuotaExhaustedError:
    """The fail-fast error for a window that will not reopen within ``max_quota_wait``.

    :param endpoint: the endpoint path template.
    :param window: ``minute``, ``hour`` or ``day``.
    :param reopens_in: seconds until it should reopen, when known.
    :param max_quota_wait: the configured patience, for the message.
    """
    if reopens_in is None:
        when = f"Apollo did not say when it reopens (at most one {window} away)"
    else:
        when = f"it should reopen in about {_human_seconds(reopens_in)}"
    return ApolloQuotaExhaustedError(
        f"Apollo's per-{window} quota for {endpoint} is used up and {when}. Waiting longer than "
        f"max_quota_wait={max_quota_wait:g} s would only block a worker: retry the task later, "
        "spread the load over the day, or raise the connection extra 'max_quota_wait'.",
        endpoint=endpoint,
        retry_after=reopens_in,
        window=window,
    )


def _human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
