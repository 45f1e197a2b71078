"""The team's seeded CRM: users, accounts, contacts, deals and tasks, derived from the world seed.

Sizes come from ``CrmSizes`` (config keys ``crm_contacts``, ``crm_accounts``, ``crm_deals``,
``crm_tasks``, ``crm_users``); the default is an empty CRM, as the sandbox had before it grew
one, so tests that count the records they create are unaffected. Records are plain dicts in
the shape the API answers (the same keys a contact created through ``POST /contacts`` has).

Generation is one pass of cheap arithmetic per record (120,000 contacts in about two seconds):
timestamps are integers of milliseconds rendered once, names come from the world's pools.
Some contacts share their ``updated_at`` millisecond with the one before (``TIE_RATE``), so an
exporter that compares a cursor strictly loses records here as it would at Apollo.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from airflow_provider_apollo.sandbox.world import (
    _FIRST_NAMES,
    _LAST_NAMES,
    _ORG_FIRST_WORDS,
    _ORG_SECOND_WORDS,
    IdFactory,
    Record,
    World,
)

#: Share of contacts whose ``updated_at`` repeats the previous contact's millisecond.
TIE_RATE = 0.05
#: Seeded records were created at most this long before the world's reference time.
_HISTORY_MS = 730 * 86_400_000
_MAX_SIZE = 1_000_000
_TITLES = (
    "VP of Sales",
    "Head of Marketing",
    "Data Engineer",
    "Account Executive",
    "Revenue Operations Manager",
    "CTO",
    "Product Manager",
    "Customer Success Manager",
    "Director of Engineering",
    "Founder & CEO",
)
_LEAD_SOURCES = ("Webinar", "Referral", "Inbound", "Event", "Outbound")
_CONTACT_LABELS = ("Newsletter", "Event 2024", "Partner Referral")
_ACCOUNT_LABELS = ("Tier 1", "Tier 2")
_DEAL_PRODUCTS = ("Platform", "Expansion", "Renewal", "Pilot")
_TASK_TYPES = ("call", "outreach_manual_email", "action_item", "linkedin_step_connect")
_USER_NAMES = (
    ("Riley", "Chen"),
    ("Morgan", "Diaz"),
    ("Avery", "Patel"),
    ("Jordan", "Kim"),
    ("Casey", "Novak"),
)


@dataclass(frozen=True)
class CrmSizes:
    """How many records the seeded CRM holds (applied when the state is built or reset).

    :param contacts: contacts (``crm_contacts``).
    :param accounts: accounts (``crm_accounts``).
    :param deals: opportunities (``crm_deals``).
    :param tasks: tasks (``crm_tasks``).
    :param users: users of the team, the owner included (``crm_users``, at least 1).
    """

    contacts: int = 0
    accounts: int = 0
    deals: int = 0
    tasks: int = 0
    users: int = 1

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SIZE:
                raise ValueError(f"crm_{name} must be an integer between 0 and {_MAX_SIZE}; got {value!r}")
        if self.users < 1:
            raise ValueError("crm_users must be at least 1 (the team's owner)")

    @classmethod
    def demo(cls) -> CrmSizes:
        """The small CRM the command line serves by default: enough to page and filter."""
        return cls(contacts=500, accounts=100, deals=50, tasks=200, users=5)

    def as_config(self) -> dict[str, int]:
        """``{"crm_contacts": ..., ...}``: the config keys of ``/_sandbox/config``."""
        return {f"crm_{name}": value for name, value in asdict(self).items()}

    @classmethod
    def config_keys(cls) -> frozenset[str]:
        """The config keys this class reads."""
        return frozenset(cls().as_config())

    def with_config(self, config: dict[str, Any]) -> CrmSizes:
        """These sizes with the ``crm_*`` keys of ``config`` applied (others are ignored).

        :param config: e.g. ``{"crm_contacts": 60000}``.
        """
        values = asdict(self)
        for key, value in config.items():
            if key in self.config_keys():
                values[key.removeprefix("crm_")] = value
        return CrmSizes(**values)


@dataclass
class SeededCrm:
    """The records of a freshly seeded CRM, keyed by id, plus the team's users and new labels."""

    users: list[Record]
    labels: list[Record]
    accounts: dict[str, Record] = field(default_factory=dict)
    contacts: dict[str, Record] = field(default_factory=dict)
    opportunities: dict[str, Record] = field(default_factory=dict)
    tasks: dict[str, Record] = field(default_factory=dict)
    #: ``updated_at`` of records whose API shape has none (accounts, deals, tasks), by id.
    hidden_updated_at: dict[str, str] = field(default_factory=dict)


_EPOCH = datetime(1970, 1, 1)
_DAY_PREFIXES: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Apollo's timestamp spelling (``2024-09-12T20:13:53.207Z``) of epoch milliseconds.

    Day prefixes are cached and the time of day is plain arithmetic: twice as fast as
    ``strftime`` per call, which is a second saved on 120,000 contacts.

    :param ms: milliseconds since the epoch.
    """
    days, rest = divmod(ms, 86_400_000)
    day = _DAY_PREFIXES.get(days)
    if day is None:
        day = _DAY_PREFIXES[days] = (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%dT")
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{day}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def seed_crm(world: World, sizes: CrmSizes, ids: IdFactory, labels: list[Record]) -> SeededCrm:
    """Generate the team's CRM for ``world.seed``; same world and sizes, same records and ids.

    :param world: the generated world (stages, custom fields, organizations, reference time).
    :param sizes: how many records of each kind.
    :param ids: the runtime id factory (records created later continue its sequence).
    :param labels: the team's labels; seeded labels are appended when a CRM is seeded.
    """
    # The records hold no reference cycles: the collector's passes over 120,000 fresh dicts
    # are pure cost (a quarter of the time), so it pauses while they are built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _seed(world, sizes, ids, labels)
    finally:
        if collecting:
            gc.enable()


def _seed(world: World, sizes: CrmSizes, ids: IdFactory, labels: list[Record]) -> SeededCrm:
    rng = random.Random(world.seed * 1_000_003 + 17)
    now_ms = int(world.reference_time.timestamp() * 1000)
    users = _users(world, sizes.users, ids)
    crm = SeededCrm(users=users, labels=labels)
    if not (sizes.contacts or sizes.accounts or sizes.deals or sizes.tasks):
        return crm
    contact_labels = [_new_label(ids, world, name, "contacts") for name in _CONTACT_LABELS]
    account_labels = [_new_label(ids, world, name, "accounts") for name in _ACCOUNT_LABELS]
    labels.extend(contact_labels + account_labels)
    fields = {(f["modality"], f["name"]): f["id"] for f in world.custom_fields}
    owner_ids = [user["id"] for user in users]
    uniform = rng.random

    def pick(options: Sequence[Any]) -> Any:
        return options[int(uniform() * len(options))]

    def history(start_ms: int) -> tuple[int, int]:
        created = start_ms - int(uniform() * _HISTORY_MS)
        return created, created + int(uniform() * (start_ms - created))

    _accounts(
        crm, world, sizes.accounts, ids, pick, history, uniform, owner_ids, account_labels, fields, now_ms
    )
    _contacts(
        crm, world, sizes.contacts, ids, pick, history, uniform, owner_ids, contact_labels, fields, now_ms
    )
    _deals(crm, world, sizes.deals, ids, pick, history, uniform, owner_ids, now_ms)
    _tasks(crm, sizes.tasks, ids, pick, history, uniform, owner_ids, now_ms)
    return crm


def _users(world: World, count: int, ids: IdFactory) -> list[Record]:
    users = [world.user]
    for index in range(count - 1):
        first, last = _USER_NAMES[index % len(_USER_NAMES)]
        suffix = "" if index < len(_USER_NAMES) else str(index)
        users.append(
            {
                **world.user,
                "id": ids.new("user"),
                "first_name": first,
                "last_name": last,
                "name": f"{first} {last}",
                "title": "Account Executive",
                "email": f"{first}.{last}{suffix}@sandbox.example.com".lower(),
            }
        )
    return users


def _new_label(ids: IdFactory, world: World, name: str, modality: str) -> Record:
    label_id = ids.new("label")
    created = world.user["created_at"]
    return {
        "_id": label_id,
        "id": label_id,
        "key": label_id,
        "name": name,
        "modality": modality,
        "cached_count": 0,
        "team_id": world.team_id,
        "user_id": world.user["id"],
        "created_at": created,
        "updated_at": created,
    }


def _accounts(
    crm: SeededCrm,
    world: World,
    count: int,
    ids: IdFactory,
    pick: Callable[[Sequence[Any]], Any],
    history: Callable[[int], tuple[int, int]],
    uniform: Callable[[], float],
    owner_ids: list[str],
    labels: list[Record],
    fields: dict[tuple[str, str], str],
    now_ms: int,
) -> None:
    renewal = fields.get(("account", "Renewal Date"))
    stage_ids = [stage["id"] for stage in world.account_stages]
    for index in range(count):
        if index < len(world.organizations):
            org = world.organizations[index]
            name, domain, org_id, phone = org["name"], org["primary_domain"], org["id"], org["phone"]
        else:
            name = f"{pick(_ORG_FIRST_WORDS)} {pick(_ORG_SECOND_WORDS)} {index}"
            domain, org_id, phone = f"{name.lower().replace(' ', '-')}.example.org", None, None
        created, updated = history(now_ms)
        custom = {renewal: iso_ms(updated + 86_400_000 * int(uniform() * 365))[:10]} if renewal else {}
        roll = uniform()
        account: Record = {
            "id": ids.new("account"),
            "name": name,
            "domain": domain,
            "team_id": world.team_id,
            "typed_custom_fields": custom if roll < 0.6 else {},
            "organization_id": org_id,
            "account_stage_id": pick(stage_ids),
            "source": "crm",
            "original_source": "crm",
            "owner_id": pick(owner_ids),
            "created_at": iso_ms(created),
            "phone": phone,
            "phone_status": "no_status",
            "raw_address": None,
            "hubspot_id": None,
            "salesforce_id": None,
            "crm_owner_id": None,
            "parent_account_id": None,
            "account_playbook_statuses": [],
            "existence_level": "full",
            "label_ids": [pick(labels)["id"]] if roll < 0.3 else [],
            "modality": "account",
            "persona_counts": {},
            "last_activity_date": iso_ms(updated) if roll < 0.5 else None,
        }
        crm.accounts[account["id"]] = account
        crm.hidden_updated_at[account["id"]] = iso_ms(updated)


def _contacts(
    crm: SeededCrm,
    world: World,
    count: int,
    ids: IdFactory,
    pick: Callable[[Sequence[Any]], Any],
    history: Callable[[int], tuple[int, int]],
    uniform: Callable[[], float],
    owner_ids: list[str],
    labels: list[Record],
    fields: dict[tuple[str, str], str],
    now_ms: int,
) -> None:
    lead_source = fields.get(("contact", "Lead Source"))
    icp_score = fields.get(("contact", "ICP Score"))
    stage_ids = [stage["id"] for stage in world.contact_stages]
    label_ids = [label["id"] for label in labels]
    accounts = list(crm.accounts.values())
    creator = world.user["id"]
    previous_updated = 0
    for index in range(count):
        first, last = pick(_FIRST_NAMES), pick(_LAST_NAMES)
        account = pick(accounts) if accounts and uniform() < 0.9 else None
        domain = account["domain"] if account else "gmail.example.com"
        created, updated = history(now_ms)
        roll = uniform()
        if roll < TIE_RATE and previous_updated > created:
            updated = previous_updated  # a tie: two contacts changed in the same millisecond
        previous_updated = updated
        custom: dict[str, Any] = {}
        if lead_source and roll < 0.7:
            custom[lead_source] = pick(_LEAD_SOURCES)
        if icp_score and roll < 0.5:
            custom[icp_score] = int(uniform() * 100)
        updated_iso = iso_ms(updated)
        contact: Record = {
            "id": ids.new("contact"),
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "title": pick(_TITLES),
            "organization_name": account["name"] if account else None,
            "organization_id": account["organization_id"] if account else None,
            "email": f"{first}.{last}.{index:x}@{domain}".lower(),
            "email_status": "verified" if roll < 0.8 else "unverified",
            "linkedin_url": None,
            "account_id": account["id"] if account else None,
            "owner_id": pick(owner_ids),
            "creator_id": creator,
            "contact_stage_id": pick(stage_ids),
            "person_id": None,
            "present_raw_address": None,
            "city": None,
            "state": None,
            "country": None,
            "source": "crm",
            "original_source": "crm",
            "label_ids": [pick(label_ids)] if uniform() < 0.3 else [],
            "typed_custom_fields": custom,
            "phone_numbers": [],
            "sanitized_phone": None,
            "emailer_campaign_ids": [],
            "contact_campaign_statuses": [],
            "last_activity_date": updated_iso if roll < 0.6 else None,
            "existence_level": "full",
            "created_at": iso_ms(created),
            "updated_at": updated_iso,
        }
        crm.contacts[contact["id"]] = contact


def _deals(
    crm: SeededCrm,
    world: World,
    count: int,
    ids: IdFactory,
    pick: Callable[[Sequence[Any]], Any],
    history: Callable[[int], tuple[int, int]],
    uniform: Callable[[], float],
    owner_ids: list[str],
    now_ms: int,
) -> None:
    accounts = list(crm.accounts.values())
    for _ in range(count):
        account = pick(accounts) if accounts else None
        stage = pick(world.opportunity_stages)
        created, updated = history(now_ms)
        deal: Record = {
            "id": ids.new("opportunity"),
            "team_id": world.team_id,
            "owner_id": pick(owner_ids),
            "salesforce_owner_id": None,
            "amount": float(1000 * (1 + int(uniform() * 200))),
            "closed_date": iso_ms(updated)[:10] if stage["is_closed"] else None,
            "account_id": account["id"] if account else None,
            "description": None,
            "is_closed": stage["is_closed"],
            "is_won": stage["is_won"],
            "name": f"{account['name'] if account else 'Direct'} - {pick(_DEAL_PRODUCTS)}",
            "stage_name": stage["name"],
            "opportunity_stage_id": stage["id"],
            "source": "crm",
            "salesforce_id": None,
            "created_at": iso_ms(created),
            "stage_updated_at": iso_ms(updated),
            "last_activity_date": iso_ms(updated) if uniform() < 0.5 else None,
            "existence_level": "full",
            "opportunity_contact_roles": [],
            "num_contacts": 0,
        }
        crm.opportunities[deal["id"]] = deal
        crm.hidden_updated_at[deal["id"]] = iso_ms(updated)


def _tasks(
    crm: SeededCrm,
    count: int,
    ids: IdFactory,
    pick: Callable[[Sequence[Any]], Any],
    history: Callable[[int], tuple[int, int]],
    uniform: Callable[[], float],
    owner_ids: list[str],
    now_ms: int,
) -> None:
    contacts = list(crm.contacts.values())
    for _ in range(count if contacts else 0):
        contact = pick(contacts)
        created, updated = history(now_ms)
        roll = uniform()
        status = "completed" if roll < 0.4 else "skipped" if roll < 0.5 else "scheduled"
        task: Record = {
            "id": ids.new("task"),
            "user_id": pick(owner_ids),
            "created_at": iso_ms(created),
            "completed_at": iso_ms(updated) if status == "completed" else None,
            "skipped_at": iso_ms(updated) if status == "skipped" else None,
            "note": None,
            "due_at": iso_ms(created + int(uniform() * 14 * 86_400_000)),
            "type": pick(_TASK_TYPES),
            "priority": pick(("high", "medium", "low")),
            "status": status,
            "answered": None,
            "contact_id": contact["id"],
            "person_id": None,
            "account_id": contact["account_id"],
            "organization_id": contact["organization_id"],
            "emailer_campaign_id": None,
            "subject": f"Follow up with {contact['name']}",
            "created_from": "crm",
            "starred_by_user_ids": [],
        }
        crm.tasks[task["id"]] = task
        crm.hidden_updated_at[task["id"]] = iso_ms(updated if status != "scheduled" else created)
