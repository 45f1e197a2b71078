"""The DAGs of the multi-host deployment test (``tests/deployment/test_celery_multihost.py``).

``apollo_multihost_enrichment``: one mapped enrichment task over shares of people given in the
run's conf (``{"shares": [[{"id": ...}, ...], ...]}``), all on one API key: the Celery workers
that run the mapped task instances must share that key's quota through the Redis store.

``apollo_multihost_deferral``: an organization search that meets a closed hourly window and
waits for it in the triggerer (``deferrable=True``), then resumes on whichever worker is free.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from airflow_provider_apollo.operators.enrichment import ApolloEnrichPeopleOperator
from airflow_provider_apollo.operators.search import ApolloSearchOrganizationsOperator


@dag(dag_id="apollo_multihost_enrichment", schedule=None, catchup=False, tags=["apollo", "deployment"])
def apollo_multihost_enrichment() -> None:
    @task
    def shares(**context: Any) -> list[list[dict[str, Any]]]:
        """The people of each mapped task instance, from the run's conf."""
        return list(context["dag_run"].conf["shares"])

    ApolloEnrichPeopleOperator.partial(task_id="enrich", max_credits=None).expand(people=shares())


@dag(dag_id="apollo_multihost_deferral", schedule=None, catchup=False, tags=["apollo", "deployment"])
def apollo_multihost_deferral() -> None:
    ApolloSearchOrganizationsOperator(
        task_id="search_organizations",
        filters={},
        max_records=40,
        per_page=10,
        deferrable=True,
        max_quota_sleep=2,
    )


apollo_multihost_enrichment()
apollo_multihost_deferral()
