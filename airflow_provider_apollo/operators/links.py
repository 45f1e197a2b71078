"""Extra links: buttons on a task in the Airflow UI that open what it touched in Apollo's app.

Each link is built from ids the task already had, with no call to Apollo: the operator
pushes them to XCom under the link's own key (:meth:`ApolloLink.persist`) as soon as it
knows them, so a task that fails half-way still links what it touched. When the task ends
(success or failure), Airflow's task runner calls :meth:`ApolloLink.get_link` on the worker
and stores the URL; the UI shows a button per link, greyed out while the URL is empty.

Apollo's app has a page per contact and per sequence, but no documented address that lists a
chosen set of records (its list filters live in unversioned URL state). So one record links
to its own page and several link to the list page of their kind; the ids themselves are in
the task's XCom under the link's key. Tasks have no page of their own: their link is the
task list. The links point at ``https://app.apollo.io`` whatever the connection's host, so a
run against the local sandbox links ids that exist only in the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

#: Where Apollo's web app lives; its pages are addressed after ``#/``.
APOLLO_APP_URL = "https://app.apollo.io/#"


class ApolloLink(BaseOperatorLink):
    """A link to the Apollo records whose ids the task pushed under :attr:`ids_key`.

    Subclasses name the button (``name``), the XCom key and the app pages: ``record_page``
    (with ``{id}``) for one record, ``list_page`` for several.
    """

    name: ClassVar[str]  # type: ignore[misc,unused-ignore]  # an abstract property in some Airflow minors
    #: The XCom key under which the operator pushes the ids (a list of strings).
    ids_key: ClassVar[str]
    #: The app page of one record (``{id}`` is replaced), or ``None`` when records have none.
    record_page: ClassVar[str | None]
    #: The app page listing records of this kind.
    list_page: ClassVar[str]

    @classmethod
    def persist(cls, context: Context, ids: Iterable[Any]) -> None:
        """Push the ids this link will open (falsy ids dropped, repeats kept once, order kept).

        Does nothing when ``context`` has no task instance (``execute()`` called outside Airflow).
        """
        ti = context.get("ti")
        if ti is None:
            return
        ti.xcom_push(key=cls.ids_key, value=list(dict.fromkeys(str(value) for value in ids if value)))

    @classmethod
    def url(cls, ids: Sequence[str]) -> str:
        """The app URL for these ids: the record's page for one, the list page for several, else ``""``."""
        if not ids:
            return ""
        if len(ids) == 1 and cls.record_page is not None:
            return f"{APOLLO_APP_URL}/{cls.record_page.format(id=ids[0])}"
        return f"{APOLLO_APP_URL}/{cls.list_page}"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL for the ids the task instance pushed; ``""`` (no link) when it pushed none.

        :param operator: the task's operator (unused: the ids are per task instance).
        :param ti_key: the task instance whose ids are read.
        """
        from airflow.sdk.execution_time.xcom import XCom

        ids = XCom.get_value(ti_key=ti_key, key=self.ids_key)
        if not isinstance(ids, list):
            return ""
        return self.url([str(value) for value in ids if value])


class ApolloContactsLink(ApolloLink):
    """The contacts the task created or updated: one contact's page, or the contacts list."""

    name = "Apollo contacts"
    ids_key = "apollo_contact_ids"
    record_page = "contacts/{id}"
    list_page = "contacts"


class ApolloSequenceLink(ApolloLink):
    """The sequence the task enrolled contacts in (or took them out of): its page, or the list."""

    name = "Apollo sequence"
    ids_key = "apollo_sequence_ids"
    record_page = "sequences/{id}"
    list_page = "sequences"


class ApolloTasksLink(ApolloLink):
    """Apollo's task list, once the task created or found tasks (tasks have no page of their own)."""

    name = "Apollo tasks"
    ids_key = "apollo_task_ids"
    record_page = None
    list_page = "tasks"
