"""Which record of a bulk create answer belongs to which input: by identity, never by position.

``contacts/bulk_create`` and ``accounts/bulk_create`` answer ``created_*`` and ``existing_*``
lists: two lists, in no documented order, and Apollo changes what it was sent ("Invalid
emails will be ignored", Contacts API). Reading answers by position hands one input the
record of another, and the swapped ids then flow into sequences and tasks.

So a record is given to an input only when they share an identity key and nothing else in
the batch competes for it. Keys (``identity.py``) are tried strongest first (for contacts: Apollo person
id, email, LinkedIn URL, first + last name + company); at each strength a value must point at
exactly one record. Several inputs may share a record only through a key that makes them
the same person (the same email or person id). When nothing certain is left, the input has
no record (``None``): the caller reports it as unmatched rather than guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_apollo._api.identity import CONTACT_KINDS, Identity, account_identity, person_identity


@dataclass(frozen=True)
class IdentityScheme:
    """How records of one kind are recognised.

    :param identity: a record's keys, kind -> value.
    :param kinds: key kinds, strongest first.
    :param shared: kinds whose equal values make two inputs the same record.
    :param exclusive: kinds whose different values make two records different, whatever
        else they share (two LinkedIn profiles are two people).
    """

    identity: Callable[[Mapping[str, Any]], Identity]
    kinds: tuple[str, ...]
    shared: frozenset[str] = field(default_factory=frozenset)
    exclusive: frozenset[str] = field(default_factory=frozenset)

    def conflict(self, one: Identity, other: Identity) -> bool:
        """Whether two key sets disagree on a kind that tells records apart."""
        return any(kind in one and kind in other and one[kind] != other[kind] for kind in self.exclusive)


CONTACTS = IdentityScheme(
    identity=person_identity,
    kinds=CONTACT_KINDS,
    shared=frozenset({"person", "email"}),
    exclusive=frozenset({"person", "linkedin"}),
)
ACCOUNTS = IdentityScheme(identity=account_identity, kinds=("domain", "name"), shared=frozenset({"domain"}))


@dataclass(frozen=True)
class Placement:
    """Where each answer went.

    :param answer_of_input: per input, the index of its record in the answer, or ``None``.
    :param unplaced: indexes of answered records no input could claim with certainty.
    """

    answer_of_input: list[int | None]
    unplaced: list[int]


def place_by_identity(
    inputs: Sequence[Identity], answers: Sequence[Identity], scheme: IdentityScheme
) -> Placement:
    """Give each input the one answer that certainly belongs to it.

    :param inputs: the identity of each input.
    :param answers: the identity of each answered record.
    :param scheme: the key kinds and their rules.
    """
    placed: list[int | None] = [None] * len(inputs)
    used: set[int] = set()
    for kind in scheme.kinds:
        waiting: dict[str, list[int]] = defaultdict(list)
        offered: dict[str, list[int]] = defaultdict(list)
        for i, keys in enumerate(inputs):
            if placed[i] is None and kind in keys:
                waiting[keys[kind]].append(i)
        for j, keys in enumerate(answers):
            if j not in used and kind in keys:
                offered[keys[kind]].append(j)
        for value, claimants in waiting.items():
            candidates = offered.get(value, [])
            if len(candidates) != 1:
                continue  # none here, or several records with one key: not certain
            if len(claimants) > 1 and kind not in scheme.shared:
                continue  # two inputs, one record, and nothing says they are one person
            (j,) = candidates
            if any(scheme.conflict(inputs[i], answers[j]) for i in claimants):
                continue
            for i in claimants:
                placed[i] = j
            used.add(j)
    return Placement(placed, [j for j in range(len(answers)) if j not in used])


def match_records(
    inputs: Sequence[Identity], answered: Sequence[dict[str, Any]], scheme: IdentityScheme
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Each input's record (``None`` when not certain) and the records no input claimed.

    :param inputs: the identity of each input (see :func:`identity.person_identity`).
    :param answered: the records Apollo returned for them.
    :param scheme: how the records are recognised.
    """
    placement = place_by_identity(inputs, [scheme.identity(r) for r in answered], scheme)
    mine = [None if j is None else answered[j] for j in placement.answer_of_input]
    return mine, [answered[j] for j in placement.unplaced]


def order_like_inputs(
    inputs: Sequence[Mapping[str, Any]], answered: Sequence[dict[str, Any]], scheme: IdentityScheme
) -> tuple[list[dict[str, Any]], int]:
    """Answered records in the order of the inputs they certainly answer, the others last.

    Every answered record is returned once. Only the order says what belongs to what, and
    only for records placed by identity: callers that need one record per input use
    :func:`match_records`.

    :param inputs: what was sent.
    :param answered: Apollo's records.
    :param scheme: how the records are recognised.
    :return: the records and how many of them (at the end) no input claimed.
    """
    placement = place_by_identity(
        [scheme.identity(r) for r in inputs], [scheme.identity(r) for r in answered], scheme
    )
    order = list(dict.fromkeys(j for j in placement.answer_of_input if j is not None))
    return [answered[j] for j in order + placement.unplaced], len(placement.unplaced)
