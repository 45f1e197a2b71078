"""Turning the names people write in DAGs (sequence, sender address, stage) into Apollo ids.

Each lookup runs once per task, compares case-insensitively and, when a name is unknown or
ambiguous, fails listing the candidates with their ids so the user can pick one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from typing import Any

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.hooks.apollo import ApolloHook

#: How many candidates an error message lists at most.
_LISTED = 15


def resolve_sequence_id(hook: ApolloHook, sequence_name: str) -> str:
    """The id of the one sequence called ``sequence_name``.

    Apollo's ``q_name`` search matches parts of names, so the exact (case-insensitive) match
    is picked from its answers. Two live sequences with the same name are ambiguous; an
    archived namesake of a live sequence is ignored.
    """
    candidates = list(hook.iter_sequences(q_name=sequence_name))
    exact = [s for s in candidates if _same(s.get("name"), sequence_name)]
    live = [s for s in exact if not s.get("archived")]
    chosen = live if live else exact
    if len(chosen) == 1:
        return str(chosen[0]["id"])
    if not chosen:
        # q_name's partial matches are often none (a typo, another word order): list all the
        # team's sequences (one more free search), closest first, as the stage error lists stages.
        team = list(hook.iter_sequences())
        listed = _listing(_closest_first(team, sequence_name), "name") or "none"
        raise ApolloConfigurationError(
            f"sequence_name={sequence_name!r} matches no sequence. The team's sequences, closest "
            f"first: {listed}. Pass one of these names (case does not matter) or sequence_id."
        )
    raise ApolloConfigurationError(
        f"sequence_name={sequence_name!r} is ambiguous: {len(chosen)} sequences have that name "
        f"({_listing(chosen, 'name')}). Pass sequence_id instead, or rename one of them in Apollo."
    )


def resolve_email_account_id(hook: ApolloHook, email_account: str) -> str:
    """The id of the mailbox that sends as ``email_account`` (its address or an alias)."""
    accounts = hook.list_email_accounts()
    matches = [
        account
        for account in accounts
        if _same(account.get("email"), email_account)
        or any(_same(alias, email_account) for alias in account.get("aliases") or ())
    ]
    if len(matches) == 1:
        return str(matches[0]["id"])
    if not matches:
        raise ApolloConfigurationError(
            f"email_account={email_account!r} is not one of the team's email accounts: "
            f"{_listing(accounts, 'email') or 'none'}. Connect the mailbox in Apollo or pass "
            "email_account_id."
        )
    raise ApolloConfigurationError(
        f"email_account={email_account!r} is ambiguous: {_listing(matches, 'email')}. Pass email_account_id."
    )


def resolve_contact_stage_id(hook: ApolloHook, contact_stage_name: str) -> str:
    """The id of the contact stage called ``contact_stage_name``."""
    stages = hook.list_contact_stages()
    matches = [stage for stage in stages if _same(stage.get("name"), contact_stage_name)]
    if len(matches) == 1:
        return str(matches[0]["id"])
    if not matches:
        names = ", ".join(repr(stage.get("name")) for stage in stages) or "none"
        raise ApolloConfigurationError(
            f"contact_stage_name={contact_stage_name!r} is not a contact stage of this team. "
            f"Stages: {names}. Pass one of these names or contact_stage_id."
        )
    raise ApolloConfigurationError(
        f"contact_stage_name={contact_stage_name!r} is ambiguous: {_listing(matches, 'name')}. "
        "Pass contact_stage_id."
    )


def _closest_first(records: Iterable[Mapping[str, Any]], name: str) -> list[Mapping[str, Any]]:
    """``records`` sorted by how close their ``name`` is to ``name`` (stable for ties)."""
    wanted = name.strip().casefold()

    def distance(record: Mapping[str, Any]) -> float:
        return -SequenceMatcher(None, wanted, str(record.get("name") or "").casefold()).ratio()

    return sorted(records, key=distance)


def _same(value: Any, name: str) -> bool:
    return isinstance(value, str) and value.strip().casefold() == name.strip().casefold()


def _listing(records: Iterable[Mapping[str, Any]], label_key: str) -> str:
    records = list(records)
    shown = ", ".join(f"{record.get(label_key)!r} (id {record.get('id')})" for record in records[:_LISTED])
    more = len(records) - _LISTED
    return shown + (f" and {more} more" if more > 0 else "")
