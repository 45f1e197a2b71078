"""Apollo's size limits, stated once: page size, the search display cap, bulk sizes.

From Apollo's API reference: searches answer at most 100 records per page and display at
most 500 pages (50,000 records) of a people or organization search; the CRM bulk
endpoints (``contacts/bulk_create``, ``bulk_update``, ``tasks/bulk_create``) take at most
100 records per call; the bulk enrichment endpoints take at most 10.
"""

from __future__ import annotations

#: The most records one search page holds (``per_page``), and the default page size.
MAX_PER_PAGE = 100
#: People and organization search display at most this many pages.
SEARCH_PAGE_CAP = 500
#: The most records a people or organization search shows, however it is paged.
DISPLAY_CAP = MAX_PER_PAGE * SEARCH_PAGE_CAP
#: The most records one CRM bulk call (contacts, accounts, tasks) takes.
MAX_BULK_RECORDS = 100
#: The most inputs one bulk enrichment call (``people/bulk_match``, ``organizations/bulk_enrich``) takes.
BULK_ENRICH_CHUNK = 10
