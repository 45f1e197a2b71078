"""The common base of the Apollo sensors: hook, credit logging and metrics, the deferrable path."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_apollo._airflow.metrics import report_usage
from airflow_provider_apollo._airflow.templating import FailFastTemplatingMixin
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.triggers._events import result_from_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.triggers.base import BaseTrigger


class ApolloBaseSensor(FailFastTemplatingMixin, BaseSensorOperator):
    """Pokes with the sync hook, or defers to an async trigger with ``deferrable=True``.

    Both paths decide with the same functions (``criteria.py``) and return the same
    result. The deferrable path looks once on the worker first: when the condition already
    holds it returns at once, without deferring. Otherwise the trigger polls every
    ``poke_interval`` seconds until the sensor's ``timeout`` (enforced by Airflow, which
    raises ``AirflowSensorTimeout``). A templated argument that cannot render fails the task
    without retries (``templating.py``).

    Each poke, and the trigger's whole wait, adds what it spent to Airflow's metrics
    ``apollo.credits_spent`` and ``apollo.api_calls`` (as the operators do).

    :param apollo_conn_id: Airflow connection of type ``apollo`` (the password is the API key). (templated)
    :param deferrable: wait in the triggerer instead of a worker slot; the default comes
        from ``[operators] default_deferrable``.
    """

    ui_color = "#ffd34d"

    def __init__(
        self,
        *,
        apollo_conn_id: str = ApolloHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.apollo_conn_id = apollo_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ApolloHook:
        """The sync hook for ``apollo_conn_id``; built on first use, on the worker."""
        return ApolloHook(apollo_conn_id=self.apollo_conn_id)

    @abstractmethod
    def check(self, context: Context) -> tuple[PokeReturnValue, str]:
        """Validate the arguments, look at Apollo once, and say what was found.

        :return: the poke's outcome and one line summarising it for the log.
        """

    @abstractmethod
    def build_trigger(self, context: Context) -> BaseTrigger:
        """The trigger that continues the wait; called after a :meth:`check` that was not done."""

    def poke(self, context: Context) -> PokeReturnValue:
        """One look at Apollo; logs what it found and the credits it spent."""
        credits_before, calls_before = self.hook.credits_spent, self.hook.requests_sent
        try:
            outcome, summary = self.check(context)
        finally:  # a poke that failed may have spent credits too
            spent = self.hook.credits_spent - credits_before
            report_usage(
                dag_id=self.dag_id,
                task_id=self.task_id,
                credits=spent,
                calls=self.hook.requests_sent - calls_before,
            )
        self.log.info(
            "%s; %s spent by this poke, %g by this try (%s).",
            summary,
            _amount(spent, "credit"),
            self.hook.credits_spent,
            _amount(self.hook.requests_sent, "API call"),
        )
        return outcome

    def execute(self, context: Context) -> Any:
        """Poke (or reschedule) as any sensor, or look once and defer when ``deferrable``."""
        if not self.deferrable:
            return super().execute(context)
        outcome = self.poke(context)
        if outcome.is_done:
            return outcome.xcom_value
        self.log.info("Deferring: the triggerer will look again every %g s.", self.poke_interval)
        self.defer(
            trigger=self.build_trigger(context),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: return its result or raise the error it reports.

        :param context: the task's context.
        :param event: the trigger's event payload.
        """
        if isinstance(event, Mapping):  # the trigger's spending counts whether or not it found anything
            report_usage(
                dag_id=self.dag_id,
                task_id=self.task_id,
                credits=float(event.get("credits_spent") or 0),
                calls=int(event.get("requests_sent") or 0),
            )
        result = result_from_event(event, task_id=self.task_id)
        assert event is not None  # result_from_event raised otherwise
        self.log.info(
            "The trigger found it after %s; %s spent while deferred (%s).",
            _amount(int(event.get("polls") or 0), "poll"),
            _amount(float(event.get("credits_spent") or 0), "credit"),
            _amount(int(event.get("requests_sent") or 0), "API call"),
        )
        return result


def _amount(count: float, noun: str) -> str:
    """``"1 API call"``, ``"2.5 credits"``, ``"0 credits"``."""
    return f"{count:g} {noun}{'' if count == 1 else 's'}"
