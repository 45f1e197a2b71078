"""Whether a task record is one the caller means: the one task predicate.

The hook's task search (``task_filters.py``: Apollo applies no task filter, so each record
is checked here), the tasks sensor and its trigger (``criteria.py``) and the create-once
look-up before ``tasks/bulk_create`` (``hooks/_resources/tasks.py``) all decide with
:class:`TaskMatch`, so a task one of them counts is a task the others count too.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_apollo._api.task_types import canonical_task_type
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: Apollo may store ``due_at`` rounded; closer than this is "the same due date".
DUE_AT_TOLERANCE_SECONDS = 1.0


def task_value(field_name: str, value: Any) -> str | None:
    """A task field's value as it is compared: ``type`` canonical, status/priority case-folded.

    :param field_name: the task record's field (``type``, ``status``, ``contact_id``...).
    :param value: its value, as given by a caller or read from Apollo.
    :return: ``None`` for a missing or empty value (it matches nothing).
    """
    if field_name == "type":
        # Apollo answers some types with a prefix (``contact_call``): compare the canonical type.
        return canonical_task_type(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return text.casefold() if field_name in ("status", "priority") else text


def _values(field_name: str, values: Iterable[Any]) -> frozenset[str]:
    return frozenset(v for v in (task_value(field_name, value) for value in values) if v is not None)


def same_due_at(value: Any, due_at: datetime.datetime) -> bool:
    """Whether a task's ``due_at`` is ``due_at`` (within :data:`DUE_AT_TOLERANCE_SECONDS`).

    :param value: the ``due_at`` of a task record (an ISO 8601 string).
    :param due_at: the wanted instant (aware).
    """
    if not isinstance(value, str):
        return False
    try:
        parsed = parse_instant("due_at", value)
    except ApolloConfigurationError:
        return False
    return abs(parsed.timestamp() - due_at.timestamp()) < DUE_AT_TOLERANCE_SECONDS


@dataclass(frozen=True)
class TaskMatch:
    """The fields a task must have.

    :param required: record field -> the values it may have (compared with :func:`task_value`);
        an empty set matches no task.
    :param due_at: when given, the task's ``due_at`` must be this instant (see :func:`same_due_at`).
    """

    required: Mapping[str, frozenset[str]] = field(default_factory=dict)
    due_at: datetime.datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        task_ids: Iterable[Any] = (),
        contact_ids: Iterable[Any] = (),
        task_types: Iterable[Any] = (),
        due_at: datetime.datetime | None = None,
    ) -> TaskMatch:
        """A match where an empty group means "no restriction" (a sensor's or a create's selection).

        :param task_ids: only these tasks.
        :param contact_ids: only the tasks of these contacts.
        :param task_types: only tasks of these types (any of Apollo's spellings).
        :param due_at: only tasks due at this instant.
        """
        groups = {"id": list(task_ids), "contact_id": list(contact_ids), "type": list(task_types)}
        return cls({name: _values(name, values) for name, values in groups.items() if values}, due_at)

    @property
    def matches_nothing(self) -> bool:
        """True when a field may have no value at all: no record can match."""
        return any(not values for values in self.required.values())

    def matches(self, task: Mapping[str, Any]) -> bool:
        """Whether ``task`` has every required value (and the due date, when one is required).

        :param task: a task record from Apollo.
        """
        if not all(task_value(name, task.get(name)) in values for name, values in self.required.items()):
            return False
        return self.due_at is None or same_due_at(task.get("due_at"), self.due_at)
