"""The CRM objects a team can export from Apollo, as data: where each is read and how it changes.

One row per object: the endpoint and method of its read, the records key of the answer, how
"what changed" is found (``incremental`` by an updated-at sort, or ``snapshot`` with a content
hash when Apollo offers no such sort), the filter that splits a query too large to page (a
partition of the records: each record in exactly one value, so the slices' totals must add up
to the whole), the endpoint that confirms a record is deleted, and the fields people query
most, stored as columns. Sources: ``../shared/apollo-crm-export-notes.md`` (Apollo's OpenAPI
document and legacy reference). No Airflow, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_apollo._api.endpoints import MAX_PER_PAGE, SEARCH_PAGE_CAP
from airflow_provider_apollo.exceptions import ApolloConfigurationError

#: Records per page: the largest every CRM search accepts.
PAGE_SIZE = MAX_PER_PAGE
#: What happens past the 500th page is undocumented, so a read never relies on it and stops
#: by arithmetic.
PAGE_CAP = SEARCH_PAGE_CAP

#: A column: ``(name, logical type, dotted source in the record or None for the same name)``.
ColumnDef = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class SplitFilter:
    """A filter whose values partition an object's records (a record carries exactly one value).

    :param filter: the search filter taking a list of values (``contact_stage_ids``).
    :param values_path: the lookup endpoint listing the values (``contact_stages``).
    :param values_key: the answer's key of that list.
    :param record_field: the record's field holding its value (``contact_stage_id``).
    """

    filter: str
    values_path: str
    values_key: str
    record_field: str


@dataclass(frozen=True)
class CrmObject:
    """One exportable object.

    :param name: the object's name in DAGs and tables (``apollo_<name>``).
    :param path: the read endpoint.
    :param method: ``POST`` (filters in the body) or ``GET`` (query parameters).
    :param records_key: the answer's member holding the records.
    :param mode: ``incremental`` (by ``updated_sort``) or ``snapshot`` (full read, content hash).
    :param paged: whether the read takes ``page``/``per_page`` (lookups answer one list).
    :param updated_sort: the sort by last update, newest first (incremental objects).
    :param stable_sort: a sort whose order new or edited records do not disturb (creation time),
        used by full reads so that a read continued in a later run resumes at the right page.
    :param split: the filter splitting a query over the page cap, when the object has one.
    :param record_path: the endpoint of one record (``contacts/{id}``), which confirms a delete.
    :param columns: the fields stored as columns.
    """

    name: str
    path: str
    method: str
    records_key: str
    mode: str
    columns: tuple[ColumnDef, ...]
    paged: bool = True
    updated_sort: str | None = None
    stable_sort: str | None = None
    split: SplitFilter | None = None
    record_path: str | None = None

    @property
    def table(self) -> str:
        """The destination table."""
        return f"apollo_{self.name}"

    @property
    def has_updated_at(self) -> bool:
        """Whether the table has an ``updated_at`` column."""
        return any(name == "updated_at" for name, _, _ in self.columns)


_TS = "timestamp"
CRM_OBJECTS: dict[str, CrmObject] = {
    o.name: o
    for o in (
        CrmObject(
            "contacts",
            "contacts/search",
            "POST",
            "contacts",
            "incremental",
            updated_sort="contact_updated_at",
            stable_sort="contact_created_at",
            split=SplitFilter("contact_stage_ids", "contact_stages", "contact_stages", "contact_stage_id"),
            record_path="contacts/{id}",
            columns=(
                ("first_name", "text", None),
                ("last_name", "text", None),
                ("name", "text", None),
                ("email", "text", None),
                ("title", "text", None),
                ("organization_name", "text", None),
                ("account_id", "text", None),
                ("owner_id", "text", None),
                ("contact_stage_id", "text", None),
                ("label_ids", "text", None),
                ("created_at", _TS, None),
                ("updated_at", _TS, None),
                ("last_activity_date", _TS, None),
            ),
        ),
        CrmObject(
            "accounts",
            "accounts/search",
            "POST",
            "accounts",
            "snapshot",  # no updated_at in the documented record, no dependable updated sort
            stable_sort="account_created_at",
            split=SplitFilter("account_stage_ids", "account_stages", "account_stages", "account_stage_id"),
            record_path="accounts/{id}",
            columns=(
                ("name", "text", None),
                ("domain", "text", None),
                ("owner_id", "text", None),
                ("account_stage_id", "text", None),
                ("label_ids", "text", None),
                ("created_at", _TS, None),
                ("updated_at", _TS, None),
                ("last_activity_date", _TS, None),
            ),
        ),
        CrmObject(
            "opportunities",
            "opportunities/search",
            "GET",
            "opportunities",
            "snapshot",
            record_path="opportunities/{id}",
            columns=(
                ("name", "text", None),
                ("amount", "number", None),
                ("account_id", "text", None),
                ("owner_id", "text", None),
                ("opportunity_stage_id", "text", None),
                ("is_closed", "boolean", None),
                ("is_won", "boolean", None),
                ("closed_date", _TS, None),
                ("created_at", _TS, None),
            ),
        ),
        CrmObject(
            "tasks",
            "tasks/search",
            "POST",
            "tasks",
            "snapshot",
            stable_sort="task_created_at",  # legacy reference's sort
            columns=(
                ("type", "text", None),
                ("status", "text", None),
                ("priority", "text", None),
                ("contact_id", "text", None),
                ("user_id", "text", None),
                ("due_at", _TS, None),
                ("completed_at", _TS, None),
                ("created_at", _TS, None),
            ),
        ),
        CrmObject(
            "sequences",
            "emailer_campaigns/search",
            "POST",
            "emailer_campaigns",
            "snapshot",
            columns=(
                ("name", "text", None),
                ("active", "boolean", None),
                ("archived", "boolean", None),
                ("created_at", _TS, None),
                ("last_used_at", _TS, None),
            ),
        ),
        CrmObject(
            "users",
            "users/search",
            "GET",
            "users",
            "snapshot",
            columns=(("email", "text", None), ("first_name", "text", None), ("last_name", "text", None)),
        ),
        CrmObject(
            "labels",
            "labels",
            "GET",
            "labels",
            "snapshot",
            paged=False,
            columns=(("name", "text", None), ("modality", "text", None)),
        ),
        *(
            CrmObject(
                f"{kind}_stages",
                f"{kind}_stages",
                "GET",
                f"{kind}_stages",
                "snapshot",
                paged=False,
                columns=(("name", "text", None), ("display_order", "number", None)),
            )
            for kind in ("contact", "account", "opportunity")
        ),
    )
}


def crm_object(name: str) -> CrmObject:
    """The object called ``name``.

    :raises ApolloConfigurationError: naming the argument and the objects there are.
    """
    found = CRM_OBJECTS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ApolloConfigurationError(f"object must be one of {', '.join(CRM_OBJECTS)}; got {name!r}.")
    return found


def reachable(per_page: int = PAGE_SIZE) -> int:
    """The most records one query can show: ``PAGE_CAP`` pages of ``per_page``."""
    return PAGE_CAP * per_page
