"""L4: the `twin` command line."""
