"""L1: shipments — validation against a network and a realistic seeded generator."""
