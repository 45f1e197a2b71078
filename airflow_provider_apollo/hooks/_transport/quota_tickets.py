"""Which lease a request holds, from ``plan()`` to the reading of its answer (``QuotaTracker``).

``plan()`` and ``observe()`` of one request run in one thread or one asyncio task: a context
variable carries the ticket between them, keyed by tracker, even when several requests of one
hook are in flight at once.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Ticket:
    """The lease of the request a thread (or asyncio task) has in flight through one tracker.

    :param endpoint: the request's path template.
    :param lease_id: its lease in the store.
    :param probe: it is the probe of an exhausted window.
    :param answered: its answer said a window is exhausted; the 429 reading may follow, so the
        lease still holds (no second probe in between) until the next call of this thread.
    :param batched: admitted from a block (``quota_batch.py``): ``lease_id`` is the block's.
    """

    endpoint: str
    lease_id: str
    probe: bool
    answered: bool = False
    batched: bool = False


_TICKETS: contextvars.ContextVar[dict[str, Ticket]] = contextvars.ContextVar("apollo_quota_tickets")


def current_ticket(tracker: str) -> Ticket | None:
    """The ticket this thread or task holds through the tracker ``tracker`` (its token)."""
    return _TICKETS.get({}).get(tracker)


def set_ticket(tracker: str, ticket: Ticket | None) -> None:
    """Hold ``ticket`` through ``tracker`` in this thread or task (``None``: hold none)."""
    tickets = dict(_TICKETS.get({}))  # a new dict: contexts copied from this one keep theirs
    if ticket is None:
        tickets.pop(tracker, None)
    else:
        tickets[tracker] = ticket
    _TICKETS.set(tickets)


def take_ticket(tracker: str, endpoint: str) -> Ticket | None:
    """The ticket held through ``tracker`` for ``endpoint``, which is then no longer held."""
    ticket = current_ticket(tracker)
    if ticket is None or ticket.endpoint != endpoint:
        return None
    set_ticket(tracker, None)
    return ticket
