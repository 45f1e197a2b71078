"""The common base of the Apollo operators: connection id, hook, end-of-task summary."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.templating import FailFastTemplatingMixin


class ApolloBaseOperator(FailFastTemplatingMixin, BaseOperator):
    """Holds ``apollo_conn_id``, builds the hook lazily and logs the task's cost once.

    A templated argument that cannot render fails the task without retries (``templating.py``).

    :param apollo_conn_id: Airflow connection of type ``apollo`` (the password is the API key).
    """

    ui_color = "#ffd34d"

    def __init__(self, *, apollo_conn_id: str = ApolloHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.apollo_conn_id = apollo_conn_id

    @cached_property
    def hook(self) -> ApolloHook:
        """The hook for ``apollo_conn_id``; built on first use, on the worker."""
        return ApolloHook(apollo_conn_id=self.apollo_conn_id)

    def log_summary(self, outcome: str) -> None:
        """Log the one summary line of the task: ``outcome`` plus credits and API calls."""
        self.log.info(
            "%s; %s spent in %s.",
            outcome,
            plural(format_credits(self.hook.credits_spent), "credit"),
            plural(self.hook.requests_sent, "call"),
        )


def format_credits(credits: float) -> str:
    """``3`` for whole numbers, ``2.5`` otherwise."""
    return str(int(credits)) if float(credits).is_integer() else f"{credits:g}"


def plural(count: float | str, noun: str) -> str:
    """``"1 call"``, ``"3 calls"``."""
    return f"{count} {noun}{'' if str(count) == '1' else 's'}"
