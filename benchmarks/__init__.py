"""Benchmarks of airflow-provider-apollo against the hand-rolled way, on the local sandbox.

``python -m benchmarks`` runs every scenario and prints one table each, the provider and the
baseline (``HttpHook`` + a tenacity retry loop, see :mod:`benchmarks.baseline`) side by side,
measured in the same run on the same machine. ``--quick`` runs every scenario at tiny sizes
(CI runs it so the benchmarks cannot rot; nothing about timing is asserted).
Not part of the test suite; see ``docs/benchmarks.md`` for the latest figures.
"""

#: Scenario modules, in the order of issue 5; each has ``TITLE`` and ``run(quick) -> list[Table]``.
SCENARIOS = (
    "quota_enrichment",
    "shared_key",
    "credits_per_person",
    "parse_cost",
    "memory",
    "hook_overhead",
    "multi_host",
    "quota_deferral",
    "crm_export",
    "warehouse_upsert",
)
