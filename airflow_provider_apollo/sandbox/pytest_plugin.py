"""pytest plugin: the ``apollo_sandbox`` fixture (placeholder until the sandbox lands)."""
