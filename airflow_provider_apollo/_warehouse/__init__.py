"""Where exported Apollo records land: SQL tables, JSON Lines files, and the export's own state.

Private: the transfer operators (``transfers/``) use it, and so may other transfers (the
warehouse -> Apollo upsert). Nothing here knows Apollo's API; it knows tables and files.

- :mod:`.sql` — a destination on any ``common.sql`` connection (``DbApiHook``): table creation,
  dialect-aware upsert by key in batches (one transaction each), delete marks, live ids.
- :mod:`.object_storage` — gzip JSON Lines parts through ``ObjectStoragePath`` (any fsspec scheme),
  with a manifest written last so a reader can tell a finished export from a cut one.
- :mod:`.state` — the cursor and resumable progress of each export, in a table of the destination
  itself (``apollo_export_state``), so they survive retries, clears, re-runs and a new worker.
- :mod:`.records` — how a record becomes a row: chosen fields as columns, raw JSON, content hash.
"""
