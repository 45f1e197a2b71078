"""The docs' tables of templated arguments are the classes' ``template_fields``, exactly.

``docs/operators.md`` and ``docs/sensors.md`` each have a "Templated arguments" table, one
row per class. When a class gains or loses a templated field, this test fails and prints
the rows to paste.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_apollo.operators.contacts import (
    ApolloCreateContactsOperator,
    ApolloUpdateContactStageOperator,
)
from airflow_provider_apollo.operators.enrichment import (
    ApolloEnrichOrganizationsOperator,
    ApolloEnrichPeopleOperator,
)
from airflow_provider_apollo.operators.generic import ApolloOperator
from airflow_provider_apollo.operators.search import (
    ApolloSearchOrganizationsOperator,
    ApolloSearchPeopleOperator,
)
from airflow_provider_apollo.operators.sequences import (
    ApolloAddToSequenceOperator,
    ApolloRemoveFromSequenceOperator,
)
from airflow_provider_apollo.operators.tasks import ApolloCreateTasksOperator
from airflow_provider_apollo.sensors.job_postings import ApolloJobPostingsSensor
from airflow_provider_apollo.sensors.tasks import ApolloTasksSensor

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES: dict[str, list[type]] = {
    "operators.md": [
        ApolloSearchPeopleOperator,
        ApolloSearchOrganizationsOperator,
        ApolloEnrichPeopleOperator,
        ApolloEnrichOrganizationsOperator,
        ApolloCreateContactsOperator,
        ApolloUpdateContactStageOperator,
        ApolloAddToSequenceOperator,
        ApolloRemoveFromSequenceOperator,
        ApolloCreateTasksOperator,
        ApolloOperator,
    ],
    "sensors.md": [ApolloJobPostingsSensor, ApolloTasksSensor],
}
ROW = re.compile(r"^\| `(?P<cls>Apollo\w+)` \| (?P<fields>.*) \|$")


def row(cls: type) -> str:
    fields = ", ".join(f"`{name}`" for name in cls.template_fields)  # type: ignore[attr-defined]
    return f"| `{cls.__name__}` | {fields} |"


def table_rows(page: str) -> list[str]:
    """The rows of the page's "Templated arguments" table (the section up to the next heading)."""
    text = (DOCS / page).read_text()
    section = text.split("## Templated arguments", 1)
    assert len(section) == 2, f"docs/{page} has no '## Templated arguments' section"
    body = section[1].split("\n#", 1)[0]
    return [line for line in body.splitlines() if ROW.match(line)]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_table_lists_each_class_template_fields(page: str) -> None:
    expected = [row(cls) for cls in PAGES[page]]
    assert table_rows(page) == expected, "paste into docs/" + page + ":\n" + "\n".join(expected)


def test_on_budget_exhausted_is_in_the_table() -> None:
    """The issue's example: an argument users template per run, now templated and listed."""
    assert any("`on_budget_exhausted`" in line for line in table_rows("operators.md"))
