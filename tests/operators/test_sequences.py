from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pendulum
import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.sequences import (
    ApolloAddToSequenceOperator,
    ApolloRemoveFromSequenceOperator,
    skipped_reasons,
)

SEQUENCES = [
    {"id": "s1", "name": "Sandbox Outreach", "archived": False},
    {"id": "s2", "name": "Sandbox Outreach 2", "archived": False},
    {"id": "d1", "name": "Duplicate Name", "archived": False},
    {"id": "d2", "name": "Duplicate name", "archived": False},
    {"id": "old", "name": "Revived", "archived": True},
    {"id": "new", "name": "Revived", "archived": False},
]
EMAIL_ACCOUNTS = [
    {"id": "ea1", "email": "sdr@sandbox.example.com", "aliases": ["sales@sandbox.example.com"]},
    {"id": "ea2", "email": "ae@sandbox.example.com"},
]


@pytest.fixture
def apollo(hook):
    """Sequences and mailboxes; enrolment keeps state so re-adding reports the contact as already in."""
    hook.iter_sequences.side_effect = lambda q_name=None, per_page=100: iter(
        [s for s in SEQUENCES if q_name is None or q_name.casefold() in s["name"].casefold()]
    )
    hook.list_email_accounts.return_value = EMAIL_ACCOUNTS
    enrolled: set[tuple[str, str]] = set()

    def add(sequence_id: str, contact_ids: Sequence[str], **kwargs: Any) -> dict[str, Any]:
        skipped = {}
        for contact_id in contact_ids:
            if contact_id.startswith("noemail"):
                skipped[contact_id] = "contact_has_no_email"
            elif (sequence_id, contact_id) in enrolled:
                skipped[contact_id] = "Contact is already in this campaign"
            else:
                enrolled.add((sequence_id, contact_id))
        return {"contacts": [{"id": c} for c in contact_ids], "skipped_contact_ids": skipped}

    hook.add_contacts_to_sequence.side_effect = add
    return hook


def test_names_resolve_once_and_contacts_are_added(apollo, attach, context, capsys):
    result = attach(
        ApolloAddToSequenceOperator(
            task_id="a",
            sequence_name="sandbox outreach",
            email_account="SDR@sandbox.example.com",
            contact_ids=[{"id": "c1", "email": "x"}, "c2", "noemail-3", "c2"],
            sequence_unverified_email=True,
        )
    ).execute(context)

    assert result == {
        "sequence_id": "s1",
        "added": ["c1", "c2"],
        "skipped": {"noemail-3": "contact_has_no_email"},
    }
    apollo.iter_sequences.assert_called_once_with(q_name="sandbox outreach")
    apollo.list_email_accounts.assert_called_once_with()
    apollo.add_contacts_to_sequence.assert_called_once_with(
        "s1",
        ["c1", "c2", "noemail-3"],
        email_account_id="ea1",
        sequence_no_email=False,
        sequence_unverified_email=True,
        sequence_job_change=False,
        sequence_active_in_other_campaigns=False,
        sequence_finished_in_other_campaigns=False,
        sequence_same_company_in_same_campaign=False,
        user_id=None,
    )
    assert (
        "Added 2 contacts to sequence sandbox outreach, skipped 1 (contact_has_no_email: 1)"
        in capsys.readouterr().out
    )


def test_rerun_enrols_nobody_twice(apollo, attach, context):
    def run() -> dict[str, Any]:
        return attach(
            ApolloAddToSequenceOperator(
                task_id="a", sequence_id="s1", email_account_id="ea2", contact_ids=["c1", "c2"]
            )
        ).execute(context)

    assert run()["added"] == ["c1", "c2"]
    second = run()
    assert second == {
        "sequence_id": "s1",
        "added": [],
        "skipped": {"c1": "already_in_sequence", "c2": "already_in_sequence"},
    }
    apollo.iter_sequences.assert_not_called()
    apollo.list_email_accounts.assert_not_called()


def test_contacts_go_in_batches_of_100(apollo, attach, context):
    ids = [f"c{i}" for i in range(230)]
    result = attach(
        ApolloAddToSequenceOperator(task_id="a", sequence_id="s1", email_account_id="ea1", contact_ids=ids)
    ).execute(context)
    assert [len(call.args[1]) for call in apollo.add_contacts_to_sequence.call_args_list] == [100, 100, 30]
    assert result["added"] == ids


def test_ambiguous_sequence_name_lists_the_candidates_with_ids(apollo, attach, context):
    op = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_name="Duplicate Name", email_account_id="ea1", contact_ids=["c"]
        )
    )
    with pytest.raises(ApolloConfigurationError) as raised:
        op.execute(context)
    assert "is ambiguous: 2 sequences" in str(raised.value)
    assert "(id d1)" in str(raised.value) and "(id d2)" in str(raised.value)
    apollo.add_contacts_to_sequence.assert_not_called()


def test_unknown_sequence_name_lists_near_names(apollo, attach, context):
    op = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_name="Sandbox", email_account_id="ea1", contact_ids=["c"]
        )
    )
    with pytest.raises(ApolloConfigurationError, match=r"matches no sequence.*'Sandbox Outreach' \(id s1\)"):
        op.execute(context)
    apollo.add_contacts_to_sequence.assert_not_called()


def test_an_unknown_name_lists_every_sequence_of_the_team_closest_first(apollo, attach, context):
    """A typo matches nothing in Apollo's partial search: the error still lists the candidates."""
    op = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_name="Sandbx Outrech", email_account_id="ea1", contact_ids=["c"]
        )
    )
    with pytest.raises(ApolloConfigurationError) as raised:
        op.execute(context)
    message = str(raised.value)
    assert "none" not in message
    listed = message.split("closest first: ")[1]
    assert listed.index("'Sandbox Outreach' (id s1)") < listed.index("'Duplicate Name' (id d1)")
    assert "'Revived' (id new)" in listed
    apollo.add_contacts_to_sequence.assert_not_called()


@pytest.mark.parametrize("contact_ids", [[], ()])
def test_no_contacts_sends_nothing_not_even_the_name_lookups(apollo, attach, context, contact_ids):
    """Empty input means no request, as documented: an unknown name is not even looked up."""
    result = attach(
        ApolloAddToSequenceOperator(
            task_id="a",
            sequence_name="No Such Sequence",
            email_account="x@y.example",
            contact_ids=contact_ids,
        )
    ).execute(context)
    assert result == {"sequence_id": None, "added": [], "skipped": {}}
    assert apollo.method_calls == []


def test_no_contacts_to_remove_sends_nothing(hook, attach, context):
    result = attach(
        ApolloRemoveFromSequenceOperator(task_id="r", sequence_ids="s1", contact_ids=[], mode="stop")
    ).execute(context)
    assert result == {"sequence_ids": ["s1"], "contact_ids": [], "mode": "stop"}
    assert hook.method_calls == []


def test_an_archived_namesake_does_not_make_a_name_ambiguous(apollo, attach, context):
    result = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_name="Revived", email_account_id="ea1", contact_ids=["c"]
        )
    ).execute(context)
    assert result["sequence_id"] == "new"


def test_email_account_by_alias_and_unknown_account(apollo, attach, context):
    found = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_id="s1", email_account="sales@sandbox.example.com", contact_ids=["c"]
        )
    ).execute(context)
    assert apollo.add_contacts_to_sequence.call_args.kwargs["email_account_id"] == "ea1"
    assert found["added"] == ["c"]

    op = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_id="s1", email_account="me@else.example", contact_ids=["c"]
        )
    )
    with pytest.raises(ApolloConfigurationError, match=r"'sdr@sandbox.example.com' \(id ea1\)"):
        op.execute(context)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"email_account_id": "ea1"}, "exactly one of sequence_id or sequence_name .neither"),
        ({"sequence_id": "s1", "sequence_name": "x", "email_account_id": "ea1"}, "sequence_name .both"),
        ({"sequence_id": "s1"}, "exactly one of email_account_id or email_account"),
        ({"sequence_id": "s1", "email_account_id": "ea1", "contact_ids": [None]}, r"contact_ids\[0\]"),
        ({"sequence_id": " ", "email_account_id": "ea1"}, "sequence_id must be a non-empty string"),
    ],
)
def test_add_arguments_are_checked_before_any_call(apollo, attach, context, kwargs, message):
    op = attach(ApolloAddToSequenceOperator(task_id="a", **{"contact_ids": ["c1"], **kwargs}))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert apollo.method_calls == []


def test_skipped_reasons_shapes():
    assert skipped_reasons({"skipped_contact_ids": ["a"]}) == {"a": "skipped"}
    assert skipped_reasons({"skipped_contact_ids": {"a": "Unverified email"}}) == {"a": "unverified_email"}
    assert skipped_reasons({"skipped_contact_ids": {"a": "already_in_campaign"}}) == {
        "a": "already_in_sequence"
    }
    assert skipped_reasons({"contacts": []}) == {}


def test_add_templates_names_and_contact_ids():
    op = ApolloAddToSequenceOperator(
        task_id="a",
        sequence_name="{{ params.seq }}",
        email_account="{{ params.sender }}",
        contact_ids="{{ params.c }}",
    )
    op.render_template_fields({"params": {"seq": "Sandbox Outreach", "sender": "sdr@x.example", "c": "c1"}})
    assert (op.sequence_name, op.email_account, op.contact_ids) == ("Sandbox Outreach", "sdr@x.example", "c1")


# ------------------------------------------------------------------------------- removal


def test_remove_in_batches_with_the_mode(hook, attach, context):
    ids = [f"c{i}" for i in range(120)]
    result = attach(
        ApolloRemoveFromSequenceOperator(
            task_id="r", sequence_ids="s1", contact_ids=ids, mode="mark_as_finished"
        )
    ).execute(context)
    assert result == {"sequence_ids": ["s1"], "contact_ids": ids, "mode": "mark_as_finished"}
    assert [
        (c.args[0], len(c.args[1]), c.kwargs) for c in hook.remove_contacts_from_sequences.call_args_list
    ] == [
        (["s1"], 100, {"mode": "mark_as_finished"}),
        (["s1"], 20, {"mode": "mark_as_finished"}),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequence_ids": ["s1"], "contact_ids": ["c"], "mode": "pause"}, "mode must be one of 'remove'"),
        ({"sequence_ids": [], "contact_ids": ["c"]}, "sequence_ids is empty"),
    ],
)
def test_remove_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    op = attach(ApolloRemoveFromSequenceOperator(task_id="r", **kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def _silent_rerun_answer(hook, added_at: str) -> None:
    """Apollo's real behaviour: already-enrolled contacts come back in ``contacts``, not skipped."""
    hook.add_contacts_to_sequence.side_effect = None
    hook.add_contacts_to_sequence.return_value = {
        "contacts": [
            {
                "id": "c1",
                "emailer_campaign_ids": ["s1"],
                "contact_campaign_statuses": [{"emailer_campaign_id": "s1", "added_at": added_at}],
            }
        ],
        "skipped_contact_ids": {},
    }


def test_already_enrolled_is_known_from_the_input_contact_record(hook, attach, context):
    _silent_rerun_answer(hook, added_at=pendulum.now("UTC").to_iso8601_string())
    record = {"id": "c1", "emailer_campaign_ids": ["s1"]}  # as ApolloCreateContactsOperator returns it
    result = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_id="s1", email_account_id="ea1", contact_ids=[record]
        )
    ).execute(context)
    assert result["skipped"] == {"c1": "already_in_sequence"}


def test_already_enrolled_is_known_from_the_enrolment_date_in_the_answer(hook, attach, context):
    _silent_rerun_answer(hook, added_at=pendulum.now("UTC").subtract(hours=20).to_iso8601_string())
    result = attach(
        ApolloAddToSequenceOperator(task_id="a", sequence_id="s1", email_account_id="ea1", contact_ids=["c1"])
    ).execute(context)
    assert result == {"sequence_id": "s1", "added": [], "skipped": {"c1": "already_in_sequence"}}


def test_an_enrolment_dated_now_is_an_addition(hook, attach, context):
    _silent_rerun_answer(hook, added_at=pendulum.now("UTC").to_iso8601_string())
    result = attach(
        ApolloAddToSequenceOperator(task_id="a", sequence_id="s1", email_account_id="ea1", contact_ids=["c1"])
    ).execute(context)
    assert result == {"sequence_id": "s1", "added": ["c1"], "skipped": {}}


def test_a_failed_enrolment_leaves_an_empty_link_not_a_missing_xcom(apollo, attach, context):
    """The link look-up after the failure finds [] (a greyed-out button), never "XCom not found"."""
    op = attach(
        ApolloAddToSequenceOperator(
            task_id="a", sequence_name="Q3 outbound", email_account_id="ea1", contact_ids=["c"]
        )
    )
    with pytest.raises(ApolloConfigurationError):
        op.execute(context)
    pushed = [call.kwargs for call in context["ti"].xcom_push.call_args_list]
    assert pushed == [{"key": "apollo_sequence_ids", "value": []}]


def test_remove_takes_sequence_records_as_the_other_id_arguments_do(hook, attach, context):
    result = attach(
        ApolloRemoveFromSequenceOperator(
            task_id="r", sequence_ids=[{"id": "s1", "name": "Sandbox Outreach"}], contact_ids=[{"id": "c1"}]
        )
    ).execute(context)
    assert result == {"sequence_ids": ["s1"], "contact_ids": ["c1"], "mode": "remove"}
    hook.remove_contacts_from_sequences.assert_called_once_with(["s1"], ["c1"], mode="remove")
