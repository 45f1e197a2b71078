"""Opportunities, users, mailboxes, labels, custom fields."""

from __future__ import annotations


def test_opportunity_create_get_update_search_and_stages(sb, api):
    stages = api.get("/opportunity_stages").json()["opportunity_stages"]
    won = next(s for s in stages if s["name"] == "Closed Won")
    account = api.post("/accounts", json={"name": "Buyer", "domain": "buyer.example.org"}).json()["account"]

    created = api.post(
        "/opportunities",
        json={"name": "Big deal", "amount": "200", "account_id": account["id"], "closed_date": "2026-12-18"},
    ).json()["opportunity"]
    updated = api.patch(f"/opportunities/{created['id']}", json={"opportunity_stage_id": won["id"]}).json()[
        "opportunity"
    ]
    fetched = api.get(f"/opportunities/{created['id']}").json()["opportunity"]
    listed = api.get("/opportunities/search").json()

    assert created["amount"] == 200.0
    assert set(created) >= {
        "id",
        "team_id",
        "owner_id",
        "amount",
        "closed_date",
        "account_id",
        "is_closed",
        "is_won",
        "name",
        "stage_name",
        "opportunity_stage_id",
        "created_at",
    }
    assert updated["stage_name"] == fetched["stage_name"] == "Closed Won"
    assert fetched["is_won"] is True
    assert [o["id"] for o in listed["opportunities"]] == [created["id"]]
    assert api.post("/opportunities", json={"name": "x", "account_id": "nope"}).status_code == 422
    assert api.get("/opportunities/nope").status_code == 422


def test_users_mailboxes_labels_and_fields(sb, api):
    api.new_contact(first_name="Tagged", label_names=["Hot Lead"])

    users = api.get("/users/search").json()
    mailboxes = api.get("/email_accounts").json()["email_accounts"]
    labels = api.get("/labels").json()
    typed = api.get("/typed_custom_fields").json()["typed_custom_fields"]
    fields = api.get("/fields").json()["fields"]

    assert [u["email"] for u in users["users"]] == ["owner@sandbox.example.com"]
    assert users["pagination"]["total_entries"] == 1
    assert [m["email"] for m in mailboxes] == ["sdr@sandbox.example.com", "ae@sandbox.example.com"]
    assert isinstance(labels, list)  # Apollo answers a bare array here
    assert "Hot Lead" in {label["name"] for label in labels}
    assert typed == fields and {f["modality"] for f in fields} == {"contact", "account"}


def test_usage_stats_count_each_method_of_a_route_under_its_own_action(sb, api):
    contact = api.new_contact(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    api.get(f"/contacts/{contact['id']}")
    api.get(f"/contacts/{contact['id']}")
    api.patch(f"/contacts/{contact['id']}", json={"title": "CTO"})
    api.post("/tasks/search", json={})

    usage = api.post("/usage_stats/api_usage_stats", json={}).json()

    assert usage['["api/v1/contacts", "create"]']["minute"]["consumed"] == 1
    assert usage['["api/v1/contacts", "show"]']["minute"]["consumed"] == 2
    assert usage['["api/v1/contacts", "update"]']["minute"]["consumed"] == 1
    # GET and POST tasks/search share Apollo's key: their usage adds up instead of overwriting.
    assert usage['["api/v1/tasks", "search"]']["minute"]["consumed"] == 1
