"""How a warehouse row becomes an Apollo contact or account, and what of it differs from Apollo.

Pure knowledge for the warehouse -> Apollo upsert (``transfers/sql_to_apollo.py``): the fields
each object takes, the targets a ``field_map`` may name, how a cell is read and normalised, how a
record's current value is read, and the smallest change that makes the record match the row.
No Airflow, no I/O: the names of stages, owners, labels and custom fields arrive already
resolved to ids (:class:`Vocabulary`).

Targets of a ``field_map`` (column -> target):

- a standard field of the object (``first_name``, ``email``, ``domain``...), sent as is;
- ``id``: the Apollo id (only as the match key);
- ``stage``: a stage **name** (``contact_stage_id`` / ``account_stage_id`` is sent);
- ``owner``: a team user's **email** (``owner_id`` is sent);
- ``labels``: label **names** (a list, or text separated by ``,`` or ``;``); labels are added,
  never removed (a rep's own labels survive), so "matches" means "has at least these labels";
- ``custom:<name>``: a custom field by its name (``typed_custom_fields: {id: value}`` is sent).

An empty cell (NULL, ``""``) leaves Apollo's value as it is: the upsert never clears a field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from airflow_provider_apollo._api.email_addresses import email_problem
from airflow_provider_apollo.exceptions import ApolloConfigurationError

CUSTOM_PREFIX = "custom:"
MATCH_CUSTOM_PREFIX = "custom_field:"
#: Per bulk_create request (apollo-api-notes.md: contacts and accounts ``bulk_create`` take <= 100).
CREATE_BATCH = 100
#: Per bulk_update request. Apollo's current reference allows 1,000 contacts per request but
#: processes more than 100 asynchronously (the answer no longer carries the updated records),
#: so batches of 100 keep every answer synchronous and a failed batch small.
UPDATE_BATCH = 100

_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class InvalidCell(ValueError):
    """A cell that cannot be sent: ``column`` and ``reason`` go to the row's report."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


@dataclass(frozen=True)
class UpsertObject:
    """An object the upsert writes.

    :param name: ``contacts`` or ``accounts``.
    :param singular: ``contact`` or ``account`` (the custom fields' modality).
    :param fields: the standard fields a row may set.
    :param stage_field: the record's stage id field.
    :param match_keys: the standard match keys besides ``id`` and a custom field.
    """

    name: str
    singular: str
    fields: tuple[str, ...]
    stage_field: str
    match_keys: tuple[str, ...]


UPSERT_OBJECTS: dict[str, UpsertObject] = {
    "contacts": UpsertObject(
        "contacts",
        "contact",
        (
            "first_name",
            "last_name",
            "title",
            "organization_name",
            "email",
            "linkedin_url",
            "present_raw_address",
            "account_id",
        ),
        "contact_stage_id",
        ("email",),
    ),
    "accounts": UpsertObject(
        "accounts", "account", ("name", "domain", "phone", "raw_address"), "account_stage_id", ("domain",)
    ),
}


def upsert_object(name: Any) -> UpsertObject:
    """The object called ``name``; a clear error naming ``object`` otherwise."""
    if name not in UPSERT_OBJECTS:
        raise ApolloConfigurationError(f"object must be one of {sorted(UPSERT_OBJECTS)}; got {name!r}.")
    return UPSERT_OBJECTS[name]


@dataclass(frozen=True)
class FieldMapping:
    """A checked ``field_map`` and match key.

    :param obj: the object.
    :param columns: ``column -> target`` in the user's order.
    :param match_on: ``id``, ``email``, ``domain`` or ``custom_field:<name>``.
    :param match_column: the column holding the match key.
    """

    obj: UpsertObject
    columns: dict[str, str]
    match_on: str
    match_column: str

    @property
    def match_target(self) -> str:
        """The target of the match column (``email``, ``custom:External Id``...)."""
        return self.columns[self.match_column]

    @property
    def custom_names(self) -> list[str]:
        """The custom fields mapped, by name."""
        return [t[len(CUSTOM_PREFIX) :] for t in self.columns.values() if t.startswith(CUSTOM_PREFIX)]


def check_mapping(obj: UpsertObject, field_map: Any, match_on: Any) -> FieldMapping:
    """Validate ``field_map`` and ``match_on`` before any request (errors name the argument).

    :param obj: the object written.
    :param field_map: ``{column: target}``.
    :param match_on: the match key.
    """
    if not isinstance(field_map, Mapping) or not field_map:
        raise ApolloConfigurationError(
            "field_map must be a non-empty mapping of {column: Apollo field}; e.g. "
            '{"email": "email", "stage": "stage", "owner_email": "owner", "score": "custom:ICP Score"}.'
        )
    allowed = {*obj.fields, "id", "stage", "owner", "labels"}
    columns: dict[str, str] = {}
    for column, target in field_map.items():
        if not isinstance(column, str) or not column or not isinstance(target, str) or not target:
            raise ApolloConfigurationError(f"field_map entries must be text: {column!r}: {target!r}.")
        custom = target.startswith(CUSTOM_PREFIX) and target[len(CUSTOM_PREFIX) :].strip()
        if target not in allowed and not custom:
            raise ApolloConfigurationError(
                f"field_map[{column!r}] = {target!r} is not a {obj.singular} field. Use one of "
                f"{sorted(allowed)} or 'custom:<custom field name>'."
            )
        if target in columns.values():
            raise ApolloConfigurationError(f"field_map maps two columns to {target!r}; keep one.")
        columns[column] = target
    if not isinstance(match_on, str):
        raise ApolloConfigurationError(f"match_on must be text; got {match_on!r}.")
    if match_on.startswith(MATCH_CUSTOM_PREFIX):
        wanted = CUSTOM_PREFIX + match_on[len(MATCH_CUSTOM_PREFIX) :]
    elif match_on in ("id", *obj.match_keys):
        wanted = match_on
    else:
        raise ApolloConfigurationError(
            f"match_on for {obj.name} must be 'id', {', '.join(repr(k) for k in obj.match_keys)} or "
            f"'custom_field:<custom field name>' (the warehouse's own id); got {match_on!r}."
        )
    match_column = next((c for c, t in columns.items() if t == wanted), None)
    if match_column is None:
        raise ApolloConfigurationError(
            f"match_on={match_on!r} needs a column mapped to {wanted!r} in field_map; add one."
        )
    if "id" in columns.values() and match_on != "id":
        raise ApolloConfigurationError("field_map may map a column to 'id' only with match_on='id'.")
    return FieldMapping(obj, columns, match_on, match_column)


@dataclass
class Vocabulary:
    """Names resolved to ids, read once per run from Apollo.

    :param stages: stage name (lower case) -> id.
    :param owners: user email (lower case) -> user id.
    :param labels: label name (lower case) -> id, for this object's labels.
    :param custom: custom field name (lower case) -> ``(id, type)``.
    """

    stages: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    custom: dict[str, tuple[str, str]] = field(default_factory=dict)

    def custom_field(self, name: str) -> tuple[str, str]:
        """``(id, type)`` of the custom field ``name``; a configuration error listing the known."""
        found = self.custom.get(name.strip().lower())
        if found is None:
            raise ApolloConfigurationError(
                f"field_map names the custom field {name!r}, which Apollo does not have for this object "
                f"(known: {sorted(self.custom) or 'none'}). Create it in Apollo or fix field_map."
            )
        return found


def text(value: Any) -> str | None:
    """A cell as text; ``None`` for NULL or blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).strip()
    return result or None


def normal_domain(value: Any) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; ``None`` when blank."""
    raw = text(value)
    if raw is None:
        return None
    host = re.sub(r"^[a-z]+://", "", raw.lower()).split("/")[0].split("?")[0].split(":")[0]
    return host[4:] if host.startswith("www.") else host


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("a boolean")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


def custom_value(kind: str, value: Any) -> Any:
    """A custom field value in the form Apollo stores it (numbers as numbers, dates ``YYYY-MM-DD``)."""
    if kind == "number":
        return _number(value)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError("not true or false")
    return str(value).strip() if isinstance(value, str) else text(value)


def label_names(value: Any) -> list[str]:
    """Label names of a cell: a list, or text separated by ``,`` or ``;``."""
    items = value if isinstance(value, list | tuple) else re.split(r"[,;]", str(value))
    return [name for name in (text(item) for item in items) if name]


def desired_fields(mapping: FieldMapping, vocabulary: Vocabulary, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row as Apollo values (``{field: value}``, custom fields under ``typed_custom_fields``).

    Blank cells are left out (the upsert never clears a field).

    :raises InvalidCell: naming the column and why (the row is reported invalid, never sent).
    """
    wanted: dict[str, Any] = {}
    for column, target in mapping.columns.items():
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column == mapping.match_column:
                raise InvalidCell(column, f"the match key ({mapping.match_on}) is empty")
            continue
        if target.startswith(CUSTOM_PREFIX):
            field_id, kind = vocabulary.custom_field(target[len(CUSTOM_PREFIX) :])
            try:
                converted = custom_value(kind, value)
            except ValueError as error:
                raise InvalidCell(column, f"{value!r} is not a valid {kind} ({error})") from None
            wanted.setdefault("typed_custom_fields", {})[field_id] = converted
        else:
            wanted.update(_standard(mapping.obj, vocabulary, column, target, value))
    return wanted


def _standard(
    obj: UpsertObject, vocabulary: Vocabulary, column: str, target: str, value: Any
) -> dict[str, Any]:
    """One non-custom cell as ``{field: value}`` (names resolved to ids)."""
    if target == "email":
        email = str(text(value)).lower()
        # Apollo creates a contact without an email it finds invalid: it could never be
        # matched again, and each re-run would create another.
        problem = email_problem(email)
        if problem:
            raise InvalidCell(column, f"{email!r} is not an email address: {problem}")
        return {"email": email}
    if target == "domain":
        domain = normal_domain(value)
        if domain is None or not _DOMAIN.match(domain):
            raise InvalidCell(column, f"{value!r} is not a domain")
        return {"domain": domain}
    if target == "stage":
        stage = vocabulary.stages.get(str(text(value)).lower())
        if stage is None:
            raise InvalidCell(column, f"Apollo has no {obj.singular} stage named {text(value)!r}")
        return {obj.stage_field: stage}
    if target == "owner":
        owner = vocabulary.owners.get(str(text(value)).lower())
        if owner is None:
            raise InvalidCell(column, f"no user of the team has the email {text(value)!r}")
        return {"owner_id": owner}
    if target == "labels":
        ids = []
        for name in label_names(value):
            label = vocabulary.labels.get(name.lower())
            if label is None:
                raise InvalidCell(column, f"Apollo has no {obj.name} label named {name!r}")
            ids.append(label)
        return {"label_ids": sorted(set(ids))} if ids else {}
    return {target: text(value)}


def match_value(mapping: FieldMapping, wanted: Mapping[str, Any], vocabulary: Vocabulary) -> str:
    """The row's match key, normalised as :func:`record_match_values` reads records."""
    target = mapping.match_target
    if target.startswith(CUSTOM_PREFIX):
        field_id, _ = vocabulary.custom_field(target[len(CUSTOM_PREFIX) :])
        return _key_text(wanted["typed_custom_fields"][field_id])
    return _key_text(wanted[target])


def record_match_values(
    mapping: FieldMapping, record: Mapping[str, Any], vocabulary: Vocabulary
) -> str | None:
    """The record's value of the match key (normalised), or ``None`` when it has none."""
    target = mapping.match_target
    if target.startswith(CUSTOM_PREFIX):
        field_id, _ = vocabulary.custom_field(target[len(CUSTOM_PREFIX) :])
        value = (record.get("typed_custom_fields") or {}).get(field_id)
    elif target == "domain":
        value = normal_domain(record.get("domain"))
    else:
        value = record.get(target)
    return None if value is None else _key_text(value)


def _key_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        try:
            return current is not None and float(current) == float(wanted)
        except (TypeError, ValueError):
            return False
    if isinstance(wanted, str):
        return isinstance(current, str) and current.strip() == wanted
    return bool(current == wanted)


def changes(obj: UpsertObject, wanted: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields to send so that ``record`` matches ``wanted``: empty when nothing differs.

    Emails compare case-insensitively, domains by host, labels by inclusion (the union is
    sent), custom fields one by one (only the changed ids are sent).
    """
    update: dict[str, Any] = {}
    for name, value in wanted.items():
        current = record.get(name)
        if name == "typed_custom_fields":
            have = record.get("typed_custom_fields") or {}
            changed = {fid: v for fid, v in value.items() if not _same(have.get(fid), v)}
            if changed:
                update[name] = changed
        elif name == "label_ids":
            have_labels = list(current or [])
            missing = [label for label in value if label not in have_labels]
            if missing:
                update[name] = [*have_labels, *missing]
        elif name == "email":
            if str(current or "").strip().lower() != value:
                update[name] = value
        elif name == "domain":
            if normal_domain(current) != value:
                update[name] = value
        elif not _same(current, value):
            update[name] = value
    return update


def changed_names(update: Mapping[str, Any], custom_names: Mapping[str, str]) -> list[str]:
    """The names of the changed fields for the report (custom fields by their name)."""
    names = [name for name in update if name != "typed_custom_fields"]
    names += [f"{CUSTOM_PREFIX}{custom_names.get(fid, fid)}" for fid in update.get("typed_custom_fields", {})]
    return names


def compact(record: Mapping[str, Any], keep: Sequence[str]) -> dict[str, Any]:
    """The members of ``record`` an upsert compares (keeps a walk's index small)."""
    return {name: record.get(name) for name in ("id", *keep) if name in record}
