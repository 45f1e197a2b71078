"""The polling loop the Apollo triggers share: wait, look once, fire or wait again."""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_apollo.exceptions import ApolloQuotaExhaustedError
from airflow_provider_apollo.hooks._arguments import check_hook_params
from airflow_provider_apollo.hooks.async_apollo import ApolloAsyncHook
from airflow_provider_apollo.triggers._events import error_event, success_event
from airflow_provider_apollo.triggers.quota_window import seconds_until_reopening


@dataclass(frozen=True)
class PollOutcome:
    """What one look at Apollo found.

    :param done: the sensor's condition holds.
    :param data: the sensor's result when done.
    :param summary: one line for the log.
    """

    done: bool
    data: Any = None
    summary: str = ""


class ApolloPollingTrigger(BaseTrigger):
    """Poll Apollo every ``poll_interval`` seconds until :meth:`poll` says done.

    The sensor looked once on the worker just before deferring, so the trigger waits one
    interval before its first look: deferring never spends a second credit at once.
    A closed hourly or daily window (``ApolloQuotaExhaustedError``) does not end the wait: the
    trigger sleeps until the window reopens (no worker slot is held) and looks again. Any other
    error ends the wait with an ``error`` event (its class travels by name, so
    ``execute_complete`` raises the same error the poking path would). The wait's deadline is
    the sensor's ``timeout``, passed to ``defer()``: Airflow enforces it.

    :param apollo_conn_id: Airflow connection of type ``apollo``.
    :param poll_interval: seconds between two looks.
    :param hook_params: keyword arguments of :class:`ApolloAsyncHook` (``timeout``,
        ``max_retries``, ``priority``, ``max_quota_wait``), forwarded by the sensor's ``hook_params``.
    """

    def __init__(
        self, *, apollo_conn_id: str, poll_interval: float, hook_params: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.apollo_conn_id = apollo_conn_id
        self.poll_interval = float(poll_interval)
        self.hook_params = check_hook_params(hook_params)
        # Not serialized: tests replace it so no test really waits.
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def _hook(self) -> ApolloAsyncHook:
        return ApolloAsyncHook(self.apollo_conn_id, **self.hook_params)

    @abstractmethod
    async def poll(self, hook: ApolloAsyncHook) -> PollOutcome:
        """Look at Apollo once and decide."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done, then fire one ``success`` event; fire ``error`` on failure."""
        polls = 0
        hook = self._hook()
        try:
            async with hook:
                delay = self.poll_interval
                while True:
                    await self._sleep(delay)
                    delay = self.poll_interval
                    polls += 1
                    credits_before = hook.credits_spent
                    try:
                        outcome = await self.poll(hook)
                    except ApolloQuotaExhaustedError as exc:
                        # Waiting here holds no worker slot: wait for the window, then look
                        # again, rather than failing the sensor (whose retry would probe the
                        # closed window again). The sensor's timeout still bounds the wait.
                        reopens_in = seconds_until_reopening(exc)
                        if reopens_in is None:
                            raise
                        self.log.warning(
                            "Poll %d: %s Waiting %.0f s in the triggerer for it to reopen.",
                            polls,
                            exc,
                            reopens_in,
                        )
                        delay = reopens_in + 1.0  # arrive just after the reopening
                        continue
                    self.log.info(
                        "Poll %d: %s; %g credits spent by this poll, %g since deferral.",
                        polls,
                        outcome.summary,
                        hook.credits_spent - credits_before,
                        hook.credits_spent,
                    )
                    if outcome.done:
                        yield TriggerEvent(
                            success_event(
                                outcome.data,
                                credits_spent=hook.credits_spent,
                                requests_sent=hook.requests_sent,
                                polls=polls,
                            )
                        )
                        return
        except Exception as exc:
            # Any failure must reach the sensor as an event: an exception escaping run() would
            # only be logged by the triggerer, and the task would wait until its timeout.
            self.log.error("Polling Apollo failed after %d poll(s): %s", polls, exc)
            yield TriggerEvent(error_event(exc))
