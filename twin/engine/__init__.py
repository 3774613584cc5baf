"""L3: the engine — one tick of ingest → score → alert → playbook → plan, on any clock."""
