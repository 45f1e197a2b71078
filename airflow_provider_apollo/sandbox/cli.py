"""``apollo-sandbox``: serve the sandbox from a shell (also ``python -m airflow_provider_apollo.sandbox``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from airflow_provider_apollo.sandbox.crm_seed import CrmSizes
from airflow_provider_apollo.sandbox.faults import FAULT_KINDS, SandboxFaults
from airflow_provider_apollo.sandbox.ratelimit import ENDPOINT_GROUPS, SandboxLimits
from airflow_provider_apollo.sandbox.server import DEFAULT_API_KEY, DEFAULT_NON_MASTER_KEY, ApolloSandbox

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="apollo-sandbox",
        description="A local, stateful Apollo.io API for DAG tests and demos: "
        "no key, no network, no credits.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8899, help="port to bind; 0 picks a free one (default 8899)"
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help=f"the master key clients send (default {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--non-master-key",
        default=DEFAULT_NON_MASTER_KEY,
        metavar="KEY",
        help="a second key that is not a master key: master-only endpoints answer it 403 "
        f"(default {DEFAULT_NON_MASTER_KEY}; 'none' issues no such key)",
    )
    parser.add_argument(
        "--oauth-token", action="append", default=[], help="accept this Bearer token (repeatable)"
    )
    parser.add_argument(
        "--no-master-key",
        action="store_true",
        help="--api-key is not a master key either (403 on the master-only endpoints)",
    )
    parser.add_argument("--seed", type=int, default=42, help="world seed (default 42)")
    parser.add_argument("--people", type=int, default=5000, help="people in the world (default 5000)")
    parser.add_argument("--organizations", type=int, default=None, help="organizations (default people/10)")

    crm = parser.add_argument_group("seeded CRM (the team's own records)")
    demo = CrmSizes.demo()
    for name, default in (
        ("contacts", demo.contacts),
        ("accounts", demo.accounts),
        ("deals", demo.deals),
        ("tasks", demo.tasks),
        ("users", demo.users),
    ):
        crm.add_argument(
            f"--crm-{name}",
            type=int,
            default=default,
            metavar="N",
            help=f"{name} in the team's CRM (default {default}; POST /_sandbox/config changes it at reset)",
        )

    limits = parser.add_argument_group("rate limits")
    plan = limits.add_mutually_exclusive_group()
    plan.add_argument("--free-plan", action="store_true", help="Apollo's free-plan limits")
    plan.add_argument("--unlimited", action="store_true", help="no rate limits at all")
    limits.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="GROUP.WINDOW=N",
        help=f"e.g. enrichment.per_minute=50; groups: {', '.join(ENDPOINT_GROUPS)}; N=none for unlimited",
    )
    limits.add_argument("--minute-seconds", type=float, default=60.0, help="length of a 'minute' window")
    limits.add_argument("--hour-seconds", type=float, default=3600.0, help="length of an 'hour' window")
    limits.add_argument("--day-seconds", type=float, default=86400.0, help="length of a 'day' window")
    limits.add_argument("--legacy-headers", action="store_true", help="send x-rate-limit-daily etc.")

    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=P",
        help=f"probability of a fault per request; kinds: {', '.join(FAULT_KINDS)}",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault sequence")
    faults.add_argument("--slow-seconds", type=float, default=35.0, help="delay of a 'slow' answer")
    faults.add_argument(
        "--fault-endpoint", action="append", default=None, metavar="GLOB", help="only these paths"
    )
    return parser


def limits_from_args(args: argparse.Namespace) -> SandboxLimits:
    """``SandboxLimits`` from the parsed flags.

    :param args: parsed arguments.
    """
    windows = {
        "minute_seconds": args.minute_seconds,
        "hour_seconds": args.hour_seconds,
        "day_seconds": args.day_seconds,
        "legacy_headers": args.legacy_headers,
    }
    if args.unlimited:
        limits = SandboxLimits.unlimited(**windows)
    elif args.free_plan:
        limits = SandboxLimits.free_plan(**windows)
    else:
        limits = SandboxLimits(**windows)
    overrides: dict[str, dict[str, Any]] = {}
    for item in args.limit:
        target, sep, raw = item.partition("=")
        group, dot, window = target.partition(".")
        if not sep or not dot:
            raise ValueError(f"--limit {item!r}: expected GROUP.WINDOW=N, e.g. enrichment.per_minute=50")
        value = None if raw.lower() in ("none", "unlimited") else int(raw)
        overrides.setdefault(group, {})[window] = value
    return SandboxLimits.from_dict(overrides, limits) if overrides else limits


def faults_from_args(args: argparse.Namespace) -> SandboxFaults:
    """``SandboxFaults`` from the parsed flags.

    :param args: parsed arguments.
    """
    probabilities: dict[str, Any] = {}
    for item in args.fault:
        kind, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--fault {item!r}: expected KIND=P, e.g. error_5xx=0.1")
        probabilities[kind] = float(raw)
    return SandboxFaults.from_dict(
        {
            **probabilities,
            "seed": args.fault_seed,
            "slow_seconds": args.slow_seconds,
            "endpoints": args.fault_endpoint,
        }
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until interrupted (Ctrl-C or SIGTERM).

    :param argv: arguments; default ``sys.argv[1:]``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        limits = limits_from_args(args)
        faults = faults_from_args(args)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if args.non_master_key == args.api_key:
        parser.error("--non-master-key must differ from --api-key: one key cannot be both")
    if args.host not in _LOOPBACK_HOSTS:
        print(
            f"warning: serving on {args.host}, reachable beyond this machine; "
            "the control plane stays loopback-only",
            file=sys.stderr,
        )
    started = time.perf_counter()
    try:
        sandbox = ApolloSandbox(
            api_key=args.api_key,
            seed=args.seed,
            people=args.people,
            organizations=args.organizations,
            limits=limits,
            faults=faults,
            master_key=not args.no_master_key,
            host=args.host,
            port=args.port,
            oauth_tokens=args.oauth_token,
            non_master_key=None if args.non_master_key.lower() == "none" else args.non_master_key,
            crm_contacts=args.crm_contacts,
            crm_accounts=args.crm_accounts,
            crm_deals=args.crm_deals,
            crm_tasks=args.crm_tasks,
            crm_users=args.crm_users,
        )
    except ValueError as error:
        parser.error(str(error))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sandbox:
        elapsed = time.perf_counter() - started
        print(f"Apollo sandbox serving on {sandbox.base_url} (started in {elapsed:.2f}s)", flush=True)
        kind = "master key" if not args.no_master_key else "not a master key"
        print(f"  API base URL: {sandbox.base_url}/api/v1   key: X-Api-Key: {sandbox.api_key} ({kind})")
        if sandbox.non_master_key is not None:
            print(f"  Non-master key: X-Api-Key: {sandbox.non_master_key} (403 on master-only endpoints)")
        print(f"  Airflow:      export AIRFLOW_CONN_APOLLO_DEFAULT='{sandbox.connection_json}'")
        print(
            f"  Control:      {sandbox.base_url}/_sandbox/stats  /_sandbox/world  (POST /_sandbox/reset)",
            flush=True,
        )
        crm = sandbox.state.crm_seeded
        print(
            f"  CRM:          {crm.contacts} contacts, {crm.accounts} accounts, {crm.deals} deals, "
            f"{crm.tasks} tasks, {crm.users} users  (GET /_sandbox/records/contacts)",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
