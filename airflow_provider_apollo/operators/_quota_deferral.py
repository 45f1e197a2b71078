"""Deferred quota waits: a window that stays closed is waited for in the triggerer, not a worker.

Without it, a task that meets a closed Apollo window sleeps in its worker slot for up to the
connection's ``max_quota_wait`` (900 s by default), or fails and lets Airflow's retries spend
quota again on probes. With ``deferrable=True`` (the default follows ``[operators]
default_deferrable``, as for the sensors):

* a wait up to ``max_quota_sleep`` seconds (default 60) is still slept in place: a minute
  window reopening in a few seconds is not worth a round trip through the triggerer;
* a longer one makes the hook raise ``ApolloQuotaExhaustedError`` (it carries the window and
  when it reopens); the operator saves what it has already done, paid for or fetched, and
  defers to :class:`~airflow_provider_apollo.triggers.quota_window.ApolloQuotaWindowTrigger`,
  which sleeps until the window reopens without holding a worker slot;
* Airflow then runs ``execute_complete`` on a worker with the saved progress (the
  ``next_kwargs`` of the task instance, in the metadata DB): the operator goes on from there,
  so nothing already paid for is paid again and no Airflow retry is spent.

An operator adopts it by deriving from :class:`QuotaDeferringOperator`, catching the errors
:meth:`~QuotaDeferringOperator.defers_for` accepts, calling
:meth:`~QuotaDeferringOperator.defer_for_quota` with a JSON-able progress dict (it raises
``TaskDeferred``, or returns when it will not defer: then fail as without deferral), and
implementing :meth:`~QuotaDeferringOperator.resume` that continues from that dict::

    try:
        ...
    except ApolloError as error:
        if self.defers_for(error):
            self.defer_for_quota(error, {"done": done_so_far})
        raise
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, conf

from airflow_provider_apollo._airflow.arguments import optional_int
from airflow_provider_apollo.exceptions import (
    ApolloConfigurationError,
    ApolloError,
    ApolloQuotaExhaustedError,
    ApolloQuotaFloorReached,
)
from airflow_provider_apollo.operators._base import ApolloBaseOperator
from airflow_provider_apollo.triggers.quota_window import (
    REOPENED,
    ApolloQuotaWindowTrigger,
    seconds_until_reopening,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: Longest quota wait slept in the worker slot when deferrable; a longer one defers.
DEFAULT_MAX_QUOTA_SLEEP = 60.0
#: Deferrals one try may make before failing: a window that keeps closing as soon as it
#: reopens means other work takes the whole quota, which a person should look at.
DEFAULT_MAX_QUOTA_DEFERRALS = 24
#: Errors that mean "a window is closed for a while". ApolloQuotaFloorReached (low-priority work
#: that reached its share of a window) is one of them: low-priority work defers at its floor too.
DEFERRABLE_QUOTA_ERRORS: tuple[type[ApolloError], ...] = (ApolloQuotaExhaustedError,)
# Resume a little after the reopening instant: Apollo's clock and ours tick apart.
_REOPEN_MARGIN = timedelta(seconds=1)
#: The progress key counting this try's deferrals.
DEFERRALS_KEY = "quota_deferrals"


def reopening_moment(error: ApolloError, now: datetime) -> datetime | None:
    """When the window behind ``error`` should reopen; ``None`` if the error cannot say.

    :param error: an error of ``DEFERRABLE_QUOTA_ERRORS``.
    :param now: the current time (timezone-aware).
    """
    seconds = seconds_until_reopening(error)
    return None if seconds is None else now + timedelta(seconds=seconds) + _REOPEN_MARGIN


class QuotaDeferringOperator(ApolloBaseOperator):
    """An Apollo operator whose long quota waits happen in the triggerer (see module docstring).

    :param deferrable: wait for a closed window in the triggerer instead of a worker slot; the
        default comes from ``[operators] default_deferrable``.
    :param max_quota_sleep: with ``deferrable``, the longest quota wait (seconds) slept in the
        worker slot; a window closed for longer defers. Never above the connection's
        ``max_quota_wait``.
    :param max_quota_deferrals: with ``deferrable``, how many times one try may defer for quota
        before failing with the quota error (a window that keeps closing needs a person).
    """

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_quota_sleep: float = DEFAULT_MAX_QUOTA_SLEEP,
        max_quota_deferrals: int = DEFAULT_MAX_QUOTA_DEFERRALS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        number = isinstance(max_quota_sleep, (int, float)) and not isinstance(max_quota_sleep, bool)
        if not number or max_quota_sleep < 0:
            raise ApolloConfigurationError(
                f"max_quota_sleep must be a number of seconds >= 0; got {max_quota_sleep!r}."
            )
        self.deferrable = deferrable
        self.max_quota_sleep = float(max_quota_sleep)
        self.max_quota_deferrals = optional_int("max_quota_deferrals", max_quota_deferrals, minimum=0) or 0

    def hook_options(self) -> dict[str, Any]:
        """When deferrable, the hook's in-place quota waits end at ``max_quota_sleep``."""
        options = super().hook_options()
        if self.deferrable:
            options["max_quota_wait"] = self.max_quota_sleep
        return options

    def defers_for(self, error: BaseException) -> bool:
        """Whether ``error`` is a closed window this task should wait for in the triggerer."""
        return self.deferrable and isinstance(error, DEFERRABLE_QUOTA_ERRORS)

    def defer_for_quota(self, error: ApolloError, progress: Mapping[str, Any]) -> None:
        """Defer until the window behind ``error`` reopens, carrying ``progress`` (raises ``TaskDeferred``).

        Returns without deferring when the reopening is unknown or this try has already
        deferred ``max_quota_deferrals`` times: the caller then fails as it would without
        deferral (keeping its partial results) by re-raising ``error``.

        :param error: an error :meth:`defers_for` accepted.
        :param progress: what was done so far, JSON-able; handed back to :meth:`resume`.
        """
        limit = self.max_quota_deferrals
        deferrals = int(progress.get(DEFERRALS_KEY, 0)) + 1
        moment = reopening_moment(error, datetime.now(timezone.utc))
        if moment is None or deferrals > limit:
            if moment is not None:
                self.log.error(
                    "The quota window closed again after %d deferrals (max_quota_deferrals=%d): "
                    "other work is using the whole window. Failing with the quota error.",
                    deferrals - 1,
                    limit,
                )
            return
        if isinstance(error, ApolloQuotaFloorReached):
            why = "has only the share kept for normal-priority work left (quota_reserve)"
        else:
            why = "is closed"
        self.log.info(
            "Apollo's per-%s window of %s %s until about %s: deferring to the triggerer "
            "(deferral %d of at most %d) instead of holding this worker slot; the work done so far "
            "is kept and will not be paid for again.",
            getattr(error, "window", None) or "?",
            error.endpoint or "?",
            why,
            moment.isoformat(timespec="seconds"),
            deferrals,
            limit,
        )
        self.defer(
            trigger=ApolloQuotaWindowTrigger(
                moment=moment, endpoint=error.endpoint, window=getattr(error, "window", None)
            ),
            method_name="execute_complete",
            kwargs={"progress": {**progress, DEFERRALS_KEY: deferrals}},
        )

    def execute_complete(
        self,
        context: Context,
        event: Mapping[str, Any] | None = None,
        progress: Mapping[str, Any] | None = None,
    ) -> Any:
        """Resume after the window reopened, from the saved ``progress``.

        :param context: the task's context.
        :param event: the trigger's event (``{"status": "reopened", ...}``).
        :param progress: what :meth:`defer_for_quota` saved.
        """
        if not isinstance(event, Mapping) or event.get("status") != REOPENED:
            raise AirflowException(
                f"Task {self.task_id} resumed after a quota wait with an unexpected trigger event "
                f"{event!r}; clear the task to run it again."
            )
        self.log.info(
            "Apollo's per-%s window of %s should have reopened at %s: resuming.",
            event.get("window") or "?",
            event.get("endpoint") or "?",
            event.get("moment"),
        )
        # The resumed part spends too: its usage is reported however it ends, as execute()'s is.
        return self._reported(context, lambda: self.resume(context, dict(progress or {})))

    @abstractmethod
    def resume(self, context: Context, progress: dict[str, Any]) -> Any:
        """Continue the work from ``progress`` (as given to :meth:`defer_for_quota`)."""
