"""L2: reading and writing the user's files (YAML, CSV folders) and the bundled data."""
