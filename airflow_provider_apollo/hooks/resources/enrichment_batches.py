"""Bulk enrichment in chunks of 10, each answer placed on the input it belongs to.

People (``people/bulk_match``) and organizations (``organizations/bulk_enrich``) are sent,
counted and logged the same way; only what is sent and how answers are recognised differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_provider_apollo.batching import BULK_ENRICH_CHUNK, chunked
from airflow_provider_apollo.exceptions import ApolloResponseError
from airflow_provider_apollo.hooks.answers import answer_object
from airflow_provider_apollo.hooks.sync_client import ApolloSyncClient

#: Places one batch's answers on its inputs: ``(one entry per input, answers placed on none)``.
Realign = Callable[[Sequence[Any], Sequence[Any]], tuple[list[dict[str, Any] | None], int]]


def reported_credits(answer: Mapping[str, Any]) -> float | None:
    """``credits_consumed`` when Apollo reports it as a number.

    :param answer: an enrichment answer.
    """
    credits = answer.get("credits_consumed")
    if isinstance(credits, (int, float)) and not isinstance(credits, bool):
        return float(credits)
    return None


class BulkEnrichment(ApolloSyncClient):
    """The batching loop both bulk enrichment endpoints use."""

    def _enrich_in_batches(
        self,
        path: str,
        items: Sequence[Any],
        *,
        request_key: str,
        answer_key: str,
        options: Mapping[str, Any],
        realign: Realign,
        credits_of: Callable[[list[dict[str, Any] | None]], float],
    ) -> list[dict[str, Any] | None]:
        """One entry per item, in order: what Apollo matched, or ``None``.

        :param path: the bulk endpoint.
        :param items: what to enrich (already validated).
        :param request_key: the body member carrying a batch (``details``, ``domains``).
        :param answer_key: the answer member carrying the matches (``matches``, ``organizations``).
        :param options: other body members sent with every batch.
        :param realign: places a batch's answers on its items.
        :param credits_of: what a batch cost when Apollo does not report ``credits_consumed``.
        """
        results: list[dict[str, Any] | None] = []
        batches = math.ceil(len(items) / BULK_ENRICH_CHUNK)
        for number, chunk in enumerate(chunked(items, BULK_ENRICH_CHUNK), start=1):
            where = f"POST {path}"
            answer = answer_object(
                self.request("POST", path, json={request_key: list(chunk), **options}), where
            )
            answered = answer.get(answer_key)
            if not isinstance(answered, list):
                raise ApolloResponseError(
                    f"Apollo's answer to {where} has no {answer_key!r} list.", endpoint=path
                )
            placed, unplaced = realign(chunk, answered)
            if unplaced:
                self.log.warning(
                    "%s: %d answer(s) of batch %d matched no input and were dropped.", path, unplaced, number
                )
            reported = reported_credits(answer)
            spent = reported if reported is not None else credits_of(placed)
            self._add_credits(spent)
            matched = sum(p is not None for p in placed)
            self.log.info(
                "%s: batch %d/%d — %d matched, %d missing, %g credits — %s",
                path,
                number,
                batches,
                matched,
                len(chunk) - matched,
                spent,
                self._quota_text(path),
            )
            results.extend(placed)
        return results
