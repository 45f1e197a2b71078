"""What the public Apollo exporters do (issue 17's anchors), as a baseline for the CRM export.

PostHog's Apollo source, Ampersand, Pipedream and the Meltano tap page ``POST /contacts/search``
sorted by ``contact_updated_at`` newest first, one page at a time, and stop at the saved cursor,
compared strictly (``>``), or at page 500 (the display cap). No lookback, no split, no deletes.
Plain ``requests``: the rows land in a dict ``id -> updated_at`` (the anchors' table).
"""

from __future__ import annotations

import time
from typing import Any

import requests

PAGE_CAP = 500


def anchor_export(base_url: str, api_key: str, table: dict[str, str], cursor: str | None) -> dict[str, Any]:
    """One anchor-style run into ``table``; the new cursor and the calls it sent.

    :param base_url: the API's base URL (``.../api/v1``).
    :param api_key: the key.
    :param table: ``id -> updated_at`` of what the anchor has stored.
    :param cursor: the previous run's newest ``updated_at`` (``None``: first run).
    """
    session = requests.Session()
    session.headers["X-Api-Key"] = api_key
    newest = cursor
    calls = 0
    for page in range(1, PAGE_CAP + 1):
        body = {"sort_by_field": "contact_updated_at", "sort_ascending": False, "page": page, "per_page": 100}
        while True:  # the best of them retries a minute window's 429 after its Retry-After
            answer = session.post(f"{base_url}/contacts/search", json=body, timeout=60)
            calls += 1
            if answer.status_code != 429:
                break
            time.sleep(float(answer.headers.get("retry-after") or 1))
        answer.raise_for_status()
        contacts = answer.json()["contacts"]
        stop = False
        for contact in contacts:
            updated = contact.get("updated_at") or ""
            if cursor is not None and not updated > cursor:  # strict: a tie with the cursor is dropped
                stop = True
                break
            table[contact["id"]] = updated
            if newest is None or updated > newest:
                newest = updated
        if stop or len(contacts) < 100:
            break
    return {"cursor": newest, "calls": calls}
