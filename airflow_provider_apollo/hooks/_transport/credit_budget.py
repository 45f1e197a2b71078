"""A task's credit budget, counted at its worst case so ``max_credits`` holds even when answers are lost.

Apollo charges enrichment when it does the work, and says what it charged in the answer. An
answer that never arrives (a read timeout, a dropped connection, a 5xx, an unreadable body)
may hide a charge, so the budget counts three amounts:

* **spent**: what answers said was charged;
* **at risk**: the worst case of every request that may have been charged but whose answer
  was lost (a resend of the same people is charged again: Apollo does not know it is a
  resend);
* **reserved**: the worst case of requests in flight.

A request is sent only after its worst case is reserved within the limit, so concurrency
and retries can never take the total past ``max_credits``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class _Totals:
    spent: float = 0.0
    at_risk: float = 0.0
    reserved: float = 0.0


class CreditBudget:
    """Thread-safe worst-case credit accounting for one task.

    :param limit: the most credits the task may spend; ``None`` for no limit (still counted).
    """

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._totals = _Totals()

    @property
    def spent(self) -> float:
        """Credits Apollo's answers reported."""
        return self._totals.spent

    @property
    def at_risk(self) -> float:
        """Credits that may have been charged for requests whose answer was lost."""
        return self._totals.at_risk

    @property
    def worst_case(self) -> float:
        """The most this task may have been charged so far (spent + at risk)."""
        with self._lock:
            return self._totals.spent + self._totals.at_risk

    def affordable(self, unit: float, count: int) -> int:
        """How many of ``count`` items of worst case ``unit`` fit in what is left now.

        :param unit: worst-case credits of one item.
        :param count: items wanted.
        """
        if self.limit is None or unit <= 0:
            return count
        with self._lock:
            totals = self._totals
            left = self.limit - totals.spent - totals.at_risk - totals.reserved
        return max(0, min(count, int((left + 1e-9) // unit)))

    def reserve(self, worst: float) -> bool:
        """Set ``worst`` aside for a request about to be sent; ``False`` when it does not fit.

        :param worst: the request's worst-case charge.
        """
        with self._lock:
            totals = self._totals
            if (
                self.limit is not None
                and totals.spent + totals.at_risk + totals.reserved + worst > self.limit + 1e-9
            ):
                return False
            totals.reserved += worst
            return True

    def settle(self, worst: float, charged: float) -> None:
        """An answer arrived: free the reservation, count what Apollo said it charged.

        :param worst: what was reserved for the request.
        :param charged: what the answer reported.
        """
        with self._lock:
            self._totals.reserved -= worst
            self._totals.spent += charged

    def release(self, worst: float) -> None:
        """The request was refused before Apollo did anything (429, 4xx, no connection): nothing charged.

        :param worst: what was reserved for the request.
        """
        with self._lock:
            self._totals.reserved -= worst

    def lose(self, worst: float) -> None:
        """The answer was lost after the request may have reached Apollo: count its worst case.

        :param worst: what was reserved for the request.
        """
        with self._lock:
            self._totals.reserved -= worst
            self._totals.at_risk += worst

    def describe(self) -> str:
        """``"25 credits"``, or ``"25 to 35 credits (up to 10 for answers that were lost)"``."""
        with self._lock:
            spent, at_risk = self._totals.spent, self._totals.at_risk
        if at_risk <= 0:
            return f"{_number(spent)} credit{'' if spent == 1 else 's'}"
        return (
            f"{_number(spent)} to {_number(spent + at_risk)} credits "
            f"(up to {_number(at_risk)} for answers that were lost)"
        )
