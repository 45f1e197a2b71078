"""Templated arguments that can never render fail the task at once, without retries.

Airflow renders a task's templated fields at the start of every try. A template that refers
to something the run does not have (``logical_date`` in a run triggered without one, a typo
in a variable name) or that does arithmetic on a value of the wrong type fails the same way on
every retry: retrying only burns the task's retries (and their delays) before the inevitable
failure. Such errors are turned into :class:`~airflow_provider_apollo.exceptions.ApolloConfigurationError`,
an ``AirflowFailException``, so the task fails once with a message that says what to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jinja2

from airflow_provider_apollo.exceptions import ApolloConfigurationError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

#: What a run triggered without a logical date has instead of ``logical_date``, ``ds``, ``ts``
#: and the data interval, all of which are then undefined.
RUN_DATE_HINT = (
    "A run triggered without a logical date (the CLI or REST API without --logical-date, an asset "
    "event) has no logical_date, ds, ts or data interval; dag_run.run_after is always set, e.g. "
    '"{{ dag_run.run_after | ds }}".'
)

#: Render errors that the same run would hit again on every retry.
PERMANENT_RENDER_ERRORS: tuple[type[Exception], ...] = (jinja2.TemplateError, TypeError)


class FailFastTemplatingMixin:
    """Mix into an operator (before ``BaseOperator``) to fail unrenderable templates without retries."""

    task_id: str

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render as Airflow does; an error no retry can fix fails the task at once.

        :param context: the task's template context.
        :param jinja_env: the DAG's Jinja environment.
        """
        parent: Any = super()
        try:
            parent.render_template_fields(context, jinja_env)
        except PERMANENT_RENDER_ERRORS as error:
            raise ApolloConfigurationError(
                f"{type(self).__name__} '{self.task_id}': a templated argument cannot be rendered "
                f"({type(error).__name__}: {error}); Airflow's log line above names the field. A retry "
                f"would fail the same way, so the task fails now. {RUN_DATE_HINT}"
            ) from error
