"""The README's code must keep working: its first DAG builds, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_first_dag_in_readme_builds_with_the_documented_operators() -> None:
    dag_block = next(block for block in _python_blocks() if "with DAG(" in block)
    namespace: dict[str, object] = {}
    exec(compile(dag_block, "README.md", "exec"), namespace)
    # The DAG is opened in an unnamed ``with`` block: reach it through one of its tasks.
    dag = namespace["people"].dag  # type: ignore[attr-defined]
    assert dag.dag_id == "weekly_prospecting"
    assert {t.task_id for t in dag.tasks} == {"search", "enrich", "contacts", "enrol"}
    enrol = dag.get_task("enrol")
    assert set(enrol.upstream_task_ids) == {"contacts"}


def test_readme_commands_point_at_real_scripts() -> None:
    for script in re.findall(r"python3 (scripts/\w+\.py)", README):
        assert (ROOT / script).is_file(), script
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 scripts/run_tests.py" in ci
    assert "python3 scripts/run_tests.py" in README
