"""The command line: flags become limits and faults; `python -m` serves and answers."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from airflow_provider_apollo.sandbox import DEFAULT_API_KEY, DEFAULT_NON_MASTER_KEY
from airflow_provider_apollo.sandbox.cli import build_parser, faults_from_args, limits_from_args, main


def test_flags_become_limits_and_faults():
    args = build_parser().parse_args(
        [
            "--free-plan",
            "--limit",
            "enrichment.per_minute=3",
            "--limit",
            "search.per_day=none",
            "--minute-seconds",
            "2",
            "--legacy-headers",
            "--fault",
            "error_5xx=0.1",
            "--fault-seed",
            "5",
            "--fault-endpoint",
            "/api/v1/people/*",
        ]
    )

    limits = limits_from_args(args)
    faults = faults_from_args(args)

    assert limits.enrichment.per_minute == 3
    assert limits.enrichment.per_hour == 200  # free plan kept for windows not overridden
    assert limits.search.per_day is None
    assert limits.minute_seconds == 2 and limits.legacy_headers
    assert (
        faults.error_5xx == 0.1 and faults.seed == 5 and list(faults.endpoints or []) == ["/api/v1/people/*"]
    )


def test_the_api_key_stays_the_master_key_and_a_non_master_key_is_issued_by_flag():
    default = build_parser().parse_args([])
    chosen = build_parser().parse_args(["--api-key", "boss", "--non-master-key", "intern"])

    assert (default.api_key, default.non_master_key, default.no_master_key) == (
        DEFAULT_API_KEY,
        DEFAULT_NON_MASTER_KEY,
        False,
    )
    assert (chosen.api_key, chosen.non_master_key) == ("boss", "intern")


def test_the_same_key_cannot_be_master_and_non_master(capsys):
    with pytest.raises(SystemExit):
        main(["--api-key", "same", "--non-master-key", "same"])

    assert "--non-master-key must differ from --api-key" in capsys.readouterr().err


def test_bad_flags_are_reported_by_name():
    args = build_parser().parse_args(["--limit", "enrichment=3"])
    with pytest.raises(ValueError, match=r"GROUP\.WINDOW=N"):
        limits_from_args(args)


@pytest.mark.slow  # a fresh interpreter (or server) starts: over a second
def test_python_m_serves_health_and_refuses_a_wrong_key():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_apollo.sandbox",
            "--port",
            "0",
            "--people",
            "50",
            "--api-key",
            "cli-key",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        base_url = banner.split(" on ")[1].split(" ")[0]
        health = requests.get(f"{base_url}/api/v1/auth/health", headers={"X-Api-Key": "cli-key"}, timeout=5)
        wrong = requests.get(f"{base_url}/api/v1/auth/health", headers={"X-Api-Key": "nope"}, timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert banner.startswith("Apollo sandbox serving on http://127.0.0.1:")
    assert health.json() == {"is_logged_in": True}
    assert wrong.status_code == 401
    assert process.returncode == 0
