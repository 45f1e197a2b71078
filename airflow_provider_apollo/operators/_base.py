"""The common base of the Apollo operators: connection id, hook, and what every task reports.

Whatever every operator does around its own work lives here, once: the end-of-task
summary line, the usage metrics (``metrics.py``), and the Asset of ``output_path``
(``assets.py``) with the file's reference attached to its event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_apollo._airflow.metrics import report_usage
from airflow_provider_apollo._airflow.templating import FailFastTemplatingMixin
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.operators._output import is_output_reference
from airflow_provider_apollo.operators.assets import output_asset_uri
from airflow_provider_apollo.operators.links import ApolloLink

if TYPE_CHECKING:
    from airflow.sdk import Context


class ApolloBaseOperator(FailFastTemplatingMixin, BaseOperator):
    """Holds ``apollo_conn_id``, builds the hook lazily and reports the task's cost once.

    When ``execute()`` ends, successfully or not, the credits spent and the API calls sent
    are logged and sent to Airflow's metrics as ``apollo.credits_spent`` and
    ``apollo.api_calls`` (see the operators guide). A templated argument that cannot render
    fails the task without retries (``templating.py``).

    :param apollo_conn_id: Airflow connection of type ``apollo`` (the password is the API key). (templated)
    """

    ui_color = "#ffd34d"

    def __init__(self, *, apollo_conn_id: str = ApolloHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apollo_conn_id = apollo_conn_id

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each operator's own execute() is wrapped so that the usage is reported however it
        # ends: post_execute() runs only after a success, and a failed task (a budget
        # exceeded, a quota closed half-way) may have spent credits too.
        super().__init_subclass__(**kwargs)
        execute = cls.__dict__.get("execute")
        if execute is not None and not getattr(execute, "__isabstractmethod__", False):
            cls.execute = _reporting(execute)  # type: ignore[method-assign]

    @cached_property
    def hook(self) -> ApolloHook:
        """The hook for ``apollo_conn_id``; built on first use, on the worker (after templating)."""
        return ApolloHook(apollo_conn_id=self.apollo_conn_id)

    def declare_output_asset(self, output_path: Any) -> None:
        """Add the Asset of a literal ``output_path`` to the outlets (a templated one has none).

        Called by ``__init__`` of the operators that take ``output_path``: the outlet must be
        known when the DAG file is parsed, for the scheduler to run the DAGs scheduled on it.
        """
        uri = output_asset_uri(output_path) if isinstance(output_path, str) else None
        if uri is None:
            return
        from airflow.sdk import Asset

        if not any(isinstance(outlet, Asset) and outlet.uri == uri for outlet in self.outlets):
            self.outlets = [*self.outlets, Asset(uri=uri)]

    def log_summary(self, outcome: str) -> None:
        """Log the one summary line of the task: ``outcome`` plus credits and API calls."""
        self.log.info(
            "%s; %s spent in %s.",
            outcome,
            plural(format_credits(self.hook.credits_spent), "credit"),
            plural(self.hook.requests_sent, "call"),
        )

    def _report_usage(self) -> None:
        """Send this task's credits and API calls to Airflow's metrics (nothing if no hook was built)."""
        if "hook" not in self.__dict__:  # no request was sent (e.g. refused arguments, empty input)
            return
        report_usage(
            dag_id=self.dag_id,
            task_id=self.task_id,
            credits=self.hook.credits_spent,
            calls=self.hook.requests_sent,
        )

    def _clear_links(self, context: Context) -> None:
        """Push an empty id list for each of the task's Apollo links before anything else.

        A task that fails before it knows an id (an unknown sequence name, say) then shows the
        button greyed out, instead of Airflow logging "XCom not found" when it builds the link.
        """
        for link in self.operator_extra_links:
            if isinstance(link, ApolloLink):
                link.persist(context, ())

    def _attach_output_reference(self, context: Context, result: Any) -> None:
        """Make the ``{"path", "count", ...}`` the task returned the extra of its Asset events.

        Every Asset among the outlets gets it: the one derived from ``output_path``, or the one
        a user declared for a templated path. A consumer reads it as
        ``inlet_events[asset][-1].extra`` and passes it on as it is.
        """
        if not is_output_reference(result):
            return
        from airflow.sdk import Asset

        events = context.get("outlet_events")
        if events is None:
            return
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                events[outlet].extra.update(result)


def _reporting(execute: Callable[..., Any]) -> Callable[..., Any]:
    """``execute`` that reports the usage when it ends and passes output references to Assets."""

    @functools.wraps(execute)
    def wrapper(self: ApolloBaseOperator, *args: Any, **kwargs: Any) -> Any:
        # A subclass's execute() calling super().execute() reports once, from the outermost call.
        outermost = not self.__dict__.get("_reporting_usage", False)
        self.__dict__["_reporting_usage"] = True
        try:
            context = kwargs.get("context", args[0] if args else None)
            if outermost and isinstance(context, Mapping):
                self._clear_links(context)  # type: ignore[arg-type]
            result = execute(self, *args, **kwargs)
            if outermost and isinstance(context, Mapping):
                self._attach_output_reference(context, result)  # type: ignore[arg-type]
            return result
        finally:
            if outermost:
                self.__dict__["_reporting_usage"] = False
                self._report_usage()

    return wrapper


def format_credits(credits: float) -> str:
    """``3`` for whole numbers, ``2.5`` otherwise."""
    return str(int(credits)) if float(credits).is_integer() else f"{credits:g}"


def plural(count: float | str, noun: str) -> str:
    """``"1 call"``, ``"3 calls"``."""
    return f"{count} {noun}{'' if str(count) == '1' else 's'}"
