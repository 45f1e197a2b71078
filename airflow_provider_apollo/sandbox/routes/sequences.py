"""Sequence (emailer campaign) endpoints: search, add contacts with the skip rules, remove/stop."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_apollo.sandbox.errors import unprocessable
from airflow_provider_apollo.sandbox.routes._io import flag, ids_param, ok, read_params, require
from airflow_provider_apollo.sandbox.routes.contacts import search_answer
from airflow_provider_apollo.sandbox.runtime import SandboxRuntime
from airflow_provider_apollo.sandbox.world import Record

SKIP_FLAGS = (
    "sequence_no_email",
    "sequence_unverified_email",
    "sequence_job_change",
    "sequence_active_in_other_campaigns",
    "sequence_finished_in_other_campaigns",
    "sequence_same_company_in_same_campaign",
)
_LOADING_STATUSES = dict.fromkeys(
    ("active", "failed", "paused", "finished", "bounced", "not_sent"), "loading"
)


def build_router(runtime: SandboxRuntime) -> APIRouter:
    """The sequence routes, bound to one sandbox.

    :param runtime: the sandbox runtime.
    """
    router = APIRouter()
    state = runtime.state

    def campaign(sequence: Record) -> dict[str, Any]:
        return {
            **copy.deepcopy(sequence),
            "num_contacts": state.sequence_contact_count(sequence["id"]),
            "contact_statuses": dict(_LOADING_STATUSES),
        }

    @router.post("/emailer_campaigns/search")
    async def search_sequences(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        name = str(params.get("q_name") or "").lower()
        with state.lock:
            found = [campaign(s) for s in state.world.sequences if name in s["name"].lower()]
        return ok(search_answer("emailer_campaigns", found, params))

    @router.post("/emailer_campaigns/{id}/add_contact_ids")
    async def add_contact_ids(request: Request, id: str) -> JSONResponse:
        params = await read_params(request, runtime)
        # api-reference-legacy.txt, Add contacts to sequence: "contact_ids (required)",
        # "emailer_campaign_id (required) The ID of sequence to deploy to",
        # "send_email_from_email_account_id (required) ID of the email account to send email
        # from"; the current reference: emailer_campaign_id is "The same ID as the sequence_id".
        require(
            params,
            ("contact_ids", "emailer_campaign_id", "send_email_from_email_account_id"),
            "POST /emailer_campaigns/{id}/add_contact_ids",
        )
        if str(params["emailer_campaign_id"]) != id:
            raise unprocessable(
                f"emailer_campaign_id {params['emailer_campaign_id']!r} must be the sequence id "
                f"of the path ({id!r})"
            )
        contact_ids = ids_param(params, "contact_ids")
        mailbox = params["send_email_from_email_account_id"]
        flags: dict[str, Any] = {name: flag(params, name) for name in SKIP_FLAGS}
        flags["user_id"] = params.get("user_id")
        with state.lock:
            enrolled, skipped = state.add_to_sequence(id, contact_ids, str(mailbox), flags)
            return ok(
                {
                    "contacts": copy.deepcopy(enrolled),
                    "emailer_campaign": campaign(state.sequence(id)),
                    "emailer_steps": [],
                    "emailer_touches": [],
                    "skipped_contact_ids": skipped,
                    "team": {"id": state.world.team_id, "sequences_finder_empty": False},
                }
            )

    @router.post("/emailer_campaigns/remove_or_stop_contact_ids")
    async def remove_or_stop(request: Request) -> JSONResponse:
        params = await read_params(request, runtime)
        # api-reference-legacy.txt, Remove or stop contacts: "emailer_campaign_ids (required)",
        # "contact_ids (required)", "mode (required)".
        require(
            params,
            ("emailer_campaign_ids", "contact_ids", "mode"),
            "POST /emailer_campaigns/remove_or_stop_contact_ids",
        )
        sequence_ids = ids_param(params, "emailer_campaign_ids")
        contact_ids = ids_param(params, "contact_ids")
        mode = str(params.get("mode") or "")
        with state.lock:
            contacts = state.remove_from_sequences(sequence_ids, contact_ids, mode)
            campaigns = [campaign(state.sequence(sid)) for sid in sequence_ids]
            return ok(
                {
                    "contacts": copy.deepcopy(contacts),
                    "emailer_campaigns": campaigns,
                    "num_contacts": sum(c["num_contacts"] for c in campaigns),
                    "contact_statuses": dict(_LOADING_STATUSES),
                    "emailer_steps": [],
                }
            )

    return router
