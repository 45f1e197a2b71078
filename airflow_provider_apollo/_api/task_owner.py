"""Who owns the tasks the provider creates when the caller names nobody.

Apollo's current reference marks ``user_id`` (the user the task is assigned to) as required
for ``POST /tasks`` and ``POST /tasks/bulk_create``. Apollo documents no endpoint that says
which user an API key belongs to, so the owner is taken from ``GET /users/search`` only
when that answer leaves no doubt: the team has exactly one active user. Anything else fails
before a task is created, listing the users so the caller can pass ``user_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: How many users an error message lists at most.
_LISTED = 15


@dataclass(frozen=True)
class TaskOwner:
    """The user new tasks are assigned to, and why that one.

    :param user_id: Apollo user id sent as ``user_id``.
    :param reason: one line for the log.
    """

    user_id: str
    reason: str


def _active(users: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        user
        for user in users
        if isinstance(user, Mapping)
        and isinstance(user.get("id"), str)
        and user["id"].strip()
        and not user.get("deleted")
    ]


def _label(user: Mapping[str, Any]) -> str:
    name = user.get("name") or " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
    email = user.get("email")
    details = ", ".join(str(part) for part in (name, email) if part)
    return f"{user.get('id')} ({details})" if details else str(user.get("id"))


def choose_task_owner(users: Sequence[Mapping[str, Any]]) -> TaskOwner:
    """The owner of new tasks from the team's users, when only one can be meant.

    :param users: the records of ``GET /users/search``.
    :raises ApolloConfigurationError: no active user, or several (listed, to pick one as ``user_id``).
    """
    active = _active(users)
    if len(active) == 1:
        user = active[0]
        return TaskOwner(
            user_id=str(user["id"]).strip(),
            reason=f"user_id not given: the team's only active user, {_label(user)}, owns the tasks",
        )
    if not active:
        raise ApolloConfigurationError(
            "user_id is required by Apollo to create tasks and was not given, and users/search lists "
            "no active user to assign them to. Pass user_id= (the id of the Apollo user who should "
            "own the tasks; Settings > Users in Apollo)."
        )
    listed = "; ".join(_label(user) for user in active[:_LISTED])
    more = f" and {len(active) - _LISTED} more" if len(active) > _LISTED else ""
    raise ApolloConfigurationError(
        f"user_id is required by Apollo to create tasks and was not given, and the team has "
        f"{len(active)} users: Apollo does not say which one owns this API key, so none is picked. "
        f"Pass user_id= one of: {listed}{more}."
    )


def cannot_list_users(reason: str) -> ApolloConfigurationError:
    """The error when ``users/search`` cannot be read (e.g. a key that is not a master key).

    :param reason: what went wrong, without secrets.
    """
    return ApolloConfigurationError(
        f"user_id is required by Apollo to create tasks and was not given, and the team's users "
        f"could not be listed to find its owner ({reason}). Pass user_id= (the id of the Apollo "
        "user who should own the tasks), or use a master API key, which can read users/search."
    )
