"""Bulk enrichment in chunks of 10, several in flight, each answer placed on the input it belongs to.

People (``people/bulk_match``) and organizations (``organizations/bulk_enrich``) are sent,
counted and logged the same way; only what is sent and how answers are recognised differ.

Up to the connection's ``max_concurrency`` batches are in flight at once (the quota
tracker still admits each request). With a :class:`CreditBudget`, a batch is sent only
once its worst case is reserved within the budget; when the budget cannot cover a whole
batch, the part it covers is sent, and when it covers nothing while batches are in
flight, the next waits for their answers (people not found cost nothing and free the
budget again). Results come back in input order whatever order the answers arrive in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from airflow_provider_apollo._api.limits import BULK_ENRICH_CHUNK
from airflow_provider_apollo.exceptions import ApolloBudgetExceededError, ApolloError, ApolloResponseError
from airflow_provider_apollo.hooks._answers import answer_object
from airflow_provider_apollo.hooks._transport.credit_budget import CreditBudget
from airflow_provider_apollo.hooks._transport.sync_client import ApolloSyncClient

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


@dataclass(frozen=True)
class BulkEnrichmentCall:
    """What one bulk enrichment endpoint needs.

    :param path: the bulk endpoint.
    :param request_key: the body member carrying a batch (``details``, ``domains``).
    :param answer_key: the answer member carrying the matches (``matches``, ``organizations``).
    :param options: other body members sent with every batch.
    :param realign: places a batch's answers on its items.
    :param credits_of: what a batch cost when Apollo does not report ``credits_consumed``.
    :param worst_per_item: the most one item can cost (reserved before sending).
    """

    path: str
    request_key: str
    answer_key: str
    options: Mapping[str, Any]
    realign: Realign
    credits_of: Callable[[list[dict[str, Any] | None]], float]
    worst_per_item: float


@dataclass(frozen=True)
class _Batch:
    start: int
    items: Sequence[Any]


class BulkEnrichment(ApolloSyncClient):
    """The batching loop both bulk enrichment endpoints use."""

    def _enrich_in_batches(
        self, spec: BulkEnrichmentCall, items: Sequence[Any], budget: CreditBudget | None
    ) -> list[dict[str, Any] | None]:
        """One entry per item, in order: what Apollo matched, or ``None``.

        :raises ApolloBudgetExceededError: ``budget`` ran out; ``partial_results`` holds what was
            enriched and ``unresolved`` the inputs never sent.
        :raises ApolloError: a batch failed; ``partial_results`` holds what other batches got and
            ``unresolved`` the inputs of the failed batch and of those never sent.
        """
        budget = budget if budget is not None else CreditBudget(None)
        results: list[dict[str, Any] | None] = [None] * len(items)
        pending = deque(
            _Batch(start, items[start : start + BULK_ENRICH_CHUNK])
            for start in range(0, len(items), BULK_ENRICH_CHUNK)
        )
        failure: ApolloError | None = None
        with ThreadPoolExecutor(max_workers=self.config.max_concurrency) as pool:
            in_flight: dict[Future[list[dict[str, Any] | None]], _Batch] = {}
            while (pending and failure is None) or in_flight:
                while pending and failure is None and len(in_flight) < self.config.max_concurrency:
                    batch = self._affordable_part(pending, budget, spec.worst_per_item)
                    if batch is None:
                        break
                    in_flight[pool.submit(self._enrich_batch, spec, batch, budget, len(items))] = batch
                if not in_flight:
                    break  # the budget covers nothing more and nothing in flight can free it
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = in_flight.pop(future)
                    try:
                        results[batch.start : batch.start + len(batch.items)] = future.result()
                    except ApolloError as error:
                        failure = failure or error
                        pending.appendleft(batch)  # its results are unknown, like those never sent
        unsent = tuple(i for batch in pending for i in range(batch.start, batch.start + len(batch.items)))
        if failure is not None:
            failure.partial_results, failure.unresolved = results, tuple(sorted(unsent))
            raise failure
        if unsent:
            exhausted = ApolloBudgetExceededError(
                f"The budget of {budget.limit:g} credits covers no more of the {len(items)} inputs of "
                f"{spec.path} ({budget.describe()}): {len(unsent)} were not sent. Raise max_credits to "
                "enrich them.",
                endpoint=spec.path,
            )
            exhausted.partial_results, exhausted.unresolved = results, unsent
            raise exhausted
        return results

    @staticmethod
    def _affordable_part(pending: deque[_Batch], budget: CreditBudget, unit: float) -> _Batch | None:
        """The next batch cut to what the budget covers, its worst case reserved; ``None``: nothing fits.

        Only this (producing) thread reserves for new batches, and answers only free budget,
        so what ``affordable`` counted can always be reserved.
        """
        batch = pending[0]
        count = budget.affordable(unit, len(batch.items))
        if count == 0 or not budget.reserve(unit * count):
            return None
        pending.popleft()
        if count < len(batch.items):
            pending.appendleft(_Batch(batch.start + count, batch.items[count:]))
            batch = _Batch(batch.start, batch.items[:count])
        return batch

    def _enrich_batch(
        self, spec: BulkEnrichmentCall, batch: _Batch, budget: CreditBudget, total: int
    ) -> list[dict[str, Any] | None]:
        """Send one batch, read its answer, settle its credits."""
        worst = spec.worst_per_item * len(batch.items)
        body = {spec.request_key: list(batch.items), **spec.options}
        where = f"POST {spec.path}"
        answer = self._request_charged(
            "POST", spec.path, json=body, budget=budget, worst_case=worst, reserved=True
        )
        try:
            answered = answer_object(answer, where).get(spec.answer_key)
            if not isinstance(answered, list):
                raise ApolloResponseError(
                    f"Apollo's answer to {where} has no {spec.answer_key!r} list.", endpoint=spec.path
                )
            placed, unplaced = spec.realign(batch.items, answered)
        except ApolloError:
            budget.lose(worst)  # the work was done and maybe charged, but its answer is unreadable
            raise
        reported = reported_credits(answer)
        spent = reported if reported is not None else spec.credits_of(placed)
        budget.settle(worst, spent)
        self._add_credits(spent)
        if unplaced:
            self.log.warning(
                "%s: %d answer(s) for inputs %d-%d matched no input and were dropped.",
                spec.path,
                unplaced,
                batch.start + 1,
                batch.start + len(batch.items),
            )
        matched = sum(p is not None for p in placed)
        self.log.info(
            "%s: inputs %d-%d of %d — %d matched, %d missing, %g credits — %s",
            spec.path,
            batch.start + 1,
            batch.start + len(batch.items),
            total,
            matched,
            len(batch.items) - matched,
            spent,
            self._quota_text(spec.path),
        )
        return placed
