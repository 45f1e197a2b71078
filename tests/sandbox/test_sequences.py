"""Sequences: search, add_contact_ids with Apollo's skip rules (idempotent), remove/finish/stop."""

from __future__ import annotations

import pytest


@pytest.fixture
def world(sb):
    w = sb.state.world
    return {
        "outreach": next(s["id"] for s in w.sequences if s["name"] == "Sandbox Outreach"),
        "nurture": next(s["id"] for s in w.sequences if s["name"] == "Sandbox Nurture"),
        "mailbox": w.email_accounts[0]["id"],
        "verified": next(p for p in w.people if p["email_status"] == "verified"),
    }


def verified_contact(api, world, **extra):
    person = world["verified"]
    return api.new_contact(
        first_name=person["first_name"], last_name=person["last_name"], email=person["email"], **extra
    )


def add(api, sequence_id, contact_ids, mailbox, **flags):
    return api.post(
        f"/emailer_campaigns/{sequence_id}/add_contact_ids",
        json={
            "contact_ids": contact_ids,
            "emailer_campaign_id": sequence_id,
            "send_email_from_email_account_id": mailbox,
            **flags,
        },
    )


def test_search_by_name_finds_both_duplicate_names(api):
    body = api.post("/emailer_campaigns/search", json={"q_name": "duplicate name"}).json()

    assert [s["name"] for s in body["emailer_campaigns"]] == ["Duplicate Name", "Duplicate Name"]
    assert body["pagination"]["total_entries"] == 2
    assert len(api.post("/emailer_campaigns/search", json={}).json()["emailer_campaigns"]) == 4


def test_add_answers_the_documented_shape_and_re_adding_is_a_no_op(sb, api, world):
    contact = verified_contact(api, world)

    first = add(api, world["outreach"], [contact["id"]], world["mailbox"]).json()
    again = add(api, world["outreach"], [contact["id"]], world["mailbox"]).json()

    assert set(first) >= {
        "contacts",
        "emailer_campaign",
        "emailer_steps",
        "emailer_touches",
        "skipped_contact_ids",
    }
    assert [c["id"] for c in first["contacts"]] == [contact["id"]]
    assert first["contacts"][0]["emailer_campaign_ids"] == [world["outreach"]]
    assert first["emailer_campaign"]["num_contacts"] == 1
    assert again["skipped_contact_ids"] == {}
    assert sb.stats()["sequence_enrolments"] == {"total": 1, "duplicates": 0}


def test_mailbox_is_required_and_must_exist(api, world):
    contact = verified_contact(api, world)

    missing = api.post(
        f"/emailer_campaigns/{world['outreach']}/add_contact_ids", json={"contact_ids": [contact["id"]]}
    )
    unknown = add(api, world["outreach"], [contact["id"]], "not-a-mailbox")
    bad_sequence = add(api, "not-a-sequence", [contact["id"]], world["mailbox"])

    assert missing.status_code == 422
    assert "send_email_from_email_account_id" in missing.json()["error"]
    assert unknown.status_code == bad_sequence.status_code == 422


def test_emailer_campaign_id_is_required_and_must_name_the_path_sequence(sb, api, world):
    # api-reference-legacy.txt: "emailer_campaign_id (required)"; the current reference: "The
    # same ID as the sequence_id".
    contact = verified_contact(api, world)
    url = f"/emailer_campaigns/{world['outreach']}/add_contact_ids"
    body = {"contact_ids": [contact["id"]], "send_email_from_email_account_id": world["mailbox"]}

    missing = api.post(url, json=body)
    other = api.post(url, json={**body, "emailer_campaign_id": world["nurture"]})

    assert missing.status_code == other.status_code == 422
    assert "emailer_campaign_id" in missing.json()["error"]
    assert world["nurture"] in other.json()["error"]
    assert sb.stats()["sequence_enrolments"]["total"] == 0


@pytest.mark.parametrize("missing", ["emailer_campaign_ids", "contact_ids", "mode"])
def test_remove_or_stop_without_a_required_field_is_a_422(api, world, missing):
    body = {"emailer_campaign_ids": [world["outreach"]], "contact_ids": ["c1"], "mode": "remove"}
    del body[missing]

    answer = api.post("/emailer_campaigns/remove_or_stop_contact_ids", json=body)

    assert answer.status_code == 422
    assert missing in answer.json()["error"]


def test_skip_rules_no_email_and_unverified_email_unless_flagged(sb, api, world):
    no_email = api.new_contact(first_name="No", last_name="Email")
    unverified = api.new_contact(first_name="Un", last_name="Verified", email="un@verified.example.org")

    skipped = add(api, world["outreach"], [no_email["id"], unverified["id"]], world["mailbox"]).json()
    forced = add(
        api,
        world["outreach"],
        [no_email["id"], unverified["id"]],
        world["mailbox"],
        sequence_no_email=True,
        sequence_unverified_email=True,
    ).json()

    assert skipped["skipped_contact_ids"] == {
        no_email["id"]: "no_email",
        unverified["id"]: "unverified_email",
    }
    assert skipped["contacts"] == []
    assert forced["skipped_contact_ids"] == {}
    assert sb.stats()["sequence_enrolments"]["total"] == 2


def test_skip_rules_active_or_finished_in_another_sequence(api, world):
    contact = verified_contact(api, world)
    add(api, world["outreach"], [contact["id"]], world["mailbox"])

    while_active = add(api, world["nurture"], [contact["id"]], world["mailbox"]).json()
    api.post(
        "/emailer_campaigns/remove_or_stop_contact_ids",
        json={
            "emailer_campaign_ids": [world["outreach"]],
            "contact_ids": [contact["id"]],
            "mode": "mark_as_finished",
        },
    )
    after_finish = add(api, world["nurture"], [contact["id"]], world["mailbox"]).json()
    allowed = add(
        api, world["nurture"], [contact["id"]], world["mailbox"], sequence_finished_in_other_campaigns=True
    ).json()

    assert while_active["skipped_contact_ids"] == {contact["id"]: "active_in_other_campaigns"}
    assert after_finish["skipped_contact_ids"] == {contact["id"]: "finished_in_other_campaigns"}
    assert [c["id"] for c in allowed["contacts"]] == [contact["id"]]


def test_remove_and_stop_modes(sb, api, world):
    contact = verified_contact(api, world)
    add(api, world["outreach"], [contact["id"]], world["mailbox"])
    body = {"emailer_campaign_ids": [world["outreach"]], "contact_ids": [contact["id"]]}

    stopped = api.post("/emailer_campaigns/remove_or_stop_contact_ids", json={**body, "mode": "stop"}).json()
    removed = api.post(
        "/emailer_campaigns/remove_or_stop_contact_ids", json={**body, "mode": "remove"}
    ).json()
    bad_mode = api.post("/emailer_campaigns/remove_or_stop_contact_ids", json={**body, "mode": "delete"})

    assert stopped["contacts"][0]["contact_campaign_statuses"][0]["status"] == "paused"
    assert set(stopped) >= {
        "contacts",
        "emailer_campaigns",
        "num_contacts",
        "contact_statuses",
        "emailer_steps",
    }
    assert removed["contacts"][0]["contact_campaign_statuses"] == []
    assert removed["contacts"][0]["emailer_campaign_ids"] == []
    assert bad_mode.status_code == 422
    assert sb.stats()["sequence_enrolments"]["total"] == 0
