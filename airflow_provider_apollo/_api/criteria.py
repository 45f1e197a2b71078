"""What "done" means for the Apollo sensors: pure functions shared by poke and trigger.

The poking path (sync hook, on a worker) and the deferrable path (async client, in the
triggerer) fetch the same records and hand them to these functions, so both paths decide
and return exactly the same thing. Nothing here sends a request or reads a connection.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from airflow_provider_apollo._api.task_match import TaskMatch
from airflow_provider_apollo._api.timestamps import parse_instant
from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: Fields of a task kept in a sensor's result. Apollo's task records embed the whole contact
#: and account (emails, phone numbers): XCom is stored unmasked in the metadata database,
#: so only what a downstream task needs is returned.
TASK_RESULT_FIELDS: tuple[str, ...] = (
    "id",
    "contact_id",
    "account_id",
    "user_id",
    "type",
    "status",
    "priority",
    "due_at",
    "completed_at",
    "note",
)


# ------------------------------------------------------------------------ argument checks
def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def _posting_time(posting: Mapping[str, Any]) -> datetime.datetime | None:
    raw = posting.get("posted_at")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return parse_instant("posted_at", raw)
    except ApolloConfigurationError:
        return None


# ---------------------------------------------------------------------------- job postings
@dataclass(frozen=True)
class PostingCriteria:
    """Which job postings count as a new hiring signal.

    :param posted_after: only postings strictly newer than this (aware, UTC).
    :param title_keywords: the title must contain one of these (case-insensitive);
        empty: any title.
    """

    posted_after: datetime.datetime
    title_keywords: tuple[str, ...] = ()

    def matches(self, posting: Mapping[str, Any]) -> bool:
        """Whether ``posting`` is newer than ``posted_after`` and its title has a keyword.

        A posting without a readable ``posted_at`` never matches: it cannot be shown to be new.
        """
        posted_at = _posting_time(posting)
        if posted_at is None or posted_at <= self.posted_after:
            return False
        if not self.title_keywords:
            return True
        title = str(posting.get("title") or "").casefold()
        return any(keyword.casefold() in title for keyword in self.title_keywords)

    def select(self, postings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The matching postings, in Apollo's order."""
        return [dict(posting) for posting in postings if self.matches(posting)]

    def to_json(self) -> dict[str, Any]:
        """JSON-able form (ISO string, list) for a trigger's serialized state."""
        return {"posted_after": self.posted_after.isoformat(), "title_keywords": list(self.title_keywords)}

    @classmethod
    def from_json(cls, posted_after: str, title_keywords: Sequence[str]) -> PostingCriteria:
        """Rebuild the criteria from :meth:`to_json`'s fields."""
        return cls(parse_instant("posted_after", posted_after), tuple(title_keywords))


@dataclass(frozen=True)
class Organization:
    """An organization to watch: Apollo's organization id and, when known, its domain."""

    id: str
    domain: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"id": ..., "domain": ...}``."""
        return {"id": self.id, "domain": self.domain}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Organization:
        """Rebuild from :meth:`to_json`."""
        return cls(id=str(data["id"]), domain=data.get("domain"))


def hiring_signal(organization: Organization, postings: list[dict[str, Any]]) -> dict[str, Any]:
    """One element of ApolloJobPostingsSensor's result.

    :param organization: the organization that posted.
    :param postings: its matching postings (non-empty).
    """
    return {
        "organization_id": organization.id,
        "organization_domain": organization.domain,
        "postings": postings,
    }


def hiring_summary(signals: list[dict[str, Any]], watched: int, criteria: PostingCriteria) -> str:
    """One log line for a look at the job postings (the same for poking and deferring).

    :param signals: the hiring signals found (:func:`hiring_signal` each).
    :param watched: how many organizations were looked at.
    :param criteria: what counted as a matching posting.
    """
    found = sum(len(signal["postings"]) for signal in signals)
    return (
        f"{len(signals)} of {watched} organizations hiring "
        f"({found} matching postings after {criteria.posted_after.isoformat()})"
    )


# ------------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class TasksVerdict:
    """The outcome of one look at the tasks.

    :param done: the sensor's condition holds.
    :param matching: how many tasks matched the selection.
    :param reached: the compact matching tasks that reached a target status.
    :param missing_task_ids: requested task ids Apollo did not return.
    :param summary: one line for the log.
    """

    done: bool
    matching: int
    reached: list[dict[str, Any]] = field(default_factory=list)
    missing_task_ids: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass(frozen=True)
class TaskCriteria:
    """Which tasks to watch and when they are done.

    :param task_ids: only these tasks (empty: no restriction).
    :param contact_ids: only tasks of these contacts (empty: no restriction).
    :param task_type: only tasks of this ``type`` (e.g. ``call``).
    :param target_statuses: statuses that count as reached.
    :param min_matches: done when at least this many reached a target status;
        ``None``: done when every matching task did.
    """

    task_ids: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    task_type: str | None = None
    target_statuses: tuple[str, ...] = ("completed",)
    min_matches: int | None = None

    @cached_property
    def match(self) -> TaskMatch:
        """The watched tasks, as the one task predicate (``task_match.py``)."""
        return TaskMatch.of(
            task_ids=self.task_ids,
            contact_ids=self.contact_ids,
            task_types=[self.task_type] if self.task_type else [],
        )

    def selects(self, task: Mapping[str, Any]) -> bool:
        """Whether ``task`` is one of the watched tasks."""
        return self.match.matches(task)

    def evaluate(self, tasks: Iterable[Mapping[str, Any]]) -> TasksVerdict:
        """Decide from every task the search returned.

        No matching task at all is never done: the tasks may not exist yet. Requested
        ``task_ids`` that Apollo did not return count as not reached.
        """
        matching = [task for task in tasks if self.selects(task)]
        reached = [compact_task(task) for task in matching if task.get("status") in self.target_statuses]
        found_ids = {task.get("id") for task in matching}
        missing = [task_id for task_id in self.task_ids if task_id not in found_ids]
        statuses = "/".join(self.target_statuses)
        if not matching:
            return TasksVerdict(False, 0, [], missing, "no task matches the selection yet")
        if self.min_matches is not None:
            done = len(reached) >= self.min_matches
            summary = (
                f"{len(reached)} of {len(matching)} matching tasks are {statuses} (need {self.min_matches})"
            )
        else:
            done = len(reached) == len(matching) and not missing
            summary = f"{len(reached)} of {len(matching) + len(missing)} matching tasks are {statuses}"
        if missing:
            summary += f"; {len(missing)} requested task id(s) not found: {', '.join(missing[:5])}"
        return TasksVerdict(done, len(matching), reached, missing, summary)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form for a trigger's serialized state."""
        return {
            "task_ids": list(self.task_ids),
            "contact_ids": list(self.contact_ids),
            "task_type": self.task_type,
            "target_statuses": list(self.target_statuses),
            "min_matches": self.min_matches,
        }


def compact_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``task`` a downstream step needs (see :data:`TASK_RESULT_FIELDS`)."""
    return {name: task.get(name) for name in TASK_RESULT_FIELDS}
