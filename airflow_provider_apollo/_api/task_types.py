"""The task types and priorities Apollo documents, shared by the hook and the operators.

Apollo's current reference ("Create a Task", "Bulk Create Tasks") lists seven ``type``
values; the legacy reference listed only the first three. Task *search* answers spell some
of them with a ``contact_`` prefix (its ``task_types`` facets show ``contact_call`` and
``contact_action_item``), so types read back from Apollo are compared with
:func:`same_task_type`, never with ``==``.
"""

from __future__ import annotations

from typing import Any

TASK_TYPES: tuple[str, ...] = (
    "call",
    "outreach_manual_email",
    "action_item",
    "linkedin_step_connect",
    "linkedin_step_message",
    "linkedin_step_view_profile",
    "linkedin_step_interact_post",
)
TASK_PRIORITIES: tuple[str, ...] = ("high", "medium", "low")

_SEARCH_PREFIX = "contact_"


def canonical_task_type(value: Any) -> str | None:
    """The documented type a task record's ``type`` stands for (``contact_call`` -> ``call``).

    :param value: a ``type`` as sent to Apollo or read back from a task search.
    :return: the type without Apollo's ``contact_`` search prefix, or ``None`` if not a string.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().casefold()
    return text.removeprefix(_SEARCH_PREFIX)


def same_task_type(value: Any, wanted: str) -> bool:
    """Whether a task's ``type`` is ``wanted``, whichever of Apollo's spellings it uses.

    :param value: the ``type`` of a task record.
    :param wanted: a type as the caller gave it (``call``, ``contact_call``...).
    """
    return canonical_task_type(value) is not None and canonical_task_type(value) == canonical_task_type(
        wanted
    )
