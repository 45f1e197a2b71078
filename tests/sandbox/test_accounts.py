"""Accounts: create with dedupe by domain, view, update, search, bulk endpoints, owners, stages."""

from __future__ import annotations


def create(api, **fields):
    response = api.post("/accounts", json=fields)
    assert response.status_code == 200, response.text
    return response.json()["account"]


def test_create_answers_the_documented_shape_and_links_the_organization(sb, api):
    org = sb.state.world.organizations[1]

    body = api.post("/accounts", json={"name": "Their Name", "domain": org["primary_domain"]}).json()

    assert set(body) == {"account", "team"}
    account = body["account"]
    assert set(account) >= {
        "id",
        "domain",
        "name",
        "team_id",
        "organization_id",
        "account_stage_id",
        "source",
        "owner_id",
        "created_at",
        "label_ids",
    }
    assert account["organization_id"] == org["id"]
    assert account["name"] == "Their Name"


def test_dedupe_by_domain_only_when_asked(sb, api):
    first = create(api, name="Google", domain="google.example.com")

    deduped = create(api, name="Alphabet", domain="GOOGLE.example.com", run_dedupe=True)
    duplicate = create(api, name="Google", domain="google.example.com")

    assert deduped["id"] == first["id"]
    assert duplicate["id"] != first["id"]
    assert sb.stats()["accounts"]["total"] == 2


def test_get_patch_search_and_unknown_id(api):
    account = create(api, name="Acme", domain="acme.example.org")
    create(api, name="Other", domain="other.example.org")

    patched = api.patch(f"/accounts/{account['id']}", json={"name": "Acme Corp"}).json()["account"]
    fetched = api.get(f"/accounts/{account['id']}").json()["account"]
    found = api.post("/accounts/search", json={"q_organization_name": "acme"}).json()

    assert patched["name"] == fetched["name"] == "Acme Corp"
    assert [a["id"] for a in found["accounts"]] == [account["id"]]
    assert found["pagination"]["total_entries"] == 1
    assert api.get("/accounts/000000000000000000000000").status_code == 422


def test_bulk_create_bulk_update_and_owners(sb, api):
    existing = create(api, name="Existing", domain="existing.example.org")
    stage = sb.state.world.account_stages[1]["id"]

    bulk = api.post(
        "/accounts/bulk_create",
        json={
            "run_dedupe": True,
            "accounts": [
                {"name": "Existing", "domain": "existing.example.org"},
                {"name": "Fresh", "domain": "fresh.example.org"},
            ],
        },
    ).json()
    updated = api.post(
        "/accounts/bulk_update", json={"account_ids": [existing["id"]], "account_stage_id": stage}
    ).json()
    owned = api.post(
        "/accounts/update_owners",
        json={"account_ids": [existing["id"]], "owner_id": sb.state.world.user["id"]},
    )

    assert [a["id"] for a in bulk["existing_accounts"]] == [existing["id"]]
    assert [a["name"] for a in bulk["created_accounts"]] == ["Fresh"]
    assert updated["accounts"][0]["account_stage_id"] == stage
    assert owned.json()["accounts"][0]["owner_id"] == sb.state.world.user["id"]
    assert (
        api.post(
            "/accounts/bulk_update", json={"account_ids": [existing["id"]], "account_stage_id": "bad"}
        ).status_code
        == 422
    )


def test_account_stages(api):
    stages = api.get("/account_stages").json()["account_stages"]

    assert stages[0]["name"] == "Cold"
    assert set(stages[0]) >= {"id", "team_id", "display_name", "name", "display_order", "category"}


def test_search_filters_by_account_label_ids(sb, api):
    tagged = api.post(
        "/accounts", json={"name": "Tagged", "domain": "tagged.example.org", "label_names": ["ICP"]}
    )
    api.post("/accounts", json={"name": "Plain", "domain": "plain.example.org"})
    label_ids = tagged.json()["account"]["label_ids"]

    found = api.post("/accounts/search", json={"account_label_ids": label_ids}).json()

    assert label_ids
    assert [a["name"] for a in found["accounts"]] == ["Tagged"]
