"""ApolloHook: the one place that talks to the Apollo.io REST API.

Endpoint methods say *what* is sent; :meth:`ApolloHook.request` says *how*: the
authentication header, timeout, quota pacing (``quota.py``), retries (``retry.py``) and the
mapping of failures to typed errors (``http_errors.py``). Pagination, bulk batching and
filter validation live in ``pagination.py``, ``batching.py`` and ``filters.py``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk.bases.hook import BaseHook

from airflow_provider_apollo import __version__
from airflow_provider_apollo.batching import (
    BULK_ENRICH_CHUNK,
    chunked,
    is_matched_person,
    mobile_phone_returned,
    normalize_linkedin,
    realign_organizations,
    realign_people,
    validate_domains,
    validate_person_details,
)
from airflow_provider_apollo.connection import ApolloConnectionConfig, read_connection
from airflow_provider_apollo.endpoints import normalize_path, path_template
from airflow_provider_apollo.exceptions import (
    ApolloAmbiguousWriteError,
    ApolloConfigurationError,
    ApolloError,
    ApolloNotFoundError,
    ApolloPermissionError,
    ApolloRateLimitError,
    ApolloResponseError,
    ApolloTransientError,
    ApolloUnreadableWriteError,
)
from airflow_provider_apollo.filters import prepare_filters
from airflow_provider_apollo.http_errors import error_for_response, scrub, shorten
from airflow_provider_apollo.pagination import (
    MAX_PER_PAGE,
    SEARCH_PAGE_CAP,
    PageProgress,
    iter_records,
    page_info,
    page_records,
    validate_max_records,
    validate_per_page,
)
from airflow_provider_apollo.quota import QuotaStatus, QuotaTracker
from airflow_provider_apollo.record_matching import ACCOUNTS, CONTACTS, IdentityScheme, order_like_inputs
from airflow_provider_apollo.retry import RetryPolicy, call_with_retries
from airflow_provider_apollo.task_filters import TaskSelection
from airflow_provider_apollo.task_owner import TaskOwner, cannot_list_users, choose_task_owner
from airflow_provider_apollo.task_types import TASK_PRIORITIES, TASK_TYPES
from airflow_provider_apollo.webhooks import public_https_url

CRM_BULK_CHUNK = 100  # contacts/accounts bulk_create and bulk_update take at most 100
JOB_POSTINGS_MAX_PER_PAGE = 10_000
SEQUENCE_REMOVAL_MODES = ("remove", "mark_as_finished", "stop")
_PEOPLE_SPLIT_HINT = "by person_locations, person_seniorities or organization_num_employees_ranges"
_ORGANIZATION_SPLIT_HINT = "by organization_locations or organization_num_employees_ranges (size ranges)"


if TYPE_CHECKING:
    import requests

# ``requests`` (with urllib3) is imported where a request is made, not at module level:
# DAG files import the operators, and so this module, at every parse.


def _failed_before_sending(exc: requests.exceptions.RequestException) -> bool:
    """Whether the connection failed while connecting, so Apollo never saw the request."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.SSLError
    ):
        reason: Any = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
        # NewConnectionError and NameResolutionError are ConnectTimeoutError subclasses.
        return isinstance(reason, ConnectTimeoutError)
    return False


def _require_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApolloConfigurationError(f"{name} must be a non-empty string; got {value!r}.")
    return quote(value.strip(), safe="")


def _require_ids(values: Any, name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ApolloConfigurationError(f"{name} must be a non-empty list of ids; got {values!r}.")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ApolloConfigurationError(f"{name}[{index}] must be a non-empty string id; got {value!r}.")
    return [v.strip() for v in values]


def _require_records(values: Any, name: str, *, require_id: bool = False) -> list[dict[str, Any]]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ApolloConfigurationError(f"{name} must be a list of mappings.")
    records = []
    for index, value in enumerate(values):
        if not isinstance(value, Mapping):
            raise ApolloConfigurationError(f"{name}[{index}] must be a mapping; got {type(value).__name__}.")
        if require_id and not (isinstance(value.get("id"), str) and value["id"].strip()):
            raise ApolloConfigurationError(f"{name}[{index}] needs the 'id' of the record to update.")
        records.append(dict(value))
    return records


def _require_page(page: int) -> int:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ApolloConfigurationError(f"page must be a whole number from 1; got {page!r}.")
    return page


def _contact_lookup_keys(record: Mapping[str, Any]) -> list[str]:
    """Keys in matching priority: email, LinkedIn URL, first + last name + company."""
    keys = []
    email = record.get("email")
    if isinstance(email, str) and email.strip():
        keys.append(f"email:{email.strip().lower()}")
    linkedin = normalize_linkedin(record.get("linkedin_url"))
    if linkedin:
        keys.append(f"linkedin:{linkedin}")
    organization = record.get("organization")
    company = record.get("organization_name") or (
        organization.get("name") if isinstance(organization, Mapping) else None
    )
    parts = [record.get("first_name"), record.get("last_name"), company]
    if all(isinstance(v, str) and v.strip() for v in parts):
        first, last, company_name = (" ".join(str(v).lower().split()) for v in parts)
        keys.append(f"name+company:{first} {last}|{company_name}")
    return keys


class ApolloHook(BaseHook):
    """Interact with the Apollo.io API (https://api.apollo.io/api/v1).

    Authentication, timeouts, retries (tenacity), quota pacing from Apollo's rate-limit
    headers, pagination and bulk batching all happen here, so operators stay thin.
    Constructing the hook is cheap: the connection is read at the first request.

    :param apollo_conn_id: Airflow connection of type ``apollo``; the password is the API key.
    :param timeout: seconds per request; overrides the connection extra ``timeout`` (default 30).
    :param max_retries: retries for 429/5xx/connection errors; overrides extra ``max_retries`` (default 5).
    :param sleep: how to wait (backoff, ``Retry-After``, quota pacing); default ``time.sleep``.
    :param clock: monotonic clock for quota pacing; default ``time.monotonic``.
    """

    conn_name_attr = "apollo_conn_id"
    default_conn_name = "apollo_default"
    conn_type = "apollo"
    hook_name = "Apollo"

    def __init__(
        self,
        apollo_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        self.apollo_conn_id = apollo_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self._counters_lock = threading.Lock()
        self._requests_sent = 0
        self._credits_spent = 0.0

    # ------------------------------------------------------------- connection UI
    @staticmethod
    def _connection_type_info() -> dict[str, Any]:
        from airflow_provider_apollo.get_provider_info import get_provider_info

        info: dict[str, Any] = get_provider_info()["connection-types"][0]
        return info

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form, built from provider info's ``conn-fields``.

        Airflow 3.2+ reads ``conn-fields`` itself; Airflow 3.0/3.1 call this method and get
        WTForms fields. Without the UI toolkit (Flask-AppBuilder/WTForms are not installed on
        workers) the plain ``conn-fields`` declarations are returned, so the names always agree.
        """
        fields: dict[str, Any] = cls._connection_type_info()["conn-fields"]
        try:
            from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
            from flask_babel import lazy_gettext
            from wtforms import FloatField, IntegerField, StringField
            from wtforms.validators import AnyOf, NumberRange, Optional
        except ImportError:
            return dict(fields)
        widgets: dict[str, Any] = {}
        for name, spec in fields.items():
            schema = spec["schema"]
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            validators: list[Any] = [Optional()]
            if "minimum" in schema:
                validators.append(NumberRange(min=schema["minimum"]))
            if "enum" in schema:
                validators.append(AnyOf(schema["enum"]))
            field_class = (
                IntegerField if "integer" in types else FloatField if "number" in types else StringField
            )
            widgets[name] = field_class(
                lazy_gettext(spec["label"]),
                validators=validators,
                widget=BS3TextFieldWidget(),
                default=schema.get("default"),
                description=spec.get("description", ""),
            )
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden, relabelled and placeholder fields, from provider info's ``ui-field-behaviour``."""
        behaviour = cls._connection_type_info()["ui-field-behaviour"]
        return {
            "hidden_fields": list(behaviour["hidden-fields"]),
            "relabeling": dict(behaviour["relabeling"]),
            "placeholders": dict(behaviour["placeholders"]),
        }

    # ----------------------------------------------------------------- plumbing
    @cached_property
    def config(self) -> ApolloConnectionConfig:
        """The validated connection settings (read once, at first use)."""
        config = read_connection(
            self.get_connection(self.apollo_conn_id),
            timeout=self._timeout_override,
            max_retries=self._max_retries_override,
        )
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(config.api_key)
        except ImportError:  # pragma: no cover - older task SDK
            pass
        return config

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]/api/v1`` of the connection."""
        return self.config.base_url

    @cached_property
    def quota(self) -> QuotaTracker:
        """Per-endpoint rate-limit knowledge and pacing decisions."""
        return QuotaTracker(max_quota_wait=self.config.max_quota_wait, clock=self._clock)

    @cached_property
    def session(self) -> requests.Session:
        """The HTTP session: JSON, no caching, authentication header, TLS verification on."""
        import requests

        session = requests.Session()
        session.headers.update(
            {
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Cache-Control": "no-cache",
                "User-Agent": f"airflow-provider-apollo/{__version__}",
                **self.config.auth_headers(),
            }
        )
        session.verify = True
        return session

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (what ``BaseHook`` calls the connection)."""
        return self.session

    def quota_status(self, endpoint: str) -> QuotaStatus | None:
        """Rate-limit status of ``endpoint`` (a path like ``people/bulk_match``) after its last answer.

        :param endpoint: endpoint path or template, relative to ``/api/v1``.
        """
        return self.quota.status(path_template(normalize_path(endpoint)))

    @property
    def credits_spent(self) -> float:
        """Credits this hook instance has spent so far (from Apollo's answers)."""
        return self._credits_spent

    @property
    def requests_sent(self) -> int:
        """HTTP requests this hook instance has sent so far, retries included."""
        return self._requests_sent

    def _add_credits(self, credits: float) -> None:
        with self._counters_lock:
            self._credits_spent += credits

    def _quota_text(self, endpoint: str) -> str:
        status = self.quota.status(endpoint)
        return status.describe() if status else "no quota reported yet"

    # ----------------------------------------------------------------- transport
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        creates: bool = False,
        idempotent: bool = True,
        max_retries: int | None = None,
    ) -> Any:
        """Send one request to ``{base_url}/{path}`` and return the decoded JSON body.

        ``creates=True`` with ``idempotent=False`` marks a request that creates something
        Apollo never deduplicates (tasks): it is only retried when the server cannot have
        acted on it (429, connection refused); otherwise ``ApolloAmbiguousWriteError``.

        :param method: HTTP method.
        :param path: endpoint path relative to ``/api/v1`` (e.g. ``contacts/search``).
        :param params: query parameters (never the API key).
        :param json: JSON body (never the API key).
        :param creates: the request creates a record.
        :param idempotent: sending it twice cannot create a duplicate.
        :param max_retries: overrides the connection's retry budget for this call.
        :raises ApolloError: a subclass per failure kind (see ``exceptions.py``).
        """
        relative = normalize_path(path)
        for name, payload in (("params", params), ("json", json)):
            if payload is not None and "api_key" in payload:
                raise ApolloConfigurationError(
                    f"{name} must not carry 'api_key': the key travels only in the authentication "
                    "header (it would leak into URLs and logs). Remove it; the connection supplies it."
                )
        template = path_template(relative)
        verb = method.upper()
        unsafe_write = creates and not idempotent
        policy = RetryPolicy(
            max_retries=self.config.max_retries if max_retries is None else max_retries,
            pacer_waits_retry_after=True,  # self.quota learns Retry-After and _pace() waits it out
        )

        def attempt() -> Any:
            return self._send_once(verb, relative, template, params, json, unsafe_write=unsafe_write)

        return call_with_retries(
            attempt, policy=policy, sleep=self._sleep, description=f"{verb} {relative}", log=self.log
        )

    def _pace(self, template: str) -> None:
        decision = self.quota.plan(template)
        if decision.wait > 0:
            self.log.info(
                "%s: the %s window is closed; waiting %.1f s for it to reopen.",
                template,
                decision.window,
                decision.wait,
            )
            self._sleep(decision.wait)
        elif decision.probe:
            self.log.info(
                "%s: the %s window reported 0 requests left; sending one request to learn when it reopens.",
                template,
                decision.window,
            )

    def _send_once(
        self,
        method: str,
        relative: str,
        template: str,
        params: Mapping[str, Any] | None,
        json: Mapping[str, Any] | None,
        *,
        unsafe_write: bool,
    ) -> Any:
        import requests

        config = self.config
        where = f"{method} {relative}"
        self._pace(template)
        with self._counters_lock:
            self._requests_sent += 1
        self.log.debug("Apollo request: %s", where)
        try:
            response = self.session.request(
                method,
                f"{config.base_url}/{relative}",
                params=dict(params) if params is not None else None,
                json=dict(json) if json is not None else None,
                timeout=config.timeout,
                # A redirect would carry X-Api-Key to whatever host it names.
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            self.quota.release(template)
            raise self._network_error(exc, where, unsafe_write=unsafe_write) from None
        self.quota.observe(template, response.headers)
        status = response.status_code
        if 300 <= status < 400:
            # Not retried: a redirect means the base URL points at the wrong place.
            raise ApolloConfigurationError(
                f"Apollo answered {where} with a redirect ({status}); redirects are not followed so the "
                "API key never reaches another host. Check the connection's base URL.",
                endpoint=relative,
                status_code=status,
            )
        if status >= 400:
            error = error_for_response(
                status,
                method=method,
                endpoint=relative,
                body_text=response.text,
                headers=response.headers,
                conn_id=config.conn_id,
                secret=config.api_key,
            )
            if isinstance(error, ApolloRateLimitError):
                self.quota.observe_rate_limited(template, window=error.window, retry_after=error.retry_after)
            elif unsafe_write and isinstance(error, ApolloTransientError):
                raise ApolloAmbiguousWriteError(
                    f"{error} Apollo may have created the record before failing, so the request is not "
                    "resent: look for what exists before creating again.",
                    endpoint=relative,
                    status_code=status,
                )
            raise error
        return self._decode(response, where, relative, unsafe_write=unsafe_write)

    def _network_error(
        self, exc: requests.exceptions.RequestException, where: str, *, unsafe_write: bool
    ) -> ApolloTransientError:
        import requests

        if isinstance(exc, requests.exceptions.Timeout):
            what = f"no answer within {self.config.timeout:g} s"
        else:
            what = "the connection failed"
        detail = shorten(scrub(str(exc), self.config.api_key), 200)
        message = f"Could not get an answer from Apollo for {where}: {what} ({type(exc).__name__}: {detail})."
        endpoint = where.split(" ", 1)[1]
        if unsafe_write and not _failed_before_sending(exc):
            return ApolloAmbiguousWriteError(
                f"{message} The request may have reached Apollo and created the record, so it is not "
                "resent: look for what exists before creating again.",
                endpoint=endpoint,
            )
        return ApolloTransientError(message, endpoint=endpoint)

    def _decode(self, response: requests.Response, where: str, relative: str, *, unsafe_write: bool) -> Any:
        error_class = ApolloUnreadableWriteError if unsafe_write else ApolloResponseError
        text = response.text
        if not text.strip():
            if response.status_code == 204:
                return {}
            raise error_class(
                f"Apollo answered {where} with an empty body (HTTP {response.status_code}).",
                endpoint=relative,
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown")
            looks = "an HTML page" if text.lstrip().startswith("<") else "text that is not JSON"
            raise error_class(
                f"Apollo answered {where} with {looks} (HTTP {response.status_code}, Content-Type "
                f"{shorten(content_type, 80)}). A proxy or gateway may be in the way; check the base URL.",
                endpoint=relative,
                status_code=response.status_code,
            ) from None

    def _object(self, body: Any, where: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApolloResponseError(
                f"Apollo answered {where} with {type(body).__name__} where a JSON object was expected."
            )
        return body

    def _unwrap(self, body: Any, key: str, where: str) -> dict[str, Any]:
        value = self._object(body, where).get(key)
        if not isinstance(value, dict):
            raise ApolloResponseError(
                f"Apollo's answer to {where} has no {key!r} object (keys: {', '.join(sorted(body)[:10])})."
            )
        return value

    def _list(self, body: Any, key: str, where: str) -> list[dict[str, Any]]:
        """The records of a listing: ``{key: [...]}``, or a bare list (``labels`` answers one)."""
        endpoint = where.split(" ", 1)[-1]
        if not isinstance(body, list):
            return page_records(body, [key], where=where, endpoint=endpoint)
        for index, record in enumerate(body):
            if not isinstance(record, dict):
                raise ApolloResponseError(
                    f"Apollo answered {where} with a list whose item {index} is not an object "
                    f"({type(record).__name__}).",
                    endpoint=endpoint,
                )
        return body

    def _page_logger(self, template: str, what: str) -> Callable[[PageProgress], None]:
        def log_page(progress: PageProgress) -> None:
            pages = f"{progress.page}/{progress.total_pages}" if progress.total_pages else str(progress.page)
            total = f"/{progress.total_entries}" if progress.total_entries is not None else ""
            self.log.info(
                "%s: page %s — %d%s %s so far — %s",
                template,
                pages,
                progress.records_so_far,
                total,
                what,
                self._quota_text(template),
            )

        return log_page

    def test_connection(self) -> tuple[bool, str]:
        """``GET /auth/health``: ``(True, "...")`` when the key is accepted; never raises."""
        try:
            body = self.request("GET", "auth/health", max_retries=0)
        except ApolloError as exc:
            return False, str(exc)
        except Exception as exc:  # the UI's "Test" button must get an answer, never a traceback
            # ``config`` is a cached_property: present in __dict__ only once it was read.
            secret = self.__dict__["config"].api_key if "config" in self.__dict__ else None
            return False, shorten(scrub(f"{type(exc).__name__}: {exc}", secret))
        if isinstance(body, Mapping) and body.get("is_logged_in") is True:
            return True, f"Connected to Apollo at {self.base_url}"
        return False, (
            f"Apollo at {self.base_url} answered auth/health without is_logged_in=true: the key was not "
            f"accepted. Check the password of connection '{self.apollo_conn_id}'."
        )

    # -------------------------------------------------------------- people search
    def search_people(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100, legacy: bool = False
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_people/api_search`` (0 credits); ``legacy=True`` uses
        ``/mixed_people/search``. Unknown filter keys raise ``ApolloConfigurationError``.

        :param filters: people search filters (see ``filters.PEOPLE_SEARCH_FILTERS``).
        :param page: 1-based page number (Apollo shows at most 500 pages).
        :param per_page: 1..100.
        :param legacy: use the legacy route (answers 422 for API callers nowadays).
        """
        body = prepare_filters("people search", filters)
        path = "mixed_people/search" if legacy else "mixed_people/api_search"
        page, per_page = _require_page(page), validate_per_page(per_page)
        answer = self.request("POST", path, json={**body, "page": page, "per_page": per_page})
        return self._object(answer, f"POST {path}")

    def iter_people(
        self,
        filters: Mapping[str, Any],
        *,
        max_records: int | None = None,
        per_page: int = 100,
        legacy: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Every matching person, page after page, up to ``max_records`` and the 50,000 cap.

        :param filters: people search filters.
        :param max_records: stop after this many people (``None``: all Apollo shows).
        :param per_page: 1..100 (100 reaches the 50,000 cap in 500 pages).
        :param legacy: use ``/mixed_people/search``.
        """
        body = prepare_filters("people search", filters)
        per_page, max_records = validate_per_page(per_page), validate_max_records(max_records)
        path = "mixed_people/search" if legacy else "mixed_people/api_search"

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request("POST", path, json={**body, "page": page, "per_page": per_page})
            return self._object(answer, f"POST {path}")

        yield from iter_records(
            fetch,
            records_keys=["contacts", "people"] if legacy else ["people"],
            per_page=per_page,
            max_records=max_records,
            max_pages=SEARCH_PAGE_CAP,
            what="people",
            split_hint=_PEOPLE_SPLIT_HINT,
            on_page=self._page_logger(path, "people"),
            endpoint=path,
        )

    def search_organizations(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /mixed_companies/search`` (1 credit per page).

        :param filters: organization search filters (see ``filters.ORGANIZATION_SEARCH_FILTERS``).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        body = prepare_filters("organization search", filters)
        page, per_page = _require_page(page), validate_per_page(per_page)
        return self._organization_page(body, page, per_page)

    def _organization_page(self, body: Mapping[str, Any], page: int, per_page: int) -> dict[str, Any]:
        answer = self.request(
            "POST", "mixed_companies/search", json={**body, "page": page, "per_page": per_page}
        )
        self._add_credits(1)
        return self._object(answer, "POST mixed_companies/search")

    def iter_organizations(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching organization (``organizations`` then ``accounts`` of each page).

        :param filters: organization search filters.
        :param max_records: stop after this many (``None``: all Apollo shows). Each page costs 1 credit.
        :param per_page: 1..100.
        """
        body = prepare_filters("organization search", filters)
        per_page, max_records = validate_per_page(per_page), validate_max_records(max_records)
        yield from iter_records(
            lambda page: self._organization_page(body, page, per_page),
            records_keys=["organizations", "accounts"],
            per_page=per_page,
            max_records=max_records,
            max_pages=SEARCH_PAGE_CAP,
            what="organizations",
            split_hint=_ORGANIZATION_SPLIT_HINT,
            on_page=self._page_logger("mixed_companies/search", "organizations"),
            endpoint="mixed_companies/search",
        )

    # ---------------------------------------------------------------- enrichment
    @staticmethod
    def _reveal_options(
        reveal_personal_emails: bool, reveal_phone_number: bool, webhook_url: str | None
    ) -> dict[str, Any]:
        if reveal_phone_number and not webhook_url:
            raise ApolloConfigurationError(
                "reveal_phone_number=True needs webhook_url: Apollo delivers phone numbers later, "
                "to that webhook, not in the answer."
            )
        options: dict[str, Any] = {
            "reveal_personal_emails": bool(reveal_personal_emails),
            "reveal_phone_number": bool(reveal_phone_number),
        }
        if webhook_url:
            options["webhook_url"] = public_https_url("webhook_url", webhook_url)
        return options

    @staticmethod
    def _person_credits(person: Mapping[str, Any]) -> float:
        return 1 + (8 if mobile_phone_returned(person) else 0)

    def enrich_person(
        self,
        details: Mapping[str, Any],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
    ) -> dict[str, Any] | None:
        """``POST /people/match``; ``None`` when Apollo found no one (its 200 stub).

        1 credit per match (+8 when a mobile number is returned); 0 when nothing matched.

        :param details: who to match: ``id``, ``email``, ``linkedin_url`` or a name with
            ``domain``/``organization_name``.
        :param reveal_personal_emails: ask for personal emails (never for GDPR regions).
        :param reveal_phone_number: ask for phone numbers (needs ``webhook_url``).
        :param webhook_url: where Apollo posts phone numbers.
        """
        (detail,) = validate_person_details([details])
        options = self._reveal_options(reveal_personal_emails, reveal_phone_number, webhook_url)
        answer = self._object(
            self.request("POST", "people/match", json={**detail, **options}), "POST people/match"
        )
        if "person" not in answer:
            raise ApolloResponseError(
                "Apollo's answer to POST people/match has no 'person' key.", endpoint="people/match"
            )
        person = answer["person"]
        if person is not None and not isinstance(person, dict):
            # Not Apollo's "no match" (a stub person without an id): a broken answer.
            raise ApolloResponseError(
                f"Apollo's answer to POST people/match has a 'person' that is not an object "
                f"({type(person).__name__}).",
                endpoint="people/match",
            )
        if person is None or not is_matched_person(person):
            self.log.info("people/match: no match — 0 credits — %s", self._quota_text("people/match"))
            return None
        credits = answer.get("credits_consumed")
        self._add_credits(
            float(credits) if isinstance(credits, (int, float)) else self._person_credits(person)
        )
        return dict(person)

    def bulk_enrich_people(
        self,
        details: Sequence[Mapping[str, Any]],
        *,
        reveal_personal_emails: bool = False,
        reveal_phone_number: bool = False,
        webhook_url: str | None = None,
    ) -> list[dict[str, Any] | None]:
        """Any number of people via ``POST /people/bulk_match`` in chunks of 10.

        Returns one entry per input, same order: the matched person or ``None``.

        :param details: the people to match (each as for :meth:`enrich_person`).
        :param reveal_personal_emails: ask for personal emails.
        :param reveal_phone_number: ask for phone numbers (needs ``webhook_url``).
        :param webhook_url: where Apollo posts phone numbers.
        """
        checked = validate_person_details(details)
        options = self._reveal_options(reveal_personal_emails, reveal_phone_number, webhook_url)
        results: list[dict[str, Any] | None] = []
        batches = math.ceil(len(checked) / BULK_ENRICH_CHUNK)
        for number, chunk in enumerate(chunked(checked, BULK_ENRICH_CHUNK), start=1):
            answer = self._object(
                self.request("POST", "people/bulk_match", json={"details": list(chunk), **options}),
                "POST people/bulk_match",
            )
            matches = answer.get("matches")
            if not isinstance(matches, list):
                raise ApolloResponseError("Apollo's answer to POST people/bulk_match has no 'matches' list.")
            placed, unplaced = realign_people(chunk, matches)
            if unplaced:
                self.log.warning(
                    "people/bulk_match: %d answer(s) of batch %d matched no input and were dropped.",
                    unplaced,
                    number,
                )
            credits = answer.get("credits_consumed")
            spent = (
                float(credits)
                if isinstance(credits, (int, float)) and not isinstance(credits, bool)
                else sum(self._person_credits(p) for p in placed if p is not None)
            )
            self._add_credits(spent)
            matched = sum(p is not None for p in placed)
            self.log.info(
                "people/bulk_match: batch %d/%d — %d matched, %d missing, %g credits — %s",
                number,
                batches,
                matched,
                len(chunk) - matched,
                spent,
                self._quota_text("people/bulk_match"),
            )
            results.extend(placed)
        return results

    def enrich_organization(self, domain: str) -> dict[str, Any] | None:
        """``GET /organizations/enrich?domain=``; ``None`` when Apollo answers ``{}``.

        :param domain: the company's domain (a website URL is reduced to its domain). 1 credit on a match.
        """
        (normalized,) = validate_domains([domain])
        answer = self._object(
            self.request("GET", "organizations/enrich", params={"domain": normalized}),
            "GET organizations/enrich",
        )
        organization = answer.get("organization")
        if organization is not None and not isinstance(organization, dict):
            # Apollo's "not found" is {} (no 'organization'); anything else is a broken answer.
            raise ApolloResponseError(
                f"Apollo's answer to GET organizations/enrich has an 'organization' that is not an "
                f"object ({type(organization).__name__}).",
                endpoint="organizations/enrich",
            )
        if not organization:
            return None
        self._add_credits(1)
        return organization

    def bulk_enrich_organizations(self, domains: Sequence[str]) -> list[dict[str, Any] | None]:
        """Any number of domains via ``POST /organizations/bulk_enrich`` in chunks of 10, aligned.

        Repeated domains are asked once. 1 credit per organization found.

        :param domains: company domains or website URLs.
        """
        normalized = validate_domains(domains)
        unique = list(dict.fromkeys(normalized))
        found: dict[str, dict[str, Any] | None] = {}
        batches = math.ceil(len(unique) / BULK_ENRICH_CHUNK)
        for number, chunk in enumerate(chunked(unique, BULK_ENRICH_CHUNK), start=1):
            answer = self._object(
                self.request("POST", "organizations/bulk_enrich", json={"domains": list(chunk)}),
                "POST organizations/bulk_enrich",
            )
            organizations = answer.get("organizations")
            if not isinstance(organizations, list):
                raise ApolloResponseError(
                    "Apollo's answer to POST organizations/bulk_enrich has no 'organizations' list."
                )
            placed, unplaced = realign_organizations(chunk, organizations)
            if unplaced:
                self.log.warning(
                    "organizations/bulk_enrich: %d organization(s) of batch %d matched none of the domains.",
                    unplaced,
                    number,
                )
            matched = sum(o is not None for o in placed)
            credits = answer.get("credits_consumed")
            spent = (
                float(credits)
                if isinstance(credits, (int, float)) and not isinstance(credits, bool)
                else matched
            )
            self._add_credits(spent)
            self.log.info(
                "organizations/bulk_enrich: batch %d/%d — %d matched, %d missing, %g credits — %s",
                number,
                batches,
                matched,
                len(chunk) - matched,
                spent,
                self._quota_text("organizations/bulk_enrich"),
            )
            found.update(zip(chunk, placed, strict=True))
        results: list[dict[str, Any] | None] = []
        for domain in normalized:
            organization = found.get(domain)
            results.append(dict(organization) if organization is not None else None)
        return results

    def iter_job_postings(
        self, organization_id: str, *, per_page: int = 100, max_records: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /organizations/{id}/job_postings``, every page (1 credit per page).

        :param organization_id: Apollo organization id (not an account id).
        :param per_page: 1..10,000: bigger pages cost fewer credits.
        :param max_records: stop after this many postings.
        """
        org_id = _require_id(organization_id, "organization_id")
        per_page = validate_per_page(per_page, maximum=JOB_POSTINGS_MAX_PER_PAGE)
        max_records = validate_max_records(max_records)
        path = f"organizations/{org_id}/job_postings"

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request("GET", path, params={"page": page, "per_page": per_page})
            self._add_credits(1)
            return self._object(answer, f"GET {path}")

        yield from iter_records(
            fetch,
            records_keys=["organization_job_postings"],
            per_page=per_page,
            max_records=max_records,
            what="job postings",
            on_page=self._page_logger("organizations/{id}/job_postings", "job postings"),
            endpoint=path,
        )

    # ------------------------------------------------------------------ contacts
    def create_contact(self, contact: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /contacts``; returns the contact record.

        :param contact: contact fields (``first_name``, ``email``, ``organization_name``...).
        :param run_dedupe: return the existing contact instead of creating a duplicate (also
            makes the request safe to retry).
        """
        (record,) = _require_records([contact], "contact")
        answer = self.request(
            "POST",
            "contacts",
            json={**record, "run_dedupe": bool(run_dedupe)},
            creates=True,
            idempotent=run_dedupe,
        )
        return self._unwrap(answer, "contact", "POST contacts")

    def _bulk_create(
        self,
        kind: str,
        records: list[dict[str, Any]],
        *,
        run_dedupe: bool,
        keys_of: IdentityScheme,
    ) -> list[dict[str, Any]]:
        path = f"{kind}/bulk_create"
        results: list[dict[str, Any]] = []
        batches = math.ceil(len(records) / CRM_BULK_CHUNK)
        for number, chunk in enumerate(chunked(records, CRM_BULK_CHUNK), start=1):
            answer = self._object(
                self.request(
                    "POST",
                    path,
                    json={kind: list(chunk), "run_dedupe": bool(run_dedupe)},
                    creates=True,
                    idempotent=run_dedupe,
                ),
                f"POST {path}",
            )
            answered = self._created_records(answer, kind, f"batch {number}/{batches} of POST {path}")
            ordered, unplaced = order_like_inputs(chunk, answered, keys_of)
            if unplaced:
                self.log.warning(
                    "%s: batch %d/%d — %d record(s) could not be matched to what was sent with "
                    "certainty (Apollo may have dropped an invalid email); they are listed last.",
                    path,
                    number,
                    batches,
                    unplaced,
                )
            self.log.info(
                "%s: batch %d/%d — %d created, %d already existed — %s",
                path,
                number,
                batches,
                len(answer.get(f"created_{kind}") or []),
                len(answer.get(f"existing_{kind}") or []),
                self._quota_text(path),
            )
            results.extend(ordered)
        return results

    @staticmethod
    def _created_records(answer: Mapping[str, Any], kind: str, where: str) -> list[dict[str, Any]]:
        """The created and existing records of a bulk create answer, or an ambiguous-write error.

        Apollo has most likely created the records even when its answer cannot be read, so the
        error is ``ApolloUnreadableWriteError``: look for what exists before creating again.
        """
        path = f"{kind}/bulk_create"
        try:
            return page_records(answer, [f"created_{kind}", f"existing_{kind}"], where=where, endpoint=path)
        except ApolloResponseError as error:
            raise ApolloUnreadableWriteError(
                f"{error} The {kind} sent may have been created: look for them before creating again "
                "(with run_dedupe, Apollo returns the existing ones instead of duplicating them).",
                endpoint=path,
            ) from None

    def bulk_create_contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_create`` in chunks of 100; created and existing records, input order.

        Records are ordered like the inputs they answer, matched by identity (person id,
        email, LinkedIn URL, name + company; see ``record_matching.py``), never by position;
        records no input claims with certainty come last, with a warning.

        :param contacts: contact fields, one mapping per contact.
        :param run_dedupe: return existing contacts instead of creating duplicates.
        """
        records = _require_records(contacts, "contacts")
        return self._bulk_create("contacts", records, run_dedupe=run_dedupe, keys_of=CONTACTS)

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        """``GET /contacts/{id}``.

        :param contact_id: Apollo contact id.
        """
        path = f"contacts/{_require_id(contact_id, 'contact_id')}"
        return self._unwrap(self.request("GET", path), "contact", f"GET {path}")

    def update_contact(self, contact_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /contacts/{id}``.

        :param contact_id: Apollo contact id.
        :param fields: the fields to change.
        """
        path = f"contacts/{_require_id(contact_id, 'contact_id')}"
        (body,) = _require_records([fields], "fields")
        return self._unwrap(self.request("PATCH", path, json=body), "contact", f"PATCH {path}")

    def bulk_update_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /contacts/bulk_update`` (each entry carries its ``id``), in chunks of 100.

        Apollo processes more than 100 contacts asynchronously; chunks of 100 keep the
        answer synchronous, so the updated records come back.

        :param contacts: one mapping per contact: ``id`` plus the fields to change.
        """
        records = _require_records(contacts, "contacts", require_id=True)
        return self._bulk_update("contacts", records)

    def _bulk_update(self, kind: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        path = f"{kind}/bulk_update"
        singular = kind[:-1]
        updated: list[dict[str, Any]] = []
        for chunk in chunked(records, CRM_BULK_CHUNK):
            answer = self._object(
                self.request("POST", path, json={f"{singular}_attributes": list(chunk)}), f"POST {path}"
            )
            # An answer without the updated records is an error, not "nothing was updated".
            updated.extend(page_records(answer, [kind], where=f"POST {path}", endpoint=path))
        return updated

    def search_contacts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /contacts/search``.

        :param filters: contact search filters (``q_keywords``, ``contact_stage_ids``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        body = prepare_filters("contact search", filters)
        page, per_page = _require_page(page), validate_per_page(per_page)
        answer = self.request("POST", "contacts/search", json={**body, "page": page, "per_page": per_page})
        return self._object(answer, "POST contacts/search")

    def iter_contacts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching contact.

        :param filters: contact search filters.
        :param max_records: stop after this many contacts.
        :param per_page: 1..100.
        """
        yield from self._iter_crm(
            "contacts/search", "contact search", "contacts", filters, max_records, per_page
        )

    def _iter_crm(
        self,
        path: str,
        search: str,
        records_key: str,
        filters: Mapping[str, Any],
        max_records: int | None,
        per_page: int,
    ) -> Iterator[dict[str, Any]]:
        body = prepare_filters(search, filters)
        per_page, max_records = validate_per_page(per_page), validate_max_records(max_records)

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request("POST", path, json={**body, "page": page, "per_page": per_page})
            return self._object(answer, f"POST {path}")

        yield from iter_records(
            fetch,
            records_keys=[records_key],
            per_page=per_page,
            max_records=max_records,
            what=records_key,
            on_page=self._page_logger(path, records_key),
            endpoint=path,
        )

    def find_existing_contacts(self, people: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """The team's existing contact for each input person (or ``None``), aligned, 0 credits.

        Matches on email, then LinkedIn URL, then first + last name + organization name.
        Uses ``contacts/search``: one ``q_keywords`` query per person when there are few,
        or one walk over all the team's contacts when that takes fewer calls. People known
        only by LinkedIn URL can only be found by the walk (``q_keywords`` does not search URLs).

        :param people: people (search results, enrichment inputs or matches).
        """
        records = _require_records(people, "people")
        wanted = [_contact_lookup_keys(p) for p in records]
        results: list[dict[str, Any] | None] = [None] * len(records)
        if not any(wanted):
            return results
        index: dict[str, dict[str, Any]] = {}

        def learn(contacts: Sequence[dict[str, Any]]) -> None:
            for contact in contacts:
                for key in _contact_lookup_keys(contact):
                    index.setdefault(key, contact)

        def resolve() -> list[int]:
            for i, keys in enumerate(wanted):
                if results[i] is None:
                    results[i] = next((dict(index[k]) for k in keys if k in index), None)
            return [i for i, keys in enumerate(wanted) if keys and results[i] is None]

        def contacts_of(answer: Mapping[str, Any], what: str) -> list[dict[str, Any]]:
            # A broken answer must fail: read as "nobody", enrichment would pay for existing contacts.
            where = f"{what} (POST contacts/search)"
            return page_records(answer, ["contacts"], where=where, endpoint="contacts/search")

        first = self.search_contacts({}, page=1, per_page=MAX_PER_PAGE)
        learn(contacts_of(first, "page 1 of the team's contacts"))
        unresolved = resolve()
        info = page_info(first)
        total_pages = info.total_pages or math.ceil((info.total_entries or 0) / MAX_PER_PAGE) or 1
        walk_calls = max(total_pages - 1, 0)
        keyword_calls = sum(1 for i in unresolved if _keyword_for(records[i]))
        if unresolved and walk_calls <= keyword_calls:
            for page in range(2, total_pages + 1):
                answer = self.search_contacts({}, page=page, per_page=MAX_PER_PAGE)
                learn(contacts_of(answer, f"page {page} of the team's contacts"))
                unresolved = resolve()
                if not unresolved:
                    break
            strategy = f"walked {_page_count(total_pages)} of the team's contacts"
        else:
            for i in unresolved:
                keyword = _keyword_for(records[i])
                if keyword:
                    answer = self.search_contacts({"q_keywords": keyword}, per_page=MAX_PER_PAGE)
                    learn(contacts_of(answer, f"a search of the team's contacts for person {i}"))
                    resolve()
            strategy = f"searched {keyword_calls} people by keyword"
        found = sum(r is not None for r in results)
        self.log.info(
            "find_existing_contacts: %d of %d people are already contacts (%s) — %s",
            found,
            len(records),
            strategy,
            self._quota_text("contacts/search"),
        )
        return results

    def list_contact_stages(self) -> list[dict[str, Any]]:
        """``GET /contact_stages``."""
        return self._list(self.request("GET", "contact_stages"), "contact_stages", "GET contact_stages")

    def update_contact_stages(self, contact_ids: Sequence[str], contact_stage_id: str) -> dict[str, Any]:
        """``POST /contacts/update_stages``.

        :param contact_ids: contacts to move.
        :param contact_stage_id: the stage to move them to (see :meth:`list_contact_stages`).
        """
        body = {
            "contact_ids": _require_ids(contact_ids, "contact_ids"),
            "contact_stage_id": _require_id(contact_stage_id, "contact_stage_id"),
        }
        return self._object(
            self.request("POST", "contacts/update_stages", json=body), "POST contacts/update_stages"
        )

    def update_contact_owners(self, contact_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /contacts/update_owners``.

        :param contact_ids: contacts to reassign.
        :param owner_id: the Apollo user who will own them.
        """
        body = {
            "contact_ids": _require_ids(contact_ids, "contact_ids"),
            "owner_id": _require_id(owner_id, "owner_id"),
        }
        return self._object(
            self.request("POST", "contacts/update_owners", json=body), "POST contacts/update_owners"
        )

    # ------------------------------------------------------------------ accounts
    def create_account(self, account: Mapping[str, Any], *, run_dedupe: bool = True) -> dict[str, Any]:
        """``POST /accounts``.

        :param account: account fields (``name``, ``domain``...).
        :param run_dedupe: return the existing account instead of creating a duplicate.
        """
        (record,) = _require_records([account], "account")
        answer = self.request(
            "POST",
            "accounts",
            json={**record, "run_dedupe": bool(run_dedupe)},
            creates=True,
            idempotent=run_dedupe,
        )
        return self._unwrap(answer, "account", "POST accounts")

    def bulk_create_accounts(
        self, accounts: Sequence[Mapping[str, Any]], *, run_dedupe: bool = True
    ) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_create`` in chunks of 100 (records in input order, by domain or name).

        :param accounts: account fields, one mapping per account.
        :param run_dedupe: return existing accounts instead of creating duplicates.
        """
        records = _require_records(accounts, "accounts")
        return self._bulk_create("accounts", records, run_dedupe=run_dedupe, keys_of=ACCOUNTS)

    def get_account(self, account_id: str) -> dict[str, Any]:
        """``GET /accounts/{id}``.

        :param account_id: Apollo account id.
        """
        path = f"accounts/{_require_id(account_id, 'account_id')}"
        return self._unwrap(self.request("GET", path), "account", f"GET {path}")

    def update_account(self, account_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /accounts/{id}``.

        :param account_id: Apollo account id.
        :param fields: the fields to change.
        """
        path = f"accounts/{_require_id(account_id, 'account_id')}"
        (body,) = _require_records([fields], "fields")
        return self._unwrap(self.request("PATCH", path, json=body), "account", f"PATCH {path}")

    def bulk_update_accounts(self, accounts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /accounts/bulk_update`` (each entry carries its ``id``), in chunks of 100.

        :param accounts: one mapping per account: ``id`` plus the fields to change.
        """
        records = _require_records(accounts, "accounts", require_id=True)
        return self._bulk_update("accounts", records)

    def search_accounts(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /accounts/search``.

        :param filters: account search filters (``q_organization_name``, ``account_stage_ids``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        body = prepare_filters("account search", filters)
        page, per_page = _require_page(page), validate_per_page(per_page)
        answer = self.request("POST", "accounts/search", json={**body, "page": page, "per_page": per_page})
        return self._object(answer, "POST accounts/search")

    def iter_accounts(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching account.

        :param filters: account search filters.
        :param max_records: stop after this many accounts.
        :param per_page: 1..100.
        """
        yield from self._iter_crm(
            "accounts/search", "account search", "accounts", filters, max_records, per_page
        )

    def list_account_stages(self) -> list[dict[str, Any]]:
        """``GET /account_stages``."""
        return self._list(self.request("GET", "account_stages"), "account_stages", "GET account_stages")

    def update_account_owners(self, account_ids: Sequence[str], owner_id: str) -> dict[str, Any]:
        """``POST /accounts/update_owners``.

        :param account_ids: accounts to reassign.
        :param owner_id: the Apollo user who will own them.
        """
        body = {
            "account_ids": _require_ids(account_ids, "account_ids"),
            "owner_id": _require_id(owner_id, "owner_id"),
        }
        return self._object(
            self.request("POST", "accounts/update_owners", json=body), "POST accounts/update_owners"
        )

    # ----------------------------------------------------------------- sequences
    def iter_sequences(self, *, q_name: str | None = None, per_page: int = 100) -> Iterator[dict[str, Any]]:
        """``POST /emailer_campaigns/search``, every page.

        :param q_name: keep sequences whose name contains this text (Apollo's matching).
        :param per_page: 1..100.
        """
        per_page = validate_per_page(per_page)
        body: dict[str, Any] = {"q_name": q_name} if q_name else {}

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request(
                "POST", "emailer_campaigns/search", json={**body, "page": page, "per_page": per_page}
            )
            return self._object(answer, "POST emailer_campaigns/search")

        yield from iter_records(
            fetch,
            records_keys=["emailer_campaigns"],
            per_page=per_page,
            what="sequences",
            on_page=self._page_logger("emailer_campaigns/search", "sequences"),
            endpoint="emailer_campaigns/search",
        )

    def add_contacts_to_sequence(
        self,
        sequence_id: str,
        contact_ids: Sequence[str],
        *,
        email_account_id: str,
        sequence_no_email: bool = False,
        sequence_unverified_email: bool = False,
        sequence_job_change: bool = False,
        sequence_active_in_other_campaigns: bool = False,
        sequence_finished_in_other_campaigns: bool = False,
        sequence_same_company_in_same_campaign: bool = False,
        user_id: str | None = None,
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/{id}/add_contact_ids`` (re-adding is a no-op, so retried).

        :param sequence_id: the sequence (emailer campaign) id.
        :param contact_ids: contacts to enrol.
        :param email_account_id: the mailbox the sequence sends from (``send_email_from_email_account_id``).
        :param sequence_no_email: enrol contacts without an email too.
        :param sequence_unverified_email: enrol contacts with an unverified email too.
        :param sequence_job_change: enrol contacts with a recent job change too.
        :param sequence_active_in_other_campaigns: enrol contacts active in another sequence too.
        :param sequence_finished_in_other_campaigns: enrol contacts who finished another sequence too.
        :param sequence_same_company_in_same_campaign: enrol colleagues of contacts already in it too.
        :param user_id: the Apollo user performing the action.
        """
        sid = _require_id(sequence_id, "sequence_id")
        body: dict[str, Any] = {
            "emailer_campaign_id": sequence_id.strip(),
            "contact_ids": _require_ids(contact_ids, "contact_ids"),
            "send_email_from_email_account_id": _require_id(email_account_id, "email_account_id"),
            "sequence_no_email": sequence_no_email,
            "sequence_unverified_email": sequence_unverified_email,
            "sequence_job_change": sequence_job_change,
            "sequence_active_in_other_campaigns": sequence_active_in_other_campaigns,
            "sequence_finished_in_other_campaigns": sequence_finished_in_other_campaigns,
            "sequence_same_company_in_same_campaign": sequence_same_company_in_same_campaign,
        }
        if user_id:
            body["user_id"] = user_id
        path = f"emailer_campaigns/{sid}/add_contact_ids"
        return self._object(
            self.request("POST", path, json=body, creates=True, idempotent=True), f"POST {path}"
        )

    def remove_contacts_from_sequences(
        self, sequence_ids: Sequence[str], contact_ids: Sequence[str], *, mode: str = "remove"
    ) -> dict[str, Any]:
        """``POST /emailer_campaigns/remove_or_stop_contact_ids``; mode remove|mark_as_finished|stop.

        :param sequence_ids: sequences to act on.
        :param contact_ids: contacts to remove, finish or stop.
        :param mode: ``remove``, ``mark_as_finished`` or ``stop``.
        """
        if mode not in SEQUENCE_REMOVAL_MODES:
            raise ApolloConfigurationError(
                f"mode must be one of {', '.join(SEQUENCE_REMOVAL_MODES)}; got {mode!r}."
            )
        body = {
            "emailer_campaign_ids": _require_ids(sequence_ids, "sequence_ids"),
            "contact_ids": _require_ids(contact_ids, "contact_ids"),
            "mode": mode,
        }
        path = "emailer_campaigns/remove_or_stop_contact_ids"
        return self._object(self.request("POST", path, json=body), f"POST {path}")

    # --------------------------------------------------------------------- tasks
    def create_task(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /tasks`` (never deduplicated by Apollo: not blindly retried).

        :param task: task fields (``contact_id``, ``type``, ``priority``, ``due_at``, ``note``...).
            Without ``user_id`` the key's owner is used (see :meth:`task_owner_id`).
        """
        (record,) = _require_records([task], "task")
        record["user_id"] = self.task_owner_id(record.get("user_id"))
        answer = self.request("POST", "tasks", json=record, creates=True, idempotent=False)
        if isinstance(answer, dict) and isinstance(answer.get("task"), dict):
            return dict(answer["task"])
        if isinstance(answer, dict) and answer.get("id"):
            return answer
        raise ApolloUnreadableWriteError(
            "Apollo's answer to POST tasks has no 'task' object, yet the task may exist: "
            "look for it before creating again.",
            endpoint="tasks",
        )

    def bulk_create_tasks(
        self,
        contact_ids: Sequence[str],
        *,
        type: str,
        priority: str,
        due_at: str,
        user_id: str | None = None,
        note: str | None = None,
        status: str = "scheduled",
    ) -> Any:
        """``POST /tasks/bulk_create`` (never deduplicated by Apollo: not blindly retried).

        :param contact_ids: one task is created per contact.
        :param type: ``call``, ``outreach_manual_email``, ``action_item`` or a ``linkedin_step_*`` type.
        :param priority: ``high``, ``medium`` or ``low``.
        :param due_at: ISO 8601 date-time.
        :param user_id: the Apollo user the tasks are assigned to (required by Apollo; when
            ``None`` the key's owner, see :meth:`task_owner_id`).
        :param note: text attached to each task.
        :param status: initial status (``scheduled``).
        """
        if type not in TASK_TYPES:
            raise ApolloConfigurationError(f"type must be one of {', '.join(TASK_TYPES)}; got {type!r}.")
        if priority not in TASK_PRIORITIES:
            raise ApolloConfigurationError(
                f"priority must be one of {', '.join(TASK_PRIORITIES)}; got {priority!r}."
            )
        if not isinstance(due_at, str) or not due_at.strip():
            raise ApolloConfigurationError(f"due_at must be an ISO 8601 date-time string; got {due_at!r}.")
        body: dict[str, Any] = {
            "contact_ids": _require_ids(contact_ids, "contact_ids"),
            "type": type,
            "priority": priority,
            "due_at": due_at,
            "status": status,
        }
        body["user_id"] = self.task_owner_id(user_id)
        if note is not None:
            body["note"] = note
        return self.request("POST", "tasks/bulk_create", json=body, creates=True, idempotent=False)

    def task_owner_id(self, user_id: str | None = None) -> str:
        """The ``user_id`` to send with new tasks: ``user_id`` when given, else the key's owner.

        Apollo requires ``user_id`` to create tasks. The owner is looked up once per hook
        with ``users/search`` and used only when the team has a single active user; else
        this fails, listing the users, before any task is created.

        :param user_id: the caller's choice, if any.
        """
        if user_id is not None:
            return _require_id(user_id, "user_id")
        owner = self._task_owner
        self.log.info("Tasks are assigned to user %s: %s.", owner.user_id, owner.reason)
        return owner.user_id

    @cached_property
    def _task_owner(self) -> TaskOwner:
        try:
            users = self.list_users()
        except ApolloPermissionError as error:
            raise cannot_list_users(f"users/search answered {type(error).__name__}") from None
        return choose_task_owner(users)

    def search_tasks(
        self, filters: Mapping[str, Any], *, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]:
        """One page of ``POST /tasks/search``, its ``tasks`` narrowed to the filters.

        Apollo documents no task filter and ignores unknown keys, so only the documented
        keys are sent and the page's tasks are checked here (``task_filters.py``); the
        ``pagination`` still describes the unfiltered pages.

        :param filters: task search filters (``contact_ids``, ``task_types``, ``statuses``...).
        :param page: 1-based page number.
        :param per_page: 1..100.
        """
        selection = TaskSelection.from_filters(prepare_filters("task search", filters))
        page, per_page = _require_page(page), validate_per_page(per_page)
        answer = self._object(
            self.request("POST", "tasks/search", json={**selection.sent, "page": page, "per_page": per_page}),
            "POST tasks/search",
        )
        read = page_records(answer, ["tasks"], where="POST tasks/search", endpoint="tasks/search")
        return {**answer, "tasks": list(selection.select(read, on_done=self._log_task_selection(selection)))}

    def iter_tasks(
        self, filters: Mapping[str, Any], *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every task matching ``filters``, checked on each record (see :meth:`search_tasks`).

        :param filters: task search filters.
        :param max_records: stop after this many matching tasks.
        :param per_page: 1..100.
        """
        selection = TaskSelection.from_filters(prepare_filters("task search", filters))
        max_records = validate_max_records(max_records)
        pages = self._iter_crm("tasks/search", "task search", "tasks", selection.sent, None, per_page)
        yield from selection.select(
            pages, max_records=max_records, on_done=self._log_task_selection(selection)
        )

    def _log_task_selection(self, selection: TaskSelection) -> Callable[[int, int], None]:
        def log(read: int, matched: int) -> None:
            self.log.info(
                "tasks/search: read %d task(s), %d matched the filters checked here (%s).",
                read,
                matched,
                selection.describe(),
            )

        return log

    # ------------------------------------------------------------- opportunities
    def create_opportunity(self, opportunity: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /opportunities`` (not deduplicated by Apollo: not blindly retried).

        :param opportunity: deal fields (``name``, ``amount``, ``account_id``, ``opportunity_stage_id``...).
        """
        (record,) = _require_records([opportunity], "opportunity")
        answer = self.request("POST", "opportunities", json=record, creates=True, idempotent=False)
        return self._unwrap(answer, "opportunity", "POST opportunities")

    def get_opportunity(self, opportunity_id: str) -> dict[str, Any]:
        """``GET /opportunities/{id}``.

        :param opportunity_id: Apollo opportunity id.
        """
        path = f"opportunities/{_require_id(opportunity_id, 'opportunity_id')}"
        return self._unwrap(self.request("GET", path), "opportunity", f"GET {path}")

    def update_opportunity(self, opportunity_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /opportunities/{id}``.

        :param opportunity_id: Apollo opportunity id.
        :param fields: the fields to change.
        """
        path = f"opportunities/{_require_id(opportunity_id, 'opportunity_id')}"
        (body,) = _require_records([fields], "fields")
        return self._unwrap(self.request("PATCH", path, json=body), "opportunity", f"PATCH {path}")

    def iter_opportunities(
        self, *, max_records: int | None = None, per_page: int = 100
    ) -> Iterator[dict[str, Any]]:
        """``GET /opportunities/search``, every page.

        :param max_records: stop after this many opportunities.
        :param per_page: 1..100.
        """
        per_page, max_records = validate_per_page(per_page), validate_max_records(max_records)

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request("GET", "opportunities/search", params={"page": page, "per_page": per_page})
            return self._object(answer, "GET opportunities/search")

        yield from iter_records(
            fetch,
            records_keys=["opportunities"],
            per_page=per_page,
            max_records=max_records,
            what="opportunities",
            on_page=self._page_logger("opportunities/search", "opportunities"),
            endpoint="opportunities/search",
        )

    def list_opportunity_stages(self) -> list[dict[str, Any]]:
        """``GET /opportunity_stages``."""
        return self._list(
            self.request("GET", "opportunity_stages"), "opportunity_stages", "GET opportunity_stages"
        )

    # ---------------------------------------------------------------------- misc
    def list_users(self) -> list[dict[str, Any]]:
        """``GET /users/search``, every page (master key)."""

        def fetch(page: int) -> Mapping[str, Any]:
            answer = self.request("GET", "users/search", params={"page": page, "per_page": MAX_PER_PAGE})
            return self._object(answer, "GET users/search")

        records = iter_records(
            fetch, records_keys=["users"], per_page=MAX_PER_PAGE, what="users", endpoint="users/search"
        )
        return list(records)

    def list_email_accounts(self) -> list[dict[str, Any]]:
        """``GET /email_accounts``."""
        return self._list(self.request("GET", "email_accounts"), "email_accounts", "GET email_accounts")

    def list_labels(self) -> list[dict[str, Any]]:
        """``GET /labels`` (Apollo answers a bare list)."""
        return self._list(self.request("GET", "labels"), "labels", "GET labels")

    def list_custom_fields(self) -> list[dict[str, Any]]:
        """``GET /fields`` (falls back to the deprecated ``GET /typed_custom_fields``)."""
        try:
            return self._list(self.request("GET", "fields"), "fields", "GET fields")
        except ApolloNotFoundError:
            self.log.info(
                "GET fields is not available; falling back to the deprecated GET typed_custom_fields."
            )
        return self._list(
            self.request("GET", "typed_custom_fields"), "typed_custom_fields", "GET typed_custom_fields"
        )

    def get_api_usage_stats(self) -> dict[str, Any]:
        """``POST /usage_stats/api_usage_stats`` (master key): per-endpoint limits and usage."""
        path = "usage_stats/api_usage_stats"
        return self._object(self.request("POST", path), f"POST {path}")


def _page_count(pages: int) -> str:
    return f"{pages} page{'s' if pages != 1 else ''}"


def _keyword_for(person: Mapping[str, Any]) -> str | None:
    """What to put in ``q_keywords`` to find ``person`` among contacts (email, else full name)."""
    email = person.get("email")
    if isinstance(email, str) and email.strip():
        return email.strip()
    first, last = person.get("first_name"), person.get("last_name")
    if isinstance(first, str) and isinstance(last, str) and first.strip() and last.strip():
        return f"{first.strip()} {last.strip()}"
    return None
