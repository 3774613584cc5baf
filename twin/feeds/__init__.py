"""Feed adapters: read signals (JSON Lines, CSV, CAP 1.2, DCSA T&T 2.2) into the twin."""
