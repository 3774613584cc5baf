"""L0: typed records, enums and input problems shared by every layer."""
