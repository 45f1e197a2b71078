from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from airflow_provider_apollo.exceptions import ApolloConfigurationError
from airflow_provider_apollo.operators.contacts import (
    ApolloCreateContactsOperator,
    ApolloUpdateContactStageOperator,
    contact_fields,
)

ENRICHED_PERSON = {
    "id": "person-1",
    "first_name": "Ann",
    "last_name": "Lee",
    "title": "VP Sales",
    "email": "ann@acme.example",
    "linkedin_url": "http://www.linkedin.com/in/annlee",
    "city": "Berlin",
    "country": "Germany",
    "phone_numbers": [{"raw_number": "+49 30 1234", "sanitized_number": "+49301234", "type": "work_hq"}],
    "organization": {
        "name": "Acme",
        "website_url": "http://www.acme.example",
        "primary_domain": "acme.example",
    },
}


def _bulk_create(hook: Any) -> None:
    """Apollo's bulk create with run_dedupe: one record per input, ids from the email."""

    def create(contacts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True) -> list[dict[str, Any]]:
        hook.requests_sent += 1
        return [{"id": f"c-{c.get('email') or c.get('last_name')}", **c} for c in contacts]

    hook.bulk_create_contacts.side_effect = create


def test_contact_fields_from_an_enriched_person():
    assert contact_fields(ENRICHED_PERSON) == {
        "first_name": "Ann",
        "last_name": "Lee",
        "title": "VP Sales",
        "email": "ann@acme.example",
        "organization_name": "Acme",
        "website_url": "http://www.acme.example",
        "linkedin_url": "http://www.linkedin.com/in/annlee",
        "present_raw_address": "Berlin, Germany",
        # The only number is the company switchboard: a corporate phone, never a direct dial.
        "corporate_phone": "+49301234",
    }


def test_locked_email_placeholder_is_not_stored():
    person = {
        **ENRICHED_PERSON,
        "email": "email_not_unlocked@domain.com",
        "organization": {"primary_domain": "a.io"},
    }
    fields = contact_fields(person)
    assert "email" not in fields
    assert fields["website_url"] == "https://a.io"


def test_enrichment_results_become_contacts_in_input_order(hook, attach, context, capsys):
    _bulk_create(hook)
    existing = {"id": "c-old", "email": "old@acme.example"}
    results = [
        {"status": "matched", "input": {"email": "ann@acme.example"}, "person": ENRICHED_PERSON},
        {"status": "not_found", "input": {"email": "x@acme.example"}, "person": None},
        {"status": "existing_contact", "input": {"email": "old@acme.example"}, "person": existing},
        {"status": "skipped_budget", "input": {"email": "y@acme.example"}, "person": None},
        {"email": "plain@acme.example", "first_name": "Pat"},
    ]

    records = attach(
        ApolloCreateContactsOperator(task_id="c", contacts=results, label_names=["Q1 prospects"])
    ).execute(context)

    assert [r["id"] for r in records] == ["c-ann@acme.example", "c-old", "c-plain@acme.example"]
    sent = hook.bulk_create_contacts.call_args.args[0]
    assert [c["email"] for c in sent] == ["ann@acme.example", "plain@acme.example"]
    assert all(c["label_names"] == ["Q1 prospects"] for c in sent)
    assert hook.bulk_create_contacts.call_args.kwargs == {"run_dedupe": True}
    assert (
        "Saved 3 contacts: 2 sent to Apollo (created or matched by dedupe), 1 already contacts, "
        "2 inputs skipped (not found or over budget), 0 refused for an invalid email, 0 not matched "
        "to Apollo's answer; 0 credits spent in 1 call." in capsys.readouterr().out
    )


def test_only_existing_contacts_means_no_request(hook, attach, context):
    existing = {"id": "c-old"}
    records = attach(
        ApolloCreateContactsOperator(
            task_id="c", contacts=[{"status": "existing_contact", "input": {}, "person": existing}]
        )
    ).execute(context)
    assert records == [existing]
    assert hook.method_calls == []


def test_same_email_twice_is_sent_once(hook, attach, context):
    _bulk_create(hook)
    contacts = [{"email": "a@acme.example"}, {"email": "b@acme.example"}, {"email": "A@acme.example"}]

    records = attach(ApolloCreateContactsOperator(task_id="c", contacts=contacts)).execute(context)

    assert [c["email"] for c in hook.bulk_create_contacts.call_args.args[0]] == [
        "a@acme.example",
        "b@acme.example",
    ]
    assert [r["id"] for r in records] == ["c-a@acme.example", "c-b@acme.example", "c-a@acme.example"]


def test_stage_name_resolves_once(hook, attach, context):
    _bulk_create(hook)
    hook.list_contact_stages.return_value = [
        {"id": "st1", "name": "Cold"},
        {"id": "st2", "name": "Approaching"},
    ]

    attach(
        ApolloCreateContactsOperator(
            task_id="c",
            contacts=[{"email": "a@acme.example"}, {"email": "b@acme.example"}],
            contact_stage_name="cold",
        )
    ).execute(context)

    hook.list_contact_stages.assert_called_once_with()
    assert {c["contact_stage_id"] for c in hook.bulk_create_contacts.call_args.args[0]} == {"st1"}


def test_unknown_stage_name_lists_the_stages(hook, attach, context):
    hook.list_contact_stages.return_value = [{"id": "st1", "name": "Cold"}]
    op = attach(
        ApolloCreateContactsOperator(
            task_id="c", contacts=[{"email": "a@acme.example"}], contact_stage_name="Warm"
        )
    )
    with pytest.raises(ApolloConfigurationError, match=r"contact_stage_name='Warm' .* Stages: 'Cold'"):
        op.execute(context)
    hook.bulk_create_contacts.assert_not_called()


def test_run_dedupe_false_is_passed_and_warned_about(hook, attach, context, capsys):
    _bulk_create(hook)
    attach(
        ApolloCreateContactsOperator(task_id="c", contacts=[{"email": "a@acme.example"}], run_dedupe=False)
    ).execute(context)
    assert hook.bulk_create_contacts.call_args.kwargs == {"run_dedupe": False}
    assert "a retried task will create duplicates" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contacts": [{"title": "CTO"}]}, r"contacts\[0\] needs an email or a name"),
        (
            {"contacts": [{"status": "maybe", "input": {}, "person": None}]},
            r"contacts\[0\] has status 'maybe'",
        ),
        ({"contacts": [{"status": "matched", "input": {}, "person": None}]}, r"contacts\[0\] is matched but"),
        ({"contacts": ["a@acme.example"]}, r"contacts\[0\] must be a mapping"),
        (
            {
                "contacts": [{"email": "a@acme.example"}],
                "contact_stage_id": "s",
                "contact_stage_name": "Cold",
            },
            "exactly one of contact_stage_id or contact_stage_name",
        ),
        ({"contacts": [{"email": "a@acme.example"}], "label_names": [""]}, r"label_names\[0\]"),
    ],
)
def test_create_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    op = attach(ApolloCreateContactsOperator(task_id="c", **kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_create_output_path(hook, attach, context, tmp_path):
    _bulk_create(hook)
    target = tmp_path / "contacts.jsonl"
    result = attach(
        ApolloCreateContactsOperator(
            task_id="c",
            contacts=[{"email": "a@acme.example"}, {"status": "not_found", "input": {}, "person": None}],
            output_path=str(target),
        )
    ).execute(context)
    assert result == {
        "path": str(target),
        "count": 1,
        "sent": 1,
        "existing_contact": 0,
        "skipped": 1,
        "invalid_email": 0,
        "unmatched": 0,
    }
    assert json.loads(target.read_text())["id"] == "c-a@acme.example"


def test_create_templates_contacts_and_labels():
    op = ApolloCreateContactsOperator(
        task_id="c", contacts=[{"email": "{{ params.e }}"}], label_names=["prospects-{{ ds }}"]
    )
    op.render_template_fields({"params": {"e": "a@acme.example"}, "ds": "2026-03-01"})
    assert op.contacts == [{"email": "a@acme.example"}]
    assert op.label_names == ["prospects-2026-03-01"]


# ------------------------------------------------------------------------- contact stages


def test_stage_update_by_name_in_batches_of_100(hook, attach, context):
    hook.list_contact_stages.return_value = [{"id": "st2", "name": "Approaching"}]
    ids = [f"c{i}" for i in range(150)]
    records = [{"id": i} for i in ids[:50]]

    result = attach(
        ApolloUpdateContactStageOperator(
            task_id="u", contact_ids=[*records, *ids[50:]], contact_stage_name="APPROACHING"
        )
    ).execute(context)

    assert result == {"contact_stage_id": "st2", "contact_ids": ids}
    assert [call.args for call in hook.update_contact_stages.call_args_list] == [
        (ids[:100], "st2"),
        (ids[100:], "st2"),
    ]


def test_stage_update_by_id_needs_no_lookup(hook, attach, context):
    attach(ApolloUpdateContactStageOperator(task_id="u", contact_ids="c1", contact_stage_id="st1")).execute(
        context
    )
    hook.list_contact_stages.assert_not_called()
    hook.update_contact_stages.assert_called_once_with(["c1"], "st1")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"contact_ids": ["c1"]}, "exactly one of contact_stage_id or contact_stage_name"),
        ({"contact_ids": [{"name": "x"}], "contact_stage_id": "s"}, r"contact_ids\[0\] must be a contact id"),
        (
            {
                "contact_ids": [{"status": "matched", "input": {}, "person": {"id": "p"}}],
                "contact_stage_id": "s",
            },
            "is an enrichment result, not a contact",
        ),
    ],
)
def test_stage_update_arguments_are_checked_before_any_call(hook, attach, context, kwargs, message):
    op = attach(ApolloUpdateContactStageOperator(task_id="u", **kwargs))
    with pytest.raises(ApolloConfigurationError, match=message):
        op.execute(context)
    assert hook.method_calls == []


def test_an_answer_missing_a_record_leaves_that_input_unmatched_not_misaligned(hook, attach, context, capsys):
    # Apollo answered one record for two inputs: the record goes to the input it is, by
    # email; the other input gets no record and the status "unmatched", with a warning.
    hook.bulk_create_contacts.return_value = [{"id": "c-b", "email": "b@x.example"}]
    op = attach(
        ApolloCreateContactsOperator(
            task_id="c", contacts=[{"email": "a@x.example"}, {"email": "b@x.example"}]
        )
    )
    records = op.execute(context)

    assert records == [{"id": "c-b", "email": "b@x.example"}]
    pushed = {call.kwargs["key"]: call.kwargs["value"] for call in context["ti"].xcom_push.call_args_list}
    assert pushed["input_statuses"] == [
        {"index": 0, "status": "unmatched", "contact_id": None},
        {"index": 1, "status": "saved", "contact_id": "c-b"},
    ]
    assert pushed["apollo_contact_ids"] == ["c-b"]  # what the task's "Apollo contacts" link opens
    assert "contacts[0] were sent but no record of Apollo's answer matches them" in capsys.readouterr().out
