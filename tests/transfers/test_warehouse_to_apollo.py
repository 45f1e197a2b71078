"""The warehouse -> Apollo upsert against the sandbox, from SQLite and a real PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_apollo._warehouse.sql import SqlDestination
from airflow_provider_apollo.exceptions import ApolloConfigurationError, ApolloError
from airflow_provider_apollo.hooks.apollo import ApolloHook
from airflow_provider_apollo.sandbox.faults import SandboxFaults
from airflow_provider_apollo.transfers.warehouse_to_apollo import RESULT_XCOM_KEY, ApolloUpsertOperator
from tests.transfers.prospects import CONTACT_MAP, prospects, write_table, writes
from tests.transfers.truth import truth

if TYPE_CHECKING:
    from airflow_provider_apollo.sandbox import ApolloSandbox

SELECT = "SELECT * FROM {table} ORDER BY prospect_id"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApolloSandbox]:
    """A sandbox CRM of 400 contacts, 40 accounts and 3 users, as ``apollo_default``."""
    from airflow_provider_apollo.sandbox import ApolloSandbox

    with ApolloSandbox(seed=18, people=200, crm_contacts=400, crm_accounts=40, crm_users=3) as box:
        monkeypatch.setenv("AIRFLOW_CONN_APOLLO_DEFAULT", box.connection_json)
        yield box


def owners() -> list[str]:
    return [u["email"] for u in ApolloHook().list_users()]


def upsert(table: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("field_map", CONTACT_MAP)
    kwargs.setdefault("match_on", "email")
    operator = ApolloUpsertOperator(
        task_id="upsert", object=kwargs.pop("object", "contacts"), sql=SELECT.format(table=table), **kwargs
    )
    result: dict[str, Any] = operator.execute({"ti": MagicMock(try_number=1), "run_id": "test"})
    return result


def assert_apollo_matches(sandbox: ApolloSandbox, rows: list[dict[str, Any]]) -> None:
    """Every mapped field of every row is what Apollo holds, and each email is one contact."""
    hook = ApolloHook()
    stages = {s["name"]: s["id"] for s in hook.list_contact_stages()}
    users = {u["email"]: u["id"] for u in hook.list_users()}
    labels = {lb["name"]: lb["id"] for lb in hook.list_labels() if lb["modality"] == "contacts"}
    fields = {f["name"]: f["id"] for f in hook.list_custom_fields() if f["modality"] == "contact"}
    contacts = truth(sandbox.base_url, "contacts")["live"]
    by_email = Counter(str(c["email"]).lower() for c in contacts if c["email"])
    index = {str(c["email"]).lower(): c for c in contacts if c["email"]}
    mismatches = []
    for row in rows:
        assert by_email[row["email"]] == 1, row["email"]
        contact = index[row["email"]]
        custom = contact["typed_custom_fields"]
        expected = {
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "title": row["title"],
            "contact_stage_id": stages[row["lifecycle_stage"]],
            "owner_id": users[row["owner_email"]],
            "lead_source": row["lead_source"],
            "icp_score": row["icp_score"],
        }
        actual = {
            **{k: contact[k] for k in ("first_name", "last_name", "title", "contact_stage_id", "owner_id")},
            "lead_source": custom.get(fields["Lead Source"]),
            "icp_score": custom.get(fields["ICP Score"]),
        }
        if expected != actual or (row["tags"] and labels[row["tags"]] not in contact["label_ids"]):
            mismatches.append((row["email"], expected, actual))
    assert mismatches == []


@pytest.mark.slow  # a seeded sandbox CRM and a warehouse table
def test_two_thousand_rows_then_a_rerun_then_a_hundred_changes(
    sandbox: ApolloSandbox, warehouse: SqlDestination, tmp_path: Path
) -> None:
    existing = [c["email"] for c in truth(sandbox.base_url, "contacts")["live"] if c["email"]][:300]
    rows = prospects(2000, owners(), existing)
    bad = [
        {**rows[0], "prospect_id": "X01", "email": "not-an-email"},
        {**rows[1], "prospect_id": "X02", "email": "x2@bad.example.org", "lifecycle_stage": "Nope"},
        {**rows[2], "prospect_id": "X03", "email": "x3@bad.example.org", "owner_email": "ghost@nowhere.io"},
        {
            **rows[3],
            "prospect_id": "X04",
            "email": "x4@bad.example.org",
            "icp_score": None,
            "lead_source": None,
        },
        {**rows[4], "prospect_id": "X05", "email": None},
        {**rows[5], "prospect_id": "X06", "email": rows[5]["email"]},  # the same person twice
        {**rows[6], "prospect_id": "X07", "email": "x7@bad.example.org", "tags": "No Such Label"},
        {**rows[7], "prospect_id": "X08", "email": "x8@@bad"},
        {**rows[8], "prospect_id": "X09", "email": "x9@bad.example.org", "lifecycle_stage": "Coldd"},
        {**rows[9], "prospect_id": "X10", "email": "x10@bad.example.org", "owner_email": "nobody@x.org"},
    ]
    bad[3]["lifecycle_stage"] = "Unknown stage"
    table = write_table(warehouse, rows + bad)
    report = tmp_path / "report.jsonl"

    before = sandbox.stats()
    first = upsert(table, report_path=str(report))
    assert (first["rows"], first["invalid"], first["failed"]) == (2010, 10, 0)
    assert first["created"] == 1700 and first["created"] + first["updated"] + first["unchanged"] == 2000
    sent = writes(sandbox.stats(), before)
    assert sent["POST /api/v1/contacts/bulk_create"] == 17  # 1,700 new in batches of 100
    assert_apollo_matches(sandbox, rows)

    results = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(results) == 2010 and [r["row"] for r in results] == list(range(1, 2011))
    invalid = {r["key"] or r["row"]: (r["column"], r["reason"]) for r in results if r["status"] == "invalid"}
    assert invalid["not-an-email"] == (
        "email",
        "'not-an-email' is not an email address: it does not have exactly one '@'",
    )
    assert invalid["x2@bad.example.org"][0] == "lifecycle_stage"
    assert invalid["x3@bad.example.org"][0] == "owner_email"
    assert invalid[2005] == ("email", "the match key (email) is empty")
    assert "repeats row 6" in invalid[rows[5]["email"]][1]
    assert invalid["x7@bad.example.org"] == ("tags", "Apollo has no contacts label named 'No Such Label'")
    assert not any(r["key"] and "bad" in r["key"] for r in results if r["status"] != "invalid")

    before = sandbox.stats()
    again = upsert(table)
    assert writes(sandbox.stats(), before) == {}
    assert (again["unchanged"], again["writes"], again["invalid"]) == (2000, 0, 10)

    warehouse.execute(
        f"UPDATE {table} SET title = 'Chief Data Officer' WHERE prospect_id IN "
        f"(SELECT prospect_id FROM {table} WHERE prospect_id < 'X' "
        "ORDER BY prospect_id LIMIT 100 OFFSET 250)"
    )
    changed = {r["email"] for r in rows[250:350]}
    report_table = warehouse.qualified("upsert_report")
    before = sandbox.stats()
    third = upsert(table, report_table=report_table, report_conn_id="apollo_warehouse")
    assert writes(sandbox.stats(), before) == {"POST /api/v1/contacts/bulk_update": 1}
    assert (third["updated"], third["unchanged"], third["created"]) == (100, 1900, 0)
    updated = warehouse.execute(
        f"SELECT match_key, changed FROM {report_table} "
        "WHERE status = 'updated' AND run_id = 'test' AND task_id = 'upsert'"
    )
    assert {r[0] for r in updated} == changed and {r[1] for r in updated} == {"title"}
    assert_apollo_matches(
        sandbox, [{**r, "title": "Chief Data Officer"} if r["email"] in changed else r for r in rows]
    )


@pytest.mark.slow  # a seeded sandbox CRM and a warehouse table
def test_lost_answers_mid_run_create_no_duplicate(sandbox: ApolloSandbox, warehouse: SqlDestination) -> None:
    rows = prospects(600, owners())
    table = write_table(warehouse, rows)
    # Half the creates land and then lose their answer: the upsert must look before resending.
    sandbox.configure(
        faults=SandboxFaults(seed=4, commit_then_drop=0.5, endpoints=["*/contacts/bulk_create"])
    )
    result = upsert(table)
    sandbox.configure(faults=SandboxFaults())
    assert (result["created"], result["failed"]) == (600, 0)
    assert_apollo_matches(sandbox, rows)  # one contact per email
    assert sandbox.stats()["faults"]["by_kind"].get("commit_then_drop", 0) >= 2  # answers were lost


@pytest.mark.slow  # a seeded sandbox CRM and a warehouse table
def test_dry_run_plans_without_writing(sandbox: ApolloSandbox, warehouse: SqlDestination) -> None:
    existing = [c["email"] for c in truth(sandbox.base_url, "contacts")["live"] if c["email"]][:20]
    table = write_table(warehouse, prospects(120, owners(), existing))
    before = sandbox.stats()
    plan = upsert(table, dry_run="True")
    assert writes(sandbox.stats(), before) == {}
    assert plan["dry_run"] is True and plan["would_create"] == 100 and plan["writes"] == 0
    assert plan["would_update"] + plan["unchanged"] == 20
    assert len(plan["sample"]["create"]) == 5 and plan["sample"]["create"][0]["fields"]["email"]
    assert plan["sample"]["update"] and "title" in plan["sample"]["update"][0]["changes"]


@pytest.mark.slow  # a seeded sandbox CRM and a warehouse table
def test_accounts_by_domain(sandbox: ApolloSandbox, warehouse: SqlDestination) -> None:
    """Domains are matched as hosts; bad cells are invalid; a changed stage is the only write."""
    table = warehouse.qualified("companies")
    warehouse.ensure_schema()
    warehouse.execute(f"CREATE TABLE {table} (domain TEXT, name TEXT, stage TEXT, renewal TEXT, phone TEXT)")
    values = [
        (f"https://www.acme{n}.example.com/", f"Acme {n}", "Current Client", "2027-03-01", None)
        for n in range(150)
    ]
    values += [
        ("nodot", "Bad", "Cold", None, None),
        ("ok.example.net", "Renewal typo", "Cold", "someday", None),
    ]
    marks = ", ".join([warehouse.placeholder] * 5)
    cursor = warehouse.connection.cursor()
    cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    warehouse.connection.commit()
    account_map = {"domain": "domain", "name": "name", "stage": "stage", "renewal": "custom:Renewal Date"}
    kwargs = {"object": "accounts", "field_map": account_map, "match_on": "domain"}
    operator = ApolloUpsertOperator(
        task_id="accounts", sql=f"SELECT * FROM {table}", report_path=None, **kwargs
    )
    result = operator.execute({"ti": MagicMock(), "run_id": "t"})
    assert (result["created"], result["invalid"], result["failed"]) == (150, 2, 0)
    accounts = {a["domain"]: a for a in truth(sandbox.base_url, "accounts")["live"]}
    assert accounts["acme7.example.com"]["name"] == "Acme 7"
    assert Counter(a["domain"] for a in accounts.values() if a["domain"])["acme7.example.com"] == 1

    # A stage renamed in the table: an update with only that field, for those rows.
    warehouse.execute(f"UPDATE {table} SET stage = 'Cold' WHERE name IN ('Acme 1', 'Acme 2')")
    before = sandbox.stats()
    second = operator.execute({"ti": MagicMock(), "run_id": "t"})
    assert (second["updated"], second["unchanged"]) == (2, 148)
    assert writes(sandbox.stats(), before) == {"POST /api/v1/accounts/bulk_update": 1}


@pytest.mark.slow  # a seeded sandbox CRM and a warehouse table
def test_a_row_apollo_refuses_fails_alone(sandbox: ApolloSandbox, warehouse: SqlDestination) -> None:
    rows = prospects(50, owners())
    table = write_table(warehouse, rows)
    upsert(table)
    warehouse.execute(f"UPDATE {table} SET title = 'Director'")
    # account_id is a standard field; an id Apollo does not know is refused (422) by the sandbox.
    warehouse.execute(f"ALTER TABLE {table} ADD COLUMN account_id TEXT")
    warehouse.execute(f"UPDATE {table} SET account_id = 'missing-account' WHERE prospect_id = 'P00010'")
    ti = MagicMock()
    operator = ApolloUpsertOperator(
        task_id="upsert",
        object="contacts",
        sql=SELECT.format(table=table),
        field_map={**CONTACT_MAP, "account_id": "account_id"},
        match_on="email",
    )
    with pytest.raises(ApolloError, match="1 row\\(s\\) failed"):
        operator.execute({"ti": ti, "run_id": "t"})
    result = ti.xcom_push.call_args.kwargs["value"]
    assert ti.xcom_push.call_args.kwargs["key"] == RESULT_XCOM_KEY
    assert (result["updated"], result["failed"]) == (49, 1)
    titles = Counter(
        c["title"]
        for c in truth(sandbox.base_url, "contacts")["live"]
        if c["email"] in {r["email"] for r in rows}
    )
    assert titles == {"Director": 49, rows[10]["title"]: 1}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"field_map": {"email": "emial"}}, "'emial' is not a contact field"),
        ({"field_map": {"mail": "email"}, "match_on": "domain"}, "match_on for contacts must be"),
        ({"field_map": {"name": "first_name"}}, "needs a column mapped to 'email'"),
        ({"object": "deals"}, "object must be one of"),
        ({"rows": [{"email": "a@b.co"}]}, "exactly one source of rows"),
        ({"dry_run": "maybe"}, "dry_run must be true or false"),
    ],
)
def test_bad_arguments_fail_before_any_request(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "task_id": "t",
        "object": "contacts",
        "field_map": {"email": "email"},
        "match_on": "email",
        "sql": "SELECT 1",
        "apollo_conn_id": "no_such_connection",  # any request would fail on the connection first
        **kwargs,
    }
    with pytest.raises(ApolloConfigurationError, match=message):
        ApolloUpsertOperator(**arguments).execute({"ti": MagicMock()})


def test_few_rows_are_found_by_key(sandbox: ApolloSandbox) -> None:
    """Two rows against a CRM of 4 pages: page 1 and one search per email, not a walk."""
    first_page = ApolloHook().search_contacts({"sort_by_field": "contact_created_at", "sort_ascending": True})
    on_page_1 = {c["id"] for c in first_page["contacts"]}
    live = truth(sandbox.base_url, "contacts")["live"]
    known = [c for c in live if c["email"] and c["id"] not in on_page_1][:2]
    operator = ApolloUpsertOperator(
        task_id="t",
        object="contacts",
        rows=[{"Email": c["email"].upper(), "Title": "Boss"} for c in known],
        field_map={"email": "email", "title": "title"},
        match_on="email",
    )
    before = sandbox.stats()
    result = operator.execute({"ti": MagicMock()})
    searches = sandbox.stats()["requests"]["by_endpoint"]["POST /api/v1/contacts/search"]
    assert searches - before["requests"]["by_endpoint"].get("POST /api/v1/contacts/search", 0) == 3
    assert (result["lookup"], result["updated"], result["writes"]) == ("by key", 2, 1)


def test_match_on_the_warehouse_id_in_a_custom_field(sandbox: ApolloSandbox, tmp_path: Path) -> None:
    """Matched by the warehouse's id, a changed email is an update of the same contact, not a new one."""
    rows = [{"ext": f"W-{n}", "email": f"w{n}@ext.example.org", "title": "Analyst"} for n in range(30)]
    field_map = {"ext": "custom:Lead Source", "email": "email", "title": "title"}

    def run(rows: list[dict[str, Any]], report: Path) -> dict[str, Any]:
        operator = ApolloUpsertOperator(
            task_id="t",
            object="contacts",
            rows=rows,
            field_map=field_map,
            match_on="custom_field:Lead Source",
            report_path=str(report),
        )
        result: dict[str, Any] = operator.execute({"ti": MagicMock()})
        return result

    assert run(rows, tmp_path / "1.csv")["created"] == 30
    rows[3]["email"] = "moved@ext.example.org"
    second = run(rows, tmp_path / "2.csv")
    assert (second["updated"], second["unchanged"], second["created"]) == (1, 29, 0)
    assert (
        "4,w-3,updated," in (tmp_path / "2.csv").read_text()
        and ",email,," in (tmp_path / "2.csv").read_text()
    )
    emails = [c["email"] for c in truth(sandbox.base_url, "contacts")["live"]]
    assert "moved@ext.example.org" in emails and "w3@ext.example.org" not in emails


def test_lost_account_creates_are_resent_without_duplicates(sandbox: ApolloSandbox) -> None:
    rows = [{"domain": f"lost{n}.example.com", "name": f"Lost {n}"} for n in range(250)]
    sandbox.configure(
        faults=SandboxFaults(seed=2, commit_then_drop=0.6, endpoints=["*/accounts/bulk_create"])
    )
    operator = ApolloUpsertOperator(
        task_id="t",
        object="accounts",
        rows=rows,
        field_map={"domain": "domain", "name": "name"},
        match_on="domain",
    )
    result = operator.execute({"ti": MagicMock()})
    sandbox.configure(faults=SandboxFaults())
    assert (result["created"], result["failed"]) == (250, 0)
    assert sandbox.stats()["faults"]["by_kind"].get("commit_then_drop", 0) >= 1
    domains = Counter(a["domain"] for a in truth(sandbox.base_url, "accounts")["live"])
    assert all(domains[row["domain"]] == 1 for row in rows)


def test_fail_on_invalid_fails_after_writing_the_valid_rows(sandbox: ApolloSandbox) -> None:
    rows = [{"email": "valid1@fine.example.org"}, {"email": "broken"}, {"email": "valid2@fine.example.org"}]
    ti = MagicMock()
    operator = ApolloUpsertOperator(
        task_id="t",
        object="contacts",
        rows=rows,
        field_map={"email": "email"},
        match_on="email",
        fail_on_invalid=True,
    )
    with pytest.raises(ApolloError, match="0 row\\(s\\) failed and 1 were invalid"):
        operator.execute({"ti": ti})
    assert ti.xcom_push.call_args.kwargs["value"]["created"] == 2
    emails = {c["email"] for c in truth(sandbox.base_url, "contacts")["live"]}
    assert {"valid1@fine.example.org", "valid2@fine.example.org"} <= emails and "broken" not in emails
