"""Which ``tasks/search`` filters Apollo applies, and the client-side check of the others.

Apollo's "Search for Tasks" reference documents no filter at all: only ``sort_by_field``,
``open_factor_names`` (facet counts), ``page`` and ``per_page``. Unknown keys are ignored
silently, so a search "for the tasks of these contacts" answers every task of the team.
This module is the one place that decides, for the hook and the operators alike:

- what is sent to Apollo: the documented keys only (:data:`SENT_TO_APOLLO`). Undocumented
  keys are not sent: if Apollo ever applied one with other semantics (an exact ``type`` of
  ``call`` where its records say ``contact_call``), it would hide tasks that exist, and a
  create that looks before it writes would then duplicate them;
- what is checked on every record Apollo returns: ``contact_ids``, ``user_ids``,
  ``task_types``/``type``, ``statuses``/``status`` and ``priority``.

An empty list selects nothing (``contact_ids=[]`` is "the tasks of no contact", never
"every task").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airflow_provider_apollo._api.task_match import TaskMatch, task_value
from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: The ``tasks/search`` body keys Apollo documents (sorting and facets; none of them filters).
SENT_TO_APOLLO = frozenset({"sort_by_field", "sort_ascending", "open_factor_names"})
#: Filter key -> the task record field it is checked against, client-side.
CHECKED_HERE: dict[str, str] = {
    "contact_ids": "contact_id",
    "user_ids": "user_id",
    "task_types": "type",
    "type": "type",
    "statuses": "status",
    "status": "status",
    "priority": "priority",
}


def _wanted(key: str, field: str, value: Any) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise ApolloConfigurationError(
            f"task search filter {key!r} must be a string or a list of strings; got {type(value).__name__}."
        )
    wanted = set()
    for index, item in enumerate(items):
        normalised = task_value(field, item)
        if normalised is None:
            raise ApolloConfigurationError(
                f"task search filter {key}[{index}] must be a non-empty string; got {item!r}."
            )
        wanted.add(normalised)
    return frozenset(wanted)


@dataclass(frozen=True)
class TaskSelection:
    """A ``tasks/search`` request split into what Apollo applies and what is checked here.

    :param sent: the body keys sent to Apollo (documented ones only).
    :param required: record field -> the values it must have (each filter narrows the result).
    """

    sent: Mapping[str, Any]
    required: Mapping[str, frozenset[str]]

    @classmethod
    def from_filters(cls, filters: Mapping[str, Any]) -> TaskSelection:
        """Split filters already validated by ``filters.prepare_filters("task search", ...)``.

        :param filters: the validated filters.
        :raises ApolloConfigurationError: a filter value that is not a string or a list of strings.
        """
        sent = {key: value for key, value in filters.items() if key in SENT_TO_APOLLO}
        required: dict[str, frozenset[str]] = {}
        for key, value in filters.items():
            field = CHECKED_HERE.get(key)
            if field is None:
                continue
            wanted = _wanted(key, field, value)
            # ``type`` and ``task_types`` (or ``status`` and ``statuses``) both given: both must hold.
            required[field] = required[field] & wanted if field in required else wanted
        return cls(sent=sent, required=required)

    @property
    def selects_nothing(self) -> bool:
        """True when a filter is an empty list: no record can match, so nothing need be read."""
        return self.match.matches_nothing

    def matches(self, task: Mapping[str, Any]) -> bool:
        """Whether ``task`` has every value the caller asked for (``task_match.TaskMatch``).

        :param task: a task record from Apollo.
        """
        return self.match.matches(task)

    @cached_property
    def match(self) -> TaskMatch:
        """The predicate every record is checked with."""
        return TaskMatch(self.required)

    def select(
        self,
        tasks: Iterable[Mapping[str, Any]],
        *,
        max_records: int | None = None,
        on_done: Callable[[int, int], None] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The matching tasks of ``tasks``, lazily, at most ``max_records`` of them.

        :param tasks: the records Apollo returned (any number of pages).
        :param max_records: stop after this many matching tasks.
        :param on_done: called with (records read, records matched) when the walk ends,
            also when the caller stops early.
        """
        read = matched = 0
        try:
            if self.selects_nothing or max_records == 0:
                return
            for task in tasks:
                read += 1
                if self.matches(task):
                    matched += 1
                    yield dict(task)
                    if max_records is not None and matched >= max_records:
                        return
        finally:
            if on_done is not None:
                on_done(read, matched)

    def describe(self) -> str:
        """The client-side part for a log line, e.g. ``contact_id in 3 values, type=call``."""
        parts = []
        for field, values in sorted(self.required.items()):
            parts.append(
                f"{field}={next(iter(values))}" if len(values) == 1 else f"{field} in {len(values)} values"
            )
        return ", ".join(parts) or "none"

    def outcome(self, read: int, matched: int) -> str:
        """One log line's worth: how many tasks were read to find how many."""
        return f"read {read} task(s), {matched} matched the filters checked here ({self.describe()})."
